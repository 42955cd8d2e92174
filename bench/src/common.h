/* Shared helpers for the sasl2-rs benchmarks.
 *
 * Every client program is compiled once against /usr/include/sasl and linked
 * with -lsasl2; which libsasl2.so.2 it runs against is chosen at run time by
 * LD_LIBRARY_PATH.  Each program prints exactly one result line of
 * space-separated key=value pairs on stdout; diagnostics go to stderr.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sasl/sasl.h>

#define UNUSED __attribute__((unused))

#define BENCH_USER "benchuser"
#define BENCH_PASS "bench-password-123"
#define BENCH_REALM "bench.realm"
#define BENCH_SERVICE "bench"
#define BENCH_HOST "localhost"

static void die(const char *fmt, ...) __attribute__((noreturn, unused, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* CPU time of this process (all threads), seconds. */
static inline double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

UNUSED static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of n values (sorts v). */
UNUSED static double median_of(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Path of the libsasl2 this process actually loaded. */
static inline const char *sasl_lib_path(void)
{
    static char buf[4096];
    Dl_info info;
    if (!dladdr((void *)&sasl_version, &info) || !info.dli_fname)
        return "unknown";
    if (!realpath(info.dli_fname, buf))
        snprintf(buf, sizeof buf, "%s", info.dli_fname);
    return buf;
}

/* Deterministic payload used by the security-layer benchmark. */
static inline unsigned char pattern_byte(size_t i)
{
    return (unsigned char)(i * 131u + (i >> 9) * 7u + 0x5a);
}

static inline void fill_pattern(unsigned char *p, size_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern_byte(off + i);
}

/* ---- client callbacks ------------------------------------------------ */

UNUSED static int cb_simple(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER)
        return SASL_BADPARAM;
    *result = BENCH_USER;
    if (len)
        *len = (unsigned)strlen(BENCH_USER);
    return SASL_OK;
}

UNUSED static int cb_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    static union {
        sasl_secret_t s;
        char buf[sizeof(sasl_secret_t) + sizeof(BENCH_PASS)];
    } secret;
    (void)conn; (void)ctx;
    if (id != SASL_CB_PASS)
        return SASL_BADPARAM;
    secret.s.len = strlen(BENCH_PASS);
    memcpy(secret.s.data, BENCH_PASS, secret.s.len + 1);
    *psecret = &secret.s;
    return SASL_OK;
}

UNUSED static int cb_realm(void *ctx, int id, const char **avail, const char **result)
{
    (void)ctx;
    if (id != SASL_CB_GETREALM)
        return SASL_BADPARAM;
    *result = (avail && avail[0]) ? avail[0] : BENCH_REALM;
    return SASL_OK;
}

/* AUTHNAME + PASS only (the connection-loop / memory benchmarks). */
UNUSED static sasl_callback_t client_cbs_plain[] = {
    { SASL_CB_AUTHNAME, (int (*)(void))(void (*)(void))cb_simple, NULL },
    { SASL_CB_PASS, (int (*)(void))(void (*)(void))cb_pass, NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

/* AUTHNAME + PASS + GETREALM (SCRAM / DIGEST-MD5 exchanges); no USER
 * callback, so no authorization id is sent. */
UNUSED static sasl_callback_t client_cbs_full[] = {
    { SASL_CB_AUTHNAME, (int (*)(void))(void (*)(void))cb_simple, NULL },
    { SASL_CB_PASS, (int (*)(void))(void (*)(void))cb_pass, NULL },
    { SASL_CB_GETREALM, (int (*)(void))(void (*)(void))cb_realm, NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

/* ---- framed messages between bench client and auth server ------------
 * Message: type (1 byte) + length (4 bytes, big endian) + payload.
 */
enum {
    MSG_START = 'S',   /* c->s: u32 min_ssf, u32 max_ssf, u32 maxbuf, u8 has_ir, mech\0, ir */
    MSG_STEP = 'T',    /* c->s: client response */
    MSG_CONT = 'C',    /* s->c: server challenge */
    MSG_OK = 'O',      /* s->c: u8 has_data, data */
    MSG_FAIL = 'F',    /* s->c: error text */
    MSG_DECODE = 'D',  /* c->s: security-layer frames; s->c reply MSG_DATA plaintext */
    MSG_ENCODE = 'E',  /* c->s: u32 total; s->c reply MSG_DATA frames */
    MSG_DATA = 'R',
    MSG_INFO = 'I',    /* s->c, first message: server's libsasl2 path */
    MSG_QUIT = 'Q',
};

UNUSED static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

UNUSED static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static inline void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static inline uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

UNUSED static int send_msg(int fd, int type, const void *data, size_t len)
{
    unsigned char h[5];
    h[0] = (unsigned char)type;
    put_u32(h + 1, (uint32_t)len);
    if (write_all(fd, h, 5))
        return -1;
    return len ? write_all(fd, data, len) : 0;
}

/* Reads one message; *data is malloc'd (NUL-terminated for convenience). */
UNUSED static int recv_msg(int fd, int *type, unsigned char **data, size_t *len)
{
    unsigned char h[5];
    if (read_all(fd, h, 5))
        return -1;
    *type = h[0];
    *len = get_u32(h + 1);
    *data = malloc(*len + 1);
    if (!*data)
        return -1;
    if (*len && read_all(fd, *data, *len)) {
        free(*data);
        return -1;
    }
    (*data)[*len] = 0;
    return 0;
}

#endif
