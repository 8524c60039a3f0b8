#include "eval/topk.h"

#include "util/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif


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

enum { TOPK_STACK = 1024, TOPK_SAMPLE = 1024, TOPK_ROW_SAMPLE = 4096 };

/* The r-th best of the ns sampled scores (sample[0], sample[step], ...), each
 * standing for `stride` items, r chosen so that about 4k items of the row are
 * expected above it, plus `margin`. -inf when the sample is too small. */
static float sample_guess(const float *sample, int64_t step, int32_t ns, int32_t stride, int k, int margin)
{
    int r = (int)(((int64_t)4 * k + stride - 1) / stride) + margin;
    if (ns < 4 * r || r > TOPK_SAMPLE) return -INFINITY;
    float best[TOPK_SAMPLE]; /* the r best of the sample, descending (insertion: r is small) */
    int nb = 0;
    for (int32_t q = 0; q < ns; q++) {
        float v = sample[(int64_t)q * step];
        if (!(v > -INFINITY) || (nb == r && !(v > best[r - 1]))) continue;
        int p = nb < r ? nb++ : r - 1;
        for (; p > 0 && best[p - 1] < v; p--) best[p] = best[p - 1];
        best[p] = v;
    }
    return nb == r ? best[r - 1] : -INFINITY;
}

/* A first threshold from a slice's own strided sample. Only a guess: the
 * caller checks that at least k items beat it. */
static float sample_threshold(const float *scores, int32_t n, int k)
{
    int32_t stride = MAX(32, n / TOPK_SAMPLE);
    return sample_guess(scores, stride, n / stride, stride, k, 0);
}

/* A row-wide guess that fails costs a second pass over the row, recomputing
 * its scores (eval/exact.c), not a rescan of a slice in cache; so a denser
 * sample and 2 ranks of margin: the guess fails when r samples fall among the
 * row's top k, Poisson(k / stride); at 314k items and k = 50 that was 15% of
 * rows for the best of 1024 samples (r = 1), and is 0.04% for the 5th best of
 * 4096 (~380 candidates instead of ~300). */
int32_t topk_sample_stride(int32_t n) { return MAX(32, n / TOPK_ROW_SAMPLE); }

float topk_sample_guess(const float *sample, int32_t ns, int32_t stride, int k)
{
    return sample_guess(sample, 1, ns, stride, k, 2);
}

/* Bit j set iff b[j] > t, for j < TOPK_BLOCK (NaN never is, as with `>`).
 * In intrinsics because gcc 12 leaves the plain loop scalar: a compare, a
 * setcc and an or per item, ~2.5 cycles, half the cost of the item's score at
 * dim 64; one AVX-512 compare tests all 16. */
static inline unsigned above_mask(const float *b, float t)
{
#if defined(__AVX512F__)
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(b), _mm512_set1_ps(t), _CMP_GT_OQ);
#elif defined(__AVX__)
    __m256 v = _mm256_set1_ps(t);
    return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(b), v, _CMP_GT_OQ)) |
           (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(b + 8), v, _CMP_GT_OQ)) << 8;
#elif defined(__SSE2__)
    __m128 v = _mm_set1_ps(t);
    unsigned mask = 0;
    for (int q = 0; q < 4; q++) mask |= (unsigned)_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(b + 4 * q), v)) << 4 * q;
    return mask;
#else
    unsigned mask = 0;
    for (int j = 0; j < TOPK_BLOCK; j++) mask |= (unsigned)(b[j] > t) << j;
    return mask;
#endif
}

/* Appends the items of block b (ids id ..) in mask to buf[m ..]; returns the
 * new m. Bit by bit: a block rarely holds more than one candidate, so this
 * beats writing all 16 branch-free. */
static inline int append(ScoredItem *buf, int m, const float *b, unsigned mask, int32_t id)
{
    for (; mask; mask &= mask - 1) {
        int j = __builtin_ctz(mask);
        buf[m++] = (ScoredItem){b[j], id + j};
    }
    return m;
}

