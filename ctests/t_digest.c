/* DIGEST-MD5 client (RFC 2831) against known answers computed here:
 * the digest response, mutual authentication (rspauth), and the integrity
 * (auth-int) and RC4 confidentiality (auth-conf) security layers.  The
 * client nonce is random, so it is read back from the response and every
 * expected value is recomputed from it with hashes.h. */
#include "check.h"
#include "hashes.h"

static const char *g_user = "chris";
static const char *g_pass = "secret";
static const char *g_realm = "elwood.innosoft.com";
static const char *g_nonce = "OA6MG9tEQGm2hh";
static const char *g_uri = "imap/elwood.innosoft.com";

/* ------------------------------------------------------------ helpers */

static void hash_selftest(void)
{
    unsigned char d[32];
    char hex[65];
    hash_buf(H_MD5, "abc", 3, d);
    to_hex(d, 16, hex);
    CHECK_EQ_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
    hmac(H_MD5, "Jefe", 4, "what do ya want for nothing?", 28, d); /* RFC 2104 */
    to_hex(d, 16, hex);
    CHECK_EQ_STR(hex, "750c783e6ab0b503eaa86e310a5db738");
}

struct kv {
    char key[32];
    char val[256];
};

/* Split a DIGEST-MD5 directive list; quotes removed.  Returns count. */
static int parse_kv(const char *s, unsigned len, struct kv *out, int max)
{
    unsigned i = 0;
    int n = 0;
    while (i < len && n < max) {
        size_t k = 0, v = 0;
        while (i < len && (s[i] == ',' || s[i] == ' '))
            i++;
        if (i >= len)
            break;
        while (i < len && s[i] != '=' && k < sizeof out[n].key - 1)
            out[n].key[k++] = s[i++];
        out[n].key[k] = '\0';
        if (i < len && s[i] == '=')
            i++;
        if (i < len && s[i] == '"') {
            i++;
            while (i < len && s[i] != '"' && v < sizeof out[n].val - 1) {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                out[n].val[v++] = s[i++];
            }
            if (i < len)
                i++;
        } else {
            while (i < len && s[i] != ',' && v < sizeof out[n].val - 1)
                out[n].val[v++] = s[i++];
        }
        out[n].val[v] = '\0';
        n++;
    }
    return n;
}

static const char *get(const struct kv *kv, int n, const char *key)
{
    int i;
    for (i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].val;
    return NULL;
}

/* H(A1) (raw) for md5-sess without authzid */
static void ha1_raw(const char *cnonce, unsigned char out[16])
{
    unsigned char urp[16];
    struct hash_ctx c;
    hash_init(&c, H_MD5);
    hash_update(&c, g_user, strlen(g_user));
    hash_update(&c, ":", 1);
    hash_update(&c, g_realm, strlen(g_realm));
    hash_update(&c, ":", 1);
    hash_update(&c, g_pass, strlen(g_pass));
    hash_final(&c, urp);
    hash_init(&c, H_MD5);
    hash_update(&c, urp, 16);
    hash_update(&c, ":", 1);
    hash_update(&c, g_nonce, strlen(g_nonce));
    hash_update(&c, ":", 1);
    hash_update(&c, cnonce, strlen(cnonce));
    hash_final(&c, out);
}

/* response-value (client) or rspauth (server, a2prefix ":") */
static void digest_value(const char *cnonce, const char *qop,
                         const char *a2prefix, char hexout[33])
{
    unsigned char ha1[16], ha2[16], r[16];
    char ha1hex[33], ha2hex[33];
    struct hash_ctx c;

    ha1_raw(cnonce, ha1);
    to_hex(ha1, 16, ha1hex);
    hash_init(&c, H_MD5);
    hash_update(&c, a2prefix, strlen(a2prefix));
    hash_update(&c, g_uri, strlen(g_uri));
    if (strcmp(qop, "auth") != 0)
        hash_update(&c, ":00000000000000000000000000000000", 33);
    hash_final(&c, ha2);
    to_hex(ha2, 16, ha2hex);
    hash_init(&c, H_MD5);
    hash_update(&c, ha1hex, 32);
    hash_update(&c, ":", 1);
    hash_update(&c, g_nonce, strlen(g_nonce));
    hash_update(&c, ":00000001:", 10);
    hash_update(&c, cnonce, strlen(cnonce));
    hash_update(&c, ":", 1);
    hash_update(&c, qop, strlen(qop));
    hash_update(&c, ":", 1);
    hash_update(&c, ha2hex, 32);
    hash_final(&c, r);
    to_hex(r, 16, hexout);
}

