/* Thread stress: 8 threads, each running complete DIGEST-MD5 exchanges with
 * security layers (auth-int, rc4-40, rc4-56, rc4) against Cyrus's real
 * server side, then streaming data both ways through sasl_encode /
 * sasl_encodev / sasl_decode (packets split across decode calls), every
 * byte checked. The workers also call sasl_client_init and
 * sasl_client_done concurrently, and the count must end at zero.
 *
 * The server: each thread starts this same program again with `--server`
 * and LD_LIBRARY_PATH / LD_PRELOAD removed, so that its libsasl2.so.2 is
 * the system's Cyrus library, and talks to it over a socketpair (frames:
 * a type byte, a 4-byte length, data). The user lives in a private sasldb
 * in a temporary directory. The server processes are not traced by
 * valgrind or instrumented beyond the test's own code, so only the library
 * under test is checked.
 *
 * CTESTS_STRESS_ITERS=N exchanges per thread (default 4, for valgrind; the
 * ThreadSanitizer run uses more). Skips (passing) when Cyrus's DIGEST-MD5
 * and sasldb plugins are not installed, and against Cyrus's client, whose
 * init and done are not thread-safe (cyrus-sasl issues #584 and #715). */
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 8
#define REALM "example.com"
#define PLUGINS "/usr/lib/x86_64-linux-gnu/sasl2/"

extern char **environ;
static int g_iters = 4;
static char g_sasldb[256];
static const char *g_self;

/* ---- framing ---- */

static int write_all(int fd, const void *buf, size_t len)
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

