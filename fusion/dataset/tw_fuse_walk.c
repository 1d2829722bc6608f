/* The per-episode sample walker: streams the replay library's aligned blocks and turns each timeline step
 * into a state row (qpos, qvel[, ee_pos, ee_quat]) and an action row, keeping only the last H+1 steps, so
 * memory never depends on the episode length. A sample is emitted for step t when steps t..t+H are all
 * valid: the joint state interpolated (not before/after the stream, not inside a gap) and an action known
 * (not before the first command, not inside a gap). Real and sim episodes take exactly this path.
 *
 * The alignment sees only the two streams fuse uses (joint state and action), through a source of its own:
 * other streams (wrench, imu, video) would be decompressed for nothing. A count-only walker (pass 1) also
 * skips the sample data: validity depends on the timestamps alone, so it reads no payload, makes no rows
 * and runs no forward kinematics, and still counts exactly the samples the full walk emits. Neither walker
 * runs the alignment's statistics pass (fuse uses none of its statistics): pass 1 finds the timeline from
 * the reference stream alone, pass 2 reuses pass 1's. */
#include <stdlib.h>
#include <string.h>

#include "tw_fuse_int.h"

/* The alignment source: streams js and act of the episode, as indices 0 and 1. */
typedef struct {
    const tw_episode *e;
    size_t idx[2];
    size_t elems[2];
    int no_data;                   /* count-only: timestamps are read, payload rows are zeros */
    tw_stream_decl one[2];         /* count-only: the declarations with one value per sample, so that the
                                    * alignment's buffers, zeroing and interpolation stay one column wide */
} two_streams;

struct tw_fuse_walker {
    const tw_fuse_ctx *c;
    size_t ep;
    int count_only;
    tw_episode *e;
    two_streams src;
    tw_align *a;
    tw_fuse_roles roles;
    int ajs, aact;                 /* stream indices in the alignment */
    uint32_t js_nj;                /* joints in this episode's joint_state stream */
    size_t js_elems, act_elems;
    tw_align_block blk;
    uint32_t row;                  /* next core row of blk to consume */
    int have_blk, at_end;
    uint64_t step;                 /* timeline steps consumed */
    uint64_t emitted, skipped;
    float *ring_x, *ring_u;        /* (H+1) x S, (H+1) x A */
    uint8_t *ring_ok;
    float *out_x, *out_u, *out_n;  /* S, H x A, H x S */
    float *to_x, *to_u, *to_n;     /* tw_fuse_walker_next_into's destination for one call, else NULL */
    mjData *d;                     /* forward kinematics for ee features (--model) */
};

uint64_t tw_fuse_walker_steps(const tw_fuse_walker *w) { return tw_align_get_info(w->a)->nsteps; }
int64_t tw_fuse_walker_t0(const tw_fuse_walker *w) { return tw_align_get_info(w->a)->t0_ns; }
uint64_t tw_fuse_walker_skipped(const tw_fuse_walker *w) { return w->skipped; }
uint64_t tw_fuse_walker_ordinal(const tw_fuse_walker *w) { return w->emitted; }
size_t tw_fuse_walker_episode(const tw_fuse_walker *w) { return w->ep; }

static size_t ts_nstreams(void *ctx) { (void)ctx; return 2; }
static const tw_stream_decl *ts_decl(void *ctx, size_t i)
{
    two_streams *t = ctx;
    return t->no_data ? &t->one[i] : tw_episode_decl(t->e, t->idx[i]);
}
static uint64_t ts_nsamples(void *ctx, size_t i)
{
    two_streams *t = ctx;
    return tw_episode_nsamples(t->e, t->idx[i]);
}

static int ts_read(void *ctx, size_t i, uint64_t start, uint64_t count, int64_t *t_src_ns, int64_t *t_recv_ns,
                   uint64_t *seq, double *data, char *msg, size_t msgsz)
{
    two_streams *t = ctx;
    int rc = tw_episode_read(t->e, t->idx[i], start, count, t_src_ns, t_recv_ns, seq, t->no_data ? NULL : data,
                             msg, msgsz);
    if (!rc && t->no_data && data)
        memset(data, 0, count * t->elems[i] * sizeof *data);
    return rc;
}

static int ts_clock(void *ctx, tw_clock_sample **out, size_t *n, char *msg, size_t msgsz)
{
    two_streams *t = ctx;
    return tw_episode_read_clock(t->e, out, n, msg, msgsz);
}

