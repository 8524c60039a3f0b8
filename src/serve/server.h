/* server.h — the HTTP front of a Retriever (libmicrohttpd, thread pool).
 *
 *   POST /v1/recommend   request.h's format -> 200 {"items": [...], "model", "took_ms"}
 *   GET  /v1/health      200 {"status": "ok"}
 *   GET  /v1/info        200 {"model", "items", "users", "dim", "interests", "index", ...}
 *
 * Errors are {"error": "..."}: 400 bad JSON or fields, k out of range;
 * 404 unknown user/item id or path; 405 wrong method; 413 body over the
 * limit; 500 an index failure. Bad input never ends the server. */
#ifndef CLT_SERVER_H
#define CLT_SERVER_H

#include "serve/retriever.h"

typedef struct ServeOptions {
    const char *host;     /* numeric IPv4 or IPv6 address to bind */
    int port;             /* 0 = any free port (see server_port) */
    int threads;          /* worker threads */
    size_t max_body;      /* bytes; larger request bodies get 413 */
    int timeout;          /* seconds of client inactivity before a connection is closed */
} ServeOptions;

typedef struct Server Server;

/* Starts serving R (which must outlive the server) in background threads. */
Server *server_start(Retriever *R, const ServeOptions *o, Err *err);
int server_port(const Server *s);
/* Stops accepting, finishes the requests in flight, frees everything. */
void server_stop(Server *s);

#endif
