/* The planner's dynamics models: a world model (or an ensemble of them) and MuJoCo physics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_plan_int.h"
#include "tw_wm.h"

struct tw_plan_model {
    int S, A;
    double dt;
    /* world model */
    tw_wm *member[TW_PLAN_MAX_MEMBERS];
    int nmember;
    float *tmp;        /* [nmember][max_batch x S] member predictions */
    float *phys;       /* hybrid: [max_batch x S] the physics' predictions */
    int max_batch;
    /* physics */
    tw_robot *robot;   /* perturbed copy of the nominal */
    mjData *d;
    double obj[13];    /* free object qpos (7) qvel (6) to start every row from */
    int has_obj;
    uint64_t rows;
    double seconds;
    /* how it was made, for tw_plan_model_clone */
    const tw_robot *nominal;
    tw_perturb pert;
    char dir[1024];
};

static int open_members(tw_plan_model *m, const char *dir, int max_batch, char *msg, size_t msgsz)
{
    char p[1200];
    struct stat st;
    snprintf(p, sizeof p, "%s/model.json", dir);
    if (!stat(p, &st))
        return tw_wm_open(dir, max_batch, &m->member[m->nmember++], msg, msgsz);
    for (int k = 0; k < TW_PLAN_MAX_MEMBERS; k++) {
        snprintf(p, sizeof p, "%s/member-%d", dir, k);
        if (stat(p, &st))
            break;
        int rc = tw_wm_open(p, max_batch, &m->member[m->nmember], msg, msgsz);
        if (rc)
            return rc;
        m->nmember++;
    }
    return m->nmember ? 0 : tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: neither model.json nor member-0/", dir);
}

