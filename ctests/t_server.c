/* Client and server in one process, the server side being Cyrus's.
 *
 * Against sasl2-rs the client calls run here and every server call is
 * forwarded to the system's Cyrus library; against "system" both sides are
 * Cyrus (the reference). Covers PLAIN, SCRAM-SHA-1/256, CRAM-MD5 and
 * DIGEST-MD5 (auth, auth-int, auth-conf) with data both ways through
 * sasl_encode/sasl_encodev/sasl_decode, wrong passwords, several live
 * connections of both kinds at once, and the functions common to both
 * sides on server connections (getprop, setprop, errdetail, seterror,
 * listmech, idle, dispose), plus setpass, checkpass, user_exists, checkapop,
 * auxprop, sasl_set_alloc made before the server side exists, and
 * sasl_global_listmech. Users live in a private sasldb. */
#include "check.h"
#include <sys/uio.h>
#include <unistd.h>

#define REALM "example.com"
#define MECHS "PLAIN SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5"

static char g_sasldb[128];
static unsigned long g_allocs; /* calls into the application's allocator */

static void *count_malloc(size_t n) { g_allocs++; return malloc(n); }
static void *count_calloc(size_t n, size_t m) { g_allocs++; return calloc(n, m); }
static void *count_realloc(void *p, size_t n) { g_allocs++; return realloc(p, n); }
static void count_free(void *p) { free(p); }

