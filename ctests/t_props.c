/* sasl_getprop / sasl_setprop on client connections. */
#include "check.h"

static void test_fresh_getprop(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const void *v;
    static const int bad[] = { 5, 6, 23, 24, 99, 103, -1, 1000, 0x7fffffff };
    size_t i;

    make_callbacks(cbs, &c);
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "MAIL.Example.Com", NULL, NULL, cbs, 0,
                                 &conn),
                 SASL_OK);

    v = (const void *)1;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_NOTDONE);
    /* NOTDONE sets a detail message */
    CHECK_EQ_STR(sasl_errdetail(conn),
                 "SASL(-6): can't request information until later in exchange: "
                 "Information that was requested is not yet available.");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, &v), SASL_NOTDONE);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MECHNAME, &v), SASL_NOTDONE);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHSOURCE, &v), SASL_NOTDONE);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_DELEGATEDCREDS, &v), SASL_NOTDONE);

    v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
    CHECK(v != NULL && *(const sasl_ssf_t *)v == 0);
    v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MAXOUTBUF, &v), SASL_OK);
    CHECK(v != NULL && *(const unsigned *)v == 0);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVICE, &v), SASL_OK);
    CHECK_EQ_STR(v, "imap");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SERVERFQDN, &v), SASL_OK);
    CHECK_EQ_STR(v, "mail.example.com"); /* lower-cased copy */

    /* IP ports not given: NOTDONE and the value is set to NULL */
    v = (const void *)1;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPLOCALPORT, &v), SASL_NOTDONE);
    CHECK(v == NULL);
    v = (const void *)1;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPREMOTEPORT, &v), SASL_NOTDONE);
    CHECK(v == NULL);

    /* server-only properties on a client connection: SASL_BADPROT */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_APPNAME, &v), SASL_BADPROT);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_DEFUSERREALM, &v), SASL_BADPROT);

    /* SASL_HTTP_REQUEST, never set: SASL_OK and NULL */
    v = (const void *)1;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_HTTP_REQUEST, &v), SASL_OK);
    CHECK(v == NULL);

    /* the callback list is returned as given */
    v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_CALLBACK, &v), SASL_OK);
    CHECK(v == (const void *)cbs);
    /* Cyrus always has a getopt context (its own, even without a
     * SASL_CB_GETOPT entry) */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_GETOPTCTX, &v), SASL_OK);

    /* PLUGERR: the bare last error message (no "SASL(n): ..." prefix) */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_NOTDONE);
    v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_PLUGERR, &v), SASL_OK);
    CHECK(v != NULL);
    CHECK_EQ_STR(v, "Information that was requested is not yet available.");

    v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SEC_PROPS, &v), SASL_OK);
    if (v) {
        const sasl_security_properties_t *p = v;
        CHECK_EQ_INT(p->min_ssf, 0);
        CHECK_EQ_INT(p->max_ssf, 0);
        CHECK_EQ_INT(p->maxbufsize, 0);
        CHECK_EQ_INT(p->security_flags, 0);
    }
    v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF_EXTERNAL, &v), SASL_OK);
    CHECK(v != NULL && *(const sasl_ssf_t *)v == 0);
    v = (const void *)1;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &v), SASL_OK);
    CHECK(v == NULL);

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(sasl_getprop(conn, bad[i], &v), SASL_BADPARAM);
    /* SASL_CHANNEL_BINDING can be set but not read back */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_CHANNEL_BINDING, &v), SASL_BADPARAM);

    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_getprop(NULL, SASL_USERNAME, &v), SASL_BADPARAM);
    sasl_dispose(&conn);

    /* NULL callback list reads back as NULL */
    conn = new_conn(NULL);
    v = (const void *)1;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_CALLBACK, &v), SASL_OK);
    CHECK(v == NULL);
    sasl_dispose(&conn);
}

