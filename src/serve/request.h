/* request.h — the wire format of POST /v1/recommend, shared by `cltower
 * serve` and `cltower recommend --json`.
 *
 * Request (one of user / history; unknown fields are errors, so a typo such
 * as "exclude_sen" is not silently ignored):
 *   {"user": "<raw user id>", "k": 50, "exclude_seen": true}
 *   {"history": ["<raw item id>", ...], "k": 50, "exclude_seen": true}
 * Response:
 *   {"items": [{"id": "...", "score": 1.25}, ...], "model": "...", "took_ms": 0.8}
 * Errors are {"error": "<one line>"}.
 *
 * request_parse takes the raw body and its length (no NUL needed), so a
 * fuzzer can call it directly; it never trusts the input. */
#ifndef CLT_REQUEST_H
#define CLT_REQUEST_H

#include <stdio.h>

#include "serve/retriever.h"

enum { REQ_DEFAULT_K = 10 };

typedef struct RecRequest {
    char *user;         /* owned; NULL when history is given */
    char **history;     /* owned; n_history raw item ids */
    int n_history;
    int k;              /* default REQ_DEFAULT_K */
    int exclude_seen;   /* default 1 */
} RecRequest;

/* 0, or -1 with a one-line message (the caller answers 400). On failure
 * nothing needs freeing; on success call request_free. */
int request_parse(const char *body, size_t len, RecRequest *out, Err *err);
void request_free(RecRequest *r);
RecQuery request_query(const RecRequest *r);

/* The response object; pretty adds newlines and indentation. */
void response_write(FILE *f, const Retriever *R, const ScoredItem *items, int n, double took_ms, int pretty);
void response_error(FILE *f, const char *msg);

#endif
