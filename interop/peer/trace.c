/* What a client application sees of an exchange, as text, for comparing
 * two libraries with the same program (interop/differential.sh): every call
 * of its callbacks (which, in which order, with what), the prompts it is
 * shown, what each client call returns, what the server was sent (its
 * authorization callback's view) and, after a success, the properties.
 * Byte counts and nonces are left out: they differ on purpose.
 *
 * The server is Cyrus's, in the same process (with sasl2-rs it is reached
 * through the library's forwarding), with users in a private sasldb.
 *
 * usage: trace SASLDB   prints "=== MECH vN" (a mechanism the server offers
 * alone) or "=== listL vN (LIST)" (a list to choose from), and the trace of
 * each case; N numbers the kinds of application (see setup()). Then
 * "=== props MECH vN" (every property at each stage), "=== OTP vN"
 * (Cyrus's OTP plugin, for differential.sh's otpuser), "=== oddL vN"
 * (lists written oddly) and "=== restart MECH rK" (the same client
 * connection started again).
 *        trace SASLDB hostile   a hostile server: each of its messages to
 * the client in turn is replaced by each of MUTATIONS variants of it
 * ("=== hostile MECH sK mM"), then the server's protected packets after a
 * success changed in PACKET_VARIANTS ways ("=== hostile-layer MECH pV");
 * each case runs in a child process, so that a crash is a line of the
 * trace ("  crashed by signal N").
 *        trace SASLDB global   the application's callbacks given to
 * sasl_client_init too ("=== global MECH gK", see run_global()). */
#include <sasl/sasl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CB(f) ((int (*)(void))(void (*)(void))(f))

/* A library may log in the middle of a call whose results share a line
 * of the trace (sasl_decode's, of a layer round trip): such log lines wait
 * for the end of that line, so that they are lines of their own. */
static char pending_logs[1 << 16];
static size_t pending_len;
static int mid_line;

static int trace_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int trace_printf(const char *fmt, ...)
{
    char buf[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs(buf, stdout);
    if (buf[0])
        mid_line = buf[strlen(buf) - 1] != '\n';
    if (!mid_line && pending_len) {
        fwrite(pending_logs, 1, pending_len, stdout);
        pending_len = 0;
    }
    return n;
}
#define printf trace_printf
#define puts(s) trace_printf("%s\n", (s))
#define putchar(c) trace_printf("%c", (c))

static const char *sasldb;

/* What a case's application does. */
static struct {
    const char *user;   /* SASL_CB_USER's answer; NULL: no such callback */
    int user_null;      /* SASL_CB_USER answers SASL_OK with NULL */
    int user_code;      /* SASL_CB_USER answers this code (with its name) */
    int authname_fails; /* SASL_CB_AUTHNAME answers SASL_FAIL */
    int authname_code;  /* SASL_CB_AUTHNAME answers this code (with its name) */
    int authname_null;  /* SASL_CB_AUTHNAME answers SASL_OK with NULL */
    int len_plus_one;   /* lengths given as strlen + 1 (mutt's prompts) */
    int len_half;       /* prompts' lengths given as half of strlen */
    int step_after_done; /* one more sasl_client_step, without data, after a success */
    int secret_null;    /* SASL_CB_PASS answers SASL_OK with NULL */
    int secret_len0;    /* SASL_CB_PASS answers a secret of len 0 with text */
    int secret_code;    /* SASL_CB_PASS answers this code */
    int realm_code;     /* SASL_CB_GETREALM answers this code (Perl's 1) */
    const char *pass;
    int canon;          /* 0 as given, 1 refuse authzids, 2 capitalise, 3 no callback */
    int prompts;        /* every item through SASL_INTERACT */
    int prompt_null;    /* prompts answered with a NULL result: 1 USER, 2 GETREALM, 4 AUTHNAME, 8 PASS */
    int prompt_name;    /* the authentication name through SASL_INTERACT */
    const char *name;   /* SASL_CB_AUTHNAME's answer (default "alice") */
    int no_authname;    /* no SASL_CB_AUTHNAME callback: the library's default */
    int realm_fails;    /* SASL_CB_GETREALM answers SASL_FAIL */
    int binding;        /* channel binding: 0 none, 1 set, 2 set and critical */
    int no_initial;     /* no initial response (clientout NULL: IMAP without SASL-IR) */
    sasl_security_properties_t props;
    int show_props;     /* sasl_getprop of every property at each stage */
    unsigned ext_ssf;   /* SASL_SSF_EXTERNAL on both sides (a TLS layer) */
    /* After the exchange, sasl_client_start again on the same client
     * connection (a new server one), offering `restart` with the password
     * `restart_pass` (a client retrying after a failure, or authenticating
     * again); NULL: no second exchange. */
    const char *restart;
    const char *restart_pass;
    unsigned flags;        /* sasl_client_new's flags */
    unsigned server_flags; /* sasl_server_new's */
    int no_host;           /* sasl_client_new without a server name */
    const char *iplocal, *ipremote; /* sasl_client_new's addresses */
    int getopt;            /* a SASL_CB_GETOPT callback: 1 answering SASL_FAIL, 2 SASL_OK
                            * with NULL, 3 client_mech_list */
    /* Global mode (sasl_client_init with global_callbacks): the
     * connection's own list is 0 the usual one, 1 NULL, 2 empty, 3 only
     * SASL_CB_USER, 4 SASL_CB_AUTHNAME and SASL_CB_PASS without functions
     * (prompts), 5 only SASL_CB_LOG. */
    int conn_list;
} app;

static int srv_getopt(void *ctx, const char *plugin, const char *opt, const char **res, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    if (!strcmp(opt, "sasldb_path"))
        *res = sasldb;
    else if (!strcmp(opt, "auxprop_plugin"))
        *res = "sasldb";
    else if (!strcmp(opt, "pwcheck_method"))
        *res = "auxprop";
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*res);
    return SASL_OK;
}

static int srv_authorize(sasl_conn_t *conn, void *ctx, const char *user, unsigned ulen, const char *authid,
                         unsigned alen, const char *realm, unsigned rlen, struct propctx *props)
{
    (void)conn;
    (void)ctx;
    (void)realm;
    (void)rlen;
    (void)props;
    printf("  server was sent user=%.*s authid=%.*s\n", (int)ulen, user, (int)alen, authid);
    return SASL_OK;
}

/* The server's names unchanged, but NUL-terminated: Cyrus's GSSAPI server
 * hands its canonicalisation the authzid as a pointer into the unwrapped
 * token with a length, and the default canonicalisation looks for an '@'
 * with strchr, past the name: whether it appends the realm then depends on
 * the bytes that follow in memory (under memcheck they differ). */
