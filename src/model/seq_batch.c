#include "model/seq_batch.h"

#include <math.h>

void seqbatch_init(SeqBatch *b, int max_seqs, int max_len)
{
    memset(b, 0, sizeof *b);
    b->max_seqs = max_seqs;
    b->max_len = max_len;
    b->max_tokens = (int64_t)max_seqs * max_len;
    b->tok = xmalloc((size_t)b->max_tokens * sizeof *b->tok);
    b->tgt = xmalloc((size_t)b->max_tokens * sizeof *b->tgt);
    b->ptr = xmalloc(((size_t)max_seqs + 1) * sizeof *b->ptr);
    b->user = xmalloc((size_t)max_seqs * sizeof *b->user);
    b->scratch = xmalloc((size_t)max_len * sizeof *b->scratch);
    seqbatch_clear(b);
}

void seqbatch_free(SeqBatch *b)
{
    free(b->tok), free(b->tgt), free(b->ptr), free(b->user), free(b->scratch);
    memset(b, 0, sizeof *b);
}

/* Appends n tokens (targets -1) and closes the sequence. */
static void push_seq(SeqBatch *b, const int32_t *items, int32_t n, int32_t user)
{
    if (b->S == b->max_seqs) die("seqbatch: more than %d sequences", b->max_seqs);
    int32_t at = b->ptr[b->S];
    memcpy(b->tok + at, items, (size_t)n * sizeof *items);
    for (int32_t i = 0; i < n; i++) b->tgt[at + i] = -1;
    b->user[b->S] = user;
    b->ptr[++b->S] = at + n;
}

void seqbatch_add_causal(SeqBatch *b, const int32_t *seq, int32_t end, int32_t user)
{
    int32_t n = MIN(end - 1, b->max_len), first = end - 1 - n;
    if (n < 1) return;
    int32_t at = b->ptr[b->S];
    push_seq(b, seq + first, n, user);
    for (int32_t i = 0; i < n; i++) b->tgt[at + i] = seq[first + i + 1];
}

void seqbatch_add_history(SeqBatch *b, const int32_t *items, int32_t len)
{
    int32_t n = MIN(len, b->max_len);
    if (n == 0) {
        int32_t mask = SEQ_MASK;
        push_seq(b, &mask, 1, -1);
        return;
    }
    push_seq(b, items + (len - n), n, -1);
}

void seqbatch_add_view(SeqBatch *b, const int32_t *seq, int32_t end, const ModelConfig *cfg, Rng *rng)
{
    int32_t L = MIN(end, b->max_len);
    const int32_t *w = seq + (end - L);
    int32_t *v = b->scratch;
    memcpy(v, w, (size_t)L * sizeof *v);
    int kind = (int)rng_below(rng, 3);
    if (kind == 0) { /* crop */
        int32_t n = MAX(1, (int32_t)ceil(cfg->crop_ratio * L));
        int32_t start = (int32_t)rng_below(rng, (uint64_t)(L - n + 1));
        push_seq(b, v + start, n, -1);
        return;
    }
    if (kind == 1) { /* mask: a partial Fisher-Yates picks distinct positions */
        int32_t n = (int32_t)floor(cfg->mask_ratio * L);
        int32_t idx[4096];
        int32_t m = MIN(L, 4096);
        for (int32_t i = 0; i < m; i++) idx[i] = i;
        for (int32_t i = 0; i < n && i < m; i++) {
            int32_t j = i + (int32_t)rng_below(rng, (uint64_t)(m - i));
            int32_t t = idx[i];
            idx[i] = idx[j], idx[j] = t;
            v[idx[i]] = SEQ_MASK;
        }
    } else { /* reorder */
        int32_t n = (int32_t)floor(cfg->reorder_ratio * L);
        if (n >= 2) {
            int32_t start = (int32_t)rng_below(rng, (uint64_t)(L - n + 1));
            rng_shuffle_i32(rng, v + start, n);
        }
    }
    push_seq(b, v, L, -1);
}
