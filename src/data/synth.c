/* synth.c — the synthetic dataset generator (see synth.h and docs/SYNTH.md).
 *
 * Layout: option table and presets; alias tables (O(1) weighted draws); the
 * catalogue (categories, topics, popularity, latent vectors); the successor
 * graph; user sequences; statistics; the two output files. */
#include "data/synth.h"

#include <math.h>
#include <stddef.h>

#include "util/fileio.h"
#include "util/progress.h"
#include "util/rng.h"

/* Bounds of the per-user and per-draw arrays (the option ranges enforce them). */
enum { SYNTH_MAX_DIM = 256, SYNTH_MAX_FAV = 64, SYNTH_MAX_TOPICS = 64, SYNTH_MAX_CAND = 64, SYNTH_MAX_SUCC = 64 };

/* RNG streams: the catalogue uses RNG_SYNTH itself; the others are derived
 * purposes so that, e.g., changing --successors leaves the catalogue alone and
 * user u's sequence depends only on the catalogue and stream USER + u. */
enum { STREAM_GRAPH = 100, STREAM_USER = 1000 };

/* Latent geometry (unit vectors in R^dim): a category is its topic's direction
 * plus noise of relative size CATE_SPREAD (cosine to the topic ~0.8), an item
 * its category's plus ITEM_SPREAD (cosine ~0.85). */
#define CATE_SPREAD 0.75
#define ITEM_SPREAD 0.6

/* Timestamps: users start uniformly in [T_START, T_START + T_SPAN); gaps are
 * log-uniform between 1 s and GAP_MAX (14 days; mean about one day). */
#define T_START 1400000000LL
#define T_SPAN (3LL * 365 * 86400)
#define GAP_MAX (14.0 * 86400)

/* Successor candidates examined per successor slot (the S most similar of
 * S * SUCC_POOL popularity-drawn candidates are kept). */
enum { SUCC_POOL = 4 };

#define O(f) offsetof(SynthOptions, f)
const OptSpec g_synth_specs[] = {
    {"preset", OPT_STR, O(preset), "demo", "start from this preset; explicit options override it", 0, 0, "demo|books|tmall"},
    {"seed", OPT_INT, O(seed), "42", "random seed (same seed and options = byte-identical output)", 0, 2147483647, NULL},
    {"users", OPT_INT, O(users), "6000", "number of users", 1, 50000000, NULL},
    {"items", OPT_INT, O(items), "3000", "catalogue size (items nobody picks do not appear in the file)", 10, 50000000, NULL},
    {"cates", OPT_INT, O(cates), "16", "number of categories (each item has one)", 1, 10000000, NULL},
    {"topics", OPT_INT, O(topics), "4", "number of latent topics grouping the categories", 1, 100000, NULL},
    {"dim", OPT_INT, O(dim), "16", "dimension of the latent item/category/topic vectors", 2, SYNTH_MAX_DIM, NULL},
    {"mean-len", OPT_FLOAT, O(mean_len), "15", "mean sequence length", 1, 1e6, NULL},
    {"min-len", OPT_INT, O(min_len), "5", "minimum sequence length (5 = every user survives 5-core filtering)", 1, 1000000, NULL},
    {"max-len", OPT_INT, O(max_len), "1000", "maximum sequence length (also capped at half the catalogue)", 1, 10000000, NULL},
    {"len-sigma", OPT_FLOAT, O(len_sigma), "1.2", "spread of the lognormal length tail (0 = all the same length)", 0, 4, NULL},
    {"zipf", OPT_FLOAT, O(zipf), "1.3", "item popularity exponent a: weight of rank r is (r + head * items)^-a", 0, 4, NULL},
    {"zipf-head", OPT_FLOAT, O(zipf_head), "0.033", "share of the catalogue over which the popularity head is flattened", 0, 10, NULL},
    {"cate-zipf", OPT_FLOAT, O(cate_zipf), "0.5", "category size exponent: category k gets a share ~ k^-x of the items", 0, 4, NULL},
    {"successors", OPT_INT, O(n_succ), "4", "successor items per item (sparse item-to-item transitions)", 1, SYNTH_MAX_SUCC, NULL},
    {"p-succ", OPT_FLOAT, O(p_succ), "0.1", "probability that the next item is a successor of the last one", 0, 1, NULL},
    {"p-cross", OPT_FLOAT, O(p_cross), "0.3", "share of successor candidates from other categories of the same topic", 0, 1, NULL},
    {"fav-cates", OPT_INT, O(fav_cates), "5", "favourite categories per user (long-term taste; weights 1, 1/2, 1/3, ...)", 1, SYNTH_MAX_FAV, NULL},
    {"user-topics", OPT_INT, O(user_topics), "2", "a user's favourites come from 1..N topics", 1, SYNTH_MAX_TOPICS, NULL},
    {"p-drift", OPT_FLOAT, O(p_drift), "0.55", "probability per step that the short-term interest is redrawn (favourite or exploration)", 0, 1, NULL},
    {"p-explore", OPT_FLOAT, O(p_explore), "0.6", "share of interest moves to a random (popularity-weighted) category, not a favourite", 0, 1, NULL},
    {"candidates", OPT_INT, O(candidates), "4", "popularity-drawn candidates per in-category pick, chosen by taste", 1, SYNTH_MAX_CAND, NULL},
    {"sharpness", OPT_FLOAT, O(sharpness), "2", "how strongly the taste vector picks among candidates (softmax scale)", 0, 100, NULL},
    {"recency", OPT_FLOAT, O(recency), "0.5", "decay of the recent-items part of the taste vector per step", 0, 0.99, NULL},
};
#undef O
const int g_synth_nspecs = (int)ARRAY_LEN(g_synth_specs);

