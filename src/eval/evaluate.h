/* evaluate.h — exact full-corpus evaluation.
 *
 * Every evaluated user is scored against every item: user vectors of a block
 * of users times the item vectors tile by tile (eval/exact.h), each tile's
 * scores (in parallel over groups of users) cleared of seen items and fed to
 * a running exact top-K selection. No sampling, no approximate index: the
 * numbers are the numbers. */
#ifndef CLT_EVALUATE_H
#define CLT_EVALUATE_H

#include "data/split.h"
#include "eval/metrics.h"
#include "model/model.h"

/* What happens to a user's history items (except its targets) in the ranking. */
typedef enum {
    SEEN_KEEP,   /* ranked like any other item */
    SEEN_REMOVE, /* cannot be recommended */
    /* scored 0 instead of their dot product: what the ICLRec / CoSeRec
     * evaluation code does (rating_pred[train_matrix > 0] = 0). Items that
     * score below 0 then rank below the history, which costs hits; only for
     * reproducing numbers published with that code. */
    SEEN_ZERO
} SeenMode;

typedef struct EvalOptions {
    IntList ks;        /* cut-offs, e.g. 10,20,50 */
    int exclude_seen;  /* SeenMode */
    int quiet;
    const char *label; /* progress label */
} EvalOptions;

/* ranked (optional): (es->n, max k) best-first item ids, -1 padded.
 * seconds (optional): wall time. */
void evaluate(Model *m, const Dataset *ds, const EvalSet *es, const EvalOptions *o, Metrics *out, int32_t *ranked,
              double *seconds);
int eval_max_k(const IntList *ks);

#endif
