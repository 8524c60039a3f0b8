/* buckets.h — who and what a model serves well: metrics by slice.
 *
 * Item popularity buckets: items ranked by training count (ascending, ties by
 * id) and cut into NB equal-size groups; bucket 0 is the 20% least popular
 * items when NB = 5 (the long tail). For every bucket, Recall@k over the
 * evaluation targets that fall in it (for leave-one-out: HR@k of the users
 * whose target is in it).
 * Short-history users: the 20% of evaluated users with the shortest history
 * (ties by position in the eval set); HR@k and Recall@k over them. */
#ifndef CLT_BUCKETS_H
#define CLT_BUCKETS_H

#include "data/catalog.h"
#include "data/split.h"

enum { POP_BUCKETS = 5 };

typedef struct BucketReport {
    int k;
    double pop_recall[POP_BUCKETS];   /* Recall@k of targets in each popularity bucket */
    int64_t pop_targets[POP_BUCKETS]; /* targets in each bucket */
    double short_hr, short_recall;    /* over the 20% shortest-history users */
    int64_t short_users;
} BucketReport;

/* ranked: (es->n, kmax) best-first item ids from evaluate(). k <= kmax. */
void bucket_report(BucketReport *r, const Dataset *ds, const EvalSet *es, const Catalog *cat, const int32_t *ranked,
                   int kmax, int k);

#endif
