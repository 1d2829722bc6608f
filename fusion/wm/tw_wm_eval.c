/* tw wm eval: one-step and open-loop rollout error on the test split, real and sim apart,
 * per feature group, in the dataset's original units. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_wm_int.h"

#define EVAL_BATCH 512

typedef struct {
    double sum[TW_GRP__COUNT], base[TW_GRP__COUNT]; /* squared errors: model, physics-free baseline */
    size_t cnt[TW_GRP__COUNT];
} group_acc;

/* Per-episode sums for the intervals over episodes. */
typedef struct {
    int n;
    uint32_t id[TW_WM_MAX_EVAL_EPISODES];
    double sum[TW_WM_MAX_EVAL_EPISODES], base[TW_WM_MAX_EVAL_EPISODES];
    size_t cnt[TW_WM_MAX_EVAL_EPISODES];
} ep_acc;

/* Slot of episode id (a new one while there is room), or -1. */
static int ep_slot(ep_acc *a, uint32_t id)
{
    for (int i = 0; i < a->n; i++)
        if (a->id[i] == id)
            return i;
    if (a->n == TW_WM_MAX_EVAL_EPISODES)
        return -1;
    a->id[a->n] = id;
    a->sum[a->n] = a->base[a->n] = 0;
    a->cnt[a->n] = 0;
    return a->n++;
}

/* Adds group `grp`'s errors of one prediction to episode id's sums. */
static void ep_add(ep_acc *a, uint32_t id, const group_acc *before, const group_acc *after, int grp)
{
    int k = ep_slot(a, id);
    if (k < 0)
        return;
    a->sum[k] += after->sum[grp] - before->sum[grp];
    a->base[k] += after->base[grp] - before->base[grp];
    a->cnt[k] += after->cnt[grp] - before->cnt[grp];
}

typedef struct {
    tw_wm_model *m;
    float *X, *Y, *S, *A, *N;
    int vel_of[TW_WM_MAX_DIM]; /* joint_vel column of each joint_pos column, or -1 */
    double dt;
} evaluator;

/* Pairs the i-th joint position with the i-th joint velocity when the state has as many of one as
 * of the other (fused.md: qpos then qvel, same joint order); otherwise positions are held too. */
static void velocity_map(evaluator *ev)
{
    const tw_fused_info *fi = &ev->m->fi;
    int pos[TW_WM_MAX_DIM], vel[TW_WM_MAX_DIM], np = 0, nv = 0;
    for (int j = 0; j < fi->S; j++) {
        ev->vel_of[j] = -1;
        if (fi->group[j] == TW_GRP_JOINT_POS)
            pos[np++] = j;
        else if (fi->group[j] == TW_GRP_JOINT_VEL)
            vel[nv++] = j;
    }
    if (np == nv)
        for (int i = 0; i < np; i++)
            ev->vel_of[pos[i]] = vel[i];
    ev->dt = ev->m->steps / ev->m->fi.rate_hz;
}

/* Adds the errors of `pred` (k steps after `start`) and of the physics-free baseline against `truth`. */
static void acc_add(const evaluator *ev, group_acc *g, const float *start, size_t k, const float *pred,
                    const float *truth)
{
    const tw_fused_info *fi = &ev->m->fi;
    for (int j = 0; j < fi->S; j++) {
        double e = (double)pred[j] - truth[j];
        double b = (double)start[j] - truth[j];
        if (ev->vel_of[j] >= 0)
            b += (double)k * ev->dt * start[ev->vel_of[j]];
        g->sum[fi->group[j]] += e * e;
        g->base[fi->group[j]] += b * b;
        g->cnt[fi->group[j]]++;
    }
}

static void acc_rmse(const group_acc *g, double *rmse, double *rel)
{
    for (int k = 0; k < TW_GRP__COUNT; k++) {
        rmse[k] = g->cnt[k] ? sqrt(g->sum[k] / g->cnt[k]) : NAN;
        rel[k] = g->cnt[k] && g->base[k] > 0 ? sqrt(g->sum[k] / g->base[k]) : NAN;
    }
}

/* next[B] = model(state[B], action[B]). */
static void predict(evaluator *ev, const float *state, const float *action, int B, float *next)
{
    tw_wm_inputs(&ev->m->fi, state, action, B, ev->X);
    tw_mlp_forward(ev->m->mlp, ev->X, B, ev->Y);
    tw_wm_apply(&ev->m->fi, state, ev->Y, B, next);
}

