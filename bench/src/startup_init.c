/* Startup: a process that initialises the client side and shuts it down.
 * With an argument "-v" it also prints which libsasl2 was loaded. */
#include "common.h"

int main(int argc, char **argv)
{
    int r = sasl_client_init(NULL);
    if (r != SASL_OK) {
        fprintf(stderr, "sasl_client_init: %d\n", r);
        return 1;
    }
    sasl_done();
    if (argc > 1 && !strcmp(argv[1], "-v")) {
        const char *impl = NULL;
        int ver = 0;
        sasl_version(&impl, &ver);
        printf("lib=%s impl=%s version=0x%08x\n", sasl_lib_path(), impl ? impl : "?", ver);
    }
    return 0;
}
