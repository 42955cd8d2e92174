/* Export surface: every symbol libsasl2.so.2 (Cyrus 2.1.28) exports is
 * present with the SASL2 version, and the non-client entry points
 * (server, auxprop, config, plug-in registration, MD5) can be called without
 * crashing.  sasl2-rs implements only the client side: its server entry
 * points return failure codes, where Cyrus works. */
#include "check.h" /* first: defines _GNU_SOURCE for dlvsym */
#include <dlfcn.h>
#include <stdint.h>

/* nm -D --defined-only /usr/lib/x86_64-linux-gnu/libsasl2.so.2 (2.1.28) */
static const char *const exported[] = {
    "_sasl_MD5Final", "_sasl_MD5Init", "_sasl_MD5Update",
    "auxprop_plugin_info",
    "prop_clear", "prop_dispose", "prop_dup", "prop_erase", "prop_format",
    "prop_get", "prop_getnames", "prop_new", "prop_request", "prop_set",
    "prop_setvals",
    "sasl_auxprop_add_plugin", "sasl_auxprop_getctx", "sasl_auxprop_request",
    "sasl_auxprop_store",
    "sasl_canonuser_add_plugin", "sasl_checkapop", "sasl_checkpass",
    "sasl_churn",
    "sasl_client_add_plugin", "sasl_client_done", "sasl_client_init",
    "sasl_client_new", "sasl_client_plugin_info", "sasl_client_start",
    "sasl_client_step",
    "sasl_common_done", "sasl_config_done", "sasl_config_getstring",
    "sasl_config_init",
    "sasl_decode", "sasl_decode64", "sasl_dispose", "sasl_done",
    "sasl_encode", "sasl_encode64", "sasl_encodev", "sasl_erasebuffer",
    "sasl_errdetail", "sasl_errstring", "sasl_getprop",
    "sasl_global_listmech", "sasl_global_utils", "sasl_idle", "sasl_listmech",
    "sasl_mkchal", "sasl_rand", "sasl_randcreate", "sasl_randfree",
    "sasl_randseed",
    "sasl_server_add_plugin", "sasl_server_done", "sasl_server_init",
    "sasl_server_new", "sasl_server_plugin_info", "sasl_server_start",
    "sasl_server_step",
    "sasl_set_alloc", "sasl_set_mutex", "sasl_set_path", "sasl_seterror",
    "sasl_setpass", "sasl_setprop", "sasl_strlower", "sasl_user_exists",
    "sasl_utf8verify", "sasl_version", "sasl_version_info",
};

static void *g_lib;

static void *sym(const char *name)
{
    void *p = dlsym(g_lib, name);
    if (!p)
        fprintf(stderr, "missing symbol %s\n", name);
    return p;
}

static void test_symbols(void)
{
    size_t i, n = sizeof exported / sizeof exported[0];
    CHECK_EQ_INT(n, 72);
    for (i = 0; i < n; i++) {
        void *p = dlsym(g_lib, exported[i]);
        void *pv = dlvsym(g_lib, exported[i], "SASL2");
        if (!p || !pv)
            fprintf(stderr, "symbol %s: dlsym %p, dlvsym(SASL2) %p\n",
                    exported[i], p, pv);
        CHECK(p != NULL);
        CHECK(pv != NULL);
        CHECK(p == pv);
    }
    /* implementation details stay hidden */
    CHECK(dlsym(g_lib, "sasl2_rs_seterror_formatted") == NULL);
    CHECK(dlsym(g_lib, "rust_begin_unwind") == NULL);
    CHECK(dlsym(g_lib, "_sasl_conn_init") == NULL);
}

/* ------------------------------------------------------------------ MD5 */

typedef void md5init_fn(void *);
typedef void md5update_fn(void *, const unsigned char *, unsigned);
typedef void md5final_fn(unsigned char[16], void *);

static void md5_hex(const char *s, char *hex)
{
    /* MD5_CTX is 88 bytes in Cyrus; give it room and alignment */
    uint64_t ctx[32];
    unsigned char d[16];
    md5init_fn *init = (md5init_fn *)sym("_sasl_MD5Init");
    md5update_fn *update = (md5update_fn *)sym("_sasl_MD5Update");
    md5final_fn *final = (md5final_fn *)sym("_sasl_MD5Final");
    size_t i;
    hex[0] = '\0';
    if (!init || !update || !final)
        return;
    init(ctx);
    /* feed in two pieces to exercise buffering */
    update(ctx, (const unsigned char *)s, (unsigned)(strlen(s) / 2));
    update(ctx, (const unsigned char *)s + strlen(s) / 2,
           (unsigned)(strlen(s) - strlen(s) / 2));
    final(d, ctx);
    for (i = 0; i < 16; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}

static void test_md5(void)
{
    char hex[33];
    md5_hex("", hex);
    CHECK_EQ_STR(hex, "d41d8cd98f00b204e9800998ecf8427e");
    md5_hex("abc", hex);
    CHECK_EQ_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
    md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            hex);
    CHECK_EQ_STR(hex, "57edf4a22be3c955ac49da2e2107b67a");
}

