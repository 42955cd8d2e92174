/* How the library calls the application, as real programs write their
 * callbacks rather than as sasl.h declares them: Subversion's `size_t *len`,
 * mutt's strlen + 1 prompt answers, Perl's realm callback returning 1,
 * php-ldap's unanswered realm prompt, canon_user callbacks (librdkafka,
 * mongo-c-driver), Latin-1 user names, scoped IPv6 addresses from
 * getnameinfo, several GETOPT entries, a registered SASL_CB_CNONCE, the
 * mechanism name after a failed start, sasl_seterror inside a callback,
 * libvirt freeing the callback array after authentication, and every name
 * answered from one static buffer. */
#include "check.h"

#define FQDN "mail.example.com"

/* ------------------------------------------------------------ helpers */

/* The global list given to sasl_client_init: one GETOPT whose answers the
 * tests set (NULL: it fails). */
static const char *g_global_mechlist;
static int g_global_getopt_calls;

static int global_getopt(void *ctx, const char *plugin, const char *option,
                         const char **result, unsigned *len)
{
    (void)ctx;
    if (plugin == NULL && strcmp(option, "client_mech_list") == 0)
        g_global_getopt_calls++;
    if (plugin != NULL || strcmp(option, "client_mech_list") != 0 ||
        !g_global_mechlist)
        return SASL_FAIL;
    *result = g_global_mechlist;
    if (len)
        *len = (unsigned)strlen(g_global_mechlist);
    return SASL_OK;
}

static int getsecret_pw(sasl_conn_t *conn, void *ctx, int id,
                        sasl_secret_t **psecret)
{
    static union {
        sasl_secret_t s;
        unsigned char raw[sizeof(sasl_secret_t) + 8];
    } u;
    (void)conn;
    (void)ctx;
    (void)id;
    u.s.len = 2;
    memcpy(u.s.data, "pw", 3);
    *psecret = &u.s;
    return SASL_OK;
}

/* The value of `key` in a DIGEST-MD5 response (quotes removed) into buf. */
static const char *digest_get(const char *s, unsigned len, const char *key,
                              char *buf, size_t bufsize)
{
    unsigned i = 0;
    size_t klen = strlen(key);
    while (i < len) {
        unsigned start = i, v = 0;
        int quoted;
        while (i < len && s[i] != '=')
            i++;
        if (i >= len)
            return NULL;
        quoted = i + 1 < len && s[i + 1] == '"';
        int match = i - start == klen && memcmp(s + start, key, klen) == 0;
        i += quoted ? 2 : 1;
        while (i < len && (quoted ? s[i] != '"' : s[i] != ',')) {
            if (quoted && s[i] == '\\' && i + 1 < len)
                i++;
            if (match && v + 1 < bufsize)
                buf[v++] = s[i];
            i++;
        }
        if (quoted)
            i++;
        if (i < len && s[i] == ',')
            i++;
        if (match) {
            buf[v] = '\0';
            return buf;
        }
    }
    return NULL;
}

static const char *two_realms =
    "realm=\"r1.example.com\",realm=\"r2.example.com\",nonce=\"OA6MG9tEQGm2hh\","
    "qop=\"auth\",algorithm=md5-sess,charset=utf-8";
static const char *one_realm =
    "realm=\"only.example.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
    "algorithm=md5-sess,charset=utf-8";
static const char *no_realm =
    "nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8";

/* DIGEST-MD5 up to the client's response; returns the step result and
 * leaves the response in out/outlen. */
static int digest_response(sasl_conn_t *conn, const char *challenge,
                           sasl_interact_t **prompts, const char **out,
                           unsigned *outlen)
{
    const char *mech = NULL;
    int r;
    /* No clientout: Cyrus would try its reauthentication cache. */
    if (!prompts || !*prompts) {
        r = sasl_client_start(conn, "DIGEST-MD5", NULL, NULL, NULL, &mech);
        CHECK_EQ_INT(r, SASL_CONTINUE);
        CHECK_EQ_STR(mech, "DIGEST-MD5");
    }
    return sasl_client_step(conn, challenge, (unsigned)strlen(challenge),
                            prompts, out, outlen);
}

/* The first realm-prompt round: Cyrus's DIGEST-MD5 leaks the prompt's
 * challenge text (the prompt list it hands out is the caller's). */
static int cyrus_leaky_realm_prompt(sasl_conn_t *conn, const char *challenge,
                                    sasl_interact_t **prompts,
                                    const char **out, unsigned *outlen)
{
    return digest_response(conn, challenge, prompts, out, outlen);
}

static sasl_conn_t *conn_for(const sasl_callback_t *cbs, const char *fqdn)
{
    sasl_conn_t *conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", fqdn, NULL, NULL, cbs, 0, &conn),
                 SASL_OK);
    return conn;
}

static const sasl_interact_t *find_prompt(const sasl_interact_t *p,
                                          unsigned long id)
{
    for (; p && p->id != SASL_CB_LIST_END; p++)
        if (p->id == id)
            return p;
    return NULL;
}

/* ------------------------------------------- 1. size_t lengths (svn) */

/* Subversion's callbacks (libsvn_ra_svn/cyrus_auth.c) take `size_t *len`
 * and store 8 bytes through it when it is not NULL. */
struct svn_baton {
    const char *name;
    int calls, len_given;
};

static int svn_getsimple(void *ctx, int id, const char **result, size_t *len)
{
    struct svn_baton *b = ctx;
    (void)id;
    b->calls++;
    *result = b->name;
    if (len) {
        b->len_given++;
        *len = strlen(b->name);
    }
    return SASL_OK;
}

