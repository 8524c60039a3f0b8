/* taobao format: Alibaba's UserBehavior.csv (Tianchi dataset 649), no header:
 *
 *   user_id,item_id,category_id,behavior_type,timestamp
 *
 * behavior_type is pv, buy, cart or fav; timestamp is Unix seconds and is the
 * time key. category_id becomes an item feature. --actions keeps only the
 * listed behaviours (e.g. "pv" or "buy,cart"). */
#include "data/loader.h"

static const char *const TAOBAO_BEHAVIORS = "pv,buy,cart,fav";

typedef struct {
    const LoadOptions *opt;
    EventLog *log;
} TaobaoCtx;

static int taobao_row(void *vctx, Row *r, Err *err)
{
    TaobaoCtx *c = vctx;
    int64_t t = 0;
    if (row_expect_fields(r, 5, "user_id,item_id,category_id,behavior_type,timestamp", err) || row_id(r, 0, "user_id", err) ||
        row_id(r, 1, "item_id", err) || row_id(r, 2, "category_id", err) || row_i64(r, 4, "timestamp", &t, err))
        return -1;
    const char *user = r->f[0], *item = r->f[1], *cat = r->f[2], *behavior = r->f[3];
    /* Validate before filtering so a bad row is reported whatever --actions says. */
    if (!*behavior || !list_contains(TAOBAO_BEHAVIORS, behavior))
        return row_error(r, err, "expected behavior_type pv, buy, cart or fav, got '%.40s'", behavior);
    if (!list_contains(c->opt->actions, behavior)) return 0;
    evlog_add(c->log, user, strlen(user), item, strlen(item), t);
    evlog_add_item_feature(c->log, item, strlen(item), cat, strlen(cat));
    return 0;
}

int load_taobao(const LoadOptions *opt, EventLog *log, Err *err)
{
    if (check_action_list(opt->actions, TAOBAO_BEHAVIORS, err)) return -1;
    TaobaoCtx c = {opt, log};
    int64_t rows = for_each_row(opt->path, ",", taobao_row, &c, err);
    if (rows < 0) return -1;
    return require_events(opt->path, log, rows, err);
}
