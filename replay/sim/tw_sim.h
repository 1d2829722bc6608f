/* replay/sim: the one home of MuJoCo, shared by `tw rig` (virtual rig), replay (reconstruction), system
 * identification and fusion's simgen (randomised rollouts). Depends on core and wire [MuJoCo, EGL].
 * Public header of the sim library.
 *
 * Pieces, lowest first:
 *   tw_mj_init        MuJoCo error/warning handlers (must run before any other MuJoCo call).
 *   tw_robot          a loaded model + what teleworld needs to know about it: the streamed joints in
 *                     kinematic order (arm hinges, then gripper slides), actuators, the hand body, the
 *                     wrist force/torque sensor (added at load time when the model has none), the object.
 *   tw_perturb        the known sim-to-real differences (`--perturb` spec, simgen randomisation names).
 *   tw_operator       the scripted operator: deterministic for a seed, same code for rig and simgen.
 *   tw_sim            one rollout: perturbed physics + operator + action latency + sensor noise.
 *   tw_sim_stream_decls  the signal streams a simulated robot produces (the rig and simgen alike).
 *   tw_render         headless rendering (EGL, surfaceless): the simulated cameras.
 *
 * What the rig streams per joint (tw_sample), precisely:
 *   qpos, qvel   d->qpos / d->qvel of the joint at time t (before the step from t to t+h).
 *   effort       d->qfrc_actuator at the joint's dof at time t: the generalized force the actuators apply
 *                (what a joint torque sensor behind the gearbox reads; N·m for hinges, N for slides).
 *                It excludes passive forces (damping, springs) and constraint forces (joint limits,
 *                frictionloss, contacts).  Hence for the nominal model mj_inverse gives
 *                qfrc_inverse = M qacc + c - qfrc_passive - qfrc_constraint = qfrc_actuator (+ qfrc_applied,
 *                which the rig never uses) at the same qpos/qvel/qacc: residual effort - qfrc_inverse = 0 up to
 *                the accuracy of qacc.  With damping x k the rig's actuators must also overcome the extra
 *                (k-1)·D·qvel, so the residual is (k-1)·D·qvel: same sign as qvel on every joint.
 *                Dry friction (frictionloss) is a constraint: while a joint sticks, the friction force,
 *                not the motor, absorbs the extra damping, so the residual appears on moving joints.
 *                Caveat for replay: with the Euler/implicit integrators MuJoCo integrates damping
 *                implicitly, so (qvel[t+1]-qvel[t])/h differs slightly from the qacc of the forward pass;
 *                tw_sample.qacc holds the forward-pass qacc (not streamed; tests use it as the exact value),
 *                and tw_physics_forward_qacc converts a finite-difference qacc into it.  With contacts
 *                (a grasped object) the object's state must be set too: the rig streams it (object_state).
 *                Measured on the builtin model, none/0, full state: |effort - qfrc_inverse| <= 7e-9 N·m
 *                with the forward qacc, <= 7e-5 N·m via finite differences (contact-solver tolerance).
 *   wrench       force (N, 3) then torque (N·m, 3) from MuJoCo `force`/`torque` sensors on the wrist F/T site,
 *                expressed in the site frame: the interaction the hand subtree (hand, fingers, payload,
 *                grasped object contacts) exerts through the wrist.  Same values as mj_forward's
 *                sensordata at that site on the nominal model (acc-stage sensor: needs qacc).
 *   noise        Gaussian, seeded (tw_rng), added to the streamed copy only — never fed back to physics:
 *                sigma = noise * {qpos 1e-4 rad, qvel 1e-3 rad/s, effort 0.02 N·m, force 0.05 N, torque 0.005 N·m}.
 *
 * Threading: a tw_robot is read-only after load and may be shared by threads; each tw_sim/tw_operator
 * is used by one thread at a time.  The MuJoCo error text is kept per thread. */
#ifndef TW_SIM_H
#define TW_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <mujoco/mujoco.h>

#include "tw_core.h"
#include "tw_wire.h"

#define TW_ROBOT_MAX_JOINTS 32
#define TW_ROBOT_MAX_ACT 32
#define TW_FT_SITE_NAME "tw_ft_site"   /* site name used when the loader adds the wrist F/T sensor */

/* ---- MuJoCo handlers ------------------------------------------------------------------------ */

