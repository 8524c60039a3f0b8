/* faiss_shim.cpp — see faiss_shim.h. Exceptions never cross into C: every
 * entry point catches faiss::FaissException (and std::exception) and turns it
 * into an Err message. */
#include "serve/faiss_shim.h"

#include <cmath>
#include <exception>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>

struct FaissIndex {
    faiss::Index *ix;
    bool mips_l2; /* vectors carry the extra MIPS-to-L2 coordinate */
};

typedef faiss::Index::idx_t Idx;

static int fail(Err *err, const char *what, const std::exception &e)
{
    return err_set(err, "faiss %s: %s", what, e.what());
}

/* An L2 HNSW index is one cltower built with the reduction (faiss_shim.h). */
static FaissIndex *wrap(faiss::Index *ix)
{
    return new FaissIndex{ix, dynamic_cast<faiss::IndexHNSW *>(ix) && ix->metric_type == faiss::METRIC_L2};
}

/* x (n, d) -> (n, d + 1): [x, sqrt(M^2 - |x|^2)], M = max |x|. */
static std::vector<float> mips_items(const float *x, int64_t n, int d)
{
    std::vector<double> norm2(n);
    double max2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
        norm2[i] = s;
        max2 = std::max(max2, s);
    }
    std::vector<float> out((size_t)n * (d + 1));
    for (int64_t i = 0; i < n; i++) {
        std::copy(x + i * d, x + (i + 1) * d, out.begin() + i * (d + 1));
        out[i * (d + 1) + d] = (float)std::sqrt(std::max(0.0, max2 - norm2[i]));
    }
    return out;
}

static faiss::Index *make_ivf(const FaissParams *p, int64_t n, int d)
{
    /* About 4 sqrt(n) lists, but at least 39 training points per list (Faiss
     * warns below that) and at least one list. */
    int nlist = p->nlist > 0 ? p->nlist : (int)(4 * std::sqrt((double)n));
    if (p->nlist <= 0 && nlist > n / 39) nlist = (int)(n / 39);
    if (nlist < 1) nlist = 1;
    faiss::IndexFlatIP *quantizer = new faiss::IndexFlatIP(d);
    faiss::IndexIVFFlat *ivf = new faiss::IndexIVFFlat(quantizer, d, (size_t)nlist, faiss::METRIC_INNER_PRODUCT);
    ivf->own_fields = true; /* deleting the index deletes the quantizer */
    return ivf;
}

FaissIndex *faiss_build(const FaissParams *p, const float *x, int64_t n, int d, Err *err)
{
    faiss::Index *ix = nullptr;
    try {
        if (!strcmp(p->kind, "hnsw")) {
            faiss::IndexHNSWFlat *h = new faiss::IndexHNSWFlat(d + 1, p->hnsw_m, faiss::METRIC_L2);
            ix = h;
            h->hnsw.efConstruction = p->ef_construction;
            h->add(n, mips_items(x, n, d).data());
        } else if (!strcmp(p->kind, "flat")) { /* exact: a brute-force scan (bench/eval_vs_faiss.c) */
            ix = new faiss::IndexFlatIP(d);
            ix->add(n, x);
        } else {
            ix = make_ivf(p, n, d);
            ix->train(n, x);
            ix->add(n, x);
        }
    } catch (const std::exception &e) {
        delete ix;
        fail(err, "build", e);
        return nullptr;
    }
    FaissIndex *out = wrap(ix);
    faiss_set_search(out, p->ef_search, p->nprobe);
    return out;
}

int faiss_write(const FaissIndex *ix, FILE *f, Err *err)
{
    try {
        faiss::write_index(ix->ix, f);
    } catch (const std::exception &e) {
        return fail(err, "write_index", e);
    }
    return 0;
}

FaissIndex *faiss_read(const char *path, Err *err)
{
    try {
        return wrap(faiss::read_index(path));
    } catch (const std::exception &e) {
        err_set(err, "%s: not a Faiss index (%s)", path, e.what());
        return nullptr;
    }
}

void faiss_set_search(FaissIndex *ix, int ef_search, int nprobe)
{
    if (auto *h = dynamic_cast<faiss::IndexHNSW *>(ix->ix)) {
        if (ef_search > 0) h->hnsw.efSearch = ef_search;
    } else if (auto *ivf = dynamic_cast<faiss::IndexIVF *>(ix->ix)) {
        if (nprobe > 0) ivf->nprobe = (size_t)nprobe;
    }
}

void faiss_describe(const FaissIndex *ix, FaissParams *out)
{
    memset(out, 0, sizeof *out);
    out->mips_l2 = ix->mips_l2;
    if (auto *h = dynamic_cast<const faiss::IndexHNSW *>(ix->ix)) {
        snprintf(out->kind, sizeof out->kind, "hnsw");
        out->hnsw_m = h->hnsw.cum_nneighbor_per_level.size() > 1 ? h->hnsw.nb_neighbors(1) : 0;
        out->ef_construction = h->hnsw.efConstruction;
        out->ef_search = h->hnsw.efSearch;
    } else if (auto *ivf = dynamic_cast<const faiss::IndexIVF *>(ix->ix)) {
        snprintf(out->kind, sizeof out->kind, "ivf");
        out->nlist = (int)ivf->nlist;
        out->nprobe = (int)ivf->nprobe;
    } else if (dynamic_cast<const faiss::IndexFlatIP *>(ix->ix)) {
        snprintf(out->kind, sizeof out->kind, "flat");
    } else {
        snprintf(out->kind, sizeof out->kind, "other");
    }
}

int faiss_reconstruct(FaissIndex *ix, int64_t key, float *out, Err *err)
{
    try {
        auto *ivf = dynamic_cast<faiss::IndexIVF *>(ix->ix);
        if (ivf && ivf->direct_map.type == faiss::DirectMap::NoMap) ivf->make_direct_map(true);
        std::vector<float> v(ix->ix->d);
        ix->ix->reconstruct(key, v.data());
        std::copy(v.begin(), v.begin() + faiss_dim(ix), out);
    } catch (const std::exception &e) {
        return fail(err, "reconstruct", e);
    }
    return 0;
}

int faiss_dim(const FaissIndex *ix) { return ix->ix->d - (ix->mips_l2 ? 1 : 0); }
int64_t faiss_count(const FaissIndex *ix) { return (int64_t)ix->ix->ntotal; }

int faiss_search(const FaissIndex *ix, const float *q, int nq, int k, int64_t *ids, Err *err)
{
    static_assert(sizeof(Idx) == sizeof(int64_t), "Faiss ids are 64-bit");
    try {
        int d = faiss_dim(ix);
        std::vector<float> padded, dist((size_t)nq * k);
        if (ix->mips_l2) { /* queries get a 0 in the extra coordinate */
            padded.assign((size_t)nq * (d + 1), 0.0f);
            for (int i = 0; i < nq; i++) std::copy(q + (size_t)i * d, q + (size_t)(i + 1) * d, &padded[i * (d + 1)]);
            q = padded.data();
        }
        ix->ix->search(nq, q, k, dist.data(), reinterpret_cast<Idx *>(ids));
    } catch (const std::exception &e) {
        return fail(err, "search", e);
    }
    return 0;
}

void faiss_free(FaissIndex *ix)
{
    if (!ix) return;
    delete ix->ix;
    delete ix;
}
