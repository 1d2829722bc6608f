/* Batched prediction for planners: the whole batch of (state, action) rows through the MLP in one
 * sgemm per layer (tw_mlp_forward). */
#include <stdlib.h>

#include "tw_wm_int.h"

struct tw_wm {
    tw_wm_model m;
    int max_batch;
    float *X, *Y;
};

int tw_wm_open(const char *model_dir, int max_batch, tw_wm **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (max_batch < 1)
        return tw_errf(msg, msgsz, TW_EINVAL, "wm: max_batch must be >= 1");
    tw_wm *w = calloc(1, sizeof *w);
    if (!w)
        return tw_errf(msg, msgsz, TW_ENOMEM, "wm: out of memory");
    int rc = tw_wm_model_load(model_dir, max_batch, &w->m, msg, msgsz);
    if (rc) {
        free(w);
        return rc;
    }
    w->max_batch = max_batch;
    w->X = malloc((size_t)max_batch * tw_wm_nin(&w->m.fi) * sizeof(float));
    w->Y = malloc((size_t)max_batch * w->m.fi.S * sizeof(float));
    if (!w->X || !w->Y) {
        tw_wm_close(w);
        return tw_errf(msg, msgsz, TW_ENOMEM, "wm: out of memory for a batch of %d", max_batch);
    }
    *out = w;
    return 0;
}

void tw_wm_close(tw_wm *w)
{
    if (!w)
        return;
    tw_wm_model_free(&w->m);
    free(w->X);
    free(w->Y);
    free(w);
}

int tw_wm_state_dim(const tw_wm *w) { return w->m.fi.S; }
int tw_wm_action_dim(const tw_wm *w) { return w->m.fi.A; }
double tw_wm_dt(const tw_wm *w) { return w->m.steps / w->m.fi.rate_hz; }
int tw_wm_state_group(const tw_wm *w, int col)
{
    return col >= 0 && col < w->m.fi.S ? w->m.fi.group[col] : TW_GRP_OTHER;
}

int tw_wm_predict(tw_wm *w, const float *state, const float *action, int B, float *next)
{
    if (B < 1 || B > w->max_batch)
        return TW_EINVAL;
    tw_wm_inputs(&w->m.fi, state, action, B, w->X);
    int rc = tw_mlp_forward(w->m.mlp, w->X, B, w->Y);
    if (!rc)
        tw_wm_apply(&w->m.fi, state, w->Y, B, next);
    return rc;
}
