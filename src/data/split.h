/* split.h — evaluation protocols: which events train, which are held out.
 *
 * Histories and targets are always ranges of a user's time-ordered sequence,
 * so a split is just lengths: train_len[u] items of user u are training data;
 * an evaluated user has a history of the first hist_len items and targets
 * [hist_len, tgt_end).
 *
 *   loo      (SASRec/ICLRec) users with >= 3 items: last item = test target,
 *            second last = valid target, the rest trains. Seen items are
 *            excluded from the ranking (never the target itself).
 *   comirec  (ComiRec) users shuffled by seed, 80/10/10 train/valid/test
 *            users; an eval user's first floor(0.8 n) items are the history,
 *            the rest are all targets. Eval users are unseen in training. */
#ifndef CLT_SPLIT_H
#define CLT_SPLIT_H

#include "data/dataset.h"

typedef enum { PROTO_LOO, PROTO_COMIREC } Protocol;

typedef struct EvalSet {
    int32_t n;          /* users evaluated */
    int32_t *user;      /* (n) dense user ids */
    int32_t *hist_len;  /* (n) history = first hist_len items of the user's sequence */
    int32_t *tgt_end;   /* (n) targets = items [hist_len, tgt_end) */
} EvalSet;

typedef struct Split {
    Protocol protocol;
    int32_t *train_len;     /* (n_users) training prefix of each user; 0 = not a training user */
    int64_t n_train_inter;  /* sum of train_len */
    EvalSet valid, test;
} Split;

int protocol_parse(const char *name, Protocol *p);
const char *protocol_name(Protocol p);
/* Deterministic from seed (only comirec draws random numbers). */
int split_make(const Dataset *ds, Protocol p, uint64_t seed, Split *s, Err *err);
void split_free(Split *s);

/* One training example: for per-target models the target is item `pos` of
 * the user's sequence and the history everything before it; for sequence
 * models `pos` is the end of the training prefix (all positions train). */
typedef struct Example {
    int32_t user, pos;
} Example;

/* Per-target: (u, t) for 1 <= t < train_len[u]. Per-sequence: (u, train_len[u])
 * for every user with train_len >= 2. Returns the count; *out is malloc'ed. */
int64_t split_examples(const Split *s, int32_t n_users, int per_sequence, Example **out);

/* Training interactions per item (item popularity as the model may see it). */
void split_item_counts(const Dataset *ds, const Split *s, int64_t *counts);

#endif
