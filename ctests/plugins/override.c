/* A third-party client plugin for the tests that provides a mechanism this
 * library builds in: PLAIN, sending "<NUL><authid><NUL>override" instead of
 * the password, so the test can tell which implementation ran. */
#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <string.h>

static int ovr_new(void *glob, sasl_client_params_t *params, void **ctx)
{
    (void)glob;
    *ctx = params->utils->malloc(64 + 1024);
    return *ctx ? SASL_OK : SASL_NOMEM;
}

static int ovr_step(void *ctx, sasl_client_params_t *params, const char *in, unsigned inlen,
                    sasl_interact_t **prompt_need, const char **out, unsigned *outlen,
                    sasl_out_params_t *oparams)
{
    const sasl_utils_t *u = params->utils;
    sasl_getsimple_t *simple = NULL;
    void *context = NULL;
    const char *name = NULL;
    char *buf = ctx;
    (void)in;
    (void)inlen;
    (void)prompt_need;
    if (u->getcallback(u->conn, SASL_CB_AUTHNAME, (sasl_callback_ft *)&simple, &context) != SASL_OK ||
        simple(context, SASL_CB_AUTHNAME, &name, NULL) != SASL_OK || !name)
        return SASL_BADPARAM;
    int r = params->canon_user(u->conn, name, 0, SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
    if (r != SASL_OK)
        return r;
    buf[0] = '\0';
    memcpy(buf + 1, oparams->authid, oparams->alen);
    buf[1 + oparams->alen] = '\0';
    memcpy(buf + 2 + oparams->alen, "override", 8);
    *out = buf;
    *outlen = 2 + oparams->alen + 8;
    oparams->doneflag = 1;
    return SASL_OK;
}

static void ovr_dispose(void *ctx, const sasl_utils_t *utils)
{
    utils->free(ctx);
}

static sasl_client_plug_t plugs[1] = { {
    "PLAIN", 0, SASL_SEC_NOANONYMOUS | SASL_SEC_PASS_CREDENTIALS,
    SASL_FEAT_WANT_CLIENT_FIRST | SASL_FEAT_ALLOWS_PROXY, NULL, NULL,
    ovr_new, ovr_step, ovr_dispose, NULL, NULL, NULL, NULL,
} };

int sasl_client_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount);
int sasl_client_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount)
{
    (void)utils;
    if (max_version < SASL_CLIENT_PLUG_VERSION)
        return SASL_BADVERS;
    *out_version = SASL_CLIENT_PLUG_VERSION;
    *pluglist = plugs;
    *plugcount = 1;
    return SASL_OK;
}