/* Installs mju_user_error / mju_user_warning (default ones print and wait on stdin).  Idempotent and
 * thread-safe.  An error raised inside MuJoCo is recorded into a thread-local buffer; MuJoCo expects
 * mju_user_error not to return, so the handler longjmps out of the innermost guarded call (the
 * tw_mj_load_xml / tw_mj_make_data / tw_mj_copy_model wrappers below, which then return NULL with the
 * text in msg); outside a guard the error is fatal (message on stderr, abort), as in MuJoCo.  Parse and
 * compile errors of mj_loadXML come back through its error buffer and never reach the handler. */
void tw_mj_init(void);
/* Last MuJoCo error or warning text seen on this thread ("" if none). */
const char *tw_mj_last_error(void);
/* Number of MuJoCo warnings seen on this thread since tw_mj_init (numerical faults are counted). */
long tw_mj_warning_count(void);
/* Guarded wrappers: a MuJoCo error inside becomes TW_EMUJOCO with its text in msg instead of a crash. */
mjModel *tw_mj_load_xml(const char *path, const mjVFS *vfs, char *msg, size_t msgsz);
mjData *tw_mj_make_data(const mjModel *m, char *msg, size_t msgsz);
mjModel *tw_mj_copy_model(const mjModel *m, char *msg, size_t msgsz);

/* ---- Robot model ---------------------------------------------------------------------------- */

typedef struct {
    mjModel *m;                 /* owned; treat as const (tw_robot_perturbed makes a modified copy) */
    char source[4096];          /* path as given (PATH_MAX: never cut by a deep checkout), or "builtin" */
    int ft_added;               /* 1 when the loader inserted the wrist F/T site + sensors */

    int njoint;                 /* streamed joints: arm hinges (kinematic order) then gripper slides */
    int narm;                   /* the first narm of them are arm joints */
    int jnt[TW_ROBOT_MAX_JOINTS];      /* joint id */
    int qadr[TW_ROBOT_MAX_JOINTS];     /* m->jnt_qposadr[jnt] */
    int vadr[TW_ROBOT_MAX_JOINTS];     /* m->jnt_dofadr[jnt] */
    const char *jname[TW_ROBOT_MAX_JOINTS]; /* names, pointing into m->names (or "joint<i>" if unnamed) */

    int jact[TW_ROBOT_MAX_JOINTS];     /* actuator driving this joint directly, -1 if none */
    int ngrip_act;                     /* gripper actuators (drive a gripper joint or tendon) */
    int grip_act[TW_ROBOT_MAX_ACT];

    int hand_body;              /* body carrying the F/T site: parent of the fingers / last arm body */
    int ft_site;                /* site of the F/T sensors */
    int ft_force_adr;           /* m->sensor_adr of the force sensor (3 values, site frame, N) */
    int ft_torque_adr;          /* m->sensor_adr of the torque sensor (3 values, site frame, N·m) */
    int ee_site;                /* end-effector point (grasp centre) site; ft_site if none better */
    int object_body;            /* first free-jointed body (the graspable object), -1 if none */
    int object_qadr;            /* its qpos address (7: pos + quat), -1 if none */
} tw_robot;

/* Loads MJCF `path` (NULL: the builtin model, see tw_builtin_model.c), finds joints/actuators/hand and,
 * when no force+torque sensor pair sits on the hand, adds one: the model is saved to canonical XML
 * (mj_saveLastXML), a <site name="tw_ft_site"> is inserted into the hand body and a <sensor> block with
 * force/torque on it appended, mesh/texture dirs made absolute, and the result compiled from a private
 * temp directory (removed again).  On failure *out is NULL and msg says what and where. */
int tw_robot_load(const char *path, tw_robot **out, char *msg, size_t msgsz);
void tw_robot_close(tw_robot *r);           /* NULL is a no-op */
/* A loaded robot as bytes (*buf malloc'd: a small header, then mj_saveModel's binary model) and back:
 * tw_robot_load_buffer gives the same model, indexed as tw_robot_load does, without compiling any MJCF
 * (simgen's MPI ranks load what rank 0 compiled). source: the name it goes by (the MJCF path). */
int tw_robot_save_buffer(const tw_robot *r, void **buf, size_t *len, char *msg, size_t msgsz);
int tw_robot_load_buffer(const void *buf, size_t len, const char *source, tw_robot **out, char *msg, size_t msgsz);
/* Index into r->jname of joint `name`, or -1. */
int tw_robot_find_joint(const tw_robot *r, const char *name);
/* End-effector pose from d's current kinematics (ee_site): position (world, m) then
 * orientation quaternion (w x y z). */
