/* The closed loop: a MuJoCo robot under the planted perturbation plays the real robot; every control
 * period the planner chooses its action with the model under test; the outcome is measured on the
 * real robot. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_plan_cem.h"

const char *const tw_plan_task_names[TW_PLAN__TASKS] = {"reach", "touch"};

int tw_plan_task_parse(const char *name, tw_plan_task *out)
{
    for (int t = 0; t < TW_PLAN__TASKS; t++)
        if (!strcmp(name, tw_plan_task_names[t])) {
            *out = (tw_plan_task)t;
            return 0;
        }
    return TW_EINVAL;
}

void tw_plan_opts_init(tw_plan_opts *o)
{
    memset(o, 0, sizeof *o);
    o->task = TW_PLAN_REACH;
    o->episodes = 20;
    o->seed = 1;
    o->dt = 0.04;
    o->horizon = 4;
    o->samples = 32;
    o->iters = 2;
    o->elites = 5;
    o->knots = 2;
    o->init_std = 0.03;
    o->max_step = 0.04;
    o->tol_m = 0.02;
    o->segment_s = 1.0;
    o->touch_s = 1.6;
}

#define MAX_SEG 4
#define MAX_LAT 4096

typedef struct {
    const tw_robot *nominal;
    tw_robot *real;
    mjData *d, *scratch;
    int table_geom;
    double table_top, touch_offset; /* table surface z; ee height above the fingertips */
    double ctrl[TW_ROBOT_MAX_ACT];
    double lat[MAX_LAT][TW_ROBOT_MAX_ACT]; /* commands on their way to the actuators */
    int nlat, lat_head;
    pthread_mutex_t *say; /* progress lines from several threads, one at a time */
} plant;

/* Table surface and how far the end effector sits above the lowest finger point at home. */
static void geometry(plant *p)
{
    const mjModel *m = p->nominal->m;
    p->table_geom = mj_name2id(m, mjOBJ_GEOM, "table");
    tw_robot_home(p->nominal, p->scratch);
    p->table_top = p->table_geom >= 0 ? p->scratch->geom_xpos[3 * p->table_geom + 2] + m->geom_size[3 * p->table_geom + 2]
                                      : 0;
    double ee[7], low = INFINITY;
    tw_robot_ee_pose(p->nominal, p->scratch, ee);
    for (int g = 0; g < m->ngeom; g++) {
        int b = m->geom_bodyid[g];
        if (b == p->nominal->hand_body || m->body_parentid[b] == p->nominal->hand_body) {
            const double *R = p->scratch->geom_xmat + 9 * g, *sz = m->geom_size + 3 * g;
            double z = p->scratch->geom_xpos[3 * g + 2] - fabs(R[6]) * sz[0] - fabs(R[7]) * sz[1] - fabs(R[8]) * sz[2];
            low = fmin(low, z);
        }
    }
    p->touch_offset = isfinite(low) ? ee[2] - low : 0;
}

/* Targets of episode e: reach: 2 poses from random arm joint offsets (forward kinematics on the nominal
 * robot, kept 15 cm above the table), segment_s each; touch: one point on the table beside the box, at
 * the height where the fingertips press 5 mm into the surface, for touch_s (a longer way). */
static int targets(plant *p, const tw_plan_opts *o, uint64_t e, double (*tg)[3])
{
    tw_rng r;
    tw_rng_seed2(&r, o->seed, 0x7a5c0000ull + (uint64_t)o->task * 1000003ull + e);
    const tw_robot *n = p->nominal;
    double ee[7];
    tw_robot_home(n, p->scratch);
    tw_robot_ee_pose(n, p->scratch, ee);
    if (o->task == TW_PLAN_TOUCH) {
        double side = tw_rng_uniform(&r) < 0.5 ? -1 : 1;
        tg[0][0] = ee[0] - 0.04 + 0.08 * tw_rng_uniform(&r);
        tg[0][1] = ee[1] + side * (0.09 + 0.03 * tw_rng_uniform(&r));
        tg[0][2] = p->table_top + p->touch_offset - 0.005;
        return 1;
    }
    double q0[TW_ROBOT_MAX_JOINTS];
    for (int j = 0; j < n->njoint; j++)
        q0[j] = p->scratch->qpos[n->qadr[j]];
    for (int s = 0; s < 2; s++)
        for (int tries = 0; tries < 100; tries++) {
            for (int j = 0; j < n->narm; j++)
                p->scratch->qpos[n->qadr[j]] = q0[j] + (j < 4 ? 0.2 : 0.1) * (2 * tw_rng_uniform(&r) - 1);
            tw_robot_fk_ee(n, p->scratch, ee);
            memcpy(tg[s], ee, sizeof tg[s]);
            if (ee[2] > p->table_top + 0.15)
                break;
        }
    return 2;
}