static int svn_getopt(void *ctx, const char *plugin, const char *option,
                      const char **result, size_t *len)
{
    struct svn_baton *b = ctx;
    (void)plugin;
    (void)option;
    b->calls++;
    if (len) {
        b->len_given++;
        *len = 0;
    }
    *result = NULL;
    return SASL_FAIL;
}

static void test_size_t_lengths(void)
{
    struct svn_baton user = { "alice", 0, 0 }, opt = { NULL, 0, 0 };
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, CB(svn_getsimple), &user },
        { SASL_CB_USER, CB(svn_getsimple), &user },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_GETOPT, CB(svn_getopt), &opt },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    char v[64];
    sasl_conn_t *conn = conn_for(cbs, FQDN);

    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    /* Cyrus sends the authzid although it equals the authid; sasl2-rs
     * leaves it out (README: deliberate differences). */
    if (is_rust_impl())
        CHECK_EQ_MEM(out, outlen, "\0alice\0pw", 9);
    else
        CHECK_EQ_MEM(out, outlen, "alice\0alice\0pw", 14);
    sasl_dispose(&conn);

    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen),
                 SASL_OK);
    CHECK(outlen == 5 + 1 + 32 && memcmp(out, "alice ", 6) == 0);
    sasl_dispose(&conn);

    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(digest_response(conn, one_realm, NULL, &out, &outlen),
                 SASL_CONTINUE);
    CHECK_EQ_STR(digest_get(out, outlen, "username", v, sizeof v), "alice");
    CHECK(digest_get(out, outlen, "authzid", v, sizeof v) == NULL);
    sasl_dispose(&conn);

    /* SCRAM: Cyrus sends a= for the same name (dovecot may take it for a
     * master-user login); sasl2-rs does not (README). */
    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "SCRAM-SHA-256", NULL, &out, &outlen,
                                   &mech),
                 SASL_CONTINUE);
    if (is_rust_impl())
        CHECK(outlen > 13 && memcmp(out, "n,,n=alice,r=", 13) == 0);
    else
        CHECK(outlen > 20 && memcmp(out, "n,a=alice,n=alice,r=", 20) == 0);
    sasl_dispose(&conn);

    CHECK(user.calls >= 7);
    CHECK(opt.calls >= 1);
    /* Cyrus passes NULL for len and reads the results as C strings. */
    CHECK_EQ_INT(user.len_given, 0);
    CHECK_EQ_INT(opt.len_given, 0);
}

/* ---------------------------------------------------- 2. wrong lengths */

/* Callbacks that report a length other than strlen whenever they can. */
static int plus_one_getsimple(void *ctx, int id, const char **result,
                              unsigned *len)
{
    const char *v = id == SASL_CB_USER ? "bob" : ctx;
    *result = v;
    if (len)
        *len = (unsigned)strlen(v) + 1;
    return SASL_OK;
}

static int plus_one_getopt(void *ctx, const char *plugin, const char *option,
                           const char **result, unsigned *len)
{
    (void)ctx;
    if (plugin || strcmp(option, "client_mech_list") != 0)
        return SASL_FAIL;
    *result = "PLAIN";
    if (len)
        *len = 6;
    return SASL_OK;
}

/* A heap copy of s, exactly strlen + 1 bytes: reading further is an error
 * valgrind reports. */
static char *exact(const char *s)
{
    char *p = malloc(strlen(s) + 1);
    if (!p)
        exit(2);
    memcpy(p, s, strlen(s) + 1);
    return p;
}

static void test_wrong_lengths(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, CB(plus_one_getsimple), "tim" },
        { SASL_CB_USER, CB(plus_one_getsimple), NULL },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_GETOPT, CB(plus_one_getopt), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_callback_t prompt_cbs[] = {
        { SASL_CB_AUTHNAME, NULL, NULL },
        { SASL_CB_USER, NULL, NULL },
        { SASL_CB_PASS, NULL, NULL },
        { SASL_CB_GETREALM, NULL, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_interact_t *prompts = NULL, *p;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    char v[64], *answers[4] = { 0 };
    int r, i = 0;
    sasl_conn_t *conn;

    /* A client_mech_list whose len counts the NUL still names PLAIN. */
    conn = conn_for(cbs, FQDN);
    CHECK(conn != NULL);
    if (conn) {
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        /* no extra NULs after the names */
        CHECK_EQ_MEM(out, outlen, "bob\0tim\0pw", 10);
        sasl_dispose(&conn);
    }

    /* Prompt answers for USER, AUTHNAME and GETREALM are C strings whatever
     * len says (mutt: strlen + 1; here far beyond the buffer); PASS honours
     * len. */
    conn = conn_for(prompt_cbs, FQDN);
    r = sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen, &mech);
    CHECK_EQ_INT(r, SASL_INTERACT);
    for (p = prompts; r == SASL_INTERACT && p && p->id != SASL_CB_LIST_END; p++) {
        const char *value = p->id == SASL_CB_USER ? "bob"
                          : p->id == SASL_CB_AUTHNAME ? "tim" : "pw";
        p->result = answers[i++] = exact(value);
        p->len = p->id == SASL_CB_PASS ? 2 : 64;
    }
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen,
                                   &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "bob\0tim\0pw", 10);
    sasl_dispose(&conn);
    while (i > 0)
        free(answers[--i]);

    /* The same for DIGEST-MD5's realm prompt. */
    conn = conn_for(prompt_cbs, FQDN);
    prompts = NULL;
    r = cyrus_leaky_realm_prompt(conn, two_realms, &prompts, &out, &outlen);
    CHECK_EQ_INT(r, SASL_INTERACT);
    for (p = prompts; r == SASL_INTERACT && p && p->id != SASL_CB_LIST_END; p++) {
        const char *value = p->id == SASL_CB_USER ? "tim"
                          : p->id == SASL_CB_AUTHNAME ? "tim"
                          : p->id == SASL_CB_GETREALM ? "r2.example.com" : "pw";
        p->result = answers[i++] = exact(value);
        p->len = p->id == SASL_CB_PASS ? 2 : 64;
    }
    r = digest_response(conn, two_realms, &prompts, &out, &outlen);
    CHECK_EQ_INT(r, SASL_CONTINUE);
    if (r == SASL_CONTINUE) {
        CHECK_EQ_STR(digest_get(out, outlen, "username", v, sizeof v), "tim");
        CHECK_EQ_STR(digest_get(out, outlen, "realm", v, sizeof v),
                     "r2.example.com");
    }
    sasl_dispose(&conn);
    while (i > 0)
        free(answers[--i]);
}

