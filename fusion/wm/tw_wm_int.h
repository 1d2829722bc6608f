/* World-model internals shared by training and evaluation. */
#ifndef TW_WM_INT_H
#define TW_WM_INT_H

#include "tw_mlp.h"
#include "tw_wm.h"

typedef struct {
    tw_fused_info fi; /* dims and normalisation */
    tw_mlp *mlp;
    int hidden, layers;
    int steps;        /* timeline steps per prediction (--dt); fi.rate_hz is the data's timeline rate */
} tw_wm_model;

/* Pairs action j with the j-th joint-position column (fi->ntrack, fi->track_pos). */
void tw_wm_tracking_pairs(tw_fused_info *fi);
/* Mean and std of the tracking errors over n rows (sets fi->track_mean/std). */
void tw_wm_tracking_stats(tw_fused_info *fi, const float *state, const float *action, size_t n);
/* Network inputs per sample: S + A + ntrack. */
int tw_wm_nin(const tw_fused_info *fi);
/* Normalised network input of sample rows:
 * X[b] = [(s - mean)/std, (a - mean)/std, (a_j - s_pos(j) - mean)/std for the tracking pairs]. */
void tw_wm_inputs(const tw_fused_info *fi, const float *state, const float *action, int B, float *X);
/* Normalised target: (next - state - delta_mean) / delta_std. */
void tw_wm_targets(const tw_fused_info *fi, const float *state, const float *next, int B, float *T);
/* Predicted next state from the network output Y (normalised delta). */
void tw_wm_apply(const tw_fused_info *fi, const float *state, const float *Y, int B, float *next);

/* Mean and std of the one-prediction deltas over n rows (sets fi->delta_mean/std; used when a
 * prediction spans several timeline steps, whose deltas the manifest's statistics do not describe). */
void tw_wm_delta_stats(tw_fused_info *fi, const float *state, const float *next, size_t n);

int tw_wm_model_save(const tw_wm_model *m, const char *dir, const char *train_json, char *msg, size_t msgsz);
int tw_wm_model_load(const char *dir, int max_batch, tw_wm_model *m, char *msg, size_t msgsz);
void tw_wm_model_free(tw_wm_model *m);

#endif
