/* timer.h — wall-clock time and a few named accumulating timers. */
#ifndef CLT_TIMER_H
#define CLT_TIMER_H

#include <time.h>

static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
