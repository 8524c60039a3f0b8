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

/* The same selection over a row whose scores arrive slice by slice (the item
 * tiles of eval/exact.c), each slice's items following the previous one's:
 * the candidate buffer and the threshold (the k-th best so far, or the
 * sampled guess) carry over from one slice to the next, so a slice is read
 * once, while it is in cache. topk_select is one slice. */
enum { TOPK_BLOCK = 16 }; /* items per vectorized test; also the buffer's slack */
typedef struct TopkRun {
    ScoredItem *buf; /* cap + TOPK_BLOCK entries, owned by the caller */
    int m, k, cap;   /* m candidates held; cut to the best k when m reaches cap */
    float thresh;    /* a later item must score above it to matter */
    int guessed;     /* thresh started from topk_run_guess */
} TopkRun;
/* cap >= k, or cap > the number of items the row will ever have. */
void topk_run_init(TopkRun *r, ScoredItem *buf, int cap, int k);
/* Optional, before the first slice: starts from a threshold guessed from a
 * sample of the whole row. Without one, the first slice guesses from its own
 * sample, and the k-th best of the first slices lets ~k ln(slices) items of
 * the later ones into the buffer. The row sample: items 0, s, 2s, ... (n / s
 * of them) for s = topk_sample_stride(n); topk_sample_guess turns their
 * scores into a threshold that a few times k items of the row are expected
 * to beat (-inf if the sample is too small). */
int32_t topk_sample_stride(int32_t n);
float topk_sample_guess(const float *sample, int32_t ns, int32_t stride, int k);
void topk_run_guess(TopkRun *r, float guess);
/* Adds items first .. first + n - 1 with scores[0 .. n); first is the end of
 * the previous slice. */
void topk_run_add(TopkRun *r, const float *scores, int32_t n, int32_t first);
/* Writes the up to k best items of all slices to out, best first (as
 * topk_select); returns how many. -1 (out untouched) if fewer than k items
 * beat a topk_run_guess threshold: the items it skipped may belong to the top
 * k, and the row must be run again without a guess. */
int topk_run_finish(TopkRun *r, ScoredItem *out);
/* Sorts best first by the same rule. */
void topk_sort(ScoredItem *a, int n);
/* Merges per-interest lists (each sorted) into one top-k list without
 * duplicate items (ComiRec's multi-interest procedure): all candidates sorted
 * by score, first occurrence of each item kept. `work` holds n_lists*k items. */
int topk_merge(const ScoredItem *lists, int n_lists, int k, ScoredItem *work, ScoredItem *out);

#endif
