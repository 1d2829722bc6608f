/* System identification behind `tw gap --fit`: which physical parameters (the rig's `--perturb`
 * names damping, friction, gain, payload_kg) make the nominal model reproduce recorded episodes.
 * Internal header of replay/ (fusion's tw gap uses it through replay_dep).
 *
 * Data: episodes are aligned with the replay library (tw_align_*), joints mapped as tw replay does,
 * and at most opts.max_samples evenly spaced timesteps per episode are kept (memory is set by the
 * options, not the episode length).  Each kept step holds qpos, qvel, qacc, the recorded effort, the
 * F/T wrench and the action the actuators were applying (the held action, shifted by latency_ms).
 * Noisy recordings are smoothed with the same moving average on every signal (tw_sysid_episode.c).
 * Memory: about 1.5 KB + 8 * (2 J + 6) * (p + 4) bytes per kept step (J joints, p parameters).
 *
 * Residual for a candidate theta (model = tw_robot_perturbed(nominal, theta)), three blocks:
 *   inverse   effort - qfrc_inverse(theta) at the recorded (qpos, qvel, qacc)   damping, friction, payload
 *   wrench    recorded F/T - the model's F/T sensors at the same state            payload
 *   actuator  effort - qfrc_actuator(theta) from the applied ctrl and the state   gain
 * (effort is qfrc_actuator, see tw_sim.h.)  Every channel is divided by a scale, the RMS of its
 * recorded signal (raised to 2% of its block's RMS, and to the nominal model's miss where that is
 * larger: noise-only channels such as a gripper finger's effort must not steer the fit), and every
 * block by sqrt(its entry count), so blocks weigh alike whatever their size; the objective is
 * sum_b weight_b * mean_b (r/scale)^2 (tw_sysid_eval.c).  Steps where the robot touches something (the
 * object, the table; found with the streamed object pose when there is one) are left out of the
 * inverse and wrench blocks: contact forces are not in the recording.  Contacts are then disabled
 * in the fitted models, which only affects those excluded steps.  A joint at its range limit is
 * left out of the inverse block at that step (the limit's force is not recorded either).
 *
 * Optimiser: Nelder-Mead in box-normalised coordinates with restarts (tw_sysid_nm.c).
 * Uncertainty: sandwich covariance of the weighted least-squares estimate from a finite-difference
 * Jacobian, with a Newey-West (HAC) estimate of the score's variance (tw_sysid_cov.c).
 *
 * Latency: the actuators apply an action latency_ms after it was commanded; give the known latency,
 * or let latency_max_ms search it (tw_sysid_latency.c).  An unknown latency left at 0 barely touches
 * damping, friction and payload (the inverse and wrench blocks use the recorded effort, not the
 * action) but biases gain badly: the rig's 10 ms took a planted 0.8 to 0.49.
 * Deterministic: same inputs and options, same numbers (single thread, fixed order of sums). */
#ifndef TW_SYSID_H
#define TW_SYSID_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tw_sim.h"
#include "tw_recon.h"

#define TW_SYSID_MAX_PARAMS 4
#define TW_SYSID_PARAM_NAMES "damping, friction, gain, payload_kg"

typedef struct {
    char name[16];          /* a tw_perturb key: damping, friction, gain (scales) or payload_kg (kg) */
    double start, lo, hi;   /* lo <= start <= hi, in the same units as --perturb */
} tw_sysid_param;

typedef enum {
    TW_SYSID_QACC_AUTO = 0,     /* per episode: DISCRETE when the recorded qvel is noise-free (its higher
                                   differences shrink, see tw_sysid_episode.c), else SG */
    TW_SYSID_QACC_DISCRETE,     /* (qvel[k+1]-qvel[k])/h: exact for noise-free rig/simgen episodes sampled
                                   at every physics step.  With noise it is biased: the same qvel[k+1]
                                   noise enters the acceleration and, through the implicit damping
                                   term, the damping regressor (errors in variables: damping fits low) */
    TW_SYSID_QACC_SG,           /* smoothed: the differenced qacc and every other signal of the step
                                   (qpos, qvel, effort, wrench, ctrl) averaged over +-sg_half steps with
                                   the same weights, so the (locally linear) equations still hold:
                                   noisy data (tw_sysid_episode.c) */
} tw_sysid_qacc;

