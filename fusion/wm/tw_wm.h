/* World model: an MLP that predicts the state change from (state, action), trained on a fused
 * dataset (schemas/fused.md) and saved as schemas/model.md describes. */
#ifndef TW_WM_H
#define TW_WM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tw_core.h"

#define TW_WM_FORMAT "teleworld.wm"
#define TW_WM_MAJOR 1
#define TW_WM_VERSION "1.1"
#define TW_WM_MAX_DIM 256
#define TW_WM_MAX_HORIZONS 8
#define TW_WM_MAX_EVAL_EPISODES 64

/* Feature groups of state columns (fused.md `group`). */
/* slide_pos / slide_vel: the joint columns of slide joints (m, m/s), apart from the hinges' (rad, rad/s)
 * when the evaluation is told which columns they are (tw_wm_eval `slide`); never stored in a model. */
typedef enum { TW_GRP_JOINT_POS = 0, TW_GRP_JOINT_VEL, TW_GRP_EE, TW_GRP_OTHER, TW_GRP_SLIDE_POS, TW_GRP_SLIDE_VEL,
               TW_GRP__COUNT } tw_wm_group;
extern const char *const tw_wm_group_names[TW_GRP__COUNT];

/* ---- fused dataset reader (the parts the world model needs) ---- */
typedef struct {
    size_t n;
    float *state, *action, *next_state, *weight; /* [n x S], [n x A] (first step of a window), ... */
    uint8_t *domain;
    uint32_t *episode, *t;
} tw_fused_split;

typedef struct {
    char dir[1024];
    int S, A, H;
    double rate_hz;
    uint64_t seed;
    /* Normalisation (train-split statistics), per column; std already floored. */
    double state_mean[TW_WM_MAX_DIM], state_std[TW_WM_MAX_DIM];
    double action_mean[TW_WM_MAX_DIM], action_std[TW_WM_MAX_DIM];
    double delta_mean[TW_WM_MAX_DIM], delta_std[TW_WM_MAX_DIM];
    int group[TW_WM_MAX_DIM];              /* tw_wm_group of each state column */
    char col_units[TW_WM_MAX_DIM][16];
    /* Tracking-error inputs: action j minus joint position track_pos[j] (state column), for the
     * first ntrack actions. A position servo's acceleration is set by this small difference of two
     * large inputs, which the network does not resolve on its own. Normalised with train-split
     * statistics (tw_wm_tracking_stats). */
    int ntrack;
    int track_pos[TW_WM_MAX_DIM];
    double track_mean[TW_WM_MAX_DIM], track_std[TW_WM_MAX_DIM];
} tw_fused_info;

/* Reads manifest.json (refuses another format or major version). */
int tw_fused_info_load(const char *dir, tw_fused_info *out, char *msg, size_t msgsz);
/* Loads every shard of split "train"|"val"|"test" into memory (the first step of each window). */
int tw_fused_split_load(const tw_fused_info *fi, const char *split, tw_fused_split *out, char *msg, size_t msgsz);
void tw_fused_split_free(tw_fused_split *s);
/* Re-cuts a loaded split into samples k timeline steps long (a control period of k/rate_hz s): every
 * row whose k steps are consecutive in one episode starts a period; next_state becomes the state k
 * steps later, action the mean action over the k steps (the planner holds one action per period), t
 * becomes t / k. Rows are grouped by phase (t mod k), so that within a group consecutive rows of an
 * episode are consecutive periods. k <= 1 leaves the split unchanged. TW_ENOMEM: s unchanged. */
int tw_fused_split_stride(tw_fused_split *s, const tw_fused_info *fi, int k);

/* ---- training ---- */
typedef struct {
    uint64_t seed;
    int epochs;            /* upper bound; early stopping on validation loss */
    int patience;          /* epochs without validation improvement before stopping */
    int batch;
    int hidden, layers;
    float lr;
    uint64_t samples_per_epoch; /* 0: the number of training samples */
    int real_budget;       /* train on the first N real train episodes only (0 = all); the real
                              sampling mass is kept, so the ratio still holds */
    double dt;             /* seconds per prediction (a control period); 0: one timeline step. Rounded
                              to a whole number of timeline steps (tw_fused_split_stride) */
    int rollout_steps;     /* > 1: every batch is also rolled out this many steps on the model's own
                              predictions, each step trained toward the recorded state (schemas/model.md) */
    const char *init_dir;  /* fine-tune: start from this model's weights and normalisation (same shape) */
    /* Hybrid (residual) models: called on the train and val splits once they are cut to periods, it
     * replaces next_state by state + (next_state - physics prediction), so the network learns only what
     * the physics gets wrong. residual_of names that physics in model.json. NULL: a plain model. */
    int (*residual)(void *user, const tw_fused_info *fi, tw_fused_split *s, int steps, char *msg, size_t msgsz);
    void *residual_user;
    const char *residual_of;
    tw_progress_fn progress; /* a line per epoch and the loss curve; NULL: quiet */
    void *progress_user;
} tw_wm_train_opts;
void tw_wm_train_opts_init(tw_wm_train_opts *o);