/* ------------------------------------------------- 3. realm fallbacks */

struct realm_cb {
    int rc;            /* what the callback returns */
    const char *value; /* what it answers */
    int calls;
};

static int getrealm(void *ctx, int id, const char **availrealms,
                    const char **result)
{
    struct realm_cb *c = ctx;
    (void)id;
    c->calls++;
    CHECK(availrealms != NULL && availrealms[0] != NULL &&
          availrealms[1] != NULL && availrealms[2] == NULL);
    *result = c->value;
    return c->rc;
}

static void realm_case(int line, const char *challenge, struct realm_cb *rc,
                       const char *want)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[5];
    const char *out = NULL;
    unsigned outlen = 0;
    char v[64];
    sasl_conn_t *conn;
    int r;

    make_callbacks(cbs, &c);
    if (rc) {
        cbs[2].id = SASL_CB_GETREALM;
        cbs[2].proc = CB(getrealm);
        cbs[2].context = rc;
        cbs[3].id = SASL_CB_LIST_END;
    }
    conn = conn_for(cbs, FQDN);
    r = digest_response(conn, challenge, NULL, &out, &outlen);
    if (r != SASL_CONTINUE)
        fprintf(stderr, "realm_case from line %d: %d %s\n", line, r,
                sasl_errdetail(conn));
    CHECK_EQ_INT(r, SASL_CONTINUE);
    if (r == SASL_CONTINUE)
        CHECK_EQ_STR(digest_get(out, outlen, "realm", v, sizeof v), want);
    sasl_dispose(&conn);
}

