/* A client plugin for the tests: mechanism X-LAYER, with a security layer.
 *
 *   client: <authid> NUL <hex MD5 of the password>     (first step)
 *   server: "ok <maxbuf>"  -> the client is done, with a layer
 *           anything else  -> SASL_BADAUTH with a message set by seterror
 *
 * The layer frames each packet as RFC 4422 does (4-byte length) around the
 * data XORed with 0x5a and a one-byte sum of the plaintext, so integrity
 * failures can be provoked. Decoding buffers partial packets, as Cyrus's
 * own plugins do (Cyrus hands input to plugins in arbitrary pieces).
 *
 * Along the way it uses every function of the utilities table and checks
 * what it can; a failed check fails the step with the reason in the error
 * message (sasl_errdetail), so the test program sees it. */
#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

struct glob {
    const sasl_utils_t *utils;
    void *mutex;
};

struct ctx {
    const sasl_utils_t *utils;
    char *out;
    unsigned outlen;
    char *enc, *dec;
    unsigned encmax, decmax;
    unsigned char hdr[4];
    unsigned hdrlen;
    char *pkt;
    unsigned need, have;
    unsigned maxbuf;
};

#define FAIL_CHECK(utils, what)                                               \
    do {                                                                      \
        (utils)->seterror((utils)->conn, 0, "X-LAYER utils check failed: %s", \
                          what);                                              \
        return SASL_FAIL;                                                     \
    } while (0)

/* Grows *buf to at least n bytes with the utilities' allocator. */
static int reserve(const sasl_utils_t *u, char **buf, unsigned *max, unsigned n)
{
    if (*max >= n)
        return SASL_OK;
    char *p = u->realloc(*buf, n);
    if (!p)
        return SASL_NOMEM;
    *buf = p;
    *max = n;
    return SASL_OK;
}

