/* tw gap: the sim-to-real evaluation — for each mix ratio and real-data budget fuse, train and
 * evaluate a world model on held-out real episodes, next to the physics gap from replay, and
 * optionally fit the randomisation parameters to the real episodes (system identification). */
#ifndef TW_GAP_H
#define TW_GAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tw_core.h"

#define TW_GAP_MAX_RATIOS 8
#define TW_GAP_MAX_BUDGETS 4
#define TW_GAP_MAX_REAL 64
#define TW_GAP_MAX_SEEDS 8
#define TW_GAP_MIN_TEST_EPISODES 3 /* default: fewer real test episodes give no interval worth the name */

/* How sim data is used (schemas/gap.md, Strategies). */
enum { TW_GAP_MIX = 1, TW_GAP_FINETUNE = 2, TW_GAP_RESIDUAL = 4 };

typedef struct {
    const char *real[TW_GAP_MAX_REAL]; /* recorded episode folders or folders of episodes */
    size_t nreal;
    const char *randomize_path;        /* simgen spec */
    const char *model_path;            /* nominal robot model */
    const char *out_dir;
    double ratios[TW_GAP_MAX_RATIOS];  /* sim per real; 0 = real only, INFINITY = sim only */
    int nratios;
    int budgets[TW_GAP_MAX_BUDGETS];   /* real train episodes; 0 = all */
    int nbudgets;
    uint32_t sim_episodes;
    double sim_duration_s;
    double split[3];
    uint64_t seed;
    int epochs;
    uint64_t epoch_samples;            /* samples per training epoch (bounds the run time) */
    double eval_horizon_s;             /* horizon of the headline real-test error */
    int fit;                           /* also run system identification */
    int qacc;                          /* replay's derivative: 0 auto, 1 sg, 2 discrete (tw replay --qacc) */
    uint32_t sg_half;                  /* tw replay --sg-half (0 = auto) */
    double gap_ms;                     /* tw replay --gap-ms (0 = 3 x measured median interval) */
    int strategies;                    /* TW_GAP_MIX | TW_GAP_FINETUNE (default MIX) */
    int min_test_episodes;             /* refuse a split with fewer real test episodes */
    double dt;                         /* world-model period, s; 0: one timeline step (closed loop: 0.04) */
    int rollout_steps;                 /* world-model multi-step training (tw wm train --rollout-steps) */
    int closed_loop;                   /* also plan with every model on the truth's robot */
    const char *truth_path;            /* tw rig --truth file: the planted perturbation */
    int plan_episodes;                 /* closed-loop episodes per task and model */
    int plan_samples;                  /* CEM samples per iteration; 0: the planner's default */
    int seeds;                         /* training seeds per run (1..TW_GAP_MAX_SEEDS): intervals over seeds too */
    int jobs;
    tw_progress_fn progress; /* progress lines; NULL: quiet */
    void *progress_user;
} tw_gap_opts;
void tw_gap_opts_init(tw_gap_opts *o);

/* Runs everything and writes out_dir/gap.json and out_dir/gap.html (plus the intermediate
 * sim corpus, fused datasets, models and replays under out_dir). */
int tw_gap_run(const tw_gap_opts *o, char *msg, size_t msgsz);

#endif