static int srv_getopt(void *context, const char *plugin, const char *option,
                      const char **result, unsigned *len)
{
    (void)context;
    (void)plugin;
    if (!strcmp(option, "sasldb_path"))
        *result = g_sasldb;
    else if (!strcmp(option, "auxprop_plugin"))
        *result = "sasldb";
    else if (!strcmp(option, "pwcheck_method"))
        *result = "auxprop";
    else if (!strcmp(option, "mech_list"))
        *result = MECHS;
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static sasl_callback_t g_srv_cbs[] = {
    { SASL_CB_GETOPT, CB(srv_getopt), NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

static sasl_conn_t *server_conn(void)
{
    sasl_conn_t *s = NULL;
    CHECK_EQ_INT(sasl_server_new("ctests", "localhost", REALM, NULL, NULL, NULL,
                                 SASL_SUCCESS_DATA, &s),
                 SASL_OK);
    CHECK(s != NULL);
    return s;
}

static sasl_conn_t *client_conn(sasl_callback_t *cbs)
{
    sasl_conn_t *c = NULL;
    CHECK_EQ_INT(sasl_client_new("ctests", "localhost", NULL, NULL, cbs, 0, &c),
                 SASL_OK);
    CHECK(c != NULL);
    return c;
}


/* Runs MECH between a client and a server connection, with the client's
 * initial response when INITIAL. Returns the server's last code;
 * *client_rc gets the client's. */
static int exchange(sasl_conn_t *c, sasl_conn_t *s, const char *mech,
                    int initial, int *client_rc)
{
    const char *out = NULL, *sout = NULL, *chosen = NULL;
    unsigned outlen = 0, soutlen = 0;
    int rc, src;

    rc = sasl_client_start(c, mech, NULL, initial ? &out : NULL,
                           initial ? &outlen : NULL, &chosen);
    *client_rc = rc;
    if (rc != SASL_OK && rc != SASL_CONTINUE)
        return SASL_FAIL;
    CHECK_EQ_STR(chosen, mech);
    src = sasl_server_start(s, mech, out, outlen, &sout, &soutlen);
    while (src == SASL_CONTINUE) {
        rc = sasl_client_step(c, sout, soutlen, NULL, &out, &outlen);
        *client_rc = rc;
        if (rc != SASL_OK && rc != SASL_CONTINUE)
            return src;
        src = sasl_server_step(s, out, outlen, &sout, &soutlen);
    }
    /* success data: the client checks the server's proof */
    if (src == SASL_OK && sout != NULL)
        *client_rc = sasl_client_step(c, sout, soutlen, NULL, &out, &outlen);
    return src;
}

static int authenticate(sasl_conn_t *c, sasl_conn_t *s, const char *mech,
                        int *client_rc)
{
    return exchange(c, s, mech, 1, client_rc);
}

static unsigned g_seed = 12345;
static unsigned next_rand(void)
{
    g_seed ^= g_seed << 13;
    g_seed ^= g_seed >> 17;
    g_seed ^= g_seed << 5;
    return g_seed;
}

/* N pseudo-random bytes from one side to the other through the layer:
 * encoded in chunks of at most the sender's MAXOUTBUF (every third one by
 * sasl_encodev), decoded in reads of random size so that packets split and
 * several arrive together; every byte checked. */
static void stream(sasl_conn_t *from, sasl_conn_t *to, size_t n, const char *what)
{
    unsigned char *data = malloc(n), *wire = NULL, *got = malloc(n + 1);
    size_t wirelen = 0, gotlen = 0, off, i;
    const unsigned *maxout = NULL;
    unsigned chunk, k = 0;

    if (!data || !got)
        abort();
    for (i = 0; i < n; i++)
        data[i] = (unsigned char)next_rand();
    CHECK_EQ_INT(sasl_getprop(from, SASL_MAXOUTBUF, (const void **)&maxout), SASL_OK);
    CHECK(maxout != NULL && *maxout > 0);
    if (!maxout || *maxout == 0)
        goto out;
    for (off = 0; off < n; off += chunk, k++) {
        const char *enc = NULL;
        unsigned enclen = 0;
        int rc;
        chunk = 1 + next_rand() % *maxout;
        if (chunk > n - off)
            chunk = (unsigned)(n - off);
        if (k % 3 == 2) {
            struct iovec iov[2] = { { data + off, chunk / 2 },
                                    { data + off + chunk / 2, chunk - chunk / 2 } };
            rc = sasl_encodev(from, iov, 2, &enc, &enclen);
        } else {
            rc = sasl_encode(from, (const char *)data + off, chunk, &enc, &enclen);
        }
        if (rc != SASL_OK) {
            ct_fail(__FILE__, __LINE__, "%s: encode of %u bytes: %d (%s)", what,
                    chunk, rc, sasl_errdetail(from));
            goto out;
        }
        wire = realloc(wire, wirelen + enclen);
        if (!wire)
            abort();
        memcpy(wire + wirelen, enc, enclen);
        wirelen += enclen;
    }
    for (off = 0; off < wirelen; off += chunk) {
        const char *dec = NULL;
        unsigned declen = 0;
        int rc;
        /* at most maxbufsize: without a layer Cyrus refuses more at once */
        chunk = 1 + next_rand() % 65536;
        if (chunk > wirelen - off)
            chunk = (unsigned)(wirelen - off);
        rc = sasl_decode(to, (const char *)wire + off, chunk, &dec, &declen);
        if (rc != SASL_OK || gotlen + declen > n) {
            ct_fail(__FILE__, __LINE__, "%s: decode: %d (%s)", what, rc,
                    sasl_errdetail(to));
            goto out;
        }
        if (declen)
            memcpy(got + gotlen, dec, declen);
        gotlen += declen;
    }
    CHECK_EQ_MEM(got, gotlen, data, n);
out:
    free(data);
    free(wire);
    free(got);
}

/* One packet with a flipped byte: the receiver must refuse it. */
static void tampered(sasl_conn_t *from, sasl_conn_t *to)
{
    const char *enc = NULL, *dec = NULL;
    unsigned enclen = 0, declen = 0;
    char copy[256];
    CHECK_EQ_INT(sasl_encode(from, "tamper with me", 14, &enc, &enclen), SASL_OK);
    if (!enc || enclen > sizeof copy || enclen < 8)
        return;
    memcpy(copy, enc, enclen);
    copy[6] ^= 0x20;
    CHECK(sasl_decode(to, copy, enclen, &dec, &declen) < 0);
}

static void test_mechanisms(void)
{
    static const char *mechs[] = { "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "DIGEST-MD5" };
    struct creds good = { .authname = "alice", .pass = "secret" };
    struct creds bad = { .authname = "alice", .pass = "wrong" };
    sasl_callback_t gcbs[4], bcbs[4];
    size_t i;

    make_callbacks(gcbs, &good);
    make_callbacks(bcbs, &bad);
    for (i = 0; i < sizeof mechs / sizeof *mechs; i++) {
        sasl_conn_t *c = client_conn(gcbs), *s = server_conn();
        const char *user = NULL, *mechname = NULL;
        int crc = 0;
        CHECK_EQ_INT(authenticate(c, s, mechs[i], &crc), SASL_OK);
        CHECK_EQ_INT(crc, SASL_OK);
        CHECK_EQ_INT(sasl_getprop(s, SASL_USERNAME, (const void **)&user), SASL_OK);
        CHECK_EQ_STR(user, "alice@" REALM);
        CHECK_EQ_INT(sasl_getprop(s, SASL_MECHNAME, (const void **)&mechname), SASL_OK);
        CHECK_EQ_STR(mechname, mechs[i]);
        sasl_dispose(&c);
        sasl_dispose(&s);
        CHECK(c == NULL && s == NULL);

        /* a wrong password fails on the server, which says why */
        c = client_conn(bcbs);
        s = server_conn();
        CHECK_EQ_INT(authenticate(c, s, mechs[i], &crc), SASL_BADAUTH);
        CHECK_PREFIX(sasl_errdetail(s), "SASL(-13): authentication failure");
        sasl_dispose(&c);
        sasl_dispose(&s);
    }
}

/* DIGEST-MD5 with each quality of protection: both sides agree on the SSF,
 * and data passes both ways through the layer. */
static void test_layers(void)
{
    static const struct { unsigned min, max, ssf; const char *what; } qops[] = {
        { 0, 0, 0, "auth" }, { 1, 1, 1, "auth-int" }, { 40, 40, 40, "rc4-40" },
        { 41, 56, 56, "rc4-56" }, { 112, 256, 128, "rc4" },
    };
    struct creds good = { .authname = "alice", .pass = "secret" };
    sasl_callback_t cbs[4];
    size_t i;

    make_callbacks(cbs, &good);
    for (i = 0; i < sizeof qops / sizeof *qops; i++) {
        sasl_conn_t *c = client_conn(cbs), *s = server_conn();
        const sasl_ssf_t *cssf = NULL, *sssf = NULL;
        int crc = 0;
        set_secprops(c, qops[i].min, qops[i].max, 65536, 0);
        set_secprops(s, 0, 256, 65536, 0);
        CHECK_EQ_INT(authenticate(c, s, "DIGEST-MD5", &crc), SASL_OK);
        CHECK_EQ_INT(crc, SASL_OK);
        CHECK_EQ_INT(sasl_getprop(c, SASL_SSF, (const void **)&cssf), SASL_OK);
        CHECK_EQ_INT(sasl_getprop(s, SASL_SSF, (const void **)&sssf), SASL_OK);
        if (cssf && sssf) {
            CHECK_EQ_INT(*cssf, qops[i].ssf);
            CHECK_EQ_INT(*sssf, qops[i].ssf);
        }
        stream(c, s, 300000, qops[i].what);
        stream(s, c, 300000, qops[i].what);
        if (qops[i].ssf > 0) {
            tampered(c, s);
            tampered(s, c);
        }
        sasl_dispose(&c);
        sasl_dispose(&s);
    }
}

/* Several live connections of both kinds at once, used out of order. No
 * initial response: Cyrus's DIGEST-MD5 client would otherwise
 * reauthenticate the later ones with the first one's session, whose layer
 * state Cyrus then shares between the connections (and gets wrong). */
static void test_interleaved(void)
{
    struct creds good = { .authname = "alice", .pass = "secret" };
    sasl_callback_t cbs[4];
    sasl_conn_t *c[3], *s[3];
    const char *user = NULL;
    int i, crc;

    make_callbacks(cbs, &good);
    for (i = 0; i < 3; i++) {
        s[i] = server_conn();
        c[i] = client_conn(cbs);
        set_secprops(c[i], 1, 1, 4096, 0);
        set_secprops(s[i], 0, 256, 4096, 0);
    }
    for (i = 2; i >= 0; i--)
        CHECK_EQ_INT(exchange(c[i], s[i], "DIGEST-MD5", 0, &crc), SASL_OK);
    stream(c[1], s[1], 20000, "interleaved 1");
    stream(s[0], c[0], 20000, "interleaved 0");
    sasl_dispose(&s[1]);
    stream(c[2], s[2], 20000, "interleaved 2");
    /* a client connection's properties are the client's */
    CHECK_EQ_INT(sasl_getprop(c[0], SASL_USERNAME, (const void **)&user), SASL_OK);
    CHECK_EQ_STR(user, "alice");
    for (i = 0; i < 3; i++) {
        sasl_dispose(&c[i]);
        sasl_dispose(&s[i]);
    }
}

static void test_common_functions(void)
{
    sasl_conn_t *s = server_conn();
    const char *list = NULL, *service = NULL;
    unsigned len = 0;
    int count = 0;
    const char *names[] = { "userPassword", NULL };
    struct propctx *ctx;

    CHECK_EQ_INT(sasl_listmech(s, NULL, "(", ",", ")", &list, &len, &count), SASL_OK);
    CHECK_CONTAINS(list, "PLAIN");
    CHECK_CONTAINS(list, "DIGEST-MD5");
    CHECK_EQ_INT(count, 5);
    CHECK_EQ_INT(sasl_getprop(s, SASL_SERVICE, (const void **)&service), SASL_OK);
    CHECK_EQ_STR(service, "ctests");
    CHECK_EQ_INT(sasl_setprop(s, SASL_AUTH_EXTERNAL, "bob"), SASL_OK);
    CHECK(sasl_idle(s) >= 0);

    /* sasl_seterror formats here or in Cyrus: the message is the same */
    sasl_seterror(s, SASL_NOLOG, "custom %s %d", "message", 7);
    CHECK_CONTAINS(sasl_errdetail(s), "custom message 7");

    CHECK_EQ_INT(sasl_checkpass(s, "alice", 5, "secret", 6), SASL_OK);
    CHECK_EQ_INT(sasl_checkpass(s, "alice", 5, "wrong", 5), SASL_BADAUTH);
    CHECK_EQ_INT(sasl_user_exists(s, NULL, NULL, "alice"), SASL_OK);
    CHECK(sasl_user_exists(s, NULL, NULL, "nobody") < 0);
    /* checkapop with no challenge asks whether APOP is supported */
    CHECK_EQ_INT(sasl_checkapop(s, NULL, 0, NULL, 0), SASL_OK);

    CHECK_EQ_INT(sasl_auxprop_request(s, names), SASL_OK);
    ctx = sasl_auxprop_getctx(s);
    CHECK(ctx != NULL);
    if (ctx)
        CHECK(prop_get(ctx) != NULL);
    sasl_dispose(&s);
    CHECK(s == NULL);
}

/* A server connection is not a client connection, and the other way round. */
static void test_wrong_side(void)
{
    struct creds good = { .authname = "alice", .pass = "secret" };
    sasl_callback_t cbs[4];
    sasl_conn_t *c, *s;
    const char *out = NULL;
    unsigned outlen = 0;

    if (!is_rust_impl())
        return; /* Cyrus does not check, and crashes */
    make_callbacks(cbs, &good);
    c = client_conn(cbs);
    s = server_conn();
    CHECK_EQ_INT(sasl_server_start(c, "PLAIN", "\0a\0b", 4, &out, &outlen), SASL_BADPARAM);
    CHECK_CONTAINS(sasl_errdetail(c), "sasl_server_new");
    CHECK_EQ_INT(sasl_client_step(s, "", 0, NULL, &out, &outlen), SASL_BADPARAM);
    CHECK(sasl_auxprop_getctx(c) == NULL);
    sasl_dispose(&c);
    sasl_dispose(&s);
}

/* sasl2-rs: the server side really is the system's Cyrus library, mapped
 * beside ours; against Cyrus there is only the one library. */
static void test_which_library(void)
{
    const char *lib = getenv("CTESTS_LIBSASL");
    char ours[4096], line[4096 + 200];
    int mapped_ours = 0, mapped_other = 0;
    FILE *maps;

    if (!lib || !realpath(lib, ours))
        return;
    maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return;
    while (fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path || !strstr(path, "/libsasl2.so"))
            continue;
        path[strcspn(path, "\n")] = '\0';
        if (!strcmp(path, ours))
            mapped_ours = 1;
        else
            mapped_other = 1;
    }
    fclose(maps);
    CHECK(mapped_ours);
    CHECK_EQ_INT(mapped_other, is_rust_impl());
}

static void test_global_listmech(void)
{
    const char **list = sasl_global_listmech(), **p;
    int plain = 0, digest = 0, oauth = 0;
    CHECK(list != NULL);
    for (p = list; p && *p; p++) {
        plain |= !strcmp(*p, "PLAIN");
        digest |= !strcmp(*p, "DIGEST-MD5");
        oauth |= !strcmp(*p, "OAUTHBEARER");
    }
    CHECK(plain && digest);
    /* sasl2-rs's client has OAUTHBEARER; Debian's Cyrus has no plug-in */
    CHECK_EQ_INT(oauth, is_rust_impl());
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    sasl_conn_t *s;
    (void)argc;
    ct_setup(argv[0]);
    snprintf(g_sasldb, sizeof g_sasldb, "%s/ctests-sasldb-%ld", tmp ? tmp : "/tmp",
             (long)getpid());

    /* The application's allocator, set before the server side exists: Cyrus
     * must use it (sasl2-rs hands it over when the server side opens). */
    sasl_set_alloc(count_malloc, count_calloc, count_realloc, count_free);
    CHECK_EQ_INT(sasl_server_init(g_srv_cbs, "ctests"), SASL_OK);
    init_client_or_die(NULL);
    CHECK(g_allocs > 0);

    s = server_conn();
    CHECK_EQ_INT(sasl_setpass(s, "alice", "secret", 6, NULL, 0, SASL_SET_CREATE), SASL_OK);
    sasl_dispose(&s);

    test_which_library();
    test_mechanisms();
    test_layers();
    test_interleaved();
    test_common_functions();
    test_wrong_side();
    test_global_listmech();

    CHECK_EQ_INT(sasl_server_done(), SASL_OK);
    CHECK_EQ_INT(sasl_client_done(), SASL_OK);
    unlink(g_sasldb);
    return check_done();
}
