/* Peer client for interop/layers.sh: built against the system headers, run
 * with LD_LIBRARY_PATH on the library under test. Connects to the peer
 * server's unix socket, picks a mechanism from the server's list with
 * sasl_client_start, runs the exchange, then (-N) streams through the
 * security layer; see common.h.
 *
 * usage: client -s SOCK -u USER -p PASSWORD [-n MIN] [-x MAX]
 *               [-b NAME:CRITICAL:HEXDATA] [-N BYTES] [-S SEED] [-T c2s -t K]
 *               [-o NAME=VALUE] */
#include "common.h"

static struct opts o;

static int simple_cb(void *context, int id, const char **result, unsigned *len)
{
    (void)context;
    if (id == SASL_CB_AUTHNAME)
        *result = o.user;
    else if (id == SASL_CB_USER)
        *result = ""; /* no authorization identity */
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int pass_cb(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
    static sasl_secret_t *secret;
    size_t n = strlen(o.password);
    (void)conn;
    (void)context;
    (void)id;
    if (!secret && !(secret = malloc(sizeof *secret + n)))
        return SASL_NOMEM;
    secret->len = n;
    memcpy(secret->data, o.password, n + 1);
    *psecret = secret;
    return SASL_OK;
}

/* -o NAME=VALUE: the one option the application sets. */
static int getopt_cb(void *context, const char *plugin, const char *option,
                     const char **result, unsigned *len)
{
    size_t n = o.option ? (size_t)(strchr(o.option, '=') - o.option) : 0;
    (void)context;
    (void)plugin;
    if (!o.option || strlen(option) != n || strncmp(option, o.option, n))
        return SASL_FAIL;
    *result = o.option + n + 1;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int realm_cb(void *context, int id, const char **availrealms, const char **result)
{
    (void)context;
    (void)id;
    *result = availrealms && availrealms[0] ? availrealms[0] : "";
    return SASL_OK;
}

/* Tells the server we gave up (so it does not wait), then exits. */
static void give_up(int fd, sasl_conn_t *conn, int rc, const char *what)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s: %s", what, rcname(rc), sasl_errdetail(conn));
    try_send_frame(fd, 'F', msg, (unsigned)strlen(msg)); /* the server may be gone */
    die(EX_AUTH, "%s", msg);
}

int main(int argc, char **argv)
{
    static sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, CB(simple_cb), NULL },
        { SASL_CB_USER, CB(simple_cb), NULL },
        { SASL_CB_PASS, CB(pass_cb), NULL },
        { SASL_CB_GETREALM, CB(realm_cb), NULL },
        { SASL_CB_GETOPT, CB(getopt_cb), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    sasl_conn_t *conn;
    const char *impl, *version, *in, *out = NULL, *mech = NULL;
    unsigned inlen, outlen = 0;
    int fd, rc, tries;
    char sendname[80], type;

    who = "client";
    alarm(60);
    signal(SIGPIPE, SIG_IGN);
    parse_opts(argc, argv, &o);
    if (!o.user || !o.password)
        die(EX_ERR, "-u and -p are required");

    sasl_version_info(&impl, &version, NULL, NULL, NULL, NULL);
    printf("client: library %s %s\n", impl, version);
    check(NULL, sasl_client_init(NULL), "sasl_client_init");
    check(NULL, sasl_client_new("imap", "localhost", NULL, NULL, cbs, 0, &conn), "sasl_client_new");
    set_secprops(conn, &o);

    if (strlen(o.sock) >= sizeof sa.sun_path)
        die(EX_ERR, "socket path too long");
    strcpy(sa.sun_path, o.sock);
    if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
        die(EX_ERR, "socket: %s", strerror(errno));
    for (tries = 0; connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0; tries++) {
        if (tries == 100 || (errno != ECONNREFUSED && errno != ENOENT))
            die(EX_ERR, "connect: %s", strerror(errno));
        usleep(50000);
    }

    if (recv_frame(fd, &in, &inlen) != 'L')
        die(EX_ERR, "expected the mechanism list");
    rc = sasl_client_start(conn, in, NULL, &out, &outlen, &mech);
    if (rc != SASL_OK && rc != SASL_CONTINUE) {
        send_frame(fd, 'M', "-", 1);
        give_up(fd, conn, rc, "sasl_client_start");
    }
    /* Cyrus names the base mechanism even when its GS2 header says p=. */
    snprintf(sendname, sizeof sendname, "%s%s", mech,
             out && outlen > 2 && !strncmp(out, "p=", 2) && !strstr(mech, "-PLUS") ? "-PLUS" : "");
    printf("client: sasl_client_start chose %s, sending %s", mech, sendname);
    if (out && outlen > 0 && strncmp(mech, "SCRAM-", 6) == 0)
        printf(", gs2 flag %c", out[0]);
    printf("\n");
    send_frame(fd, 'M', sendname, (unsigned)strlen(sendname));
    if (out)
        send_frame(fd, 'R', out, outlen);
    else
        send_frame(fd, 'N', NULL, 0);

    for (;;) {
        type = recv_frame(fd, &in, &inlen);
        if (type == 'F')
            die(EX_AUTH, "server refused: %s", in);
        if (type != 'C' && type != 'D' && type != 'O')
            die(EX_ERR, "unexpected frame '%c'", type);
        if (rc == SASL_OK && type == 'C')
            die(EX_AUTH, "server sent a challenge after the client was done");
        if (rc == SASL_OK)
            break; /* success, with or without data, and nothing left to check */
        rc = sasl_client_step(conn, type == 'O' ? NULL : in, type == 'O' ? 0 : inlen, NULL,
                              &out, &outlen);
        if (rc != SASL_OK && rc != SASL_CONTINUE)
            give_up(fd, conn, rc, "sasl_client_step");
        if (type != 'C') {
            if (rc != SASL_OK)
                die(EX_AUTH, "server says success but sasl_client_step returned %s", rcname(rc));
            break;
        }
        send_frame(fd, 'R', out ? out : "", out ? outlen : 0);
    }
    report_auth(conn, mech);

    data_phase(conn, fd, &o, 0);
    close(fd);
    sasl_dispose(&conn);
    sasl_done();
    return EX_OK;
}