/* Presets as option settings over the table defaults (= demo). Sizes and
 * shapes are justified in docs/SYNTH.md. */
typedef struct {
    const char *name, *settings;
} SynthPreset;

static const SynthPreset g_presets[] = {
    {"demo", ""},
    {"books", "users=459133 items=313966 cates=1600 topics=400 mean-len=19.4 len-sigma=1.5"},
    {"tmall", "users=424170 items=1090390 cates=1658 topics=400 mean-len=80 len-sigma=0.8 zipf-head=0.02"},
};

static int apply_settings(SynthOptions *o, const char *settings, Err *err)
{
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof buf, "%s", settings);
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return err_set(err, "bad preset setting '%s'", tok);
        *eq = '\0';
        if (opt_set(g_synth_specs, g_synth_nspecs, o, tok, eq + 1, err) < 0) return -1;
    }
    return 0;
}

int synth_defaults(SynthOptions *o, const char *preset, Err *err)
{
    memset(o, 0, sizeof *o);
    opt_defaults(g_synth_specs, g_synth_nspecs, o);
    if (!preset) preset = "demo";
    for (size_t i = 0; i < ARRAY_LEN(g_presets); i++) {
        if (strcmp(g_presets[i].name, preset) != 0) continue;
        snprintf(o->preset, sizeof o->preset, "%s", preset);
        return apply_settings(o, g_presets[i].settings, err);
    }
    return err_set(err, "unknown preset '%s' (expected demo, books or tmall)", preset);
}

int synth_check(const SynthOptions *o, Err *err)
{
    if (o->cates > o->items) return err_set(err, "--cates (%d) must not exceed --items (%d)", o->cates, o->items);
    if (o->topics > o->cates) return err_set(err, "--topics (%d) must not exceed --cates (%d)", o->topics, o->cates);
    if (o->min_len > o->max_len) return err_set(err, "--min-len (%d) exceeds --max-len (%d)", o->min_len, o->max_len);
    if (o->min_len > o->items / 2)
        return err_set(err, "--min-len (%d) exceeds half the catalogue (%d items): sequences never repeat an item", o->min_len, o->items);
    int cap = MIN(o->max_len, o->items / 2);
    if (o->mean_len < o->min_len || o->mean_len > cap)
        return err_set(err, "--mean-len (%g) must lie between --min-len (%d) and the length cap (%d)", o->mean_len, o->min_len, cap);
    return 0;
}

/* ---- alias tables -------------------------------------------------------- */

/* Walker/Vose alias method: after O(n) setup a weighted draw is one uniform
 * index and one coin. p and stack are scratch of size n. */
static void alias_build(const double *w, int32_t n, float *prob, int32_t *alias, double *p, int32_t *stack)
{
    double sum = 0;
    for (int32_t i = 0; i < n; i++) sum += w[i];
    int32_t ns = 0, nl = n; /* small indices grow from the front of stack, large from the back */
    for (int32_t i = 0; i < n; i++) {
        p[i] = sum > 0 ? w[i] * n / sum : 1.0;
        if (p[i] < 1) stack[ns++] = i;
        else stack[--nl] = i;
    }
    while (ns > 0 && nl < n) {
        int32_t s = stack[--ns], l = stack[nl];
        prob[s] = (float)p[s];
        alias[s] = l;
        p[l] -= 1.0 - p[s];
        if (p[l] < 1) {
            nl++;
            stack[ns++] = l;
        }
    }
    /* Leftovers are 1 up to rounding. */
    while (ns > 0) {
        int32_t s = stack[--ns];
        prob[s] = 1, alias[s] = s;
    }
    while (nl < n) {
        int32_t l = stack[nl++];
        prob[l] = 1, alias[l] = l;
    }
}

/* Members partitioned into groups, with one alias table per group (items of
 * each category, categories of each topic; one group = a global table). */
typedef struct Groups {
    int32_t n;        /* groups */
    int32_t *ptr;     /* (n+1) group g holds member[ptr[g] .. ptr[g+1]) */
    int32_t *member;  /* (m) member ids, ascending within a group */
    float *prob;      /* (m) alias tables over local indices */
    int32_t *alias;   /* (m) */
} Groups;