static int srv_canon(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags,
                     const char *realm, char *out, unsigned outmax, unsigned *outlen)
{
    (void)conn;
    (void)ctx;
    (void)flags;
    (void)realm;
    if (inlen >= outmax)
        return SASL_BUFOVER;
    memcpy(out, in, inlen);
    out[inlen] = 0;
    *outlen = inlen;
    return SASL_OK;
}

static sasl_callback_t server_callbacks[] = {
    { SASL_CB_GETOPT, CB(srv_getopt), NULL },
    { SASL_CB_PROXY_POLICY, CB(srv_authorize), NULL },
    { SASL_CB_CANON_USER, CB(srv_canon), NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

/* Each callback's context: the connection's list gives &conn_context, the
 * global one &global_context; a callback given another says so. */
static int conn_context, global_context;
static void check_context(void *ctx)
{
    if (ctx != &conn_context && ctx != &global_context)
        printf("  callback given another context\n");
}

static int cb_simple(void *ctx, int id, const char **result, unsigned *len)
{
    check_context(ctx);
    printf("  callback simple %#x\n", id);
    if (id == SASL_CB_AUTHNAME) {
        if (app.authname_fails)
            return SASL_FAIL;
        *result = app.authname_null ? NULL : app.name ? app.name : "alice";
    } else if (id == SASL_CB_USER) {
        *result = app.user_null ? NULL : app.user;
    } else {
        return SASL_BADPARAM;
    }
    if (len)
        *len = *result ? (unsigned)strlen(*result) + (unsigned)app.len_plus_one : 0;
    return id == SASL_CB_AUTHNAME ? app.authname_code : app.user_code;
}

static int cb_secret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    static union {
        sasl_secret_t s;
        char buf[sizeof(sasl_secret_t) + 2048];
    } secret;
    (void)conn;
    check_context(ctx);
    printf("  callback secret %#x\n", id);
    memcpy(secret.s.data, app.pass, strlen(app.pass) + 1);
    secret.s.len = app.secret_len0 ? 0 : strlen(app.pass);
    *psecret = app.secret_null ? NULL : &secret.s;
    return app.secret_code;
}

static int cb_realm(void *ctx, int id, const char **available, const char **result)
{
    check_context(ctx);
    printf("  callback realm %#x first offered %s\n", id, available && available[0] ? available[0] : "(none)");
    if (app.realm_fails)
        return SASL_FAIL;
    *result = available && available[0] ? available[0] : "localhost";
    return app.realm_code;
}

static int cb_getopt(void *ctx, const char *plugin, const char *opt, const char **res, unsigned *len)
{
    check_context(ctx);
    printf("  callback getopt %s %s\n", plugin ? plugin : "(null)", opt);
    if (app.getopt == 2) {
        *res = NULL;
        if (len)
            *len = 0;
        return SASL_OK;
    }
    if (app.getopt == 3 && !strcmp(opt, "client_mech_list")) {
        *res = "CRAM-MD5 PLAIN GSSAPI";
        if (len)
            *len = (unsigned)strlen(*res);
        return SASL_OK;
    }
    return SASL_FAIL;
}

/* Every case has one; debug messages are each library's own (this one's
 * wait for the log_level option), the levels above them are compared.
 * Global mode's list has it too, with its own context. */
static int cb_log(void *ctx, int level, const char *message)
{
    const char *from = ctx == &global_context ? " (global list)" : ctx == &conn_context ? "" : " (another context)";
    if (level >= SASL_LOG_DEBUG)
        return SASL_OK;
    if (!mid_line) {
        printf("  callback log level %d%s%s\n", level, message ? "" : " NULL", from);
    } else {
        int n = snprintf(pending_logs + pending_len, sizeof pending_logs - pending_len, "  callback log level %d%s%s\n",
                         level, message ? "" : " NULL", from);
        if (n > 0 && (size_t)n < sizeof pending_logs - pending_len)
            pending_len += (size_t)n;
    }
    return SASL_OK;
}

static int cb_canon(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags,
                    const char *realm, char *out, unsigned outmax, unsigned *outlen)
{
    (void)conn;
    check_context(ctx);
    (void)realm;
    printf("  callback canon_user \"%.*s\"%s %u bytes, flags %u\n", inlen > 40 ? 40 : (int)inlen, in,
           inlen > 40 ? "..." : "", inlen, flags);
    if (app.canon == 1 && !(flags & SASL_CU_AUTHID))
        return SASL_FAIL;
    if (inlen >= outmax)
        return SASL_BUFOVER;
    memcpy(out, in, inlen);
    out[inlen] = 0;
    if (app.canon == 2 && inlen && out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
    *outlen = inlen;
    return SASL_OK;
}

/* Global mode: the same callbacks in sasl_client_init's list, each
 * saying so and whether it was given its own context, then answering as
 * the connection's would. The options asked are each library's own (see
 * cb_getopt's cases), so its getopt says nothing, and answers
 * client_mech_list when app.getopt is 3. */
static void from_global(void *ctx)
{
    printf("  (global list, %s context)\n", ctx == &global_context ? "its own" : "another");
}
static int g_simple(void *ctx, int id, const char **result, unsigned *len)
{
    from_global(ctx);
    return cb_simple(ctx, id, result, len);
}
static int g_secret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    from_global(ctx);
    return cb_secret(conn, ctx, id, psecret);
}
static int g_realm(void *ctx, int id, const char **available, const char **result)
{
    from_global(ctx);
    return cb_realm(ctx, id, available, result);
}
static int g_canon(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags, const char *realm,
                   char *out, unsigned outmax, unsigned *outlen)
{
    from_global(ctx);
    return cb_canon(conn, ctx, in, inlen, flags, realm, out, outmax, outlen);
}
static int g_getopt(void *ctx, const char *plugin, const char *opt, const char **res, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    if (app.getopt != 3 || strcmp(opt, "client_mech_list"))
        return SASL_FAIL;
    *res = "CRAM-MD5 PLAIN GSSAPI";
    if (len)
        *len = (unsigned)strlen(*res);
    return SASL_OK;
}
static sasl_callback_t global_callbacks[] = {
    { SASL_CB_AUTHNAME, CB(g_simple), &global_context },
    { SASL_CB_USER, CB(g_simple), &global_context },
    { SASL_CB_PASS, CB(g_secret), &global_context },
    { SASL_CB_GETREALM, CB(g_realm), &global_context },
    { SASL_CB_CANON_USER, CB(g_canon), &global_context },
    { SASL_CB_GETOPT, CB(g_getopt), &global_context },
    { SASL_CB_LOG, CB(cb_log), &global_context },
    { SASL_CB_LIST_END, NULL, NULL },
};

/* The server offers every layer. */
static const sasl_security_properties_t server_props = { 0, 256, 65536, 0, NULL, NULL };

static const char *text(const char *s)
{
    return s ? s : "(null)";
}

static void answer(sasl_interact_t *p)
{
    for (; p && p->id != SASL_CB_LIST_END; p++) {
        const char *v = p->id == SASL_CB_PASS ? (app.pass ? app.pass : "secret")
                      : p->id == SASL_CB_USER ? (app.user ? app.user : "")
                      : p->id == SASL_CB_GETREALM ? "localhost" : "alice";
        printf("  prompt %#lx challenge \"%s\" prompt \"%s\" default \"%s\"\n", p->id, text(p->challenge),
               text(p->prompt), text(p->defresult));
        int bit = p->id == SASL_CB_USER ? 1 : p->id == SASL_CB_GETREALM ? 2 : p->id == SASL_CB_AUTHNAME ? 4 : 8;
        p->result = app.prompt_null & bit ? NULL : v;
        p->len = !p->result ? 0 : app.len_half ? (unsigned)strlen(v) / 2 : (unsigned)strlen(v) + (unsigned)app.len_plus_one;
    }
}

/* `from` encodes `n` bytes, `to` decodes them: the results and sizes. */
static void one_way(const char *what, sasl_conn_t *from, sasl_conn_t *to, unsigned n)
{
    static char data[150000];
    const char *enc = NULL, *dec = NULL;
    unsigned enclen = 0, declen = 0;
    int r;
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + 3);
    r = sasl_encode(from, data, n, &enc, &enclen);
    printf("  %s %u bytes: sasl_encode %d, %u out", what, n, r, r == SASL_OK ? enclen : 0);
    if (r == SASL_OK) {
        r = sasl_decode(to, enc, enclen, &dec, &declen);
        printf("; sasl_decode %d, %u back%s", r, r == SASL_OK ? declen : 0,
               r == SASL_OK && declen == n && (!n || !memcmp(dec, data, n)) ? ", the same" : "");
    }
    putchar('\n');
}

