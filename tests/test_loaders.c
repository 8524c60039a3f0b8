/* Loader tests: every format on hand-made fixtures (tests/fixtures/loaders/),
 * bad input (file:line: messages), gzip input, and the real samples in
 * ../shared/data (skipped when absent). Expected values in the real-data tests
 * were counted independently with awk/python on the same files. */
#include <zlib.h>

#include "data/loader.h"
#include "test.h"
#include "util/fileio.h"

/* ---- helpers ---------------------------------------------------------------- */

/* tests/fixtures/loaders/<name>, found next to this source file. */
static const char *fixture(const char *name)
{
    static char buf[8][1024];
    static int slot;
    char *p = buf[slot++ % 8];
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    int dirlen = slash ? (int)(slash - src + 1) : 0;
    snprintf(p, 1024, "%.*sfixtures/loaders/%s", dirlen, src, name);
    return p;
}

static LoadOptions opts(const char *format, const char *path)
{
    LoadOptions o = {.path = path, .format = format, .item_features = "", .actions = ""};
    return o;
}

/* Loads and reports the error message on failure. */
static int load_ok(const LoadOptions *o, Dataset *ds, int at)
{
    Err err = {{0}};
    memset(ds, 0, sizeof *ds);
    if (dataset_load(o, ds, &err) == 0) return 0;
    test_fail(__FILE__, at, "loading %s (%s) failed: %s", o->path, o->format, err.msg);
    return -1;
}
#define LOAD_OK(o, ds) (load_ok((o), (ds), __LINE__) == 0)

/* Expects dataset_load to fail with a message naming "file:line:" (line > 0)
 * or "file" (line 0) and containing word. */
static void expect_error(const LoadOptions *o, const char *file, int line, const char *word, int at)
{
    Dataset ds;
    Err err = {{0}};
    memset(&ds, 0, sizeof ds);
    if (dataset_load(o, &ds, &err) == 0) {
        test_fail(__FILE__, at, "expected loading %s (%s) to fail", o->path, o->format);
        dataset_free(&ds);
        return;
    }
    char where[256];
    if (line > 0) snprintf(where, sizeof where, "%s:%d:", file, line);
    else snprintf(where, sizeof where, "%s", file);
    if (!strstr(err.msg, where) || !strstr(err.msg, word))
        test_fail(__FILE__, at, "error message '%s' lacks '%s' or '%s'", err.msg, where, word);
    if (strchr(err.msg, '\n')) test_fail(__FILE__, at, "error message is not one line: '%s'", err.msg);
}
#define EXPECT_ERROR(o, file, line, word) expect_error((o), (file), (line), (word), __LINE__)

/* Writes text to a scratch file and expects the given format to reject it. */
static void expect_bad_text(const char *format, const char *name, const char *text, int line, const char *word, int at)
{
    LoadOptions o = opts(format, test_write_file(name, text));
    expect_error(&o, name, line, word, at);
}
#define EXPECT_BAD(format, name, text, line, word) expect_bad_text((format), (name), (text), (line), (word), __LINE__)

/* Space-joined names of ids (rotating static buffers, small data only). */
static const char *join(const StrTab *names, const int32_t *ids, int64_t n)
{
    static char buf[4][1024];
    static int slot;
    char *p = buf[slot++ % 4];
    size_t w = 0;
    p[0] = '\0';
    for (int64_t k = 0; k < n && w < sizeof buf[0]; k++)
        w += (size_t)snprintf(p + w, sizeof buf[0] - w, "%s%s", k ? " " : "", strtab_get(names, ids[k]));
    return p;
}

static int32_t user_of(const Dataset *ds, const char *raw)
{
    return strtab_find(&ds->user_ids, raw, strlen(raw));
}

static int32_t item_of(const Dataset *ds, const char *raw)
{
    return strtab_find(&ds->item_ids, raw, strlen(raw));
}

/* Raw item ids of a user's sequence, oldest first. */
static const char *seq_of(const Dataset *ds, const char *raw_user)
{
    int32_t u = user_of(ds, raw_user);
    if (u < 0) return "(no such user)";
    return join(&ds->item_ids, ds_user_seq(ds, u), ds_user_len(ds, u));
}

/* Raw feature ids of an item, in the order first given. */
static const char *feats_of(const Dataset *ds, const char *raw_item)
{
    int32_t i = item_of(ds, raw_item);
    if (i < 0) return "(no such item)";
    return join(&ds->feat_ids, ds->feat + ds->feat_ptr[i], ds->feat_ptr[i + 1] - ds->feat_ptr[i]);
}

/* Time keys of a user's sequence as text. */
static const char *times_of(const Dataset *ds, const char *raw_user)
{
    static char buf[2][512];
    static int slot;
    char *p = buf[slot++ % 2];
    int32_t u = user_of(ds, raw_user);
    size_t w = 0;
    p[0] = '\0';
    for (int64_t k = u < 0 ? 0 : ds->user_ptr[u]; u >= 0 && k < ds->user_ptr[u + 1] && w < sizeof buf[0]; k++)
        w += (size_t)snprintf(p + w, sizeof buf[0] - w, "%s%lld", k > ds->user_ptr[u] ? " " : "", (long long)ds->time[k]);
    return p;
}

static int times_sorted(const Dataset *ds)
{
    for (int32_t u = 0; u < ds->n_users; u++)
        for (int64_t k = ds->user_ptr[u] + 1; k < ds->user_ptr[u + 1]; k++)
            if (ds->time[k] < ds->time[k - 1]) return 0;
    return 1;
}

