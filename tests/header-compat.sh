#!/usr/bin/env bash
# Every numeric macro of Cyrus's public client headers (sasl.h, prop.h,
# saslutil.h) must exist in the generated header with the same value, and
# the type names and prototypes clients use must compile against it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
inc="$here/../include"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
names=$(grep -h -E '^\s*#\s*define\s+SASL_[A-Z0-9_]+\s+\(?-?(0x)?[0-9A-Fa-f]+\)?\s*(/\*.*)?$' \
          /usr/include/sasl/sasl.h /usr/include/sasl/prop.h /usr/include/sasl/saslutil.h \
        | awk '{print $2}' | grep -v -x -e SASL_H | sort -u; echo PROP_DEFAULT; echo SASL_VERSION_FULL)
{
  echo '#include <stdio.h>'
  echo '#include <sasl/sasl.h>'
  echo '#include <sasl/prop.h>'
  echo '#include <sasl/saslutil.h>'
  echo 'int main(void) {'
  for n in $names; do echo "  printf(\"$n=%ld\\n\", (long)($n));"; done
  echo '  return 0; }'
} > "$tmp/macros.c"
cc -o "$tmp/cyrus" "$tmp/macros.c"                        # Cyrus's headers (/usr/include)
cc -I"$inc" -o "$tmp/ours" "$tmp/macros.c"
if ! diff <("$tmp/cyrus") <("$tmp/ours") > "$tmp/diff"; then
  echo "FAIL header macros differ (< Cyrus, > ours):"; cat "$tmp/diff"; echo "0 passed, 1 failed"; exit 1
fi
count=$(echo "$names" | wc -w)
# Types and prototypes as client code uses them, strict C and C++.
cat > "$tmp/use.c" <<'C'
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <string.h>
static sasl_getsimple_t getsimple;
static int getsimple(void *ctx, int id, const char **r, unsigned *len) { (void)ctx; (void)id; *r = "u"; if (len) *len = 1; return SASL_OK; }
static int getsecret(sasl_conn_t *c, void *ctx, int id, sasl_secret_t **s) { (void)c; (void)ctx; (void)id; *s = NULL; return SASL_FAIL; }
static sasl_log_t logger;
static int logger(void *ctx, int level, const char *msg) { (void)ctx; (void)level; (void)msg; return SASL_OK; }
int use(void);
int use(void) {
  sasl_callback_t cb[] = {
    { SASL_CB_AUTHNAME, (int (*)(void))getsimple, NULL },
    { SASL_CB_PASS, (int (*)(void))getsecret, NULL },
    { SASL_CB_LOG, (sasl_callback_ft)0 ? 0 : (int (*)(void))logger, NULL },
    { SASL_CB_LIST_END, NULL, NULL } };
  sasl_conn_t *conn = NULL; sasl_interact_t *prompts = NULL;
  const char *out, *mech; unsigned outlen; const void *v;
  sasl_security_properties_t sp; sasl_channel_binding_t cbind; sasl_ssf_t ssf = 0;
  struct sasl_interact *pi = NULL; struct sasl_callback *pc = cb; (void)pi; (void)pc;
  char buf[64]; unsigned len;
  memset(&sp, 0, sizeof sp); memset(&cbind, 0, sizeof cbind);
  sasl_set_alloc((sasl_malloc_t *)0, (sasl_calloc_t *)0, (sasl_realloc_t *)0, (sasl_free_t *)0);
  if (sasl_client_init(cb) != SASL_OK) return 1;
  sasl_client_new("imap", "h", NULL, NULL, cb, SASL_SUCCESS_DATA, &conn);
  sasl_setprop(conn, SASL_SEC_PROPS, &sp); sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf);
  sasl_setprop(conn, SASL_CHANNEL_BINDING, &cbind);
  sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen, &mech);
  sasl_client_step(conn, "", 0, &prompts, &out, &outlen);
  sasl_getprop(conn, SASL_SSF, &v); sasl_encode(conn, "x", 1, &out, &outlen);
  sasl_seterror(conn, 0, "%s %d", "x", 1); (void)sasl_errdetail(conn);
  sasl_encode64("x", 1, buf, sizeof buf, &len);
  sasl_dispose(&conn); sasl_done();
  return SASL_GET_HASH_STRENGTH(SASL_SET_HASH_STRENGTH_BITS(256)) == 32 ? 0 : 1;
}
C
sed -i 's/(sasl_callback_ft)0 ? 0 : //' "$tmp/use.c"
# Callback arrays need casts to int (*)(void): the API's design, warned
# about under -Wextra with Cyrus's header too.
flags="-Wall -Wextra -Werror -Wno-cast-function-type"
cc -std=c99 $flags -c -o "$tmp/use.o" "$tmp/use.c"         # control: Cyrus's header
for std in c99 c11 gnu17; do
  cc -std=$std $flags -pedantic -I"$inc" -c -o "$tmp/use.o" "$tmp/use.c"
done
cp "$tmp/use.c" "$tmp/use.cc"
c++ $flags -I"$inc" -c -o "$tmp/use.o" "$tmp/use.cc"
echo "PASS header: $count macros equal to Cyrus's; client code compiles as C99/C11/C17 and C++"
echo "1 passed, 0 failed"