static void test_after_auth(void)
{
    struct creds c = { .authname = "tim", .user = "boss", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out, *mech;
    unsigned outlen;
    const void *v;

    /* without security properties the max output buffer stays 0 */
    conn = new_conn(make_callbacks(cbs, &c));
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR(v, "boss");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, &v), SASL_OK);
    CHECK_EQ_STR(v, "tim");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MECHNAME, &v), SASL_OK);
    CHECK_EQ_STR(v, "PLAIN");
    /* name of the plug-in that provided the mechanism (Cyrus: "plain") */
    v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHSOURCE, &v), SASL_OK);
    CHECK(v != NULL && ((const char *)v)[0] != '\0');
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MAXOUTBUF, &v), SASL_OK);
    CHECK(v && *(const unsigned *)v == 0);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
    CHECK(v && *(const sasl_ssf_t *)v == 0);
    sasl_dispose(&conn);

    /* with maxbufsize set, a layer-less mech's maxoutbuf is the app's
     * maxbufsize */
    conn = new_conn(cbs);
    set_secprops(conn, 0, 256, 4096, 0);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MAXOUTBUF, &v), SASL_OK);
    CHECK(v && *(const unsigned *)v == 0); /* not before completion */
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MAXOUTBUF, &v), SASL_OK);
    CHECK(v && *(const unsigned *)v == 4096);
    sasl_dispose(&conn);

    /* the mechanism name is known as soon as start picked it */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MECHNAME, &v), SASL_OK);
    CHECK_EQ_STR(v, "CRAM-MD5");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_NOTDONE);
    sasl_dispose(&conn);
}

static void test_setprop(void)
{
    sasl_conn_t *conn = new_conn(NULL);
    const void *v;
    sasl_security_properties_t p, *pp;
    sasl_ssf_t ssf;

    /* unknown / read-only / server-only */
    CHECK_EQ_INT(sasl_setprop(conn, 999, "x"), SASL_BADPARAM);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-7): invalid parameter supplied");
    if (!is_rust_impl())
        CHECK_EQ_STR(sasl_errdetail(conn),
                     "SASL(-7): invalid parameter supplied: Unknown parameter type");
    CHECK_EQ_INT(sasl_setprop(conn, -1, "x"), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_USERNAME, "x"), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SSF, &(sasl_ssf_t){ 1 }), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_MECHNAME, "PLAIN"), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_APPNAME, "app"), SASL_BADPROT);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_DEFUSERREALM, "realm"), SASL_BADPROT);
    CHECK_EQ_INT(sasl_setprop(NULL, SASL_SEC_PROPS, &p), SASL_BADPARAM);

    /* SEC_PROPS is copied */
    memset(&p, 0, sizeof p);
    p.min_ssf = 0;
    p.max_ssf = 256;
    p.maxbufsize = 8192;
    p.security_flags = SASL_SEC_NOANONYMOUS;
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SEC_PROPS, &p), SASL_OK);
    p.maxbufsize = 1;
    p.security_flags = 0;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SEC_PROPS, &v), SASL_OK);
    pp = (sasl_security_properties_t *)v;
    CHECK(pp != NULL && pp != &p);
    if (pp) {
        CHECK_EQ_INT(pp->max_ssf, 256);
        CHECK_EQ_INT(pp->maxbufsize, 8192);
        CHECK_EQ_INT(pp->security_flags, SASL_SEC_NOANONYMOUS);
    }
    /* min_ssf > 0 with maxbufsize == 0 is refused */
    memset(&p, 0, sizeof p);
    p.min_ssf = 1;
    p.max_ssf = 256;
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SEC_PROPS, &p), SASL_TOOWEAK);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-15): mechanism too weak for this user: ");
    if (!is_rust_impl())
        CHECK_EQ_STR(sasl_errdetail(conn),
                     "SASL(-15): mechanism too weak for this user: Attempt to "
                     "disable security layers (maxoutbuf == 0) with min_ssf > 0");
    /* ... and leaves the previous value in place */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SEC_PROPS, &v), SASL_OK);
    CHECK(v && ((const sasl_security_properties_t *)v)->maxbufsize == 8192);

    /* SSF_EXTERNAL takes a sasl_ssf_t * */
    ssf = 112;
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf), SASL_OK);
    ssf = 1;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF_EXTERNAL, &v), SASL_OK);
    CHECK(v && *(const sasl_ssf_t *)v == 112);

    /* AUTH_EXTERNAL takes a const char * and copies it */
    {
        char name[] = "cn=copy";
        CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, name), SASL_OK);
        name[0] = 'X';
        CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &v), SASL_OK);
        CHECK_EQ_STR(v, "cn=copy");
        CHECK(v != (const void *)name);
        CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=other"), SASL_OK);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &v), SASL_OK);
        CHECK_EQ_STR(v, "cn=other");
    }

    /* channel binding: settable (pointer kept, caller owns memory), NULL
     * clears */
    {
        static const unsigned char data[4] = { 1, 2, 3, 4 };
        sasl_channel_binding_t cb = { "tls-server-end-point", 0, 4, data };
        CHECK_EQ_INT(sasl_setprop(conn, SASL_CHANNEL_BINDING, &cb), SASL_OK);
        CHECK_EQ_INT(sasl_setprop(conn, SASL_CHANNEL_BINDING, NULL), SASL_OK);
    }
    sasl_dispose(&conn);

    if (is_rust_impl()) {
        /* Cyrus dereferences these NULL values and crashes. */
        conn = new_conn(NULL);
        CHECK_EQ_INT(sasl_setprop(conn, SASL_SEC_PROPS, NULL), SASL_BADPARAM);
        CHECK_EQ_INT(sasl_setprop(conn, SASL_SSF_EXTERNAL, NULL), SASL_BADPARAM);
        sasl_dispose(&conn);
    }
}