/* Whether a hand or finger geom touches the table. */
static int on_table(const plant *p)
{
    const mjModel *m = p->real->m;
    for (int i = 0; i < p->d->ncon; i++) {
        int g1 = p->d->contact[i].geom1, g2 = p->d->contact[i].geom2;
        int other = g1 == p->table_geom ? g2 : g2 == p->table_geom ? g1 : -1;
        if (other < 0)
            continue;
        int b = m->geom_bodyid[other];
        if (b == p->real->hand_body || m->body_parentid[b] == p->real->hand_body)
            return 1;
    }
    return 0;
}

/* Applies `action` for one period: each physics step the actuators get the command of latency ago. */
static int advance(plant *p, const double *action, double dt, char *msg, size_t msgsz)
{
    const mjModel *m = p->real->m;
    int k = (int)lround(dt / m->opt.timestep);
    for (int i = 0; i < (k > 0 ? k : 1); i++) {
        memcpy(p->lat[p->lat_head], action, sizeof(double) * (size_t)m->nu);
        p->lat_head = (p->lat_head + 1) % (p->nlat + 1);
        memcpy(p->d->ctrl, p->lat[p->lat_head], sizeof(double) * (size_t)m->nu);
        mj_step(m, p->d);
    }
    for (int j = 0; j < p->real->njoint; j++)
        if (!isfinite(p->d->qpos[p->real->qadr[j]]))
            return tw_errf(msg, msgsz, TW_ENUMERIC, "plan: the real robot's state became non-finite");
    mj_kinematics(m, p->d);
    return 0;
}

static void episode_reset(plant *p)
{
    const mjModel *m = p->real->m;
    tw_robot_home(p->real, p->d);
    memcpy(p->ctrl, p->d->ctrl, sizeof(double) * (size_t)m->nu);
    for (int i = 0; i <= p->nlat; i++)
        memcpy(p->lat[i], p->ctrl, sizeof(double) * (size_t)m->nu);
    p->lat_head = 0;
}

static void object_of(const plant *p, double obj[13])
{
    const tw_robot *r = p->real;
    if (r->object_qadr < 0)
        return;
    int va = r->m->jnt_dofadr[r->m->body_jntadr[r->object_body]];
    memcpy(obj, p->d->qpos + r->object_qadr, 7 * sizeof(double));
    memcpy(obj + 7, p->d->qvel + va, 6 * sizeof(double));
}

