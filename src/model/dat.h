/* dat.h — the DAT baseline's test hook. */
#ifndef CLT_DAT_H
#define CLT_DAT_H

#include "model/model.h"

/* Tests only: treat the mimic losses' stop-gradient targets as constants
 * recorded on the next step, so finite differences see the objective that
 * the analytic gradient descends. */
void dat_freeze_targets(Model *m);

#endif