/* ------------------------------------------------------------- prop_* */

struct propval_x { /* struct propval from prop.h */
    const char *name;
    const char **values;
    unsigned nvalues;
    unsigned valsize;
};
typedef void *prop_new_fn(unsigned);
typedef int prop_dup_fn(void *, void **);
typedef int prop_request_fn(void *, const char **);
typedef const struct propval_x *prop_get_fn(void *);
typedef int prop_getnames_fn(void *, const char **, struct propval_x *);
typedef void prop_clear_fn(void *, int);
typedef void prop_erase_fn(void *, const char *);
typedef void prop_dispose_fn(void **);
typedef int prop_format_fn(void *, const char *, int, char *, unsigned, unsigned *);
typedef int prop_set_fn(void *, const char *, const char *, int);
typedef int prop_setvals_fn(void *, const char *, const char **);

static void test_prop(void)
{
    prop_new_fn *p_new = (prop_new_fn *)sym("prop_new");
    prop_dup_fn *p_dup = (prop_dup_fn *)sym("prop_dup");
    prop_request_fn *p_request = (prop_request_fn *)sym("prop_request");
    prop_get_fn *p_get = (prop_get_fn *)sym("prop_get");
    prop_getnames_fn *p_getnames = (prop_getnames_fn *)sym("prop_getnames");
    prop_clear_fn *p_clear = (prop_clear_fn *)sym("prop_clear");
    prop_erase_fn *p_erase = (prop_erase_fn *)sym("prop_erase");
    prop_dispose_fn *p_dispose = (prop_dispose_fn *)sym("prop_dispose");
    prop_format_fn *p_format = (prop_format_fn *)sym("prop_format");
    prop_set_fn *p_set = (prop_set_fn *)sym("prop_set");
    prop_setvals_fn *p_setvals = (prop_setvals_fn *)sym("prop_setvals");
    const char *names[] = { "userPassword", "cn", NULL };
    const char *vals[] = { "x", "y", NULL };
    struct propval_x pv[3];
    char buf[128];
    unsigned len = 0;
    void *ctx, *dup = NULL, *nullctx = NULL;

    if (!p_new || !p_dup || !p_request || !p_get || !p_getnames || !p_clear ||
        !p_erase || !p_dispose || !p_format || !p_set || !p_setvals)
        return;

    /* NULL contexts are rejected (never dereferenced) */
    CHECK_EQ_INT(p_request(NULL, names), SASL_BADPARAM);
    CHECK(p_get(NULL) == NULL);
    CHECK_EQ_INT(p_getnames(NULL, names, pv), SASL_BADPARAM);
    CHECK_EQ_INT(p_set(NULL, "cn", "v", -1), SASL_BADPARAM);
    CHECK_EQ_INT(p_setvals(NULL, "cn", vals), SASL_BADPARAM);
    CHECK_EQ_INT(p_format(NULL, " ", 1, buf, sizeof buf, &len), SASL_BADPARAM);
    CHECK_EQ_INT(p_dup(NULL, &dup), SASL_BADPARAM);
    p_erase(NULL, "cn");
    p_dispose(NULL);
    p_dispose(&nullctx);

    ctx = p_new(0);
    if (getenv("CTESTS_NO_CYRUS")) {
        /* sasl2-rs without a Cyrus library: no property contexts */
        CHECK(is_rust_impl());
        CHECK(ctx == NULL);
        return;
    }
    /* sasl2-rs: made by Cyrus, through the forwarding */
    CHECK(ctx != NULL);
    if (!ctx)
        return;
    CHECK_EQ_INT(p_request(ctx, names), SASL_OK);
    CHECK_EQ_INT(p_set(ctx, "cn", "Tim", -1), SASL_OK);
    CHECK_EQ_INT(p_set(ctx, NULL, "Timothy", -1), SASL_OK); /* same name again */
    /* counts requested names, with or without values */
    CHECK_EQ_INT(p_getnames(ctx, names, pv), 2);
    CHECK_EQ_STR(pv[1].name, "cn");
    CHECK_EQ_INT(pv[1].nvalues, 2);
    if (pv[1].nvalues == 2) {
        CHECK_EQ_STR(pv[1].values[0], "Tim");
        CHECK_EQ_STR(pv[1].values[1], "Timothy");
    }
    CHECK(pv[0].values == NULL);
    CHECK_EQ_INT(p_format(ctx, " ", 1, buf, sizeof buf, &len), SASL_OK);
    /* the requested names, separated */
    CHECK_EQ_STR(buf, "userPassword cn");
    CHECK_EQ_INT(len, 15);
    CHECK_EQ_INT(p_dup(ctx, &dup), SASL_OK);
    CHECK(dup != NULL);
    p_erase(ctx, "cn");
    CHECK_EQ_INT(p_getnames(ctx, names, pv), 2);
    CHECK(pv[1].values == NULL);
    CHECK_EQ_INT(p_setvals(ctx, "userPassword", vals), SASL_OK);
    CHECK(p_get(ctx) != NULL);
    p_clear(ctx, 1);
    p_dispose(&ctx);
    CHECK(ctx == NULL);
    p_dispose(&dup);
}

