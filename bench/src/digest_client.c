/* DIGEST-MD5 security-layer throughput, client side.
 * Usage: digest_client MODE MB SERVERBIN CONFDIR     MODE: auth-int | rc4 | 3des
 *
 * Negotiates DIGEST-MD5 with a Cyrus server in a separate process, with
 * min_ssf = max_ssf chosen to force the qop/cipher (auth-int: 1, rc4: 128,
 * 3des: 112) on both sides, and maxbufsize 65536.  Then:
 *  encode: sends 4 frames to the server to check they decode to the right
 *          plaintext (untimed), then times sasl_encode over MB*10^6 bytes
 *          in SASL_MAXOUTBUF-sized chunks (output discarded);
 *  decode: the server encodes MB*10^6 bytes of known data; the client
 *          receives all frames (untimed) and times sasl_decode frame by frame
 *          (the memcmp check of each decoded frame is outside the timing).
 * Prints CPU-time throughput in MB/s (10^6 bytes of plaintext per second):
 * enc_mbps/dec_mbps over the whole run, enc_best/dec_best for the best of
 * NSEG equal segments of it.
 */
#include "client_exchange.h"

#define NSEG 8

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
    if (argc != 5)
        die("usage: digest_client MODE MB SERVERBIN CONFDIR");
    const char *mode = argv[1];
    size_t total = (size_t)(atof(argv[2]) * 1e6);
    unsigned ssf;
    if (!strcmp(mode, "auth-int"))
        ssf = 1;
    else if (!strcmp(mode, "rc4"))
        ssf = 128;
    else if (!strcmp(mode, "3des"))
        ssf = 112;
    else
        die("unknown mode %s", mode);
    int r = sasl_client_init(NULL);
    if (r != SASL_OK)
        die("sasl_client_init: %d", r);
    int fd = start_server(argv[3], argv[4]);
    sasl_conn_t *conn = authenticate(fd, "DIGEST-MD5", ssf, ssf, 65536, NULL, 0);
    const int *got_ssf;
    const unsigned *maxout;
    if (sasl_getprop(conn, SASL_SSF, (const void **)&got_ssf) != SASL_OK || (unsigned)*got_ssf != ssf)
        die("negotiated ssf %d, wanted %u", got_ssf ? *got_ssf : -1, ssf);
    if (sasl_getprop(conn, SASL_MAXOUTBUF, (const void **)&maxout) != SASL_OK || *maxout == 0)
        die("no SASL_MAXOUTBUF");
    size_t chunk = *maxout;

    unsigned char *src = malloc(total + chunk);
    fill_pattern(src, 0, total + chunk);

    /* encode: correctness check through the server */
    {
        size_t n = 0, cap = 4 * chunk + 4096;
        unsigned char *frames = malloc(cap);
        for (int i = 0; i < 4; i++) {
            const char *out;
            unsigned outlen;
            if ((r = sasl_encode(conn, (const char *)src + i * chunk, (unsigned)chunk, &out, &outlen)) != SASL_OK)
                die("sasl_encode: %d (%s)", r, sasl_errdetail(conn));
            if (n + outlen > cap)
                frames = realloc(frames, cap = 2 * (n + outlen));
            memcpy(frames + n, out, outlen);
            n += outlen;
        }
        send_msg(fd, MSG_DECODE, frames, n);
        free(frames);
        int type;
        unsigned char *p;
        size_t len;
        if (recv_msg(fd, &type, &p, &len) || type != MSG_DATA)
            die("server failed to decode our frames");
        if (len != 4 * chunk || memcmp(p, src, len))
            die("server decoded our frames to different plaintext");
        free(p);
    }
    /* encode: timed */
    size_t frames_bytes = 0;
    double seg_enc[NSEG] = { 0 }, seg_dec[NSEG] = { 0 };
    double t0 = cpu_now(), ts = t0;
    int cur = 0;
    for (size_t off = 0; off < total; off += chunk) {
        int sg = (int)(off * NSEG / total);
        if (sg != cur) {
            double now = cpu_now();
            seg_enc[cur] += now - ts;
            ts = now;
            cur = sg;
        }
        size_t l = total - off < chunk ? total - off : chunk;
        const char *out;
        unsigned outlen;
        if ((r = sasl_encode(conn, (const char *)src + off, (unsigned)l, &out, &outlen)) != SASL_OK)
            die("sasl_encode: %d", r);
        frames_bytes += outlen;
    }
    double t_enc = cpu_now() - t0;
    seg_enc[cur] += t0 + t_enc - ts;

    /* decode */
    unsigned char req[4];
    put_u32(req, (uint32_t)total);
    send_msg(fd, MSG_ENCODE, req, 4);
    int type;
    unsigned char *frames;
    size_t flen;
    if (recv_msg(fd, &type, &frames, &flen) || type != MSG_DATA)
        die("server failed to encode");
    double t_dec = 0;
    size_t off = 0, pos = 0, nframes = 0, server_chunk = 0;
    while (pos + 4 <= flen) {
        size_t fl = 4 + get_u32(frames + pos);
        if (pos + fl > flen)
            die("truncated frame from server");
        const char *out;
        unsigned outlen;
        t0 = cpu_now();
        r = sasl_decode(conn, (const char *)frames + pos, (unsigned)fl, &out, &outlen);
        double dt = cpu_now() - t0;
        t_dec += dt;
        seg_dec[off * NSEG / total] += dt;
        if (r != SASL_OK)
            die("sasl_decode: %d (%s)", r, sasl_errdetail(conn));
        if (off + outlen > total || memcmp(out, src + off, outlen))
            die("sasl_decode: wrong plaintext in frame %zu", nframes);
        if (!server_chunk)
            server_chunk = outlen;
        off += outlen;
        pos += fl;
        nframes++;
    }
    if (off != total)
        die("decoded %zu bytes, expected %zu", off, total);
    free(frames);
    stop_server(fd);
    printf("lib=%s srvlib=%s mode=%s ssf=%u enc_chunk=%zu dec_chunk=%zu enc_overhead=%.4f enc_mbps=%.1f dec_mbps=%.1f enc_best=%.1f dec_best=%.1f\n",
           sasl_lib_path(), server_lib, mode, ssf, chunk, server_chunk, (double)frames_bytes / total - 1,
           total / t_enc / 1e6, total / t_dec / 1e6, best_of(seg_enc, total), best_of(seg_dec, total));
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}
