/* retriever.h — recommendations from a trained run, for `recommend`, `serve`
 * and `export`.
 *
 * A Retriever holds the model, every item vector (computed once), the raw <->
 * dense id maps and optionally a Faiss index. A query is a known user (raw
 * id: their whole history in the data, train + valid + test items, in time
 * order) or a list of raw item ids (a new user); the user tower turns it into
 * K vectors (K > 1 for multi-interest models) and the result is the top-k
 * items by dot product, best first, ties to the lower dense id.
 *
 * Multi-interest models follow ComiRec's procedure, as evaluation does: top-k
 * per interest, merged by score, repeated items dropped, top-k overall.
 *
 * Threads: any number of threads may query one Retriever at once, each with
 * its own RetrScratch. The retriever itself is read-only after opening,
 * except for the user tower, which is serialized (see retriever.c). */
#ifndef CLT_RETRIEVER_H
#define CLT_RETRIEVER_H

#include <pthread.h>

#include "eval/topk.h"
#include "serve/faiss_shim.h"
#include "train/run.h"

enum { RETR_MAX_K = 1000, RETR_MAX_HISTORY = 10000 };

typedef enum { RETR_OK = 0, RETR_BAD_QUERY, RETR_UNKNOWN_ID, RETR_FAILED } RetrStatus;

typedef struct Retriever {
    Run run;                 /* owned data and model when opened from a RUN_DIR */
    Model *m;
    const Dataset *ds;       /* users: raw ids and histories */
    const StrTab *item_ids;  /* raw item ids, index = dense item id */
    int32_t n_items;
    int D, K;                /* vector size, vectors per user */
    float *items;            /* (n_items, D) item tower outputs */
    FaissIndex *index;       /* NULL: exact search */
    pthread_mutex_t tower;   /* serializes the user tower */
} Retriever;

/* Per-thread buffers of a query; grown on demand, reused across queries. */
typedef struct RetrScratch {
    float *u;                /* (K, D) user vectors */
    float *scores;           /* (K, n_items) exact scores */
    ScoredItem *lists, *work; /* (K, k) per-interest lists, merge buffer */
    int32_t *hist, *seen;    /* dense history, sorted seen items */
    int64_t *ann_ids;        /* (K, k') index candidates */
    size_t cap_u, cap_scores, cap_lists, cap_work, cap_hist, cap_seen, cap_ann;
} RetrScratch;

typedef struct RecQuery {
    const char *user;          /* raw user id, or NULL: use history */
    char *const *history;      /* raw item ids, oldest first */
    int n_history;
    int k;                     /* 1 .. RETR_MAX_K */
    int exclude_seen;          /* never recommend an item of the history */
} RecQuery;

/* Opens RUN_DIR (run_open), computes the item vectors and, when index is
 * non-empty, loads that Faiss index (retriever_load_index). R must stay where
 * it is until retriever_close (the model points into it). On failure
 * nothing is left open. */
int retriever_open(Retriever *R, const char *run_dir, const char *index, int ef_search, int nprobe, Err *err);
/* The same over a model and data the caller owns (tests). */
void retriever_init(Retriever *R, Model *m, const Dataset *ds);
/* Uses index for queries from now on (takes ownership; checked against the
 * item vectors' count and size). */
int retriever_set_index(Retriever *R, FaissIndex *index, Err *err);
/* faiss_read + retriever_set_index; ef_search / nprobe override the saved
 * values when > 0. */
int retriever_load_index(Retriever *R, const char *path, int ef_search, int nprobe, Err *err);
void retriever_close(Retriever *R);

const char *retriever_model(const Retriever *R);
static inline const char *retriever_item_id(const Retriever *R, int32_t i) { return strtab_get(R->item_ids, i); }

/* User tower on n dense histories: out (n, K, D). Thread-safe. */
void retriever_user_vectors(Retriever *R, const Hist *h, int n, float *out);
/* Top-k items for a dense history into out (k); returns how many, or -1 with
 * err if the index failed. */
int retriever_rank(Retriever *R, RetrScratch *s, const Hist *h, int k, int exclude_seen, ScoredItem *out, Err *err);
/* A raw-id query: resolves ids, ranks; *n_out results in out (q->k). */
RetrStatus retriever_query(Retriever *R, RetrScratch *s, const RecQuery *q, ScoredItem *out, int *n_out, Err *err);

void retr_scratch_init(RetrScratch *s);
void retr_scratch_free(RetrScratch *s);

#endif
