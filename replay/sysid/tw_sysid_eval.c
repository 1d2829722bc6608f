/* Sysid residual: what the recording says minus what the candidate model predicts, per kept step
 * and channel (layout in tw_sysid_int.h), and the weighted objective over it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_sysid_int.h"

#define TW_SYSID_FLOOR 0.02

static int fitted(const tw_sysid_opts *o, const char *name)
{
    for (int k = 0; k < o->nparam; k++)
        if (!strcmp(o->param[k].name, name))
            return 1;
    return 0;
}

/* Blocks whose prediction moves with a fitted parameter; the others add a constant and are skipped. */
static void blocks_on(tw_sysid_ctx *c)
{
    const tw_sysid_opts *o = c->o;
    const mjModel *m = c->nominal->m;
    /* the implicit integrator folds the servos' kv (scaled by gain) into the discrete qacc correction */
    int gain_in_qacc = c->sd->sim_integrator && m->opt.integrator == mjINT_IMPLICIT;
    int dyn = fitted(o, "damping") || fitted(o, "friction") || fitted(o, "payload_kg") ||
              (fitted(o, "gain") && gain_in_qacc);
    c->block_on[TW_SYSID_B_ACT] = fitted(o, "gain") && o->w_actuator > 0;
    c->block_on[TW_SYSID_B_INV] = dyn && o->w_inverse > 0;
    c->block_on[TW_SYSID_B_WR] = dyn && o->w_wrench > 0;
}

static int chan_block(const tw_sysid_ctx *c, int ch)
{
    return ch < c->nj ? TW_SYSID_B_ACT : ch < 2 * c->nj ? TW_SYSID_B_INV : TW_SYSID_B_WR;
}

/* Whether entry (sample i, channel ch) can take part, before looking at the channel's scale. */
static int eligible(const tw_sysid_ctx *c, size_t i, int ch)
{
    const tw_sysid_sample *s = &c->sd->s[i];
    int b = chan_block(c, ch);
    if (!c->block_on[b])
        return 0;
    if (b == TW_SYSID_B_ACT)
        return s->have_ctrl;
    if (c->sd->contact[i])
        return 0;
    if (b == TW_SYSID_B_INV)
        return !(c->sd->limit[i] & (1u << (ch - c->nj)));
    return s->have_wrench;
}

static double recorded(const tw_sysid_ctx *c, size_t i, int ch)
{
    const tw_sysid_sample *s = &c->sd->s[i];
    return ch < 2 * c->nj ? s->effort[ch % c->nj] : s->wrench[ch - 2 * c->nj];
}

/* Channel scales (RMS of the recorded signal) and weights sqrt(W_b / n_b) / scale. */
static void weigh(tw_sysid_ctx *c)
{
    size_t n = c->sd->n;
    double sum2[2 * TW_ROBOT_MAX_JOINTS + 6] = {0}, W[TW_SYSID_NBLOCK] = {c->o->w_actuator, c->o->w_inverse,
                                                                         c->o->w_wrench};
    uint64_t cnt[2 * TW_ROBOT_MAX_JOINTS + 6] = {0};
    for (size_t i = 0; i < n; i++)
        for (int ch = 0; ch < c->nch; ch++)
            if (eligible(c, i, ch)) {
                double v = recorded(c, i, ch);
                sum2[ch] += v * v;
                cnt[ch]++;
            }
    double top[TW_SYSID_NBLOCK] = {0};
    for (int ch = 0; ch < c->nch; ch++) {
        c->scale[ch] = cnt[ch] ? sqrt(sum2[ch] / (double)cnt[ch]) : 0;
        if (c->scale[ch] > top[chan_block(c, ch)])
            top[chan_block(c, ch)] = c->scale[ch];
    }
    double ms[TW_SYSID_NBLOCK] = {0};
    int nb[TW_SYSID_NBLOCK] = {0};
    for (int ch = 0; ch < c->nch; ch++) /* a channel that never carries signal (a passive joint) is left out */
        if (c->scale[ch] <= 1e-9 * top[chan_block(c, ch)] || c->scale[ch] < 1e-12)
            c->scale[ch] = 0;
        else {
            ms[chan_block(c, ch)] += c->scale[ch] * c->scale[ch];
            nb[chan_block(c, ch)]++;
        }
    /* A channel far below its block's typical size (a gripper finger's effort, next to the arm's) is
     * mostly sensor noise, and its prediction mostly noise times the servo's stiffness: relative to
     * its own size that would be an errors-in-variables pull on the fit.  It is weighed as if it
     * carried TW_SYSID_FLOOR of the block's RMS. */
    for (int ch = 0; ch < c->nch; ch++) {
        int b = chan_block(c, ch);
        double floor = nb[b] ? TW_SYSID_FLOOR * sqrt(ms[b] / nb[b]) : 0;
        if (c->scale[ch] > 0 && c->scale[ch] < floor)
            c->scale[ch] = floor;
    }
    memset(c->nvalid, 0, sizeof c->nvalid);
    for (size_t i = 0; i < n; i++)
        for (int ch = 0; ch < c->nch; ch++) {
            uint8_t v = c->scale[ch] > 0 && eligible(c, i, ch);
            c->valid[i * (size_t)c->nch + (size_t)ch] = v;
            c->nvalid[chan_block(c, ch)] += v;
        }
    for (int ch = 0; ch < c->nch; ch++) {
        uint64_t nb = c->nvalid[chan_block(c, ch)];
        c->w[ch] = c->scale[ch] > 0 && nb ? sqrt(W[chan_block(c, ch)] / (double)nb) / c->scale[ch] : 0;
    }
}

