/* Error reporting: sasl_errdetail, sasl_seterror formatting and logging,
 * SASL_PLUGERR, and misuse of the step API. */
#include "check.h"
#include <errno.h>

/* Called through a pointer: sasl_seterror's %m takes an int and %z is
 * Cyrus-specific, so a header that marks it printf-like must not turn these
 * deliberate uses into -Werror failures. */
static void (*volatile seterror_fn)(sasl_conn_t *, unsigned, const char *, ...) =
    sasl_seterror;

static int g_log_calls;
static int g_log_level;
static char g_log_msg[4096];
static void *g_log_ctx;

static int cb_log(void *context, int level, const char *message)
{
    g_log_calls++;
    g_log_level = level;
    g_log_ctx = context;
    snprintf(g_log_msg, sizeof g_log_msg, "%s", message ? message : "(null)");
    return SASL_OK;
}

static void test_errdetail_basics(void)
{
    sasl_conn_t *conn = new_conn(NULL);
    const void *v;

    CHECK(sasl_errdetail(NULL) == NULL);
    /* a fresh connection: code 0, empty message */
    CHECK_EQ_STR(sasl_errdetail(conn), "SASL(0): successful result: ");

    /* after a failing call the code and its text lead the detail */
    CHECK_EQ_INT(sasl_client_start(conn, "NOSUCHMECH", NULL, NULL, NULL, NULL),
                 SASL_NOMECH);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-4): no mechanism available: ");
    CHECK(strlen(sasl_errdetail(conn)) > strlen("SASL(-4): no mechanism available: "));

    /* a later successful call does not reset the stored error */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVICE, &v), SASL_OK);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-4): no mechanism available: ");
    sasl_dispose(&conn);
}

static void test_seterror_format(void)
{
    sasl_conn_t *conn = new_conn(NULL);
    const void *v = NULL;
    char longmsg[3001];

    seterror_fn(conn, 0, "fmt %d %s", 42, "str");
    /* seterror changes the message, not the code */
    CHECK_EQ_STR(sasl_errdetail(conn), "SASL(0): successful result: fmt 42 str");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK_EQ_STR(v, "fmt 42 str");

    CHECK_EQ_INT(sasl_client_start(conn, "NOSUCHMECH", NULL, NULL, NULL, NULL),
                 SASL_NOMECH);
    seterror_fn(conn, SASL_NOLOG, "custom %s", "text");
    CHECK_EQ_STR(sasl_errdetail(conn), "SASL(-4): no mechanism available: custom text");

    /* the documented conversions: %s %d %i %c %% and %m (errno text) */
    seterror_fn(conn, 0, "[%s|%d|%i|%c|%%|%m]", "s", -7, 12, 'x', ENOENT);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    {
        char want[256];
        snprintf(want, sizeof want, "[s|-7|12|x|%%|%s]", strerror(ENOENT));
        CHECK_EQ_STR(v, want);
    }
    /* NULL %s argument prints "(null)" */
    seterror_fn(conn, 0, "a%sb", (char *)NULL);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK_EQ_STR(v, "a(null)b");
    /* plain text without conversions; empty message */
    seterror_fn(conn, 0, "no conversions at all");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK_EQ_STR(v, "no conversions at all");
    seterror_fn(conn, 0, "");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK_EQ_STR(v, "");
    CHECK_EQ_STR(sasl_errdetail(conn), "SASL(-4): no mechanism available: ");

    /* long messages are kept whole */
    memset(longmsg, 'L', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    seterror_fn(conn, 0, "%s!", longmsg);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK(v && strlen(v) == sizeof longmsg && ((const char *)v)[sizeof longmsg - 1] == '!');
    CHECK(strlen(sasl_errdetail(conn)) == strlen("SASL(-4): no mechanism available: ") + sizeof longmsg);

    /* no connection / no format: nothing happens, nothing crashes */
    seterror_fn(NULL, 0, "ignored %d", 1);
    seterror_fn(NULL, SASL_NOLOG, "ignored");
    seterror_fn(conn, 0, NULL);
    sasl_dispose(&conn);
}

static void test_seterror_z(void)
{
    /* %z formats a SASL result code as its sasl_errstring (SASL_NOUSER is
     * reported as SASL_BADAUTH).  Plug-ins rely on it; note that a plain
     * vsnprintf() treats %z as a length modifier. */
    sasl_conn_t *conn = new_conn(NULL);
    const void *v = NULL;
    seterror_fn(conn, 0, "<%z>", SASL_NOMECH);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK_EQ_STR(v, "<no mechanism available>");
    seterror_fn(conn, 0, "<%z>", SASL_NOUSER);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK_EQ_STR(v, "<authentication failure>");
    sasl_dispose(&conn);
}

static void test_log_callback(void)
{
    int marker = 0;
    sasl_callback_t cbs[] = {
        { SASL_CB_LOG, CB(cb_log), &marker },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_conn_t *conn = new_conn(cbs);

    g_log_calls = 0;
    seterror_fn(conn, 0, "logged %d", 7);
    CHECK_EQ_INT(g_log_calls, 1);
    CHECK_EQ_INT(g_log_level, SASL_LOG_FAIL);
    CHECK_EQ_STR(g_log_msg, "logged 7");
    CHECK(g_log_ctx == &marker);

    g_log_calls = 0;
    seterror_fn(conn, SASL_NOLOG, "not logged");
    CHECK_EQ_INT(g_log_calls, 0);
    CHECK_EQ_STR(sasl_errdetail(conn), "SASL(0): successful result: not logged");
    sasl_dispose(&conn);
}

static int cb_getopt_loglevel(void *context, const char *plugin_name,
                              const char *option, const char **result,
                              unsigned *len)
{
    (void)context;
    (void)plugin_name;
    if (option && strcmp(option, "log_level") == 0) {
        *result = "7";
        if (len)
            *len = 1;
        return SASL_OK;
    }
    return SASL_FAIL;
}

/* A log callback and credentials for `c`, after a getopt callback that
 * raises log_level when `getopt`; `cbs` has room for five entries. */
static void log_callbacks(sasl_callback_t *cbs, struct creds *c, int getopt)
{
    int i = 0;
    if (getopt)
        cbs[i++] = (sasl_callback_t){ SASL_CB_GETOPT, CB(cb_getopt_loglevel), NULL };
    cbs[i++] = (sasl_callback_t){ SASL_CB_LOG, CB(cb_log), NULL };
    cbs[i++] = (sasl_callback_t){ SASL_CB_AUTHNAME, CB(cb_getsimple), c };
    cbs[i++] = (sasl_callback_t){ SASL_CB_PASS, CB(cb_getsecret), c };
    cbs[i] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
}

static void test_step_misuse(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    make_callbacks(cbs, &c);

    /* serverin == NULL with a non-zero length */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, NULL, 5, NULL, &out, &outlen),
                 SASL_BADPARAM);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-7): invalid parameter supplied: ");
    /* the exchange can still be completed */
    CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen),
                 SASL_OK);
    /* ...and then it is over: SASL_FAIL */
    CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen),
                 SASL_FAIL);
    /* an empty step after completion: sasl2-rs confirms it with SASL_OK, as
     * sasl_client_step(3) asks clients to make it (see README) */
    CHECK_EQ_INT(sasl_client_step(conn, NULL, 0, NULL, &out, &outlen),
                 is_rust_impl() ? SASL_OK : SASL_FAIL);
    sasl_dispose(&conn);

    CHECK_EQ_INT(sasl_client_step(NULL, "x", 1, NULL, &out, &outlen),
                 SASL_BADPARAM);
    CHECK_EQ_INT(sasl_client_start(NULL, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_BADPARAM);

    if (is_rust_impl()) {
        /* Cyrus dereferences the (still NULL) mechanism and crashes. */
        int r;
        conn = new_conn(cbs);
        r = sasl_client_step(conn, "x", 1, NULL, &out, &outlen);
        CHECK(r < 0);
        sasl_dispose(&conn);
    }
}