static double dist3(const double *a, const double *b)
{
    return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

/* Control periods per segment: reach has two segments of segment_s, touch one of touch_s. */
static int periods(const tw_plan_opts *o)
{
    return (int)lround((o->task == TW_PLAN_TOUCH ? o->touch_s : o->segment_s) / o->dt);
}

static int episode(plant *p, tw_cem *c, const tw_plan_opts *o, int e, tw_plan_result *res, double *plan_s,
                   char *msg, size_t msgsz)
{
    double tg[MAX_SEG][3], (*ht)[3] = malloc(sizeof(double[3]) * (size_t)o->horizon);
    if (!ht)
        return tw_errf(msg, msgsz, TW_ENOMEM, "plan: out of memory");
    int nseg = targets(p, o, (uint64_t)e, tg), per = periods(o), rc = 0, ntrack = 0;
    double track = 0, spread_sum = 0, obj[13] = {0};
    float s0[2 * TW_ROBOT_MAX_JOINTS + 7];
    episode_reset(p);
    tw_cem_reset(c, p->ctrl, o->seed, ((uint64_t)o->task << 32) | (uint64_t)e);
    res->success[e] = 1;
    for (int seg = 0; seg < nseg && !rc; seg++)
        for (int k = 0; k < per && !rc; k++) {
            for (int h = 0; h < o->horizon; h++) /* the current target only: no anticipation of the next */
                memcpy(ht[h], tg[seg], sizeof ht[h]);
            tw_plan_state_of(p->real, p->d, s0);
            object_of(p, obj);
            tw_plan_model_set_object(c->m, obj);
            double action[TW_ROBOT_MAX_ACT], spread = 0, t0 = tw_mono_s();
            if ((rc = tw_cem_plan(c, s0, p->ctrl, (const double(*)[3])ht, action, &spread))) {
                tw_errf(msg, msgsz, rc, "plan: the model failed in episode %d (non-finite prediction)", e);
                break;
            }
            *plan_s += tw_mono_s() - t0;
            spread_sum += spread;
            memcpy(p->ctrl, action, sizeof(double) * (size_t)p->real->m->nu);
            if ((rc = advance(p, action, o->dt, msg, msgsz)))
                break;
            double ee[7];
            tw_robot_ee_pose(p->real, p->d, ee);
            double err = dist3(ee, tg[seg]);
            if (2 * (k + 1) > per) {
                track += err * err;
                ntrack++;
            }
            if (k == per - 1) {
                int ok = err < o->tol_m && (o->task != TW_PLAN_TOUCH || on_table(p));
                res->success[e] &= (uint8_t)ok;
                pthread_mutex_lock(p->say);
                tw_progress_say(o->progress, o->progress_user, "plan", 0, 0, "plan: episode %d target %d: error %.4f m%s",
                                e + 1, seg + 1, err, o->task == TW_PLAN_TOUCH ? (on_table(p) ? ", on the table" : ", off the table") : "");
                pthread_mutex_unlock(p->say);
                res->final_err[e] = err;
                res->contact[e] = on_table(p);
            }
        }
    res->track_err[e] = ntrack ? sqrt(track / ntrack) : NAN;
    res->spread[e] = spread_sum / (nseg * per);
    free(ht);
    return rc;
}

/* One thread's share of the episodes (e = first, first + step, ...): its own real robot, planner and
 * model instance. Episodes are independent (everything is reset per episode), so the numbers do not
 * depend on how they are shared out. */
typedef struct {
    const tw_robot *nominal;
    const tw_perturb *real;
    const tw_plan_opts *o;
    tw_plan_model *m;
    tw_plan_result *res;
    pthread_mutex_t *say;
    int *done; /* episodes finished, for progress (under say) */
    int first, step, nplans, rc;
    double plan_s;
    char msg[512];
} worker;

static void plant_close(plant *p)
{
    if (!p)
        return;
    if (p->d)
        mj_deleteData(p->d);
    if (p->scratch)
        mj_deleteData(p->scratch);
    tw_robot_close(p->real);
    free(p);
}

static int plant_open(const tw_robot *nominal, const tw_perturb *real, plant **out, char *msg, size_t msgsz)
{
    plant *p = *out = calloc(1, sizeof *p);
    if (!p)
        return tw_errf(msg, msgsz, TW_ENOMEM, "plan: out of memory");
    p->nominal = nominal;
    int rc = tw_robot_perturbed(nominal, real, &p->real, msg, msgsz);
    if (!rc && (!(p->d = tw_mj_make_data(p->real->m, msg, msgsz)) ||
                !(p->scratch = tw_mj_make_data(nominal->m, msg, msgsz))))
        rc = TW_EMUJOCO;
    if (!rc) {
        geometry(p);
        p->nlat = (int)lround(real->latency_ms / 1000.0 / p->real->m->opt.timestep);
        if (p->nlat >= MAX_LAT)
            rc = tw_errf(msg, msgsz, TW_EINVAL, "plan: latency %g ms is too long", real->latency_ms);
    }
    return rc;
}

static void *work(void *arg)
{
    worker *w = arg;
    const tw_plan_opts *o = w->o;
    plant *p = NULL;
    tw_cem c;
    memset(&c, 0, sizeof c);
    w->rc = plant_open(w->nominal, w->real, &p, w->msg, sizeof w->msg);
    if (p)
        p->say = w->say;
    if (!w->rc)
        w->rc = tw_cem_init(&c, w->m, w->nominal, o, w->msg, sizeof w->msg);
    for (int e = w->first; e < o->episodes && !w->rc; e += w->step) {
        w->rc = episode(p, &c, o, e, w->res, &w->plan_s, w->msg, sizeof w->msg);
        w->nplans += (o->task == TW_PLAN_TOUCH ? 1 : 2) * periods(o);
        pthread_mutex_lock(w->say);
        ++*w->done;
        tw_progress_say(o->progress, o->progress_user, "plan", (uint64_t)*w->done, (uint64_t)o->episodes,
                        "plan: %s episode %d/%d: %s, final error %.4f m", tw_plan_task_names[o->task], e + 1,
                        o->episodes, w->res->success[e] ? "success" : "failure", w->res->final_err[e]);
        pthread_mutex_unlock(w->say);
    }
    tw_cem_free(&c);
    plant_close(p);
    return NULL;
}

static int check_opts(const tw_plan_opts *o, const tw_plan_model *m, const tw_robot *nominal, char *msg, size_t msgsz)
{
    if (o->episodes < 1 || o->episodes > TW_PLAN_MAX_EPISODES || o->horizon < 1 || o->samples < 2 ||
        o->samples > 4096 || !(o->max_step > 0) || o->iters < 1 || o->elites < 1 || o->knots < 1 || o->knots > TW_CEM_MAX_KNOTS ||
        o->knots > o->horizon || !(o->dt > 0) || !(o->segment_s >= o->dt) || !(o->touch_s >= o->dt))
        return tw_errf(msg, msgsz, TW_EINVAL, "plan: episodes 1..%d, horizon >= knots (1..%d), samples 2..4096, "
                       "iters/elites >= 1, dt > 0, segment and touch >= dt", TW_PLAN_MAX_EPISODES, TW_CEM_MAX_KNOTS);
    if (tw_plan_model_dt(m) > 0 && fabs(tw_plan_model_dt(m) - o->dt) > 1e-6)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "plan: the world model predicts %g s per step; the planner's period "
                       "is %g s (train with --dt %g)", tw_plan_model_dt(m), o->dt, o->dt);
    if (o->task == TW_PLAN_TOUCH && mj_name2id(nominal->m, mjOBJ_GEOM, "table") < 0)
        return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "plan: the touch task needs a geom named 'table' in the model");
    return 0;
}

