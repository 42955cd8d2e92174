/* Calls that re-enter the library on a connection while sasl_client_start
 * or sasl_client_step runs on it: from the application's callbacks that
 * get the connection (SASL_CB_PASS, SASL_CB_CANON_USER), and from a client
 * plugin through its sasl_utils_t (getprop, seterror, log, getcallback,
 * getopt, canon_user). What they read is what Cyrus's out-params hold at
 * that point: the mechanism once chosen, each identity once canonicalised,
 * no layer yet; a message set there is the errdetail.
 *
 * Calls that would change what the running exchange uses (setprop, a
 * nested start or step, encode, dispose) are sasl2-rs only: they fail (or,
 * for dispose, wait) rather than corrupt the exchange; Cyrus runs them on
 * a connection in the middle of its own call. */
#include "check.h"
#include <sasl/saslplug.h>

/* What a callback saw of the connection it was called for. */
struct seen {
    int user_rc, authid_rc, mech_rc;
    char user[64], authid[64], mech[32], service[16], fqdn[32];
    unsigned ssf, maxoutbuf;
    char detail[256], plugerr[128];
    int calls;
};

static void copy(char *dst, size_t n, const void *src)
{
    snprintf(dst, n, "%s", src ? (const char *)src : "(null)");
}

/* Reads the properties a callback can care about, then sets an error and
 * reads it back through errdetail and SASL_PLUGERR. */
static void look(sasl_conn_t *conn, struct seen *s, const char *message)
{
    const void *v = NULL;
    s->calls++;
    s->user_rc = sasl_getprop(conn, SASL_USERNAME, &v);
    copy(s->user, sizeof s->user, s->user_rc == SASL_OK ? v : NULL);
    s->authid_rc = sasl_getprop(conn, SASL_AUTHUSER, &v);
    copy(s->authid, sizeof s->authid, s->authid_rc == SASL_OK ? v : NULL);
    s->mech_rc = sasl_getprop(conn, SASL_MECHNAME, &v);
    copy(s->mech, sizeof s->mech, s->mech_rc == SASL_OK ? v : NULL);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVICE, &v), SASL_OK);
    copy(s->service, sizeof s->service, v);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVERFQDN, &v), SASL_OK);
    copy(s->fqdn, sizeof s->fqdn, v);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
    s->ssf = *(const unsigned *)v;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MAXOUTBUF, &v), SASL_OK);
    s->maxoutbuf = *(const unsigned *)v;
    if (message) {
        sasl_seterror(conn, SASL_NOLOG, "%s %d", message, s->calls);
        copy(s->detail, sizeof s->detail, sasl_errdetail(conn));
        CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
        copy(s->plugerr, sizeof s->plugerr, v);
    }
}

/* ---------------------------------------------------------------------- */
/* Application callbacks                                                   */

static const char *g_authzid; /* SASL_CB_USER's answer ("" for none) */
static struct seen g_pass, g_canon[2];
static int g_canon_calls;
static unsigned g_canon_flags[2];
/* What the password callback tries besides reading (sasl2-rs only). */
static enum { JUST_LOOK, NESTED, DISPOSE } g_pass_mode;
static sasl_conn_t *g_conn;

static int cb_simple(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    (void)len;
    *result = id == SASL_CB_USER ? g_authzid : "tim";
    return SASL_OK;
}

/* Calls that would change what the running exchange uses. */
static void nested_calls(sasl_conn_t *conn)
{
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0, ssf = 0;
    sasl_conn_t *self = conn;

    CHECK_EQ_INT(sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf), SASL_FAIL);
    CHECK_CONTAINS(sasl_errdetail(conn), "sasl_setprop cannot run while");
    CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen), SASL_FAIL);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech), SASL_FAIL);
    CHECK_EQ_INT(sasl_encode(conn, "x", 1, &out, &outlen), SASL_FAIL);
    CHECK_CONTAINS(sasl_errdetail(conn), "sasl_encode cannot run while");
    /* Reading the settings works: listing the mechanisms. */
    CHECK_EQ_INT(sasl_listmech(conn, NULL, "", " ", "", &out, &outlen, NULL), SASL_OK);
    CHECK_CONTAINS(out, "PLAIN");
    /* Disposing of the connection from inside its own call waits: the
     * pointer is left, and the connection keeps working. */
    sasl_dispose(&self);
    CHECK(self == conn);
}

