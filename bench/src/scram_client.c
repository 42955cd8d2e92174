/* SCRAM client CPU: K complete SCRAM authentications (client_new, start,
 * step x2 incl. server-signature check, dispose) against a Cyrus SCRAM server
 * running in a separate process; reports this process's CPU time only:
 * the median, minimum and mean over the K authentications, and the same for
 * the CPU spent inside the library's calls only (lib_*: the harness's
 * socket round trips left out).
 * Usage: scram_client MECH K SERVERBIN CONFDIR [first|repeat]
 *   first (default): each timed authentication is the first of the process's
 *     library use: sasl_client_init before it and sasl_done after it, both
 *     untimed (so a re-authentication cache, which sasl_done clears, is empty)
 *   repeat: one untimed authentication, then K timed ones of the same user
 *     with the library initialised once (a cache, if any, is warm)
 */
#include "client_exchange.h"

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6)
        die("usage: scram_client MECH K SERVERBIN CONFDIR [first|repeat]");
    const char *mech = argv[1];
    int k = atoi(argv[2]);
    int repeat = argc == 6 && !strcmp(argv[5], "repeat");
    if (argc == 6 && !repeat && strcmp(argv[5], "first"))
        die("mode must be first or repeat");
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
    double *v = calloc(k, sizeof *v), *lib = calloc(k, sizeof *lib), sum = 0;
    for (int i = 0; i < k; i++) {
        if (!repeat) {
            sasl_done();
            if ((r = sasl_client_init(NULL)) != SASL_OK)
                die("sasl_client_init: %d", r);
        }
        double t0 = cpu_now();
        lib_seconds = 0;
        conn = authenticate(fd, mech, 0, 0, 65536, NULL, 0);
        LIB(sasl_dispose(&conn));
        v[i] = (cpu_now() - t0) * 1e6;
        lib[i] = lib_seconds * 1e6;
        sum += v[i];
    }
    stop_server(fd);
    double med = median_of(v, k); /* sorts v */
    double lib_med = median_of(lib, k);
    printf("lib=%s srvlib=%s mech=%s mode=%s iterations=%d auths=%d us_per_auth=%.1f us_min=%.1f us_mean=%.1f"
           " lib_us_per_auth=%.1f lib_us_min=%.1f\n",
           sasl_lib_path(), server_lib, mech, repeat ? "repeat" : "first", iters, k, med, v[0], sum / k,
           lib_med, lib[0]);
    sasl_done();
    return 0;
}