/* group_of NULL = everything in group 0. */
static void groups_build(Groups *g, int32_t n, const int32_t *group_of, int32_t m, const double *w)
{
    g->n = n;
    g->ptr = xcalloc((size_t)n + 1, sizeof *g->ptr);
    g->member = xmalloc((size_t)m * sizeof *g->member);
    g->prob = xmalloc((size_t)m * sizeof *g->prob);
    g->alias = xmalloc((size_t)m * sizeof *g->alias);
    for (int32_t i = 0; i < m; i++) g->ptr[(group_of ? group_of[i] : 0) + 1]++;
    for (int32_t k = 0; k < n; k++) g->ptr[k + 1] += g->ptr[k];
    int32_t *fill = xmalloc((size_t)n * sizeof *fill);
    memcpy(fill, g->ptr, (size_t)n * sizeof *fill);
    for (int32_t i = 0; i < m; i++) g->member[fill[group_of ? group_of[i] : 0]++] = i;
    free(fill);
    double *gw = xmalloc((size_t)m * sizeof *gw), *p = xmalloc((size_t)m * sizeof *p);
    int32_t *stack = xmalloc((size_t)m * sizeof *stack);
    for (int32_t k = 0; k < n; k++) {
        int32_t b = g->ptr[k], len = g->ptr[k + 1] - b;
        for (int32_t j = 0; j < len; j++) gw[j] = w[g->member[b + j]];
        alias_build(gw, len, g->prob + b, g->alias + b, p, stack);
    }
    free(gw), free(p), free(stack);
}

/* A weighted draw from group k (which must not be empty). */
static int32_t groups_draw(const Groups *g, int32_t k, Rng *r)
{
    int32_t b = g->ptr[k];
    int32_t i = (int32_t)rng_below(r, (uint64_t)(g->ptr[k + 1] - b));
    if (rng_float(r) >= g->prob[b + i]) i = g->alias[b + i];
    return g->member[b + i];
}

static void groups_free(Groups *g)
{
    free(g->ptr), free(g->member), free(g->prob), free(g->alias);
    memset(g, 0, sizeof *g);
}

/* ---- catalogue ------------------------------------------------------------ */

typedef struct Catalog {
    int32_t n_items, n_cates, n_topics, dim, n_succ;
    int32_t *item_cate;   /* (I) */
    double *item_w;       /* (I) popularity weight */
    double *cate_w;       /* (C) popularity mass of each category */
    int32_t *cate_topic;  /* (C) */
    float *item_vec;      /* (I, dim) unit vectors */
    float *cate_vec;      /* (C, dim) */
    Groups by_cate;       /* items of each category, by popularity */
    Groups by_topic;      /* categories of each topic, by mass */
    Groups all_cates;     /* every category, by mass */
    Groups all_topics;    /* every topic, by mass */
    Groups all_items;     /* every item, by popularity */
    int32_t *succ;        /* (I, n_succ) successors, most similar first; -1 = none */
} Catalog;

static void normalize(float *v, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.f;
    for (int i = 0; i < d; i++) v[i] *= inv;
}

static float dotf(const float *a, const float *b, int d)
{
    float s = 0;
    for (int i = 0; i < d; i++) s += a[i] * b[i];
    return s;
}

/* out = unit(base + spread * g / sqrt(d)), g standard normal (base NULL = 0). */
static void noisy_direction(float *out, const float *base, double spread, int d, Rng *r)
{
    float scale = (float)(spread / sqrt((double)d));
    for (int i = 0; i < d; i++) out[i] = (base ? base[i] : 0.f) + scale * rng_normal(r);
    normalize(out, d);
}

/* Every category gets at least one item, the rest follow the size shares;
 * the first topics categories found one topic each, the rest join at random. */
static void assign_categories(Catalog *c, const SynthOptions *o, Rng *r)
{
    double *share = xmalloc((size_t)c->n_cates * sizeof *share);
    for (int32_t k = 0; k < c->n_cates; k++) share[k] = pow(k + 1.0, -o->cate_zipf);
    Groups shares;
    groups_build(&shares, 1, NULL, c->n_cates, share);
    for (int32_t i = 0; i < c->n_items; i++) c->item_cate[i] = i < c->n_cates ? i : groups_draw(&shares, 0, r);
    rng_shuffle_i32(r, c->item_cate, c->n_items);
    groups_free(&shares);
    free(share);
    for (int32_t k = 0; k < c->n_cates; k++)
        c->cate_topic[k] = k < c->n_topics ? k : (int32_t)rng_below(r, (uint64_t)c->n_topics);
}

/* Popularity ranks are a random permutation, so ids say nothing about popularity. */
static void assign_popularity(Catalog *c, const SynthOptions *o, Rng *r)
{
    double offset = o->zipf_head * c->n_items; /* Zipf-Mandelbrot offset, relative so the shape is size-free */
    int32_t *rank = xmalloc((size_t)c->n_items * sizeof *rank);
    for (int32_t i = 0; i < c->n_items; i++) rank[i] = i;
    rng_shuffle_i32(r, rank, c->n_items);
    for (int32_t i = 0; i < c->n_items; i++) c->item_w[i] = pow(rank[i] + 1.0 + offset, -o->zipf);
    free(rank);
    for (int32_t i = 0; i < c->n_items; i++) c->cate_w[c->item_cate[i]] += c->item_w[i];
}

static void assign_vectors(Catalog *c, Rng *r)
{
    int d = c->dim;
    float *topic_vec = xmalloc((size_t)c->n_topics * d * sizeof *topic_vec);
    for (int32_t t = 0; t < c->n_topics; t++) noisy_direction(topic_vec + (size_t)t * d, NULL, 1.0, d, r);
    for (int32_t k = 0; k < c->n_cates; k++)
        noisy_direction(c->cate_vec + (size_t)k * d, topic_vec + (size_t)c->cate_topic[k] * d, CATE_SPREAD, d, r);
    for (int32_t i = 0; i < c->n_items; i++)
        noisy_direction(c->item_vec + (size_t)i * d, c->cate_vec + (size_t)c->item_cate[i] * d, ITEM_SPREAD, d, r);
    free(topic_vec);
}