static int64_t n_feature_pairs(const Dataset *ds) { return ds->feat_ptr[ds->n_items]; }

/* Items with exactly `lo`..`hi` features. */
static int32_t items_with_feats(const Dataset *ds, int lo, int hi)
{
    int32_t n = 0;
    for (int32_t i = 0; i < ds->n_items; i++) {
        int32_t c = ds->feat_ptr[i + 1] - ds->feat_ptr[i];
        n += c >= lo && c <= hi;
    }
    return n;
}

/* ---- comirec ---------------------------------------------------------------- */

TEST(loader_comirec_category_file)
{
    LoadOptions o = opts("comirec", fixture("comirec_cate.csv"));
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 3);
    CHECK_EQ_INT(ds.n_inter, 5);
    CHECK_EQ_INT(ds.n_feats, 2);
    /* non-integer user ids sort bytewise; integer item ids numerically */
    CHECK_STR(strtab_get(&ds.user_ids, 0), "u1");
    CHECK_STR(strtab_get(&ds.item_ids, 0), "100");
    CHECK_STR(strtab_get(&ds.item_ids, 2), "102");
    /* sorted by time; the tie at ...001 keeps file order (101 before 102) */
    CHECK_STR(seq_of(&ds, "u1"), "101 102 100");
    CHECK_STR(times_of(&ds, "u1"), "1500000001 1500000001 1500000003");
    CHECK_STR(seq_of(&ds, "u2"), "100 102");
    CHECK_STR(feats_of(&ds, "100"), "7");
    CHECK_STR(feats_of(&ds, "101"), "8");
    CHECK_STR(feats_of(&ds, "102"), "8");
    dataset_free(&ds);
}

/* 45 rows: users 1..6 x items 1..6 (a solid core), users 1..4 also have item 7,
 * user 7 has items 7..11. With min_item_inter = min_user_inter = 5:
 *   one pass (ComiRec): items 8..11 (1 row each) go, then user 7 (1 row left)
 *     -> 6 users, 7 items, 40 rows; item 7 keeps 4 rows.
 *   iterative: item 7 (now 4 rows) goes too -> 6 users, 6 items, 36 rows. */
TEST(loader_comirec_time_rank_kcore)
{
    LoadOptions o = opts("comirec", fixture("comirec_kcore.csv"));
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 7);
    CHECK_EQ_INT(ds.n_items, 11);
    CHECK_EQ_INT(ds.n_inter, 45);
    CHECK_EQ_INT(ds.n_feats, 0);
    CHECK_STR(seq_of(&ds, "7"), "7 8 9 10 11");
    CHECK_STR(times_of(&ds, "7"), "0 1 2 3 4");
    dataset_free(&ds);

    o.build.min_item_inter = 5;
    o.build.min_user_inter = 5;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 6);
    CHECK_EQ_INT(ds.n_items, 7);
    CHECK_EQ_INT(ds.n_inter, 40);
    CHECK(user_of(&ds, "7") < 0);
    CHECK_STR(seq_of(&ds, "1"), "1 2 3 4 5 6 7");
    CHECK_STR(strtab_get(&ds.item_ids, 6), "7");
    dataset_free(&ds);

    o.build.kcore_iterative = 1;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 6);
    CHECK_EQ_INT(ds.n_items, 6);
    CHECK_EQ_INT(ds.n_inter, 36);
    CHECK(item_of(&ds, "7") < 0);
    CHECK_STR(seq_of(&ds, "1"), "1 2 3 4 5 6");
    dataset_free(&ds);
}

TEST(loader_comirec_bad_input)
{
    EXPECT_BAD("comirec", "ld_cr_cols.csv", "1,2,3,4\n1,3,5,6\n2,4,9\n", 3, "expected 4 fields");
    EXPECT_BAD("comirec", "ld_cr_first.csv", "\n1,2\n", 2, "fields");
    EXPECT_BAD("comirec", "ld_cr_ts.csv", "1,2,0\n1,3,x1\n", 2, "integer timestamp");
    EXPECT_BAD("comirec", "ld_cr_float.csv", "1,2,1.5\n", 1, "integer timestamp");
    EXPECT_BAD("comirec", "ld_cr_overflow.csv", "1,2,0\n1,3,99999999999999999999\n", 2, "64-bit");
    EXPECT_BAD("comirec", "ld_cr_item.csv", "1,2,0\n1,,1\n", 2, "non-empty item_id");
    EXPECT_BAD("comirec", "ld_cr_cate.csv", "1,2,,5\n", 1, "non-empty cate_id");
    EXPECT_BAD("comirec", "ld_cr_empty.csv", "", 0, "no interactions");
    EXPECT_BAD("comirec", "ld_cr_blank.csv", "\n  \n", 0, "no interactions");
    char wide[1024] = "1,2,3\n";
    for (int k = 0; k < 300; k++) strcat(wide, ",");
    EXPECT_BAD("comirec", "ld_cr_wide.csv", wide, 2, "at most 256 fields");
    LoadOptions o = opts("comirec", "/nonexistent/ld_missing.csv");
    EXPECT_ERROR(&o, "ld_missing.csv", 0, "cannot open");
}

/* ---- tmall ------------------------------------------------------------------ */

/* A pandas re-export (leading unnamed index column) whose columns are also in
 * another order than the published header: the loader finds them by name. */
