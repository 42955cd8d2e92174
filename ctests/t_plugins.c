/* Client plugins (saslplug.h): plugin files from the plugin path
 * (SASL_PATH), plugins added in-process with sasl_client_add_plugin, a
 * canon_user plugin, a plugin security layer through sasl_encode and
 * sasl_decode, prompts made by a plugin, error messages a plugin sets, and
 * plugins that misbehave.
 *
 * run.sh builds the C files of ctests/plugins into $CTESTS_PLUGINS (liblayer.so:
 * X-LAYER with a layer; liboverride.so: a third-party PLAIN; libbroken.so:
 * an entry point that fails); $CTESTS_BASE_PLUGINS holds Cyrus's plugins
 * for the mechanisms this library builds in. */
#include "check.h"
#include <sasl/saslplug.h>

static char g_log[16384];

static int cb_log(void *context, int level, const char *message)
{
    (void)context;
    (void)level;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", message);
    return SASL_OK;
}

static const char *g_canon_plugin; /* canon_user_plugin option, or NULL */

static int cb_getopt(void *context, const char *plugin, const char *option,
                     const char **result, unsigned *len)
{
    (void)context;
    (void)plugin;
    const char *v = NULL;
    if (strcmp(option, "x_layer_option") == 0)
        v = "yes";
    else if (strcmp(option, "canon_user_plugin") == 0)
        v = g_canon_plugin;
    if (!v)
        return SASL_FAIL;
    *result = v;
    if (len)
        *len = (unsigned)strlen(v);
    return SASL_OK;
}