/* After a success: data both ways through whatever layer there is, in
 * packets up to SASL_MAXOUTBUF and beyond. */
static void layer_round_trips(sasl_conn_t *client, sasl_conn_t *server)
{
    const void *v;
    unsigned maxout = sasl_getprop(client, SASL_MAXOUTBUF, &v) == SASL_OK && v ? *(const unsigned *)v : 0;
    unsigned sizes[] = { 1, 5000, maxout, maxout + 1, 150000 };
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sizes[i] > 150000)
            continue;
        one_way("to the server", client, server, sizes[i]);
        one_way("to the client", server, client, sizes[i]);
    }
}

/* Hostile mode: the server's message number `hostile.step` (1 for the
 * first the client is given) is replaced by variant `hostile.mutation`. */
static struct {
    int step, mutation, seen;
    int packets; /* variant of hostile_packets(), or -1 */
} hostile = { -1, 0, 0, -1 };

enum { MUTATIONS = 18 };

/* Where the comma-separated element `k` of buf[0..n) starts and ends (n,
 * n when there are fewer). */
static void element(const char *buf, unsigned n, int k, unsigned *from, unsigned *to)
{
    unsigned i = 0;
    for (; k > 0 && i < n; i++)
        if (buf[i] == ',')
            k--;
    *from = i;
    while (i < n && buf[i] != ',')
        i++;
    *to = i;
}

/* Variant `m` of the server's message `in`: empty, NULL, cut short, longer,
 * with a byte changed at either end or in the middle (to a letter no hex
 * digit is, so that the outcome does not depend on the nonce), a NUL inside
 * (each always a change, also of a binary message's random bytes), a
 * 0xFF two thirds in (counted from the end: a Kerberos token's length
 * varies with its sequence number, and a third of the way in lands in an
 * unprotected header field or not),
 * replaced by 3,000 letters or 100,000 bytes, sent twice, without its
 * first, second or last comma-separated element, or with the first one
 * twice. */
static void mutate(int m, const char **in, unsigned *len)
{
    static char buf[200000];
    unsigned n = *len;
    if (n > 90000)
        n = 90000;
    memcpy(buf, *in ? *in : "", n);
    switch (m) {
    case 0: n = 0; break;
    case 1: *in = NULL; *len = 0; return;
    case 2: n /= 2; break;
    case 3: n = n ? n - 1 : 0; break;
    case 4: buf[n++] = 'x'; break;
    case 5: memcpy(buf + n, ",x=y", 4); n += 4; break;
    case 6: if (n) buf[0] ^= 1; break;
    case 7: if (n) buf[n - 1] ^= 1; break;
    case 8: if (n) buf[n / 2] = buf[n / 2] == 'z' ? 'y' : 'z'; break;
    case 9: if (n) buf[n / 2] = buf[n / 2] ? 0 : 1; break;
    case 10: memset(buf, 'A', 3000); n = 3000; break;
    case 11: memset(buf, 'a', 100000); n = 100000; break;
    case 12: buf[n] = ','; memcpy(buf + n + 1, buf, n); n = 2 * n + 1; break;
    case 13: if (n) buf[n - 1 - n / 3] = buf[n - 1 - n / 3] == (char)0xff ? (char)0xfe : (char)0xff; break;
    case 14: case 15: case 16: case 17:
        /* Elements of text only: a binary message (NTLM's, a GSS-API
         * token) holds random bytes, commas among them at times. */
        for (unsigned i = 0; i < n; i++)
            if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e) {
                puts("  (not text: unchanged)");
                m = -1;
                break;
            }
        break;
    }
    switch (m) {
    case 14: case 15: case 16: {
        unsigned from, to, commas = 0;
        for (unsigned i = 0; i < n; i++)
            commas += buf[i] == ',';
        element(buf, n, m == 14 ? 0 : m == 15 ? 1 : (int)commas, &from, &to);
        if (to < n)
            to++; /* and its comma */
        else if (from > 0)
            from--;
        memmove(buf + from, buf + to, n - to);
        n -= to - from;
        break;
    }
    case 17: {
        unsigned from, to;
        element(buf, n, 0, &from, &to);
        memmove(buf + to + 1, buf, n);
        buf[to] = ',';
        n += to + 1;
        break;
    }
    }
    buf[n] = 0;
    *in = buf;
    *len = n;
}

