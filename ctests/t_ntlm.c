/* NTLM (Cyrus's libntlm plugin, built into sasl2-rs): the NEGOTIATE
 * message, the NTLMv1 answer byte for byte (MS-NLMP 4.2.2 vector and an
 * exchange recorded between Cyrus's sample programs), NTLMv2 answers
 * recomputed here with HMAC-MD5, the ntlm_v2 option through SASL_CB_GETOPT,
 * prompts, and malformed challenges.
 *
 * Deliberate difference (README): without the ntlm_v2 option sasl2-rs
 * answers NTLMv2 (LMv2 + NTv2) and Cyrus NTLMv1; with ntlm_v2=yes Cyrus
 * sends LMv2 alone. */
#include "check.h"
#include "hashes.h"

/* What the application's SASL_CB_GETOPT answers for ntlm_v2 (NULL: none),
 * and the plugin name the library asked it with. */
static const char *g_ntlm_v2;
static char g_getopt_plugin[32];

static int cb_getopt(void *context, const char *plugin, const char *option,
                     const char **result, unsigned *len)
{
    (void)context;
    if (strcmp(option, "ntlm_v2") != 0 || !g_ntlm_v2)
        return SASL_FAIL;
    snprintf(g_getopt_plugin, sizeof g_getopt_plugin, "%s", plugin ? plugin : "(null)");
    *result = g_ntlm_v2;
    if (len)
        *len = (unsigned)strlen(g_ntlm_v2);
    return SASL_OK;
}

static struct creds g_creds;
static sasl_callback_t g_cbs[5];

/* AUTHNAME, PASS and GETOPT callbacks for user/password. */
static const sasl_callback_t *callbacks(const char *user, const char *pass)
{
    g_creds = (struct creds){ .authname = user, .pass = pass };
    make_callbacks(g_cbs, &g_creds); /* AUTHNAME, PASS, LIST_END */
    g_cbs[3] = g_cbs[2];
    g_cbs[2] = (sasl_callback_t){ SASL_CB_GETOPT, CB(cb_getopt), NULL };
    return g_cbs;
}

static unsigned u16le(const unsigned char *p) { return p[0] | p[1] << 8; }
static unsigned u32le(const unsigned char *p) { return u16le(p) | u16le(p + 2) << 16; }

/* A CHALLENGE message: 48-byte header (target info empty), flags, the
 * server challenge, and the target name as UTF-16LE from ASCII. */
static unsigned challenge(unsigned char *m, unsigned flags, const unsigned char *srv,
                          const char *target)
{
    unsigned n = (unsigned)strlen(target), i;
    memset(m, 0, 48);
    memcpy(m, "NTLMSSP\0\2\0\0\0", 12);
    m[12] = m[14] = (unsigned char)(2 * n);
    m[16] = 48;
    m[20] = flags & 0xff;
    m[21] = (flags >> 8) & 0xff;
    m[22] = (flags >> 16) & 0xff;
    memcpy(m + 24, srv, 8);
    for (i = 0; i < n; i++) {
        m[48 + 2 * i] = (unsigned char)target[i];
        m[49 + 2 * i] = 0;
    }
    return 48 + 2 * n;
}

/* Field I (0 LM, 1 NT, 2 domain, 3 user, 4 workstation, 5 session key) of
 * an AUTHENTICATE message, checked to lie inside it. */
static const unsigned char *field(const char *out, unsigned outlen, int i, unsigned *len)
{
    const unsigned char *m = (const unsigned char *)out;
    unsigned off;
    *len = u16le(m + 12 + 8 * i);
    off = u32le(m + 16 + 8 * i);
    CHECK(off <= outlen && *len <= outlen - off);
    return off <= outlen && *len <= outlen - off ? m + off : m;
}

static void hex_to(const char *hex, unsigned char *out)
{
    for (; hex[0] && hex[1]; hex += 2)
        sscanf(hex, "%2hhx", out++);
}

