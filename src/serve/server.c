#include "serve/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <omp.h>

#include "serve/request.h"
#include "util/json.h"
#include "util/timer.h"

struct Server {
    struct MHD_Daemon *d;
    Retriever *R;
    size_t max_body;
    pthread_key_t scratch;   /* each worker thread's RetrScratch */
};

/* The body of one request as it arrives (MHD hands it over in pieces). */
typedef struct Upload {
    char *buf;
    size_t len, cap;
    int too_big;
} Upload;

static void scratch_destroy(void *p)
{
    retr_scratch_free(p);
    free(p);
}

/* The calling worker's scratch, created on its first request. Workers run
 * their OpenMP regions (user tower, Faiss) single-threaded: the parallelism
 * of a server is its concurrent requests, and a private OpenMP team per
 * worker would only oversubscribe the cores. */
static RetrScratch *worker_scratch(Server *s)
{
    RetrScratch *rs = pthread_getspecific(s->scratch);
    if (!rs) {
        rs = xmalloc(sizeof *rs);
        retr_scratch_init(rs);
        pthread_setspecific(s->scratch, rs);
        omp_set_num_threads(1);
    }
    return rs;
}

static enum MHD_Result send_buffer(struct MHD_Connection *c, unsigned status, char *buf, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A JSON body written by fn(f, arg) into memory, then sent. */
typedef void (*BodyFn)(FILE *f, const void *arg);

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, BodyFn fn, const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) die("open_memstream: out of memory");
    fn(f, arg);
    fputc('\n', f);
    fclose(f);
    return send_buffer(c, status, buf, len);
}

static void error_body(FILE *f, const void *msg) { response_error(f, msg); }

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return send_json(c, status, error_body, msg);
}

static void health_body(FILE *f, const void *arg)
{
    JsonWriter w;
    jw_init(&w, f, 0);
    jw_object_begin(&w, NULL);
    jw_string(&w, "status", "ok");
    jw_object_end(&w);
}

static void info_body(FILE *f, const void *arg)
{
    const Retriever *R = arg;
    JsonWriter w;
    jw_init(&w, f, 0);
    jw_object_begin(&w, NULL);
    jw_string(&w, "model", retriever_model(R));
    jw_int(&w, "items", R->n_items);
    jw_int(&w, "users", R->ds->n_users);
    jw_int(&w, "dim", R->D);
    jw_int(&w, "interests", R->K);
    FaissParams p = {"exact", 0, 0, 0, 0, 0, 0};
    if (R->index) faiss_describe(R->index, &p);
    jw_string(&w, "index", p.kind);
    if (p.ef_search) jw_int(&w, "ef_search", p.ef_search);
    if (p.nprobe) jw_int(&w, "nprobe", p.nprobe);
    jw_int(&w, "max_k", RETR_MAX_K);
    jw_object_end(&w);
}

typedef struct {
    const Retriever *R;
    const ScoredItem *items;
    int n;
    double took_ms;
} RecBody;

static void rec_body(FILE *f, const void *arg)
{
    const RecBody *b = arg;
    response_write(f, b->R, b->items, b->n, b->took_ms, 0);
}

static unsigned status_of(RetrStatus st)
{
    return st == RETR_BAD_QUERY ? MHD_HTTP_BAD_REQUEST
         : st == RETR_UNKNOWN_ID ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static enum MHD_Result recommend(Server *s, struct MHD_Connection *c, const Upload *up)
{
    double t0 = now_seconds();
    RecRequest req;
    Err err;
    if (request_parse(up->buf ? up->buf : "", up->len, &req, &err) < 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, err.msg);
    RecQuery q = request_query(&req);
    ScoredItem *items = xmalloc((size_t)req.k * sizeof *items);
    int n;
    RetrStatus st = retriever_query(s->R, worker_scratch(s), &q, items, &n, &err);
    enum MHD_Result ret;
    if (st != RETR_OK) {
        ret = send_error(c, status_of(st), err.msg);
    } else {
        RecBody b = {s->R, items, n, 1e3 * (now_seconds() - t0)};
        ret = send_json(c, MHD_HTTP_OK, rec_body, &b);
    }
    free(items);
    request_free(&req);
    return ret;
}

static enum MHD_Result route(Server *s, struct MHD_Connection *c, const char *url, const char *method,
                             const Upload *up)
{
    int get = !strcmp(method, MHD_HTTP_METHOD_GET), post = !strcmp(method, MHD_HTTP_METHOD_POST);
    if (!strcmp(url, "/v1/recommend")) {
        if (!post) return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "/v1/recommend: expected POST");
        if (up->too_big) return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
        return recommend(s, c, up);
    }
    if (!strcmp(url, "/v1/health") || !strcmp(url, "/v1/info")) {
        if (!get) return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "expected GET");
        return url[4] == 'h' ? send_json(c, MHD_HTTP_OK, health_body, NULL) : send_json(c, MHD_HTTP_OK, info_body,
                                                                                         s->R);
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint (expected /v1/recommend, /v1/health, /v1/info)");
}

/* Appends a piece of the body; past max_body the rest is read and dropped. */
static void upload_add(Upload *up, const char *data, size_t n, size_t max_body)
{
    if (up->too_big || n > max_body - up->len) {
        up->too_big = 1;
        return;
    }
    if (up->len + n > up->cap) {
        up->cap = MAX(up->len + n, 2 * up->cap);
        up->buf = xrealloc(up->buf, up->cap);
    }
    memcpy(up->buf + up->len, data, n);
    up->len += n;
}

/* MHD calls this first with no data (headers only), then once per piece of
 * the body, then once more with none: the time to answer. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls)
{
    Server *s = cls;
    Upload *up = *con_cls;
    if (!up) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->max_body) /* refuse before reading it */
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
        *con_cls = xcalloc(1, sizeof *up);
        return MHD_YES;
    }
    if (*data_size) {
        upload_add(up, data, *data_size, s->max_body);
        *data_size = 0;
        return MHD_YES;
    }
    return route(s, c, url, method, up);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    Upload *up = *con_cls;
    if (up) free(up->buf);
    free(up);
    *con_cls = NULL;
}

/* Parses host into a socket address (numeric only: no DNS in a server start). */
static int bind_address(const char *host, int port, struct sockaddr_storage *ss, int *v6, Err *err)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    *v6 = 0;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = 1;
    } else {
        return err_set(err, "host: expected a numeric IPv4 or IPv6 address, got '%s'", host);
    }
    return 0;
}

Server *server_start(Retriever *R, const ServeOptions *o, Err *err)
{
    struct sockaddr_storage ss;
    int v6;
    if (bind_address(o->host, o->port, &ss, &v6, err) < 0) return NULL;
    Server *s = xcalloc(1, sizeof *s);
    s->R = R;
    s->max_body = o->max_body;
    pthread_key_create(&s->scratch, scratch_destroy);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | (v6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, s, MHD_OPTION_END);
    if (!s->d) {
        pthread_key_delete(s->scratch);
        free(s);
        err_set(err, "cannot listen on %s port %d (in use, or not an address of this machine?)", o->host, o->port);
        return NULL;
    }
    return s;
}

int server_port(const Server *s)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : -1;
}

void server_stop(Server *s)
{
    if (!s) return;
    MHD_stop_daemon(s->d); /* joins the workers; their scratch is freed on exit */
    pthread_key_delete(s->scratch);
    free(s);
}