static sasl_callback_t g_global[] = {
    { SASL_CB_LOG, CB(cb_log), NULL },
    { SASL_CB_GETOPT, CB(cb_getopt), NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

static int listed(const char *mech)
{
    const char **l = sasl_global_listmech();
    for (; l && *l; l++)
        if (strcmp(*l, mech) == 0)
            return 1;
    return 0;
}

/* sasl_client_plugin_info: what it reports for one mechanism. */
struct info {
    const char *mech;
    int seen, version, max_ssf, stages;
    char plugname[64];
};

static void info_cb(client_sasl_mechanism_t *m, sasl_info_callback_stage_t stage, void *rock)
{
    struct info *i = rock;
    if (stage != SASL_INFO_LIST_MECH) {
        i->stages++;
        CHECK(m == NULL);
        return;
    }
    CHECK(m != NULL && m->plug != NULL && m->plugname != NULL);
    if (m && m->plug && m->plug->mech_name && strcmp(m->plug->mech_name, i->mech) == 0) {
        i->seen++;
        i->version = m->version;
        i->max_ssf = (int)m->plug->max_ssf;
        snprintf(i->plugname, sizeof i->plugname, "%s", m->plugname);
    }
}

static void test_path_plugins_listed(void)
{
    struct info i = { .mech = "X-LAYER" };

    CHECK(listed("X-LAYER"));
    CHECK(listed("PLAIN"));
    CHECK_EQ_INT(sasl_client_plugin_info(NULL, info_cb, &i), SASL_OK);
    CHECK_EQ_INT(i.seen, 1);
    CHECK_EQ_INT(i.stages, 2);
    CHECK_EQ_INT(i.version, SASL_CLIENT_PLUG_VERSION);
    CHECK_EQ_INT(i.max_ssf, 56);
    CHECK_EQ_STR(i.plugname, "layer");
    /* The third-party PLAIN serves PLAIN (Cyrus lists it after its own,
     * and picks the strongest of equals it loaded first). */
    struct info p = { .mech = "PLAIN" };
    CHECK_EQ_INT(sasl_client_plugin_info("PLAIN", info_cb, &p), SASL_OK);
    if (is_rust_impl()) {
        CHECK_EQ_INT(p.seen, 1);
        CHECK_EQ_STR(p.plugname, "override");
        /* The plugin whose entry point fails was skipped, and said so
         * (Cyrus logs this to syslog, not through the application). */
        CHECK_CONTAINS(g_log, "libbroken.so: skipped: its entry point failed");
    } else {
        CHECK_EQ_INT(p.seen, 2);
    }
}

/* A finished X-LAYER exchange with the server's buffer size `maxbuf`. */
static sasl_conn_t *layer_conn(struct creds *c, sasl_callback_t *cbs, unsigned maxbuf)
{
    sasl_conn_t *conn = new_conn(make_callbacks(cbs, c));
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    char answer[32];

    set_secprops(conn, 0, 256, 1024, 0);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN X-LAYER", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_STR(mech, "X-LAYER");
    /* authid NUL hex(MD5("pw")) */
    CHECK_EQ_MEM(out, outlen, "tim\0" "8fe4c11451281c094a6578e6ddbf5eed", 36);
    snprintf(answer, sizeof answer, "ok %u", maxbuf);
    CHECK_EQ_INT(sasl_client_step(conn, answer, (unsigned)strlen(answer), NULL, &out, &outlen),
                 SASL_OK);
    return conn;
}

/* A packet as the X-LAYER server sends it. */
static unsigned make_packet(unsigned char *buf, const char *plain, int corrupt)
{
    unsigned n = (unsigned)strlen(plain), i;
    unsigned char sum = 0;
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)((n + 1) >> 8);
    buf[3] = (unsigned char)(n + 1);
    for (i = 0; i < n; i++) {
        sum += (unsigned char)plain[i];
        buf[4 + i] = (unsigned char)plain[i] ^ 0x5a;
    }
    buf[4 + n] = (unsigned char)(sum + (corrupt ? 1 : 0));
    return n + 5;
}

static void test_layer(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn = layer_conn(&c, cbs, 200);
    const void *v = NULL;
    const char *out = NULL;
    unsigned outlen = 0, i;
    unsigned char pkt[64], wire[128];
    char big[500];
    char got[64];
    size_t gotlen = 0;

    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
    CHECK(v && *(const sasl_ssf_t *)v == 56);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MAXOUTBUF, &v), SASL_OK);
    CHECK(v && *(const unsigned *)v == 195);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "tim");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MECHNAME, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "X-LAYER");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHSOURCE, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "layer");

    /* One packet... */
    CHECK_EQ_INT(sasl_encode(conn, "hello", 5, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, pkt, make_packet(pkt, "hello", 0));
    /* ...and data larger than MAXOUTBUF split into packets of at most 195. */
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(sasl_encode(conn, big, sizeof big, &out, &outlen), SASL_OK);
    CHECK_EQ_INT(outlen, sizeof big + 3 * 5);
    if (outlen == sizeof big + 15) {
        const unsigned char *o = (const unsigned char *)out;
        CHECK_EQ_INT(o[2] * 256 + o[3], 196);
        CHECK_EQ_INT(o[200 + 2] * 256 + o[200 + 3], 196);
        CHECK_EQ_INT(o[400 + 2] * 256 + o[400 + 3], 111);
    }

    /* Two packets from the server, fed one byte at a time. */
    unsigned n = make_packet(wire, "world", 0);
    n += make_packet(wire + n, "again", 0);
    for (i = 0; i < n; i++) {
        CHECK_EQ_INT(sasl_decode(conn, (const char *)wire + i, 1, &out, &outlen), SASL_OK);
        if (outlen && gotlen + outlen < sizeof got) {
            memcpy(got + gotlen, out, outlen);
            gotlen += outlen;
        }
    }
    CHECK_EQ_MEM(got, gotlen, "worldagain", 10);

    /* A corrupted packet: the plugin's verdict and its message. */
    n = make_packet(wire, "evil", 1);
    CHECK_EQ_INT(sasl_decode(conn, (const char *)wire, n, &out, &outlen), SASL_BADMAC);
    CHECK_CONTAINS(sasl_errdetail(conn), "checksum mismatch");
    sasl_dispose(&conn);

    /* A packet announcing more than we accept is refused. */
    conn = layer_conn(&c, cbs, 200);
    memcpy(wire, "\x00\x00\x13\x88", 4); /* 5000 bytes */
    CHECK_EQ_INT(sasl_decode(conn, (const char *)wire, 4, &out, &outlen), SASL_FAIL);
    sasl_dispose(&conn);
}

/* What a plugin's layer claims is what the connection does, within the
 * application's bounds (both found by the plugin fuzz target): a layer
 * reported at SSF 0 is refused (Cyrus reports SSF 0 and encodes with it),
 * and so is an SSF below the minimum (Cyrus completes). */
