/* GSSAPI confidentiality layer throughput (issue 9), client CPU.
 *
 * usage: gssapi_client MB
 *
 * Needs a private KDC (bench/run.sh starts one): a ticket for the client in
 * KRB5CCNAME and the key of host/localhost in KRB5_KTNAME. Everything runs
 * in this process: the client through libsasl2 (GSSAPI at SSF 256, maxbuf
 * 65536 both ways) against an RFC 4752 acceptor written here with raw
 * GSS-API calls, and the floor: bare gss_wrap / gss_unwrap (confidentiality)
 * on a second context pair of the same kind, over the same chunk sizes.
 *
 * enc: sasl_encode of SASL_MAXOUTBUF-sized chunks (output discarded; a few
 *      frames are checked by the acceptor first, untimed).
 * dec: sasl_decode of the acceptor's frames (wrapped beforehand, untimed),
 *      one frame per call, each output checked with memcmp, untimed.
 * floor_wrap / floor_unwrap: gss_wrap of the same chunks on the floor
 *      context / gss_unwrap of its peer's tokens, each output released.
 * The four are measured in alternating segments (MB / 8 each); the result
 * line gives each one's whole-run MB/s and its best segment. */
#include "common.h"
#include <gssapi/gssapi.h>

#define NSEG 8
#define SERVER_MAX 65536

static OM_uint32 minor_;

static void gss_die(const char *what, OM_uint32 maj, OM_uint32 min)
{
    die("%s: GSS-API major %#x minor %d", what, maj, (int)min);
}

/* Establishes an initiator (unless *ini is given through libsasl2) and an
 * acceptor context: tokens are passed in memory. */
static void raw_pair(gss_ctx_id_t *ini, gss_ctx_id_t *acc)
{
    OM_uint32 maj, min, flags;
    gss_name_t target;
    gss_buffer_desc name = { strlen("host@localhost"), "host@localhost" }, a = { 0, NULL }, b = { 0, NULL };
    maj = gss_import_name(&min, &name, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (GSS_ERROR(maj))
        gss_die("gss_import_name", maj, min);
    *ini = *acc = GSS_C_NO_CONTEXT;
    for (;;) {
        maj = gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, ini, target, GSS_C_NO_OID,
                                   GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG,
                                   0, GSS_C_NO_CHANNEL_BINDINGS, b.length ? &b : GSS_C_NO_BUFFER, NULL, &a,
                                   &flags, NULL);
        gss_release_buffer(&minor_, &b);
        if (GSS_ERROR(maj))
            gss_die("gss_init_sec_context", maj, min);
        if (a.length == 0)
            break;
        maj = gss_accept_sec_context(&min, acc, GSS_C_NO_CREDENTIAL, &a, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL,
                                     &b, &flags, NULL, NULL);
        gss_release_buffer(&minor_, &a);
        if (GSS_ERROR(maj))
            gss_die("gss_accept_sec_context", maj, min);
        if (b.length == 0)
            break;
    }
    gss_release_name(&minor_, &target);
}

static void wrap(gss_ctx_id_t ctx, const void *msg, size_t len, gss_buffer_desc *out)
{
    OM_uint32 maj, min;
    int conf = 0;
    gss_buffer_desc in = { len, (void *)msg };
    maj = gss_wrap(&min, ctx, 1, GSS_C_QOP_DEFAULT, &in, &conf, out);
    if (GSS_ERROR(maj) || !conf)
        gss_die("gss_wrap", maj, min);
}

static void unwrap(gss_ctx_id_t ctx, const void *tok, size_t len, gss_buffer_desc *out)
{
    OM_uint32 maj, min;
    gss_buffer_desc in = { len, (void *)tok };
    maj = gss_unwrap(&min, ctx, &in, out, NULL, NULL);
    if (GSS_ERROR(maj))
        gss_die("gss_unwrap", maj, min);
}