/* Start NTLM with an initial response, then answer CHAL. */
static int run(const sasl_callback_t *cbs, const void *chal, unsigned chal_len,
               sasl_conn_t **pconn, const char **out, unsigned *outlen)
{
    const char *mech = NULL;
    *pconn = new_conn(cbs);
    CHECK_EQ_INT(sasl_client_start(*pconn, "NTLM", NULL, out, outlen, &mech), SASL_CONTINUE);
    CHECK_EQ_STR(mech, "NTLM");
    return sasl_client_step(*pconn, chal, chal_len, NULL, out, outlen);
}

static const unsigned char negotiate[32] = {
    'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0, 0x07, 0x02, 0, 0,
    0, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0,
};

static void test_negotiate(void)
{
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    /* As the initial response. */
    conn = new_conn(callbacks("user", "secret"));
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN LOGIN NTLM", NULL, &out, &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_STR(mech, "NTLM");
    CHECK_EQ_MEM(out, outlen, negotiate, sizeof negotiate);
    CHECK_EQ_INT(g_creds.n_authname + g_creds.n_pass, 0);
    sasl_dispose(&conn);

    /* Without one: the first step sends it. */
    conn = new_conn(callbacks("user", "secret"));
    CHECK_EQ_INT(sasl_client_start(conn, "NTLM", NULL, NULL, NULL, &mech), SASL_CONTINUE);
    CHECK_EQ_INT(sasl_client_step(conn, "", 0, NULL, &out, &outlen), SASL_CONTINUE);
    CHECK_EQ_MEM(out, outlen, negotiate, sizeof negotiate);
    sasl_dispose(&conn);
}

/* Cyrus's strength order: after CRAM-MD5, before PLAIN. */
static void test_selection(void)
{
    static const struct { const char *offer, *want; } cases[] = {
        { "NTLM PLAIN", "NTLM" }, { "LOGIN NTLM", "NTLM" }, { "ANONYMOUS NTLM", "NTLM" },
        { "NTLM CRAM-MD5", "CRAM-MD5" }, { "NTLM DIGEST-MD5", "DIGEST-MD5" },
        { "NTLM SCRAM-SHA-1", "SCRAM-SHA-1" },
    };
    sasl_conn_t *conn;
    const char *mech;
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conn = new_conn(callbacks("user", "secret"));
        mech = NULL;
        CHECK_EQ_INT(sasl_client_start(conn, cases[i].offer, NULL, NULL, NULL, &mech),
                     SASL_CONTINUE);
        CHECK_EQ_STR(mech ? mech : "-", cases[i].want);
        sasl_dispose(&conn);
    }
    /* No security layer: a minimum SSF excludes it. */
    conn = new_conn(callbacks("user", "secret"));
    set_secprops(conn, 1, 256, 4096, 0);
    CHECK_EQ_INT(sasl_client_start(conn, "NTLM", NULL, NULL, NULL, &mech), SASL_NOMECH);
    sasl_dispose(&conn);
}

