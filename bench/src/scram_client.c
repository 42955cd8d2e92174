/* SCRAM client CPU: K complete SCRAM authentications (client_new, start,
 * step x2 incl. server-signature check, dispose) against a Cyrus SCRAM server
 * running in a separate process; reports this process's CPU time only:
 * the median, minimum and mean over the K authentications.
 * Usage: scram_client MECH K SERVERBIN CONFDIR
 */
#include "client_exchange.h"

int main(int argc, char **argv)
{
    if (argc != 5)
        die("usage: scram_client MECH K SERVERBIN CONFDIR");
    const char *mech = argv[1];
    int k = atoi(argv[2]);
    int r = sasl_client_init(NULL);
    if (r != SASL_OK)
        die("sasl_client_init: %d", r);
    int fd = start_server(argv[3], argv[4]);
    char fc[1024];
    /* warm-up; check the iteration count the server asks for */
    sasl_conn_t *conn = authenticate(fd, mech, 0, 0, 65536, fc, sizeof fc);
    sasl_dispose(&conn);
    const char *ip = strstr(fc, ",i=");
    if (!ip)
        die("no iteration count in server-first-message: %s", fc);
    int iters = atoi(ip + 3);
    if (k < 1)
        k = 1;
    double *v = calloc(k, sizeof *v), sum = 0;
    for (int i = 0; i < k; i++) {
        double t0 = cpu_now();
        conn = authenticate(fd, mech, 0, 0, 65536, NULL, 0);
        sasl_dispose(&conn);
        v[i] = (cpu_now() - t0) * 1e6;
        sum += v[i];
    }
    stop_server(fd);
    double med = median_of(v, k); /* sorts v */
    printf("lib=%s srvlib=%s mech=%s iterations=%d auths=%d us_per_auth=%.1f us_min=%.1f us_mean=%.1f\n",
           sasl_lib_path(), server_lib, mech, iters, k, med, v[0], sum / k);
    sasl_done();
    return 0;
}
