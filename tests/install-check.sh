#!/usr/bin/env bash
# `make install` into a staging directory, then build a client the way C
# projects do (pkg-config libsasl2) against the installed files, and run it
# against the installed library.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
prefix=/opt/sasl2-rs
make -s -C "$root" install DESTDIR="$stage" PREFIX=$prefix >"$stage/make.log" 2>&1 ||
  { cat "$stage/make.log"; echo "FAIL install: make install failed"; echo "0 passed, 1 failed"; exit 1; }
lib=$stage$prefix/lib
for f in libsasl2.so.2.1.28 libsasl2.so.2 libsasl2.so pkgconfig/libsasl2.pc; do
  [ -e "$lib/$f" ] || { echo "FAIL install: $lib/$f missing"; echo "0 passed, 1 failed"; exit 1; }
done
for h in sasl.h saslutil.h prop.h; do
  [ -e "$stage$prefix/include/sasl/$h" ] || { echo "FAIL install: header $h missing"; echo "0 passed, 1 failed"; exit 1; }
done
cat > "$stage/app.c" <<'C'
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
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
impl=$(LD_LIBRARY_PATH=$lib "$stage/app")
case "$impl" in
  *sasl2-rs*) echo "PASS install: make install, pkg-config build and run ($impl)"; echo "1 passed, 0 failed" ;;
  *) echo "FAIL install: the program did not run against the installed library ($impl)"; echo "0 passed, 1 failed"; exit 1 ;;
esac
