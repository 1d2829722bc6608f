#include "tw_clock.h"

int64_t tw_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double tw_mono_s(void) { return (double)tw_clock_ns(CLOCK_MONOTONIC) * 1e-9; }
