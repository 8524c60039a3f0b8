/* report.h — metrics as JSON members and as a terminal table. */
#ifndef CLT_REPORT_H
#define CLT_REPORT_H

#include <stdio.h>

#include "eval/buckets.h"
#include "eval/metrics.h"
#include "util/json.h"

/* "key": {"HR@10": .., "Recall@10": .., "NDCG@10": .., ..., "users": N} */
void report_metrics_json(JsonWriter *w, const char *key, const Metrics *m);
/* "key": [{"k": 20, "popularity_recall": [5 buckets, least popular first],
 *          "popularity_targets": [...], "short_history_hr": .., ...}, ...] */
void report_buckets_json(JsonWriter *w, const char *key, const BucketReport *b, int n);
/* Rows per split, columns HR/Recall/NDCG at each cut-off. names/ms: n splits. */
void report_table(FILE *f, const char *const *names, const Metrics *const *ms, int n);

#endif
