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
    uint32_t sg_half;        /* Savitzky-Golay half window for qacc, in steps (2) */
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