typedef struct {
    const char *model_path;      /* nominal MJCF; NULL = builtin model */
    const char *map_path;        /* joints.json as for tw replay, or NULL */
    int nparam;
    tw_sysid_param param[TW_SYSID_MAX_PARAMS];
    uint32_t max_samples;        /* kept timesteps per episode, evenly spaced (5000) */
    tw_sysid_qacc qacc;          /* AUTO */
    int sim_integrator;          /* 1: the episodes were integrated by MuJoCo at the timeline rate (the rig,
                                    simgen): each candidate's implicit terms are undone from qacc
                                    (tw_physics_forward_qacc).  0 for a physical robot (1) */
    uint32_t sg_half;            /* smoothing half window in steps (8) */
    double latency_ms;           /* known actuation delay (0) */
    double latency_max_ms;       /* > 0: search the delay instead, on the timeline's grid in
                                    [0, latency_max_ms], by how well the actuator block explains the
                                    effort (gain refitted in closed form at each); needs gain (0) */
    double w_inverse, w_wrench, w_actuator; /* block weights (1, 1, 1) */
    int max_evals;               /* objective evaluations for the search (600) */
    int restarts;                /* Nelder-Mead restarts from the best point (2) */
    double xtol;                 /* simplex size at convergence, box-normalised (1e-6) */
    tw_progress_fn progress;     /* every 50 evaluations: the best point so far (physical units); NULL: quiet */
    void *progress_user;
    tw_align_opts align;         /* rate_hz 0 = joint-state rate */
} tw_sysid_opts;
void tw_sysid_opts_init(tw_sysid_opts *o);

/* Default start and bounds of a named parameter: scales start 1 in [0.1, 10]; payload_kg start 0 in
 * [0, 5].  Unknown name: TW_EINVAL naming the known ones. */
int tw_sysid_param_default(const char *name, tw_sysid_param *out, char *msg, size_t msgsz);
/* Appends a parameter with its defaults (duplicate or too many: TW_EINVAL). */
int tw_sysid_opts_add(tw_sysid_opts *o, const char *name, char *msg, size_t msgsz);

typedef struct {
    char name[16];
    double value, std;           /* fitted value and its standard deviation (units of --perturb); std
                                    NaN (null in JSON): the data do not constrain it (e.g. friction
                                    on a model without frictionloss), value is then meaningless */
    double start, lo, hi;
    int at_bound;                /* the optimum sits on lo or hi: std describes a one-sided fit */
} tw_sysid_estimate;

typedef struct {
    int nparam;
    tw_sysid_estimate p[TW_SYSID_MAX_PARAMS];
    double objective;            /* at the optimum */
    double objective_nominal;    /* at the nominal model (scales 1, payload 0) */
    double objective_start;      /* at the start values */
    double rms_inverse, rms_wrench, rms_actuator; /* normalised block RMS at the optimum (NaN: unused) */
    double rms_inverse_nominal, rms_wrench_nominal, rms_actuator_nominal;
    int iterations, evaluations, restarts;
    int episodes;
    int qacc_discrete, qacc_sg;  /* episodes read as recorded / smoothed (AUTO's choice) */
    uint64_t samples;            /* kept timesteps */
    uint64_t samples_contact;    /* of them, left out of the inverse/wrench blocks for robot contacts */
    int hac_lags;                /* Newey-West bandwidth used for the uncertainty */
    double latency_ms;           /* actuation delay used: given, or found by the search */
    int latency_searched;        /* 1 when latency_ms came from the search */
    double latency_step_ms;      /* the search's grid step (its resolution) */
    double wall_s;
} tw_sysid_result;

