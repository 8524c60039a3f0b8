/* model_fixture.h — a tiny in-memory dataset and model for model-level tests
 * (whole-model gradient checks, save/load, evaluation plumbing). */
#ifndef CLT_MODEL_FIXTURE_H
#define CLT_MODEL_FIXTURE_H

#include "data/catalog.h"
#include "data/split.h"
#include "model/model.h"
#include "train/config.h"

typedef struct ModelFixture {
    Dataset ds;
    Split split;
    Catalog cat;
    RunConfig rc;
    Model *m;
    Example *ex;
    int64_t n_ex;
    Rng rng_neg, rng_drop, rng_aug;
} ModelFixture;

/* users x ~len items over n_items items with 1-3 features each; loo split. */
void fixture_data(ModelFixture *f, int users, int len, int n_items, uint64_t seed);
/* Builds `model` with small sizes; extra: "key=value ..." overrides. */
int fixture_model(ModelFixture *f, const char *model, const char *extra);
/* One train_step on the first n examples with the RNG streams reset to a fixed
 * state (so repeated calls see the same negatives, dropout and views). */
double fixture_step(ModelFixture *f, int n);
void fixture_free(ModelFixture *f);
/* Finite-difference check of every parameter tensor of the model (up to
 * `probe` elements each) on a batch of n examples. Returns mismatches. */
int fixture_gradcheck(ModelFixture *f, int n, int probe);

#endif
