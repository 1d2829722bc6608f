/* tw gap internals: the result being assembled, and the stages after training. */
#ifndef TW_GAP_INT_H
#define TW_GAP_INT_H

#include <jansson.h>

#include "tw_gap.h"
#include "tw_wm.h"

#include "tw_plan.h"

typedef struct {
    double ratio;               /* mix ratio; for finetune the sim-only pre-training (INFINITY) */
    int strategy;               /* TW_GAP_MIX, TW_GAP_FINETUNE or TW_GAP_RESIDUAL */
    char label[32];             /* "real_only", "1:4", "sim_only", "finetune" */
    char model_dir[1200];
    int budget, real_episodes;
    double headline;            /* real-test rollout joint-position RMSE at the headline horizon (rad) */
    double train_samples_per_s;
    tw_wm_eval_result ev;
    tw_wm_eval_result *seed_ev; /* seeds 1..nseed-1 (owned), or NULL: --seeds */
    int nseed;                  /* 0 or 1: seed 0 only */
    tw_plan_result *plan[TW_PLAN__TASKS]; /* closed loop: one run per trained model (owned), or NULL */
} gap_cell;

/* Trained models of a cell: one per training seed (--seeds), at least 1. */
static inline int tw_gap_cell_seeds(const gap_cell *c) { return c->nseed > 1 ? c->nseed : 1; }

/* A physics model in the closed-loop table: the nominal one, or the fitted one. */
typedef struct {
    char label[32];
    tw_perturb p;
    tw_plan_result *plan[TW_PLAN__TASKS];
} gap_physics_model;

typedef struct {
    gap_cell cells[(TW_GAP_MAX_RATIOS + 1) * TW_GAP_MAX_BUDGETS]; /* mix cells, then finetune */
    int ncells;
    char first_fused[1100];
    json_t *physics;            /* physics-gap object for gap.json (owned) */
    json_t *fit;                /* parameter -> {value, std, ...}, or NULL */
    json_t *fit_details;        /* the rest of the sysid result, or NULL */
    json_t *truth;              /* the planted perturbation (truth.json "perturbation"), or NULL */
    gap_physics_model phys[2];
    int nphys;
    tw_plan_opts plan_opts;
    int test_episodes;          /* real test episodes of the split */
    uint8_t slide[TW_WM_MAX_DIM]; /* state columns of slide joints */
} gap_result;

void tw_gap_ratio_label(double r, char *buf, size_t n);
/* The scale-free dynamics error of one domain's evaluation (see tw_gap.c). */
double tw_gap_dynamics(const tw_wm_domain_eval *d);
/* The real episodes of the fused dataset, as a JSON array of {"id", "dir"} (new reference). */
int tw_gap_real_episodes(const gap_result *g, json_t **out, char *msg, size_t msgsz);
/* Replays every real episode of the fused dataset and averages the headline numbers. */
int tw_gap_physics(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz);
/* System identification of the randomisation parameters on the real episodes. */
int tw_gap_fit(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz);
/* Training options of a gap run (seed, epochs, period, multi-step, budget, fine-tuning from init). */
void tw_gap_train_opts(const tw_gap_opts *o, int budget, const char *init, tw_wm_train_opts *to);
double tw_gap_wm_dt(const tw_gap_opts *o);
/* The residual strategy: per budget, a correction on the nominal physics pre-trained on the sim-only
 * corpus and fine-tuned on the real-only data (closed loop only). */
int tw_gap_residual(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz);
/* Whether a run has open-loop numbers (the residual's correction has none without the physics). */
int tw_gap_open_loop(const gap_cell *c);

/* Counts the real test episodes of the split; refuses fewer than o->min_test_episodes. */
int tw_gap_check_split(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz);
/* Marks the slide-joint columns of the fused state (units m, m/s) from the robot model. */
int tw_gap_slide_mask(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz);
/* Runs the planner with every model (physics nominal, fitted, and each cell's world model). */
int tw_gap_closed_loop(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz);
/* Intervals: the open-loop errors over real test episodes; the closed-loop table; comparisons. */
json_t *tw_gap_stats_json(const tw_gap_opts *o, const gap_result *g);
json_t *tw_gap_closed_json(const tw_gap_opts *o, const gap_result *g);
void tw_gap_closed_html(FILE *f, const tw_gap_opts *o, const gap_result *g);
void tw_gap_stats_html(FILE *f, const tw_gap_opts *o, const gap_result *g);

int tw_gap_write_json(const tw_gap_opts *o, const gap_result *g, char *msg, size_t msgsz);
int tw_gap_write_html(const tw_gap_opts *o, const gap_result *g, char *msg, size_t msgsz);
void tw_gap_result_free(gap_result *g);

#endif