/* ------------------------------------------------------ server & friends */

typedef int server_init_fn(const sasl_callback_t *, const char *);
typedef int server_new_fn(const char *, const char *, const char *, const char *,
                          const char *, const sasl_callback_t *, unsigned,
                          sasl_conn_t **);
typedef int server_start_fn(sasl_conn_t *, const char *, const char *, unsigned,
                            const char **, unsigned *);
typedef int server_step_fn(sasl_conn_t *, const char *, unsigned, const char **,
                           unsigned *);
typedef int server_done_fn(void);
typedef int checkpass_fn(sasl_conn_t *, const char *, unsigned, const char *,
                         unsigned);
typedef int user_exists_fn(sasl_conn_t *, const char *, const char *,
                           const char *);
typedef int setpass_fn(sasl_conn_t *, const char *, const char *, unsigned,
                       const char *, unsigned, unsigned);
typedef int checkapop_fn(sasl_conn_t *, const char *, unsigned, const char *,
                         unsigned);
typedef int auxprop_request_fn(sasl_conn_t *, const char **);
typedef void *auxprop_getctx_fn(sasl_conn_t *);
typedef int idle_fn(sasl_conn_t *);
typedef void info_cb_fn(void *m, int stage, void *rock);
typedef int plugin_info_fn(const char *, info_cb_fn *, void *);
typedef int add_plugin_fn(const char *, void *);
typedef const char *config_getstring_fn(const char *, const char *);

static void info_cb(void *m, int stage, void *rock)
{
    int *counts = rock;
    (void)m;
    if (stage >= 0 && stage < 3)
        counts[stage]++;
}