static void one_step(evaluator *ev, const tw_fused_split *d, int domain, tw_wm_domain_eval *out)
{
    const tw_fused_info *fi = &ev->m->fi;
    size_t S = (size_t)fi->S, A = (size_t)fi->A;
    group_acc g = {0};
    ep_acc ep = {0};
    int nb = 0;
    size_t rows[EVAL_BATCH];
    for (size_t i = 0; i <= d->n; i++) {
        if (i < d->n && d->domain[i] == domain) {
            memcpy(ev->S + nb * S, d->state + i * S, S * sizeof(float));
            memcpy(ev->A + nb * A, d->action + i * A, A * sizeof(float));
            rows[nb++] = i;
        }
        if (nb == EVAL_BATCH || (i == d->n && nb)) {
            predict(ev, ev->S, ev->A, nb, ev->N);
            for (int b = 0; b < nb; b++) {
                group_acc before = g;
                acc_add(ev, &g, d->state + rows[b] * S, 1, ev->N + b * S, d->next_state + rows[b] * S);
                ep_add(&ep, d->episode[rows[b]], &before, &g, TW_GRP_JOINT_VEL);
            }
            out->samples += (size_t)nb;
            nb = 0;
        }
    }
    acc_rmse(&g, out->one_step_rmse, out->one_step_rel);
    out->nep = ep.n;
    for (int i = 0; i < ep.n; i++) {
        out->ep_id[i] = ep.id[i];
        out->ep_dyn[i] = ep.base[i] > 0 ? sqrt(ep.sum[i] / ep.base[i]) : NAN;
    }
}

/* Samples i .. i+k-1 are k consecutive steps of one episode. */
static int consecutive(const tw_fused_split *d, size_t i, size_t k)
{
    if (i + k > d->n)
        return 0;
    for (size_t j = 1; j < k; j++)
        if (d->episode[i + j] != d->episode[i] || d->t[i + j] != d->t[i] + j)
            return 0;
    return 1;
}

/* Rolls a batch of start rows forward k steps on the model's own predictions. */
static void rollout_batch(evaluator *ev, const tw_fused_split *d, const size_t *starts, int nb, size_t k,
                          group_acc *g, ep_acc *ep)
{
    const tw_fused_info *fi = &ev->m->fi;
    size_t S = (size_t)fi->S, A = (size_t)fi->A;
    for (int b = 0; b < nb; b++)
        memcpy(ev->S + b * S, d->state + starts[b] * S, S * sizeof(float));
    for (size_t step = 0; step < k; step++) {
        for (int b = 0; b < nb; b++)
            memcpy(ev->A + b * A, d->action + (starts[b] + step) * A, A * sizeof(float));
        predict(ev, ev->S, ev->A, nb, ev->N);
        memcpy(ev->S, ev->N, (size_t)nb * S * sizeof(float));
    }
    for (int b = 0; b < nb; b++) {
        group_acc before = *g;
        acc_add(ev, g, d->state + starts[b] * S, k, ev->S + b * S, d->next_state + (starts[b] + k - 1) * S);
        ep_add(ep, d->episode[starts[b]], &before, g, TW_GRP_JOINT_POS);
    }
}

static void rollouts(evaluator *ev, const tw_fused_split *d, int domain, double horizon_s, size_t *count,
                     double *rmse, double *rel, tw_wm_domain_eval *out, int h)
{
    const tw_fused_info *fi = &ev->m->fi;
    double rate = fi->rate_hz / ev->m->steps; /* predictions per second */
    size_t k = (size_t)llround(horizon_s * rate), stride = (size_t)llround(0.1 * rate);
    if (k < 1)
        k = 1;
    if (stride < 1)
        stride = 1;
    group_acc g = {0};
    ep_acc ep = {0};
    size_t starts[EVAL_BATCH];
    int nb = 0;
    *count = 0;
    for (size_t i = 0; i < d->n;) {
        if (d->domain[i] == domain && consecutive(d, i, k)) {
            starts[nb++] = i;
            (*count)++;
            if (nb == EVAL_BATCH) {
                rollout_batch(ev, d, starts, nb, k, &g, &ep);
                nb = 0;
            }
            i += stride;
        } else
            i++;
    }
    if (nb)
        rollout_batch(ev, d, starts, nb, k, &g, &ep);
    acc_rmse(&g, rmse, rel);
    for (int i = 0; i < out->nep; i++) { /* in the one-step episode order */
        out->ep_rollout_pos[h][i] = NAN;
        for (int j = 0; j < ep.n; j++)
            if (ep.id[j] == out->ep_id[i] && ep.cnt[j])
                out->ep_rollout_pos[h][i] = sqrt(ep.sum[j] / ep.cnt[j]);
    }
}

