/* fuzz_request.c — libFuzzer target for request_parse (the body of POST
 * /v1/recommend; docs/FUZZING.md). The input is the raw body, not
 * NUL-terminated, so ASan sees any read past its end.
 *
 * Checked: a failure returns -1 with a one-line message and leaves nothing to
 * free; a success has exactly one of user / history, every history id set,
 * k in 1..RETR_MAX_K and exclude_seen 0 or 1. */
#include "fuzz.h"
#include "serve/request.h"

/* response_write (not fuzzed) names the model; defining it here keeps
 * retriever.c, and with it Faiss and the model code, out of the link. */
const char *retriever_model(const Retriever *R) { return "fuzz"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    RecRequest r;
    Err err = {{0}};
    if (request_parse((const char *)data, size, &r, &err) < 0) {
        check_error(&err);
        CHECK(r.user == NULL && r.history == NULL && r.n_history == 0);
        return 0;
    }
    CHECK(!r.user != !r.history);
    if (r.history) {
        CHECK(r.n_history >= 1 && r.n_history <= RETR_MAX_HISTORY);
        for (int i = 0; i < r.n_history; i++) CHECK(r.history[i] != NULL);
    } else {
        CHECK(r.n_history == 0);
    }
    CHECK(r.k >= 1 && r.k <= RETR_MAX_K);
    CHECK(r.exclude_seen == 0 || r.exclude_seen == 1);
    RecQuery q = request_query(&r);
    CHECK(q.k == r.k && q.n_history == r.n_history && q.user == r.user);
    request_free(&r);
    return 0;
}