static int cb_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    static union {
        sasl_secret_t s;
        char buf[sizeof(sasl_secret_t) + 8];
    } secret;
    (void)ctx;
    (void)id;
    CHECK(conn == g_conn);
    look(conn, &g_pass, "from the password callback");
    if (g_pass_mode == NESTED)
        nested_calls(conn);
    if (g_pass_mode == DISPOSE) {
        sasl_conn_t *self = conn;
        sasl_dispose(&self);
        CHECK(self == conn);
    }
    secret.s.len = 2;
    memcpy(secret.s.data, "pw", 3);
    *psecret = &secret.s;
    return SASL_OK;
}

static int cb_canon(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags,
                    const char *realm, char *out, unsigned outmax, unsigned *outlen)
{
    (void)ctx;
    (void)realm;
    (void)outmax;
    if (g_canon_calls < 2) {
        g_canon_flags[g_canon_calls] = flags;
        look(conn, &g_canon[g_canon_calls], NULL);
    }
    g_canon_calls++;
    memcpy(out, in, inlen);
    *outlen = inlen;
    return SASL_OK;
}

static sasl_callback_t g_cbs[] = {
    { SASL_CB_USER, CB(cb_simple), NULL },
    { SASL_CB_AUTHNAME, CB(cb_simple), NULL },
    { SASL_CB_PASS, CB(cb_pass), NULL },
    { SASL_CB_CANON_USER, CB(cb_canon), NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

static sasl_conn_t *fresh(void)
{
    memset(&g_pass, 0, sizeof g_pass);
    memset(g_canon, 0, sizeof g_canon);
    g_canon_calls = 0;
    g_conn = new_conn(g_cbs);
    return g_conn;
}

/* During the password callback the mechanism is chosen, no identity is
 * set yet, there is no layer; a message set there is what errdetail and
 * SASL_PLUGERR show. */
static void test_password_callback(const char *mechname, int expected)
{
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    g_authzid = "";
    sasl_conn_t *conn = fresh();
    CHECK_EQ_INT(sasl_client_start(conn, mechname, NULL, &out, &outlen, &mech), expected);
    CHECK_EQ_INT(g_pass.calls, 1);
    CHECK_EQ_INT(g_pass.user_rc, SASL_NOTDONE);
    CHECK_EQ_INT(g_pass.authid_rc, SASL_NOTDONE);
    CHECK_EQ_INT(g_pass.mech_rc, SASL_OK);
    CHECK_EQ_STR(g_pass.mech, mechname);
    CHECK_EQ_STR(g_pass.service, "imap");
    CHECK_EQ_STR(g_pass.fqdn, "mail.example.com");
    CHECK_EQ_INT(g_pass.ssf, 0);
    CHECK_EQ_INT(g_pass.maxoutbuf, 0);
    /* The getprop calls before it set NOTDONE: the code stays, the message
     * is the callback's. */
    CHECK_EQ_STR(g_pass.detail, "SASL(-6): can't request information until later in exchange: "
                                "from the password callback 1");
    CHECK_EQ_STR(g_pass.plugerr, "from the password callback 1");
    /* The canon_user callback came after it, and read an identity not
     * canonicalised yet: that is the last error. */
    CHECK_EQ_INT(g_canon_calls, 1);
    CHECK_EQ_STR(sasl_errdetail(conn), "SASL(-6): can't request information until later in exchange: "
                                       "Information that was requested is not yet available.");
    sasl_dispose(&conn);
}

/* Each identity is visible once canonicalised: PLAIN canonicalises the
 * authorization identity first, SCRAM the authentication identity. */
static void test_canon_callback(void)
{
    const char *out = NULL, *mech = NULL;
    const void *v = NULL;
    unsigned outlen = 0;
    g_authzid = "bob";

    sasl_conn_t *conn = fresh();
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech), SASL_OK);
    CHECK_EQ_INT(g_canon_calls, 2);
    CHECK_EQ_INT(g_canon_flags[0], SASL_CU_AUTHZID);
    CHECK_EQ_INT(g_canon[0].user_rc, SASL_NOTDONE);
    CHECK_EQ_INT(g_canon_flags[1], SASL_CU_AUTHID);
    CHECK_EQ_INT(g_canon[1].user_rc, SASL_OK);
    CHECK_EQ_STR(g_canon[1].user, "bob");
    CHECK_EQ_INT(g_canon[1].authid_rc, SASL_NOTDONE);
    CHECK_EQ_STR(g_canon[1].mech, "PLAIN");
    sasl_dispose(&conn);

    conn = fresh();
    CHECK_EQ_INT(sasl_client_start(conn, "SCRAM-SHA-256", NULL, &out, &outlen, &mech), SASL_CONTINUE);
    CHECK_EQ_INT(g_canon_calls, 2);
    CHECK_EQ_INT(g_canon_flags[0], SASL_CU_AUTHID);
    CHECK_EQ_INT(g_canon[0].authid_rc, SASL_NOTDONE);
    CHECK_EQ_INT(g_canon_flags[1], SASL_CU_AUTHZID);
    CHECK_EQ_INT(g_canon[1].authid_rc, SASL_OK);
    CHECK_EQ_STR(g_canon[1].authid, "tim");
    CHECK_EQ_INT(g_canon[1].user_rc, SASL_NOTDONE);
    /* Both are known after the first message, before completion. */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "bob");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "tim");
    sasl_dispose(&conn);
}