static void build_samplers(Catalog *c)
{
    groups_build(&c->by_cate, c->n_cates, c->item_cate, c->n_items, c->item_w);
    groups_build(&c->by_topic, c->n_topics, c->cate_topic, c->n_cates, c->cate_w);
    groups_build(&c->all_cates, 1, NULL, c->n_cates, c->cate_w);
    groups_build(&c->all_items, 1, NULL, c->n_items, c->item_w);
    double *topic_w = xcalloc((size_t)c->n_topics, sizeof *topic_w);
    for (int32_t k = 0; k < c->n_cates; k++) topic_w[c->cate_topic[k]] += c->cate_w[k];
    groups_build(&c->all_topics, 1, NULL, c->n_topics, topic_w);
    free(topic_w);
}

/* Successors of item i: the n_succ most similar (latent dot product) of a pool
 * of popularity-drawn candidates from i's category or, with p_cross, another
 * category of its topic. Similar-and-popular neighbours are what users of real
 * shops follow ("also bought"), and a dot-product model can represent them. */
static void build_successors(Catalog *c, const SynthOptions *o, Rng *r)
{
    int S = c->n_succ, d = c->dim;
    float score[SYNTH_MAX_SUCC];
    for (int32_t i = 0; i < c->n_items; i++) {
        int32_t *out = c->succ + (size_t)i * S;
        const float *vi = c->item_vec + (size_t)i * d;
        int n = 0;
        int32_t topic = c->cate_topic[c->item_cate[i]];
        for (int t = 0; t < S * SUCC_POOL; t++) {
            int32_t k = rng_double(r) < o->p_cross ? groups_draw(&c->by_topic, topic, r) : c->item_cate[i];
            int32_t j = groups_draw(&c->by_cate, k, r);
            int dup = j == i;
            for (int m = 0; m < n && !dup; m++) dup = out[m] == j;
            if (dup) continue;
            float s = dotf(vi, c->item_vec + (size_t)j * d, d);
            if (n == S && s <= score[S - 1]) continue;
            int pos = n < S ? n++ : S - 1; /* insertion into the sorted top-S list */
            while (pos > 0 && score[pos - 1] < s) {
                score[pos] = score[pos - 1], out[pos] = out[pos - 1];
                pos--;
            }
            score[pos] = s, out[pos] = j;
        }
        for (int m = n; m < S; m++) out[m] = -1;
    }
}

static void catalog_build(Catalog *c, const SynthOptions *o)
{
    memset(c, 0, sizeof *c);
    c->n_items = o->items, c->n_cates = o->cates, c->n_topics = o->topics, c->dim = o->dim, c->n_succ = o->n_succ;
    c->item_cate = xmalloc((size_t)c->n_items * sizeof *c->item_cate);
    c->item_w = xmalloc((size_t)c->n_items * sizeof *c->item_w);
    c->cate_w = xcalloc((size_t)c->n_cates, sizeof *c->cate_w);
    c->cate_topic = xmalloc((size_t)c->n_cates * sizeof *c->cate_topic);
    c->item_vec = xmalloc((size_t)c->n_items * c->dim * sizeof *c->item_vec);
    c->cate_vec = xmalloc((size_t)c->n_cates * c->dim * sizeof *c->cate_vec);
    c->succ = xmalloc((size_t)c->n_items * c->n_succ * sizeof *c->succ);
    Rng r;
    rng_seed(&r, (uint64_t)o->seed, RNG_SYNTH);
    assign_categories(c, o, &r);
    assign_popularity(c, o, &r);
    assign_vectors(c, &r);
    build_samplers(c);
    rng_seed(&r, (uint64_t)o->seed, STREAM_GRAPH);
    build_successors(c, o, &r);
}

static void catalog_free(Catalog *c)
{
    free(c->item_cate), free(c->item_w), free(c->cate_w), free(c->cate_topic);
    free(c->item_vec), free(c->cate_vec), free(c->succ);
    groups_free(&c->by_cate), groups_free(&c->by_topic), groups_free(&c->all_cates);
    groups_free(&c->all_topics), groups_free(&c->all_items);
}

/* ---- sequence lengths ------------------------------------------------------ */

/* E[min(floor(exp(mu + sigma z)), cap)] for z ~ N(0,1), by quadrature. */
static double expected_extra(double mu, double sigma, double cap)
{
    enum { NQ = 4001 };
    const double lo = -8, hi = 8, h = (hi - lo) / (NQ - 1);
    double sum = 0, wsum = 0;
    for (int k = 0; k < NQ; k++) {
        double z = lo + k * h, w = exp(-0.5 * z * z);
        sum += w * fmin(floor(exp(mu + sigma * z)), cap);
        wsum += w;
    }
    return sum / wsum;
}

/* Length = min_len + floor(lognormal), capped. mu is solved for so that the
 * mean length is --mean-len despite the floor and the cap. */