void tw_robot_ee_pose(const tw_robot *r, const mjData *d, double pose[7]);
/* Forward kinematics alone (mj_kinematics at d->qpos), then tw_robot_ee_pose. */
void tw_robot_fk_ee(const tw_robot *r, mjData *d, double pose[7]);
/* Puts d into the episode's initial state: keyframe 0 if the model has one, else qpos0 with arm joints
 * clamped into their ranges; zero velocity; ctrl at the matching hold targets; runs mj_forward. */
void tw_robot_home(const tw_robot *r, mjData *d);

/* Forward-pass acceleration from a discrete one.  MuJoCo integrates some velocity-dependent forces
 * implicitly, so qacc_d = (qvel[t+h] - qvel[t]) / h satisfies (M - h·Dv)·qacc_d = f, while mj_inverse
 * expects the forward qacc = M^-1·f.  This returns qacc = qacc_d - h·M^-1·(Dv·qacc_d).  Dv is exact for
 * the Euler integrator (Dv = -diag(dof_damping)); for the implicit integrator it is the diagonal part
 * (-dof_damping + gear²·biasprm[2] of joint servos), which leaves only the small Coriolis-derivative
 * terms; RK4 needs no correction.  d must hold qpos with mj_fwdPosition (or mj_forward) done: it uses
 * the factorised mass matrix.  qacc may alias qacc_d. */
void tw_physics_forward_qacc(const mjModel *m, mjData *d, const mjtNum *qacc_d, mjtNum *qacc);

/* ---- Perturbation --------------------------------------------------------------------------- */

typedef struct {
    double damping;          /* scale of dof_damping on robot dofs (1 = nominal) */
    double friction;         /* scale of dof_frictionloss on robot dofs */
    double gain;             /* scale of actuator stiffness: gainprm[0], and biasprm[1..2] for servos */
    double payload_kg;       /* mass added at the hand body's centre of mass (kg, >= 0) */
    double latency_ms;       /* delay from commanded action to actuators, and from sample to send (ms) */
    double noise;            /* sensor noise scale (0 = off, 1 = the sigmas above) */
    double clock_offset_ms;  /* added to the rig's source clock */
    double drift_ppm;        /* rate error of the rig's source clock */
} tw_perturb;

#define TW_PERTURB_KEYS "damping, friction, gain, payload_kg, latency_ms, noise, clock_offset_ms, drift_ppm"

void tw_perturb_none(tw_perturb *p);      /* scales 1, everything else 0 */
/* "none" or "key=value[,key=value...]"; unspecified keys keep their value in *p (so callers start from
 * tw_perturb_none or a default).  Unknown key, bad number or out-of-range value: TW_EINVAL, msg names
 * the key and the offending text.  Ranges: scales in (0, 100], payload_kg [0, 100], latency_ms [0, 10000],
 * noise [0, 1000], |clock_offset_ms| <= 1e9, |drift_ppm| <= 1e5. */
int tw_perturb_parse(const char *spec, tw_perturb *p, char *msg, size_t msgsz);
/* Sets one named parameter with the same validation (simgen's randomisation uses this). */
int tw_perturb_set(tw_perturb *p, const char *key, double value, char *msg, size_t msgsz);
int tw_perturb_get(const tw_perturb *p, const char *key, double *value);  /* TW_ENOT_FOUND if unknown */
json_t *tw_perturb_to_json(const tw_perturb *p);   /* new reference: object key -> number */
int tw_perturb_from_json(const json_t *obj, tw_perturb *p, char *msg, size_t msgsz);
int tw_perturb_is_none(const tw_perturb *p);

/* New robot sharing nothing with `nominal` but identical indices, whose model is mj_copyModel(nominal)
 * with the physical fields of *p applied (damping, friction, gain, payload; latency/noise/clock are
 * not model fields and are applied by tw_sim / the rig). */
int tw_robot_perturbed(const tw_robot *nominal, const tw_perturb *p, tw_robot **out, char *msg, size_t msgsz);
/* Re-applies a perturbation in place: dst (made by tw_robot_perturbed from this nominal, under any
 * perturbation) gets back the nominal values of every field a perturbation changes, then *p; its model
 * is then equal, array for array, to a fresh tw_robot_perturbed(nominal, p) — without copying the whole
 * model (meshes included) per episode.  scratch: an mjData of dst->m that mj_setConst may use when p adds
 * a payload (reset and left in an arbitrary state), or NULL to make one.  A robot that is not a copy
 * of nominal: TW_EINVAL, dst unchanged. */
