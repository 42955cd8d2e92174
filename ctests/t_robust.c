/* Robustness: NULL pointers in argument positions, hostile callbacks and
 * size limits.  Where Cyrus 2.1.28 crashes, the expectation is sasl2-rs
 * only (is_rust_impl()): it must fail cleanly instead. */
#include "check.h"

static int cb_null_secret(sasl_conn_t *conn, void *ctx, int id,
                          sasl_secret_t **psecret)
{
    (void)conn;
    (void)ctx;
    (void)id;
    *psecret = NULL;
    return SASL_OK;
}

static int cb_failing_simple(void *ctx, int id, const char **result,
                             unsigned *len)
{
    (void)ctx;
    (void)id;
    (void)result;
    (void)len;
    return SASL_NOUSER;
}

static void test_null_args_both(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *v;

    make_callbacks(cbs, &c);
    CHECK_EQ_INT(sasl_client_new(NULL, NULL, NULL, NULL, NULL, 0, NULL),
                 SASL_BADPARAM);
    CHECK_EQ_INT(sasl_client_start(NULL, NULL, NULL, NULL, NULL, NULL),
                 SASL_BADPARAM);
    CHECK_EQ_INT(sasl_client_step(NULL, NULL, 0, NULL, NULL, NULL),
                 SASL_BADPARAM);
    CHECK_EQ_INT(sasl_getprop(NULL, SASL_SSF, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_setprop(NULL, SASL_SSF_EXTERNAL, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encode(NULL, NULL, 0, NULL, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encodev(NULL, NULL, 0, NULL, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_decode(NULL, NULL, 0, NULL, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_listmech(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                 SASL_BADPARAM);
    CHECK(sasl_errdetail(NULL) == NULL);
    sasl_dispose(NULL);
    CHECK_EQ_INT(sasl_utf8verify(NULL, 0), SASL_OK);
    CHECK(sasl_strlower(NULL) == NULL);

    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_listmech(conn, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                 SASL_BADPARAM);
    /* all-NULL outputs at start: no initial response, CONTINUE */
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, NULL, NULL, NULL),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, NULL, 1, NULL, &out, &outlen),
                 SASL_BADPARAM);
    CHECK_EQ_INT(sasl_client_step(conn, NULL, 0, NULL, &out, &outlen), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    sasl_dispose(&conn);

    /* A password callback that "succeeds" with no secret. */
    cbs[1].proc = CB(cb_null_secret);
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_BADPARAM);
    sasl_dispose(&conn);
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "<x@y>", 5, NULL, &out, &outlen),
                 SASL_BADPARAM);
    sasl_dispose(&conn);

    /* An authname callback failing: its code comes back unchanged. */
    {
        sasl_callback_t fcbs[] = {
            { SASL_CB_AUTHNAME, CB(cb_failing_simple), NULL },
            { SASL_CB_PASS, CB(cb_getsecret), &c },
            { SASL_CB_LIST_END, NULL, NULL },
        };
        conn = new_conn(fcbs);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_NOUSER);
        sasl_dispose(&conn);
    }
}

/* Cyrus leaks its canonicalisation buffer on this path (cyrus.supp).
 * The 1024-byte limit is a Cyrus buffer size: sasl2-rs may accept longer
 * names, but must not crash or truncate silently. */
static void __attribute__((noinline))
cyrus_leaky_long_name(const sasl_callback_t *cbs)
{
    sasl_conn_t *conn = new_conn(cbs);
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    int r = sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech);
    if (is_rust_impl()) {
        CHECK(r == SASL_BUFOVER || r == SASL_OK);
        if (r == SASL_OK)
            CHECK_EQ_INT(outlen, 1 + 1025 + 1 + 2);
    } else {
        CHECK_EQ_INT(r, SASL_BUFOVER);
    }
    sasl_dispose(&conn);
}

