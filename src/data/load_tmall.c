/* tmall format: IJCAI-15 "Repeat Buyers" user_log_format1.csv (Tianchi dataset 42):
 *
 *   user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type
 *
 * The header is required and columns are found by name, because copies of
 * the file differ: pandas re-exports add a leading unnamed index column and
 * write brand_id as a float ("2661.0", sometimes empty). Only user_id,
 * item_id, cat_id, time_stamp and action_type are read.
 *
 * time_stamp is mmdd as an integer (829 = Aug 29, 1111 = Nov 11; all of 2015),
 * so mm*100+dd already sorts by date and is used as the time key unchanged.
 * It has day resolution: same-day actions keep their file order.
 * action_type: 0 click, 1 add-to-cart, 2 purchase, 3 add-to-favourite;
 * --actions keeps the listed ones (e.g. "2"). cat_id becomes an item feature. */
#include "data/loader.h"

enum { T_USER, T_ITEM, T_CAT, T_TIME, T_ACTION, T_NCOLS };
static const char *const TMALL_COLUMNS[T_NCOLS] = {"user_id", "item_id", "cat_id", "time_stamp", "action_type"};

typedef struct {
    const LoadOptions *opt;
    EventLog *log;
    int ncols;        /* header width; every row must match it */
    int col[T_NCOLS]; /* position of each needed column */
} TmallCtx;

static int tmall_header(TmallCtx *c, const Row *r, Err *err)
{
    char missing[256] = "";
    for (int k = 0; k < T_NCOLS; k++) {
        c->col[k] = find_field(r->f, r->n, TMALL_COLUMNS[k]);
        size_t used = strlen(missing);
        if (c->col[k] < 0) snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "", TMALL_COLUMNS[k]);
    }
    if (*missing)
        return row_error(r, err, "expected a header naming user_id,item_id,cat_id,time_stamp,action_type, got one without %s",
                         missing);
    c->ncols = r->n;
    return 0;
}

/* mmdd of one year; Feb 29 is let through (only the date order matters). */
static int valid_mmdd(int64_t v)
{
    static const int mdays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t m = v / 100, d = v % 100;
    return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m];
}

static int tmall_row(void *vctx, Row *r, Err *err)
{
    TmallCtx *c = vctx;
    if (r->index == 0) return tmall_header(c, r, err);
    if (r->n != c->ncols) return row_error(r, err, "expected %d fields like the header, got %d", c->ncols, r->n);
    const int *col = c->col;
    int64_t t = 0, action = 0;
    if (row_id(r, col[T_USER], "user_id", err) || row_id(r, col[T_ITEM], "item_id", err) ||
        row_id(r, col[T_CAT], "cat_id", err) || row_i64(r, col[T_TIME], "time_stamp", &t, err) ||
        row_i64(r, col[T_ACTION], "action_type", &action, err))
        return -1;
    if (!valid_mmdd(t))
        return row_error(r, err, "expected time_stamp as mmdd (101..1231, a real month and day), got '%.40s'", r->f[col[T_TIME]]);
    if (action < 0 || action > 3) return row_error(r, err, "expected action_type 0, 1, 2 or 3, got '%.40s'", r->f[col[T_ACTION]]);
    if (!list_contains(c->opt->actions, r->f[col[T_ACTION]])) return 0;
    const char *user = r->f[col[T_USER]], *item = r->f[col[T_ITEM]], *cat = r->f[col[T_CAT]];
    evlog_add(c->log, user, strlen(user), item, strlen(item), t);
    evlog_add_item_feature(c->log, item, strlen(item), cat, strlen(cat));
    return 0;
}

int load_tmall(const LoadOptions *opt, EventLog *log, Err *err)
{
    if (check_action_list(opt->actions, "0,1,2,3", err)) return -1;
    TmallCtx c = {.opt = opt, .log = log};
    int64_t rows = for_each_row(opt->path, ",", tmall_row, &c, err);
    if (rows < 0) return -1;
    return require_events(opt->path, log, rows > 0 ? rows - 1 : 0, err);
}
