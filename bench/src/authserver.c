/* SASL server for the SCRAM and DIGEST-MD5 benchmarks.  Always runs against
 * the SYSTEM Cyrus libsasl2 (the bench client strips LD_LIBRARY_PATH before
 * starting it).  Usage: authserver FD CONFDIR
 *
 * Talks to the bench client over FD (one end of a socketpair) with the framed
 * messages of common.h.  Authenticates against CONFDIR/sasldb2 (created with
 * saslpasswd2).  After a successful DIGEST-MD5 authentication it also decodes
 * frames for the client (MSG_DECODE) and encodes pattern data (MSG_ENCODE).
 */
#include "common.h"

static char sasldb_path[4096];

static int cb_getopt(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    const char *v = NULL;
    if (!strcmp(option, "sasldb_path"))
        v = sasldb_path;
    else if (!strcmp(option, "scram_iteration_counter"))
        v = "4096";
    else if (!strcmp(option, "auxprop_plugin"))
        v = "sasldb";
    else if (!strcmp(option, "pwcheck_method"))
        v = "auxprop";
    else if (!strcmp(option, "mech_list"))
        v = "SCRAM-SHA-1 SCRAM-SHA-224 SCRAM-SHA-256 SCRAM-SHA-384 SCRAM-SHA-512 DIGEST-MD5";
    if (!v)
        return SASL_FAIL;
    *result = v;
    if (len)
        *len = (unsigned)strlen(v);
    return SASL_OK;
}

static int cb_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level <= SASL_LOG_WARN)
        fprintf(stderr, "authserver: sasl log %d: %s\n", level, msg);
    return SASL_OK;
}

static sasl_callback_t server_cbs[] = {
    { SASL_CB_GETOPT, (int (*)(void))(void (*)(void))cb_getopt, NULL },
    { SASL_CB_LOG, (int (*)(void))(void (*)(void))cb_log, NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

static int fd;
static sasl_conn_t *conn;

static void reply(int r, const char *out, unsigned outlen)
{
    if (r == SASL_CONTINUE) {
        send_msg(fd, MSG_CONT, out, outlen);
    } else if (r == SASL_OK) {
        unsigned char *b = malloc(outlen + 1);
        b[0] = out != NULL;
        if (outlen)
            memcpy(b + 1, out, outlen);
        send_msg(fd, MSG_OK, b, outlen + 1);
        free(b);
    } else {
        const char *e = sasl_errdetail(conn);
        fprintf(stderr, "authserver: auth step failed: %d (%s)\n", r, e);
        send_msg(fd, MSG_FAIL, e, strlen(e));
    }
}

static void do_start(unsigned char *p, size_t len)
{
    if (conn)
        sasl_dispose(&conn);
    if (len < 14)
        die("authserver: short START");
    sasl_security_properties_t sp;
    memset(&sp, 0, sizeof sp);
    sp.min_ssf = get_u32(p);
    sp.max_ssf = get_u32(p + 4);
    sp.maxbufsize = get_u32(p + 8);
    int has_ir = p[12];
    const char *mech = (const char *)p + 13;
    size_t ml = strnlen(mech, len - 13);
    const char *ir = mech + ml + 1;
    size_t irlen = len - 13 - ml - 1;
    int r = sasl_server_new(BENCH_SERVICE, BENCH_HOST, BENCH_REALM, NULL, NULL, NULL, SASL_SUCCESS_DATA, &conn);
    if (r != SASL_OK)
        die("authserver: sasl_server_new: %d", r);
    r = sasl_setprop(conn, SASL_SEC_PROPS, &sp);
    if (r != SASL_OK)
        die("authserver: setprop: %d", r);
    const char *out = NULL;
    unsigned outlen = 0;
    r = sasl_server_start(conn, mech, has_ir ? ir : NULL, (unsigned)irlen, &out, &outlen);
    reply(r, out, outlen);
}

static void do_decode(unsigned char *p, size_t len)
{
    size_t cap = len + 1, n = 0;
    char *res = malloc(cap);
    while (len >= 4) {
        size_t fl = 4 + get_u32(p);
        if (fl > len)
            die("authserver: truncated frame");
        const char *out;
        unsigned outlen;
        int r = sasl_decode(conn, (const char *)p, (unsigned)fl, &out, &outlen);
        if (r != SASL_OK)
            die("authserver: sasl_decode: %d (%s)", r, sasl_errdetail(conn));
        if (n + outlen > cap)
            res = realloc(res, cap = 2 * (n + outlen));
        memcpy(res + n, out, outlen);
        n += outlen;
        p += fl;
        len -= fl;
    }
    send_msg(fd, MSG_DATA, res, n);
    free(res);
}

static void do_encode(unsigned char *p, size_t len)
{
    if (len < 4)
        die("authserver: short ENCODE");
    size_t total = get_u32(p);
    const unsigned *maxout;
    if (sasl_getprop(conn, SASL_MAXOUTBUF, (const void **)&maxout) != SASL_OK)
        die("authserver: no maxoutbuf");
    size_t chunk = *maxout;
    unsigned char *src = malloc(total);
    fill_pattern(src, 0, total);
    size_t cap = total + total / 8 + 4096, n = 0;
    char *res = malloc(cap);
    for (size_t off = 0; off < total; off += chunk) {
        size_t l = total - off < chunk ? total - off : chunk;
        const char *out;
        unsigned outlen;
        int r = sasl_encode(conn, (const char *)src + off, (unsigned)l, &out, &outlen);
        if (r != SASL_OK)
            die("authserver: sasl_encode: %d (%s)", r, sasl_errdetail(conn));
        if (n + outlen > cap)
            res = realloc(res, cap = 2 * (n + outlen));
        memcpy(res + n, out, outlen);
        n += outlen;
    }
    send_msg(fd, MSG_DATA, res, n);
    free(res);
    free(src);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: authserver FD CONFDIR");
    fd = atoi(argv[1]);
    snprintf(sasldb_path, sizeof sasldb_path, "%s/sasldb2", argv[2]);
    int r = sasl_server_init(server_cbs, "bench");
    if (r != SASL_OK)
        die("authserver: sasl_server_init: %d", r);
    const char *lib = sasl_lib_path();
    send_msg(fd, MSG_INFO, lib, strlen(lib));
    for (;;) {
        int type;
        unsigned char *p;
        size_t len;
        if (recv_msg(fd, &type, &p, &len))
            break;
        switch (type) {
        case MSG_START:
            do_start(p, len);
            break;
        case MSG_STEP: {
            const char *out = NULL;
            unsigned outlen = 0;
            if (!conn)
                die("authserver: STEP without START");
            r = sasl_server_step(conn, (const char *)p, (unsigned)len, &out, &outlen);
            reply(r, out, outlen);
            break;
        }
        case MSG_DECODE:
            do_decode(p, len);
            break;
        case MSG_ENCODE:
            do_encode(p, len);
            break;
        case MSG_QUIT:
            free(p);
            goto done;
        default:
            die("authserver: unknown message %c", type);
        }
        free(p);
    }
done:
    if (conn)
        sasl_dispose(&conn);
    sasl_done();
    return 0;
}
