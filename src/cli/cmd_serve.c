/* cltower serve — an HTTP recommendation service over a trained run
 * (src/serve/server.h; API in docs/SERVING.md). Runs until SIGINT or
 * SIGTERM, then finishes the requests in flight and exits 0. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"
#include "serve/server.h"
#include "util/options.h"

typedef struct {
    char run[OPT_STR_MAX], index[OPT_STR_MAX], host[64];
    int port, threads, max_body, timeout, ef_search, nprobe;
} ServeArgs;

#define F(x) offsetof(ServeArgs, x)
static const OptSpec SERVE_OPTS[] = {
    {"run", OPT_STR, F(run), "", "run directory written by cltower train", 0, 0, NULL},
    CLI_SEARCH_OPTS(ServeArgs),
    {"host", OPT_STR, F(host), "127.0.0.1", "numeric address to listen on (loopback by default)", 0, 0, NULL},
    {"port", OPT_INT, F(port), "8080", "TCP port (0 = any free port; the one chosen is printed)", 0, 65535, NULL},
    {"threads", OPT_INT, F(threads), "4", "worker threads answering requests", 1, 1024, NULL},
    {"max-body", OPT_INT, F(max_body), "1048576", "largest request body in bytes (more: 413)", 64, 1 << 30, NULL},
    {"timeout", OPT_INT, F(timeout), "30", "seconds before an idle connection is closed", 1, 3600, NULL},
};

static const char k_usage[] =
    "usage: cltower serve --run RUN_DIR [--index FILE] [--host 127.0.0.1] [--port 8080] [--threads N]\n"
    "                     [--max-body BYTES]\n\n"
    "Serves POST /v1/recommend, GET /v1/health and GET /v1/info (docs/SERVING.md) until SIGINT or SIGTERM.";

/* Blocks SIGINT/SIGTERM (and SIGPIPE) in this thread before the workers
 * start, so they inherit the mask and only sigwait below sees the signals. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigset_t all = *set;
    sigaddset(&all, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static int serve(const ServeArgs *a, Retriever *R)
{
    Err err;
    sigset_t set;
    block_signals(&set);
    ServeOptions so = {a->host, a->port, a->threads, (size_t)a->max_body, a->timeout};
    Server *s = server_start(R, &so, &err);
    if (!s) return cli_error("serve", EXIT_FAIL, err.msg);
    fprintf(stderr, "cltower serve: listening on http://%s:%d (model %s, %d items, %s search, %d threads)\n",
            a->host, server_port(s), retriever_model(R), (int)R->n_items, R->index ? "index" : "exact", a->threads);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "cltower serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server_stop(s);
    return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    ServeArgs a;
    Err err;
    int help, n = (int)ARRAY_LEN(SERVE_OPTS);
    opt_defaults(SERVE_OPTS, n, &a);
    if (opt_parse_argv(SERVE_OPTS, n, &a, argc, argv, &help, &err) < 0) return cli_error("serve", EXIT_USAGE, err.msg);
    if (help) {
        opt_print_help(SERVE_OPTS, n, k_usage, stdout);
        return EXIT_OK;
    }
    if (!a.run[0]) return cli_error("serve", EXIT_USAGE, "--run is required");
    Retriever R;
    if (retriever_open(&R, a.run, a.index, a.ef_search, a.nprobe, &err) < 0)
        return cli_error("serve", EXIT_FAIL, err.msg);
    int rc = serve(&a, &R);
    retriever_close(&R);
    return rc;
}