TEST(loader_tmall_pandas_file)
{
    LoadOptions o = opts("tmall", fixture("tmall_log.csv"));
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 5);
    CHECK_EQ_INT(ds.n_inter, 7);
    /* rows are out of time order; same-day rows keep file order */
    CHECK_STR(seq_of(&ds, "10"), "501 502 500 500");
    CHECK_STR(times_of(&ds, "10"), "830 830 1111 1111");
    CHECK_STR(seq_of(&ds, "20"), "504 501 503");
    CHECK_STR(times_of(&ds, "20"), "101 511 1231");
    CHECK_EQ_INT(ds.n_feats, 3);
    CHECK_STR(feats_of(&ds, "500"), "7");
    CHECK_STR(feats_of(&ds, "501"), "8");
    CHECK_STR(feats_of(&ds, "504"), "9");
    dataset_free(&ds);

    o.actions = "2"; /* purchases */
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 3);
    CHECK_EQ_INT(ds.n_inter, 3);
    CHECK_STR(seq_of(&ds, "10"), "501 500");
    CHECK_STR(seq_of(&ds, "20"), "503");
    dataset_free(&ds);

    o.actions = "0,3";
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_items, 4);
    CHECK_EQ_INT(ds.n_inter, 4);
    CHECK_STR(seq_of(&ds, "10"), "502 500");
    CHECK_STR(seq_of(&ds, "20"), "504 501");
    dataset_free(&ds);

    o.actions = "";
    o.build.dedup = 1; /* user 10 clicked, then bought 500 on the same day: the purchase goes */
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 6);
    CHECK_STR(seq_of(&ds, "10"), "501 502 500");
    dataset_free(&ds);
}

TEST(loader_tmall_header_by_name)
{
    /* Columns in another order, a UTF-8 BOM and CRLF line ends. */
    const char *path = test_write_file("ld_tm_order.csv", "\xEF\xBB\xBF"
                                                          "action_type,time_stamp,item_id,user_id,cat_id\r\n"
                                                          "2,1111,7,1,70\r\n"
                                                          "0,0510,8,1,80\r\n");
    LoadOptions o = opts("tmall", path);
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 1);
    CHECK_EQ_INT(ds.n_inter, 2);
    CHECK_STR(seq_of(&ds, "1"), "8 7");
    CHECK_STR(times_of(&ds, "1"), "510 1111");
    CHECK_STR(feats_of(&ds, "7"), "70");
    dataset_free(&ds);
}

TEST(loader_tmall_bad_input)
{
    const char *hdr = "user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n";
    char text[512];
    EXPECT_BAD("tmall", "ld_tm_hdr.csv", "user_id,item_id,cat_id,seller_id,brand_id\n1,2,3,4,5\n", 1, "time_stamp, action_type");
    EXPECT_BAD("tmall", "ld_tm_nohdr.csv", "1,2,3,4,5,830,0\n", 1, "without user_id");
    snprintf(text, sizeof text, "%s1,2,3,4,5,830,0\n1,2,3,4,5,1301,0\n", hdr);
    EXPECT_BAD("tmall", "ld_tm_month.csv", text, 3, "mmdd");
    snprintf(text, sizeof text, "%s1,2,3,4,5,230,0\n", hdr);
    EXPECT_BAD("tmall", "ld_tm_day.csv", text, 2, "mmdd");
    snprintf(text, sizeof text, "%s1,2,3,4,5,Aug29,0\n", hdr);
    EXPECT_BAD("tmall", "ld_tm_ts.csv", text, 2, "integer time_stamp");
    snprintf(text, sizeof text, "%s1,2,3,4,5,830,0\n\n1,2,3,4,830,0\n", hdr);
    EXPECT_BAD("tmall", "ld_tm_cols.csv", text, 4, "expected 7 fields");
    snprintf(text, sizeof text, "%s1,2,3,4,5,830,7\n", hdr);
    EXPECT_BAD("tmall", "ld_tm_action.csv", text, 2, "action_type");
    snprintf(text, sizeof text, "%s,2,3,4,5,830,0\n", hdr);
    EXPECT_BAD("tmall", "ld_tm_user.csv", text, 2, "non-empty user_id");
    EXPECT_BAD("tmall", "ld_tm_only_hdr.csv", hdr, 0, "no interactions");

    snprintf(text, sizeof text, "%s1,2,3,4,5,830,0\n", hdr);
    LoadOptions o = opts("tmall", test_write_file("ld_tm_filtered.csv", text));
    o.actions = "2";
    EXPECT_ERROR(&o, "ld_tm_filtered.csv", 0, "dropped all 1 rows");
    o.actions = "purchase";
    EXPECT_ERROR(&o, "--actions", 0, "0,1,2,3");
}

/* ---- taobao ----------------------------------------------------------------- */

TEST(loader_taobao_file)
{
    LoadOptions o = opts("taobao", fixture("taobao.csv"));
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 4);
    CHECK_EQ_INT(ds.n_inter, 6);
    CHECK_STR(strtab_get(&ds.item_ids, 0), "9"); /* numeric order, not "3104417" < "9" */
    CHECK_STR(strtab_get(&ds.user_ids, 1), "100");
    CHECK_STR(seq_of(&ds, "1"), "3104417 3207759 3104417 4400001");
    CHECK_STR(seq_of(&ds, "100"), "9 4400001"); /* file lists them newest first */
    CHECK_STR(times_of(&ds, "100"), "1511500000 1511600000");
    CHECK_EQ_INT(ds.n_feats, 3);
    CHECK_STR(feats_of(&ds, "3104417"), "2611088");
    CHECK_STR(feats_of(&ds, "9"), "555001");
    CHECK_STR(strtab_get(&ds.feat_ids, 0), "555001");
    dataset_free(&ds);

    o.build.dedup = 1; /* the cart of 3104417 repeats the earlier pv */
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 5);
    CHECK_STR(seq_of(&ds, "1"), "3104417 3207759 4400001");
    dataset_free(&ds);

    o.build.dedup = 0;
    o.actions = "pv";
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 3);
    CHECK_EQ_INT(ds.n_inter, 3);
    CHECK_STR(seq_of(&ds, "100"), "4400001");
    dataset_free(&ds);

    o.actions = "buy,cart";
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 1);
    CHECK_EQ_INT(ds.n_inter, 2);
    CHECK_STR(seq_of(&ds, "1"), "3104417 4400001");
    CHECK_STR(feats_of(&ds, "4400001"), "555001");
    dataset_free(&ds);
}

