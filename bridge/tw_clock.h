/* Clock readings shared by every stage (progress rates, pacing, wall-time reports). */
#ifndef TW_CLOCK_H
#define TW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clock_gettime(id) in nanoseconds. */
int64_t tw_clock_ns(clockid_t id);
/* CLOCK_MONOTONIC in seconds, for measuring durations. */
double tw_mono_s(void);

#endif
