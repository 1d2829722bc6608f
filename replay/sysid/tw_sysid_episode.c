/* Sysid data from an episode directory: aligned with the replay library (block cursor, bounded
 * memory), joints mapped as tw replay maps them, every stride-th timestep kept.
 *
 * Two ways to get qacc (tw_sysid_qacc; AUTO picks per episode):
 *  DISCRETE  the row as recorded and qacc = (qvel[k+1] - qvel[k]) / h: exact for a noise-free
 *            MuJoCo rollout sampled every physics step.
 *  SMOOTHED  every signal of the row (qpos, qvel, the differenced qacc, effort, wrench, ctrl)
 *            replaced by its moving average over rows k-h..k+h, all with the same weights.  The
 *            equations that are linear in those signals (M qacc + c - passive = effort for
 *            slowly varying M and c; the servo force) still hold for the averages, while the noise
 *            drops by sqrt(2h+1).  Filtering only qvel, as a plain Savitzky-Golay qacc does, would
 *            not: a servo's velocity and effort move within a few steps after each action change,
 *            and a smoothed qacc next to the raw effort biases damping and payload (measured).  This
 *            is the usual "same filter on both sides" of robot dynamic identification. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon.h"
#include "tw_sysid_int.h"

#define TW_SYSID_MAX_LAG 1000 /* latency in timeline steps */

typedef struct {
    tw_episode *ep;
    tw_align *al;
    tw_recon_map map;
    int js, wr, act, obj;        /* indices into the alignment's streams, -1 = none */
    tw_sysid_qacc mode;          /* for this episode (AUTO: decided on the first block) */
    uint64_t stride;
    uint32_t lag;                /* actuation latency in timeline steps */
    double home_ctrl[TW_ROBOT_MAX_ACT];
} ep_reader;

static double ep_rate(const tw_episode *ep, const tw_sysid_opts *o)
{
    double rate = o->align.rate_hz > 0 ? o->align.rate_hz : 0;
    for (size_t i = 0; !rate && i < tw_episode_nstreams(ep); i++)
        if (tw_episode_decl(ep, i)->kind == TW_KIND_JOINT_STATE)
            rate = tw_episode_decl(ep, i)->rate_hz;
    return rate;
}

int tw_sysid_episode_rate(const char *dir, const tw_sysid_opts *o, double *rate_hz, char *msg, size_t msgsz)
{
    tw_episode *ep;
    int rc = tw_episode_open(dir, &ep, msg, msgsz);
    if (rc < 0)
        return rc;
    *rate_hz = ep_rate(ep, o);
    tw_episode_close_reader(ep);
    if (!(*rate_hz > 0))
        return tw_errf(msg, msgsz, TW_EINVAL, "episode %s: no joint_state stream with a rate", dir);
    return 0;
}

static int ep_open(tw_sysid_data *sd, ep_reader *R, const char *dir, const tw_sysid_opts *o, char *msg,
                   size_t msgsz)
{
    int rc = tw_episode_open(dir, &R->ep, msg, msgsz);
    if (rc < 0)
        return rc;
    double rate = ep_rate(R->ep, o);
    double lag = o->latency_ms * 1e-3 * rate;
    if (!(lag <= TW_SYSID_MAX_LAG))
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: latency %g ms is more than %d timesteps", o->latency_ms,
                       TW_SYSID_MAX_LAG);
    R->lag = (uint32_t)llround(lag);
    tw_align_opts ao = o->align;
    ao.halo = o->sg_half + R->lag + 1; /* a kept row's window and the actions behind it */
    if ((rc = tw_align_open_episode(R->ep, &ao, &R->al, msg, msgsz)) < 0)
        return rc;
    tw_map *map = NULL;
    tw_roles ro;
    if ((rc = tw_map_load(o->map_path, &map, msg, msgsz)) < 0 ||
        (rc = tw_timeline_roles(R->al, map, &ro, msg, msgsz)) < 0) {
        tw_map_free(map);
        return rc;
    }
    R->js = ro.js, R->wr = ro.wr, R->act = ro.act, R->obj = ro.obj;
    const tw_align_info *in = tw_align_get_info(R->al);
    if (R->obj >= 0 && in->streams[R->obj].elems != 13)
        R->obj = -1; /* not the rig's free-joint state */
    if (R->js < 0 || in->reference != (size_t)R->js)
        rc = tw_errf(msg, msgsz, TW_ENOT_FOUND, "episode %s: no joint_state stream to fit on", dir);
    else
        rc = tw_recon_map_build(sd->nominal, in->streams[R->js].decl, R->act >= 0 ? in->streams[R->act].decl : NULL,
                                map, &R->map, msg, msgsz);
    tw_map_free(map);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", (msg && *msg) ? msg : tw_strerror(rc));
        return tw_errf(msg, msgsz, rc, "episode %s: %s", dir, why);
    }
    uint64_t keep = o->max_samples ? o->max_samples : 5000;
    R->stride = (in->nsteps + keep - 1) / keep;
    if (R->stride < 1)
        R->stride = 1;
    for (int a = 0; a < sd->nominal->m->nu && a < TW_ROBOT_MAX_ACT; a++)
        R->home_ctrl[a] = sd->d->ctrl[a];
    return 0;
}

