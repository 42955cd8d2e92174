/* LD_PRELOAD shim for the connection loop: getaddrinfo answered from
 * memory, with the name it was asked for as the canonical name.
 *
 * Cyrus's sasl_client_new looks up the client's own host name on every call
 * (gethostname, then getaddrinfo with AI_CANONNAME: nsswitch.conf,
 * resolv.conf and /etc/hosts read again, nine system calls), which this
 * library does not do (it reads the host name only for the mechanisms that
 * send it). Preloaded into Cyrus's side only, it shows what the rest of
 * Cyrus's connection costs, so that the loop's ratio can be read both ways.
 * The loop makes no other lookup; nothing else is changed.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    (void)service;
    (void)hints;
    struct addrinfo *ai = calloc(1, sizeof *ai);
    if (!ai)
        return EAI_MEMORY;
    ai->ai_canonname = strdup(node ? node : "localhost");
    if (!ai->ai_canonname) {
        free(ai);
        return EAI_MEMORY;
    }
    *res = ai;
    return 0;
}

void freeaddrinfo(struct addrinfo *ai)
{
    while (ai) {
        struct addrinfo *next = ai->ai_next;
        free(ai->ai_canonname);
        free(ai);
        ai = next;
    }
}
