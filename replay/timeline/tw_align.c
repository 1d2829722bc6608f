/* Alignment cursor: builds the timeline and produces it block by block. Each stream keeps a
 * chunked reader; a timestep's value comes from the two samples around it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_align_int.h"

/* Sample times within this of a step count as at the step: a rig whose sample times are
 * computed in floating point must not see its action held one step late for 1 ns. */
#define TIME_EPS_NS 1000

typedef struct {
    tw_align_reader r;      /* signals */
    size_t i;               /* r.t[i] <= t < r.t[i+1] once started */
    int64_t *vt;            /* video: corrected frame times (kept frames) */
    int64_t *vnum;          /* video: frame number in the file for each kept frame */
    size_t vn, vj;
    double *values;
    int64_t *frame;
    uint8_t *quality;
} stream_cur;

struct tw_align {
    const tw_align_source *src;
    void *ctx;
    tw_align_opts o;
    tw_align_info info;
    stream_cur cur[TW_ALIGN_MAX_STREAMS];
    int64_t *t_ns;
    uint32_t cap_rows;
    uint64_t block;         /* index of the next block */
    uint64_t gen_next;      /* next timeline step to generate */
    uint64_t first;         /* first step of the rows in the buffers */
    uint32_t nrows;
};

void tw_align_opts_init(tw_align_opts *o)
{
    memset(o, 0, sizeof *o);
    o->gap_factor = 3;
    o->block_steps = 1024;
    o->read_chunk = 4096;
    o->clock = TW_CLOCK_AUTO;
}

static tw_interp interp_for(tw_kind k)
{
    switch (k) {
    case TW_KIND_ACTION: return TW_INTERP_HOLD;
    case TW_KIND_IMU: return TW_INTERP_SLERP;
    case TW_KIND_VIDEO: return TW_INTERP_VIDEO;
    case TW_KIND_EVENT: return TW_INTERP_EVENT;
    default: return TW_INTERP_LINEAR;
    }
}

/* Picks the aligned streams (all of them) and the reference that spans the timeline. */
static int choose_streams(tw_align *a, char *msg, size_t msgsz)
{
    tw_align_info *in = &a->info;
    size_t ns = a->src->nstreams(a->ctx);
    int ref = -1, first_sig = -1;
    for (size_t i = 0; i < ns; i++) {
        const tw_stream_decl *d = a->src->decl(a->ctx, i);
        if (in->nstreams == TW_ALIGN_MAX_STREAMS)
            return tw_errf(msg, msgsz, TW_ETOO_BIG, "more than %d streams to align", TW_ALIGN_MAX_STREAMS);
        tw_align_stream *s = &in->streams[in->nstreams];
        s->src_index = i;
        s->decl = d;
        s->interp = interp_for(d->kind);
        s->elems = s->interp >= TW_INTERP_VIDEO ? 0 : tw_decl_elems(d);
        /* events are sparse by nature: no gaps */
        s->gap_threshold_s = s->interp == TW_INTERP_EVENT ? 1e9 : a->o.gap_factor / (d->rate_hz > 0 ? d->rate_hz : 1);
        s->stats.drops = 0;
        int k = (int)in->nstreams++;
        if (a->o.reference && !strcmp(a->o.reference, d->name))
            ref = k;
        if (!a->o.reference && ref < 0 && d->kind == TW_KIND_JOINT_STATE)
            ref = k;
        if (first_sig < 0 && s->interp < TW_INTERP_VIDEO)
            first_sig = k;
    }
    if (a->o.reference && ref < 0)
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "reference stream '%s' not in the episode", a->o.reference);
    if (ref < 0)
        ref = first_sig;
    if (ref < 0)
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "episode has no signal stream to align");
    in->reference = (size_t)ref;
    in->rate_hz = a->o.rate_hz > 0 ? a->o.rate_hz : in->streams[ref].decl->rate_hz;
    if (!(in->rate_hz > 0) || in->rate_hz > 1e6)
        return tw_errf(msg, msgsz, TW_EINVAL, "timeline rate %g Hz out of range", in->rate_hz);
    return 0;
}