TEST(loader_taobao_bad_input)
{
    EXPECT_BAD("taobao", "ld_tb_beh.csv", "1,2,3,pv,100\n1,2,3,click,101\n", 2, "behavior_type");
    EXPECT_BAD("taobao", "ld_tb_cols.csv", "1,2,3,pv,100\n1,2,pv,101\n", 2, "expected 5 fields");
    EXPECT_BAD("taobao", "ld_tb_ts.csv", "1,2,3,pv,2017-11-25\n", 1, "integer timestamp");
    EXPECT_BAD("taobao", "ld_tb_hdr.csv", "user_id,item_id,category_id,behavior_type,timestamp\n", 1, "integer timestamp");
    EXPECT_BAD("taobao", "ld_tb_cat.csv", "1,2,,pv,100\n", 1, "non-empty category_id");
    EXPECT_BAD("taobao", "ld_tb_empty.csv", "", 0, "no interactions");
    LoadOptions o = opts("taobao", fixture("taobao.csv"));
    o.actions = "click";
    EXPECT_ERROR(&o, "--actions", 0, "pv,buy,cart,fav");
}

/* ---- recbole ---------------------------------------------------------------- */

TEST(loader_recbole_inter_file)
{
    LoadOptions o = opts("recbole", fixture("recbole.inter"));
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 3);
    CHECK_EQ_INT(ds.n_items, 4);
    CHECK_EQ_INT(ds.n_inter, 5);
    /* 1000000500.9 truncates to 1000000500, tying with 501, which comes first in the file */
    CHECK_STR(seq_of(&ds, "731"), "503 501 51");
    CHECK_STR(times_of(&ds, "731"), "1000000100 1000000500 1000000500");
    CHECK_STR(strtab_get(&ds.item_ids, 0), "51");
    dataset_free(&ds);

    o.min_rating = 3;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 2);
    CHECK_EQ_INT(ds.n_inter, 2);
    CHECK_STR(seq_of(&ds, "731"), "501");
    dataset_free(&ds);

    o.min_rating = 2;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 3);
    CHECK_STR(seq_of(&ds, "731"), "501 51");
    dataset_free(&ds);
}

TEST(loader_recbole_no_timestamp_uses_line_order)
{
    const char *path = test_write_file("ld_rb_order.inter", "item_id:token\tgenre:token_seq\tuser_id:token\n"
                                                            "i9\tAction Drama\tu1\n"
                                                            "i3\t\tu1\n"
                                                            "i5\tComedy\tu2\n"
                                                            "i1\tWar\tu1\n");
    LoadOptions o = opts("recbole", path);
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 4);
    CHECK_STR(seq_of(&ds, "u1"), "i9 i3 i1");
    CHECK_STR(strtab_get(&ds.item_ids, 0), "i1");
    dataset_free(&ds);
}

TEST(loader_recbole_bad_input)
{
    EXPECT_BAD("recbole", "ld_rb_untyped.inter", "user_id\titem_id\n1\t2\n", 1, "name:type");
    EXPECT_BAD("recbole", "ld_rb_type.inter", "user_id:token\titem_id:int\n1\t2\n", 1, "field type");
    EXPECT_BAD("recbole", "ld_rb_item.inter", "user_id:token\titem:token\n1\t2\n", 1, "item_id");
    EXPECT_BAD("recbole", "ld_rb_ts.inter", "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t5\n1\t3\tnoon\n", 3,
               "number for timestamp");
    EXPECT_BAD("recbole", "ld_rb_big.inter", "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t1e30\n", 2, "64-bit");
    EXPECT_BAD("recbole", "ld_rb_cols.inter", "user_id:token\titem_id:token\ttimestamp:float\n1\t2\n", 2, "expected 3");
    EXPECT_BAD("recbole", "ld_rb_csv.inter", "user_id:token,item_id:token\n1,2\n", 1, "field type");
    EXPECT_BAD("recbole", "ld_rb_hdr_only.inter", "user_id:token\titem_id:token\n", 0, "no interactions");

    LoadOptions o = opts("recbole", test_write_file("ld_rb_norating.inter", "user_id:token\titem_id:token\n1\t2\n"));
    o.min_rating = 4;
    EXPECT_ERROR(&o, "ld_rb_norating.inter", 1, "rating");
    o = opts("recbole", test_write_file("ld_rb_rating.inter", "user_id:token\titem_id:token\trating:float\n1\t2\t4\n1\t3\tfive\n"));
    o.min_rating = 4;
    EXPECT_ERROR(&o, "ld_rb_rating.inter", 3, "number for rating");
}

/* ---- movielens -------------------------------------------------------------- */

