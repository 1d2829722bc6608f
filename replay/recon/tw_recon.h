/* replay/recon: reconstruct an aligned episode in MuJoCo and measure the sim-to-real gap: residuals,
 * divergence, video sync and the outputs (aligned.h5, summary.json, report.html; layout in
 * schemas/aligned.md). Public header of the reconstruction library. */
#ifndef TW_RECON_H
#define TW_RECON_H

#include <stddef.h>
#include <stdint.h>

#include <mujoco/mujoco.h>

#include "tw_sim.h"
#include "tw_timeline.h"

#define TW_REPLAY_NHORIZONS 5 /* 0.1, 0.5, 1, 2 s and the whole episode */
#define TW_REPLAY_FORMAT "teleworld.aligned"
#define TW_REPLAY_MAJOR 1
#define TW_REPLAY_MINOR 0


typedef struct {
    const char *model_path;  /* MJCF of the robot (nominal model); required */
    const char *map_path;    /* joints.json: {"recorded name": "model joint name", ...} or NULL */
    const char *out_dir;     /* created if missing; NULL = compute the summary only */
    double rate_hz;          /* 0 = joint-state rate */
    int threads;             /* reconstruction threads, each with its own mjData (1) */
    uint32_t sg_half;        /* Savitzky-Golay half window for qacc, in steps; 0 (default) = auto: the
                                window that spans sg_window_ms at the timeline rate (1 kHz: 25) */
    double sg_window_ms;     /* auto window's duration (50 ms: a quadratic fit over 50 ms passes the
                                few-Hz motion of an arm and averages encoder-velocity noise; at 1 kHz
                                a 5-sample window made the Panda's j2 residual 5.41 N·m instead of 0.95) */
    double gap_ms;           /* > 0: gap threshold in ms; 0 (default): 3 x the joint-state stream's
                                measured median interval (tw_align_opts.gap_measured) */
    int qacc_discrete;       /* 0: qacc by Savitzky-Golay on qvel (real data, noise). 1: forward
                                difference (qvel[k+1]-qvel[k])/dt corrected for the integrator's
                                implicit terms (tw_physics_forward_qacc): exact for simulated
                                episodes sampled every physics step (rig, simgen). -1 (default):
                                1 when the joint-state samples sit exactly on the model's timestep
                                (zero jitter, period = timestep, timeline at that rate), else 0 */
    int div_windows;         /* open-loop windows for the short horizons (8); 0 = no divergence */
    int video;               /* check video sync (1) */
    tw_progress_fn progress;  /* after each block: done/total timeline steps (stage "replay"); NULL: quiet */
    void *progress_user;
    tw_align_opts align;
} tw_replay_opts;
void tw_replay_opts_init(tw_replay_opts *o);

typedef struct tw_replay_summary tw_replay_summary;

/* The headline numbers of a replay as plain values (what summary.json holds, for callers that use
 * them in C: tw gap, tw sysid, tests). */
typedef struct {
    int nj, narm;                         /* joints (robot order); the first narm are arm joints */
    char joints[TW_ROBOT_MAX_JOINTS][TW_MAX_NAME];
    double rmse[TW_ROBOT_MAX_JOINTS];     /* torque residual RMS (N·m or N) over valid steps */
    double bias[TW_ROBOT_MAX_JOINTS], effort_rms[TW_ROBOT_MAX_JOINTS];
    double rel_rmse[TW_ROBOT_MAX_JOINTS]; /* rmse / effort_rms */
    double rel_rmse_all;                  /* sqrt(sum res^2) / sqrt(sum effort^2), valid steps, arm joints */
    uint64_t steps, valid_steps;
    int qacc_discrete;                    /* the derivative used */
    uint32_t sg_half;                     /* its Savitzky-Golay half window (steps), 0 with discrete */
    char qacc_reason[96];                 /* why (auto's choice, or the option that set it) */
    double gap_threshold_ms;              /* of the joint-state stream */
    double period_median_ms;              /* its measured median interval (0: not measured) */
    int effort_offset;                    /* 1: the model's teleworld_effort_offset was subtracted */
    int have_wrench;                      /* the wrench residual was measured */
    double wrench_rmse[6];                /* fx fy fz (N), tx ty tz (N·m); NaN without wrench */
    double div_q[TW_REPLAY_NHORIZONS];    /* open-loop divergence, joint position RMS (rad|m) per horizon */
    double div_ee[TW_REPLAY_NHORIZONS];   /* the same of the end effector (m); NaN when not measured */
} tw_replay_numbers;
/* The horizons' names in summary.json ("0.1", "0.5", "1", "2", "episode"). */
extern const char *const tw_replay_horizon_names[TW_REPLAY_NHORIZONS];
/* Valid while s lives. */
const tw_replay_numbers *tw_replay_summary_numbers(const tw_replay_summary *s);

/* The custom numeric a fitted model (tw sysid's fitted.xml) carries: a constant per streamed joint that
 * the torque sensor adds (an effort offset), in robot joint order.  Replay subtracts it from the
 * recorded effort.  Returns 1 and fills off[r->njoint] when the model has it, else 0 (off zeroed). */
#define TW_EFFORT_OFFSET_NUMERIC "teleworld_effort_offset"
int tw_recon_effort_offset(const tw_robot *r, double *off);
/* 1 when the joint-state stream js of an alignment looks like a simulation of r sampled at every physics
 * step (zero jitter, period = timestep = timeline step): qacc --auto is then the discrete difference. */
