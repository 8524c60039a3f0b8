/* comirec format: the CSV files of ComiRec (Cen et al., KDD 2020), no header.
 *
 *   user_id,item_id,cate_id,timestamp   (4 columns; cate_id becomes an item feature)
 *   user_id,item_id,timestamp           (3 columns, ComiRec's book_train.txt etc.,
 *                                        where the "timestamp" is a time rank)
 *
 * The first non-blank line decides which layout the file uses; every other line
 * must have the same number of columns. The last column is the time key. */
#include "data/loader.h"

typedef struct {
    EventLog *log;
    int ncols; /* 3 or 4, fixed by the first row */
} ComirecCtx;

static int comirec_row(void *vctx, Row *r, Err *err)
{
    ComirecCtx *c = vctx;
    if (c->ncols == 0) {
        if (r->n != 3 && r->n != 4)
            return row_error(r, err, "expected 4 fields (user_id,item_id,cate_id,timestamp) or 3 (user_id,item_id,timestamp), "
                                     "got %d", r->n);
        c->ncols = r->n;
    }
    if (r->n != c->ncols)
        return row_error(r, err, "expected %d fields like the first line, got %d", c->ncols, r->n);
    int64_t t = 0;
    if (row_id(r, 0, "user_id", err) || row_id(r, 1, "item_id", err) ||
        row_i64(r, c->ncols - 1, "timestamp", &t, err))
        return -1;
    const char *user = r->f[0], *item = r->f[1];
    if (c->ncols == 4) {
        if (row_id(r, 2, "cate_id", err)) return -1;
        evlog_add_item_feature(c->log, item, strlen(item), r->f[2], strlen(r->f[2]));
    }
    evlog_add(c->log, user, strlen(user), item, strlen(item), t);
    return 0;
}

int load_comirec(const LoadOptions *opt, EventLog *log, Err *err)
{
    ComirecCtx c = {.log = log};
    int64_t rows = for_each_row(opt->path, ",", comirec_row, &c, err);
    if (rows < 0) return -1;
    return require_events(opt->path, log, rows, err);
}
