/* sasrec — SASRec (Kang & McAuley 2018) as a two-tower model: the
 * Transformer user tower of CL-EPIDTN with the personalized enhancement,
 * gates and contrastive losses switched off, and the item tower reduced to
 * the shared item embedding (as the original). `--loss bce --negatives 1`
 * trains it the way the original was trained; the default is the in-batch
 * sampled softmax with log-Q correction. */
#include "model/cl_epidtn.h"

static int sasrec_build(Model *m, Err *err) { return cl_epidtn_build_flags(m, 0, 0, 0, 0, err); }

const ModelClass model_sasrec = {
    .name = "sasrec",
    .summary = "Transformer over the behaviour sequence, shared item embeddings (Kang & McAuley 2018)",
    .per_sequence = 1,
    .trainable = 1,
    .defaults = "item-mlp=false dropout=0.5 emb-dropout=0.5 epochs=200 patience=10",
    .build = sasrec_build,
    .train_step = cl_epidtn_train_step,
    .user_vectors = cl_epidtn_user_vectors,
    .item_vectors = cl_epidtn_item_vectors,
    .destroy = cl_epidtn_destroy,
};
