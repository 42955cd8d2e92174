/* Thread stress: 8 threads, each running complete DIGEST-MD5 exchanges with
 * security layers (auth-int, rc4-40, rc4-56, rc4) against Cyrus's real
 * server side, then streaming data both ways through sasl_encode /
 * sasl_encodev / sasl_decode (packets split across decode calls), every
 * byte checked. The workers also call sasl_client_init and
 * sasl_client_done concurrently, and the count must end at zero.
 *
 * The server is the system's Cyrus libsasl2, loaded in-process into its
 * own link-map namespace with dlmopen(LM_ID_NEWLM), so it coexists with
 * the client library under test (same SONAME, same symbol names). Its user
 * lives in a private sasldb in a temporary directory. Server calls are
 * serialised with a mutex (Cyrus's server side is not the code under
 * test); client calls run concurrently.
 *
 * CTESTS_STRESS_ITERS=N exchanges per thread (default 4, for valgrind; the
 * ThreadSanitizer run uses more). Skips (passing) when the Cyrus server or
 * its DIGEST-MD5 and sasldb plugins are not installed, and against Cyrus's
 * client (see main). Valgrind's reports inside Cyrus's server side are
 * suppressed (ctests/cyrus-server.supp). */
#include "check.h"
#include <dlfcn.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define NTHREADS 8
#define REALM "example.com"
#define CYRUS "/usr/lib/x86_64-linux-gnu/libsasl2.so.2"

/* The Cyrus server functions, from the dlmopen'd namespace. */
static struct {
    int (*server_init)(const sasl_callback_t *, const char *);
    int (*server_new)(const char *, const char *, const char *, const char *,
                      const char *, const sasl_callback_t *, unsigned,
                      sasl_conn_t **);
    int (*server_start)(sasl_conn_t *, const char *, const char *, unsigned,
                        const char **, unsigned *);
    int (*server_step)(sasl_conn_t *, const char *, unsigned, const char **,
                       unsigned *);
    int (*setpass)(sasl_conn_t *, const char *, const char *, unsigned,
                   const char *, unsigned, unsigned);
    int (*setprop)(sasl_conn_t *, int, const void *);
    int (*getprop)(sasl_conn_t *, int, const void **);
    int (*encode)(sasl_conn_t *, const char *, unsigned, const char **,
                  unsigned *);
    int (*decode)(sasl_conn_t *, const char *, unsigned, const char **,
                  unsigned *);
    const char *(*errdetail)(sasl_conn_t *);
    void (*dispose)(sasl_conn_t **);
    int (*server_done)(void);
    void (*ctype_init)(void);
} srv;

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static char sasldb[256];
static int g_iters = 4;