/* Episodes are shared out over `jobs` threads, each with its own model instance (the caller's m for the
 * first). */
int tw_plan_run(const tw_robot *nominal, const tw_perturb *real, tw_plan_model *m, const tw_plan_opts *o,
                tw_plan_result *res, char *msg, size_t msgsz)
{
    memset(res, 0, sizeof *res);
    int rc = check_opts(o, m, nominal, msg, msgsz);
    if (rc)
        return rc;
    int J = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    J = J < 1 ? 1 : J > TW_PLAN_MAX_JOBS ? TW_PLAN_MAX_JOBS : J > o->episodes ? o->episodes : J;
    pthread_mutex_t say = PTHREAD_MUTEX_INITIALIZER;
    worker w[TW_PLAN_MAX_JOBS];
    pthread_t th[TW_PLAN_MAX_JOBS];
    int started[TW_PLAN_MAX_JOBS] = {0}, done = 0;
    memset(w, 0, sizeof w);
    uint64_t rows0;
    double sec0;
    tw_plan_model_counters(m, &rows0, &sec0);
    for (int t = 0; t < J && !rc; t++) {
        w[t] = (worker){nominal, real, o, m, res, &say, &done, t, J, 0, 0, 0, ""};
        if (t && (rc = tw_plan_model_clone(m, &w[t].m, msg, msgsz)))
            break;
        if (t && !(started[t] = !pthread_create(&th[t], NULL, work, &w[t])))
            work(&w[t]); /* no thread to be had: run its share here */
    }
    if (!rc)
        work(&w[0]);
    uint64_t rows = 0;
    double sec = 0, plan_s = 0;
    int nplans = 0;
    for (int t = 0; t < J; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        if (!rc && w[t].rc) {
            rc = w[t].rc;
            snprintf(msg, msgsz, "%s", w[t].msg);
        }
        uint64_t r = 0;
        double s = 0;
        if (w[t].m) /* the caller's model may have counted before this run */
            tw_plan_model_counters(w[t].m, &r, &s);
        rows += t ? r : r - rows0;
        sec += t ? s : s - sec0;
        plan_s += w[t].plan_s;
        nplans += w[t].nplans;
        if (t)
            tw_plan_model_free(w[t].m);
    }
    res->episodes = rc ? 0 : o->episodes;
    res->evals = rows;
    res->evals_per_s = sec > 0 ? (double)rows / sec : 0;
    res->plan_s = nplans ? plan_s / nplans : 0;
    return rc;
}
