/* movielens format: GroupLens MovieLens ratings with optional genres.
 *
 *   ml-100k  u.data       user_id \t item_id \t rating \t timestamp
 *            u.item       movie_id|title|release|video release|IMDb URL|19 genre flags (0/1)
 *            u.genre      name|index  (the flag order; optional)
 *   ml-1m    ratings.dat  UserID::MovieID::Rating::Timestamp
 *            movies.dat   MovieID::Title::Genre1|Genre2|...
 *
 * opt->path is the ratings file or a directory holding u.data or ratings.dat.
 * The variant is decided by content: a first line containing "::" is ml-1m.
 * The genre file next to the ratings file, if present, gives item features.
 * The timestamp (Unix seconds) is the time key; --min-rating keeps ratings >= it. */
#include "data/loader.h"
#include "util/fileio.h"

enum { ML100K_GENRES = 19, ML100K_ITEM_FIELDS = 24 };

typedef enum { ML_100K, ML_1M } MlVariant;

/* ---- ratings -------------------------------------------------------------- */

/* The ratings file: path itself, or u.data / ratings.dat inside a directory. */
static char *ml_ratings_path(const char *path, Err *err)
{
    if (!is_directory(path)) return xstrdup(path);
    static const char *const names[] = {"u.data", "ratings.dat", "u.data.gz", "ratings.dat.gz"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        char *p = path_join(path, names[i]);
        if (path_exists(p)) return p;
        free(p);
    }
    err_set(err, "%s: expected a directory with u.data (ml-100k) or ratings.dat (ml-1m), got neither", path);
    return NULL;
}

/* A file next to `file` (same directory). */
static char *ml_sibling(const char *file, const char *name)
{
    const char *slash = strrchr(file, '/');
    if (!slash) return xstrdup(name);
    char *dir = xstrdup(file);
    dir[slash - file] = '\0';
    char *p = path_join(dir, name);
    free(dir);
    return p;
}

typedef struct {
    const LoadOptions *opt;
    EventLog *log;
} MlRatingsCtx;

static int ml_rating_row(void *vctx, Row *r, Err *err)
{
    MlRatingsCtx *c = vctx;
    double rating = 0;
    int64_t t = 0;
    if (row_expect_fields(r, 4, "user,item,rating,timestamp", err) || row_id(r, 0, "user id", err) ||
        row_id(r, 1, "item id", err) || row_f64(r, 2, "rating", &rating, err) || row_i64(r, 3, "timestamp", &t, err))
        return -1;
    if (c->opt->min_rating > 0 && rating < c->opt->min_rating) return 0;
    evlog_add(c->log, r->f[0], strlen(r->f[0]), r->f[1], strlen(r->f[1]), t);
    return 0;
}

static int ml_load_ratings(const LoadOptions *opt, const char *path, EventLog *log, MlVariant *variant, Err *err)
{
    char first[256];
    if (peek_first_line(path, first, sizeof first, err) < 0) return -1;
    *variant = strstr(first, "::") ? ML_1M : ML_100K;
    MlRatingsCtx c = {opt, log};
    int64_t rows = for_each_row(path, *variant == ML_1M ? "::" : "\t", ml_rating_row, &c, err);
    if (rows < 0) return -1;
    return require_events(path, log, rows, err);
}

/* ---- genres --------------------------------------------------------------- */

typedef struct {
    EventLog *log;
    char *names[ML100K_GENRES]; /* from u.genre; NULL = "genre<k>" */
} MlGenreCtx;

static void ml_add_genre(EventLog *log, const char *movie, const char *genre)
{
    evlog_add_feature_if_known(log, movie, strlen(movie), genre, strlen(genre));
}

/* u.genre: "name|index". */
static int ml_genre_name_row(void *vctx, Row *r, Err *err)
{
    MlGenreCtx *c = vctx;
    int64_t k;
    if (row_expect_fields(r, 2, "name|index", err) || row_id(r, 0, "genre name", err) || row_i64(r, 1, "genre index", &k, err))
        return -1;
    if (k < 0 || k >= ML100K_GENRES) return row_error(r, err, "expected a genre index 0..%d, got '%.40s'", ML100K_GENRES - 1, r->f[1]);
    free(c->names[k]);
    c->names[k] = xstrdup(r->f[0]);
    return 0;
}

/* u.item: the first field is the id and the last 19 are the flags, so a title
 * that happened to contain '|' would still parse. */
static int ml_item_row(void *vctx, Row *r, Err *err)
{
    MlGenreCtx *c = vctx;
    if (r->n < ML100K_ITEM_FIELDS)
        return row_error(r, err, "expected %d '|'-separated fields (movie id|title|release date|video release date|IMDb URL|"
                                 "19 genre flags), got %d", ML100K_ITEM_FIELDS, r->n);
    if (row_id(r, 0, "movie id", err)) return -1;
    for (int k = 0; k < ML100K_GENRES; k++) {
        int col = r->n - ML100K_GENRES + k;
        const char *flag = r->f[col];
        if (strcmp(flag, "0") && strcmp(flag, "1"))
            return row_error(r, err, "expected genre flag 0 or 1 (field %d), got '%.40s'", col + 1, flag);
        if (flag[0] == '0') continue;
        char name[32];
        snprintf(name, sizeof name, "genre%d", k);
        ml_add_genre(c->log, r->f[0], c->names[k] ? c->names[k] : name);
    }
    return 0;
}

/* movies.dat: "MovieID::Title::Genre1|Genre2". */
static int ml_movie_row(void *vctx, Row *r, Err *err)
{
    MlGenreCtx *c = vctx;
    if (r->n < 3) return row_error(r, err, "expected 3 '::'-separated fields (MovieID::Title::Genres), got %d", r->n);
    if (row_id(r, 0, "MovieID", err)) return -1;
    char *g[ROW_MAX_FIELDS];
    int ng = split_fields(r->f[r->n - 1], '|', g, ROW_MAX_FIELDS);
    ng = MIN(ng, ROW_MAX_FIELDS); /* (MIN evaluates its arguments twice) */
    for (int k = 0; k < ng; k++)
        if (*g[k] && strcmp(g[k], "(no genres listed)")) ml_add_genre(c->log, r->f[0], g[k]);
    return 0;
}

/* Reads `name` next to the ratings file with fn, if that file exists. */
static int ml_read_sibling(const char *ratings, const char *name, const char *sep, RowFn fn, MlGenreCtx *c, Err *err)
{
    char *p = ml_sibling(ratings, name);
    int ret = path_exists(p) && for_each_row(p, sep, fn, c, err) < 0 ? -1 : 0;
    free(p);
    return ret;
}

static int ml_load_genres(const char *ratings, MlVariant variant, EventLog *log, Err *err)
{
    MlGenreCtx c = {.log = log};
    int ret;
    if (variant == ML_1M) {
        ret = ml_read_sibling(ratings, "movies.dat", "::", ml_movie_row, &c, err);
    } else {
        ret = ml_read_sibling(ratings, "u.genre", "|", ml_genre_name_row, &c, err);
        if (ret == 0) ret = ml_read_sibling(ratings, "u.item", "|", ml_item_row, &c, err);
    }
    for (int k = 0; k < ML100K_GENRES; k++) free(c.names[k]);
    return ret;
}

int load_movielens(const LoadOptions *opt, EventLog *log, Err *err)
{
    char *ratings = ml_ratings_path(opt->path, err);
    if (!ratings) return -1;
    MlVariant variant;
    int ret = ml_load_ratings(opt, ratings, log, &variant, err);
    if (ret == 0) ret = ml_load_genres(ratings, variant, log, err);
    free(ratings);
    return ret;
}
