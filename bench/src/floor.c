/* Floors: the bare primitive work a perfect implementation cannot avoid,
 * using OpenSSL libcrypto's low-level (deprecated, assembly-optimised)
 * functions.
 *
 *   floor scram sha1|sha224|sha256|sha384|sha512 REPS
 *       CPU time of 2 x 4096 calls of the hash's compression function
 *       (SHA1_Transform / SHA256_Transform / SHA512_Transform; SHA-224 and
 *       SHA-384 use the SHA-256 and SHA-512 compressions), i.e. the
 *       PBKDF2-HMAC inner+outer block per iteration with precomputed pads.
 *       Prints us_per_auth (median over REPS) and us_min (best rep).
 *       Also chain_us_min: the same compressions chained as PBKDF2 chains
 *       them (each block starts with the digest the one before produced, so
 *       a compression cannot start before the last one ends and its digest
 *       is written out), i.e. Hi(4096) itself with OpenSSL's compressions and
 *       nothing else: the floor of any Hi() built on these functions.
 *
 *   floor digest auth-int|rc4|3des enc|dec CHUNK MB
 *       DIGEST-MD5 per-frame crypto over MB*10^6 bytes in CHUNK-byte frames:
 *       HMAC-MD5(Ki, seq || msg) with precomputed ipad/opad MD5 states
 *       (MD5_Update/MD5_Final), plus for rc4 RC4() over msg+10-byte MAC, and
 *       for 3des DES_ede3_cbc_encrypt over msg+padding+MAC (decrypt for dec;
 *       the 3des path includes the copy into the padded buffer).
 *       Prints mbps (10^6 bytes of plaintext per CPU second, whole run) and
 *       best_mbps (best of NSEG equal segments of the run).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "common.h"
#include <openssl/des.h>
#include <openssl/md5.h>
#include <openssl/rc4.h>
#include <openssl/sha.h>

#define NSEG 8

static double scram_floor(const char *h, int reps, double *best)
{
    unsigned char block[128];
    memset(block, 0x36, sizeof block);
    volatile unsigned sink = 0;
    double v[1000];
    if (reps < 1 || reps > 1000)
        die("reps out of range");
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        if (!strcmp(h, "sha1")) {
            SHA_CTX c;
            SHA1_Init(&c);
            for (int i = 0; i < 2 * 4096; i++)
                SHA1_Transform(&c, block);
            sink += c.h0;
        } else if (!strcmp(h, "sha256") || !strcmp(h, "sha224")) {
            /* SHA-224 is SHA-256's compression with another IV */
            SHA256_CTX c;
            SHA256_Init(&c);
            for (int i = 0; i < 2 * 4096; i++)
                SHA256_Transform(&c, block);
            sink += c.h[0];
        } else if (!strcmp(h, "sha512") || !strcmp(h, "sha384")) {
            /* SHA-384 is SHA-512's compression with another IV */
            SHA512_CTX c;
            SHA512_Init(&c);
            for (int i = 0; i < 2 * 4096; i++)
                SHA512_Transform(&c, block);
            sink += (unsigned)c.h[0];
        } else {
            die("unknown hash %s", h);
        }
        v[r] = (cpu_now() - t0) * 1e6;
    }
    double med = median_of(v, reps);
    *best = v[0];
    return med;
}

/* Big-endian digest words into the block. */
static void put32(unsigned char *o, const unsigned *w, int n)
{
    for (int i = 0; i < n; i++) {
        o[4 * i] = w[i] >> 24;
        o[4 * i + 1] = w[i] >> 16;
        o[4 * i + 2] = w[i] >> 8;
        o[4 * i + 3] = w[i];
    }
}

static void put64(unsigned char *o, const unsigned long long *w, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 8; j++)
            o[8 * i + j] = w[i] >> (56 - 8 * j);
}

/* One chained Hi(4096) (keyed states precomputed, as a careful PBKDF2
 * does): per iteration, inner = F(ipad, U || pad), U = F(opad, inner || pad). */
