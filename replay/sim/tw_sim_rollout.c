/* One rollout of the virtual rig: perturbed physics, the scripted operator at the action rate, the
 * actuation delay (latency_ms) and sensor noise.  Each step is mj_step1 -> operator/ctrl -> mj_step2,
 * i.e. exactly mj_step, so replaying the streamed actions with mj_step on the nominal model reproduces
 * an unperturbed run bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_sim.h"

#define TW_SIM_MAXQ 1024 /* pending delayed actions */

const tw_noise_sigma tw_noise_sigma_unit = {1e-4, 1e-3, 0.02, 0.05, 0.005};
#define tw_sigma_qpos tw_noise_sigma_unit.qpos
#define tw_sigma_qvel tw_noise_sigma_unit.qvel
#define tw_sigma_eff tw_noise_sigma_unit.effort
#define tw_sigma_force tw_noise_sigma_unit.force
#define tw_sigma_torque tw_noise_sigma_unit.torque

struct tw_sim {
    const tw_robot *nominal;
    tw_robot *rob;           /* perturbed copy: the physics that runs */
    mjData *d;
    tw_operator *op;
    tw_perturb p;
    tw_sim_opts o;
    tw_rng noise;
    long k;                  /* steps taken in this episode */
    long next_action;        /* index of the next operator decision */
    double *queue;           /* ring of (apply_time, ctrl[nu]) */
    int qhead, qlen, qcap;   /* qcap: ring size for this perturbation's latency */
    int qalloc;              /* slots allocated (>= qcap; kept when a re-perturbation needs fewer) */
};

void tw_sim_opts_init(tw_sim_opts *o)
{
    o->action_rate_hz = 100;
    o->seed = 1;
}

/* Sizes the action delay line for p's latency (growing the allocation if needed); s is unchanged on error. */
static int tw_sim_size_queue(tw_sim *s, const tw_perturb *p, char *msg, size_t msgsz)
{
    int nu = s->nominal->m->nu, cap = (int)ceil(p->latency_ms * 1e-3 * s->o.action_rate_hz) + 2;
    if (cap > TW_SIM_MAXQ)
        return tw_errf(msg, msgsz, TW_EINVAL, "latency %g ms is more than %d actions deep", p->latency_ms,
                       TW_SIM_MAXQ);
    if (cap > s->qalloc) {
        double *q = realloc(s->queue, (size_t)cap * (size_t)(nu + 1) * sizeof(double));
        if (!q)
            return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for the action delay line");
        s->queue = q;
        s->qalloc = cap;
    }
    s->qcap = cap;
    return 0;
}

int tw_sim_new(const tw_robot *nominal, const tw_perturb *p, const tw_sim_opts *o, tw_sim **out, char *msg,
               size_t msgsz)
{
    *out = NULL;
    if (!(o->action_rate_hz > 0 && o->action_rate_hz <= 10000))
        return tw_errf(msg, msgsz, TW_EINVAL, "action rate %g Hz out of range (0, 10000]", o->action_rate_hz);
    tw_sim *s = calloc(1, sizeof *s);
    if (!s)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for the rollout");
    s->nominal = nominal;
    s->p = *p;
    s->o = *o;
    int rc = tw_sim_size_queue(s, p, msg, msgsz);
    if (!rc)
        rc = tw_robot_perturbed(nominal, p, &s->rob, msg, msgsz);
    if (!rc && !(s->d = tw_mj_make_data(s->rob->m, msg, msgsz)))
        rc = TW_EMUJOCO;
    if (!rc)
        rc = tw_operator_new(nominal, o->seed, &s->op, msg, msgsz);
    if (rc) {
        tw_sim_free(s);
        return rc;
    }
    tw_sim_reset(s, 0);
    *out = s;
    return 0;
}

int tw_sim_set_perturb(tw_sim *s, const tw_perturb *p, char *msg, size_t msgsz)
{
    int qcap = s->qcap, rc = tw_sim_size_queue(s, p, msg, msgsz);
    if (!rc)
        rc = tw_robot_reperturb(s->nominal, p, s->rob, s->d, msg, msgsz);
    if (rc) {
        s->qcap = qcap; /* still sized for the old perturbation, which stays in force */
        return rc;
    }
    s->p = *p;
    tw_sim_reset(s, 0);
    return 0;
}

void tw_sim_free(tw_sim *s)
{
    if (!s)
        return;
    tw_operator_free(s->op);
    if (s->d)
        mj_deleteData(s->d);
    tw_robot_close(s->rob);
    free(s->queue);
    free(s);
}

void tw_sim_reset(tw_sim *s, uint64_t episode)
{
    tw_robot_home(s->rob, s->d);
    tw_operator_reset(s->op, episode);
    tw_rng_seed2(&s->noise, s->o.seed ^ 0x6e6f697365ULL, episode);
    s->k = s->next_action = 0;
    s->qhead = s->qlen = 0;
}

