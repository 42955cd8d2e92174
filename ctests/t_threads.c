/* Concurrency: many threads running independent client exchanges on their
 * own connections, and (sasl2-rs only) threads racing sasl_client_init /
 * sasl_client_done against connection use. */
#include "check.h"
#include <pthread.h>

#define NTHREADS 8

static int g_iters = 200;

struct worker {
    int index;
    int failures;   /* counted locally, checked by the main thread */
    int completed;
};

static const char chal[] = "<1896.697170952@postoffice.reston.mci.net>";

static void *exchange_worker(void *arg)
{
    struct worker *w = arg;
    struct creds c = { .authname = "tim", .pass = "tanstaaftanstaaf" };
    char user[32];
    sasl_callback_t cbs[4];
    int i;

    snprintf(user, sizeof user, "user%d", w->index);
    c.user = user;
    make_callbacks(cbs, &c);

    for (i = 0; i < g_iters; i++) {
        sasl_conn_t *conn = NULL;
        const char *out = NULL, *mech = NULL;
        unsigned outlen = 0;
        const void *v = NULL;
        char want[64];
        int wantlen, r;

        r = sasl_client_new("imap", "mail.example.com", NULL, NULL, cbs, 0,
                            &conn);
        if (r != SASL_OK) {
            w->failures++;
            continue;
        }
        if (i % 2 == 0) {
            r = sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech);
            wantlen = snprintf(want, sizeof want, "%s%ctim%ctanstaaftanstaaf",
                               user, 0, 0);
            if (r != SASL_OK || outlen != (unsigned)wantlen ||
                memcmp(out, want, (size_t)wantlen) != 0)
                w->failures++;
            if (sasl_getprop(conn, SASL_USERNAME, &v) != SASL_OK ||
                strcmp(v, user) != 0)
                w->failures++;
        } else {
            r = sasl_client_start(conn, "CRAM-MD5", NULL, &out, &outlen, &mech);
            if (r != SASL_CONTINUE)
                w->failures++;
            r = sasl_client_step(conn, chal, sizeof chal - 1, NULL, &out,
                                 &outlen);
            if (r != SASL_OK || outlen != 36 ||
                memcmp(out, "tim b913a602c7eda7a495b4e6e7334d3890", 36) != 0)
                w->failures++;
        }
        /* errors on one connection stay on that connection */
        if (sasl_client_start(conn, NULL, NULL, NULL, NULL, NULL) != SASL_BADPARAM)
            w->failures++;
        if (strncmp(sasl_errdetail(conn), "SASL(-7)", 8) != 0)
            w->failures++;
        sasl_dispose(&conn);
        if (conn != NULL)
            w->failures++;
        w->completed++;
    }
    return NULL;
}

static void test_concurrent_exchanges(void)
{
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    int i;

    init_client_or_die(NULL);
    for (i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        CHECK_EQ_INT(pthread_create(&th[i], NULL, exchange_worker, &w[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
        CHECK_EQ_INT(w[i].failures, 0);
        CHECK_EQ_INT(w[i].completed, g_iters);
    }
    CHECK_EQ_INT(sasl_client_done(), SASL_OK);
}

static int g_init_failures;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void *init_done_worker(void *arg)
{
    int i, bad = 0;
    struct creds c = { .authname = "tim", .pass = "pw" };
    sasl_callback_t cbs[4];
    (void)arg;
    make_callbacks(cbs, &c);

    for (i = 0; i < g_iters / 4 + 1; i++) {
        sasl_conn_t *conn = NULL;
        const char *out = NULL;
        unsigned outlen = 0;
        int r;

        if (sasl_client_init(NULL) != SASL_OK) {
            bad++;
            continue;
        }
        if (sasl_client_new("imap", "h", NULL, NULL, cbs, 0, &conn) != SASL_OK) {
            bad++;
        } else {
            r = sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, NULL);
            if (r != SASL_OK || outlen != 7 || memcmp(out, "\0tim\0pw", 7) != 0)
                bad++;
            sasl_dispose(&conn);
        }
        r = sasl_client_done();
        if (r != SASL_OK && r != SASL_CONTINUE)
            bad++;
    }
    pthread_mutex_lock(&g_lock);
    g_init_failures += bad;
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

static void test_concurrent_init_done(void)
{
    /* Cyrus 2.1.28's init/done and init/dispose paths are not thread-safe
     * (cyrus-sasl issues #584 and #715): run this only against sasl2-rs. */
    pthread_t th[NTHREADS];
    int i;

    if (!is_rust_impl())
        return;
    g_init_failures = 0;
    for (i = 0; i < NTHREADS; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, init_done_worker, NULL), 0);
    for (i = 0; i < NTHREADS; i++)
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
    CHECK_EQ_INT(g_init_failures, 0);
    /* every init was matched by a done: the library is shut down again */
    CHECK_EQ_INT(sasl_client_done(), SASL_NOTINIT);
}

int main(int argc, char **argv)
{
    const char *it = getenv("CTESTS_THREAD_ITERS");
    (void)argc;
    ct_setup(argv[0]);
    if (it && atoi(it) > 0)
        g_iters = atoi(it);
    test_concurrent_exchanges();
    test_concurrent_init_done();
    return check_done();
}
