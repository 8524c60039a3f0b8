/* gemm_split — the row-split GEMMs of nn/layers.c (matmul_nt / _nn / _tn:
 * one single-threaded sgemm per thread on a slice of C's rows) against one
 * cblas_sgemm call that OpenBLAS threads itself, on the shapes a cl-epidtn
 * step at Books scale runs: Transformer linears over ~6k tokens (C = 64,
 * FFN 256), their weight gradients, and a 256-row block of the sampled
 * softmax over ~4.2k candidates.
 *
 * usage: bench_gemm_split [threads]   one line per shape: GFLOP/s of both
 * (median of 7), and the ratio split / OpenBLAS. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/layers.h"
#include "util/common.h"
#include "util/timer.h"

typedef enum { NT, NN, TN } Kind;

static void openblas(Kind k, float *c, const float *a, const float *b, int M, int N, int K)
{
    if (k == NT) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 1, c, N);
    if (k == NN) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 1, c, N);
    if (k == TN) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1, a, M, b, N, 1, c, N);
}

static void split(Kind k, float *c, const float *a, const float *b, int M, int N, int K)
{
    if (k == NT) matmul_nt(c, a, b, M, N, K, 1, 1);
    if (k == NN) matmul_nn(c, a, b, M, N, K, 1, 1);
    if (k == TN) matmul_tn(c, a, b, M, N, K, 1, 1);
}

static int cmp_double(const void *x, const void *y)
{
    double p = *(const double *)x, q = *(const double *)y;
    return p < q ? -1 : p > q;
}

/* Median GFLOP/s of 7 timings of reps calls, the two variants interleaved
 * so that both see the same machine. */
static void measure(Kind k, int M, int N, int K, double *g_blas, double *g_split)
{
    float *a = xalloc_floats((size_t)M * K), *b = xalloc_floats((size_t)N * K), *c = xalloc_floats((size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)N * K; i++) b[i] = (float)(i % 5) * 0.01f;
    for (size_t i = 0; i < (size_t)M * N; i++) c[i] = 0;
    double flop = 2.0 * M * N * K, r1[7], r2[7];
    int reps = (int)(1e9 / flop) + 1;
    for (int r = 0; r < 7; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < reps; i++) openblas(k, c, a, b, M, N, K);
        r1[r] = flop * reps / (now_seconds() - t0) / 1e9;
        t0 = now_seconds();
        for (int i = 0; i < reps; i++) split(k, c, a, b, M, N, K);
        r2[r] = flop * reps / (now_seconds() - t0) / 1e9;
    }
    qsort(r1, 7, sizeof *r1, cmp_double), qsort(r2, 7, sizeof *r2, cmp_double);
    *g_blas = r1[3], *g_split = r2[3];
    free(a), free(b), free(c);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    omp_set_num_threads(threads);
    static const struct { Kind k; int M, N, K; const char *what; } shapes[] = {
        {NT, 6000, 64, 64, "linear C->C forward"},       {NT, 6000, 192, 64, "QKV forward"},
        {NT, 6000, 256, 64, "FFN up forward"},           {NT, 6000, 64, 256, "FFN down forward"},
        {NN, 6000, 64, 64, "linear C->C d(input)"},      {NN, 6000, 64, 256, "FFN up d(input)"},
        {TN, 192, 64, 6000, "QKV d(weight)"},             {TN, 256, 64, 6000, "FFN up d(weight)"},
        {NT, 256, 4200, 64, "softmax block logits"},     {NN, 256, 64, 4200, "softmax block d(query)"},
        {TN, 4200, 64, 256, "softmax block d(candidates)"},
    };
    const char *kn[] = {"nt", "nn", "tn"};
    printf("threads %d\n| product | M x N x K | OpenBLAS GFLOP/s | split GFLOP/s | split / OpenBLAS |\n"
           "| --- | --- | --- | --- | --- |\n", threads);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        double gb, gs;
        measure(shapes[s].k, shapes[s].M, shapes[s].N, shapes[s].K, &gb, &gs);
        printf("| %s (%s) | %d x %d x %d | %.1f | %.1f | %.2f |\n", shapes[s].what, kn[shapes[s].k], shapes[s].M,
               shapes[s].N, shapes[s].K, gb, gs, gs / gb);
    }
    return 0;
}