/* RFC 4752 through libsasl2 against the acceptor `acc`. */
static sasl_conn_t *authenticate(gss_ctx_id_t *acc)
{
    static sasl_callback_t cbs[] = { { SASL_CB_LIST_END, NULL, NULL } };
    sasl_security_properties_t sp = { .min_ssf = 256, .max_ssf = 256, .maxbufsize = SERVER_MAX };
    unsigned char offer[4] = { 7, SERVER_MAX >> 16, (SERVER_MAX >> 8) & 0xff, SERVER_MAX & 0xff };
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    gss_buffer_desc tok = { 0, NULL }, plain;
    OM_uint32 maj, min, flags;
    const void *v;
    int rc;

    if (sasl_client_init(NULL) != SASL_OK || sasl_client_new("host", "localhost", NULL, NULL, cbs, 0, &conn) != SASL_OK)
        die("sasl_client_init/new failed");
    sasl_setprop(conn, SASL_SEC_PROPS, &sp);
    rc = sasl_client_start(conn, "GSSAPI", NULL, &out, &outlen, &mech);
    *acc = GSS_C_NO_CONTEXT;
    while (rc == SASL_CONTINUE) {
        gss_buffer_desc in = { outlen, (void *)out };
        if (*acc == GSS_C_NO_CONTEXT || outlen > 0) {
            maj = gss_accept_sec_context(&min, acc, GSS_C_NO_CREDENTIAL, &in, GSS_C_NO_CHANNEL_BINDINGS, NULL,
                                         NULL, &tok, &flags, NULL, NULL);
            if (GSS_ERROR(maj))
                gss_die("gss_accept_sec_context", maj, min);
        } else {
            wrap(*acc, offer, 4, &tok); /* the context is complete: offer the layers */
        }
        rc = sasl_client_step(conn, tok.value, (unsigned)tok.length, NULL, &out, &outlen);
        gss_release_buffer(&minor_, &tok);
    }
    if (rc != SASL_OK)
        die("GSSAPI authentication failed: %d %s", rc, sasl_errdetail(conn));
    unwrap(*acc, out, outlen, &plain);
    if (plain.length < 4 || ((unsigned char *)plain.value)[0] != 4)
        die("the client did not choose confidentiality");
    gss_release_buffer(&minor_, &plain);
    if (sasl_getprop(conn, SASL_SSF, &v) != SASL_OK || *(const unsigned *)v != 256)
        die("SSF is not 256");
    return conn;
}

static double best_of(const double *seg, size_t total)
{
    double b = 0;
    for (int i = 0; i < NSEG; i++)
        if (seg[i] > 0 && total / NSEG / seg[i] / 1e6 > b)
            b = total / NSEG / seg[i] / 1e6;
    return b;
}

