/* First alignment pass: walks every stream's timestamps once (in chunks) for jitter,
 * latency, gaps, duplicates and coverage, and fixes the timeline span from the reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_align_int.h"

/* Running statistics of one stream's sample times. */
typedef struct {
    double thr_ns;
    int64_t t_lo, t_hi;           /* timeline span, recorder clock (0,0 while unknown) */
    int64_t first, last, prev_src;
    uint64_t n, gaps;
    double gap_in_span_ns, gap_ns;
    double dmean, dm2;            /* Welford over source inter-arrival (gaps excluded) */
    uint64_t dn;
    double lmean;                 /* latency mean */
    tw_p2 lp95;
} acc_t;

static void acc_init(acc_t *a, double thr_s, int64_t t_lo, int64_t t_hi)
{
    memset(a, 0, sizeof *a);
    a->thr_ns = thr_s * 1e9;
    a->t_lo = t_lo;
    a->t_hi = t_hi;
    tw_p2_init(&a->lp95, 0.95);
}

static double overlap(int64_t a, int64_t b, int64_t lo, int64_t hi)
{
    int64_t x = a > lo ? a : lo, y = b < hi ? b : hi;
    return y > x ? (double)(y - x) : 0;
}

/* t: recorder clock, t_src: source clock, lat_ns: receive minus corrected source time. */
static void acc_add(acc_t *a, int64_t t, int64_t t_src, double lat_ns)
{
    if (a->n == 0) {
        a->first = t;
    } else {
        if ((double)(t - a->last) > a->thr_ns) { /* a gap is counted, not part of jitter */
            a->gaps++;
            a->gap_ns += (double)(t - a->last);
            a->gap_in_span_ns += overlap(a->last, t, a->t_lo, a->t_hi);
        } else {
            double d = (double)(t_src - a->prev_src);
            a->dn++;
            tw_welford_step(&a->dmean, &a->dm2, a->dn, d);
        }
    }
    a->n++;
    a->lmean += (lat_ns - a->lmean) / a->n;
    tw_p2_add(&a->lp95, lat_ns);
    a->last = t;
    a->prev_src = t_src;
}

static void acc_finish(const acc_t *a, int64_t t0, int64_t t_end, tw_align_stream_stats *s)
{
    s->gaps = a->gaps;
    s->gap_s = a->gap_ns * 1e-9;
    s->period_mean_ms = a->dmean * 1e-6;
    s->jitter_ms = a->dn > 1 ? sqrt(a->dm2 / (a->dn - 1)) * 1e-6 : 0;
    s->latency_mean_ms = a->lmean * 1e-6;
    s->latency_p95_ms = tw_p2_get(&a->lp95) * 1e-6;
    s->t_first_s = a->n ? (double)(a->first - t0) * 1e-9 : 0;
    s->t_last_s = a->n ? (double)(a->last - t0) * 1e-9 : 0;
    if (a->n == 0)
        s->coverage = 0;
    else if (t_end <= t0)
        s->coverage = a->first <= t0 && a->last >= t0 ? 1 : 0;
    else
        s->coverage = (overlap(a->first, a->last, t0, t_end) - a->gap_in_span_ns) / (double)(t_end - t0);
}

static int signal_pass(const tw_align_source *src, void *ctx, const tw_align_info *info,
                       tw_align_stream *st, const tw_align_opts *o, acc_t *a, char *msg, size_t msgsz)
{
    tw_align_reader r;
    int rc = tw_align_reader_init(&r, src, ctx, st->src_index, 1, TW_ALIGN_READ_LATENCY, &info->clock,
                                  o->read_chunk, msg, msgsz);
    if (rc < 0)
        return rc;
    while ((rc = tw_align_reader_fill(&r, 0, msg, msgsz)) > 0)
        for (size_t i = 0; i < r.n; i++) /* data[i] = t_recv - t_src */
            acc_add(a, r.t[i], r.t_src[i], r.data[i] + (double)(r.t_src[i] - r.t[i]));
    st->stats.samples = r.total;
    st->stats.used = a->n;
    st->stats.duplicates = r.duplicates;
    st->stats.out_of_order = r.out_of_order;
    tw_align_reader_free(&r);
    return rc < 0 ? rc : 0;
}

static int video_pass(const tw_align_source *src, void *ctx, const tw_align_info *info,
                      tw_align_stream *st, acc_t *a, char *msg, size_t msgsz)
{
    tw_video_index_entry *v = NULL;
    size_t n = 0;
    if (src->video_index) {
        int rc = src->video_index(ctx, st->src_index, &v, &n, msg, msgsz);
        if (rc < 0)
            return rc;
    }
    int64_t prev = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (v[i].t_src_ns <= prev) { /* the index is in arrival order; a repeat is a duplicate */
            if (v[i].t_src_ns == prev)
                st->stats.duplicates++;
            else
                st->stats.out_of_order++;
            continue;
        }
        prev = v[i].t_src_ns;
        int64_t t = tw_clock_to_server(&info->clock, v[i].t_src_ns);
        acc_add(a, t, v[i].t_src_ns, (double)(v[i].t_recv_ns - t));
    }
    st->stats.samples = n;
    st->stats.used = a->n;
    free(v);
    return 0;
}

