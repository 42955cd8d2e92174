/* Known-answer tests for the simple mechanisms: LOGIN, CRAM-MD5 (RFC 2195),
 * ANONYMOUS and EXTERNAL. */
#include "check.h"

static int count_prompts(const sasl_interact_t *p)
{
    int n = 0;
    for (; p && p->id != SASL_CB_LIST_END; p++)
        n++;
    return n;
}

static void fill(sasl_interact_t *p, unsigned long id, const char *value)
{
    for (; p && p->id != SASL_CB_LIST_END; p++)
        if (p->id == id) {
            p->result = value;
            p->len = (unsigned)strlen(value);
        }
}

static void check_names(sasl_conn_t *conn, const char *user,
                        const char *authid, const char *mechname)
{
    const void *v = NULL;
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR(v, user);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, &v), SASL_OK);
    CHECK_EQ_STR(v, authid);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_MECHNAME, &v), SASL_OK);
    CHECK_EQ_STR(v, mechname);
}

/* ------------------------------------------------------------------ LOGIN */

static void test_login(void)
{
    /* The authzid callback is ignored by LOGIN: it authorises as authcid. */
    struct creds c = { .authname = "tim", .user = "admin", .pass = "secret" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = (const char *)1, *mech = NULL;
    unsigned outlen = 99;
    const void *v;

    conn = new_conn(make_callbacks(cbs, &c));
    /* LOGIN is server-first: no initial response even with clientout. */
    CHECK_EQ_INT(sasl_client_start(conn, "LOGIN", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_STR(mech, "LOGIN");
    CHECK(out == NULL);
    CHECK_EQ_INT(outlen, 0);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_NOTDONE);
    CHECK_EQ_INT(sasl_client_step(conn, "Username:", 9, NULL, &out, &outlen),
                 SASL_CONTINUE);
    CHECK_EQ_MEM(out, outlen, "tim", 3);
    CHECK_EQ_INT(sasl_client_step(conn, "Password:", 9, NULL, &out, &outlen),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "secret", 6);
    check_names(conn, "tim", "tim", "LOGIN");
    CHECK_EQ_INT(c.n_user, 0);
    /* done: further steps fail */
    CHECK_EQ_INT(sasl_client_step(conn, "x", 1, NULL, &out, &outlen), SASL_FAIL);
    sasl_dispose(&conn);

    /* The challenge text is ignored; empty challenges are fine. */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "LOGIN", NULL, NULL, NULL, NULL),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen),
                 SASL_CONTINUE);
    CHECK_EQ_MEM(out, outlen, "tim", 3);
    CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "secret", 6);
    sasl_dispose(&conn);

    /* A NULL server challenge is a protocol error at either step. */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "LOGIN", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, NULL, 0, NULL, &out, &outlen),
                 SASL_BADPROT);
    sasl_dispose(&conn);
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "LOGIN", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "Username:", 9, NULL, &out, &outlen),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, NULL, 0, NULL, &out, &outlen),
                 SASL_BADPROT);
    sasl_dispose(&conn);
}

