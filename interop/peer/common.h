/* Shared by peer/server.c and peer/client.c (interop/layers.sh): error
 * handling, the framing of the authentication exchange, the options both
 * programs take, and the pseudo-random byte streams sent through the
 * security layer.
 *
 * Authentication frames: one type byte, a 4-byte big-endian length, data.
 *   server -> client  'L' mechanism list, 'C' challenge,
 *                     'O' success (no data), 'D' success with data,
 *                     'F' failure (data: a message)
 *   client -> server  'M' chosen mechanism, 'R' response, 'N' no initial
 *                     response, 'F' failure (data: a message)
 * After authentication the sockets carry sasl_encode output only. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <sasl/sasl.h>

/* sasl_callback_t.proc is int (*)(void); casting through void (*)(void)
 * keeps -Wextra's -Wcast-function-type quiet. */
#define CB(fn) ((int (*)(void))(void (*)(void))(fn))

/* Exit codes, read by layers.sh. */
enum { EX_OK = 0, EX_ERR = 2, EX_DECODE = 3, EX_EOF = 4, EX_MISMATCH = 5, EX_AUTH = 6 };

static const char *who = "peer";

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", who);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(code);
}

static const char *rcname(int rc)
{
    static char buf[32];
    static const struct { int rc; const char *name; } names[] = {
        { SASL_OK, "SASL_OK" }, { SASL_CONTINUE, "SASL_CONTINUE" },
        { SASL_FAIL, "SASL_FAIL" }, { SASL_NOMEM, "SASL_NOMEM" },
        { SASL_BUFOVER, "SASL_BUFOVER" }, { SASL_NOMECH, "SASL_NOMECH" },
        { SASL_BADPROT, "SASL_BADPROT" }, { SASL_NOTDONE, "SASL_NOTDONE" },
        { SASL_BADPARAM, "SASL_BADPARAM" }, { SASL_TRYAGAIN, "SASL_TRYAGAIN" },
        { SASL_BADMAC, "SASL_BADMAC" }, { SASL_BADSERV, "SASL_BADSERV" },
        { SASL_INTERACT, "SASL_INTERACT" }, { SASL_TOOWEAK, "SASL_TOOWEAK" },
        { SASL_ENCRYPT, "SASL_ENCRYPT" }, { SASL_BADAUTH, "SASL_BADAUTH" },
        { SASL_NOAUTHZ, "SASL_NOAUTHZ" }, { SASL_NOUSER, "SASL_NOUSER" },
        { SASL_BADBINDING, "SASL_BADBINDING" }, { SASL_BADVERS, "SASL_BADVERS" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].rc == rc)
            return names[i].name;
    snprintf(buf, sizeof buf, "SASL(%d)", rc);
    return buf;
}

/* A failed SASL call is fatal. */
static void check(sasl_conn_t *conn, int rc, const char *what)
{
    if (rc != SASL_OK)
        die(EX_ERR, "%s: %s: %s", what, rcname(rc),
            conn ? sasl_errdetail(conn) : sasl_errstring(rc, NULL, NULL));
}

/* ---- socket I/O and framing ---- */

/* Returns -1 when the peer is gone (or on another error). */
static int try_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_all(int fd, const void *buf, size_t len)
{
    if (try_write_all(fd, buf, len) < 0)
        die(EX_ERR, "write: %s", strerror(errno));
}

/* Reads up to len bytes (at least 1); returns 0 at end of file. */
static size_t read_some(int fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0)
            return (size_t)n;
        if (errno != EINTR)
            die(EX_ERR, "read: %s", strerror(errno));
    }
}

static void read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        size_t n = read_some(fd, p, len);
        if (n == 0)
            die(EX_EOF, "peer closed the connection during authentication");
        p += n;
        len -= n;
    }
}