static void ep_close(ep_reader *R)
{
    tw_align_close(R->al);
    tw_episode_close_reader(R->ep);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
    return n ? x[n / 2] : 0;
}

/* AUTO: is the recorded qvel noisy?  Differences of white noise grow with their order
 * (std of the 2nd difference sqrt(6) sigma, of the 3rd sqrt(20) sigma: ratio 1.83), while a
 * MuJoCo-integrated, noise-free velocity is smooth between action changes and its higher
 * differences shrink.  Medians keep the action-change kinks out.  Judged on the first block. */
static tw_sysid_qacc ep_pick_mode(const ep_reader *R, const tw_align_block *b)
{
    int N = R->map.nrec;
    size_t st = (size_t)3 * N, n = 0;
    const double *v = b->values[R->js] + N;
    const uint8_t *q = b->quality[R->js];
    double *d2 = malloc(sizeof(double) * (size_t)b->nrows * (size_t)N);
    double *d3 = malloc(sizeof(double) * (size_t)b->nrows * (size_t)N);
    tw_sysid_qacc mode = TW_SYSID_QACC_SG; /* the safe choice */
    for (uint32_t r = 1; d2 && d3 && r + 2 < b->nrows; r++) {
        if ((q[r - 1] | q[r] | q[r + 1] | q[r + 2]) & TW_Q_INVALID)
            continue;
        for (int c = 0; c < N; c++) {
            const double *x = v + (size_t)(r - 1) * st + c;
            d2[n] = fabs(x[2 * st] - 2 * x[st] + x[0]);
            d3[n++] = fabs(x[3 * st] - 3 * x[2 * st] + 3 * x[st] - x[0]);
        }
    }
    if (n >= 16) {
        double m2 = median(d2, n), m3 = median(d3, n);
        mode = m3 <= 1.2 * m2 ? TW_SYSID_QACC_DISCRETE : TW_SYSID_QACC_SG;
    }
    free(d2);
    free(d3);
    return mode;
}

/* The ctrl the actuators applied at block row y: the action commanded lag rows earlier. */
static void applied_ctrl(const ep_reader *R, const tw_align_block *b, int64_t y, int nu, double *ctrl)
{
    for (int a = 0; a < nu; a++) {
        int c = R->act >= 0 && R->map.actions_ok ? R->map.act_col[a] : -1;
        ctrl[a] = c >= 0 ? b->values[R->act][(size_t)(y - R->lag) * (size_t)R->map.nact + (size_t)c]
                         : R->home_ctrl[a];
    }
}

/* Averages (weight k) of rows lo..hi into s; hi + 1 must exist (for the differenced qacc). */
static void ep_average(const tw_sysid_data *sd, const ep_reader *R, const tw_align_block *b, int64_t lo, int64_t hi,
                       double dt, tw_sysid_sample *s)
{
    const tw_recon_map *mp = &R->map;
    int N = mp->nrec, nu = sd->nominal->m->nu;
    double k = 1.0 / (double)(hi - lo + 1), ctrl[TW_ROBOT_MAX_ACT];
    memset(s->qpos, 0, sizeof s->qpos);
    memset(s->qvel, 0, sizeof s->qvel);
    memset(s->qacc, 0, sizeof s->qacc);
    memset(s->effort, 0, sizeof s->effort);
    memset(s->wrench, 0, sizeof s->wrench);
    memset(s->ctrl, 0, sizeof s->ctrl);
    for (int64_t y = lo; y <= hi; y++) {
        const double *row = b->values[R->js] + (size_t)y * 3 * N, *next = row + 3 * N;
        for (int j = 0; j < mp->nj; j++) {
            int c = mp->col[j];
            s->qpos[j] += k * row[c];
            s->qvel[j] += k * row[N + c];
            s->effort[j] += k * row[2 * N + c];
            s->qacc[j] += k * (next[N + c] - row[N + c]) / dt;
        }
        for (int a = 0; s->have_wrench && a < 6; a++)
            s->wrench[a] += k * b->values[R->wr][(size_t)y * 6 + (size_t)a];
        applied_ctrl(R, b, y, nu, ctrl);
        for (int a = 0; a < nu; a++)
            s->ctrl[a] += k * ctrl[a];
    }
}

