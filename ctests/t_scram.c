/* SCRAM-SHA-1 / SCRAM-SHA-256 client (RFC 5802, RFC 7677) against answers
 * computed here (hashes.h): client-first format, the client proof, server
 * signature verification, channel-binding GS2 headers, and protocol
 * errors. */
#include "check.h"
#include "hashes.h"

static void hash_selftest(void)
{
    unsigned char d[32];
    char hex[65];
    hash_buf(H_SHA1, "abc", 3, d);
    to_hex(d, 20, hex);
    CHECK_EQ_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    hash_buf(H_SHA256, "abc", 3, d);
    to_hex(d, 32, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 6070 PBKDF2-HMAC-SHA1, c=2 */
    pbkdf2_hi(H_SHA1, "password", 8, "salt", 4, 2, d);
    to_hex(d, 20, hex);
    CHECK_EQ_STR(hex, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    /* RFC 4231 test case 2 */
    hmac(H_SHA256, "Jefe", 4, "what do ya want for nothing?", 28, d);
    to_hex(d, 32, hex);
    CHECK_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static unsigned b64(const void *in, unsigned len, char *out, unsigned outmax)
{
    unsigned n = 0;
    CHECK_EQ_INT(sasl_encode64(in, len, out, outmax, &n), SASL_OK);
    return n;
}

struct scram {
    enum hash_alg alg;
    const char *mech;
    const char *pass;
    char client_first_bare[1024];
    char server_first[1024];
    char client_final_noproof[2048];
    char cnonce[256];
    unsigned char salted[32];
};

/* Compute proof and server signature for the state in s. */
static void scram_keys(struct scram *s, const char *salt, unsigned saltlen,
                       unsigned iter, unsigned char *proof,
                       unsigned char *server_sig)
{
    unsigned char ck[32], sk[32], stored[32], csig[32];
    char authmsg[8192];
    size_t i, n = hash_len(s->alg);
    int alen;

    pbkdf2_hi(s->alg, s->pass, strlen(s->pass), salt, saltlen, iter, s->salted);
    hmac(s->alg, s->salted, n, "Client Key", 10, ck);
    hash_buf(s->alg, ck, n, stored);
    alen = snprintf(authmsg, sizeof authmsg, "%s,%s,%s", s->client_first_bare,
                    s->server_first, s->client_final_noproof);
    hmac(s->alg, stored, n, authmsg, (size_t)alen, csig);
    for (i = 0; i < n; i++)
        proof[i] = ck[i] ^ csig[i];
    hmac(s->alg, s->salted, n, "Server Key", 10, sk);
    hmac(s->alg, sk, n, authmsg, (size_t)alen, server_sig);
}

/* Full exchange; returns the final step's result.  gs2 is the expected
 * GS2 header, cbdata the channel binding data appended in c=. */
static int run_scram(enum hash_alg alg, const char *mechlist,
                     const char *expect_mech, sasl_callback_t *cbs,
                     const char *pass, const char *want_first_prefix,
                     const char *gs2, const sasl_channel_binding_t *cb,
                     int tamper_sig, unsigned iter)
{
    struct scram s;
    sasl_conn_t *conn = new_conn(cbs);
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0, n = hash_len(alg);
    unsigned char proof[32], ssig[32];
    char snonce_full[400], msg[4096], cbind_in[256], cbind_b64[400], p64[100],
        v64[100];
    const char *salt = "QSXCR+Q6sek8bf92";
    unsigned char saltraw[64];
    unsigned saltlen = 0, cbin_len;
    const void *v;
    int r;

    memset(&s, 0, sizeof s);
    s.alg = alg;
    s.pass = pass;
    if (cb)
        CHECK_EQ_INT(sasl_setprop(conn, SASL_CHANNEL_BINDING, cb), SASL_OK);

    r = sasl_client_start(conn, mechlist, NULL, &out, &outlen, &mech);
    CHECK_EQ_INT(r, SASL_CONTINUE);
    if (r != SASL_CONTINUE) {
        sasl_dispose(&conn);
        return r;
    }
    if (expect_mech)
        CHECK_EQ_STR(mech, expect_mech);
    /* client-first-message = gs2-header client-first-message-bare */
    CHECK(outlen > strlen(gs2) && memcmp(out, gs2, strlen(gs2)) == 0);
    CHECK(outlen < sizeof s.client_first_bare);
    snprintf(s.client_first_bare, sizeof s.client_first_bare, "%.*s",
             (int)(outlen - strlen(gs2)), out + strlen(gs2));
    CHECK_PREFIX(s.client_first_bare, want_first_prefix);
    {
        const char *rp = strstr(s.client_first_bare, ",r=");
        CHECK(rp != NULL);
        if (!rp) {
            sasl_dispose(&conn);
            return SASL_FAIL;
        }
        snprintf(s.cnonce, sizeof s.cnonce, "%s", rp + 3);
        /* printable, no commas */
        CHECK(strlen(s.cnonce) >= 16 && strchr(s.cnonce, ',') == NULL);
    }

    /* server-first-message */
    snprintf(snonce_full, sizeof snonce_full, "%s3rfcNHYJY1ZVvWVs7j", s.cnonce);
    snprintf(s.server_first, sizeof s.server_first, "r=%s,s=%s,i=%u",
             snonce_full, salt, iter);
    CHECK_EQ_INT(sasl_decode64(salt, (unsigned)strlen(salt), (char *)saltraw,
                               sizeof saltraw, &saltlen),
                 SASL_OK);
    r = sasl_client_step(conn, s.server_first, (unsigned)strlen(s.server_first),
                         NULL, &out, &outlen);
    CHECK_EQ_INT(r, SASL_CONTINUE);
    if (r != SASL_CONTINUE) {
        sasl_dispose(&conn);
        return r;
    }

    /* client-final-message-without-proof: c=base64(gs2 [cbdata]),r=nonce */
    cbin_len = (unsigned)strlen(gs2);
    memcpy(cbind_in, gs2, cbin_len);
    if (cb && gs2[0] == 'p') {
        memcpy(cbind_in + cbin_len, cb->data, cb->len);
        cbin_len += (unsigned)cb->len;
    }
    b64(cbind_in, cbin_len, cbind_b64, sizeof cbind_b64);
    snprintf(s.client_final_noproof, sizeof s.client_final_noproof,
             "c=%s,r=%s", cbind_b64, snonce_full);
    scram_keys(&s, (const char *)saltraw, saltlen, iter, proof, ssig);
    b64(proof, n, p64, sizeof p64);
    snprintf(msg, sizeof msg, "%s,p=%s", s.client_final_noproof, p64);
    CHECK_EQ_MEM(out, outlen, msg, strlen(msg));

    /* server-final-message */
    if (tamper_sig)
        ssig[0] ^= 0x80;
    b64(ssig, n, v64, sizeof v64);
    snprintf(msg, sizeof msg, "v=%s", v64);
    r = sasl_client_step(conn, msg, (unsigned)strlen(msg), NULL, &out, &outlen);
    if (r == SASL_OK) {
        CHECK_EQ_INT(outlen, 0);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_USERNAME, &v), SASL_OK);
        CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
        CHECK(v && *(const sasl_ssf_t *)v == 0);
    }
    sasl_dispose(&conn);
    return r;
}

static void test_kat(void)
{
    struct creds c = { .authname = "user", .pass = "pencil" };
    struct creds cz = { .authname = "user", .user = "admin", .pass = "pencil" };
    struct creds ce = { .authname = "a=b,c", .pass = "p\xc3\xa4ss" };
    sasl_callback_t cbs[4], cbsz[4], cbse[4];

    make_callbacks(cbs, &c);
    make_callbacks(cbsz, &cz);
    make_callbacks(cbse, &ce);

    CHECK_EQ_INT(run_scram(H_SHA1, "SCRAM-SHA-1", "SCRAM-SHA-1", cbs, "pencil",
                           "n=user,r=", "n,,", NULL, 0, 4096),
                 SASL_OK);
    CHECK_EQ_INT(run_scram(H_SHA256, "SCRAM-SHA-256", "SCRAM-SHA-256", cbs,
                           "pencil", "n=user,r=", "n,,", NULL, 0, 64),
                 SASL_OK);
    /* authzid goes into the GS2 header */
    CHECK_EQ_INT(run_scram(H_SHA256, "SCRAM-SHA-256", "SCRAM-SHA-256", cbsz,
                           "pencil", "n=user,r=", "n,a=admin,", NULL, 0, 64),
                 SASL_OK);
    /* '=' and ',' in names are escaped as =3D and =2C */
    CHECK_EQ_INT(run_scram(H_SHA1, "SCRAM-SHA-1", "SCRAM-SHA-1", cbse,
                           "p\xc3\xa4ss", "n=a=3Db=2Cc,r=", "n,,", NULL, 0, 64),
                 SASL_OK);
    /* a wrong server signature: Cyrus reports SASL_BADAUTH (not
     * SASL_BADSERV as DIGEST-MD5 does); sasl2-rs reports SASL_BADSERV, the
     * code for a server failing mutual authentication, so applications do
     * not take a forged server for a wrong password (see README) */
    CHECK_EQ_INT(run_scram(H_SHA256, "SCRAM-SHA-256", "SCRAM-SHA-256", cbs,
                           "pencil", "n=user,r=", "n,,", NULL, 1, 64),
                 is_rust_impl() ? SASL_BADSERV : SASL_BADAUTH);
}

static void test_channel_binding(void)
{
    static const unsigned char data[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01 };
    sasl_channel_binding_t cb = { "tls-unique", 0, sizeof data, data };
    struct creds c = { .authname = "user", .pass = "pencil" };
    sasl_callback_t cbs[4];

    make_callbacks(cbs, &c);
    /* -PLUS: "p=<type>" and the binding data inside c= */
    CHECK_EQ_INT(run_scram(H_SHA256, "SCRAM-SHA-256-PLUS SCRAM-SHA-256", NULL,
                           cbs, "pencil", "n=user,r=", "p=tls-unique,,", &cb, 0, 64),
                 SASL_OK);
    CHECK_EQ_INT(run_scram(H_SHA1, "SCRAM-SHA-1-PLUS", NULL, cbs, "pencil",
                           "n=user,r=", "p=tls-unique,,", &cb, 0, 64),
                 SASL_OK);
    /* client supports binding, server did not offer -PLUS: "y" */
    CHECK_EQ_INT(run_scram(H_SHA256, "SCRAM-SHA-256 PLAIN", "SCRAM-SHA-256", cbs,
                           "pencil", "n=user,r=", "y,,", &cb, 0, 64),
                 SASL_OK);
}

static void test_protocol_errors(void)
{
    struct creds c = { .authname = "user", .pass = "pencil" };
    sasl_callback_t cbs[4];
    const char *bad_first[] = {
        "r=WRONGNONCE,s=QSXCR+Q6sek8bf92,i=4096", /* nonce not extended */
        "garbage",
        "",
        "r=%s,s=QSXCR+Q6sek8bf92",                /* no iteration count */
        "r=%s,i=4096",                            /* no salt */
        "r=%s,s=QSXCR+Q6sek8bf92,i=abc",
        "m=ext,r=%s,s=QSXCR+Q6sek8bf92,i=4096",   /* mandatory extension */
        "e=other-error",
    };
    size_t i;

    make_callbacks(cbs, &c);
    for (i = 0; i < sizeof bad_first / sizeof bad_first[0]; i++) {
        sasl_conn_t *conn = new_conn(cbs);
        const char *out = NULL, *mech = NULL;
        unsigned outlen = 0;
        char cnonce[256], msg[512];
        int r;
        CHECK_EQ_INT(sasl_client_start(conn, "SCRAM-SHA-1", NULL, &out, &outlen,
                                       &mech),
                     SASL_CONTINUE);
        snprintf(cnonce, sizeof cnonce, "%.*s", (int)outlen, out);
        if (strstr(cnonce, ",r="))
            memmove(cnonce, strstr(cnonce, ",r=") + 3,
                    strlen(strstr(cnonce, ",r=") + 3) + 1);
        strcat(cnonce, "srv");
        snprintf(msg, sizeof msg, bad_first[i], cnonce);
        r = sasl_client_step(conn, msg, (unsigned)strlen(msg), NULL, &out,
                             &outlen);
        if (r >= 0)
            fprintf(stderr, "bad server-first %zu (%s) accepted: %d\n", i, msg, r);
        CHECK(r < 0);
        sasl_dispose(&conn);
    }
}

static void test_other_hashes(void)
{
    /* SHA-224/384/512: only the client-first message is checked here. */
    struct creds c = { .authname = "user", .pass = "pencil" };
    sasl_callback_t cbs[4];
    const char *mechs[] = { "SCRAM-SHA-224", "SCRAM-SHA-384", "SCRAM-SHA-512" };
    size_t i;
    make_callbacks(cbs, &c);
    for (i = 0; i < 3; i++) {
        sasl_conn_t *conn = new_conn(cbs);
        const char *out = NULL, *mech = NULL;
        unsigned outlen = 0;
        CHECK_EQ_INT(sasl_client_start(conn, mechs[i], NULL, &out, &outlen,
                                       &mech),
                     SASL_CONTINUE);
        CHECK_EQ_STR(mech, mechs[i]);
        CHECK(outlen > 12 && memcmp(out, "n,,n=user,r=", 12) == 0);
        sasl_dispose(&conn);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    hash_selftest();
    init_client_or_die(NULL);
    test_kat();
    test_channel_binding();
    test_protocol_errors();
    test_other_hashes();
    sasl_client_done();
    return check_done();
}