/* Every message from the server to the client passes here. */
static void from_server(const char **msg, unsigned *len)
{
    if (++hostile.seen == hostile.step) {
        mutate(hostile.mutation, msg, len);
        printf("  the server's message %d replaced by variant %d\n", hostile.step, hostile.mutation);
        if (getenv("TRACE_SHOW")) { /* for debugging: what was sent instead, in hex */
            printf("  [");
            for (unsigned i = 0; i < *len; i++)
                printf("%02x", (unsigned char)(*msg)[i]);
            puts("]");
        }
    }
}

enum { PACKET_VARIANTS = 15 };

/* The client decodes `n` bytes of what the server sent; prints the result
 * and what came out (runs of the same byte: "a100b100"), unless `quiet`
 * and it took them with nothing to show yet. */
static int decode(sasl_conn_t *client, const char *p, unsigned n, int quiet)
{
    const char *out = NULL;
    unsigned outlen = 0;
    int r = sasl_decode(client, p, n, &out, &outlen);
    if (quiet && r == SASL_OK && outlen == 0)
        return r;
    printf("  sasl_decode %d", r);
    if (r == SASL_OK) {
        printf(", %u out ", outlen);
        for (unsigned i = 0; i < outlen;) {
            unsigned j = i;
            while (j < outlen && out[j] == out[i])
                j++;
            printf("%c%u", out[i] >= 'a' && out[i] <= 'z' ? out[i] : '?', j - i);
            i = j;
        }
    }
    putchar('\n');
    return r;
}

/* Hostile mode, after a success: the server's protected packets changed on
 * the way to the client (variant `v`): in order, byte by byte, both in
 * one call, replayed, reordered, the length prefix 0, 2^32-1, one more,
 * one less or 1 MiB, the last, a middle or the fifth byte changed, its
 * last byte sent apart and changed, and the first packet's length prefix
 * alone. */
static void hostile_packets(sasl_conn_t *client, sasl_conn_t *server, int v)
{
    static char pkt[2][8192], buf[16384];
    unsigned len[2], n;
    for (int i = 0; i < 2; i++) {
        const char *enc = NULL;
        char data[100];
        memset(data, 'a' + i, sizeof data);
        if (sasl_encode(server, data, sizeof data, &enc, &len[i]) != SASL_OK || len[i] > sizeof pkt[i] || len[i] < 5) {
            puts("  the server's sasl_encode failed");
            return;
        }
        memcpy(pkt[i], enc, len[i]);
    }
    printf("  packet variant %d\n", v);
    unsigned char *p0 = (unsigned char *)pkt[0];
    switch (v) {
    case 0: break;
    case 1:
        for (unsigned i = 0; i < len[0]; i++)
            if (decode(client, pkt[0] + i, 1, 1) != SASL_OK)
                return;
        decode(client, pkt[1], len[1], 0);
        return;
    case 2:
        memcpy(buf, pkt[0], len[0]);
        memcpy(buf + len[0], pkt[1], len[1]);
        decode(client, buf, len[0] + len[1], 0);
        return;
    case 3:
        if (decode(client, pkt[0], len[0], 0) == SASL_OK)
            decode(client, pkt[0], len[0], 0);
        return;
    case 4:
        if (decode(client, pkt[1], len[1], 0) == SASL_OK)
            decode(client, pkt[0], len[0], 0);
        return;
    case 5: memset(p0, 0, 4); break;
    case 6: memset(p0, 0xff, 4); break;
    case 7: case 8:
        n = ((unsigned)p0[0] << 24 | (unsigned)p0[1] << 16 | (unsigned)p0[2] << 8 | p0[3]) + (v == 7 ? 1 : -1u);
        p0[0] = (unsigned char)(n >> 24), p0[1] = (unsigned char)(n >> 16), p0[2] = (unsigned char)(n >> 8), p0[3] = (unsigned char)n;
        break;
    case 9: p0[len[0] - 1] ^= 1; break;
    case 10: p0[len[0] / 2] ^= 1; break;
    case 11: p0[4] ^= 1; break;
    case 12: p0[0] = 0, p0[1] = 0x10, p0[2] = 0, p0[3] = 0; break;
    case 13:
        /* Cut by a byte, then that byte changed: the rest of the packet
         * must not be taken from the next one, whose first byte would
         * match the last at times. */
        if (decode(client, pkt[0], len[0] - 1, 0) != SASL_OK)
            return;
        pkt[0][len[0] - 1] ^= 1;
        if (decode(client, pkt[0] + len[0] - 1, 1, 0) == SASL_OK)
            decode(client, pkt[1], len[1], 0);
        return;
    case 14: len[0] = 4; break;
    }
    if (decode(client, pkt[0], len[0], 0) == SASL_OK)
        decode(client, pkt[1], len[1], 0);
}

/* What sasl_getprop gives for every property number up to 22: its result
 * and the value (pointers only as NULL or not, SASL_CALLBACK as the
 * application's array or not, SASL_PLUGERR as empty or not: its text is
 * this library's own). */
static void show_props(sasl_conn_t *c, const char *when, const sasl_callback_t *cbs)
{
    printf("  properties %s:", when);
    for (int p = 0; p <= 22; p++) {
        const void *v = NULL;
        int r = sasl_getprop(c, p, &v);
        printf(" %d=%d", p, r);
        if (r != SASL_OK)
            continue;
        switch (p) {
        case SASL_SSF: case SASL_MAXOUTBUF:
            printf(":%u", v ? *(const unsigned *)v : 0);
            break;
        case SASL_USERNAME: case SASL_DEFUSERREALM: case SASL_IPLOCALPORT: case SASL_IPREMOTEPORT:
        case SASL_SERVICE: case SASL_SERVERFQDN: case SASL_AUTHSOURCE: case SASL_MECHNAME:
        case SASL_AUTHUSER: case SASL_APPNAME: case SASL_GSS_PEER_NAME: case SASL_GSS_LOCAL_NAME:
            printf(":%s", v ? (const char *)v : "(null)");
            break;
        case SASL_PLUGERR:
            printf(":%s", !v ? "(null)" : *(const char *)v ? "text" : "empty");
            break;
        case SASL_CALLBACK:
            printf(":%s", v == cbs ? "the application's" : v ? "other" : "(null)");
            break;
        default:
            printf(":%s", v ? "set" : "(null)");
        }
    }
    /* And what sasl_encode does with a byte: the layer's size or none. */
    const char *enc = NULL;
    unsigned enclen = 0;
    int r = sasl_encode(c, "x", 1, &enc, &enclen);
    printf("; sasl_encode %d, %u out\n", r, r == SASL_OK ? enclen : 0);
}

