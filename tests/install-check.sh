#!/usr/bin/env bash
# `make install` into a staging directory, then build a client the way C
# projects do (pkg-config libsasl2) against the installed files, and run it
# the two ways the README gives for a C build: -Wl,-rpath and
# LD_LIBRARY_PATH. A second install with another PREFIX must get a
# libsasl2.pc naming that prefix (the generated .pc follows the paths).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
# The generated .pc names this test's prefix: leave none behind.
trap 'rm -rf "$stage" "$root/build/libsasl2.pc"' EXIT
passed=0 failed=0
pass() { echo "PASS install: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL install: $1"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ $failed -eq 0 ]; exit; }

prefix=/opt/sasl2-rs
make -s -C "$root" install DESTDIR="$stage" PREFIX=$prefix >"$stage/make.log" 2>&1 ||
  { cat "$stage/make.log"; fail "make install failed"; finish; }
lib=$stage$prefix/lib
for f in libsasl2.so.2.1.28 libsasl2.so.2 libsasl2.so pkgconfig/libsasl2.pc; do
  [ -e "$lib/$f" ] || { fail "$lib/$f missing"; finish; }
done
for h in sasl.h saslutil.h prop.h saslplug.h md5global.h md5.h hmac-md5.h; do
  [ -e "$stage$prefix/include/sasl/$h" ] || { fail "header $h missing"; finish; }
done
cat > "$stage/app.c" <<'C'
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <sasl/saslplug.h>
#include <stdio.h>
#include <string.h>
static int simple(void *c, int id, const char **r, unsigned *l) { (void)c; (void)id; *r = "tim"; if (l) *l = 3; return SASL_OK; }
static int secret(sasl_conn_t *conn, void *c, int id, sasl_secret_t **s) {
  static struct { unsigned long len; unsigned char data[16]; } pw = { 16, "tanstaaftanstaaf" };
  (void)conn; (void)c; (void)id; *s = (sasl_secret_t *)&pw; return SASL_OK;
}
int main(void) {
  sasl_callback_t cb[] = { { SASL_CB_AUTHNAME, (int (*)(void))simple, NULL },
                           { SASL_CB_PASS, (int (*)(void))secret, NULL }, { SASL_CB_LIST_END, NULL, NULL } };
  sasl_conn_t *conn; const char *out, *mech, *impl; unsigned len;
  if (sasl_client_init(NULL) != SASL_OK || sasl_client_new("imap", "h", NULL, NULL, cb, 0, &conn) != SASL_OK) return 1;
  if (sasl_client_start(conn, "CRAM-MD5", NULL, &out, &len, &mech) != SASL_CONTINUE) return 2;
  const char *chal = "<1896.697170952@postoffice.reston.mci.net>";
  if (sasl_client_step(conn, chal, strlen(chal), NULL, &out, &len) != SASL_OK) return 3;
  if (len != 36 || memcmp(out, "tim b913a602c7eda7a495b4e6e7334d3890", 36)) return 4;
  sasl_version_info(&impl, NULL, NULL, NULL, NULL, NULL);
  printf("%s\n", impl);
  sasl_dispose(&conn); sasl_done(); return 0;
}
C
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
# shellcheck disable=SC2046 # pkg-config output is meant to be split
cc -Wall -Werror -o "$stage/app" "$stage/app.c" $(pkg-config --cflags --libs libsasl2)
impl=$(env -u LD_LIBRARY_PATH LD_LIBRARY_PATH="$lib" "$stage/app")
case "$impl" in
  *sasl2-rs*) pass "make install, pkg-config build, run with LD_LIBRARY_PATH ($impl)" ;;
  *) fail "the program did not run the installed library with LD_LIBRARY_PATH ($impl)" ;;
esac
# With an rpath, no environment is needed; ldd names the library it loads.
# shellcheck disable=SC2046
cc -Wall -Werror -o "$stage/app-rpath" "$stage/app.c" $(pkg-config --cflags --libs libsasl2) -Wl,-rpath,"$lib"
impl=$(env -u LD_LIBRARY_PATH -u LD_PRELOAD "$stage/app-rpath")
loaded=$(env -u LD_LIBRARY_PATH ldd "$stage/app-rpath" | awk '/libsasl2/ {print $3}')
if [[ "$impl" == *sasl2-rs* ]] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$lib/libsasl2.so.2")" ]; then
  pass "pkg-config build with -Wl,-rpath runs the installed library ($loaded)"
else
  fail "the -Wl,-rpath build ran '$impl' from '$loaded'"
fi
# Another PREFIX: the installed libsasl2.pc must name it, not the last one.
make -s -C "$root" install DESTDIR="$stage/again" PREFIX=/usr/local/sasl2-rs >"$stage/make2.log" 2>&1 ||
  { cat "$stage/make2.log"; fail "second make install failed"; finish; }
if grep -qx 'prefix=/usr/local/sasl2-rs' "$stage/again/usr/local/sasl2-rs/lib/pkgconfig/libsasl2.pc"; then
  pass "a second install with another PREFIX gets its own libsasl2.pc"
else
  fail "libsasl2.pc after PREFIX=/usr/local/sasl2-rs: $(head -n 1 "$stage/again/usr/local/sasl2-rs/lib/pkgconfig/libsasl2.pc")"
fi
finish