/* Appends every item of scores[0 .. n) (ids first ..) beating r->thresh to
 * the buffer, compacting to the best k whenever it reaches cap (which raises
 * the threshold). Blocks of 16 are tested with one vector compare; a block
 * with a candidate is the rare case. m and thresh live in locals: stores
 * through buf could alias the struct's fields and keep them out of
 * registers. */
static void collect(TopkRun *r, const float *scores, int32_t n, int32_t first)
{
    ScoredItem *buf = r->buf;
    int m = r->m, cap = r->cap;
    float thresh = r->thresh;
    int32_t i = 0;
    for (; i + TOPK_BLOCK <= n; i += TOPK_BLOCK) {
        unsigned mask = above_mask(scores + i, thresh);
        if (__builtin_expect(mask == 0, 1)) continue;
        m = append(buf, m, scores + i, mask, first + i);
        if (m >= cap) thresh = compact(buf, &m, r->k);
    }
    unsigned tail = 0; /* the last n - i < 16 items */
    for (int j = 0; j < n - i; j++) tail |= (unsigned)(scores[i + j] > thresh) << j;
    m = append(buf, m, scores + i, tail, first + i);
    if (m >= cap) thresh = compact(buf, &m, r->k);
    r->m = m, r->thresh = thresh;
}

void topk_run_init(TopkRun *r, ScoredItem *buf, int cap, int k)
{
    *r = (TopkRun){buf, 0, k, cap, -INFINITY, 0};
}

void topk_run_guess(TopkRun *r, float guess)
{
    r->thresh = guess;
    r->guessed = guess > -INFINITY;
}

/* Candidates beating a threshold are collected in a buffer; when it is full,
 * a quickselect keeps the best k and raises the threshold to the k-th score.
 * The first threshold is guessed from a sample of the whole row
 * (topk_run_guess) or else of the first slice holding a finite score, so on a
 * typical row only ~4k items are ever touched beyond the vectorized scan (a
 * heap paid a mispredicted sift-down for each of ~k ln(n/k) entering items,
 * and scalar compares for every block with one of them: 10x the scan). Only a
 * buffer holding k items above the threshold proves that what it skipped is
 * out of the top k: a slice's guess that fewer than k of its items beat is
 * dropped and the slice rescanned from -inf at once, a row's is reported by
 * topk_run_finish. Items arrive in increasing id order, so one tying the
 * threshold has the higher id and loses: only strictly greater scores enter
 * (this also drops -inf, the excluded items, and NaN). */
void topk_run_add(TopkRun *r, const float *scores, int32_t n, int32_t first)
{
    if (r->m == 0 && r->thresh == -INFINITY) { /* nothing held yet: guess */
        r->thresh = sample_threshold(scores, n, r->k);
        if (r->thresh > -INFINITY) {
            collect(r, scores, n, first);
            if (r->m >= r->k) return;
            r->m = 0, r->thresh = -INFINITY; /* the guess was too high */
        }
    }
    collect(r, scores, n, first);
}

int topk_run_finish(TopkRun *r, ScoredItem *out)
{
    if (r->guessed && r->m < r->k) return -1;
    if (r->m > r->k) compact(r->buf, &r->m, r->k);
    memcpy(out, r->buf, (size_t)r->m * sizeof *out);
    topk_sort(out, r->m);
    return r->m;
}

int topk_select(const float *scores, int32_t n, int k, ScoredItem *out)
{
    ScoredItem stack[TOPK_STACK + TOPK_BLOCK], *buf = stack;
    int cap = MAX(4 * k, TOPK_STACK);
    if (cap > TOPK_STACK) /* large k (k > 256): an allocation per row is small beside its scan */
        buf = xmalloc((size_t)(cap + TOPK_BLOCK) * sizeof *buf);
    TopkRun r;
    topk_run_init(&r, buf, cap, k);
    topk_run_add(&r, scores, n, 0);
    int m = topk_run_finish(&r, out);
    if (buf != stack) free(buf);
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