static void magic_key(const unsigned char *ha1, size_t n, const char *magic,
                      unsigned char out[16])
{
    struct hash_ctx c;
    hash_init(&c, H_MD5);
    hash_update(&c, ha1, n);
    hash_update(&c, magic, strlen(magic));
    hash_final(&c, out);
}

struct rc4 {
    unsigned char s[256];
    unsigned char i, j;
};

static void rc4_init(struct rc4 *r, const unsigned char *key, size_t klen)
{
    unsigned i;
    unsigned char j = 0, t;
    for (i = 0; i < 256; i++)
        r->s[i] = (unsigned char)i;
    for (i = 0; i < 256; i++) {
        j = (unsigned char)(j + r->s[i] + key[i % klen]);
        t = r->s[i]; r->s[i] = r->s[j]; r->s[j] = t;
    }
    r->i = r->j = 0;
}

static void rc4_crypt(struct rc4 *r, unsigned char *buf, size_t n)
{
    size_t k;
    unsigned char t;
    for (k = 0; k < n; k++) {
        r->i++;
        r->j = (unsigned char)(r->j + r->s[r->i]);
        t = r->s[r->i]; r->s[r->i] = r->s[r->j]; r->s[r->j] = t;
        buf[k] ^= r->s[(unsigned char)(r->s[r->i] + r->s[r->j])];
    }
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* HMAC-MD5(ki, seq || msg)[0..10] */
static void mac10(const unsigned char ki[16], uint32_t seq, const void *msg,
                  size_t len, unsigned char out[10])
{
    unsigned char buf[4096 + 4], d[16];
    put32(buf, seq);
    memcpy(buf + 4, msg, len);
    hmac(H_MD5, ki, 16, buf, len + 4, d);
    memcpy(out, d, 10);
}

/* ------------------------------------------------------------ exchange */

struct session {
    sasl_conn_t *conn;
    char cnonce[256];
    char qop[32];
    char cipher[32];
    unsigned char ha1[16];
};


/* Run the first two legs; returns the step result. */
static int start_session(struct session *s, const char *challenge,
                         unsigned min_ssf, unsigned max_ssf, unsigned maxbuf,
                         sasl_callback_t *cbs)
{
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    struct kv kv[32];
    int n, r;
    char want[33];

    memset(s, 0, sizeof *s);
    s->conn = NULL;
    r = sasl_client_new("imap", "elwood.innosoft.com", NULL, NULL, cbs, 0,
                        &s->conn);
    CHECK_EQ_INT(r, SASL_OK);
    if (r != SASL_OK)
        return r;
    if (maxbuf)
        set_secprops(s->conn, min_ssf, max_ssf, maxbuf, 0);
    /* No clientout: Cyrus's DIGEST-MD5 would otherwise try a "subsequent
     * authentication" from its reauth cache (see test_reauth). */
    r = sasl_client_start(s->conn, "DIGEST-MD5", NULL, NULL, NULL, &mech);
    CHECK_EQ_INT(r, SASL_CONTINUE);
    CHECK_EQ_STR(mech, "DIGEST-MD5");
    r = sasl_client_step(s->conn, challenge, (unsigned)strlen(challenge), NULL,
                         &out, &outlen);
    if (r != SASL_CONTINUE)
        return r;
    n = parse_kv(out, outlen, kv, 32);
    CHECK_EQ_STR(get(kv, n, "username"), g_user);
    CHECK_EQ_STR(get(kv, n, "realm"), g_realm);
    CHECK_EQ_STR(get(kv, n, "nonce"), g_nonce);
    CHECK_EQ_STR(get(kv, n, "nc"), "00000001");
    CHECK_EQ_STR(get(kv, n, "digest-uri"), g_uri);
    CHECK(get(kv, n, "authzid") == NULL);
    CHECK(get(kv, n, "cnonce") != NULL && strlen(get(kv, n, "cnonce")) >= 8);
    CHECK(get(kv, n, "qop") != NULL);
    CHECK(get(kv, n, "response") != NULL);
    if (!get(kv, n, "cnonce") || !get(kv, n, "qop") || !get(kv, n, "response"))
        return SASL_FAIL;
    snprintf(s->cnonce, sizeof s->cnonce, "%s", get(kv, n, "cnonce"));
    snprintf(s->qop, sizeof s->qop, "%s", get(kv, n, "qop"));
    if (get(kv, n, "cipher"))
        snprintf(s->cipher, sizeof s->cipher, "%s", get(kv, n, "cipher"));
    digest_value(s->cnonce, s->qop, "AUTHENTICATE:", want);
    CHECK_EQ_STR(get(kv, n, "response"), want);
    ha1_raw(s->cnonce, s->ha1);
    return r;
}

static int finish_session(struct session *s)
{
    char rsp[33], msg[64];
    const char *out = (const char *)1;
    unsigned outlen = 99;
    int r;
    digest_value(s->cnonce, s->qop, ":", rsp);
    snprintf(msg, sizeof msg, "rspauth=%s", rsp);
    r = sasl_client_step(s->conn, msg, (unsigned)strlen(msg), NULL, &out, &outlen);
    if (r == SASL_OK) {
        CHECK(out != NULL);
        CHECK_EQ_INT(outlen, 0);
    }
    return r;
}

static void test_auth(sasl_callback_t *cbs)
{
    struct session s;
    const void *v;
    const char *chal =
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
        "algorithm=md5-sess,charset=utf-8";

    CHECK_EQ_INT(start_session(&s, chal, 0, 0, 0, cbs), SASL_CONTINUE);
    CHECK_EQ_STR(s.qop, "auth");
    CHECK_EQ_INT(finish_session(&s), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(s.conn, SASL_USERNAME, &v), SASL_OK);
    CHECK_EQ_STR(v, "chris");
    CHECK_EQ_INT(sasl_getprop(s.conn, SASL_SSF, &v), SASL_OK);
    CHECK(v && *(const sasl_ssf_t *)v == 0);
    sasl_dispose(&s.conn);

    /* a wrong rspauth is a failed mutual authentication */
    CHECK_EQ_INT(start_session(&s, chal, 0, 0, 0, cbs), SASL_CONTINUE);
    {
        const char *out;
        unsigned outlen;
        const char *bad = "rspauth=00000000000000000000000000000000";
        CHECK_EQ_INT(sasl_client_step(s.conn, bad, (unsigned)strlen(bad), NULL,
                                      &out, &outlen),
                     SASL_BADSERV);
    }
    sasl_dispose(&s.conn);

    /* garbage challenges */
    {
        const char *bad[] = {
            "this is not a digest challenge",
            "realm=\"x\",qop=\"auth\",algorithm=md5-sess", /* no nonce */
            "nonce=\"abc\",qop=\"auth\"",                   /* no algorithm */
            "nonce=\"abc\",algorithm=md5-sess,qop=\"auth-conf\"", /* no cipher */
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            sasl_conn_t *conn = new_conn(cbs);
            const char *out;
            unsigned outlen;
            int r;
            CHECK_EQ_INT(sasl_client_start(conn, "DIGEST-MD5", NULL, &out,
                                           &outlen, NULL),
                         SASL_CONTINUE);
            r = sasl_client_step(conn, bad[i], (unsigned)strlen(bad[i]), NULL,
                                 &out, &outlen);
            if (r >= 0)
                fprintf(stderr, "garbage challenge %zu accepted: %d\n", i, r);
            CHECK(r < 0);
            sasl_dispose(&conn);
        }
    }
}

static void test_auth_int(sasl_callback_t *cbs)
{
    struct session s;
    const void *v;
    const char *out;
    unsigned outlen, i;
    unsigned char kic[16], kis[16], frame[128], mac[10];
    const char *chal =
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
        "qop=\"auth,auth-int\",maxbuf=2048,algorithm=md5-sess,charset=utf-8";

    /* max_ssf 1 -> integrity only */
    CHECK_EQ_INT(start_session(&s, chal, 0, 1, 4096, cbs), SASL_CONTINUE);
    CHECK_EQ_STR(s.qop, "auth-int");
    CHECK_EQ_INT(finish_session(&s), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(s.conn, SASL_SSF, &v), SASL_OK);
    CHECK(v && *(const sasl_ssf_t *)v == 1);
    CHECK_EQ_INT(sasl_getprop(s.conn, SASL_MAXOUTBUF, &v), SASL_OK);
    /* the server's maxbuf minus the 16 bytes of MAC trailer */
    CHECK(v && *(const unsigned *)v == 2048 - 16);

    magic_key(s.ha1, 16, "Digest session key to client-to-server signing key magic constant", kic);
    magic_key(s.ha1, 16, "Digest session key to server-to-client signing key magic constant", kis);

    /* client -> server: len(4) msg MAC(10) 0x0001 seq(4) */
    for (i = 0; i < 3; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "hello %u", i);
        CHECK_EQ_INT(sasl_encode(s.conn, msg, (unsigned)n, &out, &outlen), SASL_OK);
        put32(frame, (uint32_t)n + 16);
        memcpy(frame + 4, msg, (size_t)n);
        mac10(kic, i, msg, (size_t)n, frame + 4 + n);
        frame[4 + n + 10] = 0;
        frame[4 + n + 11] = 1;
        put32(frame + 4 + n + 12, i);
        CHECK_EQ_MEM(out, outlen, frame, (size_t)n + 20);
    }
    /* encodev frames the concatenation as one message */
    {
        struct iovec iov[2] = { { (void *)"ab", 2 }, { (void *)"cd", 2 } };
        CHECK_EQ_INT(sasl_encodev(s.conn, iov, 2, &out, &outlen), SASL_OK);
        put32(frame, 4 + 16);
        memcpy(frame + 4, "abcd", 4);
        mac10(kic, 3, "abcd", 4, frame + 8);
        frame[18] = 0;
        frame[19] = 1;
        put32(frame + 20, 3);
        CHECK_EQ_MEM(out, outlen, frame, 24);
    }

    /* server -> client, delivered in two pieces */
    {
        const char *smsg = "server says hi";
        size_t n = strlen(smsg);
        put32(frame, (uint32_t)n + 16);
        memcpy(frame + 4, smsg, n);
        mac10(kis, 0, smsg, n, frame + 4 + n);
        frame[4 + n + 10] = 0;
        frame[4 + n + 11] = 1;
        put32(frame + 4 + n + 12, 0);
        CHECK_EQ_INT(sasl_decode(s.conn, (const char *)frame, 7, &out, &outlen),
                     SASL_OK);
        CHECK_EQ_INT(outlen, 0); /* incomplete frame: nothing yet */
        CHECK_EQ_INT(sasl_decode(s.conn, (const char *)frame + 7,
                                 (unsigned)(n + 20 - 7), &out, &outlen),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, smsg, n);
        /* a replayed frame (wrong sequence number) is rejected */
        CHECK(sasl_decode(s.conn, (const char *)frame, (unsigned)(n + 20), &out,
                          &outlen) < 0);
    }
    sasl_dispose(&s.conn);

    /* tampered MAC */
    CHECK_EQ_INT(start_session(&s, chal, 0, 1, 4096, cbs), SASL_CONTINUE);
    CHECK_EQ_INT(finish_session(&s), SASL_OK);
    magic_key(s.ha1, 16, "Digest session key to server-to-client signing key magic constant", kis);
    put32(frame, 3 + 16);
    memcpy(frame + 4, "abc", 3);
    mac10(kis, 0, "abc", 3, mac);
    mac[0] ^= 1;
    memcpy(frame + 7, mac, 10);
    frame[17] = 0;
    frame[18] = 1;
    put32(frame + 19, 0);
    CHECK(sasl_decode(s.conn, (const char *)frame, 23, &out, &outlen) < 0);
    sasl_dispose(&s.conn);
}

