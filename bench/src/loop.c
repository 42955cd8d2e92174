/* Connection loop: CPU time per
 *   sasl_client_new("imap", "localhost", NULL, NULL, {AUTHNAME, PASS}, 0)
 *   + sasl_client_start(conn, "PLAIN", ...) + sasl_dispose
 * over N iterations, after a warm-up.  Usage: loop N
 * Prints: lib=... iters=N us_per_iter=... out_len=...
 */
#include "common.h"

static unsigned one(void)
{
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    int r = sasl_client_new("imap", "localhost", NULL, NULL, client_cbs_plain, 0, &conn);
    if (r != SASL_OK)
        die("sasl_client_new: %d", r);
    r = sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech);
    if (r != SASL_OK && r != SASL_CONTINUE)
        die("sasl_client_start: %d (%s)", r, sasl_errdetail(conn));
    if (!out || !mech || strcmp(mech, "PLAIN"))
        die("sasl_client_start: no output or wrong mech");
    sasl_dispose(&conn);
    return outlen;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int r = sasl_client_init(NULL);
    if (r != SASL_OK)
        die("sasl_client_init: %d", r);
    unsigned len = one();
    /* PLAIN: [authzid] NUL authcid NUL passwd */
    if (len < strlen(BENCH_USER) + strlen(BENCH_PASS) + 2)
        die("PLAIN initial response too short: %u", len);
    for (long i = 0; i < n / 10; i++)
        one();
    double t0 = cpu_now();
    for (long i = 0; i < n; i++)
        one();
    double t1 = cpu_now();
    printf("lib=%s iters=%ld us_per_iter=%.3f out_len=%u\n", sasl_lib_path(), n, (t1 - t0) * 1e6 / n, len);
    sasl_done();
    return 0;
}