/* After a failure: the start of sasl_errdetail, "SASL(code): what the code
 * means" (the rest is each library's own explanation). */
static void show_errdetail(sasl_conn_t *c, int r)
{
    if (r >= 0)
        return;
    const char *d = sasl_errdetail(c);
    const char *colon = d ? strchr(d, ':') : NULL;
    const char *end = colon ? strchr(colon + 1, ':') : NULL;
    printf("  errdetail %.*s\n", end ? (int)(end - d) : d ? (int)strlen(d) : 6, d ? d : "(null)");
}

/* What both sides are told before an exchange: EXTERNAL's identity, the
 * external SSF, the channel binding and the security properties. */
static void set_props(sasl_conn_t *c, const char *offer, const sasl_security_properties_t *props)
{
    if (strstr(offer, "EXTERNAL")) {
        sasl_ssf_t ssf = 56;
        sasl_setprop(c, SASL_SSF_EXTERNAL, &ssf);
        sasl_setprop(c, SASL_AUTH_EXTERNAL, "alice");
    } else if (app.ext_ssf) {
        sasl_setprop(c, SASL_SSF_EXTERNAL, &app.ext_ssf);
    }
    if (app.binding) {
        static sasl_channel_binding_t cb = { "tls-unique", 0, 16, (const unsigned char *)"0123456789abcdef" };
        cb.critical = app.binding == 2;
        sasl_setprop(c, SASL_CHANNEL_BINDING, &cb);
    }
    sasl_setprop(c, SASL_SEC_PROPS, props);
}

/* One exchange on `client` with a new server connection; `offer` is the
 * server's list the client chooses from. */
static void exchange(sasl_conn_t *client, const char *offer, const char *host, const sasl_callback_t *cbs)
{
    sasl_conn_t *server = NULL;
    sasl_interact_t *prompts = NULL;
    const char *out = NULL, *chosen = NULL, *sout = NULL;
    unsigned outlen = 0, soutlen = 0;
    int r = SASL_FAIL, sr = SASL_FAIL, rounds = 0;

    if (sasl_server_new("imap", host, "localhost", NULL, NULL, NULL, app.server_flags, &server) != SASL_OK) {
        puts(" no connection");
        goto done;
    }
    set_props(server, offer, &server_props);
    do {
        out = NULL;
        outlen = 0;
        r = sasl_client_start(client, offer, &prompts, app.no_initial ? NULL : &out, app.no_initial ? NULL : &outlen,
                              &chosen);
        printf(" sasl_client_start %d %s\n", r, r == SASL_OK || r == SASL_CONTINUE ? text(chosen) : "");
        show_errdetail(client, r);
        if (r == SASL_INTERACT)
            answer(prompts);
    } while (r == SASL_INTERACT && ++rounds < 4);
    if (app.show_props)
        show_props(client, "after the start", cbs);
    if (r != SASL_OK && r != SASL_CONTINUE)
        goto done;
    sr = sasl_server_start(server, chosen, out, outlen, &sout, &soutlen);
    printf(" sasl_server_start %d\n", sr);
    while (sr == SASL_CONTINUE) {
        rounds = 0;
        from_server(&sout, &soutlen);
        do {
            r = sasl_client_step(client, sout, soutlen, &prompts, &out, &outlen);
            printf(" sasl_client_step %d\n", r);
            show_errdetail(client, r);
            if (r == SASL_INTERACT)
                answer(prompts);
        } while (r == SASL_INTERACT && ++rounds < 4);
        if (r != SASL_OK && r != SASL_CONTINUE)
            goto done;
        sr = sasl_server_step(server, out, outlen, &sout, &soutlen);
        printf(" sasl_server_step %d\n", sr);
    }
    if (sr == SASL_OK && r == SASL_CONTINUE) {
        from_server(&sout, &soutlen);
        r = sasl_client_step(client, sout, soutlen, &prompts, &out, &outlen);
        printf(" sasl_client_step %d (the server's success data)\n", r);
        show_errdetail(client, r);
    }
done:
    if (r == SASL_OK && sr == SASL_OK) {
        const void *v;
        const char *user = NULL, *authid = NULL;
        if (sasl_getprop(client, SASL_USERNAME, &v) == SASL_OK)
            user = v;
        if (sasl_getprop(client, SASL_AUTHUSER, &v) == SASL_OK)
            authid = v;
        printf(" done: SASL_USERNAME %s SASL_AUTHUSER %s", text(user), text(authid));
        if (sasl_getprop(client, SASL_SSF, &v) == SASL_OK && v)
            printf(" SASL_SSF %u", *(const unsigned *)v);
        if (sasl_getprop(client, SASL_MAXOUTBUF, &v) == SASL_OK && v)
            printf(" SASL_MAXOUTBUF %u", *(const unsigned *)v);
        putchar('\n');
        if (app.step_after_done) {
            r = sasl_client_step(client, NULL, 0, &prompts, &out, &outlen);
            printf(" sasl_client_step %d (after the success)\n", r);
            show_errdetail(client, r);
        }
        if (hostile.packets >= 0)
            hostile_packets(client, server, hostile.packets);
        else
            layer_round_trips(client, server);
    }
    sasl_dispose(&server);
}

/* One case: a client connection, its exchange, and with app.restart a
 * second one on the same connection. */
