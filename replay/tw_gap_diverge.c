/* Open-loop divergence: from recorded states, the nominal model is driven by the recorded
 * actions (zero-order hold) with mj_step, and its joint and end-effector positions are compared
 * with what the robot did. Windows start at evenly spaced steps and run 2 s; one more rollout
 * runs the whole episode. Only the rollouts in flight hold an mjData, so memory does not grow
 * with the episode. Error at horizon H = RMS over the steps in [start, start + H) of every
 * window that had H of data (pooled), joints in rad and end effector in m. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"

#define MAX_WINDOWS 32

const double tw_horizons_s[TW_REPLAY_NHORIZONS - 1] = {0.1, 0.5, 1.0, 2.0};

typedef struct {
    mjData *d;
    uint64_t start;
    int active, whole;
} rollout;

struct tw_diverge {
    const tw_robot *r;
    const tw_recon_map *map;
    int nsub;
    uint64_t nsteps, hsteps[TW_REPLAY_NHORIZONS];
    int nwin;
    uint64_t starts[MAX_WINDOWS];
    rollout win[MAX_WINDOWS], ep;
    double sq_q[TW_REPLAY_NHORIZONS], sq_ee[TW_REPLAY_NHORIZONS];
    uint64_t n_q[TW_REPLAY_NHORIZONS], n_ee[TW_REPLAY_NHORIZONS];
    int used[TW_REPLAY_NHORIZONS];
};

int tw_diverge_new(const tw_robot *r, const tw_recon_map *map, uint64_t nsteps, double rate_hz,
                   int windows, tw_diverge **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_diverge *dv = calloc(1, sizeof *dv);
    if (!dv)
        return tw_errf(msg, msgsz, TW_ENOMEM, "divergence");
    dv->r = r;
    dv->map = map;
    dv->nsteps = nsteps;
    /* physics steps per timeline step; the model's own timestep is kept (it is the nominal one) */
    double ratio = 1.0 / (rate_hz * r->m->opt.timestep);
    dv->nsub = ratio < 1.5 ? 1 : (int)lround(ratio);
    for (int h = 0; h < TW_REPLAY_NHORIZONS - 1; h++)
        dv->hsteps[h] = (uint64_t)llround(tw_horizons_s[h] * rate_hz);
    dv->hsteps[TW_REPLAY_NHORIZONS - 1] = nsteps;
    if (windows > MAX_WINDOWS)
        windows = MAX_WINDOWS;
    uint64_t longest = dv->hsteps[TW_REPLAY_NHORIZONS - 2];
    if (windows > 0 && nsteps > longest) {
        dv->nwin = windows;
        for (int w = 0; w < windows; w++)
            dv->starts[w] = windows == 1 ? 0 : (uint64_t)w * (nsteps - longest) / (uint64_t)(windows - 1);
    } else if (windows > 0) {
        dv->nwin = 1; /* short episode: one window from the start, horizons that fit */
    }
    for (int w = 0; w < dv->nwin; w++)
        if (!(dv->win[w].d = tw_mj_make_data(r->m, msg, msgsz))) {
            tw_diverge_free(dv);
            return TW_EMUJOCO;
        }
    if (!(dv->ep.d = tw_mj_make_data(r->m, msg, msgsz))) {
        tw_diverge_free(dv);
        return TW_EMUJOCO;
    }
    dv->ep.whole = 1;
    *out = dv;
    return 0;
}

void tw_diverge_free(tw_diverge *dv)
{
    if (!dv)
        return;
    for (int w = 0; w < dv->nwin; w++)
        if (dv->win[w].d)
            mj_deleteData(dv->win[w].d);
    if (dv->ep.d)
        mj_deleteData(dv->ep.d);
    free(dv);
}

/* Puts a rollout into the recorded state of row i (and the object's, when streamed; other dofs
 * at the home state). */
static void start_rollout(tw_diverge *dv, rollout *ro, const tw_recon_rows *rw, uint32_t i, uint64_t step)
{
    const tw_robot *r = dv->r;
    mjData *d = ro->d;
    mj_resetData(r->m, d);
    tw_robot_home(r, d);
    for (int j = 0; j < rw->nj; j++) {
        d->qpos[r->qadr[j]] = rw->qpos[(size_t)i * rw->nj + j];
        d->qvel[r->vadr[j]] = rw->qvel[(size_t)i * rw->nj + j];
    }
    tw_recon_set_object(r, d, rw, i, 0);
    mj_forward(r->m, d);
    ro->start = step;
    ro->active = 1;
}