static double solve_len_mu(const SynthOptions *o, int32_t cap)
{
    double target = o->mean_len - o->min_len, lo = -30, hi = 30;
    for (int it = 0; it < 100; it++) {
        double mid = 0.5 * (lo + hi);
        if (expected_extra(mid, o->len_sigma, cap - o->min_len) < target) lo = mid;
        else hi = mid;
    }
    return hi; /* the side that reaches the target (matters when len_sigma = 0) */
}

/* ---- users ---------------------------------------------------------------- */

typedef struct Gen {
    const SynthOptions *o;
    Catalog cat;
    int32_t len_cap;
    double len_mu;
    int32_t *seen_by; /* (I) 1 + last user who took the item: an O(1) no-repeat check that never needs clearing */
} Gen;

typedef struct User {
    int32_t stamp;                /* 1 + user index */
    int n_fav;
    int32_t fav[SYNTH_MAX_FAV];   /* favourite categories (long-term taste) */
    double fav_cdf[SYNTH_MAX_FAV];
    float taste[SYNTH_MAX_DIM];   /* long-term taste vector */
    float recent[SYNTH_MAX_DIM];  /* decayed sum of recent item vectors */
    int32_t cate, last;           /* current interest, last item (-1 before the first) */
} User;

static int32_t draw_length(const Gen *g, Rng *r)
{
    double extra = floor(exp(g->len_mu + g->o->len_sigma * rng_normal(r)));
    return g->o->min_len + (int32_t)fmin(extra, (double)(g->len_cap - g->o->min_len));
}

static int32_t draw_favourite(const User *u, Rng *r)
{
    double x = rng_double(r) * u->fav_cdf[u->n_fav - 1];
    int k = 0;
    while (k < u->n_fav - 1 && u->fav_cdf[k] <= x) k++;
    return u->fav[k];
}

/* Long-term taste: 1..user_topics topics (by popularity mass), favourite
 * categories inside them with weights 1, 1/2, 1/3, ..., and a taste vector
 * mixing the favourites' directions. */
static void user_init(const Gen *g, User *u, int32_t index, Rng *r)
{
    const Catalog *c = &g->cat;
    int d = c->dim;
    memset(u, 0, sizeof *u);
    u->stamp = index + 1;
    u->last = -1;
    int32_t topics[SYNTH_MAX_TOPICS];
    int nt = 1 + (int)rng_below(r, (uint64_t)g->o->user_topics);
    for (int t = 0; t < nt; t++) topics[t] = groups_draw(&c->all_topics, 0, r);
    u->n_fav = g->o->fav_cates;
    for (int k = 0; k < u->n_fav; k++) {
        u->fav[k] = groups_draw(&c->by_topic, topics[rng_below(r, (uint64_t)nt)], r);
        u->fav_cdf[k] = (k ? u->fav_cdf[k - 1] : 0) + 1.0 / (k + 1);
        for (int i = 0; i < d; i++) u->taste[i] += (float)(1.0 / (k + 1)) * c->cate_vec[(size_t)u->fav[k] * d + i];
    }
    normalize(u->taste, d);
    u->cate = draw_favourite(u, r);
}

/* Short-term drift: now and then the interest moves, mostly back to a
 * favourite, sometimes (p_explore) anywhere, weighted by popularity. */
static void user_drift(const Gen *g, User *u, Rng *r)
{
    if (rng_double(r) >= g->o->p_drift) return;
    u->cate = rng_double(r) < g->o->p_explore ? groups_draw(&g->cat.all_cates, 0, r) : draw_favourite(u, r);
}

/* Successor k of the last item with probability 2^-(k+1) (the last valid one
 * takes the rest); -1 if the item has none. */
static int32_t draw_successor(const Gen *g, const User *u, Rng *r)
{
    const int32_t *s = g->cat.succ + (size_t)u->last * g->cat.n_succ;
    int n = 0;
    while (n < g->cat.n_succ && s[n] >= 0) n++;
    if (n == 0) return -1;
    int k = 0;
    while (k + 1 < n && rng_float(r) < 0.5f) k++;
    return s[k];
}

/* A few popularity-drawn candidates from the current category; one is chosen
 * by softmax(sharpness * <query, item>), the query mixing the long-term taste
 * with the recent items. Already-seen candidates are skipped; -1 if all were. */
static int32_t draw_in_category(const Gen *g, const User *u, Rng *r)
{
    const Catalog *c = &g->cat;
    int d = c->dim, K = g->o->candidates;
    float q[SYNTH_MAX_DIM];
    for (int i = 0; i < d; i++) q[i] = u->taste[i] + u->recent[i];
    normalize(q, d);
    int32_t cand[SYNTH_MAX_CAND];
    double w[SYNTH_MAX_CAND], sum = 0;
    for (int k = 0; k < K; k++) {
        cand[k] = groups_draw(&c->by_cate, u->cate, r);
        w[k] = g->seen_by[cand[k]] == u->stamp ? 0 : exp(g->o->sharpness * dotf(q, c->item_vec + (size_t)cand[k] * d, d));
        sum += w[k];
    }
    if (sum <= 0) return -1;
    double x = rng_double(r) * sum;
    int k = 0;
    while (k < K - 1 && (x -= w[k]) >= 0) k++;
    while (w[k] == 0) k--; /* rounding can land past the last positive weight */
    return cand[k];
}