static int check_utils(const sasl_utils_t *u, sasl_client_params_t *p)
{
    char b64[64], raw[64], chal[256], rnd[16];
    unsigned len = 0;
    unsigned char digest[16], digest2[16];
    MD5_CTX md5;
    HMAC_MD5_CTX hctx;
    HMAC_MD5_STATE hstate;
    const void *v = NULL;
    const char *opt = NULL;
    sasl_callback_ft proc = NULL;
    void *context = NULL;

    /* (Cyrus leaves utils->version unset.) */
    if (u->conn == NULL || u->rpool == NULL)
        FAIL_CHECK(u, "conn or rpool");
    if (!u->malloc || !u->calloc || !u->realloc || !u->free || !u->mutex_alloc ||
        !u->MD5Init || !u->hmac_md5 || !u->hmac_md5_init || !u->hmac_md5_final ||
        !u->hmac_md5_precalc || !u->hmac_md5_import || !u->mkchal ||
        !u->utf8verify || !u->rand || !u->churn || !u->decode64 ||
        !u->encode64 || !u->erasebuffer || !u->getprop || !u->setprop ||
        !u->getcallback || !u->log || !u->seterror || !u->prop_new ||
        !u->prop_dispose || !u->auxprop_store)
        FAIL_CHECK(u, "a function pointer is NULL");
    if (u->encode64("abc", 3, b64, sizeof b64, &len) != SASL_OK || len != 4 ||
        strcmp(b64, "YWJj") != 0)
        FAIL_CHECK(u, "encode64");
    if (u->decode64(b64, 4, raw, sizeof raw, &len) != SASL_OK || len != 3 ||
        memcmp(raw, "abc", 3) != 0)
        FAIL_CHECK(u, "decode64");
    if (u->utf8verify("caf\xc3\xa9", 5) != SASL_OK ||
        u->utf8verify("\xc3", 1) == SASL_OK)
        FAIL_CHECK(u, "utf8verify");
    memset(rnd, 0, sizeof rnd);
    u->churn(u->rpool, "entropy", 7);
    u->rand(u->rpool, rnd, sizeof rnd);
    if (memcmp(rnd, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0)
        FAIL_CHECK(u, "rand");
    if (u->mkchal(u->conn, chal, sizeof chal, 1) <= 0 || chal[0] != '<')
        FAIL_CHECK(u, "mkchal");
    strcpy(raw, "secret");
    u->erasebuffer(raw, 6);
    if (memcmp(raw, "\0\0\0\0\0\0", 6) != 0)
        FAIL_CHECK(u, "erasebuffer");
    /* MD5("abc") and HMAC-MD5 (RFC 2104's first test) both ways. */
    u->MD5Init(&md5);
    u->MD5Update(&md5, (const unsigned char *)"a", 1);
    u->MD5Update(&md5, (const unsigned char *)"bc", 2);
    u->MD5Final(digest, &md5);
    if (memcmp(digest, "\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72", 16) != 0)
        FAIL_CHECK(u, "MD5");
    memset(raw, 0x0b, 16);
    u->hmac_md5((const unsigned char *)"Hi There", 8, (unsigned char *)raw, 16, digest);
    if (memcmp(digest, "\x92\x94\x72\x7a\x36\x38\xbb\x1c\x13\xf4\x8e\xf8\x15\x8b\xfc\x9d", 16) != 0)
        FAIL_CHECK(u, "hmac_md5");
    u->hmac_md5_precalc(&hstate, (unsigned char *)raw, 16);
    u->hmac_md5_import(&hctx, &hstate);
    u->MD5Update(&hctx.ictx, (const unsigned char *)"Hi There", 8);
    u->hmac_md5_final(digest2, &hctx);
    u->hmac_md5_init(&hctx, (unsigned char *)raw, 16);
    u->MD5Update(&hctx.ictx, (const unsigned char *)"Hi There", 8);
    u->hmac_md5_final(digest, &hctx);
    if (memcmp(digest, digest2, 16) != 0)
        FAIL_CHECK(u, "hmac_md5_precalc/import");
    /* Properties and callbacks of the connection. */
    if (u->getprop(u->conn, SASL_SERVICE, &v) != SASL_OK || !v ||
        strcmp(v, p->service) != 0)
        FAIL_CHECK(u, "getprop(SASL_SERVICE)");
    if (u->getcallback(u->conn, SASL_CB_GETOPT, &proc, &context) != SASL_OK ||
        !proc)
        FAIL_CHECK(u, "getcallback(SASL_CB_GETOPT)");
    if (((sasl_getopt_t *)(void (*)(void))proc)(context, "X-LAYER", "x_layer_option",
                                                &opt, NULL) != SASL_OK ||
        !opt || strcmp(opt, "yes") != 0)
        FAIL_CHECK(u, "getopt(x_layer_option)");
    opt = NULL;
    if (u->getopt(u->getopt_context, "X-LAYER", "x_layer_option", &opt, NULL) != SASL_OK ||
        !opt || strcmp(opt, "yes") != 0)
        FAIL_CHECK(u, "utils->getopt");
    if (u->getcallback(u->conn, SASL_CB_LIST_END, &proc, &context) != SASL_FAIL)
        FAIL_CHECK(u, "getcallback(SASL_CB_LIST_END)");
    /* Mutexes. */
    void *m = u->mutex_alloc();
    if (!m || u->mutex_lock(m) != SASL_OK || u->mutex_unlock(m) != SASL_OK)
        FAIL_CHECK(u, "mutexes");
    u->mutex_free(m);
    /* calloc zeroes. */
    unsigned char *z = u->calloc(4, 8);
    if (!z || z[0] || z[31])
        FAIL_CHECK(u, "calloc");
    u->free(z);
    /* Auxiliary properties, where the library provides them. */
    struct propctx *props = u->prop_new(0);
    if (props) {
        const char *names[] = { "x-prop", NULL };
        if (u->prop_request(props, names) != SASL_OK ||
            u->prop_set(props, "x-prop", "value", 5) != SASL_OK ||
            !u->prop_get(props))
            FAIL_CHECK(u, "prop_*");
        u->prop_dispose(&props);
    }
    u->log(u->conn, SASL_LOG_DEBUG, "X-LAYER: %s checked (%d)", "utils", 42);
    return SASL_OK;
}

static int layer_new(void *glob_context, sasl_client_params_t *params, void **conn_context)
{
    struct glob *g = glob_context;
    const sasl_utils_t *u = params->utils;
    if (!g || !g->utils || g->utils->mutex_lock(g->mutex) != SASL_OK)
        return SASL_FAIL;
    g->utils->mutex_unlock(g->mutex);
    if (!params->service || !params->serverFQDN || !params->clientFQDN ||
        params->servicelen != strlen(params->service) || !params->canon_user ||
        params->props.maxbufsize == 0)
        return SASL_BADPARAM;
    struct ctx *c = u->calloc(1, sizeof *c);
    if (!c)
        return SASL_NOMEM;
    c->utils = u;
    *conn_context = c;
    return SASL_OK;
}

/* The authentication name: from the callback, or from a prompt we made. */
static int get_authname(sasl_client_params_t *params, sasl_interact_t **prompt_need,
                        const char **name)
{
    const sasl_utils_t *u = params->utils;
    sasl_getsimple_t *simple = NULL;
    void *context = NULL;
    int r;

    if (prompt_need && *prompt_need) {
        sasl_interact_t *p;
        for (p = *prompt_need; p->id != SASL_CB_LIST_END; p++) {
            if (p->id == SASL_CB_AUTHNAME && p->result) {
                *name = p->result;
                return SASL_OK;
            }
        }
    }
    r = u->getcallback(u->conn, SASL_CB_AUTHNAME, (sasl_callback_ft *)&simple, &context);
    if (r == SASL_OK && simple)
        return simple(context, SASL_CB_AUTHNAME, name, NULL);
    if (r != SASL_INTERACT)
        return r;
    if (!prompt_need)
        return SASL_BADPARAM;
    sasl_interact_t *list = u->malloc(2 * sizeof *list);
    if (!list)
        return SASL_NOMEM;
    memset(list, 0, 2 * sizeof *list);
    list[0].id = SASL_CB_AUTHNAME;
    list[0].challenge = "X-LAYER";
    list[0].prompt = "Authentication name for X-LAYER";
    list[1].id = SASL_CB_LIST_END;
    *prompt_need = list;
    return SASL_INTERACT;
}

static int layer_encode(void *context, const struct iovec *iov, unsigned n,
                        const char **out, unsigned *outlen)
{
    struct ctx *c = context;
    unsigned total = 0, i, at = 4;
    unsigned char sum = 0;
    for (i = 0; i < n; i++)
        total += (unsigned)iov[i].iov_len;
    if (reserve(c->utils, &c->enc, &c->encmax, total + 5) != SASL_OK)
        return SASL_NOMEM;
    for (i = 0; i < n; i++) {
        const unsigned char *b = iov[i].iov_base;
        size_t j;
        for (j = 0; j < iov[i].iov_len; j++) {
            sum += b[j];
            c->enc[at++] = (char)(b[j] ^ 0x5a);
        }
    }
    c->enc[at++] = (char)sum;
    unsigned plen = at - 4;
    c->enc[0] = (char)(plen >> 24);
    c->enc[1] = (char)(plen >> 16);
    c->enc[2] = (char)(plen >> 8);
    c->enc[3] = (char)plen;
    *out = c->enc;
    *outlen = at;
    return SASL_OK;
}

static int layer_decode(void *context, const char *in, unsigned inlen,
                        const char **out, unsigned *outlen)
{
    struct ctx *c = context;
    const sasl_utils_t *u = c->utils;
    unsigned produced = 0;
    while (inlen > 0) {
        if (c->hdrlen < 4) {
            c->hdr[c->hdrlen++] = (unsigned char)*in++;
            inlen--;
            if (c->hdrlen < 4)
                continue;
            c->need = (unsigned)c->hdr[0] << 24 | (unsigned)c->hdr[1] << 16 |
                      (unsigned)c->hdr[2] << 8 | c->hdr[3];
            if (c->need == 0 || c->need > c->maxbuf) {
                u->seterror(u->conn, 0, "X-LAYER: packet of %d bytes", (int)c->need);
                return SASL_FAIL;
            }
            c->pkt = u->malloc(c->need);
            if (!c->pkt)
                return SASL_NOMEM;
            c->have = 0;
        }
        unsigned take = c->need - c->have < inlen ? c->need - c->have : inlen;
        memcpy(c->pkt + c->have, in, take);
        c->have += take;
        in += take;
        inlen -= take;
        if (c->have < c->need)
            break;
        if (reserve(u, &c->dec, &c->decmax, produced + c->need) != SASL_OK)
            return SASL_NOMEM;
        unsigned char sum = 0;
        unsigned i;
        for (i = 0; i + 1 < c->need; i++) {
            unsigned char b = (unsigned char)c->pkt[i] ^ 0x5a;
            sum += b;
            c->dec[produced + i] = (char)b;
        }
        int ok = sum == (unsigned char)c->pkt[c->need - 1];
        produced += c->need - 1;
        u->free(c->pkt);
        c->pkt = NULL;
        c->hdrlen = 0;
        if (!ok) {
            u->seterror(u->conn, 0, "X-LAYER: packet checksum mismatch");
            return SASL_BADMAC;
        }
    }
    *out = c->dec;
    *outlen = produced;
    return SASL_OK;
}

static int layer_step(void *conn_context, sasl_client_params_t *params,
                      const char *serverin, unsigned serverinlen,
                      sasl_interact_t **prompt_need, const char **clientout,
                      unsigned *clientoutlen, sasl_out_params_t *oparams)
{
    struct ctx *c = conn_context;
    const sasl_utils_t *u = params->utils;
    const char *ssf;
    int r;

    *clientout = NULL;
    *clientoutlen = 0;
    if (oparams->authid == NULL) {
        const char *name = NULL;
        sasl_getsecret_t *getsecret = NULL;
        void *context = NULL;
        sasl_secret_t *secret = NULL;
        unsigned char digest[16];
        MD5_CTX md5;
        unsigned i;

        if (serverinlen != 0)
            return SASL_BADPROT;
        r = get_authname(params, prompt_need, &name);
        if (r != SASL_OK)
            return r;
        r = params->canon_user(u->conn, name, 0, SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
        /* The prompt list is ours: free it once its answer is used. */
        if (prompt_need && *prompt_need) {
            u->free(*prompt_need);
            *prompt_need = NULL;
        }
        if (r != SASL_OK)
            return r;
        if ((r = check_utils(u, params)) != SASL_OK)
            return r;
        r = u->getcallback(u->conn, SASL_CB_PASS, (sasl_callback_ft *)&getsecret, &context);
        if (r != SASL_OK || !getsecret)
            return SASL_BADPARAM;
        r = getsecret(u->conn, context, SASL_CB_PASS, &secret);
        if (r != SASL_OK || !secret)
            return SASL_BADPARAM;
        u->MD5Init(&md5);
        u->MD5Update(&md5, secret->data, (unsigned)secret->len);
        u->MD5Final(digest, &md5);
        c->outlen = oparams->alen + 1 + 32;
        c->out = u->malloc(c->outlen + 1);
        if (!c->out)
            return SASL_NOMEM;
        memcpy(c->out, oparams->authid, oparams->alen);
        c->out[oparams->alen] = '\0';
        for (i = 0; i < 16; i++)
            sprintf(c->out + oparams->alen + 1 + 2 * i, "%02x", digest[i]);
        *clientout = c->out;
        *clientoutlen = c->outlen;
        return SASL_CONTINUE;
    }
    if (serverinlen < 3 || memcmp(serverin, "ok ", 3) != 0) {
        char said[64];
        snprintf(said, sizeof said, "%.*s", (int)(serverinlen < 63 ? serverinlen : 63), serverin);
        u->seterror(u->conn, 0, "X-LAYER: the server said \"%s\"", said);
        return SASL_BADAUTH;
    }
    c->maxbuf = (unsigned)strtoul(serverin + 3, NULL, 10);
    if (c->maxbuf < 6 || c->maxbuf > params->props.maxbufsize)
        c->maxbuf = params->props.maxbufsize;
    oparams->mech_ssf = 56;
    /* "ok <maxbuf> ssf=<n>": a layer that claims another SSF than it
     * declared (the library must hold it to SASL_SEC_PROPS and SASL_SSF). */
    if ((ssf = strstr(serverin, " ssf=")) != NULL)
        oparams->mech_ssf = (sasl_ssf_t)strtoul(ssf + 5, NULL, 10);
    oparams->maxoutbuf = c->maxbuf - 5;
    oparams->encode_context = c;
    oparams->encode = layer_encode;
    oparams->decode_context = c;
    oparams->decode = layer_decode;
    oparams->doneflag = 1;
    return SASL_OK;
}

static void layer_dispose(void *conn_context, const sasl_utils_t *utils)
{
    struct ctx *c = conn_context;
    if (!c)
        return;
    utils->free(c->out);
    utils->free(c->enc);
    utils->free(c->dec);
    utils->free(c->pkt);
    utils->free(c);
}

static void layer_free(void *glob_context, const sasl_utils_t *utils)
{
    struct glob *g = glob_context;
    utils->mutex_free(g->mutex);
    utils->free(g);
}

static sasl_client_plug_t plugs[1] = { {
    "X-LAYER", 56, SASL_SEC_NOPLAINTEXT | SASL_SEC_NOANONYMOUS, SASL_FEAT_WANT_CLIENT_FIRST,
    NULL, NULL, layer_new, layer_step, layer_dispose, layer_free, NULL, NULL, NULL,
} };

int sasl_client_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount);
int sasl_client_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount)
{
    if (max_version < SASL_CLIENT_PLUG_VERSION)
        return SASL_BADVERS;
    struct glob *g = utils->malloc(sizeof *g);
    if (!g)
        return SASL_NOMEM;
    g->utils = utils;
    g->mutex = utils->mutex_alloc();
    plugs[0].glob_context = g;
    *out_version = SASL_CLIENT_PLUG_VERSION;
    *pluglist = plugs;
    *plugcount = 1;
    return SASL_OK;
}
