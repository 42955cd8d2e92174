/* A client plugin for the tests whose entry point fails: it must be
 * skipped with a logged reason, and the other plugins still work. */
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

int sasl_client_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount);
int sasl_client_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount)
{
    (void)max_version;
    (void)out_version;
    (void)pluglist;
    (void)plugcount;
    utils->log(NULL, SASL_LOG_ERR, "broken plugin: %s", "refusing to start");
    return SASL_NOMEM;
}
