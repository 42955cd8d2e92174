/* saslutil.h: base64, UTF-8 check, buffer erasure, challenges, the random
 * pool API and sasl_strlower.  None of these need sasl_client_init except
 * sasl_mkchal's connection. */
#include "check.h"

static void enc_ok(const char *in, unsigned inlen, const char *want)
{
    char out[256];
    unsigned outlen = 12345;
    memset(out, 'X', sizeof out);
    CHECK_EQ_INT(sasl_encode64(in, inlen, out, sizeof out, &outlen), SASL_OK);
    CHECK_EQ_STR(out, want);
    CHECK_EQ_INT(outlen, strlen(want));
}

static void test_encode64(void)
{
    char out[64];
    unsigned outlen = 0;

    /* RFC 4648 vectors */
    enc_ok("", 0, "");
    enc_ok("f", 1, "Zg==");
    enc_ok("fo", 2, "Zm8=");
    enc_ok("foo", 3, "Zm9v");
    enc_ok("foob", 4, "Zm9vYg==");
    enc_ok("fooba", 5, "Zm9vYmE=");
    enc_ok("foobar", 6, "Zm9vYmFy");
    enc_ok("\xff\xfe\x00", 3, "//4A");
    enc_ok("\0\0\0\0", 4, "AAAAAA==");
    enc_ok("tim b913a602c7eda7a495b4e6e7334d3890", 36,
           "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");

    /* the output needs room for the terminating NUL: outmax must exceed
     * the encoded length; outlen reports the needed length anyway */
    memset(out, 'X', sizeof out);
    outlen = 0;
    CHECK_EQ_INT(sasl_encode64("foo", 3, out, 4, &outlen), SASL_BUFOVER);
    CHECK_EQ_INT(outlen, 4);
    CHECK(out[0] == 'X'); /* nothing written */
    CHECK_EQ_INT(sasl_encode64("foo", 3, out, 5, &outlen), SASL_OK);
    CHECK_EQ_STR(out, "Zm9v");
    CHECK(out[5] == 'X'); /* no write past outmax */
    outlen = 99;
    CHECK_EQ_INT(sasl_encode64("", 0, out, 0, &outlen), SASL_BUFOVER);
    CHECK_EQ_INT(outlen, 0);
    CHECK_EQ_INT(sasl_encode64("", 0, out, 1, &outlen), SASL_OK);
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(sasl_encode64("fooba", 5, out, 8, &outlen), SASL_BUFOVER);
    CHECK_EQ_INT(outlen, 8);

    /* outlen is optional */
    CHECK_EQ_INT(sasl_encode64("fo", 2, out, sizeof out, NULL), SASL_OK);
    CHECK_EQ_STR(out, "Zm8=");
    /* NULL input only with zero length */
    CHECK_EQ_INT(sasl_encode64(NULL, 3, out, sizeof out, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encode64(NULL, 0, out, sizeof out, &outlen), SASL_OK);
    CHECK_EQ_STR(out, "");

    /* long input */
    {
        static char in[3000], enc[4100], dec[3100];
        unsigned i, n = 0, m = 0;
        for (i = 0; i < sizeof in; i++)
            in[i] = (char)(i * 31 + 7);
        CHECK_EQ_INT(sasl_encode64(in, sizeof in, enc, sizeof enc, &n), SASL_OK);
        CHECK_EQ_INT(n, 4000);
        CHECK(strchr(enc, '\n') == NULL); /* no line breaks */
        CHECK_EQ_INT(sasl_decode64(enc, n, dec, sizeof dec, &m), SASL_OK);
        CHECK_EQ_MEM(dec, m, in, sizeof in);
    }
}

static void dec_is(int line, const char *in, int want_rc, const char *want,
                   unsigned wantlen)
{
    char out[256];
    unsigned outlen = 12345;
    int r;
    memset(out, 'X', sizeof out);
    r = sasl_decode64(in, (unsigned)strlen(in), out, sizeof out, &outlen);
    if (r != want_rc)
        fprintf(stderr, "decode64 case at line %d (\"%s\")\n", line, in);
    CHECK_EQ_INT(r, want_rc);
    if (r == want_rc && (want_rc == SASL_OK || want_rc == SASL_CONTINUE)) {
        CHECK_EQ_MEM(out, outlen, want, wantlen);
        CHECK(out[outlen] == '\0');
    }
}

static void test_decode64(void)
{
    char out[64], buf[64];
    unsigned outlen = 0;

    dec_is(__LINE__, "", SASL_OK, "", 0);
    dec_is(__LINE__, "Zg==", SASL_OK, "f", 1);
    dec_is(__LINE__, "Zm8=", SASL_OK, "fo", 2);
    dec_is(__LINE__, "Zm9v", SASL_OK, "foo", 3);
    dec_is(__LINE__, "Zm9vYg==", SASL_OK, "foob", 4);
    dec_is(__LINE__, "Zm9vYmE=", SASL_OK, "fooba", 5);
    dec_is(__LINE__, "Zm9vYmFy", SASL_OK, "foobar", 6);
    dec_is(__LINE__, "//4A", SASL_OK, "\xff\xfe\x00", 3);
    /* non-canonical trailing bits are accepted */
    dec_is(__LINE__, "Zh==", SASL_OK, "f", 1);
    dec_is(__LINE__, "Zm9=", SASL_OK, "fo", 2);

    /* incomplete final quantum (no padding): SASL_CONTINUE with the bytes
     * decoded so far */
    dec_is(__LINE__, "Zg", SASL_CONTINUE, "", 0);
    dec_is(__LINE__, "Zm9", SASL_CONTINUE, "", 0);
    dec_is(__LINE__, "Zm9vYg", SASL_CONTINUE, "foo", 3);
    /* no whitespace skipping: a trailing CRLF is an incomplete quantum... */
    dec_is(__LINE__, "Zm9v\r\n", SASL_CONTINUE, "foo", 3);
    /* ...or an error after padding */
    dec_is(__LINE__, "Zg==\r\n", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "Zm 9v", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "Zm9v\r\nZm9v", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, " Zm9v", SASL_BADPROT, NULL, 0);
    /* a leading CR is SASL_FAIL (special-cased) */
    dec_is(__LINE__, "\r\nZm9v", SASL_FAIL, NULL, 0);
    dec_is(__LINE__, "\r", SASL_FAIL, NULL, 0);

    /* invalid characters and padding */
    dec_is(__LINE__, "Zm9!", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "Zm-_", SASL_BADPROT, NULL, 0); /* no URL alphabet */
    dec_is(__LINE__, "Z===", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "====", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "Zg=a", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "=Zm9", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "Zg==Zg==", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "Zg==Zg", SASL_BADPROT, NULL, 0);
    dec_is(__LINE__, "Zm9v\xc3\xa9" "AB", SASL_BADPROT, NULL, 0);
    /* a trailing partial quantum is not even looked at */
    dec_is(__LINE__, "Zm9v\xc3\xa9", SASL_CONTINUE, "foo", 3);
    dec_is(__LINE__, "Zm\x80v", SASL_BADPROT, NULL, 0);

    /* output space: outmax must exceed the decoded length (NUL) */
    CHECK_EQ_INT(sasl_decode64("Zm9v", 4, out, 3, &outlen), SASL_BUFOVER);
    CHECK_EQ_INT(sasl_decode64("Zm9v", 4, out, 4, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "foo", 3);
    CHECK_EQ_INT(sasl_decode64("Zm9vYmFy", 8, out, 6, &outlen), SASL_BUFOVER);
    CHECK_EQ_INT(sasl_decode64("Zm9vYmFy", 8, out, 7, &outlen), SASL_OK);
    CHECK_EQ_INT(outlen, 6);

    /* inlen is honoured (not strlen) */
    CHECK_EQ_INT(sasl_decode64("Zm9vYmFy", 4, out, sizeof out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "foo", 3);
    /* outlen optional */
    CHECK_EQ_INT(sasl_decode64("Zm8=", 4, out, sizeof out, NULL), SASL_OK);
    CHECK_EQ_STR(out, "fo");
    /* NULL output buffer: SASL_FAIL */
    CHECK_EQ_INT(sasl_decode64("Zm8=", 4, NULL, sizeof out, &outlen), SASL_FAIL);
    /* in-place decoding is allowed */
    strcpy(buf, "Zm9vYmFy");
    CHECK_EQ_INT(sasl_decode64(buf, 8, buf, sizeof buf, &outlen), SASL_OK);
    CHECK_EQ_MEM(buf, outlen, "foobar", 6);
    CHECK(buf[6] == '\0');
}

static void test_utf8verify(void)
{
    CHECK_EQ_INT(sasl_utf8verify("", 0), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("plain ascii", 11), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("a\0b", 3), SASL_OK); /* NUL is ASCII */
    CHECK_EQ_INT(sasl_utf8verify("h\xc3\xa9llo", 6), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xe2\x82\xac", 3), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xf0\x9f\x98\x80", 4), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xef\xbf\xbf", 3), SASL_OK);
    /* len is honoured: the invalid byte after it is not looked at */
    CHECK_EQ_INT(sasl_utf8verify("ok\xff", 2), SASL_OK);

    CHECK_EQ_INT(sasl_utf8verify("\x80", 1), SASL_BADPROT);  /* lone continuation */
    CHECK_EQ_INT(sasl_utf8verify("a\xbf" "b", 3), SASL_BADPROT);
    CHECK_EQ_INT(sasl_utf8verify("\xff", 1), SASL_BADPROT);
    CHECK_EQ_INT(sasl_utf8verify("\xfe", 1), SASL_BADPROT);
    CHECK_EQ_INT(sasl_utf8verify("\xc3" "A", 2), SASL_BADPROT); /* truncated */
    CHECK_EQ_INT(sasl_utf8verify("\xe2\x82x", 3), SASL_BADPROT);
    CHECK_EQ_INT(sasl_utf8verify("x\xc3", 2), SASL_BADPROT);  /* truncated at end */
    CHECK_EQ_INT(sasl_utf8verify("\xf0\x9f\x98", 3), SASL_BADPROT);

    /* Cyrus only checks the lead-byte / continuation-byte structure (up to
     * 6-byte forms): overlong encodings, surrogates and code points beyond
     * U+10FFFF pass.  A drop-in must not start rejecting these. */
    CHECK_EQ_INT(sasl_utf8verify("\xc0\x80", 2), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xc1\xbf", 2), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xe0\x80\xaf", 3), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xed\xa0\x80", 3), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xf4\x90\x80\x80", 4), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xf8\x88\x80\x80\x80", 5), SASL_OK);
    CHECK_EQ_INT(sasl_utf8verify("\xfc\x84\x80\x80\x80\x80", 6), SASL_OK);
}

static void test_erasebuffer(void)
{
    char buf[16];
    size_t i;
    memset(buf, 'A', sizeof buf);
    sasl_erasebuffer(buf, 10);
    for (i = 0; i < 10; i++)
        CHECK(buf[i] == '\0');
    for (i = 10; i < sizeof buf; i++)
        CHECK(buf[i] == 'A');
    sasl_erasebuffer(buf + 10, 0);
    CHECK(buf[10] == 'A');
}

static int is_chal(const char *s, const char *host)
{
    /* "<digits.digits>" or "<digits.digits@host>" */
    const char *p = s;
    if (*p++ != '<')
        return 0;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '.')
        return 0;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (host) {
        if (*p++ != '@')
            return 0;
        if (strncmp(p, host, strlen(host)) != 0)
            return 0;
        p += strlen(host);
    }
    return p[0] == '>' && p[1] == '\0';
}

static void test_mkchal(void)
{
    char buf[128], buf2[128];
    sasl_conn_t *conn = NULL;
    int n;

    init_client_or_die(NULL);
    CHECK_EQ_INT(sasl_client_new("imap", "Mail.Example.Com", NULL, NULL, NULL, 0,
                                 &conn),
                 SASL_OK);
    n = sasl_mkchal(conn, buf, sizeof buf, 0);
    CHECK_EQ_INT(n, strlen(buf));
    CHECK(is_chal(buf, NULL));
    n = sasl_mkchal(conn, buf2, sizeof buf2, 0);
    CHECK(n > 0 && strcmp(buf, buf2) != 0);
    n = sasl_mkchal(conn, buf, sizeof buf, 1);
    CHECK_EQ_INT(n, strlen(buf));
    CHECK(is_chal(buf, "mail.example.com"));
    /* the buffer must hold the worst case: 4 + 2*20 (+ '@' + FQDN) */
    CHECK_EQ_INT(sasl_mkchal(conn, buf, 43, 0), 0);
    CHECK(sasl_mkchal(conn, buf, 44, 0) > 0);
    CHECK_EQ_INT(sasl_mkchal(conn, buf, 44 + 16, 1), 0);
    CHECK(sasl_mkchal(conn, buf, 44 + 17, 1) > 0);
    sasl_dispose(&conn);

    /* without a server FQDN the host part is left out */
    CHECK_EQ_INT(sasl_client_new("imap", NULL, NULL, NULL, NULL, 0, &conn),
                 SASL_OK);
    n = sasl_mkchal(conn, buf, sizeof buf, 1);
    CHECK(n > 0 && is_chal(buf, NULL));
    sasl_dispose(&conn);
    /* no connection is needed when no host is wanted */
    n = sasl_mkchal(NULL, buf, sizeof buf, 0);
    CHECK(n > 0 && is_chal(buf, NULL));
    sasl_client_done();
}

static void test_rand(void)
{
    sasl_rand_t *pool = NULL;
    char a[32], b[32], zero[32];
    memset(zero, 0, sizeof zero);

    CHECK_EQ_INT(sasl_randcreate(&pool), SASL_OK);
    CHECK(pool != NULL);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    sasl_rand(pool, a, sizeof a);
    sasl_rand(pool, b, sizeof b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(memcmp(a, zero, sizeof a) != 0);
    sasl_rand(pool, a, 0);
    sasl_churn(pool, "some entropy", 12);
    sasl_churn(pool, "", 0);
    sasl_randseed(pool, "seed01", 6);
    sasl_rand(pool, a, sizeof a);
    sasl_randfree(&pool);

    /* NULL pools / buffers are ignored, not dereferenced */
    sasl_rand(NULL, a, sizeof a);
    sasl_churn(NULL, "x", 1);
    sasl_randseed(NULL, "seed01", 6);
    CHECK_EQ_INT(sasl_randcreate(&pool), SASL_OK);
    sasl_rand(pool, NULL, 4);
    sasl_churn(pool, NULL, 4);
    sasl_randseed(pool, NULL, 4);
    sasl_randfree(&pool);
}

static void test_strlower(void)
{
    char s[] = "HeLLo-123 \xc3\x84" "B@EXAMPLE.COM";
    char empty[] = "";
    CHECK(sasl_strlower(s) == s);
    CHECK_EQ_STR(s, "hello-123 \xc3\x84" "b@example.com"); /* ASCII only */
    CHECK(sasl_strlower(empty) == empty);
    CHECK(sasl_strlower(NULL) == NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    test_encode64();
    test_decode64();
    test_utf8verify();
    test_erasebuffer();
    test_mkchal();
    test_rand();
    test_strlower();
    return check_done();
}
