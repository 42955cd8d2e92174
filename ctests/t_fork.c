/* Client nonces across fork(): a child's SCRAM nonces must differ from
 * the ones its parent sends next. sasl2-rs hands nonce bytes out of a
 * per-thread batch of kernel randomness that a pthread_atfork handler
 * makes a child discard; without it the child would repeat the parent's
 * next nonces. Cyrus's client is reported, not checked. */
#include "check.h"

#include <sys/wait.h>
#include <unistd.h>

/* The r= value of a SCRAM client-first message from a fresh connection. */
static int scram_nonce(const sasl_callback_t *cbs, char *nonce, size_t max)
{
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    int ok = 0;
    if (sasl_client_new("imap", "mail.example.com", NULL, NULL, cbs, 0, &conn) != SASL_OK)
        return 0;
    if (sasl_client_start(conn, "SCRAM-SHA-256", NULL, &out, &outlen, &mech) == SASL_CONTINUE && out) {
        const char *r = memmem(out, outlen, ",r=", 3);
        size_t n = r ? outlen - (size_t)(r + 3 - out) : 0;
        if (r && n > 0 && n < max) {
            memcpy(nonce, r + 3, n);
            nonce[n] = '\0';
            ok = 1;
        }
    }
    sasl_dispose(&conn);
    return ok;
}

int main(int argc, char **argv)
{
    struct creds c = { .authname = "user", .pass = "pencil" };
    sasl_callback_t cbs[4];
    char first[128], parent_next[2][128], child[2][128] = { "", "" };
    int fds[2], status = 0;
    (void)argc;
    ct_setup(argv[0]);
    init_client_or_die(NULL);
    make_callbacks(cbs, &c);

    /* A nonce before the fork, so that the batch holds unused bytes. */
    CHECK(scram_nonce(cbs, first, sizeof first));
    CHECK_EQ_INT(pipe(fds), 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int ok = scram_nonce(cbs, child[0], sizeof child[0]) && scram_nonce(cbs, child[1], sizeof child[1]);
        ssize_t w = ok ? write(fds[1], child, sizeof child) : -1;
        _exit(w == (ssize_t)sizeof child ? 0 : 1);
    }
    CHECK(pid > 0);
    close(fds[1]);
    CHECK(scram_nonce(cbs, parent_next[0], sizeof parent_next[0]));
    CHECK(scram_nonce(cbs, parent_next[1], sizeof parent_next[1]));
    CHECK_EQ_INT(read(fds[0], child, sizeof child), (int)sizeof child);
    close(fds[0]);
    CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    int repeated = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            repeated += !strcmp(child[i], parent_next[j]);
    if (is_rust_impl()) {
        CHECK_EQ_INT(repeated, 0);
        CHECK(strcmp(first, parent_next[0]) && strcmp(parent_next[0], parent_next[1]));
        CHECK(strcmp(child[0], child[1]));
    } else {
        /* Reported only: whether Cyrus's pool (seeded once per process)
         * repeats in a child is its business. */
        printf("cyrus: %d of the child's 2 nonces repeat the parent's\n", repeated);
    }
    sasl_client_done();
    return check_done();
}
