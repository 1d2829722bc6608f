/* Clock-offset model from the recorder's ping/pong estimates (offset = client - server).
 * A sample's error is bounded by half its round trip, so low-RTT samples are the trustworthy
 * ones: MINRTT takes the median offset of the lowest-RTT quartile; FIT fits a least-squares
 * line through the lowest-RTT quartile (at least 4 samples spanning 1 s): offset and drift.
 * AUTO fits only when the drift stands out of the noise (beyond 3 standard errors): a spurious
 * ppm-level drift would move every sample off the timeline grid for nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_timeline.h"

static int cmp_rtt(const void *a, const void *b)
{
    const tw_clock_sample *x = a, *y = b;
    return (x->rtt_ns > y->rtt_ns) - (x->rtt_ns < y->rtt_ns);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void estimate_minrtt(const tw_clock_sample *s, size_t n, tw_clock_model *c)
{
    tw_clock_sample *v = malloc(n * sizeof *v);
    int64_t *off = malloc(n * sizeof *off);
    if (!v || !off) { /* fall back to the first sample rather than fail */
        c->offset_ns = s[0].offset_ns;
        c->t_ref_ns = s[0].t_server_ns;
        c->nused = 1;
        free(v);
        free(off);
        return;
    }
    memcpy(v, s, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_rtt);
    size_t k = n / 4 ? n / 4 : 1;
    for (size_t i = 0; i < k; i++)
        off[i] = v[i].offset_ns;
    qsort(off, k, sizeof *off, cmp_i64);
    c->offset_ns = off[k / 2];
    c->t_ref_ns = v[0].t_server_ns;
    c->nused = k;
    free(v);
    free(off);
}

/* Returns 0 when the fit is usable (enough low-RTT samples spanning >= 1 s, and with
 * need_significance a slope beyond 3 standard errors), else -1. */
static int estimate_fit(const tw_clock_sample *s, size_t n, int need_significance, tw_clock_model *c)
{
    if (n < 4)
        return -1;
    tw_clock_sample *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    memcpy(v, s, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_rtt);
    size_t k = n / 4 > 4 ? n / 4 : 4;
    int64_t t_lo = v[0].t_server_ns, t_hi = v[0].t_server_ns;
    for (size_t i = 1; i < k; i++) {
        if (v[i].t_server_ns < t_lo) t_lo = v[i].t_server_ns;
        if (v[i].t_server_ns > t_hi) t_hi = v[i].t_server_ns;
    }
    int rc = -1;
    if (t_hi - t_lo >= 1000000000LL) { /* under 1 s drift is not observable */
        int64_t tref = t_lo + (t_hi - t_lo) / 2, oref = v[0].offset_ns; /* keeps the sums small */
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t i = 0; i < k; i++) {
            double x = (double)(v[i].t_server_ns - tref), y = (double)(v[i].offset_ns - oref);
            sx += x; sy += y; sxx += x * x; sxy += x * y;
        }
        double den = (double)k * sxx - sx * sx;
        if (den > 0) {
            double b = ((double)k * sxy - sx * sy) / den, a = (sy - b * sx) / (double)k, ss = 0;
            for (size_t i = 0; i < k; i++) {
                double e = (double)(v[i].offset_ns - oref) - a - b * (double)(v[i].t_server_ns - tref);
                ss += e * e;
            }
            /* standard error of the slope; a drift within 3 of them is ping noise, not drift */
            double se = k > 2 ? sqrt(ss / (double)(k - 2) / (den / (double)k)) : INFINITY;
            if (!need_significance || fabs(b) > 3 * se) {
                c->drift = b;
                c->t_ref_ns = tref;
                c->offset_ns = oref + (int64_t)llround(a);
                c->nused = k;
                rc = 0;
            }
        }
    }
    free(v);
    return rc;
}

void tw_clock_estimate(const tw_clock_sample *s, size_t n, tw_clock_method m, tw_clock_model *out)
{
    memset(out, 0, sizeof *out);
    out->nsamples = n;
    if (n == 0 || m == TW_CLOCK_NONE) {
        out->method = TW_CLOCK_NONE;
        return;
    }
    out->min_rtt_ns = s[0].rtt_ns;
    for (size_t i = 1; i < n; i++)
        if (s[i].rtt_ns < out->min_rtt_ns)
            out->min_rtt_ns = s[i].rtt_ns;
    if (m == TW_CLOCK_FIT || m == TW_CLOCK_AUTO) {
        if (estimate_fit(s, n, m == TW_CLOCK_AUTO, out) == 0) {
            out->method = TW_CLOCK_FIT;
            return;
        }
    }
    out->drift = 0;
    estimate_minrtt(s, n, out);
    out->method = TW_CLOCK_MINRTT;
}

int64_t tw_clock_to_server(const tw_clock_model *c, int64_t t_src_ns)
{
    /* t_src = t_s + off + drift (t_s - t_ref)  =>  t_s = t_ref + (t_src - off - t_ref) / (1 + drift) */
    int64_t x = t_src_ns - c->offset_ns - c->t_ref_ns;
    if (c->drift == 0)
        return t_src_ns - c->offset_ns;
    return c->t_ref_ns + (int64_t)llround((double)x / (1.0 + c->drift));
}
