/* Internal to tw_sysid*.c. */
#ifndef TW_SYSID_INT_H
#define TW_SYSID_INT_H

#include "tw_sysid.h"

struct tw_sysid_data {
    const tw_robot *nominal;
    mjData *d;                 /* nominal model, for the contact classification */
    int sim_integrator;        /* correct qacc for each candidate's implicit integration */
    int n_discrete, n_sg;      /* episodes read with each qacc estimator */
    int root;                  /* body_rootid of the robot's kinematic tree */
    size_t n, cap;
    tw_sysid_sample *s;        /* [n] */
    uint8_t *contact;          /* [n] 1 = the robot touches something at that step */
    uint32_t *limit;           /* [n] bit j: joint j sits at its range limit (limit constraint active) */
    int nsegments;             /* max segment + 1 */
};

/* Residual channels of one sample: [0, nj) actuator, [nj, 2nj) inverse, [2nj, 2nj+6) wrench. */
enum { TW_SYSID_B_ACT = 0, TW_SYSID_B_INV = 1, TW_SYSID_B_WR = 2, TW_SYSID_NBLOCK = 3 };

/* The fit's evaluation state: a const plan (data, weights) plus scratch. */
typedef struct {
    const tw_robot *nominal;
    const tw_sysid_data *sd;
    const tw_sysid_opts *o;
    int nj, nch;
    int block_on[TW_SYSID_NBLOCK];   /* blocks that depend on a fitted parameter */
    double *scale;                   /* [nch] RMS of the recorded signal (0 = channel unused) */
    double *w;                       /* [nch] weight: sqrt(W_b / n_b) / scale */
    uint8_t *valid;                  /* [n x nch] entry takes part */
    uint64_t nvalid[TW_SYSID_NBLOCK];
    mjData *d;                       /* shared by the candidate models (same sizes) */
    tw_robot *cand;                  /* the candidate model: made once, re-perturbed in place per
                                        evaluation (a model copy per evaluation cost more than the
                                        residuals on mesh-heavy robots) */
    int evals;
    int err;                         /* first error inside an evaluation */
    char errmsg[512];
} tw_sysid_ctx;

int tw_sysid_ctx_init(tw_sysid_ctx *c, const tw_robot *nominal, const tw_sysid_data *sd, const tw_sysid_opts *o,
                      char *msg, size_t msgsz);
void tw_sysid_ctx_free(tw_sysid_ctx *c);
/* Raw residuals r[n x nch] (entries not valid are 0) for theta (o->nparam values, physical units). */
int tw_sysid_residual(tw_sysid_ctx *c, const double *theta, double *r, char *msg, size_t msgsz);
/* sum of (w r)^2 over valid entries; per-block normalised RMS into rms[3] (NaN when off). */
double tw_sysid_objective(const tw_sysid_ctx *c, const double *r, double rms[TW_SYSID_NBLOCK]);

/* ---- Nelder-Mead on the unit box (tw_sysid_nm.c) ---- */
typedef double (*tw_nm_fn)(void *ctx, const double *u);  /* +inf for a failed evaluation */
typedef void (*tw_nm_iter_fn)(void *ctx, int iterations, int evaluations, double fbest, const double *ubest);
typedef struct {
    double step;        /* initial simplex edge (0.1) */
    double xtol;        /* stop when every vertex is within xtol of the best in every coordinate */
    int max_evals, restarts;
    tw_nm_iter_fn on_iter;
} tw_nm_opts;
typedef struct { int iterations, evaluations, restarts; } tw_nm_stats;
/* Minimises f over [0,1]^n from u (in: start, out: best); points are clamped into the box. */
double tw_nm_minimize(tw_nm_fn f, void *ctx, int n, double *u, const tw_nm_opts *o, tw_nm_stats *st);

/* Joint-state rate of an episode (the timeline rate when o->align.rate_hz is 0). */
int tw_sysid_episode_rate(const char *dir, const tw_sysid_opts *o, double *rate_hz, char *msg, size_t msgsz);
/* Latency search (tw_sysid_latency.c): the delay on the grid in [0, o->latency_max_ms] whose
 * actuator residual, with gain at its closed-form best, is smallest. */
int tw_sysid_latency_search(const tw_robot *r, const char *const *dirs, size_t ndirs, const tw_sysid_opts *o,
                            double *latency_ms, double *step_ms, char *msg, size_t msgsz);

/* ---- uncertainty (tw_sysid_cov.c) ---- */
/* std[p] of the estimate theta (physical units) and the HAC bandwidth used; std is NaN where the
 * parameter is not identifiable from the data (singular information). */
int tw_sysid_uncertainty(tw_sysid_ctx *c, const double *theta, double *std, int *lags, char *msg, size_t msgsz);

/* ---- per-joint identification (tw_sysid_jrows.c, tw_sysid_jfit.c, tw_sysid_jout.c) ---- */
/* Rows are timeline steps in episode order; arrays [n x nj] hold every streamed joint (mj_inverse needs
 * them), [n x na] the arm joints that are fitted. */
struct tw_sysid_jfit {
    tw_sysid_joint_opts o;
    tw_robot *nominal;          /* as loaded */
    tw_robot *stripped;         /* arm armature, damping, frictionloss 0; contacts kept (to find them) */
    mjData *d;
    int nj, na;
    double h;                   /* model timestep (discrete damping regressor) */
    double rate_hz;             /* timeline rate of the first episode */
    int discrete;               /* qacc of the rows: discrete difference (every episode alike) */
    uint32_t sg_half;
    size_t n, cap;
    int *seg;                   /* [n] episode index */
    uint8_t *part;              /* [n] 0 fit, 1 held back */
    uint8_t *ok;                /* [n] valid step, no contact, no limit */
    uint8_t *valid;             /* [n] valid step (as tw replay counts it) */
    double *qpos, *qvel, *qacc, *effort;  /* [n x nj]; qacc as recorded (SG or discrete difference) */
    double *tau0, *taunom, *gpay;         /* [n x na] stripped, nominal, payload regressor (or NULL) */
    double *obj;                /* [n x 19] the free object's qpos, qvel and acceleration when the model has one */
    uint8_t *obj_ok;            /* [n] 1: obj holds a recorded (or held) state; 0: none, home state */
    double offset_nom[TW_ROBOT_MAX_JOINTS]; /* the nominal model's own effort offset (a fitted.xml as input) */
    uint8_t moving[TW_ROBOT_MAX_JOINTS];  /* qdot RMS over the fit rows >= min_qvel_rms */
    int passes;
    double pass_s, read_s, load_s;
};
/* One whole-data inverse-dynamics pass of robot r (same indices as the nominal) into out[n x na]; with
 * mark, rows where the robot touches something or sits on a joint limit lose their ok flag. */
void tw_sysid_jrows_inverse(tw_sysid_jfit *f, const tw_robot *r, double *out, int mark);
/* Reads the episodes into f (tw_sysid_jrows.c). */
int tw_sysid_jrows_read(tw_sysid_jfit *f, const char *const *dirs, size_t ndirs, char *msg, size_t msgsz);

#endif
