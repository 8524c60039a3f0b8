/* catalog.h — what the item tower may know about items: their count, side
 * features and training popularity. It is the item half of the data that a
 * trained model needs at serving time too, so it is saved into the run
 * directory (items.tsv) next to the weights. */
#ifndef CLT_CATALOG_H
#define CLT_CATALOG_H

#include "data/dataset.h"
#include "data/split.h"

typedef struct Catalog {
    int32_t n_items, n_feats;
    int32_t *feat_ptr;   /* (n_items+1) item features, CSR */
    int32_t *feat;       /* dense feature ids */
    int64_t *count;      /* (n_items) training interactions of each item */
    int64_t total;       /* sum of count */
    StrTab item_ids;     /* raw ids (copied, so the catalog outlives the Dataset) */
    StrTab feat_ids;
} Catalog;

void catalog_from_dataset(Catalog *c, const Dataset *ds, const Split *split);
void catalog_free(Catalog *c);
/* Writes dir/features.tsv (raw feature ids, one per line, in dense order) and
 * dir/items.tsv ("raw_item_id \t train_count \t feat1,feat2,..." one line per
 * dense item id). Reading them back restores identical dense ids. */
int catalog_write(const Catalog *c, const char *dir, Err *err);
int catalog_read(Catalog *c, const char *dir, Err *err);

#endif
