/* fuzz_loader.c — libFuzzer target for the data loaders (docs/FUZZING.md).
 *
 * Compiled once per target with -DFUZZ_TARGET="<name>":
 *   seq comirec tmall taobao recbole movielens   the format loaders
 *   gz        the comirec loader on a file named data.gz (corpus: gzip bytes)
 *   features  load_item_features (JSON or CSV, sniffed) over a fixed log
 *
 * The loaders read paths, so the input is written to a file in a private
 * temporary directory (on /dev/shm when there is one). movielens reads files
 * next to the ratings file: its input is split at NUL bytes into
 *   ratings \0 u.item-or-movies.dat \0 u.genre
 * and a part that is absent is a file that does not exist.
 *
 * Build options (dedup, 2-core) and filters (--actions, --min-rating) are
 * chosen from the input's size, so one input always takes the same path.
 *
 * Checked on every input: a failure returns -1 with a one-line message; a
 * success gives a Dataset whose ids, CSR offsets, time order, raw-id order
 * and filters are consistent. A violation abort()s, which libFuzzer reports
 * as a crash. ASan/UBSan (and LeakSanitizer) catch the rest. */
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "data/loader.h"
#include "fuzz.h"
#include "util/fileio.h"

static char g_dir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_dir(void) { nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

static void make_dir(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/cltower-fuzz-XXXXXX", base);
    if (!mkdtemp(g_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_dir);
}

/* Writes data to g_dir/name (len 0 still creates the file); returns the path. */
static char *put_file(const char *name, const uint8_t *data, size_t len)
{
    char *path = path_join(g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

static void drop_file(const char *name)
{
    char *path = path_join(g_dir, name);
    unlink(path);
    free(path);
}

/* Raw ids: one per dense id, found again by strtab_find, strictly increasing. */
static void check_ids(const StrTab *t, int32_t n)
{
    CHECK(t->n == n);
    for (int32_t i = 0; i < n; i++) {
        const char *s = strtab_get(t, i);
        CHECK(strtab_find(t, s, strlen(s)) == i);
        if (i > 0) CHECK(raw_id_compare(strtab_get(t, i - 1), s) < 0);
    }
}

static void check_dataset(const Dataset *ds, const BuildOptions *b)
{
    CHECK(ds->n_users > 0 && ds->n_items > 0 && ds->n_inter > 0 && ds->n_feats >= 0);
    check_ids(&ds->user_ids, ds->n_users);
    check_ids(&ds->item_ids, ds->n_items);
    check_ids(&ds->feat_ids, ds->n_feats);

    CHECK(ds->user_ptr[0] == 0 && ds->user_ptr[ds->n_users] == ds->n_inter);
    int64_t *item_count = calloc((size_t)ds->n_items, sizeof *item_count);
    int32_t *last_user = malloc((size_t)ds->n_items * sizeof *last_user);
    for (int32_t i = 0; i < ds->n_items; i++) last_user[i] = -1;
    for (int32_t u = 0; u < ds->n_users; u++) {
        int32_t len = ds_user_len(ds, u);
        CHECK(len >= 1); /* a kept user has events */
        if (b->min_user_inter > 0) CHECK(len >= b->min_user_inter);
        for (int64_t k = ds->user_ptr[u]; k < ds->user_ptr[u + 1]; k++) {
            int32_t it = ds->seq[k];
            CHECK(it >= 0 && it < ds->n_items);
            if (k > ds->user_ptr[u]) CHECK(ds->time[k - 1] <= ds->time[k]);
            if (b->dedup) CHECK(last_user[it] != u);
            last_user[it] = u;
            item_count[it]++;
        }
    }
    for (int32_t i = 0; i < ds->n_items; i++) {
        CHECK(item_count[i] >= 1); /* a kept item has events */
        if (b->kcore_iterative && b->min_item_inter > 0) CHECK(item_count[i] >= b->min_item_inter);
    }
    free(item_count);
    free(last_user);

    uint8_t *feat_used = calloc((size_t)ds->n_feats + 1, 1);
    CHECK(ds->feat_ptr[0] == 0);
    for (int32_t i = 0; i < ds->n_items; i++) {
        CHECK(ds->feat_ptr[i] <= ds->feat_ptr[i + 1]);
        for (int32_t j = ds->feat_ptr[i]; j < ds->feat_ptr[i + 1]; j++) {
            CHECK(ds->feat[j] >= 0 && ds->feat[j] < ds->n_feats);
            for (int32_t j2 = ds->feat_ptr[i]; j2 < j; j2++) CHECK(ds->feat[j2] != ds->feat[j]);
            feat_used[ds->feat[j]] = 1;
        }
    }
    for (int32_t f = 0; f < ds->n_feats; f++) CHECK(feat_used[f]); /* no feature without an item */
    free(feat_used);
}

/* Loads one input: fills log, returns the loader's result. */
static int load_input(const uint8_t *data, size_t size, unsigned sel, EventLog *log, Err *err)
{
    static const char *const tmall_actions[] = {"", "2", "0,3"};
    static const char *const taobao_actions[] = {"", "pv", "buy,cart"};
    static const double min_ratings[] = {0, 3, 4.5};
    LoadOptions opt = {.format = FUZZ_TARGET, .actions = "", .item_features = ""};
    if (!strcmp(FUZZ_TARGET, "tmall")) opt.actions = tmall_actions[sel % 3];
    if (!strcmp(FUZZ_TARGET, "taobao")) opt.actions = taobao_actions[sel % 3];
    opt.min_rating = min_ratings[sel % 3];

    if (!strcmp(FUZZ_TARGET, "features")) {
        /* Items with integer and string ids, as feature files name them. */
        static const char *const items[] = {"1", "2", "3", "10", "999", "a", "b"};
        for (size_t i = 0; i < ARRAY_LEN(items); i++)
            evlog_add(log, i % 2 ? "u1" : "u2", 2, items[i], strlen(items[i]), (int64_t)i);
        char *path = put_file("features", data, size);
        int rc = load_item_features(path, log, err);
        free(path);
        return rc;
    }
    if (!strcmp(FUZZ_TARGET, "movielens")) {
        const uint8_t *part[3] = {data, NULL, NULL};
        size_t len[3] = {size, 0, 0};
        for (int p = 0; p < 2 && part[p]; p++) {
            const uint8_t *nul = memchr(part[p], 0, len[p]);
            if (!nul) break;
            part[p + 1] = nul + 1;
            len[p + 1] = len[p] - (size_t)(nul + 1 - part[p]);
            len[p] = (size_t)(nul - part[p]);
        }
        free(put_file("u.data", part[0], len[0]));
        if (part[1]) {
            free(put_file("u.item", part[1], len[1]));
            free(put_file("movies.dat", part[1], len[1]));
        } else {
            drop_file("u.item");
            drop_file("movies.dat");
        }
        if (part[2]) free(put_file("u.genre", part[2], len[2]));
        else drop_file("u.genre");
        /* Half the inputs name the directory, half the ratings file. */
        char *path = sel & 8 ? xstrdup(g_dir) : path_join(g_dir, "u.data");
        opt.path = path;
        int rc = load_movielens(&opt, log, err);
        free(path);
        return rc;
    }
    int gz = !strcmp(FUZZ_TARGET, "gz");
    if (gz) opt.format = "comirec";
    const FormatInfo *fmt = format_find(opt.format);
    CHECK(fmt != NULL);
    char *path = put_file(gz ? "data.gz" : "data", data, size);
    opt.path = path;
    int rc = fmt->load(&opt, log, err);
    free(path);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_dir[0]) make_dir();
    unsigned sel = (unsigned)(size % 16);
    BuildOptions b = {.dedup = sel & 1};
    if (sel & 2) b.min_item_inter = b.min_user_inter = 2;
    b.kcore_iterative = (sel & 4) != 0;

    Err err = {{0}};
    EventLog log;
    evlog_init(&log);
    if (load_input(data, size, sel, &log, &err) < 0) {
        check_error(&err);
        evlog_free(&log);
        return 0;
    }
    CHECK(log.n_events > 0);
    Dataset ds;
    if (dataset_build(&log, &b, &ds, &err) < 0) { /* consumes log */
        check_error(&err);
        return 0;
    }
    check_dataset(&ds, &b);
    dataset_free(&ds);
    return 0;
}
