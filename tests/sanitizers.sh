#!/usr/bin/env bash
# The library under the sanitizers, with nightly Rust:
#
#   tests/sanitizers.sh asan   every C test (ctests/) against libsasl2.so.2
#                              built with -Zsanitizer=address (build-asan/)
#   tests/sanitizers.sh tsan   the thread stress test (ctests/t_stress.c)
#                              linked with the library built with
#                              -Zsanitizer=thread and a sanitized std
#
# The sanitizer runtime is the one nightly Rust ships
# (librustc-nightly_rt.{asan,tsan}.a), linked into each test program (and
# its symbols exported for the library), so the instrumentation and the
# runtime always come from the same LLVM. The C side is compiled with
# clang's matching -fsanitize flag (instrumentation only). Without nightly
# (or, for tsan, its rust-src component), prints why it skips and counts
# nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
kind=${1:?usage: tests/sanitizers.sh asan|tsan}

skip() { echo "$kind: skipped: $*"; exit 0; }
cargo +nightly --version >/dev/null 2>&1 || skip "no nightly Rust toolchain (cargo +nightly)"
command -v clang >/dev/null || skip "clang is not installed"
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
sysroot=$(rustc +nightly --print sysroot)
rt="$sysroot/lib/rustlib/$triple/lib/librustc-nightly_rt.$kind.a"
[ -e "$rt" ] || skip "nightly ships no $kind runtime for $triple"
# The runtime inside the program, its symbols visible to the library.
rtlink="-Wl,--whole-archive $rt -Wl,--no-whole-archive -rdynamic -lpthread -ldl -lm -lrt"

# build_lib CARGO-ARGS...: the staticlib with RUSTFLAGS, linked into
# build-$kind/libsasl2.so.2 as the Makefile links build/'s (the sanitizer
# runtime stays out: the program brings it).
build_lib() {
    cargo +nightly build --release --lib --locked --target "$triple" --target-dir "target/$kind" "$@" ||
        { echo "$kind: 0 passed, 1 failed (build)"; exit 1; }
    mkdir -p "build-$kind"
    cc -shared -o "build-$kind/libsasl2.so.2" -Wl,-soname,libsasl2.so.2 \
        -Wl,--version-script=link/libsasl2.map -Wl,-z,noexecstack \
        -Wl,--whole-archive "target/$kind/$triple/release/libsasl2.a" -Wl,--no-whole-archive \
        -lpthread -ldl -lm -lc || { echo "$kind: 0 passed, 1 failed (link)"; exit 1; }
    ln -sf libsasl2.so.2 "build-$kind/libsasl2.so"
}
# llvm-symbolizer itself links libsasl2 (through libcurl and libldap): it
# must not load the sanitized one from LD_LIBRARY_PATH.
# (The sanitizers accept it only under its own name.)
symbolizer=$repo/target/$kind/bin/llvm-symbolizer
mkdir -p "${symbolizer%/*}"
printf '#!/bin/sh\nunset LD_LIBRARY_PATH\nexec /usr/bin/llvm-symbolizer "$@"\n' >"$symbolizer"
chmod +x "$symbolizer"
export ASAN_SYMBOLIZER_PATH=$symbolizer TSAN_SYMBOLIZER_PATH=$symbolizer

case $kind in
asan)
    RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers" build_lib
    # ctests/run.sh takes one compiler command: a wrapper adds the flags,
    # and the runtime to programs (not to the test plug-ins, -shared).
    cc_wrapper=target/asan/cc
    asan_cc='clang -fsanitize=address -fno-omit-frame-pointer -fno-sanitize-link-runtime'
    printf '#!/bin/sh\ncase " $* " in *" -shared "*) exec %s "$@" ;; esac\nexec %s "$@" %s\n' \
        "$asan_cc" "$asan_cc" "$rtlink" >"$cc_wrapper"
    chmod +x "$cc_wrapper"
    # detect_leaks: LeakSanitizer too. The C tests run directly (valgrind
    # and ASan do not mix).
    # t_server, t_exports and t_plugins reach Cyrus through the library's
    # server side, which opens it with RTLD_DEEPBIND: AddressSanitizer
    # refuses that flag (google/sanitizers#611), so t_exports-without-cyrus
    # is skipped with them.
    CC="$repo/$cc_wrapper" CTESTS_VALGRIND=0 CTESTS_SKIP="t_server t_exports t_plugins" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99:strict_string_checks=1:detect_stack_use_after_return=1 \
        ctests/run.sh build-asan
    ;;
tsan)
    [ -d "$sysroot/lib/rustlib/src/rust/library" ] ||
        skip "the nightly rust-src component is missing (rustup component add rust-src --toolchain nightly)"
    # std is rebuilt with the sanitizer (-Zbuild-std): its locks and
    # atomics must be visible to ThreadSanitizer.
    RUSTFLAGS="-Zsanitizer=thread" build_lib -Zbuild-std
    out=target/tsan/t_stress
    # shellcheck disable=SC2086
    clang -std=gnu11 -g -O1 -fsanitize=thread -fno-sanitize-link-runtime -I include -o "$out" \
        ctests/t_stress.c build-tsan/libsasl2.so.2 $rtlink ||
        { echo "tsan: 0 passed, 1 failed (compile)"; exit 1; }
    start=$SECONDS
    if LD_LIBRARY_PATH=$repo/build-tsan CTESTS_STRESS_ITERS=${TSAN_STRESS_ITERS:-40} CTESTS_EXPECT_RUST=1 \
        TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1" "$out" >"$out.log" 2>&1; then
        echo "PASS t_stress under ThreadSanitizer ($((SECONDS - start))s): $(grep '^t_stress:' "$out.log")"
        echo "tsan: 1 passed, 0 failed"
    else
        echo "FAIL t_stress under ThreadSanitizer, see $out.log"
        head -n 80 "$out.log" | sed 's/^/    /'
        echo "tsan: 0 passed, 1 failed"
        exit 1
    fi
    ;;
*)
    echo "usage: tests/sanitizers.sh asan|tsan" >&2
    exit 2
    ;;
esac
