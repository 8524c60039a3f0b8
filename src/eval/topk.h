/* topk.h — exact top-K selection over a row of scores.
 *
 * One vectorized pass compares every score with a threshold (first guessed
 * from a sample of the row, then the k-th best so far); the few that beat it
 * are collected and cut to the best K by quickselect, so a 300k-item row
 * costs about one compare per item plus O(K log K). Order: higher score first,
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
