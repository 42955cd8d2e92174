/* SCRAM client CPU: K complete SCRAM authentications (client_new, start,
 * step x2 incl. server-signature check, dispose) against a Cyrus SCRAM server
 * running in a separate process; reports this process's CPU time only.
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
    double t0 = cpu_now();
    for (int i = 0; i < k; i++) {
        conn = authenticate(fd, mech, 0, 0, 65536, NULL, 0);
        sasl_dispose(&conn);
    }
    double t1 = cpu_now();
    stop_server(fd);
    printf("lib=%s srvlib=%s mech=%s iterations=%d auths=%d us_per_auth=%.1f\n", sasl_lib_path(), server_lib,
           mech, iters, k, (t1 - t0) * 1e6 / k);
    sasl_done();
    return 0;
}
