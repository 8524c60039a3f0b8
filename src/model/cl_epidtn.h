/* cl_epidtn.h — the CL-EPIDTN implementation, shared with sasrec.c (which is
 * the same network with the enhancement, gates and contrastive losses off). */
#ifndef CLT_CL_EPIDTN_H
#define CLT_CL_EPIDTN_H

#include "model/model.h"

/* Builds with the four components switched explicitly (sasrec: all off). */
int cl_epidtn_build_flags(Model *m, int enhance, int gates, int cl_user, int cl_item, Err *err);
double cl_epidtn_train_step(Model *m, const TrainCtx *ctx, const Example *ex, int n);
void cl_epidtn_user_vectors(Model *m, const Hist *h, int n, float *out);
void cl_epidtn_item_vectors(Model *m, float *out);
void cl_epidtn_destroy(Model *m);
/* Tests only: treat the mimic losses' stop-gradient targets as constants
 * recorded on the next step, so finite differences see the objective that
 * the analytic gradient descends. */
void cl_epidtn_freeze_targets(Model *m);
/* Writes the last training batch (tokens, candidates, views, masks, outputs)
 * as .npy files into dir: what the PyTorch parity test rebuilds. */
int cl_epidtn_dump(Model *m, const char *dir, Err *err);

#endif