static int load_video(tw_align *a, size_t k, char *msg, size_t msgsz)
{
    stream_cur *c = &a->cur[k];
    tw_video_index_entry *v = NULL;
    size_t n = 0;
    if (a->src->video_index) {
        int rc = a->src->video_index(a->ctx, a->info.streams[k].src_index, &v, &n, msg, msgsz);
        if (rc < 0)
            return rc;
    }
    c->vt = malloc((n ? n : 1) * sizeof *c->vt);
    c->vnum = malloc((n ? n : 1) * sizeof *c->vnum);
    if (!c->vt || !c->vnum) {
        free(v);
        return tw_errf(msg, msgsz, TW_ENOMEM, "video index of %zu frames", n);
    }
    int64_t prev = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (v[i].t_src_ns <= prev)
            continue; /* same rule as the statistics pass */
        prev = v[i].t_src_ns;
        c->vt[c->vn] = tw_clock_to_server(&a->info.clock, v[i].t_src_ns);
        c->vnum[c->vn++] = (int64_t)i;
    }
    free(v);
    return 0;
}

/* Event times (few): read whole, cleaned like any stream, on the recorder clock. */
static int load_events(tw_align *a, size_t k, char *msg, size_t msgsz)
{
    stream_cur *c = &a->cur[k];
    tw_align_reader r;
    int rc = tw_align_reader_init(&r, a->src, a->ctx, a->info.streams[k].src_index, 1, TW_ALIGN_READ_LATENCY,
                                  &a->info.clock, a->o.read_chunk, msg, msgsz);
    if (rc < 0)
        return rc;
    size_t cap = 0;
    while ((rc = tw_align_reader_fill(&r, 0, msg, msgsz)) > 0) {
        if (c->vn + r.n > cap) {
            cap = 2 * (c->vn + r.n);
            int64_t *vt = realloc(c->vt, cap * sizeof *vt), *vnum = vt ? realloc(c->vnum, cap * sizeof *vnum) : NULL;
            if (vt)
                c->vt = vt;
            if (vnum)
                c->vnum = vnum;
            if (!vt || !vnum) {
                rc = tw_errf(msg, msgsz, TW_ENOMEM, "event times");
                break;
            }
        }
        for (size_t i = 0; i < r.n; i++) {
            c->vt[c->vn] = r.t[i];
            c->vnum[c->vn] = (int64_t)r.seq[i];
            c->vn++;
        }
    }
    tw_align_reader_free(&r);
    return rc < 0 ? rc : 0;
}

