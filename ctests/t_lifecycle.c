/* Library lifecycle: calls before sasl_client_init, init/done reference
 * counting, re-initialisation, sasl_client_new argument checks, version
 * reporting, sasl_errstring texts and sasl_global_listmech. */
#include "check.h"

static void test_before_init(void)
{
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *v = NULL;

    /* Cyrus: every client entry point checks _sasl_client_active first. */
    CHECK_EQ_INT(sasl_client_new("imap", "h", NULL, NULL, NULL, 0, &conn),
                 SASL_NOTINIT);
    CHECK(conn == NULL);
    CHECK_EQ_INT(sasl_client_start(NULL, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_NOTINIT);
    CHECK_EQ_INT(sasl_client_step(NULL, NULL, 0, NULL, &out, &outlen),
                 SASL_NOTINIT);
    CHECK_EQ_INT(sasl_client_done(), SASL_NOTINIT);
    CHECK(sasl_global_listmech() == NULL);

    /* Connection-less helpers work (or fail cleanly) before init. */
    CHECK_EQ_INT(sasl_getprop(NULL, SASL_USERNAME, &v), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_setprop(NULL, SASL_AUTH_EXTERNAL, "x"), SASL_BADPARAM);
    CHECK(sasl_errdetail(NULL) == NULL);
    CHECK_EQ_STR(sasl_errstring(SASL_OK, NULL, NULL), "successful result");
    sasl_dispose(NULL);
    sasl_dispose(&conn);
    CHECK(conn == NULL);
    CHECK_EQ_INT(sasl_listmech(NULL, NULL, NULL, NULL, NULL, &out, NULL, NULL),
                 SASL_BADPARAM);
}

static void test_version(void)
{
    const char *impl = NULL, *vstr = NULL;
    int version = 0, major = -1, minor = -1, step = -1, patch = -1;

    sasl_version(NULL, NULL);
    sasl_version(&impl, NULL);
    CHECK(impl != NULL && impl[0] != '\0');
    sasl_version(NULL, &version);
    /* NB: not SASL_VERSION_FULL: major<<24 | minor<<16 | step. */
    CHECK_EQ_INT(version, (2 << 24) | (1 << 16) | 28);

    sasl_version_info(NULL, NULL, NULL, NULL, NULL, NULL);
    impl = NULL;
    sasl_version_info(&impl, &vstr, &major, &minor, &step, &patch);
    CHECK(impl != NULL);
    CHECK_EQ_STR(vstr, "2.1.28");
    CHECK_EQ_INT(major, 2);
    CHECK_EQ_INT(minor, 1);
    CHECK_EQ_INT(step, 28);
    CHECK_EQ_INT(patch, 0);
    if (is_rust_impl())
        CHECK_CONTAINS(impl, "sasl2-rs");
    else
        CHECK_EQ_STR(impl, "Cyrus SASL");
}

static void test_errstring(void)
{
    static const struct { int code; const char *text; } tab[] = {
        { SASL_CONTINUE, "another step is needed in authentication" },
        { SASL_OK, "successful result" },
        { SASL_FAIL, "generic failure" },
        { SASL_NOMEM, "no memory available" },
        { SASL_BUFOVER, "overflowed buffer" },
        { SASL_NOMECH, "no mechanism available" },
        { SASL_BADPROT, "bad protocol / cancel" },
        { SASL_NOTDONE, "can't request information until later in exchange" },
        { SASL_BADPARAM, "invalid parameter supplied" },
        { SASL_TRYAGAIN, "transient failure (e.g., weak key)" },
        { SASL_BADMAC, "integrity check failed" },
        { SASL_NOTINIT, "SASL library is not initialized" },
        { SASL_INTERACT, "needs user interaction" },
        { SASL_BADSERV, "server failed mutual authentication step" },
        { SASL_WRONGMECH, "mechanism doesn't support requested feature" },
        { SASL_BADAUTH, "authentication failure" },
        { SASL_NOAUTHZ, "authorization failure" },
        { SASL_TOOWEAK, "mechanism too weak for this user" },
        { SASL_ENCRYPT, "encryption needed to use mechanism" },
        { SASL_TRANS, "One time use of a plaintext password will enable requested mechanism for user" },
        { SASL_EXPIRED, "passphrase expired, has to be reset" },
        { SASL_DISABLED, "account disabled" },
        { SASL_NOUSER, "user not found" },
        { SASL_BADVERS, "version mismatch with plug-in" },
        { SASL_UNAVAIL, "remote authentication server unavailable" },
        { SASL_NOVERIFY, "user exists, but no verifier for user" },
        { SASL_PWLOCK, "passphrase locked" },
        { SASL_NOCHANGE, "requested change was not needed" },
        { SASL_WEAKPASS, "passphrase is too weak for security policy" },
        { SASL_NOUSERPASS, "user supplied passwords are not permitted" },
        { SASL_NEED_OLD_PASSWD, "sasl_setpass needs old password in order to perform password change" },
        { SASL_CONSTRAINT_VIOLAT, "sasl_setpass can't store a property because of a constraint violation" },
        { SASL_BADBINDING, "channel binding failure" },
        { SASL_CONFIGERR, "error when parsing configuration file" },
    };
    size_t i;
    int code;
    const char *lang = NULL;

    for (i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        const char *s = sasl_errstring(tab[i].code, NULL, NULL);
        CHECK_EQ_STR(s, tab[i].text);
    }
    /* Every code in a wide range yields a non-NULL string. */
    for (code = -200; code <= 200; code++)
        CHECK(sasl_errstring(code, NULL, NULL) != NULL);
    CHECK_EQ_STR(sasl_errstring(-25, NULL, NULL), "undefined error!");
    CHECK_EQ_STR(sasl_errstring(12345, NULL, NULL), "undefined error!");
    CHECK_EQ_STR(sasl_errstring(SASL_NOMECH, "fr,de", &lang),
                 "no mechanism available");
    CHECK_EQ_STR(lang, "en-us");
}

static void test_init_done(void)
{
    struct creds c = { .authname = "tim", .pass = "secret" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const char **ml;

    make_callbacks(cbs, &c);

    CHECK_EQ_INT(sasl_client_init(NULL), SASL_OK);
    ml = sasl_global_listmech();
    CHECK(ml != NULL);
    if (ml) {
        int have_plain = 0, n = 0;
        for (; *ml; ml++, n++)
            if (strcmp(*ml, "PLAIN") == 0)
                have_plain = 1;
        CHECK(have_plain);
        CHECK(n >= 5);
    }

    /* A second init just bumps a reference count (its callbacks are
     * ignored by Cyrus). */
    CHECK_EQ_INT(sasl_client_init(cbs), SASL_OK);
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    sasl_dispose(&conn);
    CHECK(conn == NULL);
    sasl_dispose(&conn); /* pointer to NULL: no-op */

    /* First done only drops the reference: SASL_CONTINUE. */
    CHECK_EQ_INT(sasl_client_done(), SASL_CONTINUE);
    conn = new_conn(cbs); /* still initialised */
    sasl_dispose(&conn);
    CHECK_EQ_INT(sasl_client_done(), SASL_OK);
    CHECK_EQ_INT(sasl_client_done(), SASL_NOTINIT);
    CHECK(sasl_global_listmech() == NULL);
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "h", NULL, NULL, cbs, 0, &conn),
                 SASL_NOTINIT);
    CHECK(conn == NULL);

    /* Re-initialisation after a full shutdown works. */
    CHECK_EQ_INT(sasl_client_init(cbs), SASL_OK);
    CHECK(sasl_global_listmech() != NULL);
    conn = new_conn(cbs);
    c.n_authname = c.n_pass = 0;
    out = NULL;
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\0tim\0secret", 11);
    CHECK_EQ_INT(c.n_authname, 1);
    CHECK_EQ_INT(c.n_pass, 1);
    sasl_dispose(&conn);
    CHECK_EQ_INT(sasl_client_done(), SASL_OK);

    /* sasl_done() is the legacy all-in-one shutdown. */
    CHECK_EQ_INT(sasl_client_init(NULL), SASL_OK);
    sasl_done();
    CHECK_EQ_INT(sasl_client_done(), SASL_NOTINIT);
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "h", NULL, NULL, NULL, 0, &conn),
                 SASL_NOTINIT);
}