/* The next item: a successor of the last item (p_succ) or an in-category pick,
 * retried a few times on repeats, then popularity over the whole catalogue,
 * then uniform (the length cap of half the catalogue makes that terminate). */
static int32_t draw_next(const Gen *g, const User *u, Rng *r, int *from_succ)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        *from_succ = u->last >= 0 && rng_double(r) < g->o->p_succ;
        int32_t it = *from_succ ? draw_successor(g, u, r) : draw_in_category(g, u, r);
        if (it >= 0 && g->seen_by[it] != u->stamp) return it;
    }
    *from_succ = 0;
    for (int attempt = 0; attempt < 64; attempt++) {
        int32_t it = groups_draw(&g->cat.all_items, 0, r);
        if (g->seen_by[it] != u->stamp) return it;
    }
    for (;;) {
        int32_t it = (int32_t)rng_below(r, (uint64_t)g->cat.n_items);
        if (g->seen_by[it] != u->stamp) return it;
    }
}

static void user_take(Gen *g, User *u, int32_t item)
{
    int d = g->cat.dim;
    const float *v = g->cat.item_vec + (size_t)item * d;
    for (int i = 0; i < d; i++) u->recent[i] = (float)g->o->recency * u->recent[i] + v[i];
    g->seen_by[item] = u->stamp;
    u->cate = g->cat.item_cate[item]; /* the interest follows what was taken */
    u->last = item;
}

static Rng user_rng(const Gen *g, int32_t index)
{
    Rng r;
    rng_seed(&r, (uint64_t)g->o->seed, STREAM_USER + (uint64_t)index);
    return r;
}

/* One user's events into item/time/succ_step (length already drawn from r). */
static void generate_user(Gen *g, int32_t index, Rng *r, int32_t len, int32_t *item, int64_t *time, uint8_t *succ_step)
{
    User u;
    user_init(g, &u, index, r);
    int64_t t = T_START + (int64_t)rng_below(r, (uint64_t)T_SPAN);
    for (int32_t k = 0; k < len; k++) {
        if (k > 0) user_drift(g, &u, r);
        int from_succ;
        int32_t it = draw_next(g, &u, r, &from_succ);
        user_take(g, &u, it);
        t += 1 + (int64_t)exp(rng_double(r) * log(GAP_MAX));
        item[k] = it, time[k] = t, succ_step[k] = (uint8_t)from_succ;
    }
}

/* Pass 1 over the users draws only the lengths (each user's stream starts
 * with its length), so the event arrays are allocated once; the generation
 * pass replays the streams. */
static void allocate_events(const Gen *g, SynthData *d)
{
    const SynthOptions *o = g->o;
    d->n_users = o->users, d->n_items = o->items, d->n_cates = o->cates;
    d->user_ptr = xmalloc(((size_t)o->users + 1) * sizeof *d->user_ptr);
    d->user_ptr[0] = 0;
    for (int32_t u = 0; u < o->users; u++) {
        Rng r = user_rng(g, u);
        d->user_ptr[u + 1] = d->user_ptr[u] + draw_length(g, &r);
    }
    d->n_inter = d->user_ptr[o->users];
    d->item = xmalloc((size_t)d->n_inter * sizeof *d->item);
    d->time = xmalloc((size_t)d->n_inter * sizeof *d->time);
    d->succ_step = xmalloc((size_t)d->n_inter * sizeof *d->succ_step);
}

int synth_generate(const SynthOptions *o, SynthData *d, Err *err)
{
    memset(d, 0, sizeof *d);
    if (synth_check(o, err) < 0) return -1;
    Gen g = {.o = o, .len_cap = MIN(o->max_len, o->items / 2)};
    g.len_mu = solve_len_mu(o, g.len_cap);
    catalog_build(&g.cat, o);
    allocate_events(&g, d);
    g.seen_by = xcalloc((size_t)o->items, sizeof *g.seen_by);
    Progress pr;
    progress_begin(&pr, "synth: users", o->users, "users", o->quiet || d->n_inter < 1000000);
    for (int32_t u = 0; u < o->users; u++) {
        Rng r = user_rng(&g, u);
        int64_t b = d->user_ptr[u];
        int32_t len = draw_length(&g, &r);
        generate_user(&g, u, &r, len, d->item + b, d->time + b, d->succ_step + b);
        if ((u & 4095) == 4095) progress_add(&pr, u + 1 - pr.done);
    }
    progress_add(&pr, o->users - pr.done);
    progress_end(&pr);
    d->item_cate = g.cat.item_cate;
    g.cat.item_cate = NULL; /* handed over to d */
    free(g.seen_by);
    catalog_free(&g.cat);
    return 0;
}

void synth_data_free(SynthData *d)
{
    free(d->user_ptr), free(d->item), free(d->time), free(d->succ_step), free(d->item_cate);
    memset(d, 0, sizeof *d);
}

/* ---- statistics ------------------------------------------------------------ */

