/* The cross-entropy method over piecewise-constant arm joint targets (schemas/model.md, Planner).
 * Every iteration rolls all samples forward together, one batched model call per control period. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_plan_cem.h"

int tw_cem_init(tw_cem *c, tw_plan_model *m, const tw_robot *r, const tw_plan_opts *o, char *msg, size_t msgsz)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->o = o;
    tw_plan_model_dims(m, &c->S, &c->A);
    if (c->A != r->m->nu || c->S != 2 * r->njoint + 7)
        return tw_errf(msg, msgsz, TW_EMISMATCH,
                       "plan: the model has state %d / action %d; the robot needs %d / %d (fused layout with ee pose)",
                       c->S, c->A, 2 * r->njoint + 7, r->m->nu);
    for (int j = 0; j < r->narm && c->nopt < TW_CEM_MAX_OPT; j++)
        if (r->jact[j] >= 0) {
            int u = r->jact[j];
            c->act[c->nopt] = u;
            c->jcol[c->nopt] = j;
            c->lo[c->nopt] = r->m->actuator_ctrllimited[u] ? r->m->actuator_ctrlrange[2 * u] : -1e9;
            c->hi[c->nopt] = r->m->actuator_ctrllimited[u] ? r->m->actuator_ctrlrange[2 * u + 1] : 1e9;
            c->nopt++;
        }
    c->dim = o->knots * c->nopt;
    size_t N = (size_t)o->samples;
    c->states = malloc(N * c->S * sizeof(float));
    c->next = malloc(N * c->S * sizeof(float));
    c->acts = malloc(N * c->A * sizeof(float));
    c->spread = malloc(N * sizeof(float));
    c->params = malloc(N * c->dim * sizeof(double));
    c->cost = malloc(N * sizeof(double));
    c->sprd = malloc(N * sizeof(double));
    c->order = malloc(N * sizeof(int));
    if (!c->states || !c->next || !c->acts || !c->spread || !c->params || !c->cost || !c->sprd || !c->order)
        return tw_errf(msg, msgsz, TW_ENOMEM, "plan: out of memory");
    return 0;
}

void tw_cem_free(tw_cem *c)
{
    free(c->states);
    free(c->next);
    free(c->acts);
    free(c->spread);
    free(c->params);
    free(c->cost);
    free(c->sprd);
    free(c->order);
}

void tw_cem_reset(tw_cem *c, const double *ctrl, uint64_t seed, uint64_t stream)
{
    tw_rng_seed2(&c->rng, seed, stream);
    for (int i = 0; i < c->dim; i++)
        c->sd[i] = c->o->init_std;
    for (int k = 0; k < c->o->knots; k++)
        for (int i = 0; i < c->nopt; i++)
            c->mean[k * c->nopt + i] = ctrl[c->act[i]];
}

/* Costs of all samples: squared end-effector distance to the target of each period, summed. */
static int rollout(tw_cem *c, const float *s0, const double *ctrl, const double (*target)[3])
{
    const tw_plan_opts *o = c->o;
    int N = o->samples, S = c->S, A = c->A, ee = S - 7;
    for (int b = 0; b < N; b++) {
        memcpy(c->states + (size_t)b * S, s0, S * sizeof(float));
        c->cost[b] = 0;
        c->sprd[b] = 0;
    }
    for (int h = 0; h < o->horizon; h++) {
        int k = h * o->knots / o->horizon;
        for (int b = 0; b < N; b++) {
            float *a = c->acts + (size_t)b * A;
            for (int u = 0; u < A; u++)
                a[u] = (float)ctrl[u];
            for (int i = 0; i < c->nopt; i++)
                a[c->act[i]] = (float)c->params[(size_t)b * c->dim + k * c->nopt + i];
        }
        int rc = tw_plan_model_step(c->m, c->states, c->acts, N, c->next, c->spread);
        if (rc)
            return rc;
        for (int b = 0; b < N; b++) {
            const float *x = c->next + (size_t)b * S;
            double e2 = 0;
            for (int d = 0; d < 3; d++)
                e2 += (x[ee + d] - target[h][d]) * (x[ee + d] - target[h][d]);
            c->cost[b] += isfinite(e2) ? e2 : 1e9;
            c->sprd[b] += c->spread[b] / o->horizon;
        }
        float *t = c->states;
        c->states = c->next;
        c->next = t;
    }
    return 0;
}

