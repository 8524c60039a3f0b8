#include "serve/request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>

#include "util/json.h"

/* cJSON records the position of a parse error in a global; parsing under
 * this lock keeps concurrent requests from racing on it. Parsing is a tiny
 * part of a request. */
static pthread_mutex_t g_cjson_lock = PTHREAD_MUTEX_INITIALIZER;

static cJSON *parse_json(const char *body, size_t len, Err *err)
{
    const char *end = NULL;
    pthread_mutex_lock(&g_cjson_lock);
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    pthread_mutex_unlock(&g_cjson_lock);
    size_t off = end ? (size_t)(end - body) : 0;
    if (!root) {
        err_set(err, "request: invalid JSON at byte %zu", off);
        return NULL;
    }
    while (off < len && body[off] && strchr(" \t\r\n", body[off])) off++;
    if (off < len) {
        cJSON_Delete(root);
        err_set(err, "request: unexpected data after the JSON value at byte %zu", off);
        return NULL;
    }
    return root;
}

static int parse_history(const cJSON *v, RecRequest *r, Err *err)
{
    if (!cJSON_IsArray(v)) return err_set(err, "history: expected an array of item id strings");
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > RETR_MAX_HISTORY) return err_set(err, "history: expected 1 to %d item ids, got %d",
                                                      RETR_MAX_HISTORY, n);
    r->history = xcalloc((size_t)n, sizeof *r->history);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it)) return err_set(err, "history[%d]: expected a string", r->n_history);
        r->history[r->n_history++] = xstrdup(it->valuestring);
    }
    return 0;
}

static int parse_k(const cJSON *v, RecRequest *r, Err *err)
{
    double k = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(k >= 1 && k <= RETR_MAX_K && k == floor(k)))
        return err_set(err, "k: expected an integer from 1 to %d", RETR_MAX_K);
    r->k = (int)k;
    return 0;
}

/* One member of the request object; *seen tracks duplicates by field. */
static int parse_field(const cJSON *v, RecRequest *r, unsigned *seen, Err *err)
{
    static const char *const names[] = {"user", "history", "k", "exclude_seen"};
    int f = 0;
    while (f < 4 && strcmp(v->string, names[f])) f++;
    if (f == 4) return err_set(err, "request: unknown field '%.100s' (expected user, history, k, exclude_seen)",
                               v->string);
    if (*seen & (1u << f)) return err_set(err, "request: field '%s' given twice", names[f]);
    *seen |= 1u << f;
    switch (f) {
    case 0:
        if (!cJSON_IsString(v)) return err_set(err, "user: expected a string (a raw user id)");
        r->user = xstrdup(v->valuestring);
        return 0;
    case 1: return parse_history(v, r, err);
    case 2: return parse_k(v, r, err);
    default:
        if (!cJSON_IsBool(v)) return err_set(err, "exclude_seen: expected true or false");
        r->exclude_seen = cJSON_IsTrue(v);
        return 0;
    }
}

int request_parse(const char *body, size_t len, RecRequest *out, Err *err)
{
    memset(out, 0, sizeof *out);
    out->k = REQ_DEFAULT_K;
    out->exclude_seen = 1;
    cJSON *root = parse_json(body, len, err);
    if (!root) return -1;
    int rc = 0;
    unsigned seen = 0;
    if (!cJSON_IsObject(root)) rc = err_set(err, "request: expected a JSON object");
    for (const cJSON *v = root->child; rc == 0 && v && cJSON_IsObject(root); v = v->next)
        rc = parse_field(v, out, &seen, err);
    if (rc == 0 && !out->user == !out->history)
        rc = err_set(err, "request: expected exactly one of \"user\" and \"history\"");
    cJSON_Delete(root);
    if (rc < 0) request_free(out);
    return rc;
}

void request_free(RecRequest *r)
{
    for (int i = 0; i < r->n_history; i++) free(r->history[i]);
    free(r->history);
    free(r->user);
    memset(r, 0, sizeof *r);
}

RecQuery request_query(const RecRequest *r)
{
    return (RecQuery){r->user, r->history, r->n_history, r->k, r->exclude_seen};
}

void response_write(FILE *f, const Retriever *R, const ScoredItem *items, int n, double took_ms, int pretty)
{
    JsonWriter w;
    jw_init(&w, f, pretty);
    jw_object_begin(&w, NULL);
    jw_array_begin(&w, "items");
    for (int i = 0; i < n; i++) {
        jw_object_begin(&w, NULL);
        jw_string(&w, "id", retriever_item_id(R, items[i].item));
        jw_number(&w, "score", items[i].score);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_string(&w, "model", retriever_model(R));
    jw_number(&w, "took_ms", took_ms);
    jw_object_end(&w);
}

void response_error(FILE *f, const char *msg)
{
    JsonWriter w;
    jw_init(&w, f, 0);
    jw_object_begin(&w, NULL);
    jw_string(&w, "error", msg);
    jw_object_end(&w);
}
