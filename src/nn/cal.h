/* cal.h — Category Alignment Loss (DAT; Yu et al., DLP-KDD 2021).
 *
 * The item vectors of a batch are grouped by category. The most frequent
 * category is the "major" one; every other category with at least two items
 * is pulled towards the major one's second-order statistics, so that the few
 * items of a minor category spread like the well-trained majority does:
 *
 *   CAL    = sum_{c != major, n_c >= 2} || Cov(V_major) - Cov(V_c) ||_F^2
 *   Cov(V) = 1/(n-1) sum_k (v_k - mean)(v_k - mean)^T                 (D, D)
 *
 * (no loss when the major category has fewer than two items). Ties for the
 * major category go to the lower category id. Rows with category -1 are not
 * counted. The forward keeps the grouping and the centred rows; the backward
 * recomputes each minor category's covariance (O(n_c D^2), one sgemm). */
#ifndef CLT_CAL_H
#define CLT_CAL_H

#include <stdint.h>

#include "util/arena.h"

typedef struct CalActs {
    int64_t max_rows;
    int D;
    int32_t n_groups;
    int32_t *fill;      /* (n_groups) per-category counts / fill cursors; all 0 between calls */
    int32_t *used;      /* (max_rows) categories present, in order of first appearance */
    int32_t *start;     /* (max_rows+1) first sorted row of each present category */
    int32_t *rows;      /* (max_rows) batch rows sorted by category */
    int n_used, major;  /* major: index into used, -1 = no loss */
    float *xc;          /* (max_rows, D) rows minus their category mean, in sorted order */
    float *cov_major;   /* (D, D) */
    float *cov;         /* (D, D) scratch */
    float *g_major;     /* (D, D) dCAL/dCov_major */
    float *mean;        /* (D) scratch */
    float *dxc;         /* (max_rows, D) */
} CalActs;

void cal_plan(CalActs *a, Arena *ar, int64_t max_rows, int D, int32_t n_groups);
/* v (M, D); grp (M) the category of each row in [0, n_groups) or -1. Returns CAL. */
double cal_forward(CalActs *a, const float *v, const int32_t *grp, int64_t M);
/* Accumulates dv (M, D) += scale * dCAL/dv for the last forward. */
void cal_backward(CalActs *a, float *dv, float scale);

#endif
