/* Internal to the reconstruction library (replay/recon). */
#ifndef TW_RECON_INT_H
#define TW_RECON_INT_H

#include <mujoco/mujoco.h>

#include "tw_sim.h"
#include "tw_recon.h"

#define TW_SERIES_BINS 400 /* points per plotted time series (bounded, whatever the length) */

/* ---- open-loop divergence (tw_recon_diverge.c) ---- */
typedef struct tw_diverge tw_diverge;
/* Horizons are TW_REPLAY_NHORIZONS: 0.1, 0.5, 1, 2 s and the whole episode. */
int tw_diverge_new(const tw_robot *r, const tw_recon_map *map, uint64_t nsteps, double rate_hz,
                   int windows, tw_diverge **out, char *msg, size_t msgsz);
void tw_diverge_free(tw_diverge *dv);
/* The rollouts are fed block by block (timeline steps first..first+n-1, blocks in order), in
 * three parts so that they can run on several threads with the same result:
 *   plan (one thread): starts the windows that begin in the block (an mjData each, reused once a
 *     window ends); returns the number of rollout tasks for the block, or a tw_err;
 *   task t for each t < that number: advances one rollout through the block; tasks touch only
 *     their own rollout, so different tasks may run at once on different threads;
 *   merge (one thread, after all tasks): sums the errors step by step in rollout order.
 * rw must stay unchanged from plan to merge. */
int tw_diverge_plan(tw_diverge *dv, const tw_recon_rows *rw, uint64_t first, char *msg, size_t msgsz);
void tw_diverge_task(tw_diverge *dv, int t);
void tw_diverge_merge(tw_diverge *dv);
/* Pooled RMS over windows: joint position (rad) and end-effector position (m); NaN when a
 * horizon had no window (episode too short). */
void tw_diverge_result(const tw_diverge *dv, double q_rmse[TW_REPLAY_NHORIZONS],
                       double ee_rmse[TW_REPLAY_NHORIZONS], int *nwindows);
extern const double tw_horizons_s[TW_REPLAY_NHORIZONS - 1];

/* ---- residual statistics and plotted series (tw_residual.c) ---- */
typedef struct {
    int nj, have_wrench;
    uint64_t n;                                  /* valid steps */
    double sum_res[TW_ROBOT_MAX_JOINTS], sum_res2[TW_ROBOT_MAX_JOINTS], sum_eff2[TW_ROBOT_MAX_JOINTS];
    double sum_rv[TW_ROBOT_MAX_JOINTS], sum_v2[TW_ROBOT_MAX_JOINTS]; /* residual x qvel, qvel^2 */
    double wsum[6], wsum2[6];
    uint64_t wn;
    /* series: bin b covers steps [b*per, (b+1)*per) */
    uint64_t per;
    uint32_t nbins;
    double *s_eff, *s_tau, *s_res;               /* [nbins x nj] means */
    uint32_t *s_cnt;
} tw_residual;
int tw_residual_init(tw_residual *rs, int nj, int have_wrench, uint64_t nsteps);
void tw_residual_free(tw_residual *rs);
void tw_residual_add(tw_residual *rs, const tw_recon_rows *rw, uint64_t first);

/* ---- video sync (tw_recon_video.c) ---- */
typedef struct {
    char name[TW_MAX_NAME];
    int checked, unreadable;  /* frames whose number was read / could not be read */
    double offset_frames;     /* median (painted number - expected from the index), NaN if none */
    int ok;                   /* 1 when a measurement exists */
    char note[512];
} tw_vsync;
/* Decodes the camera file of episode stream si and compares painted frame numbers with the
 * index. Never fails the replay: problems are reported in *out. */
void tw_vsync_check(const tw_episode *e, size_t si, int max_frames, tw_vsync *out);

/* ---- the summary ---- */
struct tw_replay_summary {
    char episode_id[TW_MAX_NAME], status[16], model[4096], domain[16]; /* model: a path, PATH_MAX */
    int partial;
    char flags[16][32];
    int nflags;
    int nj;
    char joints[TW_ROBOT_MAX_JOINTS][TW_MAX_NAME];
    double rmse[TW_ROBOT_MAX_JOINTS], bias[TW_ROBOT_MAX_JOINTS], effort_rms[TW_ROBOT_MAX_JOINTS];
    double damping[TW_ROBOT_MAX_JOINTS]; /* least-squares slope of residual on qvel (N·m·s/rad) */
    int have_wrench;
    double wrench_rmse[6], wrench_bias[6];
    double div_q[TW_REPLAY_NHORIZONS], div_ee[TW_REPLAY_NHORIZONS];
    int div_windows;
    tw_align_info align;      /* streams' stats, clock, timeline (decl pointers not valid after) */
    char stream_names[TW_ALIGN_MAX_STREAMS][TW_MAX_NAME];
    char stream_kinds[TW_ALIGN_MAX_STREAMS][16];
    uint64_t steps, valid_steps, gaps;
    double duration_s;
    int ncam;
    tw_vsync vsync[TW_MAX_CAMS];
    double wall_s, model_load_s, steps_per_s; /* steps_per_s excludes the model load */
    int qacc_discrete;        /* the differentiator used (after auto) */
    int threads;
    tw_residual series;       /* plotted series (owned) */
    tw_replay_numbers num;    /* the public numbers (filled at the end) */
};

void tw_summary_flag(tw_replay_summary *s, const char *flag);
/* report.html with inline SVG (tw_report_html.c). */
int tw_report_html_write(const tw_replay_summary *s, const char *path, char *msg, size_t msgsz);

/* ---- aligned.h5 (tw_aligned_h5.c) ---- */
typedef struct tw_aligned_h5 tw_aligned_h5;
int tw_aligned_h5_create(const char *path, const tw_replay_summary *s, const tw_recon_rows *shape,
                         tw_aligned_h5 **out, char *msg, size_t msgsz);
int tw_aligned_h5_append(tw_aligned_h5 *h, const tw_recon_rows *rw, char *msg, size_t msgsz);
/* The event table: seq, recorder-clock time and payload text of each event. */
int tw_aligned_h5_events(tw_aligned_h5 *h, size_t n, const uint64_t *seq, const int64_t *t_ns,
                         const char *const *text, char *msg, size_t msgsz);
/* Writes the summary attributes and closes (also on error paths: pass s = NULL to just close). */
int tw_aligned_h5_close(tw_aligned_h5 *h, const tw_replay_summary *s, char *msg, size_t msgsz);

#endif
