/* synth.h — the synthetic interaction log (cltower's embedded default dataset).
 *
 * A generative model of sequential shopping/reading behaviour with the
 * structure the models in this project are meant to exploit: power-law item
 * popularity with a long tail, categories grouped into topics, items with
 * latent vectors, users with a long-term taste and a drifting short-term
 * interest, and item-to-item "successor" transitions. docs/SYNTH.md tells the
 * generative story and how the presets were sized.
 *
 * Everything is a deterministic function of the options (same seed, same
 * bytes): the catalogue and the successor graph have their own RNG streams and
 * every user has its own, so adding users never changes the earlier ones. */
#ifndef CLT_SYNTH_H
#define CLT_SYNTH_H

#include <stdint.h>

#include "util/common.h"
#include "util/options.h"

typedef struct SynthOptions {
    char preset[OPT_STR_MAX]; /* demo | books | tmall: the values the other fields started from */
    int seed;
    /* sizes */
    int users, items, cates, topics, dim;
    /* sequence lengths: min_len + floor(lognormal), capped at max_len */
    double mean_len, len_sigma;
    int min_len, max_len;
    /* popularity: item of rank r has weight (r + zipf_head * items)^-zipf; category k has size share k^-cate_zipf */
    double zipf, zipf_head, cate_zipf;
    /* item-to-item successors */
    int n_succ;
    double p_succ, p_cross;
    /* users: long-term taste and short-term drift */
    int fav_cates, user_topics, candidates;
    double p_drift, p_explore, recency, sharpness;
    int quiet; /* not a generator parameter: suppresses progress output */
} SynthOptions;

/* The option table for every generator parameter (offsets into SynthOptions;
 * its defaults are the demo preset). The CLI adds --out and --quiet. */
extern const OptSpec g_synth_specs[];
extern const int g_synth_nspecs;

/* Sets every field to the defaults of `preset` (NULL = "demo"). Returns -1 for
 * an unknown preset. */
int synth_defaults(SynthOptions *o, const char *preset, Err *err);
/* Checks the relations between options that one option's range cannot express. */
int synth_check(const SynthOptions *o, Err *err);

/* A generated log in memory. Ids are 0-based here; the file adds 1. */
typedef struct SynthData {
    int32_t n_users, n_items, n_cates;
    int64_t n_inter;
    int64_t *user_ptr;  /* (n_users+1) user u's events are [user_ptr[u], user_ptr[u+1]) */
    int32_t *item;      /* (n_inter) item of each event, oldest first within a user */
    int64_t *time;      /* (n_inter) strictly increasing within a user */
    uint8_t *succ_step; /* (n_inter) 1 if the event was drawn as a successor of the previous item */
    int32_t *item_cate; /* (n_items) category of each catalogue item */
} SynthData;

int synth_generate(const SynthOptions *o, SynthData *d, Err *err);
void synth_data_free(SynthData *d);

typedef struct SynthStats {
    int32_t users, items_used, cates_used;
    int64_t inter;
    double len_mean, len_median;
    int32_t len_min, len_max;
    double top1_share, top20_share;  /* interactions on the top 1% / 20% of used items */
    int32_t items_lt5;               /* used items with fewer than 5 interactions */
    int32_t items_unused;            /* catalogue items nobody interacted with */
    double same_cate_next, same_cate_chance; /* P(next item in the previous item's category), and by chance */
    double succ_share;               /* share of events drawn as successors */
} SynthStats;

void synth_stats(const SynthData *d, SynthStats *s);

/* Generates and writes out_dir/interactions.csv (user_id,item_id,cate_id,timestamp;
 * ids from 1) and out_dir/README.md, both atomically. Fills *stats if non-NULL. */
int synth_write(const SynthOptions *o, const char *out_dir, SynthStats *stats, Err *err);

#endif