static void test_layer_ssf_claims(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0, i;
    const void *v = NULL;
    struct {
        unsigned min_ssf;
        const char *answer;
        int ours;
        const char *why;
    } cases[] = {
        { 0, "ok 200 ssf=0", SASL_FAIL, "reported SSF 0" },
        { 56, "ok 200 ssf=1", SASL_TOOWEAK, "below the minimum SSF 56" },
        { 1, "ok 200 ssf=1", SASL_OK, NULL },
    };

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sasl_conn_t *conn = new_conn(make_callbacks(cbs, &c));
        int rc;
        set_secprops(conn, cases[i].min_ssf, 256, 1024, 0);
        CHECK_EQ_INT(sasl_client_start(conn, "X-LAYER", NULL, &out, &outlen, &mech), SASL_CONTINUE);
        rc = sasl_client_step(conn, cases[i].answer, (unsigned)strlen(cases[i].answer), NULL, &out, &outlen);
        CHECK_EQ_INT(rc, is_rust_impl() ? cases[i].ours : SASL_OK);
        if (rc != SASL_OK && cases[i].why) {
            CHECK_CONTAINS(sasl_errdetail(conn), cases[i].why);
            CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
            CHECK(v && *(const sasl_ssf_t *)v == 0);
            CHECK_EQ_INT(sasl_encode(conn, "abc", 3, &out, &outlen), SASL_OK);
            CHECK_EQ_MEM(out, outlen, "abc", 3);
        }
        sasl_dispose(&conn);
    }
}

static void test_plugin_errors_and_prompts(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn = new_conn(make_callbacks(cbs, &c));
    sasl_interact_t *prompts = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    /* The server refuses: the plugin's code and message come through. */
    set_secprops(conn, 0, 256, 1024, 0);
    CHECK_EQ_INT(sasl_client_start(conn, "X-LAYER", NULL, &out, &outlen, &mech), SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "no", 2, NULL, &out, &outlen), SASL_BADAUTH);
    CHECK_CONTAINS(sasl_errdetail(conn), "X-LAYER: the server said \"no\"");
    sasl_dispose(&conn);

    /* The application prompts for the name: the plugin makes the list. */
    cbs[0].proc = NULL;
    conn = new_conn(cbs);
    set_secprops(conn, 0, 256, 1024, 0);
    CHECK_EQ_INT(sasl_client_start(conn, "X-LAYER", &prompts, &out, &outlen, &mech),
                 SASL_INTERACT);
    CHECK(prompts != NULL);
    if (prompts) {
        CHECK_EQ_INT(prompts[0].id, SASL_CB_AUTHNAME);
        CHECK_EQ_STR(prompts[0].challenge, "X-LAYER");
        CHECK_EQ_INT(prompts[1].id, SASL_CB_LIST_END);
        prompts[0].result = "tom";
        prompts[0].len = 3;
        CHECK_EQ_INT(sasl_client_start(conn, "X-LAYER", &prompts, &out, &outlen, &mech),
                     SASL_CONTINUE);
        CHECK(prompts == NULL);
        CHECK_EQ_MEM(out, 4, "tom\0", 4);
    }
    /* Disposed in the middle of the exchange: the plugin cleans up. */
    sasl_dispose(&conn);
}

static void test_override(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn = new_conn(make_callbacks(cbs, &c));
    const char *out = NULL, *mech = NULL;
    const void *v = NULL;
    unsigned outlen = 0;

    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\0tim\0override", 13);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHSOURCE, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "override");
    sasl_dispose(&conn);
    if (is_rust_impl())
        CHECK_CONTAINS(g_log, "PLAIN: plugin override (third-party");
}

/* In-process plugins (sasl_client_add_plugin). g_mode picks misbehaviour. */
static int g_mode;
enum { GOOD, NULL_OUTPUT, ODD_CODE };

static int inproc_new(void *glob, sasl_client_params_t *params, void **ctx)
{
    (void)glob;
    (void)params;
    *ctx = NULL;
    return SASL_OK;
}

