/* cltower export — a trained run's item and user vectors as .npy files, the
 * id maps, and a Faiss index of the items (src/serve/export.h). */
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"
#include "serve/export.h"
#include "util/options.h"

typedef struct {
    char run[OPT_STR_MAX], out[OPT_STR_MAX], index[8];
    int hnsw_m, ef_construction, ef_search, nlist, nprobe, recall_queries, threads, quiet;
} ExportArgs;

#define F(x) offsetof(ExportArgs, x)
static const OptSpec EXPORT_OPTS[] = {
    {"run", OPT_STR, F(run), "", "run directory written by cltower train", 0, 0, NULL},
    {"out", OPT_STR, F(out), "", "output directory (created if missing)", 0, 0, NULL},
    {"index", OPT_STR, F(index), "hnsw", "Faiss index of the item vectors (inner product)", 0, 0, "hnsw|ivf|none"},
    {"hnsw-m", OPT_INT, F(hnsw_m), "32", "HNSW: neighbours per node", 2, 256, NULL},
    {"ef-construction", OPT_INT, F(ef_construction), "200", "HNSW: candidate list while building", 1, 1 << 16, NULL},
    {"ef-search", OPT_INT, F(ef_search), "128", "HNSW: candidate list while searching (saved in the index)", 1,
     1 << 16, NULL},
    {"nlist", OPT_INT, F(nlist), "0", "IVF: inverted lists (0 = 4 sqrt(items), at most items / 39)", 0, 1 << 20,
     NULL},
    {"nprobe", OPT_INT, F(nprobe), "16", "IVF: lists visited per query (saved in the index)", 1, 1 << 20, NULL},
    {"recall-queries", OPT_INT, F(recall_queries), "200", "users sampled to measure the index's recall@50", 0,
     1000000, NULL},
    {"threads", OPT_INT, F(threads), "0", "threads (0 = all cores)", 0, 1024, NULL},
    {"quiet", OPT_BOOL, F(quiet), "false", "no progress output", 0, 0, NULL},
};

static const char k_usage[] =
    "usage: cltower export --run RUN_DIR --out DIR [--index hnsw|ivf|none] [index options]\n\n"
    "Writes DIR/{item_vectors.npy, user_vectors.npy, items.tsv, users.tsv, index.faiss,\n"
    "export.json, README.md}. See docs/SERVING.md.";

int cmd_export(int argc, char **argv)
{
    ExportArgs a;
    Err err;
    int help, n = (int)ARRAY_LEN(EXPORT_OPTS);
    opt_defaults(EXPORT_OPTS, n, &a);
    if (opt_parse_argv(EXPORT_OPTS, n, &a, argc, argv, &help, &err) < 0)
        return cli_error("export", EXIT_USAGE, err.msg);
    if (help) {
        opt_print_help(EXPORT_OPTS, n, k_usage, stdout);
        return EXIT_OK;
    }
    if (!a.run[0] || !a.out[0]) return cli_error("export", EXIT_USAGE, "--run and --out are required");
    run_set_threads(a.threads);
    ExportOptions eo = {a.run, a.out, {"", a.hnsw_m, a.ef_construction, a.ef_search, a.nlist, a.nprobe, 0},
                        a.recall_queries, a.quiet};
    snprintf(eo.index.kind, sizeof eo.index.kind, "%s", a.index);
    Retriever R;
    if (retriever_open(&R, a.run, NULL, 0, 0, &err) < 0) return cli_error("export", EXIT_FAIL, err.msg);
    int rc = export_run(&R, &eo, &err) < 0 ? cli_error("export", EXIT_FAIL, err.msg) : EXIT_OK;
    if (rc == EXIT_OK && !a.quiet) fprintf(stderr, "export: wrote %s\n", a.out);
    retriever_close(&R);
    return rc;
}