/* Why a mechanism or sasl_decode failed reaches SASL_CB_LOG at
 * SASL_LOG_FAIL (Cyrus's sasl_seterror logs it); parameter errors do not,
 * and neither does a success. The texts are each library's own. */
static void test_failures_are_logged(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[5];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    log_callbacks(cbs, &c, 0);
    conn = new_conn(cbs);
    g_log_calls = 0;
    CHECK_EQ_INT(sasl_client_start(conn, "SCRAM-SHA-256", NULL, &out, &outlen, &mech), SASL_CONTINUE);
    CHECK_EQ_INT(g_log_calls, 0);
    /* A server-first message without the nonce. */
    CHECK(sasl_client_step(conn, "s=QSXCR+Q6sek8bf92,i=4096", 25, NULL, &out, &outlen) < 0);
    CHECK_EQ_INT(g_log_calls, 1);
    CHECK_EQ_INT(g_log_level, SASL_LOG_FAIL);
    CHECK(strlen(g_log_msg) > 0);
    sasl_dispose(&conn);

    /* sasl_decode before any layer was negotiated, by an application that
     * accepts none (maxbufsize 0). */
    conn = new_conn(cbs);
    set_secprops(conn, 0, 256, 0, 0);
    g_log_calls = 0;
    CHECK(sasl_decode(conn, "x", 1, &out, &outlen) < 0);
    CHECK_EQ_INT(g_log_calls, 1);
    CHECK_EQ_INT(g_log_level, SASL_LOG_FAIL);

    /* A parameter error is not logged. */
    g_log_calls = 0;
    CHECK_EQ_INT(sasl_decode(conn, "x", 1, NULL, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(g_log_calls, 0);
    sasl_dispose(&conn);
}

static void test_log_level_option(void)
{
    /* A connection whose getopt raises log_level still works normally. */
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[5];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    log_callbacks(cbs, &c, 1);
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\0tim\0pw", 7);
    sasl_dispose(&conn);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(NULL);
    test_errdetail_basics();
    test_seterror_format();
    test_seterror_z();
    test_log_callback();
    test_step_misuse();
    test_failures_are_logged();
    test_log_level_option();
    sasl_client_done();
    return check_done();
}
