/* sasl_encode / sasl_encodev / sasl_decode without a security layer
 * (SSF 0): data passes through unchanged, subject to the application having
 * declared a non-zero maxbufsize. */
#include "check.h"
#include <sys/uio.h>

static sasl_conn_t *plain_done(sasl_callback_t *cbs, unsigned maxbufsize)
{
    sasl_conn_t *conn = new_conn(cbs);
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    if (maxbufsize)
        set_secprops(conn, 0, 256, maxbufsize, 0);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    return conn;
}

static void test_no_maxbufsize(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0;
    struct iovec iov = { (void *)"abc", 3 };

    make_callbacks(cbs, &c);

    /* An application that never set SEC_PROPS (maxbufsize 0) "does not
     * support security layers": SASL_TOOWEAK, before and after auth. */
    conn = new_conn(cbs);
    CHECK_EQ_INT(sasl_encode(conn, "abc", 3, &out, &outlen), SASL_TOOWEAK);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-15): mechanism too weak for this user: ");
    if (!is_rust_impl())
        CHECK_EQ_STR(sasl_errdetail(conn),
                     "SASL(-15): mechanism too weak for this user: called "
                     "sasl_encode[v] with application that does not support "
                     "security layers");
    CHECK_EQ_INT(sasl_decode(conn, "abc", 3, &out, &outlen), SASL_TOOWEAK);
    CHECK_EQ_INT(sasl_encodev(conn, &iov, 1, &out, &outlen), SASL_TOOWEAK);
    sasl_dispose(&conn);

    conn = plain_done(cbs, 0);
    CHECK_EQ_INT(sasl_encode(conn, "abc", 3, &out, &outlen), SASL_TOOWEAK);
    CHECK_EQ_INT(sasl_decode(conn, "abc", 3, &out, &outlen), SASL_TOOWEAK);
    sasl_dispose(&conn);
}

static void test_before_auth(void)
{
    /* With maxbufsize set, Cyrus passes data through even before (or
     * without) authentication: there is no layer yet, so nothing to do. */
    sasl_conn_t *conn = new_conn(NULL);
    const char *out = NULL;
    unsigned outlen = 0;

    set_secprops(conn, 0, 256, 1024, 0);
    CHECK_EQ_INT(sasl_encode(conn, "hello", 5, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "hello", 5);
    CHECK_EQ_INT(sasl_decode(conn, "world", 5, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, "world", 5);
    sasl_dispose(&conn);
}

static void test_passthrough(void)
{
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL;
    unsigned outlen = 0;
    const void *v;
    char in[300], big[5000];
    size_t i;

    make_callbacks(cbs, &c);
    conn = plain_done(cbs, 4096);
    CHECK_EQ_INT(sasl_getprop(conn, SASL_SSF, &v), SASL_OK);
    CHECK(v && *(const sasl_ssf_t *)v == 0);

    for (i = 0; i < sizeof in; i++)
        in[i] = (char)(i * 7 + 3); /* binary, includes NULs */
    CHECK_EQ_INT(sasl_encode(conn, in, sizeof in, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, in, sizeof in);
    CHECK(out != in); /* a copy in the library's buffer */

    CHECK_EQ_INT(sasl_decode(conn, in, sizeof in, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, in, sizeof in);
    CHECK(out != NULL && out[outlen] == '\0'); /* decode output is NUL-terminated */

    /* encodev concatenates */
    {
        struct iovec iov[4] = {
            { (void *)"one ", 4 }, { (void *)"", 0 }, { (void *)"two ", 4 },
            { (void *)"three", 5 },
        };
        CHECK_EQ_INT(sasl_encodev(conn, iov, 4, &out, &outlen), SASL_OK);
        CHECK_EQ_MEM(out, outlen, "one two three", 13);
        CHECK_EQ_INT(sasl_encodev(conn, iov, 1, &out, &outlen), SASL_OK);
        CHECK_EQ_MEM(out, outlen, "one ", 4);
    }

    /* without a layer, encode does not enforce maxoutbuf */
    memset(big, 'b', sizeof big);
    CHECK_EQ_INT(sasl_encode(conn, big, sizeof big, &out, &outlen), SASL_OK);
    CHECK_EQ_MEM(out, outlen, big, sizeof big);
    /* ...but decode refuses input larger than maxbufsize */
    CHECK_EQ_INT(sasl_decode(conn, big, sizeof big, &out, &outlen), SASL_BUFOVER);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-3): overflowed buffer: ");
    if (!is_rust_impl())
        CHECK_EQ_STR(sasl_errdetail(conn),
                     "SASL(-3): overflowed buffer: input too large for default "
                     "sasl_decode");
    CHECK_EQ_INT(sasl_decode(conn, big, 4096, &out, &outlen), SASL_OK);
    CHECK_EQ_INT(outlen, 4096);

    /* decode of nothing */
    CHECK_EQ_INT(sasl_decode(conn, "", 0, &out, &outlen), SASL_OK);
    CHECK_EQ_INT(outlen, 0);

    /* argument checks */
    CHECK_EQ_INT(sasl_encode(conn, "abc", 0, &out, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encode(conn, NULL, 3, &out, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encode(conn, "abc", 3, NULL, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encode(conn, "abc", 3, &out, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encode(NULL, "abc", 3, &out, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_encodev(conn, NULL, 1, &out, &outlen), SASL_BADPARAM);
    {
        struct iovec iov = { (void *)"x", 1 };
        CHECK_EQ_INT(sasl_encodev(conn, &iov, 0, &out, &outlen), SASL_BADPARAM);
        CHECK_EQ_INT(sasl_encodev(conn, &iov, 1, NULL, &outlen), SASL_BADPARAM);
        CHECK_EQ_INT(sasl_encodev(NULL, &iov, 1, &out, &outlen), SASL_BADPARAM);
    }
    CHECK_EQ_INT(sasl_decode(conn, NULL, 3, &out, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_decode(conn, "abc", 3, NULL, &outlen), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_decode(conn, "abc", 3, &out, NULL), SASL_BADPARAM);
    CHECK_EQ_INT(sasl_decode(NULL, "abc", 3, &out, &outlen), SASL_BADPARAM);
    CHECK_PREFIX(sasl_errdetail(conn), "SASL(-7): invalid parameter supplied: ");

    /* many round trips reuse the buffers */
    for (i = 0; i < 200; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "message number %zu", i);
        CHECK_EQ_INT(sasl_encode(conn, msg, (unsigned)n, &out, &outlen), SASL_OK);
        CHECK_EQ_MEM(out, outlen, msg, (size_t)n);
        CHECK_EQ_INT(sasl_decode(conn, msg, (unsigned)n, &out, &outlen), SASL_OK);
        CHECK_EQ_MEM(out, outlen, msg, (size_t)n);
    }
    sasl_dispose(&conn);
}

int main(int argc, char **argv)
{
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(NULL);
    test_no_maxbufsize();
    test_before_auth();
    test_passthrough();
    sasl_client_done();
    return check_done();
}