/* Scales become max(RMS of the recorded signal, RMS of the nominal model's residual): a channel the
 * nominal model misses by more than its own size is dominated by noise or by something no parameter
 * explains (a gripper finger whose effort is only sensor noise), and is weighted by that miss so it
 * cannot drive the fit.  For a noise-free, unperturbed recording the residual is 0: scales unchanged. */
static int reweigh_nominal(tw_sysid_ctx *c, char *msg, size_t msgsz)
{
    size_t n = c->sd->n;
    double theta[TW_SYSID_MAX_PARAMS], *r = malloc(n * (size_t)c->nch * sizeof(double));
    if (!r)
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid: no memory for the residual of %zu samples", n);
    for (int k = 0; k < c->o->nparam; k++)
        theta[k] = strcmp(c->o->param[k].name, "payload_kg") ? 1 : 0;
    int rc = tw_sysid_residual(c, theta, r, msg, msgsz);
    for (int ch = 0; rc == 0 && ch < c->nch; ch++) {
        double s2 = 0;
        uint64_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            if (c->valid[i * (size_t)c->nch + (size_t)ch]) {
                double x = r[i * (size_t)c->nch + (size_t)ch];
                s2 += x * x;
                cnt++;
            }
        double miss = cnt ? sqrt(s2 / (double)cnt) : 0;
        if (c->scale[ch] > 0 && miss > c->scale[ch]) {
            c->w[ch] *= c->scale[ch] / miss;
            c->scale[ch] = miss;
        }
    }
    free(r);
    return rc;
}

int tw_sysid_ctx_init(tw_sysid_ctx *c, const tw_robot *nominal, const tw_sysid_data *sd, const tw_sysid_opts *o,
                      char *msg, size_t msgsz)
{
    memset(c, 0, sizeof *c);
    c->nominal = nominal;
    c->sd = sd;
    c->o = o;
    c->nj = nominal->njoint;
    c->nch = 2 * c->nj + 6;
    blocks_on(c);
    c->scale = calloc((size_t)c->nch, sizeof(double));
    c->w = calloc((size_t)c->nch, sizeof(double));
    c->valid = calloc(sd->n * (size_t)c->nch, 1);
    if (!c->scale || !c->w || !c->valid)
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid: no memory for %zu samples", sd->n);
    weigh(c);
    if (!(c->d = tw_mj_make_data(nominal->m, msg, msgsz)))
        return TW_EMUJOCO;
    tw_robot_home(nominal, c->d);
    int rc = reweigh_nominal(c, msg, msgsz);
    if (rc < 0)
        return rc;
    if (c->block_on[TW_SYSID_B_ACT] && !c->nvalid[TW_SYSID_B_ACT])
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: fitting gain needs recorded actions mapped onto the "
                       "model's actuators, and the episodes have none");
    if ((c->block_on[TW_SYSID_B_INV] || c->block_on[TW_SYSID_B_WR]) &&
        !c->nvalid[TW_SYSID_B_INV] && !c->nvalid[TW_SYSID_B_WR])
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: no contact-free timestep with effort to fit damping, "
                       "friction or payload on (%zu kept)", sd->n);
    return 0;
}

void tw_sysid_ctx_free(tw_sysid_ctx *c)
{
    if (c->d)
        mj_deleteData(c->d);
    tw_robot_close(c->cand);
    free(c->scale);
    free(c->w);
    free(c->valid);
    memset(c, 0, sizeof *c);
}