int tw_wm_eval(const char *model_dir, const char *data_dir, const double *horizons_s, int nhorizons,
               const uint8_t *slide, tw_wm_eval_result *res, char *msg, size_t msgsz)
{
    memset(res, 0, sizeof *res);
    if (nhorizons < 0 || nhorizons > TW_WM_MAX_HORIZONS)
        return tw_errf(msg, msgsz, TW_EINVAL, "wm eval: at most %d horizons", TW_WM_MAX_HORIZONS);
    tw_wm_model m;
    tw_fused_info data;
    tw_fused_split test = {0};
    int rc = tw_wm_model_load(model_dir, EVAL_BATCH, &m, msg, msgsz);
    if (rc)
        return rc;
    if ((rc = tw_fused_info_load(data_dir, &data, msg, msgsz)) ||
        (rc = tw_fused_split_load(&data, "test", &test, msg, msgsz)))
        goto out;
    if (data.S != m.fi.S || data.A != m.fi.A) {
        rc = tw_errf(msg, msgsz, TW_EMISMATCH, "model %s has state %d / action %d, data %s has %d / %d", model_dir,
                     m.fi.S, m.fi.A, data_dir, data.S, data.A);
        goto out;
    }
    m.fi.rate_hz = data.rate_hz;
    if (tw_fused_split_stride(&test, &data, m.steps)) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "wm eval: out of memory cutting %d-step periods", m.steps);
        goto out;
    }
    size_t S = (size_t)m.fi.S, A = (size_t)m.fi.A;
    evaluator ev = {.m = &m,
                    .X = malloc(EVAL_BATCH * (size_t)tw_wm_nin(&m.fi) * sizeof(float)),
                    .Y = malloc(EVAL_BATCH * S * sizeof(float)),
                    .S = malloc(EVAL_BATCH * S * sizeof(float)),
                    .A = malloc(EVAL_BATCH * A * sizeof(float)),
                    .N = malloc(EVAL_BATCH * S * sizeof(float))};
    if (ev.X && ev.Y && ev.S && ev.A && ev.N) {
        velocity_map(&ev);
        for (int j = 0; slide && j < m.fi.S; j++) /* after the velocity pairing, which uses the joint groups */
            if (slide[j] && m.fi.group[j] == TW_GRP_JOINT_POS)
                m.fi.group[j] = TW_GRP_SLIDE_POS;
            else if (slide[j] && m.fi.group[j] == TW_GRP_JOINT_VEL)
                m.fi.group[j] = TW_GRP_SLIDE_VEL;
        tw_wm_domain_eval *dom[2] = {&res->real, &res->sim};
        for (int d = 0; d < 2; d++) {
            one_step(&ev, &test, d, dom[d]);
            dom[d]->nhorizons = nhorizons;
            for (int h = 0; h < nhorizons; h++) {
                dom[d]->horizon_s[h] = horizons_s[h];
                rollouts(&ev, &test, d, horizons_s[h], &dom[d]->rollouts[h], dom[d]->rollout_rmse[h],
                         dom[d]->rollout_rel[h], dom[d], h);
            }
        }
    } else
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "wm eval: out of memory");
    free(ev.X);
    free(ev.Y);
    free(ev.S);
    free(ev.A);
    free(ev.N);
out:
    tw_fused_split_free(&test);
    tw_wm_model_free(&m);
    return rc;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *groups_json(const double *v)
{
    json_t *o = json_object();
    for (int k = 0; k < TW_GRP__COUNT; k++)
        if (isfinite(v[k]))
            json_object_set_new(o, tw_wm_group_names[k], num(v[k]));
    return o;
}

json_t *tw_wm_domain_json(const tw_wm_domain_eval *d)
{
    json_t *o = json_object(), *ro = json_object(), *rel = json_object();
    json_object_set_new(o, "samples", json_integer((json_int_t)d->samples));
    json_object_set_new(o, "one_step_rmse", groups_json(d->one_step_rmse));
    json_object_set_new(rel, "one_step", groups_json(d->one_step_rel));
    for (int h = 0; h < d->nhorizons; h++) {
        char key[32];
        snprintf(key, sizeof key, "%g", d->horizon_s[h]);
        json_t *e = groups_json(d->rollout_rmse[h]);
        json_object_set_new(e, "rollouts", json_integer((json_int_t)d->rollouts[h]));
        json_object_set_new(ro, key, e);
        json_object_set_new(rel, key, groups_json(d->rollout_rel[h]));
    }
    json_object_set_new(o, "rollout_rmse", ro);
    json_object_set_new(o, "relative_rmse", rel);
    return o;
}

char *tw_wm_eval_to_json(const tw_wm_eval_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "real", tw_wm_domain_json(&r->real));
    json_object_set_new(o, "sim", tw_wm_domain_json(&r->sim));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(o);
    return s;
}