int tw_robot_reperturb(const tw_robot *nominal, const tw_perturb *p, tw_robot *dst, mjData *scratch, char *msg,
                       size_t msgsz);

/* ---- Scripted operator ---------------------------------------------------------------------- */

typedef enum { TW_OP_EV_NONE = 0, TW_OP_EV_GRASP = 1, TW_OP_EV_RELEASE = 2 } tw_op_event;

typedef struct tw_operator tw_operator;
/* The operator plans on `nominal` (IK on the nominal model, so its plan never depends on the
 * perturbation) and is deterministic for (seed, episode).  With an object it runs
 * approach/grasp/lift/move/place/release cycles; without one, min-jerk moves between random joint-space
 * waypoints inside the joint ranges with gripper close/open in between. */
int tw_operator_new(const tw_robot *nominal, uint64_t seed, tw_operator **out, char *msg, size_t msgsz);
void tw_operator_free(tw_operator *op);
/* Starts episode `episode` (re-plans from the home pose). */
void tw_operator_reset(tw_operator *op, uint64_t episode);
/* Action at time t (s since episode start) given the measured state d: ctrl[m->nu] (for servo
 * actuators the joint target shifted by qfrc_bias/kp so the servo also holds gravity; for motors
 * computed-torque PD M·(w²e - 2w·qd) + qfrc_bias at w = 20 rad/s; clamped to ctrlrange).  *ev is set when the
 * gripper command changes (grasp/release).  Returns 0. */
int tw_operator_act(tw_operator *op, const mjData *d, double t, double *ctrl, tw_op_event *ev);

/* ---- Rollout -------------------------------------------------------------------------------- */

typedef struct {
    double t;                               /* simulated time of the sample, s since episode start */
    int njoint;
    double qpos[TW_ROBOT_MAX_JOINTS];
    double qvel[TW_ROBOT_MAX_JOINTS];
    double effort[TW_ROBOT_MAX_JOINTS];     /* qfrc_actuator at the joint dof (see top) */
    double qacc[TW_ROBOT_MAX_JOINTS];       /* forward-pass qacc (exact; not streamed, for tests) */
    double wrench[6];                       /* F/T site frame: fx fy fz (N) tx ty tz (N·m) */
    double object[13];                      /* free object (if any): qpos (x y z qw qx qy qz), qvel (6) —
                                               what a motion-capture system reports; never noised */
} tw_sample;

/* Noise standard deviations at noise scale 1 (units as in tw_sample). */
typedef struct { double qpos, qvel, effort, force, torque; } tw_noise_sigma;
extern const tw_noise_sigma tw_noise_sigma_unit;

typedef struct {
    double action_rate_hz;   /* operator decision rate; ctrl is held in between (default 100) */
    uint64_t seed;           /* operator + noise seed */
} tw_sim_opts;
void tw_sim_opts_init(tw_sim_opts *o);

typedef struct tw_sim tw_sim;
/* Builds a rollout of `nominal` under *p (copied).  The physics runs on tw_robot_perturbed(nominal, p). */
int tw_sim_new(const tw_robot *nominal, const tw_perturb *p, const tw_sim_opts *o, tw_sim **out,
               char *msg, size_t msgsz);
void tw_sim_free(tw_sim *s);
/* Switches s to perturbation *p (copied) in place — the same physics, operator and noise as
 * tw_sim_new(nominal, p, same opts) gives, at the cost of a few array copies instead of a model copy — and
 * resets it as tw_sim_new does; call tw_sim_reset(s, episode) next.  On error s keeps its old perturbation. */
int tw_sim_set_perturb(tw_sim *s, const tw_perturb *p, char *msg, size_t msgsz);
/* Starts episode `episode`: home state, operator re-planned, noise stream re-seeded from (seed, episode). */
void tw_sim_reset(tw_sim *s, uint64_t episode);
/* Advances one physics step h = m->opt.timestep.  Fills *clean (exact values at time t, before the
 * step), *noisy (clean + noise; identical when noise = 0); when the operator produced a new action at
 * this step (every 1/action_rate), *new_action = 1 and action[nu] holds it (the commanded action,
 * as streamed; the actuators receive it latency_ms later); *ev the gripper event.  TW_ENUMERIC when
 * the state blows up (MuJoCo warning counters, NaN). */
int tw_sim_step(tw_sim *s, tw_sample *clean, tw_sample *noisy, int *new_action, double *action,
                tw_op_event *ev, char *msg, size_t msgsz);
