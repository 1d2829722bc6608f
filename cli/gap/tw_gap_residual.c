/* tw gap --strategies residual: the nominal MuJoCo model steps the state and a network learns only the
 * correction toward the recorded state (a hybrid: physics + learned gap), pre-trained on the sim corpus
 * (where the correction is the randomisation's) and fine-tuned on the real episodes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_gap_int.h"

#define CHUNK 64

/* tw_wm_train_opts.residual: next_state := state + (next_state - the planning physics' prediction), the
 * same physics (tw_plan_model_physics, nominal) the hybrid planner adds the correction to. */
static int to_residual(void *user, const tw_fused_info *fi, tw_fused_split *s, int k, char *msg, size_t msgsz)
{
    tw_plan_model *m = user;
    int S, A;
    tw_plan_model_dims(m, &S, &A);
    if (S != fi->S || A != fi->A)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "gap: residual: the data has state %d / action %d, the physics %d / %d",
                       fi->S, fi->A, S, A);
    (void)k;
    float buf[CHUNK * TW_WM_MAX_DIM];
    for (size_t i = 0; i < s->n; i += CHUNK) {
        int n = (int)(s->n - i < CHUNK ? s->n - i : CHUNK);
        int rc = tw_plan_model_step(m, s->state + i * S, s->action + i * A, n, buf, NULL);
        if (rc)
            return tw_errf(msg, msgsz, rc, "gap: residual: the physics failed on sample %zu", i);
        for (size_t r = 0; r < (size_t)n * S; r++)
            s->next_state[i * S + r] += s->state[i * S + r] - buf[r];
    }
    return 0;
}

static const gap_cell *mix_cell(const tw_gap_opts *o, const gap_result *g, int b, int sim_only)
{
    for (int i = 0; i < g->ncells; i++) {
        const gap_cell *c = &g->cells[i];
        if (c->strategy == TW_GAP_MIX && c->budget == o->budgets[b] && (sim_only ? isinf(c->ratio) : c->ratio == 0))
            return c;
    }
    return NULL;
}

static void fused_of(const gap_cell *c, char *dir, size_t n)
{
    snprintf(dir, n, "%s", c->model_dir);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
}

static int train_residual(const tw_gap_opts *o, tw_plan_model *phys, const char *fused, const char *init,
                          const char *out, int budget, char *msg, size_t msgsz)
{
    tw_wm_train_opts to;
    tw_gap_train_opts(o, budget, init, &to);
    to.residual = to_residual;
    to.residual_user = phys;
    to.residual_of = o->model_path;
    tw_wm_train_result tr;
    return tw_wm_train(fused, out, &to, &tr, msg, msgsz);
}

int tw_gap_residual(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    tw_mj_init();
    tw_robot *nominal = NULL;
    tw_plan_model *phys = NULL;
    int rc = tw_robot_load(o->model_path, &nominal, msg, msgsz);
    if (!rc)
        rc = tw_plan_model_physics(nominal, NULL, tw_gap_wm_dt(o), &phys, msg, msgsz);
    for (int b = 0; b < o->nbudgets && !rc; b++) {
        const gap_cell *sim = mix_cell(o, g, b, 1), *real = mix_cell(o, g, b, 0);
        if (!sim || !real) {
            rc = tw_errf(msg, msgsz, TW_EINVAL, "gap: --strategies residual needs the ratios 0 and inf");
            break;
        }
        char sim_fused[1200], real_fused[1200], pre[1300];
        fused_of(sim, sim_fused, sizeof sim_fused);
        fused_of(real, real_fused, sizeof real_fused);
        snprintf(pre, sizeof pre, "%.1200s/model-residual-b%d", sim_fused, o->budgets[b]);
        gap_cell *c = &g->cells[g->ncells++];
        c->ratio = INFINITY;
        c->strategy = TW_GAP_RESIDUAL;
        c->budget = o->budgets[b];
        c->headline = NAN;
        snprintf(c->label, sizeof c->label, "residual");
        snprintf(c->model_dir, sizeof c->model_dir, "%.1100s/model-residual-b%d", real_fused, c->budget);
        tw_progress_say(o->progress, o->progress_user, "gap", 0, 0,
                        "gap: residual: a correction on the nominal physics, sim corpus then real data");
        if (!(rc = train_residual(o, phys, sim_fused, NULL, pre, 0, msg, msgsz)))
            rc = train_residual(o, phys, real_fused, pre, c->model_dir, c->budget, msg, msgsz);
    }
    tw_plan_model_free(phys);
    tw_robot_close(nominal);
    return rc;
}

int tw_gap_open_loop(const gap_cell *c) { return c->strategy != TW_GAP_RESIDUAL; }