/* Kept row r of the block into s (h = 0: the row itself); 0 when its window is not whole. */
static int ep_row(const tw_sysid_data *sd, const ep_reader *R, const tw_align_block *b, uint32_t r, uint32_t h,
                  double dt, tw_sysid_sample *s)
{
    int64_t lo = (int64_t)r - h, hi = (int64_t)r + h;
    int acts = R->act >= 0 && R->map.actions_ok;
    if (lo < 0 || hi + 1 >= (int64_t)b->nrows || (acts && lo < (int64_t)R->lag))
        return 0; /* the window (or the action behind it) runs off the block: an episode's ends */
    s->have_wrench = R->wr >= 0;
    for (int64_t y = lo; y <= hi + 1; y++) {
        if (b->quality[R->js][y] & TW_Q_INVALID)
            return 0;
        if (R->wr >= 0 && y <= hi && (b->quality[R->wr][y] & TW_Q_INVALID))
            s->have_wrench = 0;
    }
    ep_average(sd, R, b, lo, hi, dt, s);
    s->have_ctrl = acts;
    s->have_object = R->obj >= 0 && !(b->quality[R->obj][r] & TW_Q_INVALID);
    if (s->have_object)
        memcpy(s->object, b->values[R->obj] + (size_t)r * 13, sizeof s->object);
    return 1;
}

static int ep_pass(tw_sysid_data *sd, ep_reader *R, const tw_sysid_opts *o, int segment, char *msg, size_t msgsz)
{
    double dt = 1.0 / tw_align_get_info(R->al)->rate_hz;
    int rc;
    tw_align_block b;
    tw_sysid_sample s;
    memset(&s, 0, sizeof s);
    s.segment = segment;
    while ((rc = tw_align_next(R->al, &b, msg, msgsz)) == 1) {
        if (R->mode == TW_SYSID_QACC_AUTO)
            R->mode = ep_pick_mode(R, &b);
        uint32_t h = R->mode == TW_SYSID_QACC_DISCRETE ? 0 : o->sg_half;
        for (uint32_t i = 0; i < b.ncore; i++) {
            uint32_t r = b.halo_lo + i;
            s.step = b.first + r;
            if (s.step % R->stride || !ep_row(sd, R, &b, r, h, dt, &s))
                continue;
            rc = tw_sysid_data_add(sd, &s, msg, msgsz);
            if (rc == TW_EINVAL) /* a non-finite value in the recording: that step is skipped */
                rc = 0;
            if (rc < 0)
                return rc;
        }
    }
    return rc;
}

int tw_sysid_data_add_episode(tw_sysid_data *sd, const char *dir, const tw_sysid_opts *o, int segment, char *msg,
                              size_t msgsz)
{
    if (o->sim_integrator != sd->sim_integrator)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: options and data set disagree on sim_integrator");
    ep_reader R;
    memset(&R, 0, sizeof R);
    R.mode = o->qacc;
    size_t before = sd->n;
    int rc = ep_open(sd, &R, dir, o, msg, msgsz);
    if (rc == 0)
        rc = ep_pass(sd, &R, o, segment, msg, msgsz);
    ep_close(&R);
    if (rc == 0 && sd->n == before)
        rc = tw_errf(msg, msgsz, TW_EINVAL, "episode %s: no usable timestep (gaps, or shorter than the "
                     "smoothing window)", dir);
    if (rc < 0)
        sd->n = before; /* all or nothing */
    else if (R.mode == TW_SYSID_QACC_DISCRETE)
        sd->n_discrete++;
    else
        sd->n_sg++;
    return rc < 0 ? rc : 0;
}
