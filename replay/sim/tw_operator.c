/* The scripted operator: what a person at the teleop station would command, as a deterministic
 * function of (seed, episode, measured state).  Plans are sequences of joint-space segments with
 * minimum-jerk timing; with an object in the scene they go approach / grasp / lift / carry / place /
 * release using damped-least-squares IK on the nominal model (so the plan does not depend on the
 * perturbation the rig runs), otherwise between random waypoints inside the joint ranges.
 * Targets become actuator controls in tw_operator_ctrl (servo targets or PD torques). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_sim.h"

#define TW_OP_MAX_SEG 12
#define TW_OP_OMEGA 20.0 /* PD bandwidth (rad/s) for motor-driven joints */

typedef struct {
    double q[TW_ROBOT_MAX_JOINTS]; /* arm joint targets at the segment's end */
    double dur;                    /* s */
    int grip;                      /* 1 closed, 0 open, for the whole segment */
} tw_op_seg;

struct tw_operator {
    const tw_robot *r;
    mjData *d;           /* scratch for IK on the nominal model */
    uint64_t seed;
    tw_rng rng;
    double home[TW_ROBOT_MAX_JOINTS];
    double home_rot[9];  /* end-effector orientation at home, held during object tasks */
    double from[TW_ROBOT_MAX_JOINTS];
    tw_op_seg seg[TW_OP_MAX_SEG];
    int nseg, cur;
    double seg_t0;       /* start time of seg[cur] */
    int grip;            /* current gripper command */
    double *acc, *tau;   /* nv scratch for motor torques */
};

static void tw_op_random_posture(tw_operator *op, double amp, double *q);

static void tw_op_home(tw_operator *op)
{
    tw_robot_home(op->r, op->d);
    for (int i = 0; i < op->r->narm; i++)
        op->home[i] = op->d->qpos[op->r->qadr[i]];
    if (op->r->ee_site >= 0)
        mju_copy(op->home_rot, op->d->site_xmat + 9 * op->r->ee_site, 9);
}

int tw_operator_new(const tw_robot *nominal, uint64_t seed, tw_operator **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_operator *op = calloc(1, sizeof *op);
    if (!op)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for the operator");
    op->r = nominal;
    op->seed = seed;
    op->d = tw_mj_make_data(nominal->m, msg, msgsz);
    op->acc = calloc((size_t)nominal->m->nv, sizeof(double));
    op->tau = calloc((size_t)nominal->m->nv, sizeof(double));
    if (!op->d || !op->acc || !op->tau) {
        tw_operator_free(op);
        return op->d ? tw_errf(msg, msgsz, TW_ENOMEM, "no memory for the operator") : TW_EMUJOCO;
    }
    tw_op_home(op);
    tw_operator_reset(op, 0);
    *out = op;
    return 0;
}

void tw_operator_free(tw_operator *op)
{
    if (!op)
        return;
    if (op->d)
        mj_deleteData(op->d);
    free(op->acc);
    free(op->tau);
    free(op);
}

void tw_operator_reset(tw_operator *op, uint64_t episode)
{
    tw_rng_seed2(&op->rng, op->seed, episode);
    memcpy(op->from, op->home, sizeof op->from);
    op->nseg = op->cur = 0;
    op->seg_t0 = 0;
    op->grip = 0;
}

/* Solves a small dense system A x = b (n <= 6) by Gaussian elimination with partial pivoting. */
static int tw_op_solve(double *A, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(A[i * n + c]) > fabs(A[p * n + c]))
                p = i;
        if (fabs(A[p * n + c]) < 1e-12)
            return -1;
        for (int k = 0; k < n; k++) {
            double t = A[c * n + k];
            A[c * n + k] = A[p * n + k];
            A[p * n + k] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int i = c + 1; i < n; i++) {
            double f = A[i * n + c] / A[c * n + c];
            for (int k = c; k < n; k++)
                A[i * n + k] -= f * A[c * n + k];
            b[i] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int k = c + 1; k < n; k++)
            b[c] -= A[c * n + k] * b[k];
        b[c] /= A[c * n + c];
    }
    return 0;
}

/* Damped-least-squares IK for the ee site to (pos, home orientation), starting from q (arm joints),
 * result in q.  Returns 0 when the residual is below 2 mm / 0.02 rad. */