static int one_pass(const tw_align_source *src, void *ctx, tw_align_info *info, size_t k,
                    const tw_align_opts *o, int64_t t_lo, int64_t t_hi, acc_t *a, char *msg,
                    size_t msgsz)
{
    tw_align_stream *st = &info->streams[k];
    acc_init(a, st->gap_threshold_s, t_lo, t_hi);
    if (st->interp == TW_INTERP_VIDEO)
        return video_pass(src, ctx, info, st, a, msg, msgsz);
    return signal_pass(src, ctx, info, st, o, a, msg, msgsz);
}

/* The timeline from the reference stream's first and last kept sample (n of them). */
static int set_span(tw_align_info *info, uint64_t n, int64_t first, int64_t last, char *msg, size_t msgsz)
{
    if (n == 0)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "reference stream '%s' has no samples",
                       info->streams[info->reference].decl->name);
    info->t0_ns = first;
    double span_s = (double)(last - first) * 1e-9;
    info->nsteps = (uint64_t)floor(span_s * info->rate_hz + 1e-9) + 1;
    return 0;
}

int tw_align_span_pass(const tw_align_source *src, void *ctx, tw_align_info *info, const tw_align_opts *o,
                       char *msg, size_t msgsz)
{
    const tw_align_stream *st = &info->streams[info->reference];
    if (st->interp == TW_INTERP_VIDEO) { /* a video reference: the index, as the statistics pass reads it */
        acc_t a;
        int rc = one_pass(src, ctx, info, info->reference, o, 0, 0, &a, msg, msgsz);
        return rc < 0 ? rc : set_span(info, a.n, a.first, a.last, msg, msgsz);
    }
    tw_align_reader r;
    int rc = tw_align_reader_init(&r, src, ctx, st->src_index, 1, TW_ALIGN_READ_TIMES, &info->clock, o->read_chunk,
                                  msg, msgsz);
    if (rc < 0)
        return rc;
    uint64_t n = 0;
    int64_t first = 0, last = 0;
    while ((rc = tw_align_reader_fill(&r, 0, msg, msgsz)) > 0) {
        if (n == 0)
            first = r.t[0];
        last = r.t[r.n - 1];
        n += r.n;
    }
    tw_align_reader_free(&r);
    return rc < 0 ? rc : set_span(info, n, first, last, msg, msgsz);
}

/* Median interval of stream k on the recorder clock (P-square: O(1) memory); 0 with < 2 samples. */
static int median_interval(const tw_align_source *src, void *ctx, const tw_align_info *info, size_t k,
                           const tw_align_opts *o, double *med_ns, char *msg, size_t msgsz)
{
    tw_align_reader r;
    int rc = tw_align_reader_init(&r, src, ctx, info->streams[k].src_index, 1, TW_ALIGN_READ_TIMES, &info->clock,
                                  o->read_chunk, msg, msgsz);
    if (rc < 0)
        return rc;
    tw_p2 p;
    tw_p2_init(&p, 0.5);
    int64_t prev = 0;
    int have = 0;
    while ((rc = tw_align_reader_fill(&r, 0, msg, msgsz)) > 0)
        for (size_t i = 0; i < r.n; i++) {
            if (have)
                tw_p2_add(&p, (double)(r.t[i] - prev));
            prev = r.t[i];
            have = 1;
        }
    tw_align_reader_free(&r);
    *med_ns = p.count ? tw_p2_get(&p) : 0;
    return rc < 0 ? rc : 0;
}

int tw_align_gap_pass(const tw_align_source *src, void *ctx, tw_align_info *info, const tw_align_opts *o,
                      char *msg, size_t msgsz)
{
    for (size_t k = 0; k < info->nstreams; k++) {
        tw_align_stream *st = &info->streams[k];
        if (st->interp == TW_INTERP_EVENT || st->interp == TW_INTERP_VIDEO)
            continue; /* events are sparse; video frames keep the nominal rate */
        if (o->gap_ms > 0) {
            st->gap_threshold_s = o->gap_ms * 1e-3;
            continue;
        }
        if (!o->gap_measured)
            continue;
        double med_ns = 0;
        int rc = median_interval(src, ctx, info, k, o, &med_ns, msg, msgsz);
        if (rc < 0)
            return rc;
        st->stats.period_median_ms = med_ns * 1e-6;
        if (med_ns > 0)
            st->gap_threshold_s = o->gap_factor * med_ns * 1e-9;
    }
    return 0;
}

int tw_align_stats_pass(const tw_align_source *src, void *ctx, tw_align_info *info,
                        const tw_align_opts *o, char *msg, size_t msgsz)
{
    acc_t a;
    size_t ref = info->reference;
    int rc = one_pass(src, ctx, info, ref, o, 0, 0, &a, msg, msgsz);
    if (rc < 0)
        return rc;
    if ((rc = set_span(info, a.n, a.first, a.last, msg, msgsz)))
        return rc;
    int64_t t_end = info->t0_ns + (int64_t)llround((double)(info->nsteps - 1) * 1e9 / info->rate_hz);
    for (size_t k = 0; k < info->nstreams; k++) {
        rc = one_pass(src, ctx, info, k, o, info->t0_ns, t_end, &a, msg, msgsz);
        if (rc < 0)
            return rc;
        acc_finish(&a, info->t0_ns, t_end, &info->streams[k].stats);
    }
    return 0;
}