static void test_login_interact(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, NULL, NULL },
        { SASL_CB_USER, NULL, NULL },
        { SASL_CB_PASS, NULL, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_conn_t *conn;
    sasl_interact_t *prompts = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    int r, asked_pass_early = 0;

    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "LOGIN", &prompts, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK(prompts == NULL);
    /* Cyrus: step 1 asks only for the authentication name, step 2 only for
     * the password.  (Asking for both at step 1 works the same for an
     * application that answers every prompt it is given; sasl2-rs may.) */
    CHECK_EQ_INT(sasl_client_step(conn, "Username:", 9, &prompts, &out, &outlen),
                 SASL_INTERACT);
    CHECK(prompts != NULL && prompts[0].id == SASL_CB_AUTHNAME);
    if (is_rust_impl()) {
        CHECK(count_prompts(prompts) == 1 || count_prompts(prompts) == 2);
        asked_pass_early = count_prompts(prompts) == 2;
    } else {
        CHECK_EQ_INT(count_prompts(prompts), 1);
    }
    fill(prompts, SASL_CB_AUTHNAME, "tim");
    fill(prompts, SASL_CB_PASS, "tanstaaf");
    CHECK_EQ_INT(sasl_client_step(conn, "Username:", 9, &prompts, &out, &outlen),
                 SASL_CONTINUE);
    CHECK_EQ_MEM(out, outlen, "tim", 3);
    CHECK(prompts == NULL);
    r = sasl_client_step(conn, "Password:", 9, &prompts, &out, &outlen);
    if (!asked_pass_early) {
        CHECK_EQ_INT(r, SASL_INTERACT);
        CHECK_EQ_INT(count_prompts(prompts), 1);
        if (prompts)
            CHECK_EQ_INT(prompts[0].id, SASL_CB_PASS);
        fill(prompts, SASL_CB_PASS, "tanstaaf");
        r = sasl_client_step(conn, "Password:", 9, &prompts, &out, &outlen);
    }
    CHECK_EQ_INT(r, SASL_OK);
    CHECK_EQ_MEM(out, outlen, "tanstaaf", 8);
    CHECK(prompts == NULL);
    check_names(conn, "tim", "tim", "LOGIN");
    sasl_dispose(&conn);
}

/* --------------------------------------------------------------- CRAM-MD5 */

static const char rfc2195_chal[] = "<1896.697170952@postoffice.reston.mci.net>";

static void test_cram(void)
{
    struct creds c = { .authname = "tim", .user = "ignored", .pass = "tanstaaftanstaaf" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = (const char *)1, *mech = NULL;
    unsigned outlen = 99;
    char big[1100];

    conn = new_conn(make_callbacks(cbs, &c));
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_STR(mech, "CRAM-MD5");
    CHECK(out == NULL);
    CHECK_EQ_INT(outlen, 0);
    CHECK_EQ_INT(sasl_client_step(conn, rfc2195_chal, sizeof rfc2195_chal - 1,
                                  NULL, &out, &outlen),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "tim b913a602c7eda7a495b4e6e7334d3890", 36);
    check_names(conn, "tim", "tim", "CRAM-MD5");
    CHECK_EQ_INT(c.n_user, 0);
    sasl_dispose(&conn);

    /* An empty challenge: Cyrus answers with HMAC-MD5(password, ""), a fixed
     * response an attacker could precompute against; sasl2-rs refuses it
     * (deliberate difference, see README). */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    if (is_rust_impl()) {
        CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen), SASL_BADPROT);
    } else {
        CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen), SASL_OK);
        CHECK_EQ_MEM(out, outlen, "tim ba0016591d612662348b20bcd7f4439a", 36);
    }
    sasl_dispose(&conn);

    /* Challenges longer than 1024 bytes are refused. */
    memset(big, 'a', sizeof big);
    big[sizeof big - 1] = '\0';
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, big, 1025, NULL, &out, &outlen),
                 SASL_BADPROT);
    sasl_dispose(&conn);
    /* ... exactly 1024 is fine */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    big[1024] = '\0';
    CHECK_EQ_INT(sasl_client_step(conn, big, 1024, NULL, &out, &outlen), SASL_OK);
    CHECK(outlen == 36);
    sasl_dispose(&conn);
}

static void test_cram_interact(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, NULL, NULL },
        { SASL_CB_PASS, NULL, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_conn_t *conn;
    sasl_interact_t *prompts = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", &prompts, &out, &outlen,
                                   &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, rfc2195_chal, sizeof rfc2195_chal - 1,
                                  &prompts, &out, &outlen),
                 SASL_INTERACT);
    CHECK_EQ_INT(count_prompts(prompts), 2);
    fill(prompts, SASL_CB_AUTHNAME, "tim");
    fill(prompts, SASL_CB_PASS, "tanstaaftanstaaf");
    CHECK_EQ_INT(sasl_client_step(conn, rfc2195_chal, sizeof rfc2195_chal - 1,
                                  &prompts, &out, &outlen),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "tim b913a602c7eda7a495b4e6e7334d3890", 36);
    CHECK(prompts == NULL);
    sasl_dispose(&conn);
}

