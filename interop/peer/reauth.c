/* Several DIGEST-MD5 authentications in one process on each side, for
 * interop/reauth.sh: fast re-authentication (RFC 2831 2.2) needs the
 * client's memory of the server's nonce and the server's memory of it to
 * outlive one connection. Frames as in common.h; one connection after the
 * other on the same unix socket.
 *
 * usage: reauth server -s SOCK -d SASLDB -r REALM -k N [-R MINUTES] [-n MIN -x MAX] [-N BYTES]
 *        reauth client -s SOCK -u USER -p PASSWORD -k N [-P K:PASSWORD] [-i] [-D] [-n MIN -x MAX] [-N BYTES]
 *   -k N        connections
 *   -R MINUTES  the server's reauth_timeout (0, the default: no fast
 *               re-authentication on the server)
 *   -P K:PW     the client's password for connection K (1-based)
 *   -i          the client gives sasl_client_start no clientout (no initial
 *               response, so no fast re-authentication)
 *   -D          the client calls sasl_done and sasl_client_init between
 *               connections
 *   -N BYTES    after each authentication, BYTES each way through the
 *               security layer (see common.h)
 * Each side prints one line per connection, e.g.
 *   server: connection 2: initial response yes, 0 challenges, authenticated user=user
 *   client: connection 2: initial response nc=00000002, authenticated */
#include "common.h"

static const char *minutes = "0";
static struct opts o;

