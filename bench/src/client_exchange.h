/* Client side of the bench protocol: start the auth server in its own
 * process (against the system libsasl2) and run one authentication. */
#ifndef CLIENT_EXCHANGE_H
#define CLIENT_EXCHANGE_H
#include "common.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

extern char **environ;

static char server_lib[4096];
static pid_t server_pid;

/* CPU seconds spent inside the library's calls (LIB(...)), as opposed to
 * the harness's own work: mostly the socket round trips to the server,
 * whose context switches cost a VM tens of microseconds each. */
static double lib_seconds;
#define LIB(call)                          \
    do {                                   \
        double lib_t0_ = cpu_now();        \
        call;                              \
        lib_seconds += cpu_now() - lib_t0_; \
    } while (0)

/* Returns the client's end of a socketpair connected to a fresh authserver. */
static int start_server(const char *serverbin, const char *confdir)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        die("socketpair: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        char fdbuf[16];
        close(sv[0]);
        snprintf(fdbuf, sizeof fdbuf, "%d", sv[1]);
        /* the server always uses the system library */
        unsetenv("LD_LIBRARY_PATH");
        unsetenv("LD_PRELOAD");
        /* DES parity shim (see desshim.c), next to the server binary */
        char shim[4096];
        snprintf(shim, sizeof shim, "%s", serverbin);
        char *slash = strrchr(shim, '/');
        snprintf(slash ? slash + 1 : shim, sizeof shim - (slash ? (size_t)(slash + 1 - shim) : 0), "desshim.so");
        if (access(shim, R_OK) == 0)
            setenv("LD_PRELOAD", shim, 1);
        execl(serverbin, serverbin, fdbuf, confdir, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    server_pid = pid;
    int type;
    unsigned char *p;
    size_t len;
    if (recv_msg(sv[0], &type, &p, &len) || type != MSG_INFO)
        die("auth server did not start");
    snprintf(server_lib, sizeof server_lib, "%s", (char *)p);
    free(p);
    return sv[0];
}

static void stop_server(int fd)
{
    send_msg(fd, MSG_QUIT, NULL, 0);
    close(fd);
    if (server_pid > 0)
        waitpid(server_pid, NULL, 0);
}

/* Authenticates with MECH over FD.  On success returns the open client
 * connection; if first_challenge is non-NULL, the server's first challenge
 * is copied there (NUL-terminated, truncated to fc_size). */
static sasl_conn_t *authenticate(int fd, const char *mech, unsigned min_ssf, unsigned max_ssf,
                                 unsigned maxbuf, char *first_challenge, size_t fc_size)
{
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *chosen = NULL;
    unsigned outlen = 0;
    int r;
    LIB(r = sasl_client_new(BENCH_SERVICE, BENCH_HOST, NULL, NULL, client_cbs_full, 0, &conn));
    if (r != SASL_OK)
        die("sasl_client_new: %d", r);
    sasl_security_properties_t sp;
    memset(&sp, 0, sizeof sp);
    sp.min_ssf = min_ssf;
    sp.max_ssf = max_ssf;
    sp.maxbufsize = maxbuf;
    LIB(r = sasl_setprop(conn, SASL_SEC_PROPS, &sp));
    if (r != SASL_OK)
        die("sasl_setprop(SEC_PROPS): %d", r);
    LIB(r = sasl_client_start(conn, mech, NULL, &out, &outlen, &chosen));
    if (r != SASL_OK && r != SASL_CONTINUE)
        die("sasl_client_start(%s): %d (%s)", mech, r, sasl_errdetail(conn));
    int client_done = r == SASL_OK;
    size_t ml = strlen(mech);
    unsigned char *m = malloc(13 + ml + 1 + outlen);
    put_u32(m, min_ssf);
    put_u32(m + 4, max_ssf);
    put_u32(m + 8, maxbuf);
    m[12] = out != NULL;
    memcpy(m + 13, mech, ml + 1);
    if (outlen)
        memcpy(m + 14 + ml, out, outlen);
    send_msg(fd, MSG_START, m, 14 + ml + outlen);
    free(m);
    int first = 1;
    for (;;) {
        int type;
        unsigned char *p;
        size_t len;
        if (recv_msg(fd, &type, &p, &len))
            die("lost auth server");
        if (type == MSG_FAIL)
            die("server rejected authentication: %s", (char *)p);
        const char *in = (const char *)p;
        size_t inlen = len;
        int has_data = 1;
        if (type == MSG_OK) {
            has_data = len > 0 && p[0];
            in++;
            inlen--;
        } else if (type != MSG_CONT) {
            die("unexpected message %c", type);
        }
        if (first && first_challenge) {
            snprintf(first_challenge, fc_size, "%.*s", (int)inlen, in);
        }
        first = 0;
        if (has_data) {
            out = NULL;
            outlen = 0;
            LIB(r = sasl_client_step(conn, in, (unsigned)inlen, NULL, &out, &outlen));
            if (r != SASL_OK && r != SASL_CONTINUE)
                die("sasl_client_step: %d (%s)", r, sasl_errdetail(conn));
            client_done = r == SASL_OK;
        }
        free(p);
        if (type == MSG_OK) {
            if (!client_done)
                die("server finished but client did not");
            return conn;
        }
        send_msg(fd, MSG_STEP, out, outlen);
    }
}
#endif