static void account(tw_diverge *dv, const rollout *ro, uint64_t step, double eq, double eee, int nj)
{
    uint64_t age = step - ro->start;
    if (ro->whole) {
        int h = TW_REPLAY_NHORIZONS - 1;
        dv->sq_q[h] += eq;
        dv->n_q[h] += (uint64_t)nj;
        dv->sq_ee[h] += eee;
        dv->n_ee[h]++;
        return;
    }
    for (int h = 0; h < TW_REPLAY_NHORIZONS - 1; h++) {
        if (age >= dv->hsteps[h] || ro->start + dv->hsteps[h] > dv->nsteps)
            continue; /* past this horizon, or the window cannot reach it */
        dv->sq_q[h] += eq;
        dv->n_q[h] += (uint64_t)nj;
        dv->sq_ee[h] += eee;
        dv->n_ee[h]++;
        if (age + 1 == dv->hsteps[h])
            dv->used[h]++;
    }
}

/* Compares a rollout with row i, then steps it through to row i+1. */
static void advance(tw_diverge *dv, rollout *ro, const tw_recon_rows *rw, uint32_t i, uint64_t step)
{
    const tw_robot *r = dv->r;
    mjData *d = ro->d;
    int nj = rw->nj;
    double eq = 0;
    for (int j = 0; j < nj; j++) {
        double e = d->qpos[r->qadr[j]] - rw->qpos[(size_t)i * nj + j];
        eq += e * e;
    }
    if (r->m->nu)
        mju_copy(d->ctrl, rw->ctrl + (size_t)i * rw->nu, r->m->nu);
    double eee = 0;
    for (int s = 0; s < dv->nsub; s++) {
        mj_step(r->m, d);
        if (s == 0 && r->ee_site >= 0) /* mj_step's poses are those of the state it started from */
            for (int k = 0; k < 3; k++) {
                double e = d->site_xpos[3 * r->ee_site + k] - rw->ee[(size_t)i * 7 + k];
                eee += e * e;
            }
    }
    if (!isfinite(eq) || !isfinite(eee)) /* diverged numerically: count it at a large error */
        eq = eee = 1e6;
    account(dv, ro, step, eq, eee, nj);
    if (!ro->whole && step + 1 - ro->start >= dv->hsteps[TW_REPLAY_NHORIZONS - 2])
        ro->active = 0;
}

int tw_diverge_feed(tw_diverge *dv, const tw_recon_rows *rw, uint64_t first, char *msg, size_t msgsz)
{
    for (uint32_t i = 0; i < rw->n; i++) {
        uint64_t step = first + i;
        if (step == 0)
            start_rollout(dv, &dv->ep, rw, i, step);
        for (int w = 0; w < dv->nwin; w++)
            if (dv->starts[w] == step && !dv->win[w].active && dv->win[w].start == 0)
                start_rollout(dv, &dv->win[w], rw, i, step);
        if (dv->ep.active)
            advance(dv, &dv->ep, rw, i, step);
        for (int w = 0; w < dv->nwin; w++)
            if (dv->win[w].active)
                advance(dv, &dv->win[w], rw, i, step);
    }
    return 0;
}

void tw_diverge_result(const tw_diverge *dv, double q_rmse[TW_REPLAY_NHORIZONS],
                       double ee_rmse[TW_REPLAY_NHORIZONS], int *nwindows)
{
    for (int h = 0; h < TW_REPLAY_NHORIZONS; h++) {
        int have = h == TW_REPLAY_NHORIZONS - 1 ? dv->n_q[h] > 0 : dv->used[h] > 0;
        q_rmse[h] = have ? sqrt(dv->sq_q[h] / (double)dv->n_q[h]) : NAN;
        ee_rmse[h] = have && dv->r->ee_site >= 0 ? sqrt(dv->sq_ee[h] / (double)dv->n_ee[h]) : NAN;
    }
    *nwindows = dv->nwin;
}
