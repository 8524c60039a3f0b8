#include "eval/topk.h"

#include "util/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* "a ranks before b" */
static inline int better(ScoredItem a, ScoredItem b)
{
    return a.score > b.score || (a.score == b.score && a.item < b.item);
}

static int cmp_rank(const void *pa, const void *pb)
{
    ScoredItem a = *(const ScoredItem *)pa, b = *(const ScoredItem *)pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

void topk_sort(ScoredItem *a, int n) { qsort(a, (size_t)n, sizeof *a, cmp_rank); }

/* Quickselect (Hoare partition): reorders a[0 .. n) so that a[0 .. k) are the
 * k best, in no particular order. Items are distinct, so `better` is a strict
 * total order and the partition always makes progress. */
static void select_best(ScoredItem *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        ScoredItem p = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (better(a[i], p)) i++;
            while (better(p, a[j])) j--;
            if (i <= j) {
                ScoredItem t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else return;
    }
}

/* Keeps the k best of buf[0 .. *m) and returns the worst kept score: the
 * threshold a later item must beat. */
static float compact(ScoredItem *buf, int *m, int k)
{
    select_best(buf, *m, k);
    *m = k;
    float worst = buf[0].score;
    for (int j = 1; j < k; j++) worst = fminf(worst, buf[j].score);
    return worst;
}

enum { TOPK_BLOCK = 16, TOPK_STACK = 1024, TOPK_SAMPLE = 1024 };

/* A first threshold, from a sample of the row: the r-th best of every
 * stride-th score, r chosen so that about 4k items of the row are expected
 * above it. Only a guess: the caller checks that at least k items beat it and
 * rescans the row from -inf if not. -inf when the row is too short for it. */
static float sample_threshold(const float *scores, int32_t n, int k)
{
    int32_t stride = MAX(32, n / TOPK_SAMPLE), ns = n / stride;
    int r = (int)(((int64_t)4 * k + stride - 1) / stride);
    if (ns < 4 * r) return -INFINITY;
    float best[TOPK_SAMPLE]; /* the r best of the sample, descending (insertion: r is small) */
    int nb = 0;
    for (int32_t q = 0; q < ns; q++) {
        float v = scores[(int64_t)q * stride];
        if (!(v > -INFINITY) || (nb == r && !(v > best[r - 1]))) continue;
        int p = nb < r ? nb++ : r - 1;
        for (; p > 0 && best[p - 1] < v; p--) best[p] = best[p - 1];
        best[p] = v;
    }
    return nb == r ? best[r - 1] : -INFINITY;
}

/* Appends every item of scores[i0 .. n) beating thresh to buf (capacity cap,
 * plus TOPK_BLOCK slack), compacting to the best k whenever it fills. Blocks
 * of 16 are first tested with one vectorized compare-and-or; a block with a
 * candidate is appended branch-free (write always, advance if it beats). */
static int collect(const float *scores, int32_t n, int k, float thresh, ScoredItem *buf, int cap)
{
    int m = 0;
    for (int32_t i = 0; i < n; i += TOPK_BLOCK) {
        const float *b = scores + i;
        int len = n - i < TOPK_BLOCK ? (int)(n - i) : TOPK_BLOCK, any = 0;
        if (len == TOPK_BLOCK)
            for (int j = 0; j < TOPK_BLOCK; j++) any |= b[j] > thresh;
        if (len == TOPK_BLOCK && !any) continue;
        for (int j = 0; j < len; j++) {
            buf[m] = (ScoredItem){b[j], i + j};
            m += b[j] > thresh;
        }
        if (m >= cap) thresh = compact(buf, &m, k);
    }
    return m;
}

/* Candidates beating a threshold are collected in a buffer; when it is full,
 * a quickselect keeps the best k and raises the threshold to the k-th score.
 * The first threshold comes from a sample of the row, so on a typical row
 * only ~4k items are ever touched beyond the vectorized scan (a heap paid a
 * mispredicted sift-down for each of ~k ln(n/k) entering items, and scalar
 * compares for every block with one of them: 10x the scan). Items arrive in
 * increasing id order, so one tying the threshold has the higher id and loses:
 * only strictly greater scores enter (this also drops -inf, the excluded
 * items, and NaN). */
int topk_select(const float *scores, int32_t n, int k, ScoredItem *out)
{
    ScoredItem stack[TOPK_STACK + TOPK_BLOCK], *buf = stack;
    int cap = MAX(4 * k, TOPK_STACK);
    if (cap > TOPK_STACK) { /* large k (k > 256): an allocation per row is small beside its scan */
        buf = malloc((size_t)(cap + TOPK_BLOCK) * sizeof *buf);
        if (!buf) die("out of memory in topk_select (k = %d)", k);
    }
    float guess = sample_threshold(scores, n, k);
    int m = collect(scores, n, k, guess, buf, cap);
    if (m < k && guess > -INFINITY) m = collect(scores, n, k, -INFINITY, buf, cap); /* the guess was too high */
    if (m > k) compact(buf, &m, k);
    memcpy(out, buf, (size_t)m * sizeof *out);
    if (buf != stack) free(buf);
    topk_sort(out, m);
    return m;
}

int topk_merge(const ScoredItem *lists, int n_lists, int k, ScoredItem *work, ScoredItem *out)
{
    int n = 0;
    for (int l = 0; l < n_lists; l++)
        for (int j = 0; j < k; j++)
            if (lists[l * k + j].item >= 0) work[n++] = lists[l * k + j];
    topk_sort(work, n);
    int m = 0;
    for (int j = 0; j < n && m < k; j++) {
        int dup = 0;
        for (int q = 0; q < m && !dup; q++) dup = out[q].item == work[j].item;
        if (!dup) out[m++] = work[j];
    }
    return m;
}