int tw_recon_sampled_every_step(const tw_robot *r, const tw_align_info *in, int js);
/* The automatic Savitzky-Golay half window for a timeline rate: window_ms at that rate, 2..50 steps. */
uint32_t tw_recon_auto_sg_half(double rate_hz, double window_ms);

/* Runs the whole replay of one episode directory. On success *out holds the summary (free
 * with tw_replay_summary_free) and, with out_dir, the three files are written. A partial
 * result (truncated or interrupted episode, missing video, gaps) is a success with flags. */
int tw_replay_run(const char *episode_dir, const tw_replay_opts *o, tw_replay_summary **out,
                  char *msg, size_t msgsz);
void tw_replay_summary_free(tw_replay_summary *s); /* NULL is a no-op */
/* The summary as JSON text (malloc'd; caller frees), the same text as summary.json. */
char *tw_replay_summary_json(const tw_replay_summary *s);

/* ============================================================ the row-level engine */
/* What replay and system identification share: recorded columns onto the model, aligned blocks into
 * per-row buffers with qacc, and the inverse dynamics of a row range. */
#define TW_MAX_CAMS 8
#define TW_Q_WRENCH_INVALID 0x10u /* row flag: the wrench stream had no valid value here */

/* Recorded columns <-> model joints and actuators. A plan: const once built. */
typedef struct {
    int nj;                          /* = robot->njoint; all must be recorded */
    int nrec;                        /* joints in the joint_state stream */
    int col[TW_ROBOT_MAX_JOINTS];    /* recorded column of robot joint j */
    int nact;                        /* values in the action stream (0: none) */
    int act_col[TW_ROBOT_MAX_ACT];   /* action column driving actuator a, -1 = hold at home */
    int actions_ok;                  /* action stream maps onto the actuators */
} tw_recon_map;

/* Builds the map; a mismatch is TW_EMISMATCH with both sides listed in msg. */
int tw_recon_map_build(const tw_robot *r, const tw_stream_decl *js, const tw_stream_decl *act,
                       const tw_map *map, tw_recon_map *out, char *msg, size_t msgsz);

/* Per-row buffers of one block (core rows only), joints in robot order. */
typedef struct {
    uint32_t cap, n;
    int nj;
    double *qpos, *qvel, *qacc, *effort, *tau, *res; /* [n x nj] */
    double *wrench, *wrench_model, *wrench_res;       /* [n x 6] */
    double *ee;                                       /* [n x 7] pos + quat (w x y z), world */
    double *ctrl;                                     /* [n x nu] held actions as ctrl */
    int32_t *ncon;
    uint8_t *q;                                       /* TW_Q_* union of the inputs */
    int64_t *t_ns;
    int64_t *frame;                                   /* [n x ncam] */
    int ncam, nu;
    int64_t *event;                                   /* [n] seq of the last event (held), -1 none */
    int have_event;
    int have_obj;                                     /* object_state stream present */
    double *obj;                                      /* [n x 13] pos, quat, linvel, angvel (world) */
    double *obj_acc;                                  /* [n x 6] its acceleration */
    uint8_t *obj_ok;                                  /* [n] 1: the row's object state is valid; 2: it was
                                                         not, the row holds the last valid one (or home) */
} tw_recon_rows;
int tw_recon_rows_alloc(tw_recon_rows *rw, uint32_t cap, int nj, int nu, int ncam);
void tw_recon_rows_free(tw_recon_rows *rw);

/* Which aligned streams feed the rows, and how qacc is made (a plan: const during the pass, but for
 * obj_hold, carried from block to block). */
typedef struct {
    const tw_recon_map *map;
    int js, wr, act, obj, ev;        /* indices into the alignment's streams, -1 = none */
    int cam[TW_MAX_CAMS], ncam;
    int qacc_discrete;
    uint32_t sg_half;
    double dt;                       /* timeline step, s */
    double home_ctrl[TW_ROBOT_MAX_ACT]; /* control of actuators no action drives */
    /* The object state a row without a valid one gets: the last valid one before it, the home state
     * before any. Set in row order here, so a row's object never depends on which thread, with what its
     * mjData last held, reconstructs it. */
    double obj_hold[13];
} tw_recon_fill_ctx;
/* Aligned block -> the block's core rows in robot joint order, with qacc (tw_recon_fill.c). */
void tw_recon_fill(tw_recon_fill_ctx *c, const tw_align_block *b, tw_recon_rows *rw);

/* Sets the free object's state of row i into d (valid or held; acceleration zero when held). */
void tw_recon_set_object(const tw_robot *r, mjData *d, const tw_recon_rows *rw, uint32_t i, int with_acc);
/* Reconstructs rows [r0, r1): sets qpos/qvel, position+velocity stages, qacc, mj_inverse;
 * fills tau, wrench_model, ee, ncon. d is this thread's own mjData (home state elsewhere).
 * With qacc_discrete, rw->qacc holds (qvel[k+1]-qvel[k])/h and is turned into the forward-pass
 * qacc of the model's integrator first. */
void tw_recon_compute(const tw_robot *r, mjData *d, const tw_recon_rows *rw, uint32_t r0, uint32_t r1,
                      int qacc_discrete);

#endif
