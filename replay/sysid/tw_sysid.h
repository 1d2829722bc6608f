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

#endif