static void test_ip_props(void)
{
    static const struct { const char *s; int ok; } tab[] = {
        { "127.0.0.1;25", 1 },
        { "127.0.0.1", 1 },        /* port optional */
        { "127.0.0.1;", 1 },       /* empty port accepted */
        { "::1;25", 1 },
        { "2001:db8::1;143", 1 },
        { "10.1.2.3;65535", 1 },
        { "[::1];25", 0 },         /* no brackets */
        { "127.0.0.1;2a", 0 },     /* port must be digits */
        { "127.0.0.1:25", 0 },     /* separator is ';' */
        { "bogus;25", 0 },         /* numeric hosts only */
        { "mail.example.com;25", 0 },
        { "1.2.3.4.5;1", 0 },
        { "", 0 },
    };
    sasl_conn_t *conn = new_conn(NULL);
    const void *v;
    size_t i;

    for (i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        int r = sasl_setprop(conn, SASL_IPLOCALPORT, tab[i].s);
        if (r != (tab[i].ok ? SASL_OK : SASL_BADPARAM))
            fprintf(stderr, "IPLOCALPORT \"%s\"\n", tab[i].s);
        CHECK_EQ_INT(r, tab[i].ok ? SASL_OK : SASL_BADPARAM);
        r = sasl_setprop(conn, SASL_IPREMOTEPORT, tab[i].s);
        if (r != (tab[i].ok ? SASL_OK : SASL_BADPARAM))
            fprintf(stderr, "IPREMOTEPORT \"%s\"\n", tab[i].s);
        CHECK_EQ_INT(r, tab[i].ok ? SASL_OK : SASL_BADPARAM);
    }
    /* a rejected value leaves the previous one in place */
    CHECK_EQ_INT(sasl_setprop(conn, SASL_IPLOCALPORT, "192.0.2.1;1234"), SASL_OK);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_IPLOCALPORT, "nope"), SASL_BADPARAM);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-7): invalid parameter supplied: ");
    if (!is_rust_impl())
        CHECK_EQ_STR(sasl_errdetail(conn),
                     "SASL(-7): invalid parameter supplied: Bad IPLOCALPORT value");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPLOCALPORT, &v), SASL_OK);
    CHECK_EQ_STR(v, "192.0.2.1;1234");
    CHECK_EQ_INT(sasl_setprop(conn, SASL_IPREMOTEPORT, "192.0.2.2;25"), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPREMOTEPORT, &v), SASL_OK);
    CHECK_EQ_STR(v, "192.0.2.2;25");
    /* NULL unsets */
    CHECK_EQ_INT(sasl_setprop(conn, SASL_IPLOCALPORT, NULL), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPLOCALPORT, &v), SASL_NOTDONE);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_IPREMOTEPORT, NULL), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_IPREMOTEPORT, &v), SASL_NOTDONE);
    sasl_dispose(&conn);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(NULL);
    test_fresh_getprop();
    test_after_auth();
    test_setprop();
    test_ip_props();
    sasl_client_done();
    return check_done();
}