/* ---- data ---- */

/* One kept timestep, joints in the robot's streamed order (tw_robot.jname). */
typedef struct {
    int segment;                 /* episode index: no time correlation is assumed across segments */
    uint64_t step;               /* timeline step (for ordering inside a segment) */
    double qpos[TW_ROBOT_MAX_JOINTS], qvel[TW_ROBOT_MAX_JOINTS];
    double qacc[TW_ROBOT_MAX_JOINTS];   /* derivative of the recorded qvel sequence (differenced or smoothed) */
    double effort[TW_ROBOT_MAX_JOINTS]; /* recorded qfrc_actuator */
    double wrench[6];
    int have_wrench;
    double ctrl[TW_ROBOT_MAX_ACT];      /* what the actuators applied (m->nu values) */
    int have_ctrl;
    double object[13];                  /* free object's qpos (7) and qvel (6), motion capture */
    int have_object;
} tw_sysid_sample;

typedef struct tw_sysid_data tw_sysid_data;
/* An empty set for the robot `nominal` (which must outlive it).  sim_integrator as in the options:
 * whether the samples' qacc is corrected for each candidate's integrator. */
int tw_sysid_data_new(const tw_robot *nominal, int sim_integrator, tw_sysid_data **out, char *msg,
                      size_t msgsz);
void tw_sysid_data_free(tw_sysid_data *sd); /* NULL is a no-op */
/* Adds one sample (copied; classified for robot contacts with the nominal model).  Samples of a
 * segment must come in time order. */
int tw_sysid_data_add(tw_sysid_data *sd, const tw_sysid_sample *s, char *msg, size_t msgsz);
/* Aligns episode directory `dir` and adds its kept timesteps as segment `segment`.  A missing or
 * unreadable episode, no joint_state stream, or joints that do not match the model: TW_E* with what
 * and where in msg. */
int tw_sysid_data_add_episode(tw_sysid_data *sd, const char *dir, const tw_sysid_opts *o, int segment,
                              char *msg, size_t msgsz);
size_t tw_sysid_data_count(const tw_sysid_data *sd);

/* ---- fit ---- */

/* Fits o->param[] on the data (nominal: the robot the data was made for). */
int tw_sysid_fit_data(const tw_robot *nominal, const tw_sysid_data *sd, const tw_sysid_opts *o,
                      tw_sysid_result *res, char *msg, size_t msgsz);
/* Loads o->model_path, reads the episode directories and fits. */
int tw_sysid_fit(const char *const *episode_dirs, size_t ndirs, const tw_sysid_opts *o, tw_sysid_result *res,
                 char *msg, size_t msgsz);
/* {"fit": {name: {"value", "std", "start", "lo", "hi", "at_bound"}}, "objective", ...}: new reference.
 * The "fit" member is what tw gap writes into gap.json. */
json_t *tw_sysid_result_json(const tw_sysid_result *r);

