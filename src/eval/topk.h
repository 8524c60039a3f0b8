/* topk.h — exact top-K selection over a row of scores.
 *
 * A size-K min-heap keeps the best K (score, item) pairs; a new item enters
 * only if it beats the heap's minimum, so a 300k-item row costs one compare
 * per item plus O(K log K) for the few that enter. Order: higher score first,
 * equal scores by lower item id — the same rule everywhere (evaluation,
 * serving, the reference implementation in the tests). Items scored -inf are
 * excluded entirely. */
#ifndef CLT_TOPK_H
#define CLT_TOPK_H

#include <stdint.h>

typedef struct ScoredItem {
    float score;
    int32_t item;
} ScoredItem;

/* Writes up to k best items of scores[0 .. n) to out, best first; returns how
 * many (fewer than k only if fewer than k items have a finite score). */
int topk_select(const float *scores, int32_t n, int k, ScoredItem *out);
/* Sorts best first by the same rule. */
void topk_sort(ScoredItem *a, int n);
/* Merges per-interest lists (each sorted) into one top-k list without
 * duplicate items (ComiRec's multi-interest procedure): all candidates sorted
 * by score, first occurrence of each item kept. `work` holds n_lists*k items. */
int topk_merge(const ScoredItem *lists, int n_lists, int k, ScoredItem *work, ScoredItem *out);

#endif