static double scram_chain(const char *h)
{
    unsigned char b[128];
    memset(b, 0x36, sizeof b);
    volatile unsigned sink = 0;
    double t0;
    if (!strcmp(h, "sha1")) {
        SHA_CTX ip, op;
        SHA1_Init(&ip);
        SHA1_Transform(&ip, b);
        SHA1_Init(&op);
        SHA1_Transform(&op, b);
        memset(b, 0, 64);
        b[20] = 0x80;
        b[62] = (64 + 20) * 8 >> 8;
        b[63] = (unsigned char)((64 + 20) * 8);
        t0 = cpu_now();
        for (int i = 0; i < 4096; i++) {
            SHA_CTX x = ip;
            SHA1_Transform(&x, b);
            unsigned w[5] = {x.h0, x.h1, x.h2, x.h3, x.h4};
            put32(b, w, 5);
            x = op;
            SHA1_Transform(&x, b);
            unsigned u[5] = {x.h0, x.h1, x.h2, x.h3, x.h4};
            put32(b, u, 5);
        }
    } else if (!strcmp(h, "sha256") || !strcmp(h, "sha224")) {
        int n = strcmp(h, "sha224") ? 8 : 7;
        SHA256_CTX ip, op;
        SHA256_Init(&ip);
        SHA256_Transform(&ip, b);
        SHA256_Init(&op);
        SHA256_Transform(&op, b);
        memset(b, 0, 64);
        b[4 * n] = 0x80;
        b[62] = (64 + 4 * n) * 8 >> 8;
        b[63] = (unsigned char)((64 + 4 * n) * 8);
        t0 = cpu_now();
        for (int i = 0; i < 4096; i++) {
            SHA256_CTX x = ip;
            SHA256_Transform(&x, b);
            put32(b, x.h, n);
            x = op;
            SHA256_Transform(&x, b);
            put32(b, x.h, n);
        }
    } else if (!strcmp(h, "sha512") || !strcmp(h, "sha384")) {
        int n = strcmp(h, "sha384") ? 8 : 6;
        SHA512_CTX ip, op;
        SHA512_Init(&ip);
        SHA512_Transform(&ip, b);
        SHA512_Init(&op);
        SHA512_Transform(&op, b);
        memset(b, 0, 128);
        b[8 * n] = 0x80;
        b[126] = (128 + 8 * n) * 8 >> 8;
        b[127] = (unsigned char)((128 + 8 * n) * 8);
        t0 = cpu_now();
        for (int i = 0; i < 4096; i++) {
            SHA512_CTX x = ip;
            SHA512_Transform(&x, b);
            put64(b, x.h, n);
            x = op;
            SHA512_Transform(&x, b);
            put64(b, x.h, n);
        }
    } else {
        die("unknown hash %s", h);
    }
    double t = (cpu_now() - t0) * 1e6;
    sink += b[0];
    return t;
}

struct hmac {
    MD5_CTX inner, outer;
};

static void hmac_init(struct hmac *h, const unsigned char key[16])
{
    unsigned char pad[64];
    memset(pad, 0x36, 64);
    for (int i = 0; i < 16; i++)
        pad[i] ^= key[i];
    MD5_Init(&h->inner);
    MD5_Update(&h->inner, pad, 64);
    memset(pad, 0x5c, 64);
    for (int i = 0; i < 16; i++)
        pad[i] ^= key[i];
    MD5_Init(&h->outer);
    MD5_Update(&h->outer, pad, 64);
}

static void hmac_mac(const struct hmac *h, uint32_t seq, const unsigned char *msg, size_t len, unsigned char mac[16])
{
    MD5_CTX c = h->inner;
    unsigned char s[4];
    put_u32(s, seq);
    MD5_Update(&c, s, 4);
    MD5_Update(&c, msg, len);
    MD5_Final(mac, &c);
    c = h->outer;
    MD5_Update(&c, mac, 16);
    MD5_Final(mac, &c);
}