static void test_realm_fallbacks(void)
{
    /* Authen::SASL::XS returns 1 (SASL_CONTINUE) from its realm callback. */
    struct realm_cb perl = { 1, "r2.example.com", 0 };
    struct realm_cb failing = { SASL_FAIL, NULL, 0 };
    struct realm_cb null_ok = { SASL_OK, NULL, 0 };
    struct realm_cb picks = { SASL_OK, "r2.example.com", 0 };
    sasl_callback_t prompt_cbs[] = {
        { SASL_CB_AUTHNAME, CB(plus_one_getsimple), "tim" },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_GETREALM, NULL, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_interact_t *prompts = NULL;
    const sasl_interact_t *p;
    const char *out = NULL;
    unsigned outlen = 0;
    char v[64];
    sasl_conn_t *conn;
    int r;

    realm_case(__LINE__, two_realms, &picks, "r2.example.com");
    CHECK_EQ_INT(picks.calls, 1);
    /* a failing callback, one answering NULL, none at all: the server's
     * name, as Cyrus's DIGEST-MD5 does */
    realm_case(__LINE__, two_realms, &perl, FQDN);
    CHECK_EQ_INT(perl.calls, 1);
    realm_case(__LINE__, two_realms, &failing, FQDN);
    realm_case(__LINE__, two_realms, &null_ok, FQDN);
    realm_case(__LINE__, two_realms, NULL, FQDN);
    /* one realm is taken without asking; none means the server's name */
    failing.calls = 0;
    realm_case(__LINE__, one_realm, &failing, "only.example.com");
    CHECK_EQ_INT(failing.calls, 0);
    realm_case(__LINE__, no_realm, &failing, FQDN);
    CHECK_EQ_INT(failing.calls, 0);

    /* php-ldap leaves the realm prompt's result NULL. */
    conn = conn_for(prompt_cbs, FQDN);
    r = cyrus_leaky_realm_prompt(conn, two_realms, &prompts, &out, &outlen);
    CHECK_EQ_INT(r, SASL_INTERACT);
    p = find_prompt(prompts, SASL_CB_GETREALM);
    CHECK(p != NULL);
    if (p) {
        /* the default offered is the server's name */
        CHECK_EQ_STR(p->defresult, FQDN);
        CHECK_CONTAINS(p->challenge, "{r1.example.com}");
        CHECK_CONTAINS(p->challenge, "{r2.example.com}");
    }
    r = digest_response(conn, two_realms, &prompts, &out, &outlen);
    CHECK_EQ_INT(r, SASL_CONTINUE);
    if (r == SASL_CONTINUE)
        CHECK_EQ_STR(digest_get(out, outlen, "realm", v, sizeof v), FQDN);
    sasl_dispose(&conn);
}

/* ------------------------------------------------------ 4. canon_user */

struct canon_call {
    char in[64];
    unsigned inlen, flags, out_max;
    int realm_null, conn_ok;
};

struct canon_log {
    sasl_conn_t *conn;
    const char *prefix; /* the result is prefix + in */
    int fail;           /* return this instead, when non-zero */
    int n;
    struct canon_call call[8];
};

static int cb_canon(sasl_conn_t *conn, void *ctx, const char *in,
                    unsigned inlen, unsigned flags, const char *user_realm,
                    char *out, unsigned out_max, unsigned *out_len)
{
    struct canon_log *l = ctx;
    if (l->n < 8) {
        struct canon_call *c = &l->call[l->n];
        snprintf(c->in, sizeof c->in, "%.*s", (int)inlen, in);
        c->inlen = inlen;
        c->flags = flags;
        c->out_max = out_max;
        c->realm_null = user_realm == NULL;
        c->conn_ok = conn == l->conn;
    }
    l->n++;
    if (l->fail)
        return l->fail;
    /* as librdkafka does: snprintf into the buffer, length returned */
    *out_len = (unsigned)snprintf(out, out_max, "%s%.*s", l->prefix, (int)inlen,
                                  in);
    return SASL_OK;
}

static void check_call(int line, struct canon_log *l, int i, const char *in,
                       unsigned flags)
{
    struct canon_call *c = &l->call[i];
    if (i >= l->n) {
        ct_fail(__FILE__, line, "canon_user call %d missing", i);
        return;
    }
    if (strcmp(c->in, in) != 0 || c->flags != flags)
        ct_fail(__FILE__, line, "canon_user call %d: got (\"%s\", %u), "
                "expected (\"%s\", %u)", i, c->in, c->flags, in, flags);
    CHECK_EQ_INT(c->inlen, strlen(in));
    CHECK_EQ_INT(c->out_max, 1024);
    CHECK(c->realm_null);
    CHECK(c->conn_ok);
}

/* A connection whose canon_user callback logs into l. */
static sasl_conn_t *canon_conn(struct canon_log *l, struct creds *c,
                               sasl_callback_t cbs[6])
{
    int n;
    make_callbacks(cbs, c);
    for (n = 0; cbs[n].id != SASL_CB_LIST_END; n++)
        ;
    cbs[n].id = SASL_CB_CANON_USER;
    cbs[n].proc = CB(cb_canon);
    cbs[n].context = l;
    cbs[n + 1].id = SASL_CB_LIST_END;
    cbs[n + 1].proc = NULL;
    l->conn = conn_for(cbs, FQDN);
    return l->conn;
}

static void test_canon_user(void)
{
    struct creds both = { .authname = "tim", .user = "bob", .pass = "pw" };
    struct creds alone = { .authname = "tim", .pass = "pw" };
    struct creds same = { .authname = "tim", .user = "tim", .pass = "pw" };
    sasl_callback_t cbs[6];
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *prop;
    char v[64];
    sasl_conn_t *conn;

    /* PLAIN asks for the authzid first, then the authid; their results are
     * what is sent and what USERNAME/AUTHUSER report. */
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &both, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "C-bob\0C-tim\0pw", 14);
        CHECK_EQ_INT(l.n, 2);
        check_call(__LINE__, &l, 0, "bob", SASL_CU_AUTHZID);
        check_call(__LINE__, &l, 1, "tim", SASL_CU_AUTHID);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &prop), SASL_OK);
        CHECK_EQ_STR(prop, "C-bob");
        CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, &prop), SASL_OK);
        CHECK_EQ_STR(prop, "C-tim");
        sasl_dispose(&conn);
    }
    /* Without an authzid: one call for both. */
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &alone, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "\0C-tim\0pw", 9);
        CHECK_EQ_INT(l.n, 1);
        check_call(__LINE__, &l, 0, "tim", SASL_CU_AUTHID | SASL_CU_AUTHZID);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &prop), SASL_OK);
        CHECK_EQ_STR(prop, "C-tim");
        sasl_dispose(&conn);
    }
    /* The result is trimmed afterwards, as Cyrus's own canonicaliser does. */
    {
        struct canon_log l = { .prefix = "  " };
        conn = canon_conn(&l, &alone, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "\0tim\0pw", 7);
        sasl_dispose(&conn);
    }
    /* DIGEST-MD5 and SCRAM ask for the authid first. */
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &both, cbs);
        CHECK_EQ_INT(digest_response(conn, one_realm, NULL, &out, &outlen),
                     SASL_CONTINUE);
        CHECK_EQ_STR(digest_get(out, outlen, "username", v, sizeof v), "C-tim");
        CHECK_EQ_STR(digest_get(out, outlen, "authzid", v, sizeof v), "C-bob");
        CHECK_EQ_INT(l.n, 2);
        check_call(__LINE__, &l, 0, "tim", SASL_CU_AUTHID);
        check_call(__LINE__, &l, 1, "bob", SASL_CU_AUTHZID);
        sasl_dispose(&conn);
    }
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &both, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "SCRAM-SHA-256", NULL, &out,
                                       &outlen, &mech),
                     SASL_CONTINUE);
        CHECK(outlen > 22 && memcmp(out, "n,a=C-bob,n=C-tim,r=", 20) == 0);
        CHECK_EQ_INT(l.n, 2);
        check_call(__LINE__, &l, 0, "tim", SASL_CU_AUTHID);
        check_call(__LINE__, &l, 1, "bob", SASL_CU_AUTHZID);
        sasl_dispose(&conn);
    }
    /* CRAM-MD5 and LOGIN: the authid, for both. */
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &alone, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen,
                                       &mech),
                     SASL_CONTINUE);
        CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen),
                     SASL_OK);
        CHECK(outlen == 5 + 1 + 32 && memcmp(out, "C-tim ", 6) == 0);
        CHECK_EQ_INT(l.n, 1);
        check_call(__LINE__, &l, 0, "tim", SASL_CU_AUTHID | SASL_CU_AUTHZID);
        sasl_dispose(&conn);
    }
    {
        struct canon_log l = { .prefix = "C-" };
        alone.n_pass = 0;
        conn = canon_conn(&l, &alone, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "LOGIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_CONTINUE);
        CHECK_EQ_INT(sasl_client_step(conn, "Username:", 9, NULL, &out,
                                      &outlen),
                     SASL_CONTINUE);
        CHECK_EQ_MEM(out, outlen, "C-tim", 5);
        check_call(__LINE__, &l, 0, "tim", SASL_CU_AUTHID | SASL_CU_AUTHZID);
        /* The password is asked for when the server prompts for it. */
        CHECK_EQ_INT(alone.n_pass, 0);
        CHECK_EQ_INT(sasl_client_step(conn, "Password:", 9, NULL, &out,
                                      &outlen),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "pw", 2);
        CHECK_EQ_INT(alone.n_pass, 1);
        sasl_dispose(&conn);
    }
    /* EXTERNAL: the authzid, then the external identity; the authzid goes
     * out as the application gave it, SASL_USERNAME is its canonical form. */
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &both, cbs);
        CHECK_EQ_INT(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "ext"), SASL_OK);
        CHECK_EQ_INT(sasl_client_start(conn, "EXTERNAL", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "bob", 3);
        CHECK_EQ_INT(l.n, 2);
        check_call(__LINE__, &l, 0, "bob", SASL_CU_AUTHZID);
        check_call(__LINE__, &l, 1, "ext", SASL_CU_AUTHID);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &prop), SASL_OK);
        CHECK_EQ_STR(prop, "C-bob");
        CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, &prop), SASL_OK);
        CHECK_EQ_STR(prop, "C-ext");
        sasl_dispose(&conn);
    }
    /* ANONYMOUS canonicalises "anonymous"; the trace is sent as given. */
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &both, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "ANONYMOUS", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK(outlen > 4 && memcmp(out, "bob@", 4) == 0);
        CHECK_EQ_INT(l.n, 1);
        check_call(__LINE__, &l, 0, "anonymous",
                   SASL_CU_AUTHID | SASL_CU_AUTHZID);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &prop), SASL_OK);
        CHECK_EQ_STR(prop, "C-anonymous");
        sasl_dispose(&conn);
    }
    /* A failing canon_user callback's code is what the start returns. */
    {
        struct canon_log l = { .prefix = "", .fail = SASL_NOAUTHZ };
        conn = canon_conn(&l, &both, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_NOAUTHZ);
        sasl_dispose(&conn);
    }
    /* The authzid equal to the authid after canonicalisation: Cyrus's PLAIN
     * and SCRAM send it anyway; sasl2-rs leaves it out (README). */
    {
        struct canon_log l = { .prefix = "C-" };
        conn = canon_conn(&l, &same, cbs);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        if (is_rust_impl())
            CHECK_EQ_MEM(out, outlen, "\0C-tim\0pw", 9);
        else
            CHECK_EQ_MEM(out, outlen, "C-tim\0C-tim\0pw", 14);
        sasl_dispose(&conn);
    }
}