static void run(const char *offer, const char *host)
{
    sasl_callback_t cbs[10];
    sasl_conn_t *client = NULL;
    int i = 0, r;

    if (app.prompts) {
        cbs[i++] = (sasl_callback_t){ SASL_CB_AUTHNAME, NULL, NULL };
        cbs[i++] = (sasl_callback_t){ SASL_CB_USER, NULL, NULL };
        cbs[i++] = (sasl_callback_t){ SASL_CB_PASS, NULL, NULL };
        cbs[i++] = (sasl_callback_t){ SASL_CB_GETREALM, NULL, NULL };
    } else {
        if (!app.no_authname)
            cbs[i++] = (sasl_callback_t){ SASL_CB_AUTHNAME, app.prompt_name ? NULL : CB(cb_simple), &conn_context };
        if (app.user || app.user_null)
            cbs[i++] = (sasl_callback_t){ SASL_CB_USER, CB(cb_simple), &conn_context };
        if (app.pass)
            cbs[i++] = (sasl_callback_t){ SASL_CB_PASS, CB(cb_secret), &conn_context };
        cbs[i++] = (sasl_callback_t){ SASL_CB_GETREALM, CB(cb_realm), &conn_context };
    }
    if (app.canon != 3)
        cbs[i++] = (sasl_callback_t){ SASL_CB_CANON_USER, CB(cb_canon), &conn_context };
    if (app.getopt)
        cbs[i++] = (sasl_callback_t){ SASL_CB_GETOPT, CB(cb_getopt), &conn_context };
    cbs[i++] = (sasl_callback_t){ SASL_CB_LOG, CB(cb_log), &conn_context };
    cbs[i] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
    /* Global mode, app.conn_list above 1: a shorter list replaces the one
     * above (the global list answers the rest); 1 gives none at all. */
    i = 0;
    switch (app.conn_list) {
    case 3: cbs[i++] = (sasl_callback_t){ SASL_CB_USER, CB(cb_simple), &conn_context }; break;
    case 4:
        cbs[i++] = (sasl_callback_t){ SASL_CB_AUTHNAME, NULL, NULL };
        cbs[i++] = (sasl_callback_t){ SASL_CB_PASS, NULL, NULL };
        break;
    case 5: cbs[i++] = (sasl_callback_t){ SASL_CB_LOG, CB(cb_log), &conn_context }; break;
    }
    if (app.conn_list > 1)
        cbs[i] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };

    r = sasl_client_new("imap", app.no_host ? NULL : host, app.iplocal, app.ipremote, app.conn_list == 1 ? NULL : cbs,
                        app.flags, &client);
    printf(" sasl_client_new %d\n", r);
    if (r != SASL_OK) {
        puts(" no connection");
        sasl_dispose(&client);
        return;
    }
    if (app.show_props)
        show_props(client, "when new", cbs);
    set_props(client, offer, &app.props);
    exchange(client, offer, host, cbs);
    if (app.restart) {
        app.pass = app.restart_pass;
        printf(" again from %s\n", app.restart);
        exchange(client, app.restart, host, cbs);
    }
    if (app.show_props)
        show_props(client, "at the end", cbs);
    sasl_dispose(&client);
}

/* The application of case `v`. */
static void setup(int v)
{
    static char long_name[2001], long_pass[2001];
    memset(&app, 0, sizeof app);
    app.pass = "secret";
    app.props = (sasl_security_properties_t){ 0, 256, 65536, 0, NULL, NULL };
    switch (v) {
    case 1: app.user = "alice"; break;
    case 2: app.user = "bob"; break;
    case 3: app.user = "bob"; app.canon = 1; break;
    case 4: app.user = "bob"; app.canon = 2; break;
    case 5: app.prompts = 1; break;
    case 6: app.user_null = 1; break;
    case 7: app.authname_fails = 1; break;
    case 8: app.pass = "wrong"; break;
    case 9: app.user = ""; app.canon = 3; break;
    case 10: app.prompt_name = 1; app.user = "bob"; break;
    case 11: app.props.min_ssf = 56; break;
    case 12: app.props.security_flags = SASL_SEC_NOPLAINTEXT; break;
    case 13: app.props.maxbufsize = 0; break;
    case 14:
        memset(long_name, 'b', sizeof long_name - 1);
        app.user = long_name;
        break;
    case 15: app.pass = ""; break;
    case 16: app.name = " alice\t"; break;
    case 17: app.no_authname = 1; break;
    case 18: app.realm_fails = 1; break;
    case 19: app.props.max_ssf = 1; break;
    case 20: app.pass = NULL; break;
    case 21: app.props.security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_NODICTIONARY; break;
    case 22: app.binding = 1; break;
    case 23: app.binding = 2; break;
    /* Applications that do not follow sasl.h to the letter (each case in
     * its own process, see run_case()). */
    case 24: app.len_plus_one = 1; app.user = "bob"; break;
    case 25: app.len_plus_one = 1; app.prompts = 1; break;
    case 26: app.realm_code = 1; break;
    case 27: app.authname_null = 1; break;
    case 28: app.secret_null = 1; break;
    case 29: app.secret_len0 = 1; break;
    case 30: app.authname_code = SASL_INTERACT; break;
    case 31: app.authname_code = 1; break;
    case 32: app.secret_code = SASL_FAIL; break;
    case 33: app.authname_code = SASL_NOMEM; break;
    /* More security properties. */
    case 34: app.props.security_flags = SASL_SEC_NOACTIVE; break;
    case 35: app.props.security_flags = SASL_SEC_FORWARD_SECRECY; break;
    case 36: app.props.security_flags = SASL_SEC_PASS_CREDENTIALS; break;
    case 37: app.props.security_flags = SASL_SEC_MUTUAL_AUTH; break;
    case 38: app.props.min_ssf = 1; break;
    case 39: app.props.maxbufsize = 1000; break;
    case 40: app.props.min_ssf = 128; break;
    case 41: app.ext_ssf = 56; app.props.security_flags = SASL_SEC_NOPLAINTEXT; break;
    case 42: app.ext_ssf = 256; app.props.min_ssf = 56; app.props.max_ssf = 256; break;
    case 43: app.no_initial = 1; break;
    case 44: app.no_initial = 1; app.prompts = 1; break;
    /* sasl_client_new's other arguments. */
    case 45: app.flags = app.server_flags = SASL_SUCCESS_DATA; break; /* LDAP's, IMAP's */
    case 46: app.flags = SASL_NEED_PROXY; app.user = "bob"; break;
    case 47: app.no_host = 1; break;
    case 48: app.iplocal = "127.0.0.1;4321"; app.ipremote = "127.0.0.1;143"; break;
    case 49: app.iplocal = "[::1]:4321"; app.ipremote = "not an address"; break;
    /* A SASL_CB_GETOPT callback. */
    case 50: app.getopt = 1; break;
    case 51: app.getopt = 2; break;
    case 52: app.getopt = 3; break;
    /* Names and passwords as users type them (differential.sh's users). */
    case 53: app.name = "carol"; app.pass = "g\xc3\xabh\xc3\xa9im"; break; /* UTF-8, in Latin-1 too */
    case 54: app.name = "dora"; app.pass = "\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c"; break; /* not */
    case 55: app.name = "j\xc3\xbcrgen"; break;
    case 56: app.name = "alice@localhost"; break;
    case 57: /* a password as long as a bearer token (erin's) */
        memset(long_pass, 'p', sizeof long_pass - 1);
        app.name = "erin";
        app.pass = long_pass;
        break;
    case 58: app.name = ""; break;
    /* Prompts answered with a NULL result. */
    case 59: app.prompts = 1; app.prompt_null = 1; break;
    case 60: app.prompts = 1; app.prompt_null = 2; break;
    case 61: app.prompts = 1; app.prompt_null = 4; break;
    case 62: app.prompts = 1; app.prompt_null = 8; break;
    /* The other callbacks answering SASL_INTERACT (their item is prompted for). */
    case 63: app.user = "bob"; app.user_code = SASL_INTERACT; break;
    case 64: app.secret_code = SASL_INTERACT; break;
    case 65: app.realm_code = SASL_INTERACT; break;
    case 66: app.prompts = 1; app.len_half = 1; app.user = "bob"; break;
    case 67: app.step_after_done = 1; break;
    /* Buffer sizes and SSF bounds past the protocols' own. */
    case 68: app.props.maxbufsize = 0xffffffff; break;
    case 69: app.props.maxbufsize = 1 << 24; break;
    case 70: app.props.maxbufsize = 4; break;
    case 71: app.props.min_ssf = 256; app.props.max_ssf = 56; break;
    }
}