/* CRAM-MD5 asks for the password in its step, after the server's
 * challenge: the same there. */
static void test_in_a_step(void)
{
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    g_authzid = "";
    sasl_conn_t *conn = fresh();
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech), SASL_CONTINUE);
    CHECK_EQ_INT(g_pass.calls, 0);
    const char *challenge = "<1896.697170952@postoffice.example.net>";
    CHECK_EQ_INT(sasl_client_step(conn, challenge, strlen(challenge), NULL, &out, &outlen), SASL_OK);
    CHECK_EQ_INT(g_pass.calls, 1);
    CHECK_EQ_STR(g_pass.mech, "CRAM-MD5");
    CHECK_EQ_INT(g_pass.user_rc, SASL_NOTDONE);
    CHECK_EQ_STR(g_pass.plugerr, "from the password callback 1");
    CHECK(outlen > 4 && memcmp(out, "tim ", 4) == 0);
    sasl_dispose(&conn);
}

/* sasl2-rs: what would change the running exchange fails, and the start
 * goes on unharmed. */
static void test_nested_calls(void)
{
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    g_authzid = "";
    for (int mode = NESTED; mode <= DISPOSE; mode++) {
        g_pass_mode = mode;
        sasl_conn_t *conn = fresh();
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech), SASL_OK);
        CHECK_EQ_MEM(out, outlen, "\0tim\0pw", 7);
        CHECK(conn != NULL);
        sasl_dispose(&conn);
        CHECK(conn == NULL);
    }
    g_pass_mode = JUST_LOOK;
}

/* ---------------------------------------------------------------------- */
/* A plugin that calls its utilities on the connection mid-step            */

static struct seen g_plug_new, g_plug_before, g_plug_after;
static char g_log[16384];
static const char *g_option;

static int cb_log(void *context, int level, const char *message)
{
    (void)context;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%d:%s\n", level, message);
    return SASL_OK;
}

static int cb_getopt(void *context, const char *plugin, const char *option, const char **result,
                     unsigned *len)
{
    (void)context;
    (void)len;
    if (plugin && strcmp(plugin, "X-REENTER") == 0 && strcmp(option, "x_reenter") == 0) {
        *result = "on";
        return SASL_OK;
    }
    return SASL_FAIL;
}

