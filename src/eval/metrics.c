#include "eval/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void metrics_init(Metrics *m, const IntList *ks)
{
    memset(m, 0, sizeof *m);
    m->nk = ks->n;
    memcpy(m->ks, ks->v, (size_t)ks->n * sizeof *ks->v);
}

static int contains(const int32_t *a, int n, int32_t x)
{
    for (int i = 0; i < n; i++)
        if (a[i] == x) return 1;
    return 0;
}

void metrics_add_user(Metrics *m, const int32_t *ranked, int n_ranked, const int32_t *targets, int n_targets)
{
    /* Unique targets; lists are short (ComiRec: 20% of a history), so a
     * quadratic scan beats hashing. */
    int32_t uniq[4096];
    int nu = 0;
    for (int t = 0; t < n_targets && nu < 4096; t++)
        if (!contains(uniq, nu, targets[t])) uniq[nu++] = targets[t];
    if (nu == 0) return;
    for (int j = 0; j < m->nk; j++) {
        int k = m->ks[j], hits = 0;
        double dcg = 0, idcg = 0;
        for (int r = 0; r < k && r < n_ranked; r++)
            if (contains(uniq, nu, ranked[r])) hits++, dcg += 1.0 / log2(r + 2.0);
        for (int r = 0; r < k && r < nu; r++) idcg += 1.0 / log2(r + 2.0);
        m->hr[j] += hits > 0;
        m->recall[j] += (double)hits / nu;
        m->ndcg[j] += dcg / idcg;
    }
    m->users++;
}

void metrics_merge(Metrics *into, const Metrics *from)
{
    for (int j = 0; j < into->nk; j++) {
        into->hr[j] += from->hr[j];
        into->recall[j] += from->recall[j];
        into->ndcg[j] += from->ndcg[j];
    }
    into->users += from->users;
}

void metrics_finish(Metrics *m)
{
    if (m->users == 0) return;
    for (int j = 0; j < m->nk; j++) {
        m->hr[j] /= (double)m->users;
        m->recall[j] /= (double)m->users;
        m->ndcg[j] /= (double)m->users;
    }
}

double metrics_get(const Metrics *m, const char *name)
{
    char kind[16];
    int k;
    if (sscanf(name, "%15[A-Za-z]@%d", kind, &k) != 2) return -1;
    for (int j = 0; j < m->nk; j++) {
        if (m->ks[j] != k) continue;
        if (!strcmp(kind, "HR")) return m->hr[j];
        if (!strcmp(kind, "Recall")) return m->recall[j];
        if (!strcmp(kind, "NDCG")) return m->ndcg[j];
    }
    return -1;
}
