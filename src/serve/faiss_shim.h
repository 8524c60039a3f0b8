/* faiss_shim.h — the few Faiss calls cltower needs, behind a C interface.
 *
 * Faiss is C++ (libfaiss.a); this header and faiss_shim.cpp are the only
 * places that know it. Every index finds the items of largest inner product
 * (the towers' score); its ids are the dense item ids 0 .. n-1 in the order
 * added.
 *
 * HNSW does not search by inner product directly: a graph built on inner
 * products is poorly navigable when item norms differ (measured: recall@50
 * 0.17 at efSearch 128, 0.28 at 2048, on 300k items). So HNSW indexes use
 * the MIPS-to-L2 reduction (Bachrach et al., RecSys 2014): item x is stored
 * as [x, sqrt(M^2 - |x|^2)] with M the largest item norm, a query q is
 * searched as [q, 0], and the nearest stored vectors in L2 are exactly the
 * items of largest q . x. The index file therefore has dimension d + 1 and
 * L2 metric; this API hides that (dim and reconstruct speak of the d item
 * coordinates, search pads the queries). IVF scores inner products itself.
 * "flat" is Faiss's exact IndexFlatIP (no training, every item scored): not
 * offered by `cltower export`, it is the yardstick of bench/eval_vs_faiss.c.
 * Searching a built index is thread-safe (Faiss search is const); building,
 * setting parameters and freeing are not and happen before serving starts. */
#ifndef CLT_FAISS_SHIM_H
#define CLT_FAISS_SHIM_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "util/common.h"

typedef struct FaissIndex FaissIndex;

typedef struct FaissParams {
    char kind[8];        /* hnsw | ivf | flat (exact IndexFlatIP) */
    int hnsw_m;          /* HNSW: neighbours per node */
    int ef_construction; /* HNSW: candidate list while building */
    int ef_search;       /* HNSW: candidate list while searching (0 = keep) */
    int nlist;           /* IVF: inverted lists (0 = about 4 sqrt(n)) */
    int nprobe;          /* IVF: lists visited per query (0 = keep) */
    int mips_l2;         /* (describe) stored with the MIPS-to-L2 extra coordinate */
} FaissParams;

/* Builds (trains, for IVF) an index over x (n, d). NULL with err on failure. */
FaissIndex *faiss_build(const FaissParams *p, const float *x, int64_t n, int d, Err *err);
/* Writes the index in Faiss's own format (faiss.read_index opens it). */
int faiss_write(const FaissIndex *ix, FILE *f, Err *err);
FaissIndex *faiss_read(const char *path, Err *err);
/* Sets efSearch (HNSW) or nprobe (IVF); zeros are ignored. */
void faiss_set_search(FaissIndex *ix, int ef_search, int nprobe);
/* Search parameters actually in effect, and the index kind ("hnsw", "ivf",
 * "flat", or "other" for any other index a user hands us). */
void faiss_describe(const FaissIndex *ix, FaissParams *out);
/* The stored item vector of key (exact for the flat-storage HNSW and IVF
 * indexes cltower builds). May build IVF's id map on first use, so call it
 * before searching starts. */
int faiss_reconstruct(FaissIndex *ix, int64_t key, float *out, Err *err);
/* Item vector size (without the MIPS-to-L2 coordinate). */
int faiss_dim(const FaissIndex *ix);
int64_t faiss_count(const FaissIndex *ix);
/* The k best items of each of the nq queries q (nq, dim) by inner product:
 * ids (nq, k), best first as far as the index knows; missing results are
 * -1. No scores: callers score the few candidates exactly themselves. */
int faiss_search(const FaissIndex *ix, const float *q, int nq, int k, int64_t *ids, Err *err);
void faiss_free(FaissIndex *ix);

#ifdef __cplusplus
}
#endif

#endif
