#include "eval/topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* "a ranks before b" */
static inline int better(ScoredItem a, ScoredItem b)
{
    return a.score > b.score || (a.score == b.score && a.item < b.item);
}

/* Min-heap on rank: the root is the worst of the kept items. */
static void sift_down(ScoredItem *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(h[w], h[l])) w = l;
        if (r < n && better(h[w], h[r])) w = r;
        if (w == i) return;
        ScoredItem t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up(ScoredItem *h, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!better(h[p], h[i])) return;
        ScoredItem t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int cmp_rank(const void *pa, const void *pb)
{
    ScoredItem a = *(const ScoredItem *)pa, b = *(const ScoredItem *)pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

void topk_sort(ScoredItem *a, int n) { qsort(a, (size_t)n, sizeof *a, cmp_rank); }

int topk_select(const float *scores, int32_t n, int k, ScoredItem *out)
{
    int size = 0;
    int32_t i = 0;
    /* Fill phase: the first k scorable items. */
    for (; i < n && size < k; i++) {
        float s = scores[i];
        if (s == -INFINITY || s != s) continue; /* excluded (or NaN) */
        out[size] = (ScoredItem){s, i};
        sift_up(out, size++);
    }
    /* Steady state. Items arrive in increasing id order, so an item tying the
     * worst kept score has the higher id and loses: only strictly greater
     * scores enter. Blocks of 64 are first tested with one vectorized
     * compare-and-or; once the heap is warm almost every block is skipped. */
    float thresh = size == k ? out[0].score : INFINITY;
    for (; i < n; i += 64) {
        int32_t end = MIN(n, i + 64);
        int any = 0;
        for (int32_t j = i; j < end; j++) any |= scores[j] > thresh;
        if (!any) continue;
        for (int32_t j = i; j < end; j++) {
            float s = scores[j];
            if (!(s > thresh)) continue;
            out[0] = (ScoredItem){s, j};
            sift_down(out, size, 0);
            thresh = out[0].score;
        }
    }
    topk_sort(out, size);
    return size;
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
