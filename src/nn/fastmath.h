/* fastmath.h — exp and tanh that the compiler can vectorize.
 *
 * glibc's expf/tanhf are scalar calls unless the whole program is built with
 * -ffast-math; in GELU and the softmaxes they were a third of the training
 * time. These are branch-free (clamp, Cody-Waite range reduction, a degree-6
 * polynomial, exponent bits), so loops over them auto-vectorize with AVX2 /
 * AVX-512. Accuracy: relative error < 3e-7 for exp over [-87, 88]; tanh has
 * absolute error < 2e-7 — below float32 training noise, and the PyTorch
 * parity test (1e-4) and gradient checks cover them. */
#ifndef CLT_FASTMATH_H
#define CLT_FASTMATH_H

#include <stdint.h>
#include <string.h>

static inline float fast_expf(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    /* round-to-nearest by the 1.5 * 2^23 trick: a library call would block vectorization */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f; /* ln 2 in two parts */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666666f + r * (0.041666638f + r * (0.0083333379f + r * 0.0013894027f)))));
    int32_t bits = (int32_t)(n + 127.0f) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float fast_tanhf(float x)
{
    float ax = x < 0 ? -x : x;
    float t = 1.0f - 2.0f / (fast_expf(2.0f * ax) + 1.0f);
    return x < 0 ? -t : t;
}

/* Counter-based uniform in [0, 1): a splitmix64 hash of (seed, i). Unlike a
 * sequential generator it vectorizes, gives the same mask at any thread count
 * and lets a kernel draw only the elements it uses (attention: the causal
 * triangle); one draw from the caller's stream per mask keeps runs
 * reproducible. */
static inline float hash_uniform(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* Element i of an inverted-dropout mask: 0 with probability p, else 1/(1-p). */
static inline float dropout_value(uint64_t seed, uint64_t i, float p)
{
    return hash_uniform(seed, i) < p ? 0.0f : 1.0f / (1.0f - p);
}

#endif
