/* Open-loop divergence: from recorded states, the nominal model is driven by the recorded
 * actions (zero-order hold) with mj_step, and its joint and end-effector positions are compared
 * with what the robot did. Windows start at evenly spaced steps and run 2 s; one more rollout
 * runs the whole episode. Only the rollouts in flight hold an mjData (a window's goes to the next
 * one once it ends), so memory does not grow with the episode or the window count. The rollouts
 * are independent: within a block each may run on its own thread; their errors are kept per row
 * and summed afterwards in a fixed order, so the numbers do not depend on the threads. Error at horizon H = RMS over the steps in [start, start + H) of every
 * window that had H of data (pooled), joints in rad and end effector in m. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"

#define MAX_WINDOWS 32
#define MAX_ROLLOUTS (MAX_WINDOWS + 1)

const double tw_horizons_s[TW_REPLAY_NHORIZONS - 1] = {0.1, 0.5, 1.0, 2.0};

/* What a rollout in flight holds: its mjData and its errors over the block being fed. Slots are
 * reused, so their number is the most rollouts ever in flight at once, not the window count. */
typedef struct {
    mjData *d;
    double *eq, *eee; /* [cap]: squared joint / end-effector error at each row of the block */
    uint32_t cap;
} slot;

enum { RO_PENDING, RO_RUNNING, RO_DONE };

typedef struct {
    int state, whole, slot;
    uint64_t start;
    uint32_t i0, i1; /* rows of the current block it advanced through */
    int starts_here; /* starts at row i0 of the current block */
    int ends_here;   /* reached its last step in the current block */
} rollout;

struct tw_diverge {
    const tw_robot *r;
    const tw_recon_map *map;
    int nsub;
    uint64_t nsteps, hsteps[TW_REPLAY_NHORIZONS];
    int nwin;
    uint64_t starts[MAX_WINDOWS];
    rollout ro[MAX_ROLLOUTS]; /* [0] the whole episode, then the windows: the order errors are summed in */
    slot slots[MAX_ROLLOUTS];
    int nslots, free_slot[MAX_ROLLOUTS], nfree;
    const tw_recon_rows *rw; /* the block being fed */
    uint64_t first;
    int task[MAX_ROLLOUTS], ntask;
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
    dv->ro[0].whole = 1;
    dv->ro[0].start = 0;
    for (int w = 0; w < dv->nwin; w++)
        dv->ro[1 + w].start = dv->starts[w];
    *out = dv;
    return 0;
}

void tw_diverge_free(tw_diverge *dv)
{
    if (!dv)
        return;
    for (int k = 0; k < dv->nslots; k++) {
        if (dv->slots[k].d)
            mj_deleteData(dv->slots[k].d);
        free(dv->slots[k].eq);
        free(dv->slots[k].eee);
    }
    free(dv);
}

/* A free slot for a rollout starting now (a new one only when all are in flight); its error
 * buffers hold cap rows. Returns the slot's index or a tw_err. */
static int take_slot(tw_diverge *dv, uint32_t cap, char *msg, size_t msgsz)
{
    int k = dv->nfree ? dv->free_slot[--dv->nfree] : dv->nslots++;
    slot *sl = &dv->slots[k];
    if (!sl->d && !(sl->d = tw_mj_make_data(dv->r->m, msg, msgsz)))
        return TW_EMUJOCO;
    if (sl->cap < cap) {
        free(sl->eq);
        free(sl->eee);
        sl->eq = malloc(cap * sizeof *sl->eq);
        sl->eee = malloc(cap * sizeof *sl->eee);
        sl->cap = sl->eq && sl->eee ? cap : 0;
        if (!sl->cap)
            return tw_errf(msg, msgsz, TW_ENOMEM, "divergence rollout");
    }
    return k;
}

/* Puts a rollout into the recorded state of row i (and the object's, when streamed; other dofs
 * at the home state). */
static void start_rollout(const tw_diverge *dv, mjData *d, const tw_recon_rows *rw, uint32_t i)
{
    const tw_robot *r = dv->r;
    mj_resetData(r->m, d);
    tw_robot_home(r, d);
    for (int j = 0; j < rw->nj; j++) {
        d->qpos[r->qadr[j]] = rw->qpos[(size_t)i * rw->nj + j];
        d->qvel[r->vadr[j]] = rw->qvel[(size_t)i * rw->nj + j];
    }
    tw_recon_set_object(r, d, rw, i, 0);
    mj_forward(r->m, d);
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

/* Compares a rollout with row i (squared errors into *eq, *eee), then steps it through to row i+1. */
static void advance(const tw_diverge *dv, mjData *d, const tw_recon_rows *rw, uint32_t i, double *eq_out,
                    double *eee_out)
{
    const tw_robot *r = dv->r;
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
    *eq_out = eq;
    *eee_out = eee;
}

int tw_diverge_plan(tw_diverge *dv, const tw_recon_rows *rw, uint64_t first, char *msg, size_t msgsz)
{
    dv->rw = rw;
    dv->first = first;
    dv->ntask = 0;
    for (int k = 0; k < 1 + dv->nwin; k++) {
        rollout *ro = &dv->ro[k];
        ro->starts_here = ro->ends_here = 0;
        ro->i0 = ro->i1 = 0;
        if (ro->state == RO_PENDING && ro->start >= first && ro->start - first < rw->n) {
            int sl = take_slot(dv, rw->cap, msg, msgsz);
            if (sl < 0)
                return sl;
            *ro = (rollout){RO_RUNNING, ro->whole, sl, ro->start, (uint32_t)(ro->start - first), 0, 1, 0};
        }
        if (ro->state == RO_RUNNING)
            dv->task[dv->ntask++] = k;
    }
    return dv->ntask;
}

void tw_diverge_task(tw_diverge *dv, int t)
{
    rollout *ro = &dv->ro[dv->task[t]];
    const tw_recon_rows *rw = dv->rw;
    slot *sl = &dv->slots[ro->slot];
    uint64_t longest = dv->hsteps[TW_REPLAY_NHORIZONS - 2];
    if (ro->starts_here)
        start_rollout(dv, sl->d, rw, ro->i0);
    uint32_t i = ro->i0;
    while (i < rw->n) {
        advance(dv, sl->d, rw, i, &sl->eq[i], &sl->eee[i]);
        uint64_t step = dv->first + i++;
        if (!ro->whole && step + 1 - ro->start >= longest) {
            ro->ends_here = 1; /* the window's last step */
            break;
        }
    }
    ro->i1 = i;
}

void tw_diverge_merge(tw_diverge *dv)
{
    const tw_recon_rows *rw = dv->rw;
    for (uint32_t i = 0; i < rw->n; i++) /* step by step, rollouts in order: whatever ran where */
        for (int t = 0; t < dv->ntask; t++) {
            const rollout *ro = &dv->ro[dv->task[t]];
            if (i >= ro->i0 && i < ro->i1)
                account(dv, ro, dv->first + i, dv->slots[ro->slot].eq[i], dv->slots[ro->slot].eee[i], rw->nj);
        }
    for (int t = 0; t < dv->ntask; t++) {
        rollout *ro = &dv->ro[dv->task[t]];
        if (ro->ends_here) { /* ended in this block: its slot goes to the next rollout to start */
            ro->state = RO_DONE;
            dv->free_slot[dv->nfree++] = ro->slot;
        }
    }
    dv->ntask = 0;
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
