/* fusion/plan: closed-loop evaluation of dynamics models. A sampling model-predictive controller
 * (the cross-entropy method, schemas/model.md "Planner") chooses the robot's actions with a dynamics
 * model — a world model (batched OpenBLAS forward, tw_wm_predict) or MuJoCo physics (tw_sim.h) under
 * a given perturbation — while a MuJoCo robot under the planted perturbation plays the real robot.
 * Tasks with a measurable outcome; per-episode results and bootstrap confidence intervals.
 * Public header of the plan library. Depends on core, wm and sim [MuJoCo, OpenBLAS]. */
#ifndef TW_PLAN_H
#define TW_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tw_core.h"
#include "tw_sim.h"

#define TW_PLAN_MAX_EPISODES 256
#define TW_PLAN_MAX_MEMBERS 8
#define TW_PLAN_MAX_JOBS 16

/* ---- dynamics models: one control period for a batch of (state, action) rows ---------------------- */
typedef struct tw_plan_model tw_plan_model;
/* A world model folder, or a folder of ensemble members (member-0/, member-1/, ...: tw wm train
 * --ensemble): the mean of the members' predictions; their spread is the model's uncertainty. */
int tw_plan_model_wm(const char *dir, int max_batch, tw_plan_model **out, char *msg, size_t msgsz);
/* MuJoCo physics of `nominal` under *p (NULL: nominal), stepped dt seconds per call. The state vector is
 * the fused layout (qpos, qvel of the streamed joints, ee_pos, ee_quat); a free object stays where the
 * real robot's last state had it. */
int tw_plan_model_physics(const tw_robot *nominal, const tw_perturb *p, double dt, tw_plan_model **out, char *msg,
                          size_t msgsz);
/* Hybrid (the residual strategy): the nominal physics steps the state, the world model in dir (trained
 * with a residual transform, tw_wm_train_opts.residual) adds its correction: next = phys + (wm - state). */
int tw_plan_model_hybrid(const tw_robot *nominal, const char *dir, double dt, int max_batch, tw_plan_model **out,
                         char *msg, size_t msgsz);
void tw_plan_model_free(tw_plan_model *m); /* NULL is a no-op */
double tw_plan_model_dt(const tw_plan_model *m); /* 0 for physics: it takes the planner's */
int tw_plan_model_dims(const tw_plan_model *m, int *S, int *A);
/* next[B x S] (and, for an ensemble, spread[B]: the members' standard deviation of ee_pos, m; may be NULL). */
int tw_plan_model_step(tw_plan_model *m, const float *state, const float *action, int B, float *next,
                       float *spread);
/* Rows evaluated and seconds spent in tw_plan_model_step since the model was made. */
void tw_plan_model_counters(const tw_plan_model *m, uint64_t *rows, double *seconds);

/* ---- the closed-loop run ---------------------------------------------------------------------------- */
typedef enum { TW_PLAN_REACH = 0, TW_PLAN_TOUCH = 1, TW_PLAN__TASKS } tw_plan_task;
extern const char *const tw_plan_task_names[TW_PLAN__TASKS];
int tw_plan_task_parse(const char *name, tw_plan_task *out);

typedef struct {
    tw_plan_task task;
    int episodes;        /* >= 1, <= TW_PLAN_MAX_EPISODES */
    uint64_t seed;       /* targets of episode e depend only on (seed, task, e) */
    double dt;           /* control period, s (a world model must predict this period) */
    int horizon;         /* control periods looked ahead */
    int samples, iters, elites; /* CEM population, iterations per plan, elite count */
    int knots;           /* piecewise-constant action segments over the horizon */
    double init_std;     /* first CEM standard deviation of joint targets, rad */
    double max_step;     /* joint targets within this of the measured joint positions, rad */
    double tol_m;        /* success: end-effector within this distance of the target */
    double segment_s;    /* reach: seconds per target */
    double touch_s;      /* touch: seconds for its one target */
    int jobs;            /* threads: episodes shared out (0: all cores); the numbers do not depend on it */
    tw_progress_fn progress; /* a line per episode; NULL: quiet */
    void *progress_user;
} tw_plan_opts;
void tw_plan_opts_init(tw_plan_opts *o);

typedef struct {
    int episodes;
    uint8_t success[TW_PLAN_MAX_EPISODES];   /* every target reached within tol_m at its segment's end */
    double final_err[TW_PLAN_MAX_EPISODES];  /* end-effector distance to the last target at the end, m */
    double track_err[TW_PLAN_MAX_EPISODES];  /* RMS distance to the current target over the second half
                                                of every segment, m */
    double spread[TW_PLAN_MAX_EPISODES];     /* mean ensemble spread of the chosen plans (0: one model) */
    int contact[TW_PLAN_MAX_EPISODES];       /* touch: fingers on the table at the end */
    double plan_s;                           /* mean wall time per plan (one control period), s */
    double evals_per_s;                      /* model rows per second inside the planner */
    uint64_t evals;
} tw_plan_result;

/* Per-episode metrics of a result, by index: the order of every table and comparison. A paired
 * comparison is the bootstrap of the differences (an interval that excludes 0 is a difference). */
typedef enum { TW_PLAN_SUCCESS = 0, TW_PLAN_FINAL_ERR, TW_PLAN_TRACK_ERR, TW_PLAN_SPREAD } tw_plan_metric_id;
double tw_plan_metric(const tw_plan_result *r, tw_plan_metric_id k, int episode);

/* Runs o->episodes episodes of o->task on `nominal` under *real (the "real" robot: physical
 * perturbation and actuation latency; sensor noise is not applied), choosing actions with model m. */
int tw_plan_run(const tw_robot *nominal, const tw_perturb *real, tw_plan_model *m, const tw_plan_opts *o,
                tw_plan_result *res, char *msg, size_t msgsz);

/* The planted perturbation of a `tw rig --truth` file ("perturbation" object), or a --perturb SPEC. */
int tw_plan_perturb_load(const char *truth_path_or_spec, tw_perturb *out, char *msg, size_t msgsz);

/* ---- statistics ------------------------------------------------------------------------------------- */
/* Mean and 95 % percentile-bootstrap interval (2000 resamples from seed) of v[0..n). */
typedef struct { double mean, lo, hi; int n; } tw_ci;
void tw_ci_bootstrap(const double *v, int n, uint64_t seed, tw_ci *out);
/* Crossed: v[K x n] (K training seeds x n test episodes); each resample draws seeds and episodes.
 * K = 1 is tw_ci_bootstrap. */
void tw_ci_bootstrap_seeds(const double *v, int K, int n, uint64_t seed, tw_ci *out);
int tw_ci_significant(const tw_ci *c); /* 1 when the interval excludes 0 */
json_t *tw_ci_json(const tw_ci *c);    /* {"mean", "lo", "hi", "n"} (new reference) */
/* r[0..K): K runs on the same episodes (K <= TW_PLAN_MAX_MEMBERS; one trained model per training seed).
 * {"task", "episodes", "success_rate", "final_error_m", "tracking_error_m", "spread_m", "plan_ms",
 *  "evals_per_s", "evals", "per_episode": {...}} with intervals over runs x episodes (crossed bootstrap),
 * per_episode the mean over runs; with K > 1 also "seeds": K and "per_seed": [per_episode of each run]
 * (new reference). */
json_t *tw_plan_result_json(const tw_plan_result *r, int K, const tw_plan_opts *o);

#endif