/* A scratch directory under the test tmpdir (its path; valid until the next call). */
static const char *ml_scratch_dir(const char *name)
{
    static char buf[512];
    Err err;
    snprintf(buf, sizeof buf, "%s/%s", test_tmpdir(), name);
    if (mkdir_p(buf, &err) < 0) test_fail(__FILE__, __LINE__, "%s", err.msg);
    return buf;
}

/* An invented ml-100k directory, written by the test (the real files' names,
 * none of their content): 5 ratings of 3 users on 3 of 4 movies, 19 genres. */
static const char *ml_100k_dir(void)
{
    ml_scratch_dir("ld_ml_100k");
    test_write_file("ld_ml_100k/u.data", "731\t501\t3\t1000000500\n653\t502\t3\t1000000900\n"
                                         "731\t502\t5\t1000000400\n419\t503\t1\t1000000100\n"
                                         "653\t501\t4\t1000000900\n");
    test_write_file("ld_ml_100k/u.genre", "Abstract|0\nBatch|1\nBravo|2\nCartoon|3\nCubs'|4\nDueling|5\nEscape|6\n"
                                          "Fact|7\nGrave|8\nHex|9\nIdle-Noir|10\nJolt|11\nKaraoke|12\nLabyrinth|13\n"
                                          "Moonlit|14\nNebula|15\nOutrun|16\nParade|17\nQuest|18\n\n");
    test_write_file("ld_ml_100k/u.item",
                    "501|Film A (1996)|24-Jan-1997||http://example.org/a|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                    "502|Film B (1997)|01-Jan-1997||http://example.org/b|0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0\n"
                    "503|Film C (1994)|01-Jan-1994||http://example.org/c|0|0|0|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                    "599|Film D (1998)|01-Jan-1998||http://example.org/d|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
    return ml_scratch_dir("ld_ml_100k");
}

TEST(loader_movielens_100k_directory)
{
    LoadOptions o = opts("movielens", ml_100k_dir());
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 3);
    CHECK_EQ_INT(ds.n_items, 3);
    CHECK_EQ_INT(ds.n_inter, 5);
    CHECK_STR(seq_of(&ds, "731"), "502 501");
    CHECK_STR(seq_of(&ds, "653"), "502 501"); /* same second: file order */
    CHECK_STR(times_of(&ds, "653"), "1000000900 1000000900");
    /* genre names from u.genre, in flag order; movie 599 has no ratings */
    CHECK_STR(feats_of(&ds, "501"), "Dueling");
    CHECK_STR(feats_of(&ds, "502"), "Escape Idle-Noir Labyrinth Outrun");
    CHECK_STR(feats_of(&ds, "503"), "Cubs' Dueling");
    CHECK_EQ_INT(ds.n_feats, 6);
    dataset_free(&ds);

    /* The u.data file itself: the genre files next to it still apply. */
    char data_file[600];
    snprintf(data_file, sizeof data_file, "%s/u.data", ml_100k_dir());
    o = opts("movielens", data_file);
    o.min_rating = 4;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 2);
    CHECK_EQ_INT(ds.n_inter, 2);
    CHECK_STR(seq_of(&ds, "731"), "502");
    CHECK_STR(seq_of(&ds, "653"), "501");
    CHECK_EQ_INT(ds.n_feats, 5);
    dataset_free(&ds);
}

/* Without u.genre the flags are named genre<k>; without u.item there are none. */
TEST(loader_movielens_genre_fallbacks)
{
    ml_scratch_dir("ld_ml_nogenre");
    test_write_file("ld_ml_nogenre/u.data", "1\t10\t4\t100\n1\t11\t4\t99\n");
    test_write_file("ld_ml_nogenre/u.item", "10|T|d||u|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n"
                                            "11|A|B|C|d||u|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
    LoadOptions o = opts("movielens", ml_scratch_dir("ld_ml_nogenre"));
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_STR(seq_of(&ds, "1"), "11 10");
    CHECK_STR(feats_of(&ds, "10"), "genre1 genre18");
    CHECK_STR(feats_of(&ds, "11"), "genre0"); /* extra '|' in the title: flags are the last 19 fields */
    dataset_free(&ds);

    ml_scratch_dir("ld_ml_noitem");
    o = opts("movielens", test_write_file("ld_ml_noitem/u.data", "1\t10\t4\t100\n"));
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 1);
    CHECK_EQ_INT(ds.n_feats, 0);
    dataset_free(&ds);
}

/* An invented ml-1m directory, written by the test (the real files' names,
 * none of their content): 4 ratings of 2 users on 3 movies. */
static const char *ml_1m_dir(void)
{
    ml_scratch_dir("ld_ml_1m");
    test_write_file("ld_ml_1m/ratings.dat", "1::4301::5::1000000100\n1::4101::3::1000000700\n"
                                            "2::4301::4::1000000100\n1::4201::3::1000000300\n");
    test_write_file("ld_ml_1m/movies.dat", "4301::Film E (1975)::Drama\n"
                                           "4101::Film F (1996)::Animation|Children's|Musical\n"
                                           "4201::Film G (1964)::Musical|Romance\n");
    return ml_scratch_dir("ld_ml_1m");
}

