/* Startup floor: a process that is linked against libsasl2 and loads it, but
 * only calls sasl_version() (so the dependency cannot be dropped). */
#include <sasl/sasl.h>

int main(void)
{
    int v;
    sasl_version(NULL, &v);
    return 0;
}