typedef struct {
    int epochs_run, best_epoch;
    double best_val_loss, final_train_loss;
    double samples_per_s;  /* training throughput over the whole run */
    uint64_t samples_seen;
    int real_episodes;     /* real train episodes used */
    int steps;             /* timeline steps per prediction */
    double epoch_s;        /* wall time per epoch */
} tw_wm_train_result;

/* Trains on fused dataset `data_dir` and writes `out_dir`/model.json + weights.f32. */
int tw_wm_train(const char *data_dir, const char *out_dir, const tw_wm_train_opts *o, tw_wm_train_result *res,
                char *msg, size_t msgsz);

/* ---- batched prediction (the planner's inner loop) ----
 * A loaded model that predicts the next state (one period of tw_wm_dt seconds) of B states under B
 * actions at once: one OpenBLAS sgemm per layer for the whole batch. */
typedef struct tw_wm tw_wm;
int tw_wm_open(const char *model_dir, int max_batch, tw_wm **out, char *msg, size_t msgsz);
void tw_wm_close(tw_wm *w); /* NULL is a no-op */
int tw_wm_state_dim(const tw_wm *w);
int tw_wm_action_dim(const tw_wm *w);
double tw_wm_dt(const tw_wm *w);                 /* seconds per prediction */
int tw_wm_state_group(const tw_wm *w, int col);  /* tw_wm_group of a state column */
/* next[B x S] from state[B x S], action[B x A]; B <= max_batch. next may not alias state. */
int tw_wm_predict(tw_wm *w, const float *state, const float *action, int B, float *next);

/* ---- evaluation ----
 * Next to each RMSE, a scale-free relative RMSE: the model's RMSE divided by the RMSE of a
 * physics-free baseline on the same samples and horizon. The baseline extrapolates the start
 * state: joint positions at constant velocity (q + k·dt·qdot, when the state carries one velocity
 * per position), every other column held constant (so joint velocities at zero acceleration).
 * 1 means "no better than knowing nothing about the dynamics"; it does not grow or shrink with how
 * much the robot moves, so it compares domains whose motions differ in size. */
typedef struct {
    size_t samples;                       /* one-step samples evaluated */
    double one_step_rmse[TW_GRP__COUNT];  /* original units, NaN when the group is absent */
    double one_step_rel[TW_GRP__COUNT];   /* relative RMSE (see above), NaN when undefined */
    int nhorizons;
    double horizon_s[TW_WM_MAX_HORIZONS];
    size_t rollouts[TW_WM_MAX_HORIZONS];  /* rollouts evaluated at that horizon */
    double rollout_rmse[TW_WM_MAX_HORIZONS][TW_GRP__COUNT];
    double rollout_rel[TW_WM_MAX_HORIZONS][TW_GRP__COUNT];
    /* Per test episode (the first TW_WM_MAX_EVAL_EPISODES, in split order), for intervals over episodes:
     * the one-step relative RMSE of joint velocities and the joint-position rollout RMSE per horizon
     * (NaN when the episode has no rollout of that length). */
    int nep;
    uint32_t ep_id[TW_WM_MAX_EVAL_EPISODES];
    double ep_dyn[TW_WM_MAX_EVAL_EPISODES];
    double ep_rollout_pos[TW_WM_MAX_HORIZONS][TW_WM_MAX_EVAL_EPISODES];
} tw_wm_domain_eval;

typedef struct {
    tw_wm_domain_eval real, sim; /* on the test split */
} tw_wm_eval_result;

/* Evaluates model_dir on data_dir's test split, real and sim separately. Horizons in seconds.
 * slide: NULL, or S flags marking the joint columns of slide joints (reported as slide_pos/slide_vel). */
int tw_wm_eval(const char *model_dir, const char *data_dir, const double *horizons_s, int nhorizons,
               const uint8_t *slide, tw_wm_eval_result *res, char *msg, size_t msgsz);
/* Writes the result as a JSON object text (malloc'd). */
char *tw_wm_eval_to_json(const tw_wm_eval_result *r);
/* One domain's result as a JSON object (new reference); the layout schemas/model.md documents. */
json_t *tw_wm_domain_json(const tw_wm_domain_eval *d);

#endif
