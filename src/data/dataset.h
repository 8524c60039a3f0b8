/* dataset.h — interactions after loading: dense ids, one time-ordered
 * sequence per user (CSR), item side features, and the raw ids.
 *
 * Every loader turns its file format into an EventLog (raw string ids, a time
 * key, optional item features); dataset_build() then does the format-free part:
 * filtering, k-core, de-duplication, dense re-indexing and a stable sort by
 * (user, time, file order). Dense ids follow the raw ids' natural order
 * (numeric when every id is an integer, byte order otherwise), so the same
 * data always gets the same ids whatever order the file lists it in. */
#ifndef CLT_DATASET_H
#define CLT_DATASET_H

#include <stdint.h>

#include "util/common.h"
#include "util/strtab.h"

typedef struct Dataset {
    int32_t n_users, n_items, n_feats;
    int64_t n_inter;
    int64_t *user_ptr;   /* (n_users+1) sequence of user u is seq[user_ptr[u] .. user_ptr[u+1]) */
    int32_t *seq;        /* (n_inter) dense item ids, oldest first */
    int64_t *time;       /* (n_inter) time key of each event (timestamp, rank or position) */
    int32_t *feat_ptr;   /* (n_items+1) features of item i are feat[feat_ptr[i] .. feat_ptr[i+1]) */
    int32_t *feat;       /* dense feature ids (category, brand, attributes; one id space) */
    StrTab user_ids;     /* raw ids: index = dense id */
    StrTab item_ids;
    StrTab feat_ids;
} Dataset;

static inline int32_t ds_user_len(const Dataset *ds, int32_t u)
{
    return (int32_t)(ds->user_ptr[u + 1] - ds->user_ptr[u]);
}
static inline const int32_t *ds_user_seq(const Dataset *ds, int32_t u) { return ds->seq + ds->user_ptr[u]; }

void dataset_free(Dataset *ds);

/* ---- building ---------------------------------------------------------- */

/* Raw events as a loader reads them; ids are interned in order of appearance
 * and only remapped to their final dense order by dataset_build(). */
typedef struct EventLog {
    StrTab users, items, feats;
    I32Vec ev_user, ev_item; /* (n_events) interned indices */
    int64_t *ev_time;        /* (n_events) */
    int64_t n_events, cap_time;
    I32Vec if_item, if_feat; /* (item, feature) pairs, interned indices */
    I32Vec last_feat;        /* per interned item: last feature attached (+1), to drop repeats early */
} EventLog;

void evlog_init(EventLog *log);
void evlog_free(EventLog *log);
void evlog_add(EventLog *log, const char *user, size_t ulen, const char *item, size_t ilen, int64_t time);
/* Attaches a feature (e.g. a category) to an item; duplicates are removed at build. */
void evlog_add_item_feature(EventLog *log, const char *item, size_t ilen, const char *feat, size_t flen);
/* Same, for an item that may not be in the log (features files list the whole
 * catalogue): unknown items are ignored. Returns 1 if the item was known. */
int evlog_add_feature_if_known(EventLog *log, const char *item, size_t ilen, const char *feat, size_t flen);

typedef struct BuildOptions {
    int dedup;             /* keep only the first event of each (user, item) pair */
    int min_item_inter;    /* drop items with fewer events (0 = keep all) */
    int min_user_inter;    /* then drop users with fewer events */
    int kcore_iterative;   /* repeat both filters until stable (else one pass each, as ComiRec) */
} BuildOptions;

/* Consumes the log (freed on return, success or not). */
int dataset_build(EventLog *log, const BuildOptions *opt, Dataset *ds, Err *err);

/* Compares raw ids: integers numerically (and before non-integers), others bytewise. */
int raw_id_compare(const char *a, const char *b);

#endif