static int try_send_frame(int fd, char type, const char *data, unsigned len)
{
    unsigned char hdr[5] = { (unsigned char)type, (unsigned char)(len >> 24),
                             (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                             (unsigned char)len };
    return try_write_all(fd, hdr, sizeof hdr) < 0 || try_write_all(fd, data, len) < 0 ? -1 : 0;
}

static void send_frame(int fd, char type, const char *data, unsigned len)
{
    if (try_send_frame(fd, type, data, len) < 0)
        die(EX_ERR, "write: %s", strerror(errno));
}

/* Receives one frame into a static, NUL-terminated buffer; returns its type. */
static char recv_frame(int fd, const char **data, unsigned *len)
{
    static char *buf;
    unsigned char hdr[5];
    read_all(fd, hdr, sizeof hdr);
    *len = (unsigned)hdr[1] << 24 | (unsigned)hdr[2] << 16 | (unsigned)hdr[3] << 8 | hdr[4];
    if (*len > 1u << 20)
        die(EX_ERR, "frame of %u bytes", *len);
    free(buf);
    if (!(buf = malloc(*len + 1)))
        die(EX_ERR, "out of memory");
    read_all(fd, buf, *len);
    buf[*len] = '\0';
    *data = buf;
    return (char)hdr[0];
}

/* ---- options, the same for both programs ---- */

struct opts {
    const char *sock;              /* -s unix socket path */
    const char *user, *password;   /* -u, -p (client) */
    const char *realm, *sasldb;    /* -r, -d (server) */
    const char *mechs;             /* -m the server's mech_list */
    unsigned min_ssf, max_ssf;     /* -n, -x */
    size_t bytes;                  /* -N bytes to stream each way (0: none) */
    uint64_t seed;                 /* -S */
    unsigned tamper;               /* -t K: the sender flips a byte of its K-th packet */
    const char *tamper_dir;        /* -T c2s or s2c */
    sasl_channel_binding_t cb;     /* -b NAME:CRITICAL:HEXDATA */
    int has_cb;
    int strip_plus;                /* -D (server) offers the list without -PLUS names */
    const char *option;            /* -o NAME=VALUE (client) answered by its SASL_CB_GETOPT */
};

static void parse_cb(char *arg, struct opts *o)
{
    static unsigned char data[256];
    char *crit = strchr(arg, ':'), *hex = crit ? strchr(crit + 1, ':') : NULL;
    size_t n;
    if (!hex || (n = strlen(hex + 1)) % 2 || n / 2 > sizeof data)
        die(EX_ERR, "-b wants NAME:CRITICAL:HEXDATA");
    *crit = '\0';
    for (size_t i = 0; i < n / 2; i++)
        if (sscanf(hex + 1 + 2 * i, "%2hhx", &data[i]) != 1)
            die(EX_ERR, "-b: bad hex data");
    o->cb = (sasl_channel_binding_t){ .name = arg, .critical = atoi(crit + 1),
                                      .len = (unsigned)(n / 2), .data = data };
    o->has_cb = 1;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    int c;
    *o = (struct opts){ .max_ssf = 256, .seed = 1, .tamper_dir = "" };
    while ((c = getopt(argc, argv, "s:u:p:r:d:m:n:x:N:S:t:T:b:Do:")) != -1) {
        switch (c) {
        case 's': o->sock = optarg; break;
        case 'u': o->user = optarg; break;
        case 'p': o->password = optarg; break;
        case 'r': o->realm = optarg; break;
        case 'd': o->sasldb = optarg; break;
        case 'm': o->mechs = optarg; break;
        case 'n': o->min_ssf = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'x': o->max_ssf = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'N': o->bytes = strtoul(optarg, NULL, 10); break;
        case 'S': o->seed = strtoull(optarg, NULL, 10); break;
        case 't': o->tamper = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'T': o->tamper_dir = optarg; break;
        case 'b': /* NAME:CRITICAL:HEXDATA; the name stays in argv */
            parse_cb(optarg, o);
            break;
        case 'D': o->strip_plus = 1; break;
        case 'o':
            if (!strchr(optarg, '='))
                die(EX_ERR, "-o wants NAME=VALUE");
            o->option = optarg;
            break;
        default: die(EX_ERR, "bad option");
        }
    }
    if (!o->sock)
        die(EX_ERR, "-s SOCKET is required");
}

static void set_secprops(sasl_conn_t *conn, const struct opts *o)
{
    sasl_security_properties_t sp = { .min_ssf = o->min_ssf, .max_ssf = o->max_ssf,
                                      .maxbufsize = 65536 };
    check(conn, sasl_setprop(conn, SASL_SEC_PROPS, &sp), "sasl_setprop(SEC_PROPS)");
    /* Cyrus keeps the pointer: o->cb lives as long as the connection. */
    if (o->has_cb)
        check(conn, sasl_setprop(conn, SASL_CHANNEL_BINDING, &o->cb),
              "sasl_setprop(CHANNEL_BINDING)");
}

static void report_auth(sasl_conn_t *conn, const char *mech)
{
    const void *v;
    unsigned ssf, maxout;
    check(conn, sasl_getprop(conn, SASL_SSF, &v), "sasl_getprop(SSF)");
    ssf = *(const sasl_ssf_t *)v;
    check(conn, sasl_getprop(conn, SASL_MAXOUTBUF, &v), "sasl_getprop(MAXOUTBUF)");
    maxout = *(const unsigned *)v;
    printf("%s: authenticated mech=%s ssf=%u maxoutbuf=%u\n", who, mech, ssf, maxout);
    fflush(stdout);
}

/* ---- the byte streams ---- */

/* splitmix64: the data stream (one per direction, seeded the same on both
 * sides) and the chunk sizes (one per process) each have their own. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned rnd_between(uint64_t *s, unsigned lo, unsigned hi)
{
    return lo + (unsigned)(rnd(s) % (hi - lo + 1));
}

/* A size in 1..max, 1..16 a quarter of the time (so that small packets
 * share reads and packet headers get split). */
static unsigned rnd_size(uint64_t *s, unsigned max)
{
    return rnd_between(s, 1, rnd(s) % 4 == 0 && max > 16 ? 16 : max);
}

struct stream { uint64_t state, word; int left; };

static unsigned char stream_byte(struct stream *st)
{
    if (st->left == 0) {
        st->word = rnd(&st->state);
        st->left = 8;
    }
    st->left--;
    return (unsigned char)(st->word >> (8 * st->left));
}

/* Direction: 1 client->server, 2 server->client. */
static struct stream stream_new(uint64_t seed, int direction)
{
    return (struct stream){ .state = seed * 1000003u + (uint64_t)direction };
}

/* Sends o->bytes of the stream through the layer in chunks of 1..maxoutbuf
 * bytes (see rnd_size); every 7th chunk goes through sasl_encodev in 3 pieces. With tamper
 * K > 0, flips one byte after the length prefix of the K-th packet, sends
 * it, and stops. */
static void send_stream(sasl_conn_t *conn, int fd, const struct opts *o, int direction,
                        unsigned tamper)
{
    struct stream st = stream_new(o->seed, direction);
    uint64_t sizes = o->seed ^ (uint64_t)direction << 32 ^ 0x5eed;
    const void *v;
    unsigned maxout, packets = 0, viav = 0;
    size_t sent = 0;
    char *chunk;

    check(conn, sasl_getprop(conn, SASL_MAXOUTBUF, &v), "sasl_getprop(MAXOUTBUF)");
    maxout = *(const unsigned *)v;
    if (maxout == 0 || !(chunk = malloc(maxout)))
        die(EX_ERR, "maxoutbuf %u", maxout);
    while (sent < o->bytes) {
        unsigned n = rnd_size(&sizes, maxout), outlen;
        const char *out;
        if (n > o->bytes - sent)
            n = (unsigned)(o->bytes - sent);
        for (unsigned i = 0; i < n; i++)
            chunk[i] = (char)stream_byte(&st);
        if (packets % 7 == 3 && n >= 3) {
            unsigned a = rnd_between(&sizes, 1, n - 2), b = rnd_between(&sizes, 1, n - a - 1);
            struct iovec iov[3] = { { chunk, a }, { chunk + a, b }, { chunk + a + b, n - a - b } };
            check(conn, sasl_encodev(conn, iov, 3, &out, &outlen), "sasl_encodev");
            viav++;
        } else {
            check(conn, sasl_encode(conn, chunk, n, &out, &outlen), "sasl_encode");
        }
        packets++;
        if (packets == tamper) {
            char *bad = malloc(outlen);
            unsigned at;
            if (!bad || outlen <= 4)
                die(EX_ERR, "cannot tamper with a %u-byte packet", outlen);
            memcpy(bad, out, outlen);
            at = rnd_between(&sizes, 4, outlen - 1);
            bad[at] ^= (char)(1u << rnd_between(&sizes, 0, 7));
            write_all(fd, bad, outlen);
            printf("%s: tampered packet %u (byte %u of %u) holding stream bytes %zu..%zu\n",
                   who, packets, at, outlen, sent, sent + n);
            fflush(stdout);
            free(bad);
            free(chunk);
            shutdown(fd, SHUT_WR);
            return;
        }
        write_all(fd, out, outlen);
        sent += n;
    }
    printf("%s: sent %zu bytes in %u packets (%u via sasl_encodev)\n", who, sent, packets, viav);
    fflush(stdout);
    free(chunk);
}

/* Reads the socket in reads of 1..64 KiB (see rnd_size), hands exactly what was read to
 * sasl_decode and checks every decoded byte, until o->bytes arrived. A
 * failed sasl_decode exits EX_DECODE (after checking whatever output came
 * with it), end of file EX_EOF, a wrong byte EX_MISMATCH. */
static void recv_stream(sasl_conn_t *conn, int fd, const struct opts *o, int direction)
{
    struct stream st = stream_new(o->seed, direction);
    uint64_t sizes = o->seed ^ (uint64_t)direction << 40 ^ 0xfeed;
    static char buf[65536];
    size_t got = 0, reads = 0, empty = 0;

    while (got < o->bytes) {
        unsigned outlen = 0;
        const char *out = NULL;
        size_t n = read_some(fd, buf, rnd_size(&sizes, sizeof buf));
        int rc;
        if (n == 0)
            die(EX_EOF, "end of file after %zu of %zu bytes", got, o->bytes);
        reads++;
        rc = sasl_decode(conn, buf, (unsigned)n, &out, &outlen);
        if (rc == SASL_OK && outlen == 0)
            empty++;
        if (rc == SASL_OK || (out && outlen > 0)) {
            for (unsigned i = 0; i < outlen; i++, got++)
                if (got >= o->bytes || (unsigned char)out[i] != stream_byte(&st))
                    die(EX_MISMATCH, "decoded byte %zu is wrong%s", got,
                        rc == SASL_OK ? "" : " (output of a failed sasl_decode)");
        }
        if (rc != SASL_OK)
            die(EX_DECODE, "sasl_decode failed: %s (%s) after %zu good bytes, %u bytes of output with it",
                rcname(rc), sasl_errdetail(conn), got, outlen);
    }
    printf("%s: received %zu bytes, all correct (%zu reads, %zu gave no output)\n",
           who, got, reads, empty);
    fflush(stdout);
}

/* The data phase: client->server, then server->client. */
static void data_phase(sasl_conn_t *conn, int fd, const struct opts *o, int is_server)
{
    int c2s = strcmp(o->tamper_dir, "c2s") == 0, s2c = strcmp(o->tamper_dir, "s2c") == 0;
    if (o->bytes == 0)
        return;
    if (is_server) {
        recv_stream(conn, fd, o, 1);
        send_stream(conn, fd, o, 2, s2c ? o->tamper : 0);
    } else {
        send_stream(conn, fd, o, 1, c2s ? o->tamper : 0);
        if (!c2s)
            recv_stream(conn, fd, o, 2);
    }
}