static const tw_align_source two_streams_source = {
    .nstreams = ts_nstreams,
    .decl = ts_decl,
    .nsamples = ts_nsamples,
    .read = ts_read,
    .clock = ts_clock,
};

void tw_fuse_walker_close(tw_fuse_walker *w)
{
    if (!w)
        return;
    tw_align_close(w->a);
    tw_episode_close_reader(w->e);
    if (w->d)
        mj_deleteData(w->d);
    free(w->ring_x);
    free(w);
}

int tw_fuse_walker_open(const tw_fuse_ctx *c, size_t ep, tw_episode *e, int count_only, tw_fuse_walker **out,
                        char *msg, size_t msgsz)
{
    *out = NULL;
    tw_fuse_walker *w = calloc(1, sizeof *w);
    if (!w) {
        tw_episode_close_reader(e);
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    }
    w->c = c;
    w->ep = ep;
    w->count_only = count_only;
    w->e = e;
    const tw_fuse_ep *fe = &c->eps[ep];
    const char *dir = fe->dir;
    char sub[900];
    int rc = e ? 0 : tw_episode_open(dir, &w->e, sub, sizeof sub);
    if (rc) {
        tw_errf(msg, msgsz, rc, "fuse: cannot read episode %s: %s", dir, sub);
        goto fail;
    }
    if ((rc = tw_fuse_resolve(c, w->e, dir, &w->roles, msg, msgsz)))
        goto fail;
    tw_align_opts ao;
    tw_align_opts_init(&ao);
    ao.rate_hz = c->o.rate_hz;
    const tw_stream_decl *dj = tw_episode_decl(w->e, (size_t)w->roles.js);
    const tw_stream_decl *da = tw_episode_decl(w->e, (size_t)w->roles.act);
    ao.reference = dj->name;
    w->src = (two_streams){.e = w->e, .idx = {(size_t)w->roles.js, (size_t)w->roles.act},
                           .elems = {tw_decl_elems(dj), tw_decl_elems(da)}, .no_data = count_only};
    if (count_only)
        for (int k = 0; k < 2; k++) {
            w->src.one[k] = *(k ? da : dj);
            w->src.one[k].ndim = 1;
            w->src.one[k].shape[0] = 1;
            w->src.elems[k] = 1;
        }
    /* Fuse uses the blocks, not the alignment statistics: pass 1 finds the span from the reference stream
     * alone, pass 2 reuses it (same file, same options) */
    tw_align_span span = {fe->t0_ns, fe->steps};
    rc = tw_align_open_span(&two_streams_source, &w->src, &ao, !count_only && fe->steps ? &span : NULL, &w->a, sub,
                            sizeof sub);
    if (rc) {
        tw_errf(msg, msgsz, rc, "fuse: aligning %s: %s", dir, sub);
        goto fail;
    }
    w->ajs = tw_align_find(w->a, TW_KIND_JOINT_STATE, dj->name);
    w->aact = tw_align_find(w->a, TW_KIND_ACTION, da->name);
    if (w->ajs < 0 || w->aact < 0) {
        rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: %s: alignment lost stream %s or %s", dir, dj->name, da->name);
        goto fail;
    }
    w->js_nj = dj->shape[1];
    w->js_elems = tw_decl_elems(dj);
    w->act_elems = tw_decl_elems(da);
    size_t S = c->S, A = c->A, H = c->H;
    w->ring_x = malloc(((H + 1) * (S + A) + S + H * (A + S)) * sizeof(float) + (H + 1));
    if (!w->ring_x) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
        goto fail;
    }
    w->ring_u = w->ring_x + (H + 1) * S;
    w->out_x = w->ring_u + (H + 1) * A;
    w->out_u = w->out_x + S;
    w->out_n = w->out_u + H * A;
    w->ring_ok = (uint8_t *)(w->out_n + H * S);
    if (c->robot && !count_only && !(w->d = tw_mj_make_data(c->robot->m, sub, sizeof sub))) {
        rc = tw_errf(msg, msgsz, TW_EMUJOCO, "fuse: %s", sub);
        goto fail;
    }
    *out = w;
    return 0;
fail:
    tw_fuse_walker_close(w);
    return rc;
}