static double digest_floor(const char *mode, int dec, size_t chunk, size_t total, double *best)
{
    unsigned char key[16] = "0123456789abcdef";
    struct hmac h;
    hmac_init(&h, key);
    RC4_KEY rk;
    RC4_set_key(&rk, 16, key);
    DES_key_schedule k1, k2;
    DES_set_key_unchecked((const_DES_cblock *)key, &k1);
    DES_set_key_unchecked((const_DES_cblock *)(key + 8), &k2);
    DES_cblock iv = { 0 };
    int m = !strcmp(mode, "auth-int") ? 0 : !strcmp(mode, "rc4") ? 1 : !strcmp(mode, "3des") ? 2 : -1;
    if (m < 0)
        die("unknown mode %s", mode);
    unsigned char *src = malloc(total + chunk);
    fill_pattern(src, 0, total + chunk);
    unsigned char *buf = malloc(chunk + 64);
    unsigned char mac[16];
    uint32_t seq = 0;
    double seg[NSEG] = { 0 };
    double t0 = cpu_now(), ts = t0;
    int cur = 0;
    for (size_t off = 0; off < total; off += chunk, seq++) {
        int sg = (int)(off * NSEG / total);
        if (sg != cur) {
            double now = cpu_now();
            seg[cur] += now - ts;
            ts = now;
            cur = sg;
        }
        size_t l = total - off < chunk ? total - off : chunk;
        const unsigned char *msg = src + off;
        if (m == 0) {
            hmac_mac(&h, seq, msg, l, mac);
        } else if (m == 1) {
            if (!dec) {
                hmac_mac(&h, seq, msg, l, mac);
                RC4(&rk, l, msg, buf);
                RC4(&rk, 10, mac, buf + l);
            } else {
                RC4(&rk, l + 10, msg, buf);
                hmac_mac(&h, seq, buf, l, mac);
            }
        } else {
            size_t pad = 8 - ((l + 10) & 7);
            size_t n = l + pad + 10;
            if (!dec) {
                hmac_mac(&h, seq, msg, l, mac);
                memcpy(buf, msg, l);
                memset(buf + l, (int)pad, pad);
                memcpy(buf + l + pad, mac, 10);
                DES_ede3_cbc_encrypt(buf, buf, (long)n, &k1, &k2, &k1, &iv, DES_ENCRYPT);
            } else {
                DES_ede3_cbc_encrypt(msg, buf, (long)n, &k1, &k2, &k1, &iv, DES_DECRYPT);
                hmac_mac(&h, seq, buf, l, mac);
            }
        }
    }
    double t = cpu_now() - t0;
    seg[cur] += t0 + t - ts;
    *best = 0;
    for (int i = 0; i < NSEG; i++)
        if (seg[i] > 0 && total / NSEG / seg[i] / 1e6 > *best)
            *best = total / NSEG / seg[i] / 1e6;
    free(src);
    free(buf);
    return total / t / 1e6;
}

int main(int argc, char **argv)
{
    double best, v;
    if (argc == 4 && !strcmp(argv[1], "scram")) {
        v = scram_floor(argv[2], atoi(argv[3]), &best);
        double chain = 1e30;
        for (int r = 0; r < atoi(argv[3]); r++) {
            double c = scram_chain(argv[2]);
            if (c < chain)
                chain = c;
        }
        printf("hash=%s us_per_auth=%.1f us_min=%.1f chain_us_min=%.1f\n", argv[2], v, best, chain);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "digest")) {
        int dec = !strcmp(argv[3], "dec");
        v = digest_floor(argv[2], dec, (size_t)atol(argv[4]), (size_t)(atof(argv[5]) * 1e6), &best);
        printf("mode=%s dir=%s mbps=%.1f best_mbps=%.1f\n", argv[2], argv[3], v, best);
        return 0;
    }
    die("usage: floor scram HASH REPS | floor digest MODE enc|dec CHUNK MB");
}