double tw_sim_timestep(const tw_sim *s) { return s->rob->m->opt.timestep; }
double tw_sim_time(const tw_sim *s) { return (double)s->k * s->rob->m->opt.timestep; }
const tw_robot *tw_sim_robot(const tw_sim *s) { return s->rob; }
const mjData *tw_sim_data(const tw_sim *s) { return s->d; }

/* Action decisions happen on the grid n / action_rate; true when step k reaches decision n. */
static int tw_sim_action_due(const tw_sim *s, double t)
{
    return t + 0.5 * tw_sim_timestep(s) >= (double)s->next_action / s->o.action_rate_hz;
}

static void tw_sim_enqueue(tw_sim *s, double apply_t, const double *ctrl)
{
    int nu = s->rob->m->nu;
    if (s->qlen == s->qcap) { /* cannot happen with qcap sized from the latency; keep the newest */
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
    double *slot = s->queue + (size_t)((s->qhead + s->qlen) % s->qcap) * (size_t)(nu + 1);
    slot[0] = apply_t;
    memcpy(slot + 1, ctrl, sizeof(double) * (size_t)nu);
    s->qlen++;
}

/* Delivers every delayed action whose time has come to the actuators (the latest wins). */
static void tw_sim_deliver(tw_sim *s, double t)
{
    int nu = s->rob->m->nu;
    while (s->qlen) {
        double *slot = s->queue + (size_t)s->qhead * (size_t)(nu + 1);
        if (slot[0] > t + 0.5 * tw_sim_timestep(s))
            break;
        mju_copy(s->d->ctrl, slot + 1, nu);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
}

static void tw_sim_noisy(tw_sim *s, const tw_sample *c, tw_sample *n)
{
    *n = *c;
    double k = s->p.noise;
    if (k <= 0)
        return;
    for (int i = 0; i < c->njoint; i++) {
        n->qpos[i] += k * tw_sigma_qpos * tw_rng_normal(&s->noise);
        n->qvel[i] += k * tw_sigma_qvel * tw_rng_normal(&s->noise);
        n->effort[i] += k * tw_sigma_eff * tw_rng_normal(&s->noise);
    }
    for (int i = 0; i < 6; i++)
        n->wrench[i] += k * (i < 3 ? tw_sigma_force : tw_sigma_torque) * tw_rng_normal(&s->noise);
}

int tw_sim_step(tw_sim *s, tw_sample *clean, tw_sample *noisy, int *new_action, double *action, tw_op_event *ev,
                char *msg, size_t msgsz)
{
    const tw_robot *r = s->rob;
    const mjModel *m = r->m;
    mjData *d = s->d;
    double t = tw_sim_time(s);
    int nbad = d->warning[mjWARN_BADQACC].number;
    *new_action = 0;
    *ev = TW_OP_EV_NONE;
    mj_step1(m, d);
    if (tw_sim_action_due(s, t)) {
        tw_operator_act(s->op, d, t, action, ev);
        tw_sim_enqueue(s, t + s->p.latency_ms * 1e-3, action);
        s->next_action++;
        *new_action = 1;
    }
    tw_sim_deliver(s, t);
    clean->t = t;
    clean->njoint = r->njoint;
    for (int i = 0; i < r->njoint; i++) {
        clean->qpos[i] = d->qpos[r->qadr[i]];
        clean->qvel[i] = d->qvel[r->vadr[i]];
    }
    if (r->object_qadr >= 0) {
        int dof = m->jnt_dofadr[m->body_jntadr[r->object_body]];
        mju_copy(clean->object, d->qpos + r->object_qadr, 7);
        mju_copy(clean->object + 7, d->qvel + dof, 6);
    }
    mj_step2(m, d); /* actuation, acceleration, constraints, acc sensors at t; then integrate to t+h */
    /* the integrator may have replaced d->qacc by its implicit one: recompute the forward-pass qacc
     * M^-1 (qfrc_smooth + qfrc_constraint) from the still-valid factorisation at t */
    mjMARKSTACK;
    mjtNum *f = mj_stackAlloc(d, m->nv), *acc = mj_stackAlloc(d, m->nv);
    mju_add(f, d->qfrc_smooth, d->qfrc_constraint, m->nv);
    mj_solveM(m, d, acc, f, 1);
    for (int i = 0; i < r->njoint; i++) {
        clean->effort[i] = d->qfrc_actuator[r->vadr[i]];
        clean->qacc[i] = acc[r->vadr[i]];
    }
    mjFREESTACK;
    mju_copy(clean->wrench, d->sensordata + r->ft_force_adr, 3);
    mju_copy(clean->wrench + 3, d->sensordata + r->ft_torque_adr, 3);
    s->k++;
    tw_sim_noisy(s, clean, noisy);
    if (d->warning[mjWARN_BADQACC].number != nbad || !isfinite(clean->effort[0]))
        return tw_errf(msg, msgsz, TW_ENUMERIC, "physics became unstable at t=%.3f s (%s)", t, tw_mj_last_error());
    return 0;
}
