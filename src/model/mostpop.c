/* mostpop — recommends the most popular training items to everyone.
 * As a two-tower model: the user vector is [1], an item's vector is [its
 * training count], so the dot product ranks by popularity; ties go to the
 * lower item id (the evaluator's tie rule). The sanity baseline every model
 * must beat. */
#include "model/model.h"

static int mostpop_build(Model *m, Err *err)
{
    m->dim = 1;
    return 0;
}

static void mostpop_user_vectors(Model *m, const Hist *h, int n, float *out)
{
    for (int i = 0; i < n; i++) out[i] = 1.0f;
}

static void mostpop_item_vectors(Model *m, float *out)
{
    /* Counts below 2^24 are exact in float; beyond that ties may merge, which
     * no real catalogue reaches for a single item. */
    for (int32_t i = 0; i < m->cat->n_items; i++) out[i] = (float)m->cat->count[i];
}

const ModelClass model_mostpop = {
    .name = "mostpop",
    .summary = "most popular training items for everyone (sanity baseline)",
    .per_sequence = 0,
    .trainable = 0,
    .build = mostpop_build,
    .train_step = NULL,
    .user_vectors = mostpop_user_vectors,
    .item_vectors = mostpop_item_vectors,
    .destroy = NULL,
};
