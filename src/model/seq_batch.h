/* seq_batch.h — packed token batches for the sequence models.
 *
 * Sequences are packed back to back (no padding): sequence s is tokens
 * ptr[s] .. ptr[s+1]. A causal training sequence carries, per token, the next
 * item as its target; a history (inference) or an augmented view carries no
 * targets. Views are CL4SRec's (Xie et al. 2022) augmentations of a sequence:
 *   crop     a random contiguous run of ceil(crop_ratio * L) items
 *   mask     floor(mask_ratio * L) random items replaced by the [mask] token
 *   reorder  a random run of floor(reorder_ratio * L) items shuffled
 * one of the three chosen uniformly per view. */
#ifndef CLT_SEQ_BATCH_H
#define CLT_SEQ_BATCH_H

#include "model/model.h"

enum { SEQ_MASK = -2 };   /* token id of a masked position */

typedef struct SeqBatch {
    int32_t *tok;     /* (max_tokens) item ids, or SEQ_MASK */
    int32_t *tgt;     /* (max_tokens) next item (training target), -1 if none */
    int32_t *ptr;     /* (max_seqs+1) */
    int32_t *user;    /* (max_seqs) dense user id, -1 for histories */
    int S, max_seqs, max_len;
    int64_t max_tokens;
    int32_t *scratch; /* (max_len) for augmentations */
} SeqBatch;

void seqbatch_init(SeqBatch *b, int max_seqs, int max_len);
void seqbatch_free(SeqBatch *b);
static inline void seqbatch_clear(SeqBatch *b) { b->S = 0, b->ptr[0] = 0; }
static inline int64_t seqbatch_tokens(const SeqBatch *b) { return b->ptr[b->S]; }
/* Training: input = the last max_len items of seq[0 .. end-1), targets = the item after each. */
void seqbatch_add_causal(SeqBatch *b, const int32_t *seq, int32_t end, int32_t user);
/* Inference: the last max_len items of a history; an empty history becomes one [mask] token. */
void seqbatch_add_history(SeqBatch *b, const int32_t *items, int32_t len);
/* An augmented view of the last max_len items of seq[0 .. end). */
void seqbatch_add_view(SeqBatch *b, const int32_t *seq, int32_t end, const ModelConfig *cfg, Rng *rng);

#endif
