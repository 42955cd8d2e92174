/* Memory per open connection: opens N client connections
 * (sasl_client_new + sasl_client_start PLAIN) and keeps them all open;
 * reports the heap growth per connection (glibc mallinfo2: uordblks +
 * hblkhd, i.e. bytes in use in all arenas plus mmapped chunks) and the RSS
 * growth per connection (/proc/self/statm).  Usage: memory N
 */
#include "common.h"
#include <malloc.h>

static long rss_bytes(void)
{
    long size, res;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &size, &res) != 2)
        die("statm");
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static sasl_conn_t *open1(void)
{
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    int r = sasl_client_new("imap", "localhost", NULL, NULL, client_cbs_plain, 0, &conn);
    if (r != SASL_OK)
        die("sasl_client_new: %d", r);
    r = sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech);
    if (r != SASL_OK && r != SASL_CONTINUE)
        die("sasl_client_start: %d", r);
    return conn;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    sasl_conn_t **conns = calloc(n, sizeof *conns);
    int r = sasl_client_init(NULL);
    if (r != SASL_OK)
        die("sasl_client_init: %d", r);
    /* warm-up: lazily allocated global state is not per-connection */
    for (int i = 0; i < 3; i++) {
        sasl_conn_t *c = open1();
        sasl_dispose(&c);
    }
    size_t h0 = heap_bytes();
    long r0 = rss_bytes();
    for (long i = 0; i < n; i++)
        conns[i] = open1();
    size_t h1 = heap_bytes();
    long r1 = rss_bytes();
    for (long i = 0; i < n; i++)
        sasl_dispose(&conns[i]);
    size_t h2 = heap_bytes();
    printf("lib=%s conns=%ld heap_per_conn=%.1f rss_per_conn=%.1f heap_left_after_dispose=%ld\n",
           sasl_lib_path(), n, (double)(h1 - h0) / n, (double)(r1 - r0) / n, (long)h2 - (long)h0);
    sasl_done();
    return 0;
}
