/* npy.h — NumPy .npy files (format version 1.0, little-endian, C order):
 * the exchange format for exported embeddings and the PyTorch parity test.
 * Written atomically. */
#ifndef CLT_NPY_H
#define CLT_NPY_H

#include <stdint.h>

#include "util/common.h"

/* shape has ndim entries (ndim 1..4). */
int npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim, Err *err);
int npy_write_i32(const char *path, const int32_t *data, const int64_t *shape, int ndim, Err *err);
/* Reads a float32 array; *data is malloc'ed; shape gets up to 4 dims. */
int npy_read_f32(const char *path, float **data, int64_t *shape, int *ndim, Err *err);

#endif