/* End-effector position and orientation of the --model robot at joint positions q (canonical order). */
static void ee_pose(const tw_fuse_walker *w, const double *q, float *out)
{
    const tw_robot *r = w->c->robot;
    for (uint32_t k = 0; k < w->c->sig.nj; k++)
        if (w->c->ee_map[k] >= 0)
            w->d->qpos[r->qadr[w->c->ee_map[k]]] = q[k];
    double pose[7];
    tw_robot_fk_ee(r, w->d, pose);
    for (int i = 0; i < 7; i++)
        out[i] = (float)pose[i];
}

/* Fills ring slot `slot` from core row `row` of the current block. */
static void fill_slot(tw_fuse_walker *w, uint32_t row, size_t slot)
{
    const tw_fuse_ctx *c = w->c;
    uint8_t qj = w->blk.quality[w->ajs][row], qa = w->blk.quality[w->aact][row];
    w->ring_ok[slot] = !(qj & TW_Q_INVALID) && !(qa & (TW_Q_BEFORE | TW_Q_GAP));
    if (w->count_only)
        return;
    const double *js = w->blk.values[w->ajs] + (size_t)row * w->js_elems;
    const double *ac = w->blk.values[w->aact] + (size_t)row * w->act_elems;
    float *x = w->ring_x + slot * c->S, *u = w->ring_u + slot * c->A;
    uint32_t nj = c->sig.nj;
    double q[TW_MAX_AXES];
    for (uint32_t k = 0; k < nj; k++) {
        q[k] = js[w->roles.jperm[k]];
        x[k] = (float)q[k];
        x[nj + k] = (float)js[w->js_nj + w->roles.jperm[k]];
    }
    if (c->robot)
        ee_pose(w, q, x + 2 * nj);
    for (uint32_t k = 0; k < c->A; k++)
        u[k] = (float)ac[w->roles.aperm[k]];
}

/* Advances one timeline step into the ring: 1, 0 at the end, or < 0. */
static int advance(tw_fuse_walker *w, char *msg, size_t msgsz)
{
    while (!w->have_blk || w->row >= (uint32_t)(w->blk.halo_lo + w->blk.ncore)) {
        if (w->at_end)
            return 0;
        char sub[900];
        int rc = tw_align_next(w->a, &w->blk, sub, sizeof sub);
        if (rc < 0)
            return tw_errf(msg, msgsz, rc, "fuse: aligning %s: %s", w->c->eps[w->ep].dir, sub);
        if (rc == 0) {
            w->at_end = 1;
            return 0;
        }
        w->have_blk = 1;
        w->row = w->blk.halo_lo;
    }
    fill_slot(w, w->row++, (size_t)(w->step % (w->c->H + 1)));
    w->step++;
    return 1;
}

int tw_fuse_walker_next(tw_fuse_walker *w, tw_fuse_sample *s, char *msg, size_t msgsz)
{
    const size_t S = w->c->S, A = w->c->A, H = w->c->H, R = H + 1;
    for (;;) {
        int rc = advance(w, msg, msgsz);
        if (rc <= 0)
            return rc;
        if (w->step < R)
            continue;
        uint64_t t = w->step - R; /* sample start */
        int ok = 1;
        for (size_t k = 0; k < R && ok; k++)
            ok = w->ring_ok[(t + k) % R];
        if (!ok) {
            w->skipped++;
            continue;
        }
        w->emitted++;
        s->t = (uint32_t)t;
        if (w->count_only) {
            s->state = s->action = s->next_state = NULL;
            return 1;
        }
        float *x = w->to_x ? w->to_x : w->out_x, *u = w->to_x ? w->to_u : w->out_u, *n = w->to_x ? w->to_n : w->out_n;
        memcpy(x, w->ring_x + (t % R) * S, S * sizeof(float));
        for (size_t k = 0; k < H; k++) {
            memcpy(u + k * A, w->ring_u + ((t + k) % R) * A, A * sizeof(float));
            memcpy(n + k * S, w->ring_x + ((t + k + 1) % R) * S, S * sizeof(float));
        }
        s->state = x;
        s->action = u;
        s->next_state = n;
        return 1;
    }
}

int tw_fuse_walker_next_into(tw_fuse_walker *w, float *state, float *action, float *next_state,
                             tw_fuse_sample *s, char *msg, size_t msgsz)
{
    w->to_x = state;
    w->to_u = action;
    w->to_n = next_state;
    int rc = tw_fuse_walker_next(w, s, msg, msgsz);
    w->to_x = w->to_u = w->to_n = NULL;
    return rc;
}