/* --------------------------------------------- 5. non-UTF-8 user names */

static void test_latin1_names(void)
{
    /* "tést" and "édith" in ISO 8859-1 */
    struct creds c = { .authname = "t\xe9st", .user = "\xe9" "dith", .pass = "pw" };
    struct creds c2 = { .authname = "t\xe9st", .pass = "pw" };
    sasl_callback_t cbs[4];
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *prop;
    char v[64];
    sasl_conn_t *conn;

    conn = conn_for(make_callbacks(cbs, &c), FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\xe9" "dith\0t\xe9st\0pw", 13);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &prop), SASL_OK);
    CHECK_EQ_STR(prop, "\xe9" "dith");
    CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, &prop), SASL_OK);
    CHECK_EQ_STR(prop, "t\xe9st");
    sasl_dispose(&conn);

    conn = conn_for(make_callbacks(cbs, &c2), FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "SCRAM-SHA-1", NULL, &out, &outlen,
                                   &mech),
                 SASL_CONTINUE);
    CHECK(outlen > 12 && memcmp(out, "n,,n=t\xe9st,r=", 12) == 0);
    sasl_dispose(&conn);

    conn = conn_for(make_callbacks(cbs, &c2), FQDN);
    CHECK_EQ_INT(digest_response(conn, one_realm, NULL, &out, &outlen),
                 SASL_CONTINUE);
    CHECK_EQ_STR(digest_get(out, outlen, "username", v, sizeof v), "t\xe9st");
    sasl_dispose(&conn);

    conn = conn_for(make_callbacks(cbs, &c2), FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen),
                 SASL_OK);
    CHECK(outlen == 4 + 1 + 32 && memcmp(out, "t\xe9st ", 5) == 0);
    sasl_dispose(&conn);
}

/* ------------------------------------------------------ 6. IP strings */