int tw_plan_model_wm(const char *dir, int max_batch, tw_plan_model **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_plan_model *m = calloc(1, sizeof *m);
    if (!m)
        return tw_errf(msg, msgsz, TW_ENOMEM, "plan: out of memory");
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    int rc = open_members(m, dir, max_batch, msg, msgsz);
    if (!rc) {
        m->S = tw_wm_state_dim(m->member[0]);
        m->A = tw_wm_action_dim(m->member[0]);
        m->dt = tw_wm_dt(m->member[0]);
        m->max_batch = max_batch;
        for (int k = 1; k < m->nmember && !rc; k++)
            if (tw_wm_state_dim(m->member[k]) != m->S || tw_wm_action_dim(m->member[k]) != m->A ||
                fabs(tw_wm_dt(m->member[k]) - m->dt) > 1e-9)
                rc = tw_errf(msg, msgsz, TW_EMISMATCH, "%s: ensemble members differ in dimensions or period", dir);
        if (!rc && !(m->tmp = malloc((size_t)m->nmember * max_batch * m->S * sizeof(float))))
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "plan: out of memory");
    }
    if (rc) {
        tw_plan_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int tw_plan_model_physics(const tw_robot *nominal, const tw_perturb *p, double dt, tw_plan_model **out, char *msg,
                          size_t msgsz)
{
    *out = NULL;
    tw_perturb none;
    tw_perturb_none(&none);
    tw_plan_model *m = calloc(1, sizeof *m);
    if (!m)
        return tw_errf(msg, msgsz, TW_ENOMEM, "plan: out of memory");
    int rc = tw_robot_perturbed(nominal, p ? p : &none, &m->robot, msg, msgsz);
    if (!rc && !(m->d = tw_mj_make_data(m->robot->m, msg, msgsz)))
        rc = TW_EMUJOCO;
    if (rc) {
        tw_plan_model_free(m);
        return rc;
    }
    m->S = 2 * m->robot->njoint + 7;
    m->A = m->robot->m->nu;
    /* The free object does not collide in the planning model: resting on the table it costs most of a
     * step's contact solving, and no task moves it (schemas/model.md, Planner). Sensors are not read. */
    m->robot->m->opt.disableflags |= mjDSBL_SENSOR;
    /* Twice the robot's step (when that divides the period): half the cost per rollout, the usual
     * coarser planning model; the servos of the builtin robot stay stable at 4 ms. */
    double h = m->robot->m->opt.timestep;
    if (fabs(dt / (2 * h) - lround(dt / (2 * h))) < 1e-9)
        m->robot->m->opt.timestep = 2 * h;
    for (int g = 0; m->robot->object_body >= 0 && g < m->robot->m->ngeom; g++)
        if (m->robot->m->geom_bodyid[g] == m->robot->object_body) {
            m->robot->m->geom_contype[g] = 0;
            m->robot->m->geom_conaffinity[g] = 0;
        }
    m->dt = dt;
    m->nominal = nominal;
    m->pert = p ? *p : none;
    tw_robot_home(m->robot, m->d);
    m->has_obj = m->robot->object_qadr >= 0;
    if (m->has_obj) {
        int va = m->robot->m->jnt_dofadr[m->robot->m->body_jntadr[m->robot->object_body]];
        memcpy(m->obj, m->d->qpos + m->robot->object_qadr, 7 * sizeof(double));
        memcpy(m->obj + 7, m->d->qvel + va, 6 * sizeof(double));
    }
    *out = m;
    return 0;
}

int tw_plan_model_hybrid(const tw_robot *nominal, const char *dir, double dt, int max_batch, tw_plan_model **out,
                         char *msg, size_t msgsz)
{
    *out = NULL;
    tw_plan_model *m = NULL;
    int rc = tw_plan_model_physics(nominal, NULL, dt, &m, msg, msgsz);
    if (rc)
        return rc;
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    if (!(rc = open_members(m, dir, max_batch, msg, msgsz))) {
        m->max_batch = max_batch;
        if (tw_wm_state_dim(m->member[0]) != m->S || tw_wm_action_dim(m->member[0]) != m->A ||
            fabs(tw_wm_dt(m->member[0]) - dt) > 1e-9)
            rc = tw_errf(msg, msgsz, TW_EMISMATCH, "%s: the residual model's dimensions or period (%g s) do not match "
                         "the physics (%d / %d, %g s)", dir, tw_wm_dt(m->member[0]), m->S, m->A, dt);
        else if (!(m->tmp = malloc((size_t)m->nmember * max_batch * m->S * sizeof(float))) ||
                 !(m->phys = malloc((size_t)max_batch * m->S * sizeof(float))))
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "plan: out of memory");
    }
    if (rc) {
        tw_plan_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int tw_plan_model_clone(const tw_plan_model *m, tw_plan_model **out, char *msg, size_t msgsz)
{
    if (m->robot && m->nmember)
        return tw_plan_model_hybrid(m->nominal, m->dir, m->dt, m->max_batch, out, msg, msgsz);
    if (m->robot)
        return tw_plan_model_physics(m->nominal, &m->pert, m->dt, out, msg, msgsz);
    return tw_plan_model_wm(m->dir, m->max_batch, out, msg, msgsz);
}

void tw_plan_model_free(tw_plan_model *m)
{
    if (!m)
        return;
    free(m->phys);
    for (int k = 0; k < m->nmember; k++)
        tw_wm_close(m->member[k]);
    free(m->tmp);
    if (m->d)
        mj_deleteData(m->d);
    tw_robot_close(m->robot);
    free(m);
}

double tw_plan_model_dt(const tw_plan_model *m) { return m->nmember && !m->robot ? m->dt : 0; }
int tw_plan_model_dims(const tw_plan_model *m, int *S, int *A)
{
    *S = m->S;
    *A = m->A;
    return 0;
}
void tw_plan_model_counters(const tw_plan_model *m, uint64_t *rows, double *seconds)
{
    *rows = m->rows;
    *seconds = m->seconds;
}

void tw_plan_model_set_object(tw_plan_model *m, const double obj[13])
{
    if (m->has_obj && obj)
        memcpy(m->obj, obj, sizeof m->obj);
}

void tw_plan_state_of(const tw_robot *r, mjData *d, float *s)
{
    int n = r->njoint;
    double pose[7];
    for (int j = 0; j < n; j++) {
        s[j] = (float)d->qpos[r->qadr[j]];
        s[n + j] = (float)d->qvel[r->vadr[j]];
    }
    tw_robot_ee_pose(r, d, pose);
    for (int k = 0; k < 7; k++)
        s[2 * n + k] = (float)pose[k];
}

/* One row through MuJoCo: robot joints from the state, the object from the last real state. */
static int physics_row(const tw_plan_model *m, mjData *d, const float *s, const float *a, float *next)
{
    const tw_robot *r = m->robot;
    int n = r->njoint, k = (int)lround(m->dt / r->m->opt.timestep);
    for (int j = 0; j < n; j++) {
        d->qpos[r->qadr[j]] = s[j];
        d->qvel[r->vadr[j]] = s[n + j];
    }
    if (m->has_obj) {
        int va = r->m->jnt_dofadr[r->m->body_jntadr[r->object_body]];
        memcpy(d->qpos + r->object_qadr, m->obj, 7 * sizeof(double));
        memcpy(d->qvel + va, m->obj + 7, 6 * sizeof(double));
    }
    for (int u = 0; u < r->m->nu; u++)
        d->ctrl[u] = a[u];
    d->time = 0;
    for (int i = 0; i < (k > 0 ? k : 1); i++)
        mj_step(r->m, d);
    mj_kinematics(r->m, d);
    tw_plan_state_of(r, d, next);
    for (int j = 0; j < m->S; j++)
        if (!isfinite(next[j]))
            return TW_ENUMERIC;
    return 0;
}

/* Ensemble mean, and the members' spread of ee_pos (columns 2n..2n+2 of the fused layout). */
static int wm_step(tw_plan_model *m, const float *state, const float *action, int B, float *next, float *spread)
{
    size_t BS = (size_t)B * m->S;
    for (int k = 0; k < m->nmember; k++) {
        int rc = tw_wm_predict(m->member[k], state, action, B, m->nmember == 1 ? next : m->tmp + k * BS);
        if (rc)
            return rc;
    }
    if (m->nmember > 1)
        for (size_t i = 0; i < BS; i++) {
            double sum = 0;
            for (int k = 0; k < m->nmember; k++)
                sum += m->tmp[k * BS + i];
            next[i] = (float)(sum / m->nmember);
        }
    if (spread) {
        int ee = m->S - 7;
        for (int b = 0; b < B; b++) {
            double v = 0;
            for (int k = 0; k < m->nmember && m->nmember > 1; k++)
                for (int c = ee; c < ee + 3; c++) {
                    double e = m->tmp[k * BS + (size_t)b * m->S + c] - next[(size_t)b * m->S + c];
                    v += e * e / m->nmember;
                }
            spread[b] = (float)sqrt(v);
        }
    }
    return 0;
}

int tw_plan_model_step(tw_plan_model *m, const float *state, const float *action, int B, float *next, float *spread)
{
    double t0 = tw_mono_s();
    int rc = 0;
    float *ph = m->nmember ? m->phys : next; /* hybrid: physics first, then the learned correction */
    for (int b = 0; m->robot && b < B && !rc; b++) {
        rc = physics_row(m, m->d, state + (size_t)b * m->S, action + (size_t)b * m->A, ph + (size_t)b * m->S);
        if (spread)
            spread[b] = 0;
    }
    if (m->nmember && !rc)
        rc = wm_step(m, state, action, B, next, spread);
    for (size_t i = 0; m->phys && !rc && i < (size_t)B * m->S; i++)
        next[i] = m->phys[i] + (next[i] - state[i]);
    m->seconds += tw_mono_s() - t0;
    m->rows += (uint64_t)B;
    return rc;
}