TEST(loader_movielens_1m_directory)
{
    LoadOptions o = opts("movielens", ml_1m_dir());
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 3);
    CHECK_EQ_INT(ds.n_inter, 4);
    CHECK_STR(seq_of(&ds, "1"), "4301 4201 4101");
    CHECK_STR(times_of(&ds, "1"), "1000000100 1000000300 1000000700");
    CHECK_STR(strtab_get(&ds.item_ids, 0), "4101");
    CHECK_STR(feats_of(&ds, "4101"), "Animation Children's Musical");
    CHECK_STR(feats_of(&ds, "4201"), "Musical Romance");
    CHECK_STR(feats_of(&ds, "4301"), "Drama");
    CHECK_EQ_INT(ds.n_feats, 5);
    CHECK_STR(strtab_get(&ds.feat_ids, 0), "Animation");
    dataset_free(&ds);

    char data_file[600];
    snprintf(data_file, sizeof data_file, "%s/ratings.dat", ml_1m_dir());
    o = opts("movielens", data_file);
    o.min_rating = 4.5;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 1);
    CHECK_STR(seq_of(&ds, "1"), "4301");
    dataset_free(&ds);
}

TEST(loader_movielens_bad_input)
{
    EXPECT_BAD("movielens", "ld_ml_cols.data", "1\t2\t3\t4\n1\t2\t3\n", 2, "expected 4 fields");
    EXPECT_BAD("movielens", "ld_ml_spaces.data", "1 2 3 4\n", 1, "expected 4 fields");
    EXPECT_BAD("movielens", "ld_ml_rating.data", "1\t2\tgood\t4\n", 1, "number for rating");
    EXPECT_BAD("movielens", "ld_ml_ts.dat", "1::2::5::1000000100\n1::3::5::soon\n", 2, "integer timestamp");
    EXPECT_BAD("movielens", "ld_ml_1m_cols.dat", "1::2::5::1000000100\n1::3::5\n", 2, "expected 4 fields");
    EXPECT_BAD("movielens", "ld_ml_empty.data", "", 0, "no interactions");

    LoadOptions o = opts("movielens", ml_scratch_dir("ld_ml_emptydir"));
    EXPECT_ERROR(&o, "ld_ml_emptydir", 0, "u.data");

    ml_scratch_dir("ld_ml_badflag");
    test_write_file("ld_ml_badflag/u.data", "1\t10\t4\t100\n");
    test_write_file("ld_ml_badflag/u.item", "10|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n"
                                            "11|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|yes|0\n");
    o = opts("movielens", ml_scratch_dir("ld_ml_badflag"));
    EXPECT_ERROR(&o, "u.item:2:", 0, "genre flag");

    ml_scratch_dir("ld_ml_shortitem");
    test_write_file("ld_ml_shortitem/u.data", "1\t10\t4\t100\n");
    test_write_file("ld_ml_shortitem/u.item", "10|T|0|1\n");
    o = opts("movielens", ml_scratch_dir("ld_ml_shortitem"));
    EXPECT_ERROR(&o, "u.item:1:", 0, "expected 24");

    ml_scratch_dir("ld_ml_badgenre");
    test_write_file("ld_ml_badgenre/u.data", "1\t10\t4\t100\n");
    test_write_file("ld_ml_badgenre/u.genre", "Batch|1\nWestern|19\n");
    test_write_file("ld_ml_badgenre/u.item", "10|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n");
    o = opts("movielens", ml_scratch_dir("ld_ml_badgenre"));
    EXPECT_ERROR(&o, "u.genre:2:", 0, "genre index 0..18");
}

/* ---- item features ---------------------------------------------------------- */

TEST(loader_features_json)
{
    LoadOptions o = opts("seq", fixture("feat_seq.txt"));
    o.item_features = fixture("item_attrs.json");
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_items, 4);
    CHECK_STR(feats_of(&ds, "1"), "10 11"); /* duplicate 10 removed */
    CHECK_STR(feats_of(&ds, "2"), "brand_x 12");
    CHECK_STR(feats_of(&ds, "3"), "");
    CHECK_STR(feats_of(&ds, "4"), "");
    CHECK_EQ_INT(ds.n_feats, 4); /* 13 belongs to item 999, which has no events */
    CHECK_STR(strtab_get(&ds.feat_ids, 0), "10");
    CHECK_STR(strtab_get(&ds.feat_ids, 3), "brand_x");
    dataset_free(&ds);

    /* a byte-order mark before the object (editors on Windows add one) */
    o.item_features = test_write_file("ld_ft_bom.json", "\xEF\xBB\xBF{\"4\": [1.0, 2.5]}");
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_STR(feats_of(&ds, "4"), "1 2.5");
    CHECK_EQ_INT(ds.n_feats, 2);
    dataset_free(&ds);
}

TEST(loader_features_csv)
{
    LoadOptions o = opts("seq", fixture("feat_seq.txt"));
    o.item_features = fixture("item_cate.csv");
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_STR(feats_of(&ds, "1"), "5");
    CHECK_STR(feats_of(&ds, "2"), "6 7");
    CHECK_STR(feats_of(&ds, "3"), "");
    CHECK_STR(feats_of(&ds, "4"), "5");
    CHECK_EQ_INT(ds.n_feats, 3);
    dataset_free(&ds);

    /* comirec's own cate_id column and a features file add up */
    o = opts("comirec", fixture("comirec_cate.csv"));
    o.item_features = test_write_file("ld_ft_extra.csv", "100,b1\n102,8\n");
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_STR(feats_of(&ds, "100"), "7 b1");
    CHECK_STR(feats_of(&ds, "102"), "8");
    dataset_free(&ds);
}

static void expect_bad_features(const char *name, const char *text, int line, const char *word, int at)
{
    LoadOptions o = opts("seq", fixture("feat_seq.txt"));
    o.item_features = test_write_file(name, text);
    expect_error(&o, name, line, word, at);
}
#define EXPECT_BAD_FEATURES(name, text, line, word) expect_bad_features((name), (text), (line), (word), __LINE__)

