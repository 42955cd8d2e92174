/* sasl_seterror is C-variadic, and so is the log function of the utilities
 * given to plugins (sasl_utils_t.log); stable Rust cannot define such
 * functions, so this shim formats the message and hands it to the Rust side.
 * The helper symbols are hidden by the version script: only sasl_seterror is
 * exported.
 *
 * The format is printf-like with Cyrus's two extensions, which plug-ins and
 * callbacks use: %m takes an int errno value and prints strerror() of it,
 * and %z takes a SASL result code and prints its sasl_errstring() (with
 * SASL_NOUSER shown as SASL_BADAUTH, as sasl_errdetail does). Every other
 * conversion is handed to snprintf one at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sasl_conn;
void sasl2_rs_seterror_formatted(struct sasl_conn *conn, unsigned flags,
                                 const char *msg);
void sasl2_rs_log_formatted(struct sasl_conn *conn, int level, const char *msg);
const char *sasl_errstring(int saslerr, const char *langlist,
                           const char **outlang);

#define SASL_BADAUTH (-13)
#define SASL_NOUSER (-20)

/* A growable output buffer; on allocation failure it stops growing. */
struct out {
    char *buf;
    size_t len, cap;
    int failed;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 128;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (b == NULL) {
            o->failed = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* Formats one conversion `spec` (from '%' to the conversion character)
 * with the argument it consumes. */
static void put_conversion(struct out *o, const char *spec, size_t speclen,
                           va_list *ap)
{
    char fmt[64];
    char small[128];
    char conv = spec[speclen - 1];
    int n = -1;

    if (speclen >= sizeof fmt)
        return;
    memcpy(fmt, spec, speclen);
    fmt[speclen] = '\0';

    /* Length modifiers decide the argument's type. */
    const char *mods = spec + 1;
    int longs = 0, shorts = 0, size = 0, maxint = 0, ptrdiff = 0, longdbl = 0;
    for (const char *m = mods; m < spec + speclen - 1; m++) {
        switch (*m) {
        case 'l': longs++; break;
        case 'h': shorts++; break;
        case 'z': size = 1; break;
        case 'j': maxint = 1; break;
        case 't': ptrdiff = 1; break;
        case 'L': longdbl = 1; break;
        default: break;
        }
    }
    (void)shorts;

#define EMIT(value) n = snprintf(small, sizeof small, fmt, value)
    switch (conv) {
    case 'd': case 'i':
        if (longs >= 2) EMIT(va_arg(*ap, long long));
        else if (longs == 1) EMIT(va_arg(*ap, long));
        else if (size) EMIT(va_arg(*ap, ptrdiff_t));
        else if (maxint) EMIT(va_arg(*ap, intmax_t));
        else if (ptrdiff) EMIT(va_arg(*ap, ptrdiff_t));
        else EMIT(va_arg(*ap, int));
        break;
    case 'u': case 'x': case 'X': case 'o':
        if (longs >= 2) EMIT(va_arg(*ap, unsigned long long));
        else if (longs == 1) EMIT(va_arg(*ap, unsigned long));
        else if (size) EMIT(va_arg(*ap, size_t));
        else if (maxint) EMIT(va_arg(*ap, uintmax_t));
        else if (ptrdiff) EMIT(va_arg(*ap, size_t));
        else EMIT(va_arg(*ap, unsigned));
        break;
    case 'c':
        EMIT(va_arg(*ap, int));
        break;
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
        if (longdbl) EMIT(va_arg(*ap, long double));
        else EMIT(va_arg(*ap, double));
        break;
    case 'p':
        EMIT(va_arg(*ap, void *));
        break;
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (s == NULL)
            s = "(null)";
        /* Strings may be long: size the output first. */
        n = snprintf(NULL, 0, fmt, s);
        if (n >= 0 && (size_t)n >= sizeof small) {
            char *big = malloc((size_t)n + 1);
            if (big != NULL) {
                snprintf(big, (size_t)n + 1, fmt, s);
                put(o, big, (size_t)n);
                free(big);
            }
            return;
        }
        EMIT(s);
        break;
    }
    default:
        return; /* unknown conversion: print nothing, consume nothing */
    }
#undef EMIT
    if (n > 0)
        put(o, small, (size_t)n < sizeof small ? (size_t)n : sizeof small - 1);
}

/* Formats `fmt` with its arguments; the result is malloc'ed (NULL when out
 * of memory). */
static char *format_message(const char *fmt, va_list ap)
{
    struct out o = { NULL, 0, 0, 0 };
    va_list args;

    va_copy(args, ap);
    const char *p = fmt;
    while (*p) {
        const char *pct = strchr(p, '%');
        if (pct == NULL) {
            put(&o, p, strlen(p));
            break;
        }
        put(&o, p, (size_t)(pct - p));
        if (pct[1] == '\0') {
            put(&o, "%", 1);
            break;
        }
        /* Find the conversion character after flags, width, precision and
         * length modifiers. */
        const char *q = pct + 1;
        while (*q && strchr("-+ #0123456789.'hlLqjzt", *q) && !(*q == 'z' && (q[1] == '\0' || !strchr("diouxX", q[1]))))
            q++;
        if (*q == '\0')
            break;
        switch (*q) {
        case '%':
            put(&o, "%", 1);
            break;
        case 'm': {
            const char *e = strerror(va_arg(args, int));
            put(&o, e, strlen(e));
            break;
        }
        case 'z': {
            int code = va_arg(args, int);
            const char *e = sasl_errstring(code == SASL_NOUSER ? SASL_BADAUTH : code, NULL, NULL);
            put(&o, e, strlen(e));
            break;
        }
        default:
            put_conversion(&o, pct, (size_t)(q - pct + 1), &args);
            break;
        }
        p = q + 1;
    }
    va_end(args);
    if (o.buf == NULL && !o.failed)
        o.buf = calloc(1, 1);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}

void sasl_seterror(struct sasl_conn *conn, unsigned flags, const char *fmt, ...)
{
    va_list ap;

    if (conn == NULL || fmt == NULL)
        return;
    va_start(ap, fmt);
    char *msg = format_message(fmt, ap);
    va_end(ap);
    sasl2_rs_seterror_formatted(conn, flags, msg ? msg : "");
    free(msg);
}

/* sasl_utils_t.log: formats like sasl_seterror and passes the message to
 * the application's SASL_CB_LOG (conn may be NULL: the global callbacks). */
void sasl2_rs_plugin_log(struct sasl_conn *conn, int level, const char *fmt, ...)
{
    va_list ap;

    if (fmt == NULL)
        return;
    va_start(ap, fmt);
    char *msg = format_message(fmt, ap);
    va_end(ap);
    if (msg != NULL)
        sasl2_rs_log_formatted(conn, level, msg);
    free(msg);
}
