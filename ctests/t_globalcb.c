/* Global callbacks (given to sasl_client_init) versus per-connection
 * callbacks: lookup order, getopt (client_mech_list) and logging. */
#include "check.h"

static struct creds g_global = { .authname = "globaluser", .pass = "globalpw" };
static const char *g_mech_list;
static int g_log_calls;

static int cb_getopt(void *context, const char *plugin_name, const char *option,
                     const char **result, unsigned *len)
{
    (void)context;
    (void)plugin_name;
    if (option && strcmp(option, "client_mech_list") == 0 && g_mech_list) {
        *result = g_mech_list;
        if (len)
            *len = (unsigned)strlen(g_mech_list);
        return SASL_OK;
    }
    return SASL_FAIL;
}

static int cb_log(void *context, int level, const char *message)
{
    (void)context;
    (void)level;
    (void)message;
    g_log_calls++;
    return SASL_OK;
}

int main(int argc, char **argv)
{
    sasl_callback_t global[] = {
        { SASL_CB_GETOPT, CB(cb_getopt), NULL },
        { SASL_CB_LOG, CB(cb_log), NULL },
        { SASL_CB_AUTHNAME, CB(cb_getsimple), &g_global },
        { SASL_CB_PASS, CB(cb_getsecret), &g_global },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    struct creds other = { .authname = "otheruser", .pass = "otherpw" };
    sasl_callback_t other_cbs[4];
    struct creds local = { .authname = "localuser", .pass = "localpw" };
    sasl_callback_t local_cbs[4];
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;

    (void)argc;
    ct_setup(argv[0]);
    make_callbacks(other_cbs, &other);
    make_callbacks(local_cbs, &local);

    CHECK_EQ_INT(sasl_client_init(global), SASL_OK);

    /* a connection without callbacks uses the global ones */
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\0globaluser\0globalpw", 20);
    sasl_dispose(&conn);

    /* connection callbacks take precedence, per callback id */
    conn = new_conn(local_cbs);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\0localuser\0localpw", 18);
    sasl_dispose(&conn);
    {
        sasl_callback_t mixed[] = {
            { SASL_CB_AUTHNAME, CB(cb_getsimple), &local },
            { SASL_CB_LIST_END, NULL, NULL },
        };
        conn = new_conn(mixed);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "\0localuser\0globalpw", 19);
        sasl_dispose(&conn);
    }
    /* a connection entry with a NULL proc asks by interaction even though a
     * global callback exists */
    {
        sasl_callback_t ask[] = {
            { SASL_CB_PASS, NULL, NULL },
            { SASL_CB_LIST_END, NULL, NULL },
        };
        sasl_interact_t *prompts = NULL;
        conn = new_conn(ask);
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen,
                                       &mech),
                     SASL_INTERACT);
        CHECK(prompts != NULL && prompts[0].id == SASL_CB_PASS &&
              prompts[1].id == SASL_CB_LIST_END);
        if (prompts) {
            prompts[0].result = "typed";
            prompts[0].len = 5;
        }
        CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen,
                                       &mech),
                     SASL_OK);
        CHECK_EQ_MEM(out, outlen, "\0globaluser\0typed", 17);
        sasl_dispose(&conn);
    }

    /* a second sasl_client_init only takes a reference: its callbacks are
     * ignored */
    CHECK_EQ_INT(sasl_client_init(other_cbs), SASL_OK);
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\0globaluser\0globalpw", 20);
    sasl_dispose(&conn);
    CHECK_EQ_INT(sasl_client_done(), SASL_CONTINUE);

    /* the global getopt provides client_mech_list */
    g_mech_list = "LOGIN";
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN LOGIN CRAM-MD5", NULL, &out,
                                   &outlen, &mech),
                 SASL_CONTINUE);
    CHECK_EQ_STR(mech, "LOGIN");
    sasl_dispose(&conn);
    g_mech_list = NULL;

    /* the global log callback receives sasl_seterror messages */
    conn = new_conn(NULL);
    g_log_calls = 0;
    sasl_seterror(conn, 0, "to the global log");
    CHECK_EQ_INT(g_log_calls, 1);
    sasl_dispose(&conn);

    CHECK_EQ_INT(sasl_client_done(), SASL_OK);

    /* after a full shutdown, a new init installs new global callbacks */
    CHECK_EQ_INT(sasl_client_init(other_cbs), SASL_OK);
    conn = new_conn(NULL);
    CHECK_EQ_INT(sasl_client_start(conn, "PLAIN", NULL, &out, &outlen, &mech),
                 SASL_OK);
    CHECK_EQ_MEM(out, outlen, "\0otheruser\0otherpw", 18);
    sasl_dispose(&conn);
    CHECK_EQ_INT(sasl_client_done(), SASL_OK);
    return check_done();
}
