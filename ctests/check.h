/* check.h -- tiny assertion helpers for the sasl2-rs C test-suite.
 *
 * Every CHECK* macro records one assertion, reports file:line on failure and
 * carries on.  A test's main() ends with `return check_done();`, which prints
 * a summary line ("CHECKS <prog>: N assertions, M failed") that run.sh
 * aggregates, and returns non-zero when anything failed.
 *
 * The tests must pass against BOTH the reference Cyrus SASL 2.1.28 library
 * and sasl2-rs.  Where the two deliberately differ (or Cyrus crashes), guard
 * the expectation with is_rust_impl() and say why in a comment.
 */
#ifndef CTESTS_CHECK_H
#define CTESTS_CHECK_H

#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>
#include <sys/uio.h> /* struct iovec for sasl_encodev */

#include <sasl/sasl.h>

/* saslutil.h: run.sh passes -DCTESTS_HAVE_SASLUTIL_H when INCDIR ships it.
 * Otherwise declare the (stable, tiny) API here so that the compiler never
 * falls back to /usr/include/sasl/saslutil.h, which would drag in the
 * system sasl.h next to ours. */
#ifdef CTESTS_HAVE_SASLUTIL_H
#include <sasl/saslutil.h>
#else
typedef struct sasl_rand_s sasl_rand_t;
int sasl_decode64(const char *in, unsigned inlen, char *out, unsigned outmax,
                  unsigned *outlen);
int sasl_encode64(const char *in, unsigned inlen, char *out, unsigned outmax,
                  unsigned *outlen);
int sasl_mkchal(sasl_conn_t *conn, char *buf, unsigned maxlen,
                unsigned hostflag);
int sasl_utf8verify(const char *str, unsigned len);
int sasl_randcreate(sasl_rand_t **rpool);
void sasl_randfree(sasl_rand_t **rpool);
void sasl_randseed(sasl_rand_t *rpool, const char *seed, unsigned len);
void sasl_rand(sasl_rand_t *rpool, char *buf, unsigned len);
void sasl_churn(sasl_rand_t *rpool, const char *data, unsigned len);
void sasl_erasebuffer(char *pass, unsigned len);
char *sasl_strlower(char *val);
#endif

#define CT_UNUSED __attribute__((unused))

static int ct_checks CT_UNUSED;
static int ct_failures CT_UNUSED;