enum { VARIANTS = 72, FORKED_VARIANTS = 24 };

/* run() in a child process, with the application (and hostile server) as
 * set up now; a crash becomes a line of the trace. */
static void run_in_child(const char *offer, const char *host)
{
    int status = 0;
    pid_t pid = fork();
    if (pid == 0) {
        run(offer, host);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        puts("  fork failed");
    else if (WIFSIGNALED(status))
        printf("  crashed by signal %d\n", WTERMSIG(status));
}

/* One case; from FORKED_VARIANTS on in a child process, so that a crash
 * is a line of the trace (the cases before share the process: DIGEST-MD5's
 * memory of one server carries from v0 to v1). */
static void run_case(const char *offer, const char *host, int v)
{
    if (v < FORKED_VARIANTS)
        run(offer, host);
    else
        run_in_child(offer, host);
}

/* Hostile mode: every message of the server's to the client, for each
 * mechanism with a private server name (no DIGEST-MD5 memory between
 * cases: each runs in its own process). */
static void run_hostile(const char *const *mechs)
{
    for (int i = 0; mechs[i]; i++) {
        /* How many messages the client is given when nothing is changed. */
        int steps = 0, v = strstr(mechs[i], "-PLUS") ? 22 : 0; /* 22: with a channel binding */
        pid_t pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(100);
            setup(v);
            run(mechs[i], "localhost");
            _exit(hostile.seen);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
            steps = WEXITSTATUS(status);
        for (int k = 1; k <= steps && steps < 100; k++) {
            for (int m = 0; m < MUTATIONS; m++) {
                printf("=== hostile %s s%dm%d\n", mechs[i], k, m);
                setup(v);
                hostile.step = k;
                hostile.mutation = m;
                run_in_child(mechs[i], "localhost");
            }
        }
        hostile.step = -1;
    }
}

/* Hostile mode: changed packets after DIGEST-MD5 with confidentiality
 * and with integrity only, and the Kerberos mechanisms in `kerberos`. */
static void run_hostile_packets(const char *const *kerberos)
{
    for (int i = 0; i < 2 || kerberos[i - 2]; i++) {
        const char *mech = i < 2 ? "DIGEST-MD5" : kerberos[i - 2];
        for (int v = 0; v < PACKET_VARIANTS; v++) {
            printf("=== hostile-layer %s%s p%d\n", mech, i == 1 ? "-int" : "", v);
            setup(i == 1 ? 19 : 0); /* 19: max_ssf 1, integrity only */
            hostile.packets = v;
            run_in_child(mech, "localhost");
        }
    }
    hostile.packets = -1;
}

/* Global mode: the application's callbacks in sasl_client_init's list
 * (Cyrus's sample client's way), for each mechanism alone, a list, and
 * GSSAPI with TRACE_KERBEROS; "=== global MECH gK", K: the connection's
 * own list is g0 the usual one (without SASL_CB_USER: the global one
 * answers that), g1 NULL, g2 empty, g3 only SASL_CB_USER, g4
 * SASL_CB_AUTHNAME and SASL_CB_PASS without functions (prompts), g5 only
 * SASL_CB_LOG; with a NULL one, g6 the global getopt sets
 * client_mech_list, g7 a wrong password, g8 an authzid. Each case in its
 * own process. */
static void run_global(const char *const *mechs, const char *list)
{
    static const struct { int conn_list, variant, getopt; } kinds[] = {
        { 0, 0, 0 }, { 1, 0, 0 }, { 2, 0, 0 }, { 3, 2, 0 }, { 4, 0, 0 },
        { 5, 0, 0 }, { 1, 0, 3 }, { 1, 8, 0 }, { 1, 2, 0 },
    };
    const char *offers[16], *names[16];
    int n = 0;
    for (; mechs[n] && n < 14; n++)
        offers[n] = names[n] = mechs[n];
    offers[n] = list, names[n++] = "list0";
    if (getenv("TRACE_KERBEROS"))
        offers[n] = names[n] = "GSSAPI", n++;
    for (int m = 0; m < n; m++) {
        for (int g = 0; g < (int)(sizeof kinds / sizeof kinds[0]); g++) {
            char host[64];
            setup(kinds[g].variant);
            app.conn_list = kinds[g].conn_list;
            app.getopt = kinds[g].getopt;
            if (strstr(offers[m], "-PLUS"))
                app.binding = 1;
            if (!strcmp(offers[m], "GSSAPI"))
                snprintf(host, sizeof host, "localhost"); /* the service principal's */
            else
                snprintf(host, sizeof host, "g%d-%d.localhost", m, g);
            printf("=== global %s g%d\n", names[m], g);
            run_in_child(offers[m], host);
        }
    }
}

int main(int argc, char **argv)
{
    static const char *mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "NTLM", "SCRAM-SHA-1",
                                   "SCRAM-SHA-256", "SCRAM-SHA-512", "SCRAM-SHA-256-PLUS", "ANONYMOUS",
                                   "EXTERNAL", NULL };
    /* Servers' lists to choose from, each with every kind of application. */
    static const char *lists[] = {
        "PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256",
        "ANONYMOUS PLAIN",
        "EXTERNAL PLAIN SCRAM-SHA-1",
        "LOGIN PLAIN",
        "CRAM-MD5 DIGEST-MD5",
        "SCRAM-SHA-1-PLUS SCRAM-SHA-1 SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN",
        "SCRAM-SHA-256 NTLM PLAIN",
        NULL,
    };
    static const char *kerberos[] = { "GSSAPI", "GSS-SPNEGO", "GS2-KRB5", "GS2-KRB5-PLUS", "SCRAM-SHA-256 GSSAPI PLAIN", NULL };
    static const char *kerberos_names[] = { "GSSAPI", "GSS-SPNEGO", "GS2-KRB5", "GS2-KRB5-PLUS", "klist" };
    char host[64];
    int global = argc == 3 && !strcmp(argv[2], "global");
    if (argc != 2 && !(argc == 3 && (!strcmp(argv[2], "hostile") || global))) {
        fprintf(stderr, "usage: %s SASLDB [hostile|global]\n", argv[0]);
        return 2;
    }
    sasldb = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (sasl_server_init(server_callbacks, "trace") != SASL_OK ||
        sasl_client_init(global ? global_callbacks : NULL) != SASL_OK) {
        fputs("init failed\n", stderr);
        return 1;
    }
    if (global) {
        run_global(mechs, lists[0]);
        sasl_done();
        return 0;
    }
    if (argc == 3) {
        static const char *const mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "NTLM", "SCRAM-SHA-1",
                                             "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "ANONYMOUS", "EXTERNAL", NULL };
        static const char *const kerberos[] = { "GSSAPI", "GSS-SPNEGO", NULL };
        static const char *const gs2[] = { "GS2-KRB5", "GS2-KRB5-PLUS", NULL };
        int with_kerberos = getenv("TRACE_KERBEROS") != NULL;
        run_hostile(mechs);
        if (with_kerberos) {
            run_hostile(kerberos);
            run_hostile(gs2);
            run_hostile_packets(kerberos);
        } else {
            run_hostile_packets(kerberos + 2);
        }
        sasl_done();
        return 0;
    }
    for (int m = 0; mechs[m]; m++) {
        for (int v = 0; v < VARIANTS; v++) {
            setup(v);
            /* Each case its own server name, so that DIGEST-MD5's memory of
             * one case is not another's; but v1 follows v0 to the same
             * server: a re-authentication, which this server refuses with
             * a fresh challenge. */
            snprintf(host, sizeof host, "h%d.localhost", v == 1 ? 0 : v);
            printf("=== %s v%d\n", mechs[m], v);
            run_case(mechs[m], host, v);
        }
    }
    /* With TRACE_KERBEROS set (a ticket for alice, imap/localhost in the
     * keytab): GSSAPI and GSS-SPNEGO alone and chosen from a list. The
     * server's name is always localhost, as the service principal's. */
    for (int m = 0; getenv("TRACE_KERBEROS") && kerberos[m]; m++) {
        for (int v = 0; v < VARIANTS; v++) {
            setup(v);
            printf("=== %s v%d (%s)\n", kerberos_names[m], v, kerberos[m]);
            run_case(kerberos[m], "localhost", v);
        }
    }
    /* Every property at each stage, after a success and a failure. */
    static const char *with_props[] = { "PLAIN", "DIGEST-MD5", "SCRAM-SHA-256", "CRAM-MD5", "GSSAPI", NULL };
    for (int m = 0; with_props[m] && (m < 4 || getenv("TRACE_KERBEROS")); m++) {
        for (int v = 0; v < 2; v++) {
            setup(v ? 8 : 0);
            app.show_props = 1;
            printf("=== props %s v%d\n", with_props[m], v ? 8 : 0);
            run(with_props[m], m == 4 ? "localhost" : "p.localhost");
        }
    }
    for (int l = 0; lists[l]; l++) {
        for (int v = 0; v < VARIANTS; v++) {
            setup(v);
            snprintf(host, sizeof host, "l%d-%d.localhost", l, v);
            printf("=== list%d v%d (%s)\n", l, v, lists[l]);
            run_case(lists[l], host, v);
        }
    }
    /* OTP, through Cyrus's plugin (loaded by the library under test): the
     * otpuser of differential.sh, with its pass phrase. */
    static const int otp_variants[] = { 0, 1, 5, 8, 10, 17, 24, 25, 28, 29, 30 };
    for (int i = 0; i < (int)(sizeof otp_variants / sizeof otp_variants[0]); i++) {
        int v = otp_variants[i];
        setup(v);
        app.name = "otpuser";
        if (app.pass && v != 8)
            app.pass = "an otp pass phrase";
        snprintf(host, sizeof host, "otp%d.localhost", v);
        printf("=== OTP v%d\n", v);
        run_case("OTP", host, v);
    }
    /* Lists as servers and protocols write them: lower case, commas, white
     * space of every kind, repeats, names unknown here, -PLUS without a
     * binding, nothing, 300 unknown names before PLAIN. */
    static char long_list[300 * 16 + 8];
    for (int i = 0; i < 300; i++)
        snprintf(long_list + strlen(long_list), 16, "X-UNKNOWN-%d ", i);
    strcat(long_list, "PLAIN");
    const char *odd[] = { "plain login", "PLAIN,LOGIN", "  \tCRAM-MD5\r\n", "FOO BAR", "", " ",
                          "PLAIN PLAIN DIGEST-MD5", "GS2-KRB5 SCRAM-SHA-1", "OTP SRP PLAIN", "XOAUTH2 PLAIN",
                          "OAUTHBEARER PLAIN", "SCRAM-SHA-1-PLUS", "ANONYMOUS EXTERNAL", "scram-sha-256 Plain",
                          "DIGEST-MD5,,CRAM-MD5", "PLAIN-PLUS", "X", long_list, NULL };
    static const int odd_variants[] = { 0, 5, 12, 21 };
    for (int l = 0; odd[l]; l++) {
        for (int i = 0; i < 4; i++) {
            setup(odd_variants[i]);
            snprintf(host, sizeof host, "o%d-%d.localhost", l, odd_variants[i]);
            printf("=== odd%d v%d\n", l, odd_variants[i]);
            run(odd[l], host);
        }
    }
    /* The same client connection started again (a new server one each
     * time): r0 after a wrong password, r1 after a success, r2 a wrong
     * password after a success, r3 r0 with everything prompted, r4 r0 and
     * then the choice from a list (a client falling back). */
    static const char *const again[] = { "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "NTLM", "SCRAM-SHA-1",
                                         "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "ANONYMOUS", "EXTERNAL", NULL };
    for (int m = 0; again[m]; m++) {
        for (int k = 0; k < 5; k++) {
            setup(k == 3 ? 5 : strstr(again[m], "-PLUS") ? 22 : 0);
            app.pass = k == 1 || k == 2 ? "secret" : "wrong";
            app.restart = k == 4 ? lists[0] : again[m];
            app.restart_pass = k == 2 ? "wrong" : "secret";
            snprintf(host, sizeof host, "r%d-%d.localhost", m, k);
            printf("=== restart %s r%d\n", again[m], k);
            run_in_child(again[m], host);
        }
    }
    sasl_done();
    return 0;
}