static const unsigned char spec_srv[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

static void test_v1(void)
{
    /* Recorded: Cyrus's sample server challenged Cyrus's sample client
     * (user "user", password "secret"), which answered this. */
    static const char rec_chal[] =
        "4e544c4d5353500002000000120012003000000005020200706d5f1c6a4d6baa"
        "000000000000000000000000000000004c004f00430041004c0048004f0053005400";
    static const char rec_answer[] =
        "4e544c4d5353500003000000000000004000000018001800400000001200120058000000"
        "080008006a000000000000007200000000000000720000000502000026ca467b82a876de"
        "04d677880b25cdb734fb099044b3ab144c004f00430041004c0048004f00530054007500730065007200";
    unsigned char chal[128], want[256], m[128];
    unsigned chal_len = (unsigned)strlen(rec_chal) / 2, want_len = (unsigned)strlen(rec_answer) / 2;
    unsigned n, len;
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0;
    const void *v;
    const unsigned char *f;
    const char *offs[] = { "no", "off", "0", "false" };
    size_t i;

    hex_to(rec_chal, chal);
    hex_to(rec_answer, want);
    for (i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        g_ntlm_v2 = offs[i];
        g_getopt_plugin[0] = '\0';
        CHECK_EQ_INT(run(callbacks("user", "secret"), chal, chal_len, &conn, &out, &outlen), SASL_OK);
        CHECK_EQ_MEM(out, outlen, want, want_len);
        CHECK_EQ_STR(g_getopt_plugin, "NTLM");
        CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
        CHECK_EQ_STR(v, "user");
        sasl_dispose(&conn);
    }

    /* MS-NLMP 4.2.2.2.1: the NTLMv1 response for "Password". */
    g_ntlm_v2 = "no";
    n = challenge(m, 0x0205, spec_srv, "DOMAIN");
    CHECK_EQ_INT(run(callbacks("User", "Password"), m, n, &conn, &out, &outlen), SASL_OK);
    f = field(out, outlen, 1, &len);
    hex_to("67c43011f30298a2ad35ece64f16331c44bdbed927841f94", want);
    CHECK_EQ_MEM(f, len, want, 24);
    field(out, outlen, 0, &len);
    CHECK_EQ_INT(len, 0); /* no LM response */
    sasl_dispose(&conn);

    /* A server without the NTLM flag: Cyrus answers with an LM-hash
     * response (crackable in minutes); sasl2-rs refuses (README). */
    n = challenge(m, 0x0005, spec_srv, "DOMAIN");
    if (is_rust_impl()) {
        CHECK_EQ_INT(run(callbacks("User", "Password"), m, n, &conn, &out, &outlen), SASL_TOOWEAK);
    } else {
        CHECK_EQ_INT(run(callbacks("User", "Password"), m, n, &conn, &out, &outlen), SASL_OK);
        field(out, outlen, 0, &len);
        CHECK_EQ_INT(len, 24);
        field(out, outlen, 1, &len);
        CHECK_EQ_INT(len, 0);
    }
    sasl_dispose(&conn);
    g_ntlm_v2 = NULL;
}

/* Checks the LMv2 and (when present) NTv2 responses of OUT for user
 * "User", password "Password", domain "DOMAIN" and server challenge
 * spec_srv: NTOWFv2 = HMAC-MD5(NTOWFv1, UTF-16LE("USERDOMAIN")), with
 * NTOWFv1("Password") from MS-NLMP 4.2.2.1.2. Returns the NT length. */
static unsigned check_v2(const char *out, unsigned outlen)
{
    static const char who[] = "USERDOMAIN";
    unsigned char ntowf1[16], ntowf2[16], u[2 * sizeof who], mac[16], buf[1024];
    const unsigned char *lm, *nt, *dom;
    unsigned lm_len, nt_len, dom_len, i;

    hex_to("a4f49c406510bdcab6824ee7c30fd852", ntowf1);
    for (i = 0; i < sizeof who - 1; i++) {
        u[2 * i] = (unsigned char)who[i];
        u[2 * i + 1] = 0;
    }
    hmac(H_MD5, ntowf1, 16, u, 2 * (sizeof who - 1), ntowf2);

    dom = field(out, outlen, 2, &dom_len);
    CHECK_EQ_MEM(dom, dom_len, u + 8, 12); /* "DOMAIN" as sent, upper case */
    lm = field(out, outlen, 0, &lm_len);
    CHECK_EQ_INT(lm_len, 24);
    memcpy(buf, spec_srv, 8);
    memcpy(buf + 8, lm + 16, 8); /* the client challenge */
    hmac(H_MD5, ntowf2, 16, buf, 16, mac);
    CHECK_EQ_MEM(lm, 16, mac, 16);

    nt = field(out, outlen, 1, &nt_len);
    if (nt_len > 0 && nt_len <= sizeof buf - 8) {
        CHECK(nt_len >= 16 + 32);
        CHECK_EQ_MEM(nt + 16, 8, "\1\1\0\0\0\0\0\0", 8);
        CHECK_EQ_MEM(nt + 32, 8, lm + 16, 8); /* the same client challenge */
        memcpy(buf + 8, nt + 16, nt_len - 16);
        hmac(H_MD5, ntowf2, 16, buf, 8 + nt_len - 16, mac);
        CHECK_EQ_MEM(nt, 16, mac, 16); /* NTProofStr */
    }
    return nt_len;
}

static void test_v2(void)
{
    static const char *ons[] = { NULL, "yes", "on", "1", "true" };
    unsigned char m[128];
    unsigned n = challenge(m, 0x0205, spec_srv, "domain"); /* upper-cased by the client */
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0, nt_len;
    size_t i;

    for (i = 0; i < sizeof ons / sizeof ons[0]; i++) {
        g_ntlm_v2 = ons[i];
        CHECK_EQ_INT(run(callbacks("User", "Password"), m, n, &conn, &out, &outlen), SASL_OK);
        if (!is_rust_impl() && !ons[i]) {
            /* Cyrus's default: NTLMv1. */
            field(out, outlen, 1, &nt_len);
            CHECK_EQ_INT(nt_len, 24);
        } else {
            nt_len = check_v2(out, outlen);
            /* sasl2-rs: LMv2 and NTv2; Cyrus: LMv2 alone. */
            if (is_rust_impl())
                CHECK(nt_len > 24);
            else
                CHECK_EQ_INT(nt_len, 0);
        }
        sasl_dispose(&conn);
    }
    g_ntlm_v2 = NULL;
}

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

/* Prompts at the challenge: authentication name and password only (no
 * authorization name, no realm). */
static void test_prompts(void)
{
    sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, NULL, NULL },
        { SASL_CB_USER, NULL, NULL },
        { SASL_CB_PASS, NULL, NULL },
        { SASL_CB_GETREALM, NULL, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    unsigned char m[128];
    unsigned n = challenge(m, 0x0205, spec_srv, "DOMAIN");
    sasl_conn_t *conn = new_conn(cbs);
    sasl_interact_t *prompts = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    const void *v;

    CHECK_EQ_INT(sasl_client_start(conn, "NTLM", &prompts, &out, &outlen, &mech), SASL_CONTINUE);
    CHECK(prompts == NULL);
    CHECK_EQ_INT(sasl_client_step(conn, (const char *)m, n, &prompts, &out, &outlen), SASL_INTERACT);
    CHECK_EQ_INT(count_prompts(prompts), 2);
    if (count_prompts(prompts) == 2) {
        CHECK_EQ_INT(prompts[0].id, SASL_CB_AUTHNAME);
        CHECK_EQ_INT(prompts[1].id, SASL_CB_PASS);
    }
    fill(prompts, SASL_CB_AUTHNAME, "User");
    fill(prompts, SASL_CB_PASS, "Password");
    CHECK_EQ_INT(sasl_client_step(conn, (const char *)m, n, &prompts, &out, &outlen), SASL_OK);
    CHECK(prompts == NULL);
    if (is_rust_impl())
        CHECK(check_v2(out, outlen) > 24);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR(v, "User");
    sasl_dispose(&conn);
}

static void bad_challenge(const unsigned char *m, unsigned n)
{
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0;
    CHECK_EQ_INT(run(callbacks("user", "secret"), m, n, &conn, &out, &outlen), SASL_BADPROT);
    CHECK_EQ_INT(g_creds.n_authname + g_creds.n_pass, 0);
    sasl_dispose(&conn);
}

/* Cyrus allocates the target name before checking that it lies inside the
 * message, and leaks it. */
static void cyrus_leaky_bad_target(const unsigned char *m, unsigned n)
{
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0;
    CHECK_EQ_INT(run(callbacks("user", "secret"), m, n, &conn, &out, &outlen), SASL_BADPROT);
    sasl_dispose(&conn);
}

static void test_bad_challenges(void)
{
    unsigned char good[128], m[128];
    unsigned n = challenge(good, 0x0205, spec_srv, "DOMAIN");

    bad_challenge(good, 0);
    bad_challenge(good, 31);
    memcpy(m, good, n);
    m[6] = 'Q'; /* signature */
    bad_challenge(m, n);
    memcpy(m, good, n);
    m[8] = 3; /* type */
    bad_challenge(m, n);
    memcpy(m, good, n);
    m[16] = 0xf0; /* target name past the end */
    cyrus_leaky_bad_target(m, n);
    memcpy(m, good, n);
    m[12] = 0xff; /* target name length past the end */
    cyrus_leaky_bad_target(m, n);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(NULL);
    test_negotiate();
    test_selection();
    test_v1();
    test_v2();
    test_prompts();
    test_bad_challenges();
    sasl_client_done();
    return check_done();
}