static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_frame(int fd, char type, const void *data, unsigned len)
{
    unsigned char h[5] = { (unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len };
    return write_all(fd, h, 5) || write_all(fd, data, len) ? -1 : 0;
}

/* Receives a frame into buf (at least 1 MiB); returns its type, 0 at EOF. */
static char recv_frame(int fd, char *buf, unsigned *len)
{
    unsigned char h[5];
    if (read_all(fd, h, 5))
        return 0;
    *len = (unsigned)h[1] << 24 | (unsigned)h[2] << 16 | (unsigned)h[3] << 8 | h[4];
    if (*len > 1u << 20 || read_all(fd, buf, *len))
        return 0;
    return (char)h[0];
}

/* ---- the server process (Cyrus) ---- */

static int srv_getopt(void *ctx, const char *plugin, const char *option,
                      const char **result, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    if (strcmp(option, "sasldb_path") == 0)
        *result = g_sasldb;
    else if (strcmp(option, "mech_list") == 0)
        *result = "DIGEST-MD5";
    else if (strcmp(option, "auxprop_plugin") == 0)
        *result = "sasldb";
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

/* LeakSanitizer's switch, present when the test is built with ASan. */
void __lsan_disable(void) __attribute__((weak));

/* `--server SASLDB [create]`: serves exchanges on fd 3 until EOF. */
static int server_main(int argc, char **argv)
{
    static const sasl_callback_t cbs[] = {
        { SASL_CB_GETOPT, CB(srv_getopt), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    static char buf[1 << 20];
    sasl_conn_t *s = NULL;
    const char *out;
    unsigned len, outlen;
    char type;
    int r;

    /* Cyrus and OpenSSL leave allocations behind at exit: not ours. */
    if (__lsan_disable)
        __lsan_disable();
    snprintf(g_sasldb, sizeof g_sasldb, "%s", argv[2]);
    if (sasl_server_init(cbs, "stress") != SASL_OK)
        return 2;
    if (argc > 3) {
        r = sasl_server_new("stress", "localhost", REALM, NULL, NULL, NULL, 0, &s);
        if (r == SASL_OK)
            r = sasl_setpass(s, "user", "secret", 6, NULL, 0, SASL_SET_CREATE);
        sasl_dispose(&s);
        return r == SASL_OK ? 0 : 3;
    }
    while ((type = recv_frame(3, buf, &len)) != 0) {
        switch (type) {
        case 'N': { /* new exchange: max_ssf */
            sasl_security_properties_t p = { .min_ssf = 1, .maxbufsize = 65536 };
            memcpy(&p.max_ssf, buf, sizeof p.max_ssf);
            sasl_dispose(&s);
            r = sasl_server_new("stress", "localhost", REALM, NULL, NULL, NULL, 0, &s);
            if (r == SASL_OK)
                r = sasl_setprop(s, SASL_SEC_PROPS, &p);
            if (r == SASL_OK)
                r = sasl_server_start(s, "DIGEST-MD5", NULL, 0, &out, &outlen);
            break;
        }
        case 'R':
            r = sasl_server_step(s, buf, len, &out, &outlen);
            break;
        case 'E':
            r = sasl_encode(s, buf, len, &out, &outlen);
            break;
        case 'D':
            r = sasl_decode(s, buf, len, &out, &outlen);
            break;
        default:
            return 4;
        }
        if (r == SASL_OK || r == SASL_CONTINUE) {
            send_frame(3, r == SASL_OK ? 'O' : 'C', out, outlen);
        } else {
            char msg[300];
            snprintf(msg, sizeof msg, "%s: %d %.200s", type == 'N' ? "start" : "step", r,
                     s ? sasl_errdetail(s) : "");
            send_frame(3, 'F', msg, (unsigned)strlen(msg));
        }
    }
    sasl_dispose(&s);
    sasl_server_done();
    return 0;
}

/* Starts a server process; returns its pid, with *fd its socket. */
static pid_t spawn_server(int *fd, int create)
{
    int sv[2];
    pid_t pid;
    char *args[] = { (char *)g_self, "--server", g_sasldb, create ? "create" : NULL, NULL };
    char **env;
    size_t n = 0, i, j = 0;
    posix_spawn_file_actions_t fa;

    /* CLOEXEC: later servers must not inherit this one's socket. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return -1;
    while (environ[n])
        n++;
    env = calloc(n + 1, sizeof *env);
    for (i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) && strncmp(environ[i], "LD_PRELOAD=", 11))
            env[j++] = environ[i];
    posix_spawn_file_actions_init(&fa);
    /* Close our end first: it may be fd 3 itself. */
    posix_spawn_file_actions_addclose(&fa, sv[0]);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    if (posix_spawn(&pid, g_self, &fa, NULL, args, env))
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(sv[1]);
    *fd = sv[0];
    return pid;
}

/* ---- the client threads (the library under test) ---- */

static unsigned next_rand(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

struct worker {
    int index, fd;
    unsigned rng;
    int exchanges, failures;
    char why[200];
    char buf[1 << 20];
};

#define FAIL(w, ...)                                                        \
    do {                                                                    \
        (w)->failures++;                                                    \
        if (!(w)->why[0])                                                   \
            snprintf((w)->why, sizeof (w)->why, __VA_ARGS__);               \
    } while (0)

/* One request to the server; returns its answer's type ('O', 'C', 'F'). */
static char ask(struct worker *w, char type, const void *data, unsigned len, unsigned *outlen)
{
    char t;
    if (send_frame(w->fd, type, data, len) || !(t = recv_frame(w->fd, w->buf, outlen)))
        return 0;
    if (t == 'F') {
        w->buf[*outlen < sizeof w->buf ? *outlen : sizeof w->buf - 1] = '\0';
    }
    return t;
}

/* Sends `len` bytes client -> server (sasl_encode or sasl_encodev) and
 * server -> client (decoded in two calls split at a random point). */
static void stream(struct worker *w, sasl_conn_t *c, const char *data, unsigned len)
{
    const char *out, *back;
    unsigned outlen, backlen, cut, n;
    static __thread char joined[70000];
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
    if (ask(w, 'D', out, outlen, &n) != 'O' || n != len || memcmp(w->buf, data, len) != 0) {
        FAIL(w, "server decode (%u of %u bytes)", n, len);
        return;
    }
    if (ask(w, 'E', data, len, &n) != 'O') {
        FAIL(w, "server encode");
        return;
    }
    cut = next_rand(&w->rng) % (n + 1);
    if (sasl_decode(c, w->buf, cut, &back, &backlen) != SASL_OK) {
        FAIL(w, "client decode 1: %s", sasl_errdetail(c));
        return;
    }
    memcpy(joined, back, backlen);
    r = sasl_decode(c, w->buf + cut, n - cut, &back, &outlen);
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
    static __thread char data[60000];
    unsigned want = max_ssf[next_rand(&w->rng) % 4];
    sasl_security_properties_t props = { .min_ssf = 1, .max_ssf = want, .maxbufsize = 65536 };
    sasl_conn_t *c = NULL;
    const char *cout = NULL, *mech = NULL;
    unsigned coutlen = 0, n = 0, i;
    const void *v;
    char t;
    int r;

    if (sasl_client_new("stress", "localhost", NULL, NULL, cbs, 0, &c) != SASL_OK ||
        sasl_setprop(c, SASL_SEC_PROPS, &props) != SASL_OK) {
        FAIL(w, "client_new");
        goto out;
    }
    if (ask(w, 'N', &want, sizeof want, &n) != 'C') {
        FAIL(w, "server start: %.150s", w->buf);
        goto out;
    }
    r = sasl_client_start(c, "DIGEST-MD5", NULL, &cout, &coutlen, &mech);
    if (r == SASL_CONTINUE)
        r = sasl_client_step(c, w->buf, n, NULL, &cout, &coutlen);
    if (r != SASL_CONTINUE) {
        FAIL(w, "client response: %d %s", r, sasl_errdetail(c));
        goto out;
    }
    /* Without success data the server sends rspauth as a challenge and
     * waits for the client's empty answer. */
    t = ask(w, 'R', cout, coutlen, &n);
    if (t != 'O' && t != 'C') {
        FAIL(w, "server step: %.150s", t ? w->buf : "no answer");
        goto out;
    }
    if (sasl_client_step(c, w->buf, n, NULL, &cout, &coutlen) != SASL_OK) {
        FAIL(w, "client rspauth: %s", sasl_errdetail(c));
        goto out;
    }
    if (t == 'C' && ask(w, 'R', cout, coutlen, &n) != 'O') {
        FAIL(w, "server's last step: %.150s", w->buf);
        goto out;
    }
    if (sasl_getprop(c, SASL_SSF, &v) != SASL_OK || *(const sasl_ssf_t *)v != want) {
        FAIL(w, "SSF %u, wanted %u", *(const sasl_ssf_t *)v, want);
        goto out;
    }
    for (i = 0; i < sizeof data; i++)
        data[i] = (char)next_rand(&w->rng);
    for (i = 0; i < 6; i++) {
        /* Small packets, and large ones that the client splits at MAXOUTBUF. */
        unsigned len = 1 + next_rand(&w->rng) % (i % 2 ? 60000 : 300);
        stream(w, c, data, len);
    }
    w->exchanges++;
out:
    sasl_dispose(&c);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct creds cr = { .authname = "user", .pass = "secret" };
    sasl_callback_t cbs[4];
    int i;

    make_callbacks(cbs, &cr);
    /* Each worker holds its own reference, and takes and drops extra ones
     * while the others run exchanges. */
    if (sasl_client_init(NULL) != SASL_OK)
        FAIL(w, "sasl_client_init");
    for (i = 0; i < g_iters; i++) {
        exchange(w, cbs);
        if (i % 2 == w->index % 2 &&
            (sasl_client_init(NULL) != SASL_OK || sasl_client_done() != SASL_CONTINUE))
            FAIL(w, "init/done pair");
    }
    i = sasl_client_done();
    if (i != SASL_OK && i != SASL_CONTINUE)
        FAIL(w, "sasl_client_done: %d", i);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[NTHREADS];
    static struct worker w[NTHREADS];
    pid_t pids[NTHREADS], pid;
    const char *it = getenv("CTESTS_STRESS_ITERS");
    char dir[] = "/tmp/sasl2rs-stress-XXXXXX";
    int i, fd, status;

    if (argc >= 3 && strcmp(argv[1], "--server") == 0)
        return server_main(argc, argv);
    ct_setup(argv[0]);
    /* Not /proc/self/exe: under valgrind that is valgrind itself. */
    g_self = realpath(argv[0], NULL);
    if (it && atoi(it) > 0)
        g_iters = atoi(it);
    if (!is_rust_impl()) {
        printf("t_stress: skipped against Cyrus (its init and done are not thread-safe)\n");
        return check_done();
    }
    if (access(PLUGINS "libdigestmd5.so", R_OK) || access(PLUGINS "libsasldb.so", R_OK)) {
        printf("t_stress: skipped: Cyrus's DIGEST-MD5 and sasldb plugins are not installed\n");
        return check_done();
    }
    signal(SIGPIPE, SIG_IGN);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(g_sasldb, sizeof g_sasldb, "%s/sasldb2", dir);
    /* The user, created by a server process. */
    pid = spawn_server(&fd, 1);
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    for (i = 0; i < NTHREADS; i++) {
        w[i].index = i;
        w[i].rng = 2463534242u + (unsigned)i * 7919u;
        pids[i] = spawn_server(&w[i].fd, 0);
        CHECK(pids[i] > 0);
    }
    for (i = 0; i < NTHREADS; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    for (i = 0; i < NTHREADS; i++) {
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
        close(w[i].fd);
        CHECK(waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (w[i].failures)
            fprintf(stderr, "worker %d: %d failures, first: %s\n", i, w[i].failures, w[i].why);
        CHECK_EQ_INT(w[i].failures, 0);
        CHECK_EQ_INT(w[i].exchanges, g_iters);
    }
    printf("t_stress: %d threads x %d DIGEST-MD5 exchanges with layers\n", NTHREADS, g_iters);
    /* Every reference is gone: the library is shut down. */
    CHECK_EQ_INT(sasl_client_done(), SASL_NOTINIT);
    unlink(g_sasldb);
    rmdir(dir);
    return check_done();
}