static int cmp_i64_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void length_stats(const SynthData *d, SynthStats *s)
{
    int32_t *len = xmalloc((size_t)d->n_users * sizeof *len);
    for (int32_t u = 0; u < d->n_users; u++) len[u] = (int32_t)(d->user_ptr[u + 1] - d->user_ptr[u]);
    qsort(len, (size_t)d->n_users, sizeof *len, cmp_i32);
    int32_t n = d->n_users;
    s->len_min = len[0], s->len_max = len[n - 1];
    s->len_median = n % 2 ? len[n / 2] : 0.5 * (len[n / 2 - 1] + len[n / 2]);
    s->len_mean = (double)d->n_inter / n;
    free(len);
}

/* Counts sorted descending; shares of the top fractions of the used items. */
static void popularity_stats(const SynthData *d, SynthStats *s)
{
    int64_t *cnt = xcalloc((size_t)d->n_items, sizeof *cnt);
    for (int64_t e = 0; e < d->n_inter; e++) cnt[d->item[e]]++;
    qsort(cnt, (size_t)d->n_items, sizeof *cnt, cmp_i64_desc);
    int32_t used = 0;
    while (used < d->n_items && cnt[used] > 0) used++;
    s->items_used = used;
    s->items_unused = d->n_items - used;
    s->items_lt5 = 0;
    for (int32_t i = 0; i < used; i++) s->items_lt5 += cnt[i] < 5;
    int32_t top1 = MAX(1, (int32_t)ceil(used * 0.01)), top20 = MAX(1, (int32_t)ceil(used * 0.20));
    int64_t sum1 = 0, sum20 = 0;
    for (int32_t i = 0; i < top20 && i < used; i++) {
        if (i < top1) sum1 += cnt[i];
        sum20 += cnt[i];
    }
    s->top1_share = d->n_inter ? (double)sum1 / d->n_inter : 0;
    s->top20_share = d->n_inter ? (double)sum20 / d->n_inter : 0;
    free(cnt);
}

/* How often the next item shares the previous item's category, against the
 * chance rate sum_c share_c^2 of two independent draws. */
static void category_stats(const SynthData *d, SynthStats *s)
{
    int64_t *cc = xcalloc((size_t)d->n_cates, sizeof *cc);
    int64_t same = 0, pairs = 0, succ = 0;
    for (int32_t u = 0; u < d->n_users; u++) {
        for (int64_t e = d->user_ptr[u]; e < d->user_ptr[u + 1]; e++) {
            cc[d->item_cate[d->item[e]]]++;
            succ += d->succ_step[e];
            if (e == d->user_ptr[u]) continue;
            pairs++;
            same += d->item_cate[d->item[e]] == d->item_cate[d->item[e - 1]];
        }
    }
    double chance = 0;
    s->cates_used = 0;
    for (int32_t k = 0; k < d->n_cates; k++) {
        s->cates_used += cc[k] > 0;
        double p = d->n_inter ? (double)cc[k] / d->n_inter : 0;
        chance += p * p;
    }
    s->same_cate_next = pairs ? (double)same / pairs : 0;
    s->same_cate_chance = chance;
    s->succ_share = d->n_inter ? (double)succ / d->n_inter : 0;
    free(cc);
}

void synth_stats(const SynthData *d, SynthStats *s)
{
    memset(s, 0, sizeof *s);
    s->users = d->n_users;
    s->inter = d->n_inter;
    if (d->n_users == 0) return;
    length_stats(d, s);
    popularity_stats(d, s);
    category_stats(d, s);
}

/* ---- output ---------------------------------------------------------------- */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* user_id,item_id,cate_id,timestamp with ids from 1; formatted by hand because
 * fprintf would dominate the run time of the big presets. */
static int write_csv(const SynthData *d, const char *path, int quiet, Err *err)
{
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    enum { BUF = 1 << 20 };
    char *buf = xmalloc(BUF), *p = buf;
    Progress pr;
    progress_begin(&pr, "synth: write", d->n_inter, "rows", quiet || d->n_inter < 1000000);
    int ok = 1;
    for (int32_t u = 0; u < d->n_users && ok; u++) {
        for (int64_t e = d->user_ptr[u]; e < d->user_ptr[u + 1]; e++) {
            int32_t it = d->item[e];
            p = put_u64(p, (uint64_t)u + 1), *p++ = ',';
            p = put_u64(p, (uint64_t)it + 1), *p++ = ',';
            p = put_u64(p, (uint64_t)d->item_cate[it] + 1), *p++ = ',';
            p = put_u64(p, (uint64_t)d->time[e]), *p++ = '\n';
            if (p - buf > BUF - 128) {
                ok = fwrite(buf, 1, (size_t)(p - buf), af.f) == (size_t)(p - buf);
                p = buf;
            }
        }
        if ((u & 4095) == 4095) progress_add(&pr, d->user_ptr[u + 1] - pr.done);
    }
    if (ok && p > buf) ok = fwrite(buf, 1, (size_t)(p - buf), af.f) == (size_t)(p - buf);
    free(buf);
    progress_add(&pr, d->n_inter - pr.done);
    progress_end(&pr);
    if (!ok) {
        af_abort(&af);
        return err_set(err, "%s: write failed", path);
    }
    return af_commit(&af, err);
}

