/* Connection loop: CPU time per
 *   sasl_client_new("imap", "localhost", NULL, NULL, {AUTHNAME, PASS}, 0)
 *   + sasl_client_start(conn, MECH, ...) + sasl_dispose
 * over N iterations (5 batches of N/5 after a warm-up of N/10; the
 * median batch is reported).  Usage: loop N [MECH [LIST]]  (MECH: PLAIN,
 * or a client-first mechanism such as SCRAM-SHA-256; LIST: the server's
 * mechanism list, from which MECH must be the one chosen, default MECH)
 * Prints: lib=... iters=N us_per_iter=<median batch> us_min=<best batch> out_len=...
 */
#include "common.h"

static const char *mech_name = "PLAIN";
static const char *server_list = "PLAIN";

static unsigned one(void)
{
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    int r = sasl_client_new("imap", "localhost", NULL, NULL, client_cbs_plain, 0, &conn);
    if (r != SASL_OK)
        die("sasl_client_new: %d", r);
    r = sasl_client_start(conn, server_list, NULL, &out, &outlen, &mech);
    if (r != SASL_OK && r != SASL_CONTINUE)
        die("sasl_client_start: %d (%s)", r, sasl_errdetail(conn));
    if (!out || !mech || strcmp(mech, mech_name))
        die("sasl_client_start: no output or wrong mech");
    sasl_dispose(&conn);
    return outlen;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    if (argc > 2)
        server_list = mech_name = argv[2];
    if (argc > 3)
        server_list = argv[3];
    int r = sasl_client_init(NULL);
    if (r != SASL_OK)
        die("sasl_client_init: %d", r);
    unsigned len = one();
    /* PLAIN: [authzid] NUL authcid NUL passwd; SCRAM: n,,n=user,r=nonce */
    if (!strcmp(mech_name, "PLAIN") ? len < strlen(BENCH_USER) + strlen(BENCH_PASS) + 2 : len < strlen(BENCH_USER) + 8)
        die("%s initial response too short: %u", mech_name, len);
    for (long i = 0; i < n / 10; i++)
        one();
    enum { B = 5 };
    double v[B];
    long per = n / B > 0 ? n / B : 1;
    for (int b = 0; b < B; b++) {
        double t0 = cpu_now();
        for (long i = 0; i < per; i++)
            one();
        v[b] = (cpu_now() - t0) * 1e6 / per;
    }
    for (int i = 0; i < B; i++)
        for (int j = i + 1; j < B; j++)
            if (v[j] < v[i]) { double t = v[i]; v[i] = v[j]; v[j] = t; }
    printf("lib=%s iters=%ld us_per_iter=%.3f us_min=%.3f out_len=%u\n", sasl_lib_path(), per * B, v[B / 2], v[0], len);
    sasl_done();
    return 0;
}