/* -------------------------------------------------------------- ANONYMOUS */

/* ANONYMOUS and EXTERNAL, as Cyrus's: the authzid through one SASL_CB_USER
 * prompt offering "" by default, answered with `answer`; the connection
 * (with `external` as its external identity, if any) after the start that
 * completes. */
static sasl_conn_t *start_after_authzid_prompt(const char *mech, const char *external, const char *answer,
                                               const char **out, unsigned *outlen)
{
    sasl_callback_t icbs[] = {
        { SASL_CB_USER, NULL, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_interact_t *prompts = NULL;
    const char *chosen = NULL;
    sasl_conn_t *conn = new_conn(icbs);
    if (external)
        CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, external), SASL_OK);
    CHECK_EQ_INT(sasl_client_start(conn, mech, &prompts, out, outlen, &chosen), SASL_INTERACT);
    CHECK_EQ_INT(count_prompts(prompts), 1);
    if (prompts) {
        CHECK_EQ_INT(prompts[0].id, SASL_CB_USER);
        CHECK_EQ_STR(prompts[0].defresult, "");
    }
    fill(prompts, SASL_CB_USER, answer);
    CHECK_EQ_INT(sasl_client_start(conn, mech, &prompts, out, outlen, &chosen), SASL_OK);
    return conn;
}

static void test_anonymous(void)
{
    char host[256], want[512];
    struct creds c = { .authname = "tim", .user = "trace@example.org" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    memset(host, 0, sizeof host);
    gethostname(host, sizeof host - 1);

    /* No callbacks at all: ANONYMOUS needs no prompts.  Cyrus sends
     * "anonymous@<gethostname()>" as the trace token. */
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "ANONYMOUS", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_STR(mech, "ANONYMOUS");
    snprintf(want, sizeof want, "anonymous@%s", host);
    CHECK_EQ_MEM(out, outlen, want, strlen(want));
    check_names(conn, "anonymous", "anonymous", "ANONYMOUS");
    sasl_dispose(&conn);

    /* The SASL_CB_USER value is the trace, still suffixed with @host. */
    conn = new_conn(make_callbacks(cbs, &c));
    CHECK_EQ_INT(sasl_client_start(conn, "ANONYMOUS", NULL, &out, &outlen, &mech),
                 SASL_OK);
    snprintf(want, sizeof want, "trace@example.org@%s", host);
    CHECK_EQ_MEM(out, outlen, want, strlen(want));
    check_names(conn, "anonymous", "anonymous", "ANONYMOUS");
    CHECK_EQ_INT(c.n_authname, 0);
    sasl_dispose(&conn);

    /* Without clientout: the response comes from the first (empty) step;
     * a non-empty server challenge is a protocol error. */
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "ANONYMOUS", NULL, NULL, NULL, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen), SASL_OK);
    snprintf(want, sizeof want, "anonymous@%s", host);
    CHECK_EQ_MEM(out, outlen, want, strlen(want));
    sasl_dispose(&conn);
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "ANONYMOUS", NULL, NULL, NULL, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "x", 1, NULL, &out, &outlen),
                 SASL_BADPROT);
    sasl_dispose(&conn);

    /* Interaction: one SASL_CB_USER prompt with an empty default. */
    conn = start_after_authzid_prompt("ANONYMOUS", NULL, "me", &out, &outlen);
    snprintf(want, sizeof want, "me@%s", host);
    CHECK_EQ_MEM(out, outlen, want, strlen(want));
    sasl_dispose(&conn);
}