static void test_sizes(void)
{
    static char name[1100], big[20000];
    struct creds c = { .authname = name, .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *v = NULL;

    make_callbacks(cbs, &c);

    /* canonical names are limited to 1024 bytes: longer -> SASL_BUFOVER */
    memset(name, 'u', sizeof name);
    name[1024] = '\0';
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_INT(outlen, 1 + 1024 + 1 + 2);
    sasl_dispose(&conn);
    name[1024] = 'u';
    name[1025] = '\0';
    cyrus_leaky_long_name(cbs);

    /* long passwords are fine */
    memset(big, 'p', 4000);
    big[4000] = '\0';
    c.authname = "tim";
    c.pass = big; /* cb_getsecret caps at 500 bytes: use interaction */
    {
        sasl_callback_t icbs[] = {
            { SASL_CB_AUTHNAME, CB(cb_getsimple), &c },
            { SASL_CB_PASS, NULL, NULL },
            { SASL_CB_LIST_END, NULL, NULL },
        };
        sasl_interact_t *prompts = NULL;
        conn = new_conn(icbs);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen,
                                       &mech),
                     SASL_INTERACT);
        if (prompts && prompts[0].id == SASL_CB_PASS) {
            prompts[0].result = big;
            prompts[0].len = 4000;
        }
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK_EQ_INT(outlen, 1 + 3 + 1 + 4000);
        sasl_dispose(&conn);
    }

    /* huge service / FQDN strings */
    memset(big, 's', sizeof big);
    big[sizeof big - 1] = '\0';
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new(big, big, NULL, NULL, NULL, 0, &conn), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVICE, &v), SASL_OK);
    CHECK(v && strlen(v) == sizeof big - 1);
    sasl_dispose(&conn);
}

static void test_null_args_rust_only(void)
{
    /* Each of these crashes (NULL dereference) in Cyrus 2.1.28. */
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    char buf[64];
    int r;

    if (!is_rust_impl())
        return;
    make_callbacks(cbs, &c);

    /* clientout without clientoutlen: refused, or tolerated */
    conn = new_conn(cbs);
    r = sasl_client_start(conn, "PLAIN", NULL, &out, NULL, &mech);
    CHECK(r == SASL_BADPARAM || r == SASL_OK);
    sasl_dispose(&conn);

    /* step without output pointers */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "<a@b>", 5, NULL, NULL, &outlen),
                 SASL_BADPARAM);
    CHECK_EQ_INT(sasl_client_step(conn, "<a@b>", 5, NULL, &out, NULL),
                 SASL_BADPARAM);
    /* the exchange survives the bad calls */
    CHECK_EQ_INT(sasl_client_step(conn, "<a@b>", 5, NULL, &out, &outlen), SASL_OK);
    sasl_dispose(&conn);

    /* step before start */
    conn = new_conn(cbs);
    r = sasl_client_step(conn, NULL, 0, NULL, &out, &outlen);
    CHECK(r < 0);
    sasl_dispose(&conn);

    /* NULL property values */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SEC_PROPS, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SSF_EXTERNAL, NULL), SASL_BADPARAM);
    sasl_dispose(&conn);

    /* utilities */
    CHECK(sasl_utf8verify(NULL, 5) != SASL_OK);
    sasl_erasebuffer(NULL, 5);
    CHECK(sasl_encode64("abc", 3, NULL, 100, &outlen) != SASL_OK);
    CHECK(sasl_decode64(NULL, 4, buf, sizeof buf, &outlen) != SASL_OK);
    CHECK(sasl_randcreate(NULL) != SASL_OK);
    sasl_randfree(NULL);
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_mkchal(conn, NULL, 64, 0), 0);
    sasl_dispose(&conn);
    /* hostflag with no connection: any result, no crash */
    CHECK(sasl_mkchal(NULL, buf, sizeof buf, 1) >= 0);
}

/* A server list of 4 MiB of unknown names: the start fails with a bounded
 * explanation (and log message), not one line per name. */
static int g_longest_log;
static int cb_log_len(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    if ((int)strlen(msg) > g_longest_log)
        g_longest_log = (int)strlen(msg);
    return SASL_OK;
}

static void test_huge_mechlist(void)
{
    const size_t size = 4u << 20;
    char *list = malloc(size + 1);
    size_t i;
    sasl_callback_t cbs[] = {
        { SASL_CB_LOG, CB(cb_log_len), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    if (!list)
        return;
    for (i = 0; i + 8 <= size; i += 8)
        snprintf(list + i, 9, "X%06zu ", (i / 8) % 1000000);
    list[i] = '\0';
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, list, NULL, &out, &outlen, &mech),
                 SASL_NOMECH);
    if (is_rust_impl()) {
        CHECK(strlen(sasl_errdetail(conn)) < 4096);
        CHECK(strstr(sasl_errdetail(conn), "more names not usable here") != NULL);
        CHECK(g_longest_log > 0 && g_longest_log < 4096);
    }
    sasl_dispose(&conn);
    free(list);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(NULL);
    test_null_args_both();
    test_sizes();
    test_null_args_rust_only();
    test_huge_mechlist();
    sasl_client_done();
    return check_done();
}
