/* Item side features (--item-features), for items already in the log.
 *
 *   JSON  {"<item>": [feature, ...], ...}   values: arrays of numbers or strings
 *         (the S3-Rec/ICLRec *_item2attributes.json files)
 *   CSV   item,feature[,feature...]          one item per line, no header
 *         (ComiRec's book_item_cate.txt)
 *
 * A file whose first non-space character is '{' or '[' is read as JSON. Features
 * of items that have no interactions are ignored (these files list the whole
 * catalogue); a file that matches no item at all is an error, since that almost
 * always means ids from a different preprocessing. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>

#include "data/loader.h"
#include "util/fileio.h"

typedef struct {
    EventLog *log;
    int64_t listed, matched; /* items in the file / items found in the log */
} FeatCtx;

static void feat_add(FeatCtx *c, const char *item, const char *feat)
{
    c->matched += evlog_add_feature_if_known(c->log, item, strlen(item), feat, strlen(feat));
}

static int feat_finish(const char *path, const FeatCtx *c, Err *err)
{
    if (c->listed == 0) return err_set(err, "%s: expected item features, got none (empty file?)", path);
    if (c->matched == 0 && c->log->n_events > 0)
        return err_set(err, "%s: none of the %lld items listed has interactions (ids from a different preprocessing?)", path,
                       (long long)c->listed);
    return 0;
}

/* ---- CSV ------------------------------------------------------------------ */

static int feat_csv_row(void *vctx, Row *r, Err *err)
{
    FeatCtx *c = vctx;
    if (r->n < 2) return row_error(r, err, "expected item,feature[,feature...], got %d field", r->n);
    if (row_id(r, 0, "item id", err)) return -1;
    c->listed++;
    for (int k = 1; k < r->n; k++) {
        if (row_id(r, k, "feature", err)) return -1;
        feat_add(c, r->f[0], r->f[k]);
    }
    return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

/* 1-based line of position pos in buf (cJSON reports byte positions only). */
static int json_line_at(const char *buf, const char *pos)
{
    int line = 1;
    for (const char *p = buf; p < pos; p++) line += *p == '\n';
    return line;
}

/* Approximate line of an object key: where "key" first occurs. */
static int json_key_line(const char *buf, const char *key)
{
    size_t n = strlen(key) + 3;
    char *quoted = xmalloc(n);
    snprintf(quoted, n, "\"%s\"", key);
    const char *at = strstr(buf, quoted);
    free(quoted);
    return at ? json_line_at(buf, at) : 1;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    return "null";
}

/* Feature id text: strings as they are, integral numbers without ".0".
 * NULL for anything else (bool, null, nested values, ""). */
static const char *json_feature_text(const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsString(v)) return v->valuestring[0] ? v->valuestring : NULL;
    if (!cJSON_IsNumber(v)) return NULL;
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 1e15) snprintf(buf, cap, "%.0f", d);
    else snprintf(buf, cap, "%.17g", d);
    return buf;
}

/* One "item": [features] member. The line is looked up only for messages:
 * a search per item would be quadratic on one-line files. */
static int feat_json_item(FeatCtx *c, const char *path, const char *buf, const cJSON *item, Err *err)
{
    const char *key = item->string;
    if (!*key) return err_set(err, "%s:%d: expected a non-empty item id as key, got \"\"", path, json_key_line(buf, key));
    if (!cJSON_IsArray(item))
        return err_set(err, "%s:%d: item \"%.40s\": expected an array of feature ids, got %s", path, json_key_line(buf, key), key,
                       json_type_name(item));
    c->listed++;
    const cJSON *v;
    cJSON_ArrayForEach(v, item)
    {
        char num[64];
        const char *feat = json_feature_text(v, num, sizeof num);
        if (!feat)
            return err_set(err, "%s:%d: item \"%.40s\": expected feature ids (numbers or non-empty strings), got %s", path,
                           json_key_line(buf, key), key, cJSON_IsString(v) ? "an empty string" : json_type_name(v));
        feat_add(c, key, feat);
    }
    return 0;
}

/* "file:line: invalid JSON at byte N: ..., got '<text there>'". */
static int json_syntax_error(const char *path, const char *buf, size_t len, const char *at, Err *err)
{
    if (!at || at < buf || at > buf + len) at = buf + len;
    char near[24];
    size_t k = 0;
    for (const char *p = at; p < buf + len && k + 1 < sizeof near; p++) near[k++] = isprint((unsigned char)*p) ? *p : ' ';
    near[k] = '\0';
    return err_set(err, "%s:%d: invalid JSON at byte %zu: expected {\"item\": [feature ids], ...}, got '%s'", path,
                   json_line_at(buf, at), (size_t)(at - buf), k ? near : "end of file");
}

static int feat_json(const char *path, FeatCtx *c, Err *err)
{
    char *buf;
    size_t len;
    if (read_whole_file(path, &buf, &len, err) < 0) return -1;
    size_t bom = len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0; /* cJSON rejects a byte-order mark */
    const char *end = NULL; /* cJSON's error position (its thread-safe form of cJSON_GetErrorPtr) */
    cJSON *root = cJSON_ParseWithLengthOpts(buf + bom, len - bom, &end, 0);
    int ret = 0;
    if (!root) {
        ret = json_syntax_error(path, buf, len, end, err);
    } else if (!cJSON_IsObject(root)) {
        ret = err_set(err, "%s:%d: expected a JSON object {\"item\": [feature ids], ...}, got %s", path,
                      json_line_at(buf, buf + strspn(buf, " \t\r\n")), json_type_name(root));
    } else {
        const cJSON *item;
        cJSON_ArrayForEach(item, root)
        {
            if ((ret = feat_json_item(c, path, buf, item, err)) < 0) break;
        }
    }
    cJSON_Delete(root);
    free(buf);
    return ret;
}

int load_item_features(const char *path, EventLog *log, Err *err)
{
    char first[64];
    if (peek_first_line(path, first, sizeof first, err) < 0) return -1;
    const char *p = first;
    while (isspace((unsigned char)*p)) p++;
    FeatCtx c = {.log = log};
    if (*p == '{' || *p == '[') {
        if (feat_json(path, &c, err) < 0) return -1;
    } else if (for_each_row(path, ",", feat_csv_row, &c, err) < 0) {
        return -1;
    }
    return feat_finish(path, &c, err);
}
