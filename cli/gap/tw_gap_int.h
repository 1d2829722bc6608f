/* tw gap internals: the result being assembled, and the stages after training. */
#ifndef TW_GAP_INT_H
#define TW_GAP_INT_H

#include <jansson.h>

#include "tw_gap.h"
#include "tw_wm.h"

typedef struct {
    double ratio;
    int budget, real_episodes;
    double headline;            /* real-test rollout joint-position RMSE at the headline horizon (rad) */
    double train_samples_per_s;
    tw_wm_eval_result ev;
} gap_cell;

typedef struct {
    gap_cell cells[TW_GAP_MAX_RATIOS * TW_GAP_MAX_BUDGETS];
    int ncells;
    char first_fused[1100];
    json_t *physics;            /* physics-gap object for gap.json (owned) */
    json_t *fit;                /* parameter -> {value, std, ...}, or NULL */
    json_t *fit_details;        /* the rest of the sysid result, or NULL */
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
int tw_gap_write_json(const tw_gap_opts *o, const gap_result *g, char *msg, size_t msgsz);
int tw_gap_write_html(const tw_gap_opts *o, const gap_result *g, char *msg, size_t msgsz);
void tw_gap_result_free(gap_result *g);

#endif