/* ======================================================== per-joint identification (tw sysid) */
/* Absolute parameters per arm joint, in the model's units, fitted to episodes that have joint states
 * with measured effort (actions, F/T and objects optional):
 *   effort_j = tau0_j(q, qdot, qacc) + armature_j qacc_j + damping_j qdot_j
 *              + friction_j tanh(qdot_j / eps) + offset_j  [+ payload_kg g_j(q, qdot, qacc)]
 * tau0 is mj_inverse of the nominal model with the arm's armature, damping and frictionloss set to 0;
 * g is the torque of 1 kg added at the flange body's centre of mass.  Inverse dynamics is linear in
 * every parameter, so the fit is one least-squares problem with physical bounds (armature, damping,
 * friction, payload >= 0; offset free), solved exactly (Lawson-Hanson active set on the normal
 * equations).  qacc and the rows are replay's (tw_recon_fill: the same derivative, the same valid
 * steps), so the residuals reported are the ones `tw replay` shows.  For a simulation sampled every
 * physics step (discrete qacc) the damping regressor is qdot + h qacc (the integrator's implicit
 * damping).  The regression runs on a moving average of every signal over filter_ms (the same
 * filter on both sides keeps the equations exact and averages the noise of a differenced velocity).
 * Steps where the robot touches something or sits on a joint limit are left out (their forces are not
 * recorded).  MuJoCo's frictionloss is a soft constraint that saturates within a few mrad/s, so
 * eps = 5 mrad/s keeps the fitted tanh close to what fitted.xml replays.
 * Uncertainty: a block bootstrap over time segments of block_s (blocks of the fit rows; the normal
 * equations are summed per block, so each replicate costs one small solve); std = IQR / 1.349 of the
 * replicates, robust to the odd replicate without a joint's reversals.
 * Unidentified: a parameter whose regressor has no excitation (the joint does not move, or it is
 * collinear with the others: 1/VIF < 1e-3) is not fitted; it keeps the nominal value and is reported
 * as unidentified (null).
 * Validation: the last `validate` fraction of every episode is held back from the fit. */
enum { TW_SJ_ARMATURE = 0, TW_SJ_DAMPING, TW_SJ_FRICTION, TW_SJ_OFFSET, TW_SJ_NPAR };
extern const char *const tw_sysid_jparam_names[TW_SJ_NPAR]; /* armature, damping, frictionloss, effort_offset */

typedef struct {
    const char *model_path;   /* nominal MJCF; NULL = builtin */
    const char *map_path;     /* as tw replay's --map, or NULL */
    double validate;          /* fraction of every episode held back at its end (0.3); 0 = none */
    double friction_eps;      /* tanh smoothing velocity, rad/s (0.005) */
    int payload;              /* also fit a mass at the flange (0) */
    int qacc_discrete;        /* -1 auto, 0 Savitzky-Golay, 1 discrete: as tw_replay_opts (-1) */
    uint32_t sg_half;         /* 0 = auto (sg_window_ms), as tw replay (0) */
    double sg_window_ms;      /* 50 */
    double filter_ms;         /* moving average of every regression signal (50); 0 = none */
    double gap_ms;            /* as tw replay (0 = 3 x measured median interval) */
    int bootstrap;            /* replicates (200); 0 = no standard deviations */
    double block_s;           /* bootstrap block length, s (1) */
    uint64_t seed;            /* bootstrap seed (1) */
    double stick_qvel;        /* a joint's equation is used only where |qdot| >= this over the whole filter
                                 window, without reversal (0.02 rad/s): near zero velocity friction is
                                 stiction, no function of qdot */
    double min_qvel_rms;      /* a joint whose qdot RMS over the fit rows is below this does not move (0.01 rad/s) */
    uint64_t max_rows;        /* timeline steps kept over all episodes (500000, about 0.5 KB each):
                                 longer input is refused, not silently cut */
    tw_progress_fn progress;  /* stage "sysid" lines; NULL quiet */
    void *progress_user;
} tw_sysid_joint_opts;
void tw_sysid_joint_opts_init(tw_sysid_joint_opts *o);

typedef struct {
    double value;             /* fitted (or nominal when not identified), model units */
    double std;               /* bootstrap (IQR / 1.349); NaN without bootstrap or not identified */
    double nominal;           /* the nominal model's value (offset: 0) */
    int identified, at_bound; /* at_bound: held at its physical bound (0) */
} tw_sysid_jparam;

typedef struct {
    char name[TW_MAX_NAME];
    tw_sysid_jparam p[TW_SJ_NPAR];
    double qvel_rms;                    /* excitation over the fit rows */
    /* torque residual RMS, N·m: fit rows / held-back rows; nominal model, fitted (least-squares
       model) and fitted.xml replayed by MuJoCo (NaN until tw_sysid_jfit_check_mjcf) */
    double effort_rms[2], rmse_nominal[2], rmse_fitted[2], rmse_mjcf[2];
} tw_sysid_jjoint;

