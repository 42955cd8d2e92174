/* Peer server for interop/layers.sh: the system's Cyrus libsasl2, server
 * side. Listens on a unix socket, accepts one client, sends it the
 * sasl_listmech list, runs the exchange with the mechanism the client names,
 * then (-N) streams through the security layer; see common.h.
 *
 * usage: server -s SOCK -d SASLDB -r REALM -m MECH_LIST [-n MIN] [-x MAX]
 *               [-b NAME:CRITICAL:HEXDATA [-D]] [-N BYTES] [-S SEED] [-T s2c -t K]
 * -D: send the list without its -PLUS names (a downgrade attempt). */
#include "common.h"

static struct opts o;

static int getopt_cb(void *context, const char *plugin, const char *option,
                     const char **result, unsigned *len)
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
        *result = o.mechs;
    else
        return SASL_FAIL;
    if (len)
        *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int log_cb(void *context, int level, const char *message)
{
    (void)context;
    if (level <= SASL_LOG_WARN)
        fprintf(stderr, "server: sasl log %d: %s\n", level, message);
    return SASL_OK;
}

/* Prints which responses an NTLM AUTHENTICATE message carries, named as
 * Cyrus's NTLM server picks the one it checks: NTv2 when the NT response is
 * longer than 24 bytes, else the NTLMv1 one, else LMv2 (falling back to LM). */
static void report_ntlm(const char *msg, unsigned len)
{
    const unsigned char *m = (const unsigned char *)msg;
    unsigned lm, nt;
    if (len < 24 || memcmp(m, "NTLMSSP\0\3\0\0\0", 12))
        return;
    lm = m[12] | m[13] << 8;
    nt = m[20] | m[21] << 8;
    printf("server: NTLM responses: LM %u bytes, NT %u bytes (%s)\n", lm, nt,
           nt > 24 ? "NTv2" : nt == 24 ? "NTLMv1" : lm >= 24 ? "LMv2 or LM" : "none");
}

int main(int argc, char **argv)
{
    static sasl_callback_t cbs[] = {
        { SASL_CB_GETOPT, CB(getopt_cb), NULL },
        { SASL_CB_LOG, CB(log_cb), NULL },
        { SASL_CB_LIST_END, NULL, NULL },
    };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    sasl_conn_t *conn;
    const char *list, *in, *out, *mech;
    unsigned listlen, inlen, outlen;
    int lfd, fd, rc;
    char mechname[64], type;

    who = "server";
    alarm(60);
    signal(SIGPIPE, SIG_IGN);
    parse_opts(argc, argv, &o);
    if (!o.sasldb || !o.realm || !o.mechs)
        die(EX_ERR, "-d, -r and -m are required");

    check(NULL, sasl_server_init(cbs, "peer"), "sasl_server_init");
    check(NULL, sasl_server_new("imap", "localhost", o.realm, NULL, NULL, NULL,
                                SASL_SUCCESS_DATA, &conn), "sasl_server_new");
    set_secprops(conn, &o);

    if (strlen(o.sock) >= sizeof sa.sun_path)
        die(EX_ERR, "socket path too long");
    strcpy(sa.sun_path, o.sock);
    if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0 ||
        (fd = accept(lfd, NULL, NULL)) < 0)
        die(EX_ERR, "socket: %s", strerror(errno));
    close(lfd);

    check(conn, sasl_listmech(conn, NULL, "", " ", "", &list, &listlen, NULL), "sasl_listmech");
    printf("server: offers %s\n", list);
    if (o.strip_plus) {
        /* a man in the middle hiding the -PLUS names from the client */
        char *copy = strdup(list), *strip = calloc(1, listlen + 1), *p;
        if (!copy || !strip)
            die(EX_ERR, "out of memory");
        for (p = strtok(copy, " "); p; p = strtok(NULL, " "))
            if (!strstr(p, "-PLUS"))
                strcat(strcat(strip, *strip ? " " : ""), p);
        list = strip;
        listlen = (unsigned)strlen(list);
        printf("server: but sends %s\n", list);
    }
    send_frame(fd, 'L', list, listlen);

    if (recv_frame(fd, &in, &inlen) != 'M' || inlen >= sizeof mechname)
        die(EX_ERR, "expected the mechanism");
    memcpy(mechname, in, inlen + 1);
    type = recv_frame(fd, &in, &inlen);
    if (type == 'F')
        die(EX_AUTH, "client gave up: %s", in);
    printf("server: client chose %s\n", mechname);
    rc = sasl_server_start(conn, mechname, type == 'R' ? in : NULL, type == 'R' ? inlen : 0,
                           &out, &outlen);
    while (rc == SASL_CONTINUE) {
        send_frame(fd, 'C', out, outlen);
        type = recv_frame(fd, &in, &inlen);
        if (type == 'F')
            die(EX_AUTH, "client gave up: %s", in);
        if (type == 'R')
            report_ntlm(in, inlen);
        rc = sasl_server_step(conn, in, inlen, &out, &outlen);
    }
    if (rc != SASL_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", rcname(rc), sasl_errdetail(conn));
        send_frame(fd, 'F', msg, (unsigned)strlen(msg));
        die(EX_AUTH, "authentication failed: %s", msg);
    }
    if (out)
        send_frame(fd, 'D', out, outlen);
    else
        send_frame(fd, 'O', NULL, 0);
    check(conn, sasl_getprop(conn, SASL_MECHNAME, (const void **)&mech), "sasl_getprop(MECHNAME)");
    report_auth(conn, mech);

    data_phase(conn, fd, &o, 1);
    close(fd);
    sasl_dispose(&conn);
    sasl_done();
    return EX_OK;
}
