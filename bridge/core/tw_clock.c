/* Clocks, the live clock-offset estimator and the progress helper (tw_core.h). */
#include <stdarg.h>

#include "tw_core.h"

int64_t tw_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double tw_mono_s(void) { return (double)tw_clock_ns(CLOCK_MONOTONIC) * 1e-9; }

int tw_clock_sync_add(tw_clock_sync *s, int64_t t0, int64_t t1, int64_t t2, int64_t t3, int64_t *offset_ns,
                      int64_t *rtt_ns)
{
    int64_t rtt = (t3 - t0) - (t2 - t1);
    int64_t offset = ((t1 - t0) + (t2 - t3)) / 2;
    if (offset_ns)
        *offset_ns = offset;
    if (rtt_ns)
        *rtt_ns = rtt;
    if (rtt < 0)
        return TW_EINVAL;
    s->offset[s->next] = offset;
    s->rtt[s->next] = rtt;
    s->next = (s->next + 1) % TW_CLOCK_SYNC_WINDOW;
    if (s->n < TW_CLOCK_SYNC_WINDOW)
        s->n++;
    int best = 0;
    for (int i = 1; i < s->n; i++)
        if (s->rtt[i] < s->rtt[best])
            best = i;
    s->offset_ns = s->offset[best];
    s->rtt_ns = s->rtt[best];
    return 0;
}

void tw_progress_vsay(tw_progress_fn fn, void *user, const char *stage, uint64_t done, uint64_t total,
                      const char *fmt, va_list ap)
{
    if (!fn)
        return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fn(user, &(tw_progress){.stage = stage, .done = done, .total = total, .line = line});
}

void tw_progress_say(tw_progress_fn fn, void *user, const char *stage, uint64_t done, uint64_t total,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tw_progress_vsay(fn, user, stage, done, total, fmt, ap);
    va_end(ap);
}