static int server_getopt(void *context, const char *plugin, const char *option, const char **result,
                         unsigned *len)
{
    (void)context;
    (void)plugin;
    if (!strcmp(option, "sasldb_path"))
        *result = o.sasldb;
    else if (!strcmp(option, "auxprop_plugin"))
        *result = "sasldb";
    else if (!strcmp(option, "pwcheck_method"))
        *result = "auxprop";
    else if (!strcmp(option, "mech_list"))
        *result = "DIGEST-MD5";
    else if (!strcmp(option, "reauth_timeout"))
        *result = minutes;
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int server_log(void *context, int level, const char *message)
{
    (void)context;
    if (level <= SASL_LOG_DEBUG)
        printf("server: sasl log %d: %s\n", level, message);
    return SASL_OK;
}

static void serve(int k)
{
    static sasl_callback_t cbs[] = {
        { SASL_CB_GETOPT, CB(server_getopt), NULL },
        { SASL_CB_LOG, CB(server_log), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd;

    check(NULL, sasl_server_init(cbs, "reauth"), "sasl_server_init");
    if (strlen(o.sock) >= sizeof sa.sun_path)
        die(EX_ERR, "socket path too long");
    strcpy(sa.sun_path, o.sock);
    if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0)
        die(EX_ERR, "socket: %s", strerror(errno));
    for (int n = 1; n <= k; n++) {
        sasl_conn_t *conn;
        const char *in, *out, *user;
        unsigned inlen, outlen, challenges = 0;
        int fd, rc, initial;
        char type;

        if ((fd = accept(lfd, NULL, NULL)) < 0)
            die(EX_ERR, "accept: %s", strerror(errno));
        check(NULL, sasl_server_new("imap", "localhost", o.realm, NULL, NULL, NULL, SASL_SUCCESS_DATA, &conn),
              "sasl_server_new");
        set_secprops(conn, &o);
        send_frame(fd, 'L', "DIGEST-MD5", 10);
        if (recv_frame(fd, &in, &inlen) != 'M' || strcmp(in, "DIGEST-MD5"))
            die(EX_ERR, "expected DIGEST-MD5");
        type = recv_frame(fd, &in, &inlen);
        if (type == 'F')
            die(EX_AUTH, "client gave up: %s", in);
        initial = type == 'R';
        rc = sasl_server_start(conn, "DIGEST-MD5", initial ? in : NULL, initial ? inlen : 0, &out, &outlen);
        while (rc == SASL_CONTINUE) {
            send_frame(fd, 'C', out, outlen);
            challenges++;
            if ((type = recv_frame(fd, &in, &inlen)) == 'F')
                break;
            rc = sasl_server_step(conn, in, inlen, &out, &outlen);
        }
        printf("server: connection %d: initial response %s, %u challenge%s, ", n, initial ? "yes" : "no",
               challenges, challenges == 1 ? "" : "s");
        if (rc == SASL_OK) {
            send_frame(fd, out ? 'D' : 'O', out, out ? outlen : 0);
            check(conn, sasl_getprop(conn, SASL_USERNAME, (const void **)&user), "sasl_getprop(USERNAME)");
            printf("authenticated user=%s\n", user);
            report_auth(conn, "DIGEST-MD5");
            data_phase(conn, fd, &o, 1);
        } else if (rc == SASL_CONTINUE) {
            printf("the client gave up: %s\n", in);
        } else {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: %s", rcname(rc), sasl_errdetail(conn));
            try_send_frame(fd, 'F', msg, (unsigned)strlen(msg));
            printf("refused: %s\n", msg);
        }
        fflush(stdout);
        sasl_dispose(&conn);
        close(fd);
    }
    close(lfd);
    sasl_done();
}

static const char *password_of(int n, char **overrides, int noverrides)
{
    for (int i = 0; i < noverrides; i++)
        if (atoi(overrides[i]) == n && strchr(overrides[i], ':'))
            return strchr(overrides[i], ':') + 1;
    return o.password;
}

static const char *current_password;

static int client_simple(void *context, int id, const char **result, unsigned *len)
{
    (void)context;
    if (id == SASL_CB_AUTHNAME)
        *result = o.user;
    else if (id == SASL_CB_USER)
        *result = "";
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int client_pass(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
    static sasl_secret_t *secret;
    size_t n = strlen(current_password);
    (void)conn;
    (void)context;
    (void)id;
    free(secret);
    if (!(secret = malloc(sizeof *secret + n)))
        return SASL_NOMEM;
    secret->len = n;
    memcpy(secret->data, current_password, n + 1);
    *psecret = secret;
    return SASL_OK;
}

/* The response's nc= directive. After its comma: a random cnonce="...nc="
 * (base64) would otherwise be taken for it, about once in a thousand runs. */
static const char *find_nc(const char *response)
{
    const char *nc = strstr(response, ",nc=");
    return nc ? nc + 1 : NULL;
}

static void connect_and_authenticate(int n, int no_initial)
{
    static sasl_callback_t cbs[] = {
        { SASL_CB_AUTHNAME, CB(client_simple), NULL },
        { SASL_CB_USER, CB(client_simple), NULL },
        { SASL_CB_PASS, CB(client_pass), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    sasl_conn_t *conn;
    const char *in, *out = NULL, *nc;
    unsigned inlen, outlen = 0;
    int fd, rc, tries;
    char type;

    strcpy(sa.sun_path, o.sock);
    if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
        die(EX_ERR, "socket: %s", strerror(errno));
    for (tries = 0; connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0; tries++) {
        if (tries == 100 || (errno != ECONNREFUSED && errno != ENOENT))
            die(EX_ERR, "connect: %s", strerror(errno));
        usleep(50000);
    }
    check(NULL, sasl_client_new("imap", "localhost", NULL, NULL, cbs, 0, &conn), "sasl_client_new");
    set_secprops(conn, &o);
    if (recv_frame(fd, &in, &inlen) != 'L')
        die(EX_ERR, "expected the mechanism list");
    rc = sasl_client_start(conn, in, NULL, no_initial ? NULL : &out, no_initial ? NULL : &outlen, NULL);
    if (rc != SASL_CONTINUE)
        die(EX_AUTH, "connection %d: sasl_client_start: %s", n, rcname(rc));
    printf("client: connection %d: initial response ", n);
    if (out && outlen > 0 && (nc = find_nc(out)) != NULL)
        printf("%.11s", nc);
    else
        printf("none");
    send_frame(fd, 'M', "DIGEST-MD5", 10);
    if (out)
        send_frame(fd, 'R', out, outlen);
    else
        send_frame(fd, 'N', NULL, 0);
    for (;;) {
        type = recv_frame(fd, &in, &inlen);
        if (type == 'F') {
            printf(", refused by the server: %s\n", in);
            break;
        }
        rc = sasl_client_step(conn, type == 'O' ? NULL : in, type == 'O' ? 0 : inlen, NULL, &out, &outlen);
        if (rc != SASL_OK && rc != SASL_CONTINUE) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: %s", rcname(rc), sasl_errdetail(conn));
            try_send_frame(fd, 'F', msg, (unsigned)strlen(msg));
            printf(", sasl_client_step failed: %s\n", msg);
            break;
        }
        if (type == 'C') {
            if ((nc = find_nc(out ? out : "")) != NULL)
                printf(", answered a challenge with %.11s", nc);
            send_frame(fd, 'R', out ? out : "", out ? outlen : 0);
            continue;
        }
        if (rc != SASL_OK)
            die(EX_AUTH, "server says success but sasl_client_step returned %s", rcname(rc));
        printf(", authenticated\n");
        report_auth(conn, "DIGEST-MD5");
        data_phase(conn, fd, &o, 0);
        break;
    }
    fflush(stdout);
    sasl_dispose(&conn);
    close(fd);
}

int main(int argc, char **argv)
{
    char *overrides[16];
    int k = 1, c, noverrides = 0, no_initial = 0, done_between = 0, server;

    alarm(60);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")))
        die(EX_ERR, "usage: reauth server|client OPTIONS");
    server = !strcmp(argv[1], "server");
    who = server ? "server" : "client";
    o = (struct opts){ .max_ssf = 0, .seed = 1, .tamper_dir = "" };
    optind = 2;
    while ((c = getopt(argc, argv, "s:u:p:r:d:k:R:P:iDn:x:N:")) != -1) {
        switch (c) {
        case 's': o.sock = optarg; break;
        case 'u': o.user = optarg; break;
        case 'p': o.password = optarg; break;
        case 'r': o.realm = optarg; break;
        case 'd': o.sasldb = optarg; break;
        case 'k': k = atoi(optarg); break;
        case 'R': minutes = optarg; break;
        case 'P':
            if (noverrides < 16)
                overrides[noverrides++] = optarg;
            break;
        case 'i': no_initial = 1; break;
        case 'D': done_between = 1; break;
        case 'n': o.min_ssf = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'x': o.max_ssf = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'N': o.bytes = strtoul(optarg, NULL, 10); break;
        default: die(EX_ERR, "bad option");
        }
    }
    if (!o.sock)
        die(EX_ERR, "-s SOCKET is required");
    if (server) {
        if (!o.sasldb || !o.realm)
            die(EX_ERR, "-d and -r are required");
        serve(k);
        return EX_OK;
    }
    if (!o.user || !o.password)
        die(EX_ERR, "-u and -p are required");
    check(NULL, sasl_client_init(NULL), "sasl_client_init");
    for (int n = 1; n <= k; n++) {
        if (n > 1 && done_between) {
            sasl_done();
            check(NULL, sasl_client_init(NULL), "sasl_client_init");
        }
        current_password = password_of(n, overrides, noverrides);
        connect_and_authenticate(n, no_initial);
    }
    sasl_done();
    return EX_OK;
}
