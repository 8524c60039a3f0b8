/* metrics.h — ranking metrics from a user's top-K list and target set.
 *
 *   HR@N      1 if any target is in the top N
 *   Recall@N  |hits in top N| / |targets|
 *   NDCG@N    sum over hits of 1/log2(rank+2), divided by the ideal DCG over
 *             min(N, |targets|) hits (the correct definition; ComiRec's master
 *             branch divided by the DCG of all targets, which it later fixed)
 * Targets are de-duplicated first. Averages are over evaluated users. */
#ifndef CLT_METRICS_H
#define CLT_METRICS_H

#include <stdint.h>

#include "util/options.h"

typedef struct Metrics {
    int nk;
    int ks[OPT_LIST_MAX];
    double hr[OPT_LIST_MAX], recall[OPT_LIST_MAX], ndcg[OPT_LIST_MAX];
    int64_t users;
} Metrics;

void metrics_init(Metrics *m, const IntList *ks);
/* Adds one user: ranked[0 .. n_ranked) best first; targets may repeat. */
void metrics_add_user(Metrics *m, const int32_t *ranked, int n_ranked, const int32_t *targets, int n_targets);
/* Merges sums (parallel reduction). */
void metrics_merge(Metrics *into, const Metrics *from);
/* Turns sums into means over users. */
void metrics_finish(Metrics *m);
/* Value by name, e.g. "NDCG@10"; returns -1 when the name is unknown. */
double metrics_get(const Metrics *m, const char *name);

#endif