static const char *const k_story =
    "## Generative story\n"
    "\n"
    "1. **Catalogue.** `topics` latent topics group `cates` categories (the first categories found one topic\n"
    "   each, the others join a random topic). Category k receives a share ~ k^-`cate-zipf` of the `items`\n"
    "   (every category at least one). Topics, categories and items have unit latent vectors in R^`dim`:\n"
    "   a category is its topic's direction plus noise, an item its category's direction plus noise.\n"
    "2. **Popularity.** Items get a random popularity rank r and weight (r + `zipf-head` * `items`)^-`zipf`\n"
    "   (Zipf-Mandelbrot: a power-law tail with a flattened head). Category and topic popularity is the sum\n"
    "   of their items' weights. All weighted draws use alias tables (O(1) per draw).\n"
    "3. **Successors.** Every item gets `successors` successor items: of a pool of popularity-drawn\n"
    "   candidates from its own category (or, with `p-cross`, another category of its topic), the most\n"
    "   similar ones in latent space. Successor k is followed with probability 2^-(k+1).\n"
    "4. **Long-term taste.** A user picks 1..`user-topics` topics (by popularity) and `fav-cates` favourite\n"
    "   categories inside them with weights 1, 1/2, 1/3, ...; the taste vector mixes their directions.\n"
    "5. **Length.** `min-len` + floor(lognormal) with spread `len-sigma`, capped at `max-len` (and half the\n"
    "   catalogue); the lognormal's location is solved so that the mean length is `mean-len`.\n"
    "6. **Short-term interest.** The user's current interest is a category. Before each step it moves with\n"
    "   probability `p-drift`: to a random favourite, or (share `p-explore`) to any category by popularity.\n"
    "7. **Next item.** With probability `p-succ` a successor of the last item; otherwise `candidates`\n"
    "   popularity-drawn items of the current category, one chosen by softmax(`sharpness` * <q, item>) where\n"
    "   q mixes the taste vector with a decayed (`recency`) sum of the recent items' vectors. The interest\n"
    "   then moves to the chosen item's category.\n"
    "8. **No repeats.** An item a user already has is redrawn (a few tries, then by global popularity).\n"
    "9. **Time.** Each user starts at a uniform time in 2014-05..2017-05; gaps are log-uniform in\n"
    "   [1 s, 14 days], so timestamps increase strictly within a user and sort back to generation order.\n"
    "\n"
    "Why it suits the models: most-popular only sees step 2; mean pooling of the history recovers the\n"
    "long-term taste (step 4); only a model that weighs the most recent items can follow the drifting\n"
    "interest (6) and the item-to-item successors (3, 7).\n";

static void write_readme_body(FILE *f, const SynthOptions *o, const SynthStats *s)
{
    fprintf(f, "# Synthetic interaction log (`cltower synth`, preset `%s`)\n\n", o->preset);
    fprintf(f, "`interactions.csv`: one interaction per line, `user_id,item_id,cate_id,timestamp`, no header,\n"
               "ids from 1, grouped by user, time ascending (read it with `--format comirec`).\n"
               "Deterministic: the same options and seed give byte-identical files.\n\n");
    fprintf(f, "## Parameters\n\n```\n");
    opt_write(g_synth_specs, g_synth_nspecs, o, f);
    fprintf(f, "```\n\n## Statistics\n\n| statistic | value |\n| --- | --- |\n");
    fprintf(f, "| users | %d |\n| items (with interactions) | %d of %d in the catalogue |\n", s->users, s->items_used, o->items);
    fprintf(f, "| interactions | %lld |\n| categories (used) | %d of %d |\n", (long long)s->inter, s->cates_used, o->cates);
    fprintf(f, "| sequence length mean / median / min / max | %.2f / %.1f / %d / %d |\n", s->len_mean, s->len_median,
            s->len_min, s->len_max);
    fprintf(f, "| interactions on the top 1%% / top 20%% items | %.1f%% / %.1f%% |\n", 100 * s->top1_share, 100 * s->top20_share);
    fprintf(f, "| items with < 5 interactions | %d (%.1f%% of used items) |\n", s->items_lt5,
            s->items_used ? 100.0 * s->items_lt5 / s->items_used : 0);
    fprintf(f, "| next item in the previous item's category | %.1f%% (chance: %.1f%%) |\n", 100 * s->same_cate_next,
            100 * s->same_cate_chance);
    fprintf(f, "| events drawn as a successor of the previous item | %.1f%% |\n\n", 100 * s->succ_share);
    fputs(k_story, f);
}

static int write_readme(const SynthOptions *o, const SynthStats *s, const char *path, Err *err)
{
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    write_readme_body(af.f, o, s);
    return af_commit(&af, err);
}

int synth_write(const SynthOptions *o, const char *out_dir, SynthStats *stats, Err *err)
{
    if (synth_check(o, err) < 0) return -1;
    if (mkdir_p(out_dir, err) < 0) return -1;
    SynthData d;
    if (synth_generate(o, &d, err) < 0) return -1;
    SynthStats s;
    synth_stats(&d, &s);
    char *csv = path_join(out_dir, "interactions.csv"), *readme = path_join(out_dir, "README.md");
    int rc = write_csv(&d, csv, o->quiet, err);
    if (rc == 0) rc = write_readme(o, &s, readme, err);
    free(csv), free(readme);
    synth_data_free(&d);
    if (rc == 0 && stats) *stats = s;
    return rc;
}
