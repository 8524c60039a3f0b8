#include "eval/report.h"

void report_metrics_json(JsonWriter *w, const char *key, const Metrics *m)
{
    jw_object_begin(w, key);
    char k[32];
    for (int j = 0; j < m->nk; j++) {
        snprintf(k, sizeof k, "HR@%d", m->ks[j]), jw_number(w, k, m->hr[j]);
        snprintf(k, sizeof k, "Recall@%d", m->ks[j]), jw_number(w, k, m->recall[j]);
        snprintf(k, sizeof k, "NDCG@%d", m->ks[j]), jw_number(w, k, m->ndcg[j]);
    }
    jw_int(w, "users", m->users);
    jw_object_end(w);
}

void report_table(FILE *f, const char *const *names, const Metrics *const *ms, int n)
{
    if (n == 0) return;
    const Metrics *m0 = ms[0];
    char head[32];
    fprintf(f, "%-8s %7s", "split", "users");
    for (int j = 0; j < m0->nk; j++) {
        snprintf(head, sizeof head, "HR@%d", m0->ks[j]), fprintf(f, " %9s", head);
        snprintf(head, sizeof head, "Recall@%d", m0->ks[j]), fprintf(f, " %9s", head);
        snprintf(head, sizeof head, "NDCG@%d", m0->ks[j]), fprintf(f, " %9s", head);
    }
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%-8s %7lld", names[i], (long long)ms[i]->users);
        for (int j = 0; j < ms[i]->nk; j++)
            fprintf(f, " %9.4f %9.4f %9.4f", ms[i]->hr[j], ms[i]->recall[j], ms[i]->ndcg[j]);
        fputc('\n', f);
    }
}

void report_buckets_json(JsonWriter *w, const char *key, const BucketReport *b, int n)
{
    jw_array_begin(w, key);
    for (int i = 0; i < n; i++) {
        jw_object_begin(w, NULL);
        jw_int(w, "k", b[i].k);
        jw_array_begin(w, "popularity_recall");
        for (int j = 0; j < POP_BUCKETS; j++) jw_number(w, NULL, b[i].pop_recall[j]);
        jw_array_end(w);
        jw_array_begin(w, "popularity_targets");
        for (int j = 0; j < POP_BUCKETS; j++) jw_int(w, NULL, b[i].pop_targets[j]);
        jw_array_end(w);
        jw_number(w, "short_history_hr", b[i].short_hr);
        jw_number(w, "short_history_recall", b[i].short_recall);
        jw_int(w, "short_history_users", b[i].short_users);
        jw_object_end(w);
    }
    jw_array_end(w);
}