static void test_ip_strings(void)
{
    /* What getaddrinfo(AI_NUMERICHOST) takes: IPv6 with a scope (an
     * interface name for link-local addresses, or a number), the short
     * IPv4 forms of inet_aton; split at the first ';'. */
    static const char *good[] = {
        "fe80::1%lo;143", "fe80::1%1;143", "::1;143", "127.0.0.1;25",
        "127.1;25", "1.2.3.4", "1.2.3.4;", "::ffff:1.2.3.4;80", "::1%1;2",
    };
    static const char *bad[] = {
        "fe80::1%nosuchif0;1", "::1%lo;1", "1.2.3.4;12a", "1.2.3.4;5;6",
        "[::1];1", "host.example.com;1", "1.2.3.4:5", "1.2.3.4; 5",
    };
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        sasl_conn_t *conn = NULL;
        const void *prop = NULL;
        int r = sasl_client_new("imap", FQDN, good[i], good[i], NULL, 0, &conn);
        if (r != SASL_OK)
            fprintf(stderr, "refused %s\n", good[i]);
        CHECK_EQ_INT(r, SASL_OK);
        if (r != SASL_OK)
            continue;
        CHECK_EQ_INT(sasl_getprop(conn, SASL_IPREMOTEPORT, &prop), SASL_OK);
        CHECK_EQ_STR(prop, good[i]);
        CHECK_EQ_INT(sasl_setprop(conn, SASL_IPLOCALPORT, good[i]), SASL_OK);
        sasl_dispose(&conn);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sasl_conn_t *conn = NULL;
        int r;
        r = sasl_client_new("imap", FQDN, NULL, NULL, NULL, 0, &conn);
        CHECK_EQ_INT(r, SASL_OK);
        if (r != SASL_OK)
            continue;
        r = sasl_setprop(conn, SASL_IPREMOTEPORT, bad[i]);
        if (r != SASL_BADPARAM)
            fprintf(stderr, "accepted %s\n", bad[i]);
        CHECK_EQ_INT(r, SASL_BADPARAM);
        sasl_dispose(&conn);
    }
}

/* --------------------------------------------- 7. several GETOPT entries */

struct opt {
    const char *mechlist; /* NULL: answer SASL_OK with a NULL result */
    int rc;
    int calls;
};

static int conn_getopt(void *ctx, const char *plugin, const char *option,
                       const char **result, unsigned *len)
{
    struct opt *o = ctx;
    (void)len;
    if (plugin || strcmp(option, "client_mech_list") != 0)
        return SASL_FAIL;
    o->calls++;
    if (o->rc == SASL_OK)
        *result = o->mechlist;
    return o->rc;
}

static const char *chosen(sasl_callback_t *cbs)
{
    static char name[32];
    sasl_conn_t *conn = conn_for(cbs, FQDN);
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    int r = sasl_client_start(conn, "CRAM-MD5 LOGIN PLAIN ANONYMOUS", NULL,
                              &out, &outlen, &mech);
    CHECK(r == SASL_OK || r == SASL_CONTINUE);
    snprintf(name, sizeof name, "%s", r >= 0 && mech ? mech : "(none)");
    sasl_dispose(&conn);
    return name;
}

static void test_getopt_entries(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    struct opt fails = { NULL, SASL_FAIL, 0 }, plain = { "PLAIN", SASL_OK, 0 };
    struct opt anon = { "ANONYMOUS", SASL_OK, 0 }, null_ok = { NULL, SASL_OK, 0 };
    sasl_callback_t cbs[] = {
        { SASL_CB_GETOPT, CB(conn_getopt), &fails },
        { SASL_CB_GETOPT, CB(conn_getopt), &plain },
        { SASL_CB_AUTHNAME, CB(cb_getsimple), &c },
        { SASL_CB_PASS, CB(cb_getsecret), &c },
        { SASL_CB_LIST_END, NULL, NULL },
    };

    /* the second entry of the connection's list answers */
    CHECK_EQ_STR(chosen(cbs), "PLAIN");
    CHECK_EQ_INT(fails.calls, 1);
    CHECK_EQ_INT(plain.calls, 1);

    /* then the global list */
    cbs[1].context = &fails;
    g_global_mechlist = "LOGIN";
    g_global_getopt_calls = 0;
    CHECK_EQ_STR(chosen(cbs), "LOGIN");
    CHECK_EQ_INT(g_global_getopt_calls, 1);

    /* the connection's answer wins over the global one */
    cbs[1].context = &anon;
    g_global_getopt_calls = 0;
    CHECK_EQ_STR(chosen(cbs), "ANONYMOUS");
    CHECK_EQ_INT(g_global_getopt_calls, 0);

    /* SASL_OK with a NULL result ends the search: no restriction */
    cbs[1].context = &null_ok;
    CHECK_EQ_STR(chosen(cbs), "CRAM-MD5");
    CHECK_EQ_INT(g_global_getopt_calls, 0);
    g_global_mechlist = NULL;
}

/* -------------------------------------------------- 8. SASL_CB_CNONCE */

static int cnonce_calls;

static int getcnonce(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    (void)id;
    cnonce_calls++;
    *result = "fixedfixedfixedfixed";
    if (len)
        *len = 20;
    return SASL_OK;
}

static void test_cnonce_ignored(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, CB(cb_getsimple), &c },
        { SASL_CB_PASS, CB(cb_getsecret), &c },
        { SASL_CB_CNONCE, CB(getcnonce), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    char v[128];
    sasl_conn_t *conn;

    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(digest_response(conn, one_realm, NULL, &out, &outlen),
                 SASL_CONTINUE);
    CHECK(digest_get(out, outlen, "cnonce", v, sizeof v) != NULL);
    CHECK(strstr(v, "fixed") == NULL);
    sasl_dispose(&conn);

    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "SCRAM-SHA-1", NULL, &out, &outlen,
                                   &mech),
                 SASL_CONTINUE);
    CHECK(outlen > 10 && memmem(out, outlen, ",r=fixed", 8) == NULL);
    sasl_dispose(&conn);

    CHECK_EQ_INT(cnonce_calls, 0);
}