static int inproc_step(void *ctx, sasl_client_params_t *params, const char *in, unsigned inlen,
                       sasl_interact_t **prompt_need, const char **out, unsigned *outlen,
                       sasl_out_params_t *oparams)
{
    (void)ctx;
    (void)in;
    (void)inlen;
    (void)prompt_need;
    switch (g_mode) {
    case NULL_OUTPUT:
        *out = NULL;
        *outlen = 7;
        return SASL_CONTINUE;
    case ODD_CODE:
        return 4242;
    }
    int r = params->canon_user(params->utils->conn, "  tim  ", 0,
                               SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
    if (r != SASL_OK)
        return r;
    *out = oparams->authid;
    *outlen = oparams->alen;
    return SASL_OK;
}

static sasl_client_plug_t g_inproc[] = {
    { "X-INPROC", 0, SASL_SEC_NOANONYMOUS, SASL_FEAT_WANT_CLIENT_FIRST, NULL, NULL,
      inproc_new, inproc_step, NULL, NULL, NULL, NULL, NULL },
    /* Invalid: refused by sasl2-rs (a name is 1-20 of A-Z 0-9 - _). */
    { "bad name", 0, 0, 0, NULL, NULL, inproc_new, inproc_step, NULL, NULL, NULL, NULL, NULL },
};

static int g_init_result, g_init_version = SASL_CLIENT_PLUG_VERSION;

static int inproc_init(const sasl_utils_t *utils, int max_version, int *out_version,
                       sasl_client_plug_t **pluglist, int *plugcount)
{
    /* (Cyrus leaves utils->version unset.) */
    CHECK(utils != NULL && (!is_rust_impl() || utils->version == SASL_UTILS_VERSION));
    CHECK(max_version >= SASL_CLIENT_PLUG_VERSION);
    if (g_init_result != SASL_OK)
        return g_init_result;
    *out_version = g_init_version;
    *pluglist = g_inproc;
    *plugcount = 2;
    return SASL_OK;
}

static void test_add_plugin(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    CHECK_EQ_INT(sasl_client_add_plugin(NULL, inproc_init), SASL_BADPARAM);
    g_init_result = SASL_NOMEM;
    CHECK_EQ_INT(sasl_client_add_plugin("fails", inproc_init), SASL_NOMEM);
    g_init_result = SASL_OK;
    g_init_version = 3;
    CHECK_EQ_INT(sasl_client_add_plugin("oldversion", inproc_init), SASL_BADVERS);
    g_init_version = SASL_CLIENT_PLUG_VERSION;
    CHECK(!listed("X-INPROC"));
    CHECK_EQ_INT(sasl_client_add_plugin("inproc", inproc_init), SASL_OK);
    /* (Cyrus's global list is the one it made at sasl_client_init.) */
    if (is_rust_impl()) {
        CHECK(listed("X-INPROC"));
        CHECK(!listed("bad name"));
    }

    conn = new_conn(make_callbacks(cbs, &c));
    CHECK_EQ_INT(sasl_client_start(conn, "X-INPROC", NULL, &out, &outlen, &mech), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "tim", 3); /* canonicalised by the library */
    sasl_dispose(&conn);

    /* What a misbehaving plugin returns is checked (Cyrus passes it on). */
    if (is_rust_impl()) {
        conn = new_conn(cbs);
        g_mode = NULL_OUTPUT;
        CHECK_EQ_INT(sasl_client_start(conn, "X-INPROC", NULL, &out, &outlen, &mech), SASL_BADPROT);
        CHECK_CONTAINS(sasl_errdetail(conn), "NULL with length 7");
        g_mode = ODD_CODE;
        CHECK_EQ_INT(sasl_client_start(conn, "X-INPROC", NULL, &out, &outlen, &mech), SASL_FAIL);
        CHECK_CONTAINS(sasl_errdetail(conn), "unknown result code 4242");
        g_mode = GOOD;
        sasl_dispose(&conn);
    }
}

/* A canon_user plugin that upper-cases names. */
static int upper_client(void *glob, sasl_client_params_t *params, const char *user,
                        unsigned len, unsigned flags, char *out, unsigned out_max,
                        unsigned *out_len)
{
    unsigned i;
    (void)glob;
    (void)flags;
    CHECK(params != NULL && params->utils != NULL);
    if (len == 0)
        len = (unsigned)strlen(user);
    if (len > out_max)
        return SASL_BUFOVER;
    for (i = 0; i < len; i++)
        out[i] = (char)(user[i] >= 'a' && user[i] <= 'z' ? user[i] - 32 : user[i]);
    *out_len = len;
    return SASL_OK;
}

static int g_upper_freed;
static void upper_free(void *glob, const sasl_utils_t *utils)
{
    (void)glob;
    (void)utils;
    g_upper_freed++;
}

static sasl_canonuser_plug_t g_upper = {
    0, 0, NULL, "UPPER", upper_free, NULL, upper_client, NULL, NULL, NULL,
};

static int upper_init(const sasl_utils_t *utils, int max_version, int *out_version,
                      sasl_canonuser_plug_t **plug, const char *plugname)
{
    (void)utils;
    CHECK(max_version >= SASL_CANONUSER_PLUG_VERSION);
    CHECK_EQ_STR(plugname, "upper");
    *out_version = SASL_CANONUSER_PLUG_VERSION;
    *plug = &g_upper;
    return SASL_OK;
}

static void test_canon_user_plugin(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *v = NULL;

    CHECK_EQ_INT(sasl_canonuser_add_plugin("upper", upper_init), SASL_OK);
    g_canon_plugin = "UPPER";
    /* A plugin mechanism... */
    conn = new_conn(make_callbacks(cbs, &c));
    CHECK_EQ_INT(sasl_client_start(conn, "X-INPROC", NULL, &out, &outlen, &mech), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "  TIM  ", 7);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "  TIM  ");
    sasl_dispose(&conn);
    /* ...and a built-in one (Cyrus's CRAM-MD5 plugin there). */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech), SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen), SASL_OK);
    CHECK_PREFIX(out, "TIM ");
    sasl_dispose(&conn);
    /* An unknown canon_user plugin fails the authentication. */
    g_canon_plugin = "NOSUCH";
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "X-INPROC", NULL, &out, &outlen, &mech), SASL_NOMECH);
    CHECK_CONTAINS(sasl_errdetail(conn), "canon_user plugin NOSUCH not found");
    sasl_dispose(&conn);
    g_canon_plugin = NULL;
}

