/* rng.h — deterministic random numbers.
 *
 * xoshiro256** seeded through splitmix64. Every purpose (split, sampling,
 * dropout, augmentation, init, ...) gets its own stream derived from the run
 * seed and a purpose id, so changing how often one consumer draws does not
 * reshuffle the others — a run is reproducible piece by piece. */
#ifndef CLT_RNG_H
#define CLT_RNG_H

#include <stdint.h>

typedef struct Rng {
    uint64_t s[4];
} Rng;

enum RngPurpose {
    RNG_SPLIT = 1,
    RNG_INIT = 2,
    RNG_SHUFFLE = 3,
    RNG_NEGATIVES = 4,
    RNG_DROPOUT = 5,
    RNG_AUGMENT = 6,
    RNG_SYNTH = 7,
};

void rng_seed(Rng *r, uint64_t seed, uint64_t purpose);
uint64_t rng_u64(Rng *r);
/* Uniform in [0, n), unbiased (Lemire). n must be > 0. */
uint64_t rng_below(Rng *r, uint64_t n);
/* Uniform float in [0, 1) with 24 random bits. */
float rng_float(Rng *r);
double rng_double(Rng *r);
/* Standard normal (Box-Muller, one value per call). */
float rng_normal(Rng *r);
void rng_shuffle_i32(Rng *r, int32_t *a, int64_t n);
void rng_shuffle_i64(Rng *r, int64_t *a, int64_t n);

#endif