static int tw_op_ik(tw_operator *op, const double pos[3], double *q)
{
    const tw_robot *r = op->r;
    const mjModel *m = r->m;
    mjData *d = op->d;
    int nv = m->nv, na = r->narm;
    double *jp = malloc(sizeof(double) * 6 * nv), err[6] = {0};
    if (!jp)
        return -1;
    int ok = -1;
    for (int it = 0; it < 200; it++) {
        for (int i = 0; i < na; i++)
            d->qpos[r->qadr[i]] = q[i];
        mj_kinematics(m, d);
        mj_comPos(m, d);
        const double *x = d->site_xpos + 3 * r->ee_site;
        double qc[4], qt[4], qe[4], qcn[4];
        for (int k = 0; k < 3; k++)
            err[k] = pos[k] - x[k];
        mju_mat2Quat(qc, d->site_xmat + 9 * r->ee_site);
        mju_mat2Quat(qt, op->home_rot);
        mju_negQuat(qcn, qc);
        mju_mulQuat(qe, qt, qcn);
        mju_quat2Vel(err + 3, qe, 1.0);
        if (mju_norm3(err) < 2e-3 && mju_norm3(err + 3) < 2e-2) {
            ok = 0;
            break;
        }
        mj_jacSite(m, d, jp, jp + 3 * nv, r->ee_site);
        double A[36], b[6];
        for (int a = 0; a < 6; a++) {
            b[a] = err[a];
            for (int c = 0; c < 6; c++) {
                double s = a == c ? 1e-4 : 0;
                for (int i = 0; i < na; i++)
                    s += jp[a * nv + r->vadr[i]] * jp[c * nv + r->vadr[i]];
                A[a * 6 + c] = s;
            }
        }
        if (tw_op_solve(A, b, 6))
            break;
        for (int i = 0; i < na; i++) {
            double dq = 0;
            for (int a = 0; a < 6; a++)
                dq += jp[a * nv + r->vadr[i]] * b[a];
            int j = r->jnt[i];
            q[i] += mju_clip(dq, -0.3, 0.3);
            if (m->jnt_limited[j])
                q[i] = mju_clip(q[i], m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
        }
    }
    free(jp);
    return ok;
}

static void tw_op_push(tw_operator *op, const double *q, double dur, int grip)
{
    tw_op_seg *s = &op->seg[op->nseg++];
    memcpy(s->q, q, sizeof s->q);
    s->dur = dur;
    s->grip = grip;
}

/* Pick up the object where it is now and put it down at a random spot within 15 cm. */
static int tw_op_plan_object(tw_operator *op, const mjData *state)
{
    const double *o = state->qpos + op->r->object_qadr;
    double ang = 2 * M_PI * tw_rng_uniform(&op->rng), rad = 0.08 + 0.07 * tw_rng_uniform(&op->rng);
    double place[3] = {o[0] + rad * cos(ang), o[1] + rad * sin(ang), o[2]};
    /* stay on the side of the base the object is on, within reach */
    if (hypot(place[0], place[1]) > 0.65 || hypot(place[0], place[1]) < 0.3)
        place[0] = o[0] - rad * cos(ang), place[1] = o[1] - rad * sin(ang);
    double wp[6][3] = {
        {o[0], o[1], o[2] + 0.12}, {o[0], o[1], o[2] + 0.005},        {o[0], o[1], o[2] + 0.15},
        {place[0], place[1], place[2] + 0.15}, {place[0], place[1], place[2] + 0.01}, {place[0], place[1], place[2] + 0.12},
    };
    static const double dur[6] = {1.5, 1.0, 1.0, 1.5, 1.0, 0.8};
    double pace = 0.85 + 0.3 * tw_rng_uniform(&op->rng); /* operators differ in speed, cycle to cycle */
    static const int grip[6] = {0, 0, 1, 1, 1, 0};
    double q[TW_ROBOT_MAX_JOINTS];
    op->nseg = 0;
    /* first a short free-space excursion that moves every joint (so every joint's dynamics is excited,
     * not just the few a planar pick-and-place uses), then IK from there */
    tw_op_random_posture(op, 0.12, q);
    tw_op_push(op, q, pace * 1.2, 0);
    for (int k = 0; k < 6; k++) {
        if (tw_op_ik(op, wp[k], q)) {
            op->nseg = 0;
            return -1;
        }
        tw_op_push(op, q, pace * dur[k], grip[k]);
        if (k == 1)
            tw_op_push(op, q, 0.6, 1); /* close and let the fingers settle */
        if (k == 4)
            tw_op_push(op, q, 0.5, 0); /* open */
    }
    return 0;
}

/* A random joint-space posture around home: amp is the fraction of each joint's range. */
static void tw_op_random_posture(tw_operator *op, double amp, double *q)
{
    const mjModel *m = op->r->m;
    for (int i = 0; i < op->r->narm; i++) {
        int j = op->r->jnt[i];
        double u = tw_rng_uniform(&op->rng);
        if (m->jnt_limited[j]) {
            double lo = m->jnt_range[2 * j], hi = m->jnt_range[2 * j + 1];
            q[i] = op->home[i] + amp * (lo + u * (hi - lo) - op->home[i]);
        } else {
            q[i] = op->home[i] + amp * 1.5 * (2 * u - 1);
        }
    }
}

/* Random joint-space waypoints around home; the gripper toggles at some of them. */
static void tw_op_plan_random(tw_operator *op)
{
    double q[TW_ROBOT_MAX_JOINTS];
    op->nseg = 0;
    for (int k = 0; k < 3; k++) {
        tw_op_random_posture(op, 0.35, q);
        int grip = k == 0 ? op->grip : tw_rng_uniform(&op->rng) < 0.5 ? !op->seg[op->nseg - 1].grip
                                                                        : op->seg[op->nseg - 1].grip;
        tw_op_push(op, q, 1.5 + tw_rng_uniform(&op->rng), grip);
        tw_op_push(op, q, 0.4, grip); /* dwell */
    }
}

static void tw_op_plan(tw_operator *op, const mjData *state)
{
    if (op->r->object_body < 0 || op->r->ee_site < 0 || tw_op_plan_object(op, state))
        tw_op_plan_random(op);
    op->cur = 0;
}

/* Joint targets at time t (min-jerk within the current segment); advances segments. */
static void tw_op_targets(tw_operator *op, const mjData *state, double t, double *q)
{
    if (op->nseg == 0 || op->cur >= op->nseg) {
        if (op->nseg)
            memcpy(op->from, op->seg[op->nseg - 1].q, sizeof op->from);
        tw_op_plan(op, state);
        op->seg_t0 = t;
    }
    while (t - op->seg_t0 >= op->seg[op->cur].dur) {
        op->seg_t0 += op->seg[op->cur].dur;
        memcpy(op->from, op->seg[op->cur].q, sizeof op->from);
        if (++op->cur == op->nseg) {
            tw_op_plan(op, state);
            op->seg_t0 = t;
        }
    }
    const tw_op_seg *s = &op->seg[op->cur];
    double tau = mju_clip((t - op->seg_t0) / s->dur, 0, 1);
    double sm = tau * tau * tau * (10 - 15 * tau + 6 * tau * tau);
    for (int i = 0; i < op->r->narm; i++)
        q[i] = op->from[i] + sm * (s->q[i] - op->from[i]);
}

/* Motor-driven joints get computed-torque PD, tau = M·(w²(q*-q) - 2w·qd) + bias, with the full mass
 * matrix so coupled links do not excite each other (a diagonal PD held for 1/action_rate is unstable
 * on light distal links).  Fills tau[nv] for the arm dofs. */
static void tw_op_motor_torques(const tw_operator *op, const mjData *d, const double *qstar, double *tau)
{
    const tw_robot *r = op->r;
    const mjModel *m = r->m;
    double *acc = op->acc;
    mju_zero(acc, m->nv);
    for (int i = 0; i < r->narm; i++) {
        double w = TW_OP_OMEGA;
        acc[r->vadr[i]] = w * w * (qstar[i] - d->qpos[r->qadr[i]]) - 2 * w * d->qvel[r->vadr[i]];
    }
    mj_mulM(m, d, tau, acc);
    for (int v = 0; v < m->nv; v++)
        tau[v] += d->qfrc_bias[v];
}

/* Control for actuator a driving joint dof v toward q* (see tw_sim.h); tau: motor torques. */
static double tw_op_joint_ctrl(const mjModel *m, const mjData *d, int a, int dof, double qstar, const double *tau)
{
    double gear = m->actuator_gear[6 * a], g = m->actuator_gainprm[a * mjNGAIN];
    const double *b = m->actuator_biasprm + a * mjNBIAS;
    double bias = d->qfrc_bias[dof], c;
    if (gear == 0 || g == 0)
        return 0;
    if (m->actuator_biastype[a] == mjBIAS_AFFINE && b[1] < 0) {
        /* servo: shift the target so the servo's spring also holds gravity/Coriolis */
        c = (-b[1] * gear * qstar - b[0] + bias / gear) / g;
    } else {
        c = tau[dof] / (gear * g);
    }
    if (m->actuator_ctrllimited[a])
        c = mju_clip(c, m->actuator_ctrlrange[2 * a], m->actuator_ctrlrange[2 * a + 1]);
    return c;
}

static double tw_op_grip_ctrl(const mjModel *m, int a, int closed)
{
    if (m->actuator_ctrllimited[a])
        return m->actuator_ctrlrange[2 * a + (closed ? 0 : 1)];
    return closed ? -1.0 : 1.0;
}

int tw_operator_act(tw_operator *op, const mjData *d, double t, double *ctrl, tw_op_event *ev)
{
    const tw_robot *r = op->r;
    const mjModel *m = r->m;
    double q[TW_ROBOT_MAX_JOINTS];
    tw_op_targets(op, d, t, q);
    for (int a = 0; a < m->nu; a++)
        ctrl[a] = m->nkey ? m->key_ctrl[a] : 0;
    tw_op_motor_torques(op, d, q, op->tau);
    for (int i = 0; i < r->narm; i++)
        if (r->jact[i] >= 0)
            ctrl[r->jact[i]] = tw_op_joint_ctrl(m, d, r->jact[i], r->vadr[i], q[i], op->tau);
    int grip = op->seg[op->cur].grip;
    *ev = grip == op->grip ? TW_OP_EV_NONE : grip ? TW_OP_EV_GRASP : TW_OP_EV_RELEASE;
    op->grip = grip;
    for (int g = 0; g < r->ngrip_act; g++)
        ctrl[r->grip_act[g]] = tw_op_grip_ctrl(m, r->grip_act[g], grip);
    return 0;
}
