#include "eval/results.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "eval/report.h"
#include "model/model.h"
#include "util/fileio.h"
#include "util/json.h"

/* ---- reading a run's metrics.json ------------------------------------------ */

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void read_metrics(Metrics *m, const cJSON *o, const IntList *ks)
{
    metrics_init(m, ks);
    char key[32];
    for (int j = 0; j < ks->n; j++) {
        snprintf(key, sizeof key, "HR@%d", ks->v[j]), m->hr[j] = json_num(o, key);
        snprintf(key, sizeof key, "Recall@%d", ks->v[j]), m->recall[j] = json_num(o, key);
        snprintf(key, sizeof key, "NDCG@%d", ks->v[j]), m->ndcg[j] = json_num(o, key);
    }
    double users = json_num(o, "users");
    m->users = isnan(users) ? 0 : (int64_t)users;
}

/* Fills the popularity buckets from the test_buckets entry with "k": k. */
static void read_buckets(ResultRow *row, const cJSON *list, int k)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, list)
    {
        if (json_num(b, "k") != k) continue;
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(b, "popularity_recall");
        const cJSON *tgt = cJSON_GetObjectItemCaseSensitive(b, "popularity_targets");
        if (cJSON_GetArraySize(rec) != POP_BUCKETS || cJSON_GetArraySize(tgt) != POP_BUCKETS) return;
        for (int i = 0; i < POP_BUCKETS; i++) {
            row->pop_recall[i] = cJSON_GetArrayItem(rec, i)->valuedouble;
            row->pop_targets[i] = (int64_t)cJSON_GetArrayItem(tgt, i)->valuedouble;
        }
        row->has_buckets = 1;
    }
}

int results_read_run(ResultRow *row, const char *metrics_path, const IntList *ks, int chart_k, Err *err)
{
    char *buf;
    size_t len;
    if (read_whole_file(metrics_path, &buf, &len, err) < 0) return -1;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(root, "test");
    const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "model"));
    if (!cJSON_IsObject(test) || !model) {
        cJSON_Delete(root);
        return err_set(err, "%s: not a cltower metrics.json (no \"model\" or \"test\")", metrics_path);
    }
    memset(row, 0, sizeof *row);
    snprintf(row->model, sizeof row->model, "%s", model);
    read_metrics(&row->test, test, ks);
    row->train_seconds = json_num(root, "train_seconds");
    row->best_epoch = (int)json_num(root, "best_epoch");
    row->epochs_run = (int)json_num(root, "epochs_run");
    read_buckets(row, cJSON_GetObjectItemCaseSensitive(root, "test_buckets"), chart_k);
    cJSON_Delete(root);
    return 0;
}

/* ---- formatting ------------------------------------------------------------ */

void results_duration(double s, char *buf, size_t n)
{
    long t = isfinite(s) && s > 0 ? lround(s) : 0;
    if (s < 9.95) snprintf(buf, n, "%.1fs", isfinite(s) && s > 0 ? s : 0);
    else if (t < 60) snprintf(buf, n, "%lds", t);
    else if (t < 3600) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
}

void results_axis(double max, double *top, double *step)
{
    if (!(max > 0)) max = 1;
    double raw = max / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    *step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    *top = ceil(max / *step - 1e-9) * *step;
}

/* Columns of the table: HR, Recall, NDCG at every cut-off, then train time.
 * A cell's score orders cells for the bold best (higher is better; NAN: no
 * value). Train time scores negated (faster is better); runs that trained
 * nothing (mostpop) have no train time. */
static int n_metric_cols(const Comparison *c) { return 3 * c->ks.n; }

static double cell(const Comparison *c, const ResultRow *r, int col, char *buf, size_t n)
{
    if (col == n_metric_cols(c)) {
        if (r->best_epoch <= 0) return snprintf(buf, n, "—"), NAN;
        results_duration(r->train_seconds, buf, n);
        return -r->train_seconds;
    }
    const double *v[3] = {r->test.hr, r->test.recall, r->test.ndcg};
    double x = v[col / c->ks.n][col % c->ks.n];
    if (isnan(x)) snprintf(buf, n, "—");
    else snprintf(buf, n, "%.4f", x);
    return x;
}

/* Writes one table cell, bold when it prints the same as the column's best. */
static void markdown_cell(FILE *f, const Comparison *c, int row, int col)
{
    char text[40], best_text[40] = "";
    double best = NAN;
    for (int i = 0; i < c->n; i++) {
        double s = cell(c, &c->rows[i], col, text, sizeof text);
        if (!isnan(s) && (isnan(best) || s > best)) best = s, snprintf(best_text, sizeof best_text, "%s", text);
    }
    double s = cell(c, &c->rows[row], col, text, sizeof text);
    fprintf(f, !isnan(s) && !strcmp(text, best_text) ? " **%s** |" : " %s |", text);
}