/* The plugin path from SASL_CB_GETPATH, and SASL_CB_VERIFYFILE refusing
 * one file (both given to sasl_client_init, as Cyrus reads them). */
static char g_path[4096];

static int cb_getpath(void *context, const char **path)
{
    (void)context;
    *path = g_path;
    return SASL_OK;
}

static int g_verified;
static int cb_verifyfile(void *context, const char *file, sasl_verify_type_t type)
{
    (void)context;
    g_verified++;
    CHECK_EQ_INT(type, SASL_VRFY_PLUGIN);
    return strstr(file, "liblayer.so") ? SASL_FAIL : SASL_OK;
}

static void test_getpath_and_verifyfile(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_GETPATH, CB(cb_getpath), NULL },
        { SASL_CB_VERIFYFILE, CB(cb_verifyfile), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    init_client_or_die(cbs);
    CHECK(!listed("X-LAYER")); /* refused by SASL_CB_VERIFYFILE */
    CHECK(listed("PLAIN"));
    CHECK(g_verified > 0);
    sasl_done();
}

int main(int argc, char **argv)
{
    const char *plugins = getenv("CTESTS_PLUGINS"), *base = getenv("CTESTS_BASE_PLUGINS");
    char path[4096];
    (void)argc;
    ct_setup(argv[0]);
    if (!plugins || !base) {
        fprintf(stderr, "CTESTS_PLUGINS and CTESTS_BASE_PLUGINS must be set (run.sh does)\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s:%s", plugins, base);
    setenv("SASL_PATH", path, 1);

    /* Adding a plugin before sasl_client_init crashes Cyrus. */
    if (is_rust_impl())
        CHECK_EQ_INT(sasl_client_add_plugin("early", inproc_init), SASL_NOTINIT);
    init_client_or_die(g_global);
    test_path_plugins_listed();
    test_layer();
    test_layer_ssf_claims();
    test_plugin_errors_and_prompts();
    test_override();
    test_add_plugin();
    test_canon_user_plugin();
    sasl_done();
    /* Released with the library, as Cyrus does; sasl2-rs gives it to
     * Cyrus's server side too when that is loaded (the layer plug-in's
     * prop_new did), and then leaves it for the process. */
    if (is_rust_impl())
        CHECK(g_upper_freed <= 1);
    else
        CHECK_EQ_INT(g_upper_freed, 1);

    /* A second life: the plugin path is read again. */
    init_client_or_die(g_global);
    CHECK(listed("X-LAYER"));
    CHECK(!listed("X-INPROC"));
    test_layer();
    sasl_done();

    /* The path as the application gives it: SASL_CB_GETPATH comes before
     * $SASL_PATH, then sasl_set_path replaces $SASL_PATH. */
    snprintf(g_path, sizeof g_path, "%s:%s", plugins, base);
    setenv("SASL_PATH", "/nonexistent", 1);
    test_getpath_and_verifyfile();
    CHECK_EQ_INT(sasl_set_path(SASL_PATH_TYPE_PLUGIN, path), SASL_OK);
    init_client_or_die(g_global);
    CHECK(listed("X-LAYER"));
    sasl_done();
    return check_done();
}