double tw_sim_time(const tw_sim *s);            /* simulated time of the next sample */
double tw_sim_timestep(const tw_sim *s);
const tw_robot *tw_sim_robot(const tw_sim *s);  /* the perturbed robot it runs */
const mjData *tw_sim_data(const tw_sim *s);


/* ---- the streams of a simulated robot ------------------------------------------------------------ */
/* Stream ids are fixed (schemas/rig.md): 1 joint_state [3,N] float64 (rows position rad|m, velocity,
 * effort N·m|N); 2 wrench [6] float64 (frame TW_FT_SITE_NAME); 3 action [nu] float64 (ctrl, axes =
 * actuator names); 4 events (JSON); 5 object_state [13] float64 (only when the scene has a free object);
 * cameras from 10. */
enum { TW_SIM_SID_JS = 1, TW_SIM_SID_WRENCH = 2, TW_SIM_SID_ACTION = 3, TW_SIM_SID_EVENTS = 4, TW_SIM_SID_OBJECT = 5,
       TW_SIM_SID_CAM0 = 10 };
/* The defaults of the virtual rig and of simgen (one schedule, so sim episodes look like recorded ones). */
#define TW_SIM_DEFAULT_JS_RATE 500.0
#define TW_SIM_DEFAULT_ACTION_RATE 100.0
#define TW_SIM_DEFAULT_FT_RATE 500.0
/* The signal stream declarations at these rates; returns how many were filled (4, or 5 with an object). */
int tw_sim_stream_decls(const tw_robot *r, double js_rate, double ft_rate, double action_rate, tw_stream_decl d[5]);

/* ---- rendering --------------------------------------------------------------------------------- */
/* Headless MuJoCo rendering (the rig's rendered camera): an EGL context on Mesa's surfaceless
 * platform (no X, no window, no GPU needed: llvmpipe), MuJoCo's offscreen framebuffer, RGB out.
 *
 * Threading: a tw_render owns a GL context that is made current on the calling thread by
 * tw_render_frame; use each renderer from one thread at a time. */
typedef struct tw_render tw_render;

/* Prepares rendering of `m` at width x height through `camera` (a camera name in the model, or
 * NULL / "" for the free camera looking at the whole model). The renderer keeps its own copy of
 * the model (with the offscreen buffer enlarged to the requested size), so `m` may be freed later.
 * Returns TW_EUNSUPPORTED with the reason when no EGL/OpenGL context can be made here,
 * TW_ENOT_FOUND for an unknown camera, TW_EINVAL for a bad size. */
int tw_render_open(const mjModel *m, int width, int height, const char *camera, tw_render **out,
                   char *msg, size_t msgsz);

/* Renders the state in `d` (positions must be current: after mj_forward or mj_step) into `rgb`,
 * width*height*3 bytes, top row first. */
int tw_render_frame(tw_render *r, const mjData *d, uint8_t *rgb, char *msg, size_t msgsz);

/* Frees the context and the scene; NULL is a no-op. */
void tw_render_close(tw_render *r);

/* ---- builtin model ----------------------------------------------------------------------------- */
/* The builtin MJCF (internal to replay/): tw_robot_load(NULL, ...) loads it. */
extern const char tw_builtin_model_xml[];
extern const size_t tw_builtin_model_len;

/* ---- MJCF text edits --------------------------------------------------------------------------- */
/* Minimal, targeted edits of MuJoCo's canonical XML (as written by mj_saveLastXML); internal to replay/. */
/* Reads a whole text file (at most 64 MiB) into a new NUL-terminated buffer the caller frees. */
int tw_xml_read_file(const char *path, char **out, char *msg, size_t msgsz);
/* Makes <compiler> meshdir/texturedir absolute against base (adding them, or the tag, when absent). */
int tw_xml_absolutize_dirs(char **xml, const char *base, char *msg, size_t msgsz);
/* Inserts `frag` as the first children of <body name="NAME">. */
int tw_xml_insert_in_body(char **xml, const char *name, const char *frag, char *msg, size_t msgsz);
/* Sets attribute attr="value" on the element <tag ... name="NAME" ...> (replacing the value when the
 * attribute is there, adding it otherwise); no such element: TW_ENOT_FOUND. */
int tw_xml_set_attr(char **xml, const char *tag, const char *name, const char *attr, const char *value, char *msg,
                    size_t msgsz);
/* Inserts `frag` before the closing </mujoco>. */
int tw_xml_insert_before_end(char **xml, const char *frag, char *msg, size_t msgsz);

#endif
