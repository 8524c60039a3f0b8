/* export.h — a trained run's vectors for other systems.
 *
 * OUT/ receives (each written atomically):
 *   item_vectors.npy  float32 (n_items, D): the item tower, row = dense item id
 *   user_vectors.npy  float32 (n_users, D), or (n_users, K, D) for
 *                     multi-interest models: the user tower on each user's
 *                     whole history in the data
 *   items.tsv, users.tsv   row -> raw id, one per line
 *   index.faiss       (unless --index none) HNSW or IVF index of the item
 *                     vectors by inner product; ids = rows of item_vectors
 *   export.json       what was exported, index parameters, build time and
 *                     the index's recall@50 against exact search
 *   README.md         the same for people, with a Python snippet */
#ifndef CLT_EXPORT_H
#define CLT_EXPORT_H

#include "serve/retriever.h"

typedef struct ExportOptions {
    const char *run_dir;
    const char *out;
    FaissParams index;   /* index.kind "none": no index */
    int recall_queries;  /* users sampled to measure the index's recall@50 */
    int quiet;
} ExportOptions;

/* Recall@k of the index R has against exact search on up to n_queries users
 * (evenly spaced over the users; no seen-item exclusion), and the mean
 * milliseconds per query of each. */
typedef struct AnnReport {
    int queries, k;
    double recall, exact_ms, ann_ms;
} AnnReport;

int ann_report(Retriever *R, int n_queries, int k, AnnReport *out, Err *err);
int export_run(Retriever *R, const ExportOptions *o, Err *err);

#endif