static sasl_callback_t g_global[] = {
    { SASL_CB_LOG, CB(cb_log), NULL },
    { SASL_CB_GETOPT, CB(cb_getopt), NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

static int reenter_new(void *glob, sasl_client_params_t *params, void **ctx)
{
    (void)glob;
    look(params->utils->conn, &g_plug_new, NULL);
    *ctx = NULL;
    return SASL_OK;
}

static int reenter_step(void *ctx, sasl_client_params_t *params, const char *in, unsigned inlen,
                        sasl_interact_t **prompt_need, const char **out, unsigned *outlen,
                        sasl_out_params_t *oparams)
{
    const sasl_utils_t *u = params->utils;
    sasl_getsecret_t *pass = NULL;
    void *pass_ctx = NULL;
    sasl_secret_t *secret = NULL;
    (void)ctx;
    (void)in;
    (void)inlen;
    (void)prompt_need;

    look(u->conn, &g_plug_before, NULL);
    /* Through the application's callbacks, which call in again. */
    CHECK_EQ_INT(u->getcallback(u->conn, SASL_CB_PASS, (sasl_callback_ft *)&pass, &pass_ctx), SASL_OK);
    CHECK_EQ_INT(pass(u->conn, pass_ctx, SASL_CB_PASS, &secret), SASL_OK);
    CHECK_EQ_MEM(secret->data, secret->len, "pw", 2);
    CHECK_EQ_INT(u->getopt(u->getopt_context, "X-REENTER", "x_reenter", &g_option, NULL), SASL_OK);
    u->log(u->conn, SASL_LOG_NOTE, "plugin log %d", 5);
    int r = params->canon_user(u->conn, "tim", 0, SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
    CHECK_EQ_INT(r, SASL_OK);
    look(u->conn, &g_plug_after, "plugin message");
    *out = oparams->authid;
    *outlen = oparams->alen;
    oparams->doneflag = 1;
    oparams->mech_ssf = 0;
    oparams->maxoutbuf = 0;
    oparams->encode = NULL;
    oparams->decode = NULL;
    oparams->param_version = 0;
    return SASL_OK;
}

static sasl_client_plug_t g_plug[] = {
    { "X-REENTER", 0, SASL_SEC_NOANONYMOUS, SASL_FEAT_WANT_CLIENT_FIRST, NULL, NULL, reenter_new,
      reenter_step, NULL, NULL, NULL, NULL, NULL },
};

static int reenter_init(const sasl_utils_t *utils, int max_version, int *out_version,
                        sasl_client_plug_t **pluglist, int *plugcount)
{
    (void)utils;
    (void)max_version;
    *out_version = SASL_CLIENT_PLUG_VERSION;
    *pluglist = g_plug;
    *plugcount = 1;
    return SASL_OK;
}

static void test_plugin(void)
{
    const char *out = NULL, *mech = NULL;
    const void *v = NULL;
    unsigned outlen = 0;
    CHECK_EQ_INT(sasl_client_add_plugin("reenter", reenter_init), SASL_OK);
    g_authzid = "";
    g_log[0] = '\0';
    sasl_conn_t *conn = fresh();
    CHECK_EQ_INT(sasl_client_start(conn, "X-REENTER", NULL, &out, &outlen, &mech), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "tim", 3);

    /* At mech_new the mechanism is chosen already. */
    CHECK_EQ_INT(g_plug_new.mech_rc, SASL_OK);
    CHECK_EQ_STR(g_plug_new.mech, "X-REENTER");
    CHECK_EQ_INT(g_plug_new.user_rc, SASL_NOTDONE);
    CHECK_EQ_INT(g_plug_before.user_rc, SASL_NOTDONE);
    CHECK_EQ_INT(g_plug_before.authid_rc, SASL_NOTDONE);
    /* The password callback the plugin called. */
    CHECK_EQ_INT(g_pass.calls, 1);
    CHECK_EQ_STR(g_pass.mech, "X-REENTER");
    CHECK_EQ_STR(g_option, "on");
    CHECK_CONTAINS(g_log, "4:plugin log 5");
    /* canon_user stored the names where getprop reads them. */
    CHECK_EQ_INT(g_plug_after.user_rc, SASL_OK);
    CHECK_EQ_STR(g_plug_after.user, "tim");
    CHECK_EQ_INT(g_plug_after.authid_rc, SASL_OK);
    CHECK_EQ_STR(g_plug_after.authid, "tim");
    CHECK_EQ_STR(g_plug_after.plugerr, "plugin message 1");
    CHECK_CONTAINS(g_plug_after.detail, "plugin message 1");
    CHECK_CONTAINS(sasl_errdetail(conn), "plugin message 1");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR((const char *)v, "tim");
    sasl_dispose(&conn);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(g_global);
    test_password_callback("PLAIN", SASL_OK);
    test_password_callback("SCRAM-SHA-256", SASL_CONTINUE);
    test_canon_callback();
    test_in_a_step();
    if (is_rust_impl())
        test_nested_calls();
    test_plugin();
    sasl_done();
    return check_done();
}
