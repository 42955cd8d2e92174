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

# The plugin interface (saslplug.h with md5global.h, md5.h, hmac-md5.h):
# every numeric macro (but the two Cyrus keeps in a comment, deprecated),
# and the size and offset of every field of every structure (the fields as
# src/plugin/abi.rs declares them), must be Cyrus's, so that plugins built
# against either header work with either library. (Cyrus's md5.h has no
# include guard: saslplug.h includes it.)
plug_names=$(grep -h -E '^\s*#\s*define\s+[A-Z_][A-Z0-9_]*\s+\(?-?(0x)?[0-9A-Fa-f]+\)?\s*(/\*.*)?$' \
          /usr/include/sasl/saslplug.h /usr/include/sasl/md5global.h /usr/include/sasl/hmac-md5.h \
        | awk '{print $2}' | grep -v -x -e SASLPLUG_H -e MD5GLOBAL_H -e HMAC_MD5_H \
            -e SASL_FEAT_WANT_SERVER_LAST -e SASL_FEAT_INTERNAL_CLIENT_FIRST | sort -u; echo SASL_SET_REMOVE)
layout=$(awk '
    /^pub type [A-Za-z0-9_]+ = [A-Za-z0-9_]+;/ { sub(";", "", $5); alias[$5] = $3 }
    /^pub struct [A-Za-z0-9_]+ \{/ { s = $3; n = 0; next }
    s != "" && /^}/ { structs[++ns] = s; nf[s] = n; s = ""; next }
    s != "" && /^    pub [A-Za-z0-9_]+:/ { f = $2; sub(":", "", f); field[s, ++n] = f }
    END { for (i = 1; i <= ns; i++) { t = structs[i]; name = (t in alias) ? alias[t] : "struct " t
          printf "  printf(\"sizeof(%s)=%%zu\\n\", sizeof(%s));\n", name, name
          for (j = 1; j <= nf[t]; j++)
            printf "  printf(\"%s.%s=%%zu\\n\", offsetof(%s, %s));\n", name, field[t, j], name, field[t, j] } }
' "$here/../src/plugin/abi.rs")
[ "$(echo "$layout" | grep -c offsetof)" -gt 150 ] || { echo "FAIL header: could not read the plugin structures"; echo "0 passed, 1 failed"; exit 1; }
{
  echo '#include <stdio.h>'
  echo '#include <stddef.h>'
  echo '#include <sys/uio.h>'
  echo '#include <sasl/sasl.h>'
  echo '#include <sasl/saslplug.h>'
  echo 'int main(void) {'
  for n in $plug_names; do echo "  printf(\"$n=%ld\\n\", (long)($n));"; done
  echo "$layout"
  echo '  return 0; }'
} > "$tmp/plug.c"
cc -o "$tmp/plug-cyrus" "$tmp/plug.c"
cc -I"$inc" -o "$tmp/plug-ours" "$tmp/plug.c"
if ! diff <("$tmp/plug-cyrus") <("$tmp/plug-ours") > "$tmp/diff"; then
  echo "FAIL saslplug.h macros or layouts differ (< Cyrus, > ours):"; cat "$tmp/diff"; echo "0 passed, 1 failed"; exit 1
fi
plug_count=$(echo "$plug_names" | wc -w)
plug_fields=$(echo "$layout" | grep -c offsetof)
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
# A client plugin and an application's plugin calls, as C and C++.
cat > "$tmp/plug_use.c" <<'C'
#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <string.h>
static int step(void *ctx, sasl_client_params_t *params, const char *in, unsigned inlen,
                sasl_interact_t **prompts, const char **out, unsigned *outlen,
                sasl_out_params_t *oparams) {
  (void)ctx; (void)in; (void)inlen; (void)prompts;
  const sasl_utils_t *u = params->utils;
  MD5_CTX md5; unsigned char digest[HMAC_MD5_SIZE]; HMAC_MD5_CTX h;
  u->MD5Init(&md5); u->MD5Update(&md5, (const unsigned char *)"x", 1); u->MD5Final(digest, &md5);
  u->hmac_md5_init(&h, digest, 16); _sasl_hmac_md5_update(&h, digest, 16); u->hmac_md5_final(digest, &h);
  u->log(u->conn, SASL_LOG_DEBUG, "%s %d", "step", SASL_CB_PRESENT(params));
  *out = NULL; *outlen = 0;
  return params->canon_user(u->conn, "u", 0, SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
}
static int mech_new(void *g, sasl_client_params_t *p, void **c) { (void)g; (void)p; *c = NULL; return SASL_OK; }
static sasl_client_plug_t plugs[] = { { "X-USE", 0, SASL_SEC_NOANONYMOUS, SASL_FEAT_WANT_CLIENT_FIRST,
  NULL, NULL, mech_new, step, NULL, NULL, NULL, NULL, NULL } };
static sasl_client_plug_init_t init;
static int init(const sasl_utils_t *utils, int max_version, int *out_version,
                sasl_client_plug_t **pluglist, int *plugcount) {
  (void)utils; (void)max_version;
  *out_version = SASL_CLIENT_PLUG_VERSION; *pluglist = plugs; *plugcount = 1; return SASL_OK;
}
static void info(client_sasl_mechanism_t *m, sasl_info_callback_stage_t stage, void *rock) {
  (void)rock; if (stage == SASL_INFO_LIST_MECH) (void)strlen(m->plug->mech_name);
}
int use_plugins(void);
int use_plugins(void) {
  sasl_callback_ft f = NULL; (void)f;
  sasl_cbinding_disp_t d = SASL_CB_DISP_USED; (void)d;
  if (sasl_client_add_plugin("use", init) != SASL_OK) return 1;
  return sasl_client_plugin_info(NULL, info, NULL);
}
C
# Callback arrays need casts to int (*)(void): the API's design, warned
# about under -Wextra with Cyrus's header too.
flags="-Wall -Wextra -Werror -Wno-cast-function-type"
cc -std=c99 $flags -c -o "$tmp/use.o" "$tmp/use.c"         # control: Cyrus's header
for std in c99 c11 gnu17; do
  cc -std=$std $flags -pedantic -I"$inc" -c -o "$tmp/use.o" "$tmp/use.c"
done
cp "$tmp/use.c" "$tmp/use.cc"
c++ $flags -I"$inc" -c -o "$tmp/use.o" "$tmp/use.cc"
cc -std=c99 $flags -c -o "$tmp/plug_use.o" "$tmp/plug_use.c"   # control: Cyrus's header
for std in c99 c11 gnu17; do
  cc -std=$std $flags -I"$inc" -c -o "$tmp/plug_use.o" "$tmp/plug_use.c"
done
cp "$tmp/plug_use.c" "$tmp/plug_use.cc"
c++ $flags -I"$inc" -c -o "$tmp/plug_use.o" "$tmp/plug_use.cc"
echo "PASS header: $count macros equal to Cyrus's; client code compiles as C99/C11/C17 and C++"
echo "PASS saslplug.h: $plug_count macros and $plug_fields field offsets equal to Cyrus's; plugin code compiles as C99/C11/C17 and C++"
echo "2 passed, 0 failed"
