# Builds libsasl2.so.2 from the Rust staticlib with the SASL2 symbol version,
# installs it with its headers and pkg-config file, and runs the tests.
#
#   make                 build build/libsasl2.so.2 (release)
#   make demo            build, then a real client authenticates through it
#   make check           every test: cargo, exports, header, install, C tests,
#                        interop (some of it again under valgrind), the
#                        Debian package, and where nightly Rust is
#                        installed: a short fuzz run, the C tests under
#                        ASan, the thread stress under TSan, Miri; ends with
#                        a grand total
#   make fuzz            every fuzz target for FUZZ_SECONDS (default 60) each
#   make header          regenerate include/sasl/sasl.h and saslplug.h
#   make install PREFIX=/usr/local DESTDIR=
#   make deb             build/sasl2-rs_<version>_<arch>.deb (see README)
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
PCDIR    ?= $(LIBDIR)/pkgconfig
CC       ?= cc
CARGO    ?= cargo
VERSION  := 2.1.28
DEB_VERSION := $(VERSION)-1
BUILD    := build
SONAME   := libsasl2.so.2
REALNAME := libsasl2.so.$(VERSION)
# Its own target directory: built as a staticlib alone, so that the release
# profile's LTO runs (cargo skips it for a unit that is also an rlib, and
# would then leave std, core and alloc as separate objects reached through
# the GOT); cargo's own builds and tests keep target/release.
STATIC_DIR := target/lto
STATIC   := $(STATIC_DIR)/release/libsasl2.a

.PHONY: all lib demo header check test-rust test-exports test-header test-install test-c test-interop test-valgrind test-package \
	test-fuzz test-asan test-tsan test-miri fuzz bench install deb clean FORCE

all: lib

lib: $(BUILD)/$(SONAME)

$(STATIC): FORCE
	$(CARGO) rustc --release --lib --crate-type staticlib --target-dir $(STATIC_DIR)

# --whole-archive keeps every exported function; the version script gives
# them the SASL2 version and makes every other symbol local. Loading costs
# about what Cyrus's library costs: -static-libgcc links the unwinder (which
# catch_unwind at the C boundary needs) in, instead of making every client
# load libgcc_s.so.1. Relative relocations stay plain RELA entries: packed
# ones (-z pack-relative-relocs) are 20 KB smaller on disk, but glibc's
# loader spends about 1,500 more instructions decoding them for our ~860,
# and the load-only process was slower with them in every interleaved run
# (see the README's loading notes).
$(BUILD)/$(REALNAME): $(STATIC) link/libsasl2.map Makefile
	@mkdir -p $(BUILD)
	$(CC) -shared -static-libgcc -o $@ -Wl,-soname,$(SONAME) \
	  -Wl,--version-script=link/libsasl2.map -Wl,--gc-sections -Wl,-O1 -Wl,-z,relro,-z,now -Wl,-z,noexecstack \
	  -Wl,--strip-debug \
	  -Wl,--whole-archive $(STATIC) -Wl,--no-whole-archive -lpthread -ldl -lm -lc

$(BUILD)/$(SONAME): $(BUILD)/$(REALNAME)
	ln -sf $(REALNAME) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libsasl2.so

# Rebuilt whenever the paths it names change, not only its template.
$(BUILD)/libsasl2.pc: pkgconfig/libsasl2.pc.in FORCE
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' $< > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# The Debian package (dpkg-deb; see deb/build.sh and the README).
deb: lib
	deb/build.sh $(BUILD) $(DEB_VERSION)

header:
	$(CARGO) build --lib
	out="$$(dirname "$$(ls -t target/debug/build/sasl2-*/out/sasl.h | head -n1)")" && \
	  cp "$$out/sasl.h" include/sasl/sasl.h && cp "$$out/saslplug.h" include/sasl/saslplug.h

# Debian's unchanged sample client authenticates through build/ against
# Cyrus's real sample server (installs sasl2-bin if missing).
demo: lib
	interop/sample.sh $(BUILD)

# Each suite in turn (tests/check.sh), then the grand total.
check: lib
	MAKE="$(MAKE)" tests/check.sh

test-rust:
	$(CARGO) test

test-exports: lib
	tests/check-exports.sh $(BUILD)/$(SONAME)

test-header:
	tests/header-compat.sh

test-install: lib
	tests/install-check.sh

test-c: lib
	ctests/run.sh $(BUILD)

test-interop: lib
	interop/run.sh $(BUILD)

# Some interop scripts again with their clients under valgrind's memcheck.
test-valgrind: lib
	interop/valgrind.sh $(BUILD)

# Installs the package, switches the system to it, removes it (root only).
test-package: deb
	tests/package-check.sh

# Robustness (each needs nightly Rust and prints a skip line without it).
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

test-fuzz:
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) fuzz/run.sh

test-asan:
	tests/sanitizers.sh asan

test-tsan:
	tests/sanitizers.sh tsan

test-miri:
	tests/miri.sh

bench: lib
	bench/run.sh $(BUILD)

install: lib $(BUILD)/libsasl2.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/sasl $(DESTDIR)$(PCDIR)
	install -m 0755 $(BUILD)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsasl2.so
	install -m 0644 include/sasl/*.h $(DESTDIR)$(INCDIR)/sasl/
	install -m 0644 $(BUILD)/libsasl2.pc $(DESTDIR)$(PCDIR)/libsasl2.pc

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