static const char *const METRIC_NAMES[3] = {"HR", "Recall", "NDCG"};

static void markdown_table(FILE *f, const Comparison *c)
{
    fprintf(f, "| model |");
    for (int col = 0; col < n_metric_cols(c); col++)
        fprintf(f, " %s@%d |", METRIC_NAMES[col / c->ks.n], c->ks.v[col % c->ks.n]);
    fprintf(f, " train time | best epoch |\n| --- |");
    for (int col = 0; col <= n_metric_cols(c); col++) fprintf(f, " ---: |");
    fprintf(f, " ---: |\n");
    for (int i = 0; i < c->n; i++) {
        const ResultRow *r = &c->rows[i];
        fprintf(f, "| %s |", r->model);
        for (int col = 0; col <= n_metric_cols(c); col++) markdown_cell(f, c, i, col);
        if (r->best_epoch > 0) fprintf(f, " %d of %d |\n", r->best_epoch, r->epochs_run);
        else fprintf(f, " — |\n");
    }
}

static void data_summary(FILE *f, const Comparison *c)
{
    fprintf(f, "%lld users, %lld items, %lld interactions, %lld item features", (long long)c->users,
            (long long)c->items, (long long)c->interactions, (long long)c->features);
}

/* What a popularity bucket's value means under the protocol (see results.h);
 * plain text, also used inside the SVG. */
static void bucket_meaning(FILE *f, const Comparison *c)
{
    if (!strcmp(c->protocol, "loo"))
        fprintf(f, "one target per test user, so this is the HR@%d of the users whose target is in the bucket",
                c->chart_k);
    else
        fprintf(f, "the share of all targets of the test users (several per user) in the bucket that made the "
                "top %d", c->chart_k);
}

void results_markdown(FILE *f, const Comparison *c)
{
    fprintf(f, "# Model comparison\n\n```sh\n%s\n```\n\n", c->command);
    fprintf(f, "Data: `%s` (format `%s`): ", c->data, c->format);
    data_summary(f, c);
    fprintf(f, ".\nSplit: protocol `%s`, %lld train interactions, %lld valid / %lld test users; the same split "
            "for every model.\n\n", c->protocol, (long long)c->train_interactions, (long long)c->valid_users,
            (long long)c->test_users);
    fprintf(f, "Test split, exact ranking over the whole catalogue; the best value of each column in **bold**. "
            "Train time counts training steps only; the best epoch (by valid, early stopping) is the one "
            "evaluated.\n\n");
    markdown_table(f, c);
    fprintf(f, "\n![Test Recall@%d by item popularity](" RESULTS_CHART_FMT ")\n\n"
            "Recall@%d of the test targets in each fifth of the catalogue by training popularity: ", c->chart_k,
            c->chart_k, c->chart_k);
    bucket_meaning(f, c);
    fprintf(f, ".\n");
}

void results_json(FILE *f, const Comparison *c)
{
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w, NULL);
    jw_string(&w, "command", c->command);
    jw_object_begin(&w, "data");
    jw_string(&w, "path", c->data);
    jw_string(&w, "format", c->format);
    jw_int(&w, "users", c->users);
    jw_int(&w, "items", c->items);
    jw_int(&w, "interactions", c->interactions);
    jw_int(&w, "features", c->features);
    jw_object_end(&w);
    jw_object_begin(&w, "split");
    jw_string(&w, "protocol", c->protocol);
    jw_int(&w, "train_interactions", c->train_interactions);
    jw_int(&w, "valid_users", c->valid_users);
    jw_int(&w, "test_users", c->test_users);
    jw_object_end(&w);
    jw_int(&w, "popularity_k", c->chart_k);
    jw_array_begin(&w, "models");
    for (int i = 0; i < c->n; i++) {
        const ResultRow *r = &c->rows[i];
        jw_object_begin(&w, NULL);
        jw_string(&w, "model", r->model);
        report_metrics_json(&w, "test", &r->test);
        jw_number(&w, "train_seconds", r->train_seconds);
        jw_int(&w, "best_epoch", r->best_epoch);
        jw_int(&w, "epochs_run", r->epochs_run);
        if (r->has_buckets) {
            jw_array_begin(&w, "popularity_recall");
            for (int b = 0; b < POP_BUCKETS; b++) jw_number(&w, NULL, r->pop_recall[b]);
            jw_array_end(&w);
            jw_array_begin(&w, "popularity_targets");
            for (int b = 0; b < POP_BUCKETS; b++) jw_int(&w, NULL, r->pop_targets[b]);
            jw_array_end(&w);
        }
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
}

/* ---- the SVG chart ----------------------------------------------------------- */