/* Named cyrus_leaky_*: Cyrus's plug-in leaks an OpenSSL RC4 cipher object
 * per connection (suppressed for the system library only, cyrus.supp). */
static void __attribute__((noinline))
cyrus_leaky_auth_conf_rc4(sasl_callback_t *cbs)
{
    struct session s;
    const void *v;
    const char *out;
    unsigned outlen, i;
    unsigned char kic[16], kis[16], kcc[16], kcs[16], buf[256];
    struct rc4 enc, dec;
    const char *chal =
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
        "qop=\"auth,auth-int,auth-conf\",cipher=\"rc4-40,rc4-56,rc4,des,3des\","
        "maxbuf=65536,algorithm=md5-sess,charset=utf-8";

    CHECK_EQ_INT(start_session(&s, chal, 0, 256, 65536, cbs), SASL_CONTINUE);
    CHECK_EQ_STR(s.qop, "auth-conf");
    CHECK_EQ_STR(s.cipher, "rc4"); /* strongest offered (128) */
    CHECK_EQ_INT(finish_session(&s), SASL_OK);
    CHECK_EQ_INT(sasl_getprop(s.conn, SASL_SSF, &v), SASL_OK);
    CHECK(v && *(const sasl_ssf_t *)v == 128);

    magic_key(s.ha1, 16, "Digest session key to client-to-server signing key magic constant", kic);
    magic_key(s.ha1, 16, "Digest session key to server-to-client signing key magic constant", kis);
    magic_key(s.ha1, 16, "Digest H(A1) to client-to-server sealing key magic constant", kcc);
    magic_key(s.ha1, 16, "Digest H(A1) to server-to-client sealing key magic constant", kcs);
    rc4_init(&enc, kcc, 16);
    rc4_init(&dec, kcs, 16);

    /* client -> server: len(4) RC4(msg || MAC10) 0x0001 seq(4) */
    for (i = 0; i < 3; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "secret message %u", i);
        CHECK_EQ_INT(sasl_encode(s.conn, msg, (unsigned)n, &out, &outlen), SASL_OK);
        put32(buf, (uint32_t)n + 16);
        memcpy(buf + 4, msg, (size_t)n);
        mac10(kic, i, msg, (size_t)n, buf + 4 + n);
        rc4_crypt(&enc, buf + 4, (size_t)n + 10);
        buf[4 + n + 10] = 0;
        buf[4 + n + 11] = 1;
        put32(buf + 4 + n + 12, i);
        CHECK_EQ_MEM(out, outlen, buf, (size_t)n + 20);
    }
    /* server -> client */
    for (i = 0; i < 2; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "reply %u from the server", i);
        put32(buf, (uint32_t)n + 16);
        memcpy(buf + 4, msg, (size_t)n);
        mac10(kis, i, msg, (size_t)n, buf + 4 + n);
        rc4_crypt(&dec, buf + 4, (size_t)n + 10);
        buf[4 + n + 10] = 0;
        buf[4 + n + 11] = 1;
        put32(buf + 4 + n + 12, i);
        CHECK_EQ_INT(sasl_decode(s.conn, (const char *)buf, (unsigned)n + 20,
                                 &out, &outlen),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, msg, (size_t)n);
    }
    sasl_dispose(&s.conn);

    /* rc4-40 when that is all the server offers: the key is H(A1)[0..5] */
    {
        const char *chal40 =
            "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
            "qop=\"auth-conf\",cipher=\"rc4-40\",algorithm=md5-sess";
        CHECK_EQ_INT(start_session(&s, chal40, 0, 256, 65536, cbs), SASL_CONTINUE);
        CHECK_EQ_STR(s.cipher, "rc4-40");
        CHECK_EQ_INT(finish_session(&s), SASL_OK);
        CHECK_EQ_INT(sasl_getprop(s.conn, SASL_SSF, &v), SASL_OK);
        CHECK(v && *(const sasl_ssf_t *)v == 40);
        magic_key(s.ha1, 16, "Digest session key to client-to-server signing key magic constant", kic);
        magic_key(s.ha1, 5, "Digest H(A1) to client-to-server sealing key magic constant", kcc);
        rc4_init(&enc, kcc, 16);
        CHECK_EQ_INT(sasl_encode(s.conn, "x", 1, &out, &outlen), SASL_OK);
        put32(buf, 1 + 16);
        buf[4] = 'x';
        mac10(kic, 0, "x", 1, buf + 5);
        rc4_crypt(&enc, buf + 4, 11);
        buf[15] = 0;
        buf[16] = 1;
        put32(buf + 17, 0);
        CHECK_EQ_MEM(out, outlen, buf, 21);
        sasl_dispose(&s.conn);
    }

    /* min_ssf above what the server offers: the client gives up */
    {
        const char *chalint =
            "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
            "qop=\"auth,auth-int\",algorithm=md5-sess";
        int r = start_session(&s, chalint, 56, 256, 65536, cbs);
        CHECK(r < 0);
        sasl_dispose(&s.conn);
    }
}