int main(int argc, char **argv)
{
    size_t total = (argc > 1 ? strtoul(argv[1], NULL, 10) : 16) << 20, seglen = total / NSEG;
    gss_ctx_id_t acc, fini, facc;
    sasl_conn_t *conn = authenticate(&acc);
    const void *v;
    unsigned maxout, outlen;
    const char *out;
    unsigned char *data;
    double t_enc = 0, t_dec = 0, t_fw = 0, t_fu = 0;
    double s_enc[NSEG] = { 0 }, s_dec[NSEG] = { 0 }, s_fw[NSEG] = { 0 }, s_fu[NSEG] = { 0 };
    size_t nframes, i, chunk;
    gss_buffer_desc *frames, *ftoks;
    unsigned char **wire;

    raw_pair(&fini, &facc);
    sasl_getprop(conn, SASL_MAXOUTBUF, &v);
    maxout = *(const unsigned *)v;
    chunk = maxout;
    nframes = (seglen + chunk - 1) / chunk;
    data = malloc(total + chunk);
    for (i = 0; i < total + chunk; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 11));

    /* Check a few frames each way first (untimed). */
    for (i = 0; i < 4; i++) {
        gss_buffer_desc plain;
        if (sasl_encode(conn, (char *)data + i * chunk, (unsigned)chunk, &out, &outlen) != SASL_OK)
            die("sasl_encode: %s", sasl_errdetail(conn));
        unwrap(acc, out + 4, outlen - 4, &plain);
        if (plain.length != chunk || memcmp(plain.value, data + i * chunk, chunk))
            die("the acceptor read a wrong frame");
        gss_release_buffer(&minor_, &plain);
    }

    /* The acceptor's frames and the floor's tokens for one segment. */
    frames = calloc(nframes, sizeof *frames);
    ftoks = calloc(nframes, sizeof *ftoks);
    wire = calloc(nframes, sizeof *wire);

    for (int seg = 0; seg < NSEG; seg++) {
        const unsigned char *base = data + seg * seglen;
        double t;
        /* sasl_encode */
        t = cpu_now();
        for (size_t off = 0; off < seglen; off += chunk) {
            size_t n = seglen - off < chunk ? seglen - off : chunk;
            if (sasl_encode(conn, (const char *)base + off, (unsigned)n, &out, &outlen) != SASL_OK)
                die("sasl_encode: %s", sasl_errdetail(conn));
        }
        t = cpu_now() - t;
        s_enc[seg] = t;
        t_enc += t;
        /* floor: bare gss_wrap */
        t = cpu_now();
        for (size_t off = 0; off < seglen; off += chunk) {
            size_t n = seglen - off < chunk ? seglen - off : chunk;
            gss_buffer_desc tok;
            wrap(fini, base + off, n, &tok);
            gss_release_buffer(&minor_, &tok);
        }
        t = cpu_now() - t;
        s_fw[seg] = t;
        t_fw += t;
        /* untimed: the tokens to decode */
        for (i = 0; i * chunk < seglen; i++) {
            size_t n = seglen - i * chunk < chunk ? seglen - i * chunk : chunk;
            wrap(acc, base + i * chunk, n, &frames[i]);
            wire[i] = malloc(frames[i].length + 4);
            wire[i][0] = (unsigned char)(frames[i].length >> 24);
            wire[i][1] = (unsigned char)(frames[i].length >> 16);
            wire[i][2] = (unsigned char)(frames[i].length >> 8);
            wire[i][3] = (unsigned char)frames[i].length;
            memcpy(wire[i] + 4, frames[i].value, frames[i].length);
            wrap(facc, base + i * chunk, n, &ftoks[i]);
        }
        /* sasl_decode, one frame per call, checked outside the timing */
        for (i = 0; i * chunk < seglen; i++) {
            size_t n = seglen - i * chunk < chunk ? seglen - i * chunk : chunk;
            double t0 = cpu_now();
            int rc = sasl_decode(conn, (const char *)wire[i], (unsigned)frames[i].length + 4, &out, &outlen);
            t = cpu_now() - t0;
            s_dec[seg] += t;
            t_dec += t;
            if (rc != SASL_OK || outlen != n || memcmp(out, base + i * chunk, n))
                die("sasl_decode: %d %s", rc, sasl_errdetail(conn));
        }
        /* floor: bare gss_unwrap */
        t = cpu_now();
        for (i = 0; i * chunk < seglen; i++) {
            gss_buffer_desc plain;
            unwrap(fini, ftoks[i].value, ftoks[i].length, &plain);
            gss_release_buffer(&minor_, &plain);
        }
        t = cpu_now() - t;
        s_fu[seg] = t;
        t_fu += t;
        for (i = 0; i * chunk < seglen; i++) {
            gss_release_buffer(&minor_, &frames[i]);
            gss_release_buffer(&minor_, &ftoks[i]);
            free(wire[i]);
        }
    }
    printf("lib=%s chunk=%zu enc_mbps=%.1f dec_mbps=%.1f floor_wrap_mbps=%.1f floor_unwrap_mbps=%.1f "
           "enc_best=%.1f dec_best=%.1f floor_wrap_best=%.1f floor_unwrap_best=%.1f\n",
           sasl_lib_path(), chunk, total / t_enc / 1e6, total / t_dec / 1e6, total / t_fw / 1e6, total / t_fu / 1e6,
           best_of(s_enc, total), best_of(s_dec, total), best_of(s_fw, total), best_of(s_fu, total));
    free(frames);
    free(ftoks);
    free(wire);
    free(data);
    gss_delete_sec_context(&minor_, &acc, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor_, &fini, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor_, &facc, GSS_C_NO_BUFFER);
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}