typedef struct {
    int nj;                              /* fitted joints: the robot's arm joints */
    tw_sysid_jjoint j[TW_ROBOT_MAX_JOINTS];
    int payload;
    tw_sysid_jparam payload_kg;
    /* all-joint relative RMSE sqrt(sum r^2)/sqrt(sum effort^2): [0] fit rows, [1] held back, [2] all
       valid rows (what tw replay reports for one episode) */
    double rel_nominal[3], rel_fitted[3], rel_mjcf[3];
    uint64_t rows[3];                    /* fit, held back, all valid */
    uint64_t rows_excluded;              /* valid steps left out: contact or joint limit */
    int episodes, blocks, bootstrap;
    int qacc_discrete;
    uint32_t sg_half, filter_half;
    double rate_hz, friction_eps, validate;
    int inverse_passes;                  /* whole-data mj_inverse passes made (fit + check) */
    double inverse_pass_s;               /* wall time of one bare pass (the stripped model) */
    double load_s, read_s, fit_s, check_s; /* model load; reading + inverse dynamics; least squares +
                                            bootstrap; loading and replaying fitted.xml */
    double wall_s;                       /* their sum: the whole of tw sysid but writing the files */
} tw_sysid_joint_result;

typedef struct tw_sysid_jfit tw_sysid_jfit;
/* Loads the model and reads every episode into rows with their inverse dynamics (bounded by max_rows). */
int tw_sysid_jfit_open(const char *const *dirs, size_t ndirs, const tw_sysid_joint_opts *o, tw_sysid_jfit **out,
                       char *msg, size_t msgsz);
void tw_sysid_jfit_free(tw_sysid_jfit *f); /* NULL is a no-op */
/* Least squares, identifiability, bootstrap and the residuals before/after. */
int tw_sysid_jfit_run(tw_sysid_jfit *f, tw_sysid_joint_result *res, char *msg, size_t msgsz);
/* The nominal MJCF with the fitted values written in (joint armature/damping/frictionloss, a payload
 * body, the effort offset as the custom numeric TW_EFFORT_OFFSET_NUMERIC that tw replay subtracts),
 * written to a temporary name and renamed.  Mesh and texture folders are made absolute. */
int tw_sysid_jfit_write_mjcf(const tw_sysid_jfit *f, const tw_sysid_joint_result *res, const char *path,
                             char *msg, size_t msgsz);
/* Loads path with MuJoCo and replays the rows against it: fills rmse_mjcf and rel_mjcf. */
int tw_sysid_jfit_check_mjcf(tw_sysid_jfit *f, const char *path, tw_sysid_joint_result *res, char *msg,
                             size_t msgsz);
json_t *tw_sysid_joint_json(const tw_sysid_joint_result *r); /* sysid.json (schemas/sysid.md) */
/* The actuators' gain (scale, as tw rig --perturb) and the actuation delay, fitted by the derivative-free
 * fit when every episode has an action stream: *out = {"gain": {value, std, ...}, "latency_ms",
 * "latency_searched", "details"}; without actions *out = NULL and 0 (nothing to fit on). */
int tw_sysid_gain_fit(const char *const *dirs, size_t ndirs, const char *model_path, const char *map_path,
                      tw_progress_fn progress, void *progress_user, json_t **out, char *msg, size_t msgsz);
/* All outputs into out_dir (created): fitted.xml (then checked: rmse_mjcf), sysid.json (with the members
 * of `extra` added, may be NULL), sysid.html. */
int tw_sysid_jfit_write_outputs(tw_sysid_jfit *f, tw_sysid_joint_result *r, const char *out_dir, const json_t *extra,
                                char *msg, size_t msgsz);
/* sysid.html: residual before/after per joint, friction curve over the data, parameter table. */
int tw_sysid_jfit_html(const tw_sysid_jfit *f, const tw_sysid_joint_result *r, const char *path, char *msg,
                       size_t msgsz);

#endif