/* sasl_done, then sasl_client_init again. Cyrus loses what its plugins
 * allocated at the previous init (the DIGEST-MD5 plugin's global context)
 * when it initialises again, hence the cyrus_leaky_ names of this and of
 * the first init (suppressed for the system library only). */
static void __attribute__((noinline)) cyrus_leaky_reinit(void)
{
    sasl_done();
    CHECK_EQ_INT(sasl_client_init(NULL), SASL_OK);
}

static void __attribute__((noinline)) cyrus_leaky_first_init(void)
{
    init_client_or_die(NULL);
}

/* A second sasl_client_start on a connection whose layer is up is refused
 * (SASL_FAIL, as in Cyrus), and the layer stays: SSF, MAXOUTBUF and
 * USERNAME still describe what sasl_encode/sasl_decode do. Named
 * cyrus_leaky_*: Cyrus leaks the refused start's mechanism state. */
static void __attribute__((noinline))
cyrus_leaky_restart_keeps_layer(sasl_callback_t *cbs)
{
    struct session s;
    const void *v;
    const char *out, *mech;
    unsigned outlen;
    const char *chal =
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
        "qop=\"auth,auth-int\",maxbuf=2048,algorithm=md5-sess,charset=utf-8";
    const char *again[] = { "PLAIN", "DIGEST-MD5" };
    size_t i;

    for (i = 0; i < 2; i++) {
        CHECK_EQ_INT(start_session(&s, chal, 0, 1, 4096, cbs), SASL_CONTINUE);
        CHECK_EQ_INT(finish_session(&s), SASL_OK);
        out = NULL;
        mech = NULL;
        CHECK_EQ_INT(sasl_client_start(s.conn, again[i], NULL, &out, &outlen, &mech),
                     SASL_FAIL);
        if (!is_rust_impl()) {
            /* Cyrus frees the layer's state while refusing: sasl_encode
             * then reads freed memory (a crash outside valgrind). */
            sasl_dispose(&s.conn);
            return;
        }
        CHECK_PREFIX(sasl_errdetail(s.conn), "SASL(-1): generic failure: authentication on this connection has already completed");
        CHECK_EQ_INT(sasl_getprop(s.conn, SASL_SSF, &v), SASL_OK);
        CHECK(v && *(const sasl_ssf_t *)v == 1);
        CHECK_EQ_INT(sasl_getprop(s.conn, SASL_MAXOUTBUF, &v), SASL_OK);
        CHECK(v && *(const unsigned *)v == 2048 - 16);
        CHECK_EQ_INT(sasl_getprop(s.conn, SASL_USERNAME, &v), SASL_OK);
        CHECK_EQ_STR(v, "chris");
        CHECK_EQ_INT(sasl_getprop(s.conn, SASL_MECHNAME, &v), SASL_OK);
        CHECK_EQ_STR(v, "DIGEST-MD5");
        /* the layer still protects: 3 bytes become a 4 + 3 + 16 byte frame */
        CHECK_EQ_INT(sasl_encode(s.conn, "abc", 3, &out, &outlen), SASL_OK);
        CHECK_EQ_INT(outlen, 4 + 3 + 16);
        /* and an unprotected "packet" is refused, not passed through */
        CHECK(sasl_decode(s.conn, "\0\0\0\3abc", 7, &out, &outlen) < 0);
        sasl_dispose(&s.conn);
    }
}

