/* sgemm_peak — the machine's measured single-precision GEMM throughput
 * (OpenBLAS, the same library and threading cltower links), the yardstick for
 * every "achieved GFLOP/s" number in docs/BENCHMARKS.md.
 *
 * usage: bench_sgemm [threads]   prints one line per shape: M N K GFLOP/s (median of 7) */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/common.h"
#include "util/timer.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double gflops(int M, int N, int K)
{
    float *a = xalloc_floats((size_t)M * K), *b = xalloc_floats((size_t)N * K), *c = xalloc_floats((size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)N * K; i++) b[i] = (float)(i % 5) * 0.1f;
    double runs[7];
    double flop = 2.0 * M * N * K;
    int reps = (int)MAX(1, 2e9 / flop);
    for (int r = 0; r < 7; r++) {
        double t0 = now_seconds();
        for (int k = 0; k < reps; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        runs[r] = flop * reps / (now_seconds() - t0) / 1e9;
    }
    qsort(runs, 7, sizeof *runs, cmp_double);
    free(a), free(b), free(c);
    return runs[3];
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    omp_set_num_threads(threads);
    /* A large square GEMM (the peak), and the shapes cltower's hot paths use:
     * training linears (tokens x 64 x 64), scoring (users x items x 64). */
    int shapes[][3] = {{2048, 2048, 2048}, {4096, 64, 64}, {4096, 256, 64}, {1024, 12101, 64}, {256, 314000, 64}};
    printf("threads %d\n", threads);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        printf("sgemm M=%d N=%d K=%d: %.1f GFLOP/s\n", shapes[s][0], shapes[s][1], shapes[s][2],
               gflops(shapes[s][0], shapes[s][1], shapes[s][2]));
    return 0;
}