/* Inverse dynamics and F/T sensors of model m at sample s (position/velocity stages done). */
static void inverse_at(const tw_sysid_ctx *c, const tw_robot *rob, const tw_sysid_sample *s, double *ri,
                       const uint8_t *vi)
{
    const mjModel *m = rob->m;
    mjData *d = c->d;
    int nj = c->nj;
    mju_zero(d->qacc, m->nv);
    for (int j = 0; j < nj; j++)
        d->qacc[rob->vadr[j]] = s->qacc[j];
    if (c->sd->sim_integrator) /* this candidate's integrator, not the nominal one's */
        tw_physics_forward_qacc(m, d, d->qacc, d->qacc);
    mj_inverseSkip(m, d, mjSTAGE_VEL, 0);
    for (int j = 0; j < nj; j++)
        if (vi[nj + j])
            ri[nj + j] = s->effort[j] - d->qfrc_inverse[rob->vadr[j]];
    for (int a = 0; a < 6; a++)
        if (vi[2 * nj + a])
            ri[2 * nj + a] = s->wrench[a] - d->sensordata[a < 3 ? rob->ft_force_adr + a : rob->ft_torque_adr + a - 3];
}

static void residual_at(const tw_sysid_ctx *c, const tw_robot *rob, size_t i, double *ri)
{
    const mjModel *m = rob->m;
    mjData *d = c->d;
    const tw_sysid_sample *s = &c->sd->s[i];
    const uint8_t *vi = c->valid + i * (size_t)c->nch;
    int nj = c->nj, act = 0, dyn = 0;
    memset(ri, 0, sizeof(double) * (size_t)c->nch);
    for (int ch = 0; ch < c->nch; ch++) {
        act |= vi[ch] && ch < nj;
        dyn |= vi[ch] && ch >= nj;
    }
    if (!act && !dyn)
        return;
    for (int j = 0; j < nj; j++) {
        d->qpos[rob->qadr[j]] = s->qpos[j];
        d->qvel[rob->vadr[j]] = s->qvel[j];
    }
    if (s->have_ctrl)
        mju_copy(d->ctrl, s->ctrl, m->nu);
    mj_fwdPosition(m, d);
    mj_fwdVelocity(m, d);
    if (act) {
        mj_fwdActuation(m, d);
        for (int j = 0; j < nj; j++)
            if (vi[j])
                ri[j] = s->effort[j] - d->qfrc_actuator[rob->vadr[j]];
    }
    if (dyn)
        inverse_at(c, rob, s, ri, vi);
}

int tw_sysid_residual(tw_sysid_ctx *c, const double *theta, double *r, char *msg, size_t msgsz)
{
    tw_perturb p;
    tw_perturb_none(&p);
    for (int k = 0; k < c->o->nparam; k++) {
        int rc = tw_perturb_set(&p, c->o->param[k].name, theta[k], msg, msgsz);
        if (rc < 0)
            return rc;
    }
    int rc = c->cand ? tw_robot_reperturb(c->nominal, &p, c->cand, NULL, msg, msgsz)
                     : tw_robot_perturbed(c->nominal, &p, &c->cand, msg, msgsz);
    if (rc < 0)
        return rc;
    tw_robot *rob = c->cand;
    /* contact steps are excluded from the blocks that would feel contact forces (tw_sysid.h) */
    rob->m->opt.disableflags |= mjDSBL_CONTACT;
    size_t n = c->sd->n;
    for (size_t i = 0; i < n; i++)
        residual_at(c, rob, i, r + i * (size_t)c->nch);
    c->evals++;
    for (size_t e = 0; e < n * (size_t)c->nch; e++)
        if (!isfinite(r[e]))
            return tw_errf(msg, msgsz, TW_ENUMERIC, "sysid: non-finite residual at sample %zu for candidate %s=%g",
                           e / (size_t)c->nch, c->o->param[0].name, theta[0]);
    return 0;
}

double tw_sysid_objective(const tw_sysid_ctx *c, const double *r, double rms[TW_SYSID_NBLOCK])
{
    double f = 0, sb[TW_SYSID_NBLOCK] = {0};
    size_t n = c->sd->n;
    for (size_t i = 0; i < n; i++)
        for (int ch = 0; ch < c->nch; ch++) {
            size_t e = i * (size_t)c->nch + (size_t)ch;
            if (!c->valid[e])
                continue;
            double x = r[e] * c->w[ch], y = r[e] / c->scale[ch];
            f += x * x;
            sb[chan_block(c, ch)] += y * y;
        }
    for (int b = 0; b < TW_SYSID_NBLOCK && rms; b++)
        rms[b] = c->nvalid[b] ? sqrt(sb[b] / (double)c->nvalid[b]) : NAN;
    return f;
}