TEST(loader_features_bad_input)
{
    EXPECT_BAD_FEATURES("ld_ft_syntax.json", "{\n  \"1\": [1, 2],\n  \"2\": [3 4]\n}\n", 3, "invalid JSON");
    EXPECT_BAD_FEATURES("ld_ft_trunc.json", "{\"1\": [1, 2]", 1, "invalid JSON");
    EXPECT_BAD_FEATURES("ld_ft_array.json", "\n[[1, 2]]\n", 2, "expected a JSON object");
    EXPECT_BAD_FEATURES("ld_ft_value.json", "{\n\"1\": [1],\n\"2\": 5\n}", 3, "expected an array");
    EXPECT_BAD_FEATURES("ld_ft_elem.json", "{\"1\": [1, true]}", 1, "got a boolean");
    EXPECT_BAD_FEATURES("ld_ft_estr.json", "{\"1\": [\"\"]}", 1, "empty string");
    EXPECT_BAD_FEATURES("ld_ft_nomatch.json", "{\"a\": [1], \"b\": [2]}", 0, "none of the 2 items");
    EXPECT_BAD_FEATURES("ld_ft_cols.csv", "1,5\n2\n", 2, "item,feature");
    EXPECT_BAD_FEATURES("ld_ft_empty_feat.csv", "1,5\n2,6,\n", 2, "non-empty feature");
    EXPECT_BAD_FEATURES("ld_ft_empty.csv", "", 0, "got none");
    LoadOptions o = opts("seq", fixture("feat_seq.txt"));
    o.item_features = "/nonexistent/ld_ft_missing.json";
    EXPECT_ERROR(&o, "ld_ft_missing.json", 0, "cannot open");
}

/* ---- gzip ------------------------------------------------------------------- */

static const char *write_gz(const char *name, const char *text)
{
    static char path[2][1024];
    static int slot;
    char *p = path[slot++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", test_tmpdir(), name);
    gzFile gz = gzopen(p, "wb");
    if (!gz || gzwrite(gz, text, (unsigned)strlen(text)) != (int)strlen(text)) test_fail(__FILE__, __LINE__, "gzwrite %s", p);
    if (gz) gzclose(gz);
    return p;
}

TEST(loader_gzip_input)
{
    LoadOptions o = opts("taobao", write_gz("ld_gz_ub.csv.gz", "5,1,70,pv,300\n5,2,71,buy,200\n6,1,70,fav,100\n"));
    o.item_features = write_gz("ld_gz_attrs.json.gz", "{\"1\": [\"x\"], \"2\": [9]}");
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 2);
    CHECK_EQ_INT(ds.n_items, 2);
    CHECK_EQ_INT(ds.n_inter, 3);
    CHECK_STR(seq_of(&ds, "5"), "2 1");
    CHECK_STR(feats_of(&ds, "1"), "70 x");
    CHECK_STR(feats_of(&ds, "2"), "71 9");
    dataset_free(&ds);

    o = opts("taobao", write_gz("ld_gz_bad.csv.gz", "5,1,70,pv,300\n5,2,71,buy\n"));
    EXPECT_ERROR(&o, "ld_gz_bad.csv.gz", 2, "expected 5 fields");
}

/* ---- real data (../shared/data; skipped when absent) ------------------------ */

TEST(loader_real_beauty_with_attributes)
{
    const char *seq = test_data_path("amazon-beauty/Beauty.txt");
    const char *attrs = test_data_path("amazon-beauty/Beauty_item2attributes.json");
    if (!seq || !attrs) SKIP("amazon-beauty not available");
    LoadOptions o = opts("seq", seq);
    o.item_features = attrs;
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 22363);
    CHECK_EQ_INT(ds.n_items, 12101);
    CHECK_EQ_INT(ds.n_inter, 198502);
    CHECK_EQ_INT(ds.n_feats, 637);
    CHECK_EQ_INT(items_with_feats(&ds, 1, 1000), 12101);
    CHECK_EQ_INT(n_feature_pairs(&ds), 45032); /* 45037 listed, 5 repeated within an item */
    /* dense ids follow the raw ids numerically: item i is "i+1", user u is "u+1" */
    int bad_items = 0, bad_users = 0;
    char want[32];
    for (int32_t i = 0; i < ds.n_items; i++) {
        snprintf(want, sizeof want, "%d", i + 1);
        bad_items += strcmp(strtab_get(&ds.item_ids, i), want) != 0;
    }
    for (int32_t u = 0; u < ds.n_users; u++) {
        snprintf(want, sizeof want, "%d", u + 1);
        bad_users += strcmp(strtab_get(&ds.user_ids, u), want) != 0;
    }
    CHECK_EQ_INT(bad_items, 0);
    CHECK_EQ_INT(bad_users, 0);
    CHECK_EQ_INT(ds.seq[0], 0); /* user 1 starts with items 1 2 3 4 */
    CHECK_EQ_INT(ds.seq[3], 3);
    CHECK_EQ_INT(ds.time[3], 3); /* seq time key = position */
    dataset_free(&ds);
}

