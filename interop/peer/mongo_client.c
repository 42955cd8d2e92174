/* Peer client for interop/mongo.sh: Debian's unchanged libmongoc, which
 * authenticates through libsasl2 (authMechanism=GSSAPI), runs "ping" on
 * "admin" and prints the reply, or libmongoc's error.
 *
 * usage: mongo_client URI
 * Exits 0 only when the ping succeeds; 1 on a command or authentication
 * error (printed as "error: domain=D code=C: MESSAGE"), 2 on a bad URI. */
#include <stdio.h>

#include <mongoc/mongoc.h>

int main(int argc, char **argv)
{
    mongoc_uri_t *uri;
    mongoc_client_t *client;
    bson_error_t error;
    bson_t *ping, reply;
    char *json;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s URI\n", argv[0]);
        return 2;
    }
    mongoc_init();
    uri = mongoc_uri_new_with_error(argv[1], &error);
    if (!uri) {
        fprintf(stderr, "bad URI: %s\n", error.message);
        mongoc_cleanup();
        return 2;
    }
    client = mongoc_client_new_from_uri(uri);
    if (!client) {
        fprintf(stderr, "mongoc_client_new_from_uri failed\n");
        mongoc_uri_destroy(uri);
        mongoc_cleanup();
        return 2;
    }
    /* Version 2: server errors keep the server's own code and message. */
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_set_appname(client, "sasl2rs-interop");

    ping = BCON_NEW("ping", BCON_INT32(1));
    if (mongoc_client_command_simple(client, "admin", ping, NULL, &reply, &error)) {
        json = bson_as_canonical_extended_json(&reply, NULL);
        printf("ping: %s\n", json);
        bson_free(json);
        rc = 0;
    } else {
        /* The code as int: for SASL errors it is the libsasl2 result. */
        printf("error: domain=%u code=%d: %s\n", error.domain, (int)error.code, error.message);
    }
    bson_destroy(&reply);
    bson_destroy(ping);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return rc;
}