static int srv_getopt(void *ctx, const char *plugin, const char *option,
                      const char **result, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    if (strcmp(option, "sasldb_path") == 0)
        *result = sasldb;
    else if (strcmp(option, "mech_list") == 0)
        *result = "DIGEST-MD5";
    else if (strcmp(option, "auxprop_plugin") == 0)
        *result = "sasldb";
    else if (strcmp(option, "pwcheck_method") == 0)
        *result = "auxprop";
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static const sasl_callback_t srv_callbacks[] = {
    { SASL_CB_GETOPT, CB(srv_getopt), NULL },
    { SASL_CB_LIST_END, NULL, NULL },
};

/* Loads Cyrus's server side and creates the user; 0 when unavailable. */
static int load_server(void)
{
    void *h;
    char dir[] = "/tmp/sasl2rs-stress-XXXXXX";
    sasl_conn_t *conn = NULL;
    int r;

    if (access("/usr/lib/x86_64-linux-gnu/sasl2/libdigestmd5.so", R_OK) != 0 ||
        access("/usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so", R_OK) != 0 ||
        !(h = dlmopen(LM_ID_NEWLM, CYRUS, RTLD_NOW | RTLD_LOCAL))) {
        printf("t_stress: skipped: Cyrus's server side (libsasl2-modules, "
               "libsasl2-modules-db) is not installed\n");
        return 0;
    }
#define SYM(field, name) *(void **)&srv.field = dlsym(h, name)
    SYM(server_init, "sasl_server_init");
    SYM(server_new, "sasl_server_new");
    SYM(server_start, "sasl_server_start");
    SYM(server_step, "sasl_server_step");
    SYM(setpass, "sasl_setpass");
    SYM(setprop, "sasl_setprop");
    SYM(getprop, "sasl_getprop");
    SYM(encode, "sasl_encode");
    SYM(decode, "sasl_decode");
    SYM(errdetail, "sasl_errdetail");
    SYM(dispose, "sasl_dispose");
    SYM(server_done, "sasl_server_done");
    /* The namespace has its own libc, whose per-thread ctype tables only
     * its own threads would set up: each worker sets them (see below). */
    SYM(ctype_init, "__ctype_init");
#undef SYM
    if (!srv.server_init || !srv.server_done || !srv.ctype_init || !mkdtemp(dir))
        return 0;
    snprintf(sasldb, sizeof sasldb, "%s/sasldb2", dir);
    CHECK_EQ_INT(srv.server_init(srv_callbacks, "stress"), SASL_OK);
    CHECK_EQ_INT(srv.server_new("stress", "localhost", REALM, NULL, NULL, NULL,
                                0, &conn), SASL_OK);
    r = srv.setpass(conn, "user", "secret", 6, NULL, 0, 0x01 /* SET_CREATE */);
    CHECK_EQ_INT(r, SASL_OK);
    srv.dispose(&conn);
    return r == SASL_OK;
}

static unsigned next_rand(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

struct worker {
    int index;
    unsigned rng;
    int exchanges, failures;
    char why[200];
};

#define FAIL(w, ...)                                                        \
    do {                                                                    \
        (w)->failures++;                                                    \
        if (!(w)->why[0])                                                   \
            snprintf((w)->why, sizeof (w)->why, __VA_ARGS__);               \
    } while (0)

/* Sends `len` bytes client -> server (sasl_encode or sasl_encodev) and
 * server -> client (decoded in two calls split at a random point). */
static void stream(struct worker *w, sasl_conn_t *c, sasl_conn_t *s,
                   const char *data, unsigned len)
{
    const char *out, *back;
    unsigned outlen, backlen, cut;
    char joined[70000];
    int r;

    if (len >= 3 && next_rand(&w->rng) % 2) {
        struct iovec iov[2] = { { (void *)data, len / 3 },
                                { (void *)(data + len / 3), len - len / 3 } };
        r = sasl_encodev(c, iov, 2, &out, &outlen);
    } else {
        r = sasl_encode(c, data, len, &out, &outlen);
    }
    if (r != SASL_OK) {
        FAIL(w, "client encode: %d %s", r, sasl_errdetail(c));
        return;
    }
    pthread_mutex_lock(&srv_lock);
    r = srv.decode(s, out, outlen, &back, &backlen);
    if (r != SASL_OK || backlen != len || memcmp(back, data, len) != 0)
        FAIL(w, "server decode: %d (%u of %u bytes)", r, backlen, len);
    r = srv.encode(s, data, len, &out, &outlen);
    pthread_mutex_unlock(&srv_lock);
    if (r != SASL_OK) {
        FAIL(w, "server encode: %d", r);
        return;
    }
    cut = next_rand(&w->rng) % (outlen + 1);
    if (sasl_decode(c, out, cut, &back, &backlen) != SASL_OK) {
        FAIL(w, "client decode 1: %s", sasl_errdetail(c));
        return;
    }
    memcpy(joined, back, backlen);
    r = sasl_decode(c, out + cut, outlen - cut, &back, &outlen);
    if (r != SASL_OK || backlen + outlen != len) {
        FAIL(w, "client decode 2: %d %s", r, sasl_errdetail(c));
        return;
    }
    memcpy(joined + backlen, back, outlen);
    if (memcmp(joined, data, len) != 0)
        FAIL(w, "server -> client data differs");
}

static void exchange(struct worker *w, const sasl_callback_t *cbs)
{
    static const unsigned max_ssf[] = { 1, 40, 56, 128 };
    unsigned want = max_ssf[next_rand(&w->rng) % 4];
    sasl_security_properties_t props = { .min_ssf = 1, .max_ssf = want,
                                         .maxbufsize = 65536 };
    sasl_conn_t *c = NULL, *s = NULL;
    const char *sout = NULL, *cout = NULL, *mech = NULL;
    unsigned soutlen = 0, coutlen = 0, i;
    const void *v;
    char data[60000];
    int r;

    if (sasl_client_new("stress", "localhost", NULL, NULL, cbs, 0, &c) != SASL_OK ||
        sasl_setprop(c, SASL_SEC_PROPS, &props) != SASL_OK) {
        FAIL(w, "client_new");
        sasl_dispose(&c);
        return;
    }
    pthread_mutex_lock(&srv_lock);
    r = srv.server_new("stress", "localhost", REALM, NULL, NULL, NULL, 0, &s);
    if (r == SASL_OK)
        srv.setprop(s, SASL_SEC_PROPS, &props);
    if (r == SASL_OK)
        r = srv.server_start(s, "DIGEST-MD5", NULL, 0, &sout, &soutlen);
    pthread_mutex_unlock(&srv_lock);
    if (r != SASL_CONTINUE) {
        FAIL(w, "server start: %d", r);
        goto out;
    }
    r = sasl_client_start(c, "DIGEST-MD5", NULL, &cout, &coutlen, &mech);
    if (r == SASL_CONTINUE)
        r = sasl_client_step(c, sout, soutlen, NULL, &cout, &coutlen);
    if (r != SASL_CONTINUE) {
        FAIL(w, "client response: %d %s", r, sasl_errdetail(c));
        goto out;
    }
    pthread_mutex_lock(&srv_lock);
    r = srv.server_step(s, cout, coutlen, &sout, &soutlen);
    pthread_mutex_unlock(&srv_lock);
    /* Without success data the server sends rspauth as a challenge and
     * waits for the client's empty answer. */
    if (r != SASL_OK && r != SASL_CONTINUE) {
        FAIL(w, "server step: %d", r);
        goto out;
    }
    if (sasl_client_step(c, sout, soutlen, NULL, &cout, &coutlen) != SASL_OK) {
        FAIL(w, "client rspauth: %s", sasl_errdetail(c));
        goto out;
    }
    if (r == SASL_CONTINUE) {
        pthread_mutex_lock(&srv_lock);
        r = srv.server_step(s, cout, coutlen, &sout, &soutlen);
        pthread_mutex_unlock(&srv_lock);
        if (r != SASL_OK) {
            FAIL(w, "server's last step: %d", r);
            goto out;
        }
    }
    if (sasl_getprop(c, SASL_SSF, &v) != SASL_OK || *(const sasl_ssf_t *)v != want) {
        FAIL(w, "SSF %u, wanted %u", *(const sasl_ssf_t *)v, want);
        goto out;
    }
    for (i = 0; i < sizeof data; i++)
        data[i] = (char)next_rand(&w->rng);
    for (i = 0; i < 6; i++) {
        /* Small packets, and large ones that the client splits at
         * MAXOUTBUF. */
        unsigned len = 1 + next_rand(&w->rng) % (i % 2 ? 60000 : 300);
        stream(w, c, s, data, len);
    }
    w->exchanges++;
out:
    sasl_dispose(&c);
    pthread_mutex_lock(&srv_lock);
    srv.dispose(&s);
    pthread_mutex_unlock(&srv_lock);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct creds cr = { .authname = "user", .pass = "secret" };
    sasl_callback_t cbs[4];
    int i;

    make_callbacks(cbs, &cr);
    srv.ctype_init();
    /* Each worker holds its own reference, and takes and drops extra ones
     * while the others run exchanges. */
    if (sasl_client_init(NULL) != SASL_OK)
        FAIL(w, "sasl_client_init");
    for (i = 0; i < g_iters; i++) {
        exchange(w, cbs);
        if (i % 2 == w->index % 2) {
            if (sasl_client_init(NULL) != SASL_OK || sasl_client_done() != SASL_CONTINUE)
                FAIL(w, "init/done pair");
        }
    }
    i = sasl_client_done();
    if (i != SASL_OK && i != SASL_CONTINUE)
        FAIL(w, "sasl_client_done: %d", i);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    const char *it = getenv("CTESTS_STRESS_ITERS");
    int i, rust;

    (void)argc;
    ct_setup(argv[0]);
    if (it && atoi(it) > 0)
        g_iters = atoi(it);
    rust = is_rust_impl();
    if (!rust) {
        /* Cyrus's init/done are not thread-safe (issues #584, #715), and
         * here its client's DIGEST-MD5 layer packets are refused by its own
         * server in the other namespace even with one thread (observed,
         * not investigated): this test is for sasl2-rs. */
        printf("t_stress: skipped against Cyrus\n");
        return check_done();
    }
    if (!load_server())
        return check_done();
    for (i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        w[i].rng = 2463534242u + (unsigned)i * 7919u;
        CHECK_EQ_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
        if (w[i].failures)
            fprintf(stderr, "worker %d: %d failures, first: %s\n", i, w[i].failures, w[i].why);
        CHECK_EQ_INT(w[i].failures, 0);
        CHECK_EQ_INT(w[i].exchanges, g_iters);
    }
    printf("t_stress: %d threads x %d DIGEST-MD5 exchanges with layers\n", NTHREADS, g_iters);
    /* Every reference is gone: the library is shut down. */
    CHECK_EQ_INT(sasl_client_done(), SASL_NOTINIT);
    srv.server_done();
    unlink(sasldb);
    *strrchr(sasldb, '/') = '\0';
    rmdir(sasldb);
    return check_done();
}