static void CT_UNUSED ct_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void CT_UNUSED ct_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    ct_failures++;
    fprintf(stderr, "%s:%d: FAILED: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

#define CHECK(cond)                                                         \
    do {                                                                    \
        ct_checks++;                                                        \
        if (!(cond))                                                        \
            ct_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                  \
    do {                                                                    \
        long long ct_a_ = (long long)(a), ct_b_ = (long long)(b);           \
        ct_checks++;                                                        \
        if (ct_a_ != ct_b_)                                                 \
            ct_fail(__FILE__, __LINE__, "%s == %s: got %lld, expected %lld", \
                    #a, #b, ct_a_, ct_b_);                                  \
    } while (0)

/* Both NULL counts as equal; NULL vs non-NULL does not. */
#define CHECK_EQ_STR(a, b)                                                  \
    do {                                                                    \
        const char *ct_a_ = (a), *ct_b_ = (b);                              \
        ct_checks++;                                                        \
        if (!((ct_a_ == NULL && ct_b_ == NULL) ||                           \
              (ct_a_ && ct_b_ && strcmp(ct_a_, ct_b_) == 0)))               \
            ct_fail(__FILE__, __LINE__, "%s == %s: got \"%s\", expected \"%s\"", \
                    #a, #b, ct_a_ ? ct_a_ : "(null)", ct_b_ ? ct_b_ : "(null)"); \
    } while (0)

/* Byte comparison of (pa, la) against (pb, lb); prints both escaped. */
#define CHECK_EQ_MEM(pa, la, pb, lb)                                        \
    ct_check_mem(__FILE__, __LINE__, #pa, (const void *)(pa), (size_t)(la), \
                 (const void *)(pb), (size_t)(lb))

#define CHECK_PREFIX(s, prefix)                                             \
    do {                                                                    \
        const char *ct_s_ = (s), *ct_p_ = (prefix);                         \
        ct_checks++;                                                        \
        if (!ct_s_ || strncmp(ct_s_, ct_p_, strlen(ct_p_)) != 0)            \
            ct_fail(__FILE__, __LINE__, "%s starts with \"%s\": got \"%s\"", \
                    #s, ct_p_, ct_s_ ? ct_s_ : "(null)");                   \
    } while (0)

#define CHECK_CONTAINS(s, sub)                                              \
    do {                                                                    \
        const char *ct_s_ = (s), *ct_p_ = (sub);                            \
        ct_checks++;                                                        \
        if (!ct_s_ || strstr(ct_s_, ct_p_) == NULL)                         \
            ct_fail(__FILE__, __LINE__, "%s contains \"%s\": got \"%s\"",   \
                    #s, ct_p_, ct_s_ ? ct_s_ : "(null)");                   \
    } while (0)

static void CT_UNUSED ct_escape(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;
    if (!p) {
        fputs("(null)", f);
        return;
    }
    fputc('"', f);
    for (i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
            fputc(s[i], f);
        else
            fprintf(f, "\\x%02x", s[i]);
    }
    fputc('"', f);
}

static void CT_UNUSED ct_check_mem(const char *file, int line, const char *what,
                                   const void *pa, size_t la,
                                   const void *pb, size_t lb)
{
    ct_checks++;
    if (pa && pb && la == lb && memcmp(pa, pb, la) == 0)
        return;
    if (!pa && !pb)
        return;
    ct_failures++;
    fprintf(stderr, "%s:%d: FAILED: %s: got ", file, line, what);
    ct_escape(stderr, pa, la);
    fprintf(stderr, " (%zu bytes), expected ", la);
    ct_escape(stderr, pb, lb);
    fprintf(stderr, " (%zu bytes)\n", lb);
    fflush(stderr);
}

static const char *ct_progname CT_UNUSED = "test";

static int CT_UNUSED check_done(void)
{
    printf("CHECKS %s: %d assertions, %d failed\n", ct_progname, ct_checks,
           ct_failures);
    fflush(stdout);
    return ct_failures > 0 ? 1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Implementation detection                                                */

/* Cyrus reports "Cyrus SASL"; sasl2-rs reports something containing
 * "sasl2-rs".  Safe to call before sasl_client_init. */
static int CT_UNUSED is_rust_impl(void)
{
    const char *impl = NULL;
    sasl_version_info(&impl, NULL, NULL, NULL, NULL, NULL);
    return impl != NULL && strstr(impl, "sasl2-rs") != NULL;
}

/* run.sh sets CTESTS_EXPECT_RUST=1 when it was pointed at a non-system
 * library: catches accidentally testing the system libsasl2 instead. */
static void CT_UNUSED check_expected_impl(void)
{
    const char *e = getenv("CTESTS_EXPECT_RUST");
    if (e && strcmp(e, "1") == 0) {
        CHECK(is_rust_impl());
    }
}

/* ---------------------------------------------------------------------- */
/* Callback helpers                                                        */

/* sasl_callback_t.proc is int (*)(void); cast through void (*)(void) so that
 * -Wcast-function-type (part of -Wextra) stays quiet. */
#define CB(fn) ((int (*)(void))(void (*)(void))(fn))

struct creds {
    const char *authname; /* SASL_CB_AUTHNAME result (NULL: callback says OK with NULL) */
    const char *user;     /* SASL_CB_USER result */
    const char *pass;     /* SASL_CB_PASS result */
    int n_authname, n_user, n_pass; /* how often each callback ran */
    union {
        sasl_secret_t secret;
        unsigned char raw[sizeof(sasl_secret_t) + 512];
    } sbuf;
};

static int CT_UNUSED cb_getsimple(void *context, int id, const char **result,
                                  unsigned *len)
{
    struct creds *c = context;
    const char *v;
    if (!c || !result)
        return SASL_BADPARAM;
    switch (id) {
    case SASL_CB_AUTHNAME: v = c->authname; c->n_authname++; break;
    case SASL_CB_USER:     v = c->user;     c->n_user++;     break;
    default:               return SASL_BADPARAM;
    }
    *result = v;
    if (len)
        *len = v ? (unsigned)strlen(v) : 0;
    return SASL_OK;
}

static int CT_UNUSED cb_getsecret(sasl_conn_t *conn, void *context, int id,
                                  sasl_secret_t **psecret)
{
    struct creds *c = context;
    size_t n;
    (void)conn;
    if (!c || !psecret || id != SASL_CB_PASS)
        return SASL_BADPARAM;
    c->n_pass++;
    n = strlen(c->pass);
    if (n > 500)
        return SASL_FAIL;
    c->sbuf.secret.len = n;
    memcpy(c->sbuf.secret.data, c->pass, n + 1);
    *psecret = &c->sbuf.secret;
    return SASL_OK;
}

/* Fill cbs[] (at least 4 entries) with AUTHNAME, USER (only if c->user),
 * PASS (only if c->pass), LIST_END.  Returns cbs. */
static CT_UNUSED sasl_callback_t *make_callbacks(sasl_callback_t *cbs,
                                                  struct creds *c)
{
    int i = 0;
    cbs[i].id = SASL_CB_AUTHNAME;
    cbs[i].proc = CB(cb_getsimple);
    cbs[i].context = c;
    i++;
    if (c->user) {
        cbs[i].id = SASL_CB_USER;
        cbs[i].proc = CB(cb_getsimple);
        cbs[i].context = c;
        i++;
    }
    if (c->pass) {
        cbs[i].id = SASL_CB_PASS;
        cbs[i].proc = CB(cb_getsecret);
        cbs[i].context = c;
        i++;
    }
    cbs[i].id = SASL_CB_LIST_END;
    cbs[i].proc = NULL;
    cbs[i].context = NULL;
    return cbs;
}

/* Initialise the client library or abort the test. */
static void CT_UNUSED init_client_or_die(const sasl_callback_t *global)
{
    int r = sasl_client_init(global);
    if (r != SASL_OK) {
        fprintf(stderr, "sasl_client_init failed: %d\n", r);
        exit(2);
    }
}

/* Fresh client connection for service "imap" on "mail.example.com". */
static CT_UNUSED sasl_conn_t *new_conn(const sasl_callback_t *cbs)
{
    sasl_conn_t *conn = NULL;
    int r = sasl_client_new("imap", "mail.example.com", NULL, NULL, cbs, 0,
                            &conn);
    CHECK_EQ_INT(r, SASL_OK);
    CHECK(conn != NULL);
    return conn;
}

/* Security properties that allow a security layer (maxbufsize > 0). */
static void CT_UNUSED set_secprops(sasl_conn_t *conn, unsigned min_ssf,
                                   unsigned max_ssf, unsigned maxbufsize,
                                   unsigned flags)
{
    sasl_security_properties_t p;
    memset(&p, 0, sizeof p);
    p.min_ssf = min_ssf;
    p.max_ssf = max_ssf;
    p.maxbufsize = maxbufsize;
    p.security_flags = flags;
    CHECK_EQ_INT(sasl_setprop(conn, SASL_SEC_PROPS, &p), SASL_OK);
}

static void CT_UNUSED ct_setup(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    ct_progname = slash ? slash + 1 : prog;
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Cyrus falls back to $USER (then $USERNAME) for the authentication
     * name when there is no SASL_CB_AUTHNAME callback: pin it. */
    setenv("USER", "envuser", 1);
    unsetenv("USERNAME");
    check_expected_impl();
}

#endif /* CTESTS_CHECK_H */
