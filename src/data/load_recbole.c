/* recbole format: a RecBole atomic ".inter" file — tab separated, with a typed
 * header whose fields are "name:type" (type token, token_seq, float or float_seq):
 *
 *   user_id:token	item_id:token	rating:float	timestamp:float
 *   731	501	3	1000000500
 *
 * Columns are found by name: user_id and item_id are required, timestamp is
 * optional (without it the line order is the time key) and rating is read only
 * for --min-rating. Other columns are ignored. RecBole writes timestamps as
 * floats ("978300760.0"); they are truncated toward zero to an integer key. */
#include "data/loader.h"

#include <math.h>

enum { R_USER, R_ITEM, R_TIME, R_RATING, R_NCOLS };
static const char *const RECBOLE_NAMES[R_NCOLS] = {"user_id", "item_id", "timestamp", "rating"};

typedef struct {
    const LoadOptions *opt;
    EventLog *log;
    int ncols;
    int col[R_NCOLS]; /* -1 when absent */
} RecboleCtx;

static int recbole_known_type(const char *type)
{
    return !strcmp(type, "token") || !strcmp(type, "token_seq") || !strcmp(type, "float") || !strcmp(type, "float_seq");
}

/* Strips ":type" from every header field (in place), checking the type. */
static int recbole_header(RecboleCtx *c, Row *r, Err *err)
{
    for (int i = 0; i < r->n; i++) {
        char *colon = strchr(r->f[i], ':');
        if (!colon || colon == r->f[i])
            return row_error(r, err, "expected a typed header field 'name:type' (e.g. user_id:token), got '%.40s'", r->f[i]);
        if (!recbole_known_type(colon + 1))
            return row_error(r, err, "expected field type token, token_seq, float or float_seq, got '%.40s'", r->f[i]);
        *colon = '\0';
    }
    for (int k = 0; k < R_NCOLS; k++) c->col[k] = find_field(r->f, r->n, RECBOLE_NAMES[k]);
    if (c->col[R_USER] < 0 || c->col[R_ITEM] < 0)
        return row_error(r, err, "expected header columns user_id and item_id, got none named %s",
                         c->col[R_USER] < 0 ? "user_id" : "item_id");
    if (c->opt->min_rating > 0 && c->col[R_RATING] < 0)
        return row_error(r, err, "expected a rating column (needed by --min-rating), got a header without one");
    c->ncols = r->n;
    return 0;
}

/* The time key: the (float) timestamp truncated, or the row number. */
static int recbole_time(const Row *r, int col, int64_t *t, Err *err)
{
    if (col < 0) {
        *t = r->index;
        return 0;
    }
    double v;
    if (row_f64(r, col, "timestamp", &v, err)) return -1;
    if (!(fabs(v) < 9.2e18)) return row_error(r, err, "expected a timestamp within the 64-bit range, got '%.40s'", r->f[col]);
    *t = (int64_t)v;
    return 0;
}

static int recbole_row(void *vctx, Row *r, Err *err)
{
    RecboleCtx *c = vctx;
    if (r->index == 0) return recbole_header(c, r, err);
    if (r->n != c->ncols) return row_error(r, err, "expected %d tab-separated fields like the header, got %d", c->ncols, r->n);
    const int *col = c->col;
    int64_t t = 0;
    if (row_id(r, col[R_USER], "user_id", err) || row_id(r, col[R_ITEM], "item_id", err) || recbole_time(r, col[R_TIME], &t, err))
        return -1;
    if (c->opt->min_rating > 0) {
        double rating;
        if (row_f64(r, col[R_RATING], "rating", &rating, err)) return -1;
        if (rating < c->opt->min_rating) return 0;
    }
    const char *user = r->f[col[R_USER]], *item = r->f[col[R_ITEM]];
    evlog_add(c->log, user, strlen(user), item, strlen(item), t);
    return 0;
}

int load_recbole(const LoadOptions *opt, EventLog *log, Err *err)
{
    RecboleCtx c = {.opt = opt, .log = log};
    int64_t rows = for_each_row(opt->path, "\t", recbole_row, &c, err);
    if (rows < 0) return -1;
    return require_events(opt->path, log, rows > 0 ? rows - 1 : 0, err);
}