/* ------------------------------------------- 9. *mech after a failure */

static int failing_getsimple(void *ctx, int id, const char **result,
                             unsigned *len)
{
    (void)ctx;
    (void)id;
    (void)result;
    (void)len;
    return SASL_FAIL;
}

static void test_mech_after_failed_start(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, CB(failing_getsimple), NULL },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    const char *out = NULL, *mech = "unset";
    unsigned outlen = 0;
    sasl_conn_t *conn;
    int r;

    /* svn reads the name after any failure other than NOMECH, BADPARAM and
     * NOMEM, to take the mechanism off its list and try the next. */
    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_FAIL);
    CHECK_EQ_STR(mech, "PLAIN");
    sasl_dispose(&conn);

    /* chosen, then the mechanism cannot start: an empty server name */
    mech = "unset";
    conn = conn_for(cbs, "");
    r = sasl_client_start(conn, "DIGEST-MD5", NULL, &out, &outlen, &mech);
    CHECK(r == SASL_CONTINUE || r < 0);
    CHECK_EQ_STR(mech, "DIGEST-MD5");
    sasl_dispose(&conn);

    /* nothing chosen: left alone */
    mech = "unset";
    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "NOSUCH", NULL, &out, &outlen, &mech),
                 SASL_NOMECH);
    CHECK_EQ_STR(mech, "unset");
    sasl_dispose(&conn);
}

/* ----------------------------------- 10. sasl_seterror inside a callback */

struct err_ctx {
    sasl_conn_t *conn;
};

static int seterror_getsimple(void *ctx, int id, const char **result,
                              unsigned *len)
{
    struct err_ctx *e = ctx;
    (void)id;
    (void)result;
    (void)len;
    /* the message is bytes: "trousseau de cl\xe9s" is ISO 8859-1 */
    sasl_seterror(e->conn, SASL_NOLOG, "no name in the %s", "cl\xe9s");
    return SASL_FAIL;
}

static int seterror_getsecret(sasl_conn_t *conn, void *ctx, int id,
                              sasl_secret_t **psecret)
{
    (void)ctx;
    (void)id;
    (void)psecret;
    sasl_seterror(conn, SASL_NOLOG, "keyring locked (%d)", 7);
    return SASL_BADAUTH;
}

static int seterror_canon(sasl_conn_t *conn, void *ctx, const char *in,
                          unsigned inlen, unsigned flags,
                          const char *user_realm, char *out, unsigned out_max,
                          unsigned *out_len)
{
    (void)ctx; (void)in; (void)inlen; (void)flags; (void)user_realm;
    (void)out; (void)out_max; (void)out_len;
    sasl_seterror(conn, SASL_NOLOG, "user %s is not allowed", "tim");
    return SASL_NOAUTHZ;
}

static void test_seterror_in_callback(void)
{
    struct err_ctx e = { NULL };
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, CB(seterror_getsimple), &e },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_callback_t pass_cbs[] = {
        { SASL_CB_AUTHNAME, CB(cb_getsimple), &c },
        { SASL_CB_PASS, CB(seterror_getsecret), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_callback_t canon_cbs[] = {
        { SASL_CB_AUTHNAME, CB(cb_getsimple), &c },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_CANON_USER, CB(seterror_canon), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn;

    conn = e.conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_FAIL);
    CHECK_EQ_STR(sasl_errdetail(conn),
                 "SASL(-1): generic failure: no name in the cl\xe9s");
    sasl_dispose(&conn);

    conn = conn_for(pass_cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen),
                 SASL_BADAUTH);
    CHECK_EQ_STR(sasl_errdetail(conn),
                 "SASL(-13): authentication failure: keyring locked (7)");
    sasl_dispose(&conn);

    conn = conn_for(canon_cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_NOAUTHZ);
    CHECK_EQ_STR(sasl_errdetail(conn),
                 "SASL(-14): authorization failure: user tim is not allowed");
    sasl_dispose(&conn);
}

/* -------------------------------------- what must stay as it is */

/* libvirt frees its callback array once authentication is over; encode,
 * decode and dispose must not read it (valgrind would report it). */
static void test_callbacks_freed_after_auth(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t *cbs = malloc(4 * sizeof *cbs);
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn;

    if (!cbs)
        exit(2);
    make_callbacks(cbs, &c);
    conn = conn_for(cbs, FQDN);
    set_secprops(conn, 0, 256, 4096, 0);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    memset(cbs, 0xa5, 4 * sizeof *cbs);
    free(cbs);
    CHECK_EQ_INT(sasl_encode(conn, "hello", 5, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "hello", 5);
    CHECK_EQ_INT(sasl_decode(conn, "world", 5, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "world", 5);
    /* a failing call too: an empty input to encode */
    CHECK_EQ_INT(sasl_encode(conn, "", 0, &out, &outlen), SASL_BADPARAM);
    sasl_dispose(&conn);
}

/* The order callbacks are called in: authentication name, authorization
 * name, password, as Cyrus's mechanisms ask (a client answering each
 * question from a script in turn depends on it). */
static char order_log[64];

static int order_getsimple(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    strncat(order_log, id == SASL_CB_AUTHNAME ? "A" : id == SASL_CB_USER ? "U" : "?",
            sizeof order_log - strlen(order_log) - 1);
    *result = id == SASL_CB_AUTHNAME ? "tim" : "bob";
    if (len)
        *len = 3;
    return SASL_OK;
}

static int order_getsecret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    static sasl_secret_t *secret;
    (void)conn;
    (void)ctx;
    (void)id;
    strncat(order_log, "P", sizeof order_log - strlen(order_log) - 1);
    if (!secret) {
        secret = malloc(sizeof *secret + 2);
        if (!secret)
            exit(2);
        secret->len = 2;
        memcpy(secret->data, "pw", 3);
    }
    *psecret = secret;
    return SASL_OK;
}

static void test_callback_order(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_USER, CB(order_getsimple), NULL },
        { SASL_CB_PASS, CB(order_getsecret), NULL },
        { SASL_CB_AUTHNAME, CB(order_getsimple), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    static const char *const mechs[] = { "PLAIN", "SCRAM-SHA-256" };
    size_t i;

    for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
        const char *out = NULL, *mech = NULL;
        unsigned outlen = 0;
        sasl_conn_t *conn = conn_for(cbs, FQDN);
        int rc;

        order_log[0] = '\0';
        rc = sasl_client_start(conn, mechs[i], NULL, &out, &outlen, &mech);
        CHECK(rc == SASL_OK || rc == SASL_CONTINUE);
        CHECK_EQ_STR(order_log, "AUP");
        sasl_dispose(&conn);
    }
}