static void test_server_side(void)
{
    server_init_fn *s_init = (server_init_fn *)sym("sasl_server_init");
    server_new_fn *s_new = (server_new_fn *)sym("sasl_server_new");
    server_start_fn *s_start = (server_start_fn *)sym("sasl_server_start");
    server_step_fn *s_step = (server_step_fn *)sym("sasl_server_step");
    server_done_fn *s_done = (server_done_fn *)sym("sasl_server_done");
    checkpass_fn *checkpass = (checkpass_fn *)sym("sasl_checkpass");
    user_exists_fn *user_exists = (user_exists_fn *)sym("sasl_user_exists");
    setpass_fn *setpass = (setpass_fn *)sym("sasl_setpass");
    checkapop_fn *checkapop = (checkapop_fn *)sym("sasl_checkapop");
    auxprop_request_fn *aux_request = (auxprop_request_fn *)sym("sasl_auxprop_request");
    auxprop_getctx_fn *aux_getctx = (auxprop_getctx_fn *)sym("sasl_auxprop_getctx");
    plugin_info_fn *s_info = (plugin_info_fn *)sym("sasl_server_plugin_info");
    sasl_conn_t *conn = NULL;
    const char *out = NULL;
    unsigned outlen = 0;
    int r;

    if (!s_init || !s_new || !s_start || !s_step || !s_done || !checkpass ||
        !user_exists || !setpass || !checkapop || !aux_request || !aux_getctx ||
        !s_info)
        return;

    /* Without a server connection everything fails cleanly. */
    CHECK(s_start(NULL, "PLAIN", "x", 1, &out, &outlen) < 0);
    CHECK(s_step(NULL, "x", 1, &out, &outlen) < 0);
    CHECK(checkpass(NULL, "tim", 3, "pw", 2) < 0);
    CHECK(user_exists(NULL, "imap", NULL, "tim") < 0);
    CHECK(setpass(NULL, "tim", "pw", 2, NULL, 0, 0) < 0);
    CHECK(aux_request(NULL, NULL) < 0);
    CHECK(aux_getctx(NULL) == NULL);

    r = s_init(NULL, "ctests");
    if (getenv("CTESTS_NO_CYRUS")) {
        /* sasl2-rs without a Cyrus library to forward the server side to:
         * every server function fails cleanly */
        CHECK(is_rust_impl());
        CHECK_EQ_INT(r, SASL_NOMECH);
        r = s_new("imap", "h", NULL, NULL, NULL, NULL, 0, &conn);
        CHECK(r < 0);
        CHECK(conn == NULL);
        if (conn)
            sasl_dispose(&conn);
        CHECK(checkpass(NULL, "tim", 3, "pw", 2) < 0);
        CHECK(checkapop(NULL, "<1@h>", 5, "tim x", 5) < 0);
        {
            int counts[3] = { 0, 0, 0 };
            CHECK_EQ_INT(s_info(NULL, info_cb, counts), SASL_NOMECH);
            CHECK_EQ_INT(counts[0] + counts[1] + counts[2], 0);
        }
        CHECK_EQ_INT(s_done(), SASL_NOTINIT);
        return;
    }

    /* The server side works (sasl2-rs forwards it to Cyrus) */
    CHECK_EQ_INT(r, SASL_OK);
    CHECK_EQ_INT(s_new("imap", "h.example.com", NULL, NULL, NULL, NULL, 0,
                       &conn),
                 SASL_OK);
    CHECK(conn != NULL);
    if (conn) {
        const char *list = NULL;
        CHECK_EQ_INT(sasl_listmech(conn, NULL, NULL, " ", NULL, &list, NULL,
                                   NULL),
                     SASL_OK);
        CHECK(list != NULL);
        CHECK(aux_getctx(conn) != NULL);
        /* checkapop with no challenge is a "supported?" query */
        CHECK_EQ_INT(checkapop(conn, NULL, 0, NULL, 0), SASL_OK);
        sasl_dispose(&conn);
    }
    {
        int counts[3] = { 0, 0, 0 };
        CHECK_EQ_INT(s_info(NULL, info_cb, counts), SASL_OK);
        CHECK_EQ_INT(counts[0], 1); /* SASL_INFO_LIST_START */
        CHECK(counts[1] > 0);       /* SASL_INFO_LIST_MECH */
        CHECK_EQ_INT(counts[2], 1); /* SASL_INFO_LIST_END */
    }
    CHECK_EQ_INT(s_done(), SASL_OK);
}

static void test_misc_entry_points(void)
{
    plugin_info_fn *c_info = (plugin_info_fn *)sym("sasl_client_plugin_info");
    add_plugin_fn *c_add = (add_plugin_fn *)sym("sasl_client_add_plugin");
    add_plugin_fn *s_add = (add_plugin_fn *)sym("sasl_server_add_plugin");
    idle_fn *idle = (idle_fn *)sym("sasl_idle");
    config_getstring_fn *cfg_get = (config_getstring_fn *)sym("sasl_config_getstring");
    int counts[3] = { 0, 0, 0 };
    int r;

    if (!c_info || !c_add || !s_add || !idle || !cfg_get)
        return;

    CHECK_EQ_INT(idle(NULL), 0);
    CHECK_EQ_INT(c_add(NULL, NULL), SASL_BADPARAM);
    CHECK(s_add(NULL, NULL) < 0);

    r = c_info(NULL, info_cb, counts);
    if (r == SASL_OK) {
        CHECK_EQ_INT(counts[0], 1);
        CHECK(counts[1] >= 5);
        CHECK_EQ_INT(counts[2], 1);
    } else {
        CHECK(is_rust_impl());
    }
    /* no configuration file loaded: the default comes back */
    CHECK_EQ_STR(cfg_get("ctests_no_such_key", "dflt"), "dflt");
}

int main(int argc, char **argv)
{
    const char *path = getenv("CTESTS_LIBSASL");
    (void)argc;
    ct_setup(argv[0]);
    if (!path)
        path = "libsasl2.so.2";
    g_lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!g_lib) {
        fprintf(stderr, "dlopen(%s): %s\n", path, dlerror());
        CHECK(g_lib != NULL);
        return check_done();
    }
    test_symbols();
    test_md5();
    init_client_or_die(NULL);
    test_prop();
    test_misc_entry_points();
    test_server_side();
    sasl_client_done();
    dlclose(g_lib);
    return check_done();
}
