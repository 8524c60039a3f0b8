/* model_checks.h — model-level test assertions shared by the test files.
 * Kept apart from model_fixture.c, which tests/parity/parity_dump also links
 * without the test harness. */
#ifndef CLT_MODEL_CHECKS_H
#define CLT_MODEL_CHECKS_H

/* 300 Adam steps on one small batch must drive the loss below half its
 * start: the gradient is not only right locally but usable. Reports a test
 * failure (with the loss parts) otherwise. The first steps also check that
 * every sparse-tensor row holding a gradient is listed in its RowSet. */
void fixture_check_overfits(const char *model, const char *extra);

#endif