/* A callback that answers SASL_INTERACT asks for its item to be prompted
 * for: Cyrus's mechanisms list it in the prompts they hand back. */
static int interact_getsimple(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id == SASL_CB_USER)
        return SASL_INTERACT;
    *result = "tim";
    if (len)
        *len = 3;
    return SASL_OK;
}

static void test_callback_asks_for_a_prompt(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_USER, CB(interact_getsimple), NULL },
        { SASL_CB_AUTHNAME, CB(interact_getsimple), NULL },
        { SASL_CB_PASS, CB(order_getsecret), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    sasl_interact_t *prompts = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn = conn_for(cbs, FQDN);
    int n = 0;

    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen, &mech), SASL_INTERACT);
    CHECK(prompts != NULL);
    for (; prompts && prompts[n].id != SASL_CB_LIST_END; n++) {
        CHECK_EQ_INT(prompts[n].id, SASL_CB_USER);
        prompts[n].result = "bob";
        prompts[n].len = 3;
    }
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen, &mech), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "bob\0tim\0pw", 10);
    sasl_dispose(&conn);
}

/* An application answering every name from one static buffer (old C
 * programs do): each answer is overwritten by the next callback. Cyrus's
 * PLAIN keeps the pointers and sends the last answer twice; this library
 * copies each answer as it comes. */
static char one_buffer[32];

static int one_buffer_getsimple(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    strcpy(one_buffer, id == SASL_CB_USER ? "zid" : "authname");
    *result = one_buffer;
    if (len)
        *len = (unsigned)strlen(one_buffer);
    return SASL_OK;
}

static void test_one_static_buffer(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_USER, CB(one_buffer_getsimple), NULL },
        { SASL_CB_AUTHNAME, CB(one_buffer_getsimple), NULL },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn = conn_for(cbs, FQDN);
    const char *user = NULL, *authid = NULL;

    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech), SASL_OK);
    if (is_rust_impl()) {
        CHECK_EQ_MEM(out, outlen, "zid\0authname\0pw", 15);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, (const void **)&user), SASL_OK);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_AUTHUSER, (const void **)&authid), SASL_OK);
        CHECK_EQ_STR(user, "zid");
        CHECK_EQ_STR(authid, "authname");
    } else {
        CHECK_EQ_MEM(out, outlen, "zid\0zid\0pw", 10);
    }
    sasl_dispose(&conn);
}

/* Interaction needed but no prompt_need to hand the prompts out through. */
static void test_null_prompt_need(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, NULL, NULL },
        { SASL_CB_PASS, CB(getsecret_pw), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn;

    /* Cyrus's plugins write the prompt list through the NULL pointer. */
    if (!is_rust_impl())
        return;
    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_BADPARAM);
    sasl_dispose(&conn);

    conn = conn_for(cbs, FQDN);
    CHECK_EQ_INT(sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "<1.2@h>", 7, NULL, &out, &outlen),
                 SASL_BADPARAM);
    sasl_dispose(&conn);
}

int main(int argc, char **argv)
{
    static sasl_callback_t global[] = {
        { SASL_CB_GETOPT, CB(global_getopt), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    /* An argument runs only the tests whose names contain it (to see one
     * item fail alone against an old build). */
    static const struct { const char *name; void (*fn)(void); } tests[] = {
        { "test_size_t_lengths", test_size_t_lengths },
        { "test_wrong_lengths", test_wrong_lengths },
        { "test_realm_fallbacks", test_realm_fallbacks },
        { "test_canon_user", test_canon_user },
        { "test_latin1_names", test_latin1_names },
        { "test_ip_strings", test_ip_strings },
        { "test_getopt_entries", test_getopt_entries },
        { "test_cnonce_ignored", test_cnonce_ignored },
        { "test_mech_after_failed_start", test_mech_after_failed_start },
        { "test_seterror_in_callback", test_seterror_in_callback },
        { "test_callbacks_freed_after_auth", test_callbacks_freed_after_auth },
        { "test_null_prompt_need", test_null_prompt_need },
        { "test_callback_order", test_callback_order },
        { "test_callback_asks_for_a_prompt", test_callback_asks_for_a_prompt },
        { "test_one_static_buffer", test_one_static_buffer },
    };
    size_t i;

    ct_setup(argv[0]);
    init_client_or_die(global);

    for (i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (argc < 2 || strstr(tests[i].name, argv[1]))
            tests[i].fn();

    sasl_client_done();
    return check_done();
}