/* Chart geometry (pixels): plot area inside the margins, legend on the right. */
enum { SVG_W = 880, SVG_H = 440, PLOT_L = 72, PLOT_R = 700, PLOT_T = 56, PLOT_B = 360 };

/* Tableau 10: distinct, colour-blind friendly. */
static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

/* A model keeps its colour across comparisons: the colour of its registry slot. */
static const char *model_colour(const char *model, int row)
{
    int slot = row;
    for (int i = 0; i < model_count(); i++)
        if (!strcmp(model_class_at(i)->name, model)) slot = i;
    return PALETTE[slot % (int)ARRAY_LEN(PALETTE)];
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* The last two components of a data path ("amazon-beauty/Beauty.txt"): the
 * file name alone is often generic (interactions.csv). */
static const char *short_path(const char *path)
{
    const char *p = path + strlen(path);
    for (int slashes = 0; p > path; p--)
        if (p[-1] == '/' && ++slashes == 2) break;
    return p;
}

static double chart_max(const Comparison *c)
{
    double mx = 0;
    for (int i = 0; i < c->n; i++)
        for (int b = 0; b < POP_BUCKETS && c->rows[i].has_buckets; b++) mx = MAX(mx, c->rows[i].pop_recall[b]);
    return mx;
}

static void svg_axes(FILE *f, const Comparison *c, double top, double step)
{
    for (int t = 0; t * step <= top + 1e-12; t++) {
        double y = PLOT_B - (PLOT_B - PLOT_T) * t * step / top;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", PLOT_L, y, PLOT_R, y,
                t ? "#e0e0e0" : "#333");
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", PLOT_L - 6, y + 4, t * step);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", PLOT_L, PLOT_T, PLOT_L, PLOT_B);
    const char *names[POP_BUCKETS] = {"1 (least popular)", "2", "3", "4", "5 (most popular)"};
    const ResultRow *any = NULL;
    for (int i = 0; i < c->n && !any; i++) any = c->rows[i].has_buckets ? &c->rows[i] : NULL;
    double gw = (double)(PLOT_R - PLOT_L) / POP_BUCKETS;
    for (int b = 0; b < POP_BUCKETS; b++) {
        double x = PLOT_L + gw * (b + 0.5);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, PLOT_B + 18, names[b]);
        if (any)
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#666\">%lld targets</text>\n", x,
                    PLOT_B + 34, (long long)any->pop_targets[b]);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">item popularity: fifths of the catalogue by "
            "training interactions</text>\n", (PLOT_L + PLOT_R) / 2, PLOT_B + 58);
    fprintf(f, "<text transform=\"translate(20 %d) rotate(-90)\" text-anchor=\"middle\">Recall@%d of test "
            "targets</text>\n", (PLOT_T + PLOT_B) / 2, c->chart_k);
}

static void svg_bars(FILE *f, const Comparison *c, double top)
{
    double gw = (double)(PLOT_R - PLOT_L) / POP_BUCKETS, bw = gw * 0.8 / MAX(c->n, 1);
    for (int i = 0; i < c->n; i++) {
        const ResultRow *r = &c->rows[i];
        for (int b = 0; b < POP_BUCKETS && r->has_buckets; b++) {
            double h = (PLOT_B - PLOT_T) * r->pop_recall[b] / top, x = PLOT_L + gw * (b + 0.1) + bw * i;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x, PLOT_B - h,
                    bw, h, model_colour(r->model, i));
            xml_text(f, r->model);
            fprintf(f, ": %.4f (%lld targets)</title></rect>\n", r->pop_recall[b], (long long)r->pop_targets[b]);
        }
    }
}

static void svg_legend(FILE *f, const Comparison *c)
{
    for (int i = 0; i < c->n; i++) {
        int y = PLOT_T + 20 * i;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>\n", PLOT_R + 24, y,
                model_colour(c->rows[i].model, i));
        fprintf(f, "<text x=\"%d\" y=\"%d\">", PLOT_R + 44, y + 12);
        xml_text(f, c->rows[i].model);
        fprintf(f, "%s</text>\n", c->rows[i].has_buckets ? "" : " (no data)");
    }
}

void results_svg(FILE *f, const Comparison *c)
{
    double top, step;
    results_axis(chart_max(c), &top, &step);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">Test Recall@%d by item popularity — ",
            SVG_W / 2, c->chart_k);
    xml_text(f, short_path(c->data));
    fprintf(f, ", protocol ");
    xml_text(f, c->protocol);
    fprintf(f, "</text>\n<text x=\"%d\" y=\"42\" text-anchor=\"middle\" fill=\"#666\">", SVG_W / 2);
    bucket_meaning(f, c);
    fprintf(f, "</text>\n");
    svg_axes(f, c, top, step);
    svg_bars(f, c, top);
    svg_legend(f, c);
    fprintf(f, "</svg>\n");
}