static int alloc_buffers(tw_align *a, char *msg, size_t msgsz)
{
    a->cap_rows = a->o.block_steps + 2 * a->o.halo;
    a->t_ns = malloc(a->cap_rows * sizeof *a->t_ns);
    if (!a->t_ns)
        return tw_errf(msg, msgsz, TW_ENOMEM, "alignment block");
    for (size_t k = 0; k < a->info.nstreams; k++) {
        tw_align_stream *s = &a->info.streams[k];
        stream_cur *c = &a->cur[k];
        c->quality = malloc(a->cap_rows);
        if (s->interp >= TW_INTERP_VIDEO)
            c->frame = malloc(a->cap_rows * sizeof *c->frame);
        else
            c->values = malloc(a->cap_rows * s->elems * sizeof *c->values);
        if (!c->quality || (!c->frame && !c->values))
            return tw_errf(msg, msgsz, TW_ENOMEM, "alignment block");
        int rc = s->interp == TW_INTERP_VIDEO   ? load_video(a, k, msg, msgsz)
                 : s->interp == TW_INTERP_EVENT ? load_events(a, k, msg, msgsz)
                                                : tw_align_reader_init(&c->r, a->src, a->ctx, s->src_index,
                                                                       s->elems, TW_ALIGN_READ_PAYLOAD,
                                                                       &a->info.clock, a->o.read_chunk, msg, msgsz);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* stats: run the statistics pass (which finds the span); else the span is `given`, or found alone. */
static int open_impl(const tw_align_source *src, void *ctx, const tw_align_opts *o, int stats,
                     const tw_align_span *given, tw_align **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_align *a = calloc(1, sizeof *a);
    if (!a)
        return tw_errf(msg, msgsz, TW_ENOMEM, "alignment");
    a->src = src;
    a->ctx = ctx;
    if (o)
        a->o = *o;
    else
        tw_align_opts_init(&a->o);
    if (a->o.block_steps == 0 || a->o.read_chunk == 0 || a->o.gap_factor <= 0 || a->o.gap_ms < 0) {
        tw_align_close(a);
        return tw_errf(msg, msgsz, TW_EINVAL, "alignment options: block, chunk and gap factor must be > 0");
    }
    tw_clock_sample *cs = NULL;
    size_t ncs = 0;
    int rc = src->clock ? src->clock(ctx, &cs, &ncs, msg, msgsz) : 0;
    if (rc == 0) {
        tw_clock_estimate(cs, ncs, a->o.clock, &a->info.clock);
        free(cs);
        rc = choose_streams(a, msg, msgsz);
    }
    if (rc == 0) {
        tw_align_opts go = a->o;
        go.gap_measured = stats && go.gap_measured; /* measuring is part of the statistics pass */
        rc = tw_align_gap_pass(src, ctx, &a->info, &go, msg, msgsz);
    }
    if (rc == 0 && stats) {
        rc = tw_align_stats_pass(src, ctx, &a->info, &a->o, msg, msgsz);
    } else if (rc == 0 && given) {
        a->info.t0_ns = given->t0_ns;
        a->info.nsteps = given->nsteps;
    } else if (rc == 0) {
        rc = tw_align_span_pass(src, ctx, &a->info, &a->o, msg, msgsz);
    }
    if (rc == 0)
        rc = alloc_buffers(a, msg, msgsz);
    if (rc < 0) {
        tw_align_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

int tw_align_open(const tw_align_source *src, void *ctx, const tw_align_opts *o, tw_align **out,
                  char *msg, size_t msgsz)
{
    return open_impl(src, ctx, o, 1, NULL, out, msg, msgsz);
}

int tw_align_open_span(const tw_align_source *src, void *ctx, const tw_align_opts *o, const tw_align_span *given,
                       tw_align **out, char *msg, size_t msgsz)
{
    if (given && given->nsteps == 0) {
        *out = NULL;
        return tw_errf(msg, msgsz, TW_EINVAL, "alignment: a given timeline needs at least one step");
    }
    return open_impl(src, ctx, o, 0, given, out, msg, msgsz);
}

void tw_align_close(tw_align *a)
{
    if (!a)
        return;
    for (size_t k = 0; k < a->info.nstreams; k++) {
        stream_cur *c = &a->cur[k];
        tw_align_reader_free(&c->r);
        free(c->vt);
        free(c->vnum);
        free(c->values);
        free(c->frame);
        free(c->quality);
    }
    free(a->t_ns);
    free(a);
}

const tw_align_info *tw_align_get_info(const tw_align *a) { return &a->info; }

int tw_align_find(const tw_align *a, tw_kind kind, const char *name)
{
    for (size_t k = 0; k < a->info.nstreams; k++) {
        const tw_stream_decl *d = a->info.streams[k].decl;
        if (name ? !strcmp(d->name, name) : d->kind == kind)
            return (int)k;
    }
    return -1;
}

/* Value of one signal stream at t into out; returns the quality flags. */
static int signal_at(const tw_align_stream *s, stream_cur *c, int64_t t, double *out, uint8_t *q,
                     char *msg, size_t msgsz)
{
    tw_align_reader *r = &c->r;
    size_t m = s->elems;
    for (;;) {
        while (c->i + 1 < r->n && r->t[c->i + 1] <= t + TIME_EPS_NS)
            c->i++;
        if (c->i + 1 < r->n || r->next >= r->total)
            break;
        int rc = tw_align_reader_fill(r, r->n ? r->n - c->i : 0, msg, msgsz);
        if (rc < 0)
            return rc;
        c->i = 0;
        if (rc == 0)
            break;
    }
    if (r->n == 0) {
        memset(out, 0, m * sizeof *out);
        *q = TW_Q_BEFORE | TW_Q_AFTER;
        return 0;
    }
    const double *a = r->data + c->i * m;
    *q = 0;
    if (t + TIME_EPS_NS < r->t[c->i]) { /* only before the first sample */
        memcpy(out, a, m * sizeof *out);
        *q = TW_Q_BEFORE;
    } else if (c->i + 1 >= r->n) {
        memcpy(out, a, m * sizeof *out);
        if (t > r->t[c->i] + TIME_EPS_NS)
            *q = TW_Q_AFTER;
    } else if ((double)(r->t[c->i + 1] - r->t[c->i]) > s->gap_threshold_s * 1e9) {
        memcpy(out, a, m * sizeof *out); /* never interpolate across a gap */
        if (t > r->t[c->i] + TIME_EPS_NS)
            *q = TW_Q_GAP;
    } else if (s->interp == TW_INTERP_HOLD) {
        memcpy(out, a, m * sizeof *out);
    } else {
        const double *b = a + m;
        if (t < r->t[c->i])
            t = r->t[c->i]; /* within TIME_EPS_NS before the sample: it is the sample */
        tw_interp_linear(a, b, r->t[c->i], r->t[c->i + 1], t, m, out);
        if (s->interp == TW_INTERP_SLERP && m >= 4) {
            double u = (double)(t - r->t[c->i]) / (double)(r->t[c->i + 1] - r->t[c->i]);
            tw_quat_slerp(a, b, u, out);
        }
    }
    return 0;
}

static void video_at(stream_cur *c, int64_t t, int64_t *frame, uint8_t *q)
{
    while (c->vj < c->vn && c->vt[c->vj] <= t + TIME_EPS_NS)
        c->vj++;
    *frame = c->vj ? c->vnum[c->vj - 1] : -1;
    *q = c->vj == 0 ? TW_Q_BEFORE : 0;
}

static int gen_row(tw_align *a, uint32_t row, uint64_t step, char *msg, size_t msgsz)
{
    int64_t t = a->info.t0_ns + (int64_t)llround((double)step * 1e9 / a->info.rate_hz);
    a->t_ns[row] = t;
    for (size_t k = 0; k < a->info.nstreams; k++) {
        const tw_align_stream *s = &a->info.streams[k];
        stream_cur *c = &a->cur[k];
        if (s->interp >= TW_INTERP_VIDEO) {
            video_at(c, t, &c->frame[row], &c->quality[row]);
            continue;
        }
        int rc = signal_at(s, c, t, c->values + (size_t)row * s->elems, &c->quality[row], msg, msgsz);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Moves rows [from, from+n) of every buffer to the front (halo shared with the last block). */
static void shift_rows(tw_align *a, uint32_t from, uint32_t n)
{
    memmove(a->t_ns, a->t_ns + from, n * sizeof *a->t_ns);
    for (size_t k = 0; k < a->info.nstreams; k++) {
        stream_cur *c = &a->cur[k];
        size_t m = a->info.streams[k].elems;
        memmove(c->quality, c->quality + from, n);
        if (c->frame)
            memmove(c->frame, c->frame + from, n * sizeof *c->frame);
        else
            memmove(c->values, c->values + (size_t)from * m, (size_t)n * m * sizeof *c->values);
    }
}

int tw_align_next(tw_align *a, tw_align_block *blk, char *msg, size_t msgsz)
{
    uint64_t N = a->info.nsteps, B = a->o.block_steps, H = a->o.halo;
    uint64_t core0 = a->block * B;
    if (core0 >= N)
        return 0;
    uint64_t core1 = core0 + B < N ? core0 + B : N;
    uint64_t r0 = core0 > H ? core0 - H : 0;
    uint64_t r1 = core1 + H < N ? core1 + H : N;
    uint32_t have = 0;
    if (a->nrows && r0 >= a->first && r0 < a->gen_next) {
        have = (uint32_t)(a->gen_next - r0);
        shift_rows(a, (uint32_t)(r0 - a->first), have);
    }
    for (uint64_t s = r0 + have; s < r1; s++) {
        int rc = gen_row(a, (uint32_t)(s - r0), s, msg, msgsz);
        if (rc < 0)
            return rc;
    }
    a->first = r0;
    a->nrows = (uint32_t)(r1 - r0);
    a->gen_next = r1;
    a->block++;
    memset(blk, 0, sizeof *blk);
    blk->first = r0;
    blk->nrows = a->nrows;
    blk->halo_lo = (uint32_t)(core0 - r0);
    blk->ncore = (uint32_t)(core1 - core0);
    blk->t_ns = a->t_ns;
    for (size_t k = 0; k < a->info.nstreams; k++) {
        blk->values[k] = a->cur[k].values;
        blk->frame[k] = a->cur[k].frame;
        blk->quality[k] = a->cur[k].quality;
    }
    return 1;
}
