/* cltower recommend — top-k items for a known user or a given history, from
 * a trained run; the same retrieval (and with --json the same response) as
 * `cltower serve`. */
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"
#include "serve/request.h"
#include "util/options.h"
#include "util/timer.h"

typedef struct {
    char run[OPT_STR_MAX], user[OPT_STR_MAX], history[OPT_STR_MAX], index[OPT_STR_MAX];
    int k, json, exclude_seen, ef_search, nprobe, threads;
} RecArgs;

#define F(x) offsetof(RecArgs, x)
static const OptSpec REC_OPTS[] = {
    {"run", OPT_STR, F(run), "", "run directory written by cltower train", 0, 0, NULL},
    {"user", OPT_STR, F(user), "", "raw user id: recommend from the user's whole history in the data", 0, 0, NULL},
    {"history", OPT_STR, F(history), "", "comma-separated raw item ids, oldest first (a new user)", 0, 0, NULL},
    {"k", OPT_INT, F(k), "10", "how many items", 1, RETR_MAX_K, NULL},
    {"exclude-seen", OPT_BOOL, F(exclude_seen), "true", "never recommend an item of the history", 0, 0, NULL},
    {"json", OPT_BOOL, F(json), "false", "print the server's JSON response instead of id/score lines", 0, 0, NULL},
    CLI_SEARCH_OPTS(RecArgs),
    {"threads", OPT_INT, F(threads), "0", "threads (0 = all cores)", 0, 1024, NULL},
};

static const char k_usage[] =
    "usage: cltower recommend --run RUN_DIR (--user ID | --history a,b,c) [--k N] [--json] [--index FILE]\n\n"
    "Prints the top-k items (raw id and score, best first) for a user of the run's data or for\n"
    "a history of raw item ids. With --json, prints what POST /v1/recommend of cltower serve returns.";

/* Splits "a,b,c" in place into ids (empty ids are kept and fail as unknown). */
static char **split_ids(char *s, int *n)
{
    int cap = 1;
    for (char *p = s; *p; p++) cap += *p == ',';
    char **ids = xmalloc((size_t)cap * sizeof *ids);
    *n = 0;
    for (char *p = s;; p++) {
        ids[(*n)++] = p;
        p = strchr(p, ',');
        if (!p) break;
        *p = '\0';
    }
    return ids;
}

static void print_lines(const Retriever *R, const ScoredItem *items, int n)
{
    for (int i = 0; i < n; i++) printf("%s\t%.10g\n", retriever_item_id(R, items[i].item), items[i].score);
}

static int recommend(const RecArgs *a, Retriever *R, const RecQuery *q)
{
    Err err;
    RetrScratch s;
    retr_scratch_init(&s);
    ScoredItem *items = xmalloc((size_t)q->k * sizeof *items);
    int n;
    double t0 = now_seconds();
    RetrStatus st = retriever_query(R, &s, q, items, &n, &err);
    double ms = 1e3 * (now_seconds() - t0);
    if (st == RETR_OK && a->json) {
        response_write(stdout, R, items, n, ms, 0);
        putchar('\n');
    } else if (st == RETR_OK) {
        print_lines(R, items, n);
    }
    free(items);
    retr_scratch_free(&s);
    return st == RETR_OK ? EXIT_OK : cli_error("recommend", EXIT_FAIL, err.msg);
}

int cmd_recommend(int argc, char **argv)
{
    RecArgs a;
    Err err;
    int help, n = (int)ARRAY_LEN(REC_OPTS);
    opt_defaults(REC_OPTS, n, &a);
    if (opt_parse_argv(REC_OPTS, n, &a, argc, argv, &help, &err) < 0)
        return cli_error("recommend", EXIT_USAGE, err.msg);
    if (help) {
        opt_print_help(REC_OPTS, n, k_usage, stdout);
        return EXIT_OK;
    }
    if (!a.run[0]) return cli_error("recommend", EXIT_USAGE, "--run is required");
    if (!a.user[0] == !a.history[0]) return cli_error("recommend", EXIT_USAGE, "expected one of --user and --history");
    run_set_threads(a.threads);
    Retriever R;
    if (retriever_open(&R, a.run, a.index, a.ef_search, a.nprobe, &err) < 0)
        return cli_error("recommend", EXIT_FAIL, err.msg);
    int n_hist = 0;
    char **hist = a.history[0] ? split_ids(a.history, &n_hist) : NULL;
    RecQuery q = {a.user[0] ? a.user : NULL, hist, n_hist, a.k, a.exclude_seen};
    int rc = recommend(&a, &R, &q);
    free(hist);
    retriever_close(&R);
    return rc;
}