/* A malformed address string: SASL_BADPARAM.  Cyrus leaks the half-built
 * connection and leaves *pconn pointing at it (never disposable), hence the
 * cyrus_leaky_ name (suppressed for the system library only); sasl2-rs must
 * leave *pconn NULL. */
static void __attribute__((noinline)) cyrus_leaky_bad_address(void)
{
    sasl_conn_t *conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "h", "not-an-address", NULL, NULL, 0,
                                 &conn),
                 SASL_BADPARAM);
    if (is_rust_impl())
        CHECK(conn == NULL);
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "h", NULL, "1.2.3.4;port", NULL, 0,
                                 &conn),
                 SASL_BADPARAM);
    if (is_rust_impl())
        CHECK(conn == NULL);
}

static void test_client_new_args(void)
{
    sasl_conn_t *conn = NULL;
    const void *v = NULL;

    CHECK_EQ_INT(sasl_client_init(NULL), SASL_OK);

    CHECK_EQ_INT(sasl_client_new("imap", "h", NULL, NULL, NULL, 0, NULL),
                 SASL_BADPARAM);
    CHECK_EQ_INT(sasl_client_new(NULL, "h", NULL, NULL, NULL, 0, &conn),
                 SASL_BADPARAM);
    CHECK(conn == NULL);

    /* serverFQDN, iplocalport, ipremoteport and callbacks may all be NULL. */
    CHECK_EQ_INT(sasl_client_new("imap", NULL, NULL, NULL, NULL, 0, &conn),
                 SASL_OK);
    CHECK(conn != NULL);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVERFQDN, &v), SASL_OK);
    CHECK(v == NULL);
    sasl_dispose(&conn);

    /* Valid address strings are accepted at creation time. */
    CHECK_EQ_INT(sasl_client_new("smtp", "Mail.Example.ORG", "127.0.0.1;1234",
                                 "::1;25", NULL, SASL_SUCCESS_DATA, &conn),
                 SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPLOCALPORT, &v), SASL_OK);
    CHECK_EQ_STR(v, "127.0.0.1;1234");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPREMOTEPORT, &v), SASL_OK);
    CHECK_EQ_STR(v, "::1;25");
    /* Cyrus lower-cases the server FQDN. */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVERFQDN, &v), SASL_OK);
    CHECK_EQ_STR(v, "mail.example.org");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVICE, &v), SASL_OK);
    CHECK_EQ_STR(v, "smtp");
    sasl_dispose(&conn);

    cyrus_leaky_bad_address();

    CHECK_EQ_INT(sasl_client_done(), SASL_OK);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    test_before_init(); /* must run first: the library is still pristine */
    test_version();
    test_errstring();
    test_init_done();
    test_client_new_args();
    return check_done();
}