/* The receive limit is the maxbuf DIGEST-MD5 advertised (at most 0xFFFFFF),
 * even when the application's maxbufsize is larger: a packet announcing more
 * is refused from its length alone, before anything is buffered. */
static void test_decode_bounded_by_advertised_maxbuf(sasl_callback_t *cbs)
{
    struct session s;
    const char *out;
    unsigned outlen;
    const char *chal =
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
        "qop=\"auth,auth-int\",algorithm=md5-sess,charset=utf-8";
    static const char big[8] = { 0x01, 0x00, 0x00, 0x00, 'x', 'x', 'x', 'x' };

    CHECK_EQ_INT(start_session(&s, chal, 0, 1, 0xFFFFFFFFu, cbs), SASL_CONTINUE);
    CHECK_EQ_INT(finish_session(&s), SASL_OK);
    /* a 16 MiB packet: one more than the 0xFFFFFF advertised. Cyrus waits
     * for (and would buffer) all of it. */
    if (is_rust_impl())
        CHECK(sasl_decode(s.conn, big, sizeof big, &out, &outlen) < 0);
    sasl_dispose(&s.conn);
}

static void test_reauth(sasl_callback_t *cbs)
{
    /* Cyrus's DIGEST-MD5 client caches the last session per server and,
     * when asked for an initial response (clientout != NULL), answers
     * straight away with a "subsequent authentication" (RFC 2831 2.2):
     * same nonce, nc=00000002, and so does sasl2-rs. */
    struct session s;
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0;
    int r;
    const char *chal =
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
        "algorithm=md5-sess,charset=utf-8";

    CHECK_EQ_INT(start_session(&s, chal, 0, 0, 0, cbs), SASL_CONTINUE);
    CHECK_EQ_INT(finish_session(&s), SASL_OK);
    sasl_dispose(&s.conn);

    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "elwood.innosoft.com", NULL, NULL, cbs,
                                 0, &conn),
                 SASL_OK);
    r = sasl_client_start(conn, "DIGEST-MD5", NULL, &out, &outlen, NULL);
    CHECK_EQ_INT(r, SASL_CONTINUE);
    {
        struct kv kv[32];
        int n = parse_kv(out, outlen, kv, 32);
        CHECK(outlen > 0);
        CHECK_EQ_STR(get(kv, n, "nonce"), g_nonce);
        CHECK_EQ_STR(get(kv, n, "nc"), "00000002");
        CHECK_EQ_STR(get(kv, n, "username"), g_user);
        if (!is_rust_impl()) {
            CHECK_EQ_STR(get(kv, n, "cnonce"), s.cnonce);
        } else {
            /* sasl2-rs: a fresh cnonce, so fresh layer keys (README) */
            CHECK(get(kv, n, "cnonce") && strcmp(get(kv, n, "cnonce"), s.cnonce) != 0);
        }
    }
    sasl_dispose(&conn);

    /* the next connection takes the next nonce-count */
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "elwood.innosoft.com", NULL, NULL, cbs,
                                 0, &conn),
                 SASL_OK);
    out = NULL;
    outlen = 0;
    CHECK_EQ_INT(sasl_client_start(conn, "DIGEST-MD5", NULL, &out, &outlen, NULL),
                 SASL_CONTINUE);
    CHECK(out != NULL && strstr(out, "nc=00000003") != NULL);
    sasl_dispose(&conn);

    /* a different server has no cached session: no initial response */
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "other.example.com", NULL, NULL, cbs,
                                 0, &conn),
                 SASL_OK);
    out = (const char *)1;
    CHECK_EQ_INT(sasl_client_start(conn, "DIGEST-MD5", NULL, &out, &outlen,
                                   NULL),
                 SASL_CONTINUE);
    CHECK_EQ_INT(outlen, 0);
    CHECK(out == NULL);
    sasl_dispose(&conn);

    /* sasl_done forgets every server */
    cyrus_leaky_reinit();
    conn = NULL;
    CHECK_EQ_INT(sasl_client_new("imap", "elwood.innosoft.com", NULL, NULL, cbs,
                                 0, &conn),
                 SASL_OK);
    out = (const char *)1;
    CHECK_EQ_INT(sasl_client_start(conn, "DIGEST-MD5", NULL, &out, &outlen,
                                   NULL),
                 SASL_CONTINUE);
    CHECK_EQ_INT(outlen, 0);
    CHECK(out == NULL);
    sasl_dispose(&conn);
}

int main(int argc, char **argv)
{
    struct creds c = { .authname = "chris", .pass = "secret" };
    sasl_callback_t cbs[4];
    (void)argc;
    ct_setup(argv[0]);
    hash_selftest();
    make_callbacks(cbs, &c);
    cyrus_leaky_first_init();
    test_auth(cbs);
    test_auth_int(cbs);
    cyrus_leaky_restart_keeps_layer(cbs);
    test_decode_bounded_by_advertised_maxbuf(cbs);
    cyrus_leaky_auth_conf_rc4(cbs);
    test_reauth(cbs);
    sasl_client_done();
    return check_done();
}