/* Sample indices by cost, ties by index (the same order every run). Insertion sort: N is small, and
 * qsort would need a global for the costs. */
static void sort_by_cost(tw_cem *c, int N)
{
    for (int b = 0; b < N; b++) {
        int i = b;
        while (i > 0 && c->cost[c->order[i - 1]] > c->cost[b])
            i--;
        memmove(c->order + i + 1, c->order + i, (size_t)(b - i) * sizeof(int));
        c->order[i] = b;
    }
}

int tw_cem_plan(tw_cem *c, const float *s0, const double *ctrl, const double (*target)[3], double *action,
                double *spread)
{
    const tw_plan_opts *o = c->o;
    int N = o->samples, E = o->elites < N ? o->elites : N;
    double sd[TW_CEM_MAX_OPT * TW_CEM_MAX_KNOTS];
    /* The spread starts from twice the last plan's (floored, capped at init_std): wide after a
     * target change, narrow while holding, so the applied action does not jitter by the sampling noise. */
    for (int i = 0; i < c->dim; i++)
        sd[i] = fmin(o->init_std, fmax(2 * c->sd[i], 0.1 * o->init_std));
    /* Joint targets stay within max_step of the measured positions: where a teleoperated robot's
     * commands lie, so a world model is asked only about actions like those it was trained on. */
    double lo[TW_CEM_MAX_OPT], hi[TW_CEM_MAX_OPT];
    for (int q = 0; q < c->nopt; q++) {
        lo[q] = fmax(c->lo[q], s0[c->jcol[q]] - o->max_step);
        hi[q] = fmin(c->hi[q], s0[c->jcol[q]] + o->max_step);
        if (lo[q] > hi[q])
            lo[q] = hi[q] = lo[q] > c->hi[q] ? c->hi[q] : c->lo[q];
    }
    for (int it = 0; it < o->iters; it++) {
        for (int b = 0; b < N; b++)
            for (int i = 0; i < c->dim; i++) {
                int q = i % c->nopt;
                double v = c->mean[i] + (b ? sd[i] * tw_rng_normal(&c->rng) : 0); /* sample 0: the incumbent */
                c->params[(size_t)b * c->dim + i] = v < lo[q] ? lo[q] : v > hi[q] ? hi[q] : v;
            }
        int rc = rollout(c, s0, ctrl, target);
        if (rc)
            return rc;
        sort_by_cost(c, N);
        for (int i = 0; i < c->dim; i++) {
            double mu = 0, var = 0;
            for (int e = 0; e < E; e++)
                mu += c->params[(size_t)c->order[e] * c->dim + i] / E;
            for (int e = 0; e < E; e++) {
                double d = c->params[(size_t)c->order[e] * c->dim + i] - mu;
                var += d * d / E;
            }
            c->mean[i] = mu;
            sd[i] = sqrt(var) + 1e-3;
        }
        *spread = c->sprd[c->order[0]];
    }
    memcpy(c->sd, sd, sizeof(double) * (size_t)c->dim);
    for (int u = 0; u < c->A; u++)
        action[u] = ctrl[u];
    for (int i = 0; i < c->nopt; i++)
        action[c->act[i]] = c->mean[i];
    /* Warm start: the next plan begins from this one shifted by one knot's worth (the later knots). */
    if (o->knots > 1)
        memmove(c->mean, c->mean + c->nopt, (size_t)(c->dim - c->nopt) * sizeof(double));
    return 0;
}