/* --------------------------------------------------------------- EXTERNAL */

static void test_external(void)
{
    struct creds c = { .authname = "tim", .user = "admin" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *v = NULL;
    sasl_ssf_t ssf = 256;

    /* Without an external identity EXTERNAL cannot be used. */
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &v), SASL_OK);
    CHECK(v == NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", NULL, &out, &outlen, &mech),
                 SASL_NOMECH);
    sasl_dispose(&conn);

    /* With one (value is a const char *), no callbacks needed: empty
     * authzid response (non-NULL, zero length). */
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=client,o=example"),
                 SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &v), SASL_OK);
    CHECK_EQ_STR(v, "cn=client,o=example");
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF_EXTERNAL, &v), SASL_OK);
    CHECK(v != NULL && *(const sasl_ssf_t *)v == 256);
    out = NULL;
    outlen = 99;
    CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_STR(mech, "EXTERNAL");
    CHECK(out != NULL);
    CHECK_EQ_INT(outlen, 0);
    check_names(conn, "cn=client,o=example", "cn=client,o=example", "EXTERNAL");
    /* the mechanism itself provides no layer */
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
    CHECK(v != NULL && *(const sasl_ssf_t *)v == 0);
    sasl_dispose(&conn);

    /* With an authzid from SASL_CB_USER it is sent as the response. */
    conn = new_conn(make_callbacks(cbs, &c));
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=client"), SASL_OK);
    CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "admin", 5);
    check_names(conn, "admin", "cn=client", "EXTERNAL");
    CHECK_EQ_INT(c.n_authname, 0);
    sasl_dispose(&conn);

    /* Interaction: one SASL_CB_USER prompt with an empty default. */
    conn = start_after_authzid_prompt("EXTERNAL", "cn=client", "admin", &out, &outlen);
    CHECK_EQ_MEM(out, outlen, "admin", 5);
    check_names(conn, "admin", "cn=client", "EXTERNAL");
    sasl_dispose(&conn);

    /* Setting NULL or "" clears the identity again. */
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=client"), SASL_OK);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, NULL), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &v), SASL_OK);
    CHECK(v == NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", NULL, &out, &outlen, &mech),
                 SASL_NOMECH);
    sasl_dispose(&conn);
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=client"), SASL_OK);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, ""), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &v), SASL_OK);
    CHECK(v == NULL);
    sasl_dispose(&conn);

    /* Server-first style: start without clientout, then an empty step;
     * a non-empty challenge is a protocol error. */
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=client"), SASL_OK);
    CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", NULL, NULL, NULL, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen), SASL_OK);
    CHECK(out != NULL);
    CHECK_EQ_INT(outlen, 0);
    sasl_dispose(&conn);
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=client"), SASL_OK);
    CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", NULL, NULL, NULL, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "x", 1, NULL, &out, &outlen),
                 SASL_BADPROT);
    sasl_dispose(&conn);

    /* Interaction for the authzid. */
    {
        sasl_callback_t icbs[] = {
            { SASL_CB_USER, NULL, NULL },
            { SASL_CB_LIST_END, NULL, NULL },
        };
        sasl_interact_t *prompts = NULL;
        conn = new_conn(icbs);
        CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cn=client"), SASL_OK);
        CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", &prompts, &out,
                                       &outlen, &mech),
                     SASL_INTERACT);
        CHECK_EQ_INT(count_prompts(prompts), 1);
        if (prompts)
            CHECK_EQ_INT(prompts[0].id, SASL_CB_USER);
        fill(prompts, SASL_CB_USER, "bob");
        CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", &prompts, &out,
                                       &outlen, &mech),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "bob", 3);
        check_names(conn, "bob", "cn=client", "EXTERNAL");
        sasl_dispose(&conn);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(NULL);
    test_login();
    test_login_interact();
    test_cram();
    test_cram_interact();
    test_anonymous();
    test_external();
    sasl_client_done();
    return check_done();
}