TEST(loader_real_books_comirec_with_categories)
{
    const char *train = test_data_path("amazon-books-comirec-sample/book_train_head20000.txt");
    const char *cate = test_data_path("amazon-books-comirec-sample/book_item_cate.txt");
    if (!train || !cate) SKIP("amazon-books-comirec-sample not available");
    LoadOptions o = opts("comirec", train);
    o.item_features = cate;
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 1467);
    CHECK_EQ_INT(ds.n_items, 17049);
    CHECK_EQ_INT(ds.n_inter, 20000);
    CHECK_EQ_INT(items_with_feats(&ds, 1, 1), 17049); /* exactly one category each */
    CHECK_EQ_INT(ds.n_feats, 389);
    CHECK_STR(strtab_get(&ds.user_ids, 1466), "1466");
    CHECK_EQ_INT(ds_user_len(&ds, 1466), 4); /* truncated by the head cut */
    CHECK_STR(strtab_get(&ds.item_ids, ds.seq[0]), "17978");
    CHECK_STR(strtab_get(&ds.item_ids, ds.seq[1]), "901");
    CHECK(times_sorted(&ds));
    dataset_free(&ds);
}

TEST(loader_real_tmall_sample)
{
    const char *path = test_data_path("tmall-ijcai15-sample/user_log_format1_head10000.csv");
    if (!path) SKIP("tmall-ijcai15-sample not available");
    LoadOptions o = opts("tmall", path);
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 62);
    CHECK_EQ_INT(ds.n_items, 5916);
    CHECK_EQ_INT(ds.n_inter, 10000);
    CHECK_EQ_INT(ds.n_feats, 450);
    CHECK_EQ_INT(items_with_feats(&ds, 1, 2), 5916);
    CHECK_EQ_INT(n_feature_pairs(&ds), 5918); /* 2 items carry two cat_ids */
    CHECK(times_sorted(&ds));
    /* user 328862 (rows out of order in the file): earliest row first */
    int32_t u = user_of(&ds, "328862");
    REQUIRE(u >= 0);
    CHECK_EQ_INT(ds_user_len(&ds, u), 419);
    CHECK_STR(strtab_get(&ds.item_ids, ds_user_seq(&ds, u)[0]), "1068751");
    CHECK_EQ_INT(ds.time[ds.user_ptr[u]], 520);
    int64_t lo = ds.time[0], hi = ds.time[0];
    for (int64_t k = 0; k < ds.n_inter; k++) lo = MIN(lo, ds.time[k]), hi = MAX(hi, ds.time[k]);
    CHECK_EQ_INT(lo, 511);
    CHECK_EQ_INT(hi, 1111);
    dataset_free(&ds);

    o.actions = "2";
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 672);
    CHECK_EQ_INT(ds.n_users, 62);
    CHECK_EQ_INT(ds.n_items, 580);
    dataset_free(&ds);
}

TEST(loader_real_taobao_sample)
{
    const char *path = test_data_path("taobao-userbehavior-sample/UserBehavior_head4321.csv");
    if (!path) SKIP("taobao-userbehavior-sample not available");
    LoadOptions o = opts("taobao", path);
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 43);
    CHECK_EQ_INT(ds.n_items, 3276);
    CHECK_EQ_INT(ds.n_inter, 4321);
    CHECK_EQ_INT(ds.n_feats, 567);
    CHECK_EQ_INT(items_with_feats(&ds, 1, 1), 3276);
    CHECK(times_sorted(&ds));
    /* the one out-of-window row (2017-09-11) sorts first for its user */
    int32_t u = user_of(&ds, "1000169");
    REQUIRE(u >= 0);
    CHECK_EQ_INT(ds_user_len(&ds, u), 80);
    CHECK_EQ_INT(ds.time[ds.user_ptr[u]], 1505117799);
    CHECK_STR(strtab_get(&ds.item_ids, ds_user_seq(&ds, u)[0]), "1328010");
    dataset_free(&ds);

    o.actions = "pv";
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 3926);
    CHECK_EQ_INT(ds.n_users, 43);
    CHECK_EQ_INT(ds.n_items, 3071);
    dataset_free(&ds);
}

TEST(loader_real_movielens_100k)
{
    const char *dir = test_data_path("movielens-100k");
    if (!dir || !test_data_path("movielens-100k/u.data")) SKIP("movielens-100k not available");
    LoadOptions o = opts("movielens", dir);
    Dataset ds;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_users, 943);
    CHECK_EQ_INT(ds.n_items, 1682);
    CHECK_EQ_INT(ds.n_inter, 100000);
    CHECK_EQ_INT(items_with_feats(&ds, 1, 19), 1682); /* every movie has >= 1 genre */
    CHECK_EQ_INT(n_feature_pairs(&ds), 2893);
    CHECK_EQ_INT(ds.n_feats, 19);
    CHECK_STR(feats_of(&ds, "1"), "Animation Children's Comedy"); /* Toy Story */
    CHECK(times_sorted(&ds));
    CHECK_EQ_INT(ds_user_len(&ds, user_of(&ds, "1")), 272);
    /* 168 and 172 share a second; file order decides */
    const int32_t *s1 = ds_user_seq(&ds, user_of(&ds, "1"));
    CHECK_STR(strtab_get(&ds.item_ids, s1[0]), "168");
    CHECK_STR(strtab_get(&ds.item_ids, s1[1]), "172");
    CHECK_STR(strtab_get(&ds.item_ids, s1[2]), "165");
    dataset_free(&ds);

    o.min_rating = 4;
    REQUIRE(LOAD_OK(&o, &ds));
    CHECK_EQ_INT(ds.n_inter, 55376);
    CHECK_EQ_INT(ds.n_users, 942);
    CHECK_EQ_INT(ds.n_items, 1447);
    dataset_free(&ds);
}
