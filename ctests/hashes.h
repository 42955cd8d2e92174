/* hashes.h -- small self-contained MD5 / SHA-1 / SHA-256, HMAC and
 * PBKDF2-HMAC for computing known answers in the tests (DIGEST-MD5, SCRAM).
 * Not constant time, not for production.  t_hashes.c self-tests them against
 * published vectors so that a bug here cannot masquerade as a library bug. */
#ifndef CTESTS_HASHES_H
#define CTESTS_HASHES_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#define HASH_MAX_DIGEST 32
#define HASH_MAX_BLOCK 64

enum hash_alg { H_MD5, H_SHA1, H_SHA256 };

struct hash_ctx {
    enum hash_alg alg;
    uint32_t h[8];
    uint64_t total;
    unsigned char buf[64];
    size_t buflen;
};

static inline uint32_t h_rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
static inline uint32_t h_ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static inline size_t hash_len(enum hash_alg a)
{
    return a == H_MD5 ? 16 : a == H_SHA1 ? 20 : 32;
}

static inline void h_md5_block(uint32_t *h, const unsigned char *p)
{
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
        0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
        0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
        0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
        0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
        0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
        0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
        0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391 };
    static const int R[64] = {
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21 };
    uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];
    int i;
    for (i = 0; i < 16; i++)
        m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
               (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    for (i = 0; i < 64; i++) {
        uint32_t f, t;
        int g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
        else { f = c ^ (b | ~d); g = (7 * i) % 16; }
        t = d;
        d = c;
        c = b;
        b = b + h_rol(a + f + K[i] + m[g], R[i]);
        a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
}

static inline void h_sha1_block(uint32_t *h, const unsigned char *p)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 80; i++)
        w[i] = h_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        uint32_t f, k, t;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        t = h_rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = h_rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static inline void h_sha256_block(uint32_t *h, const unsigned char *p)
{
    static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
        0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
        0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
        0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };
    uint32_t w[64], s[8];
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = h_ror(w[i - 15], 7) ^ h_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = h_ror(w[i - 2], 17) ^ h_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(s, h, sizeof s);
    for (i = 0; i < 64; i++) {
        uint32_t S1 = h_ror(s[4], 6) ^ h_ror(s[4], 11) ^ h_ror(s[4], 25);
        uint32_t ch = (s[4] & s[5]) ^ (~s[4] & s[6]);
        uint32_t t1 = s[7] + S1 + ch + K[i] + w[i];
        uint32_t S0 = h_ror(s[0], 2) ^ h_ror(s[0], 13) ^ h_ror(s[0], 22);
        uint32_t mj = (s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]);
        uint32_t t2 = S0 + mj;
        s[7] = s[6]; s[6] = s[5]; s[5] = s[4]; s[4] = s[3] + t1;
        s[3] = s[2]; s[2] = s[1]; s[1] = s[0]; s[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++)
        h[i] += s[i];
}

static inline void hash_init(struct hash_ctx *c, enum hash_alg alg)
{
    static const uint32_t md5[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
    static const uint32_t sha1[5] = { 0x67452301, 0xefcdab89, 0x98badcfe,
                                      0x10325476, 0xc3d2e1f0 };
    static const uint32_t sha256[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                        0xa54ff53a, 0x510e527f, 0x9b05688c,
                                        0x1f83d9ab, 0x5be0cd19 };
    memset(c, 0, sizeof *c);
    c->alg = alg;
    if (alg == H_MD5) memcpy(c->h, md5, sizeof md5);
    else if (alg == H_SHA1) memcpy(c->h, sha1, sizeof sha1);
    else memcpy(c->h, sha256, sizeof sha256);
}

static inline void h_block(struct hash_ctx *c, const unsigned char *p)
{
    if (c->alg == H_MD5) h_md5_block(c->h, p);
    else if (c->alg == H_SHA1) h_sha1_block(c->h, p);
    else h_sha256_block(c->h, p);
}

static inline void hash_update(struct hash_ctx *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->total += len;
    while (len > 0) {
        size_t n = 64 - c->buflen;
        if (n > len) n = len;
        memcpy(c->buf + c->buflen, p, n);
        c->buflen += n;
        p += n;
        len -= n;
        if (c->buflen == 64) {
            h_block(c, c->buf);
            c->buflen = 0;
        }
    }
}

static inline void hash_final(struct hash_ctx *c, unsigned char *out)
{
    uint64_t bits = c->total * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];
    size_t i, n = hash_len(c->alg);
    hash_update(c, &pad, 1);
    while (c->buflen != 56)
        hash_update(c, &zero, 1);
    for (i = 0; i < 8; i++)
        lenb[i] = c->alg == H_MD5 ? (unsigned char)(bits >> (8 * i))
                                  : (unsigned char)(bits >> (56 - 8 * i));
    hash_update(c, lenb, 8);
    for (i = 0; i < n / 4; i++) {
        uint32_t v = c->h[i];
        if (c->alg == H_MD5) {
            out[4 * i] = (unsigned char)v; out[4 * i + 1] = (unsigned char)(v >> 8);
            out[4 * i + 2] = (unsigned char)(v >> 16); out[4 * i + 3] = (unsigned char)(v >> 24);
        } else {
            out[4 * i] = (unsigned char)(v >> 24); out[4 * i + 1] = (unsigned char)(v >> 16);
            out[4 * i + 2] = (unsigned char)(v >> 8); out[4 * i + 3] = (unsigned char)v;
        }
    }
}

static inline void hash_buf(enum hash_alg alg, const void *data, size_t len,
                     unsigned char *out)
{
    struct hash_ctx c;
    hash_init(&c, alg);
    hash_update(&c, data, len);
    hash_final(&c, out);
}

static inline void hmac(enum hash_alg alg, const void *key, size_t klen,
                 const void *msg, size_t mlen, unsigned char *out)
{
    unsigned char k[64], ipad[64], opad[64], inner[HASH_MAX_DIGEST];
    struct hash_ctx c;
    size_t i, n = hash_len(alg);
    memset(k, 0, sizeof k);
    if (klen > 64)
        hash_buf(alg, key, klen, k);
    else
        memcpy(k, key, klen);
    for (i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    hash_init(&c, alg);
    hash_update(&c, ipad, 64);
    hash_update(&c, msg, mlen);
    hash_final(&c, inner);
    hash_init(&c, alg);
    hash_update(&c, opad, 64);
    hash_update(&c, inner, n);
    hash_final(&c, out);
}

/* PBKDF2 with a single output block (dkLen == hash length): SCRAM's Hi(). */
static inline void pbkdf2_hi(enum hash_alg alg, const void *pass, size_t plen,
                      const void *salt, size_t slen, unsigned iter,
                      unsigned char *out)
{
    unsigned char u[HASH_MAX_DIGEST], msg[256 + 4];
    size_t i, n = hash_len(alg);
    unsigned j;
    if (slen > 256)
        slen = 256;
    memcpy(msg, salt, slen);
    msg[slen] = 0; msg[slen + 1] = 0; msg[slen + 2] = 0; msg[slen + 3] = 1;
    hmac(alg, pass, plen, msg, slen + 4, u);
    memcpy(out, u, n);
    for (j = 1; j < iter; j++) {
        hmac(alg, pass, plen, u, n, u);
        for (i = 0; i < n; i++)
            out[i] ^= u[i];
    }
}

static inline void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

#endif /* CTESTS_HASHES_H */
