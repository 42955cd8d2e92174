/* sasl_seterror is C-variadic; stable Rust cannot define such a function, so
 * this shim formats the message and hands it to the Rust side. The helper
 * symbol is hidden by the version script: only sasl_seterror is exported. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct sasl_conn;
void sasl2_rs_seterror_formatted(struct sasl_conn *conn, unsigned flags,
                                 const char *msg);

void sasl_seterror(struct sasl_conn *conn, unsigned flags, const char *fmt, ...)
{
    char small[512];
    char *msg = small;
    va_list ap;
    int n;

    if (conn == NULL || fmt == NULL)
        return;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small) {
        msg = malloc((size_t)n + 1);
        if (msg == NULL)
            return;
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    sasl2_rs_seterror_formatted(conn, flags, msg);
    if (msg != small)
        free(msg);
}
