/* Bootstrap intervals (schemas/gap.md, Statistics) and the JSON of a closed-loop run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_plan.h"

#define RESAMPLES 2000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The 95 % percentile interval of n bootstrap means (sorted here). */
static void percentiles(double *mu, int n, tw_ci *out)
{
    qsort(mu, (size_t)n, sizeof(double), cmp_double);
    out->lo = mu[(int)(0.025 * n)];
    out->hi = mu[(int)(0.975 * n) - 1 > 0 ? (int)(0.975 * n) - 1 : 0];
}

/* Percentile bootstrap of the mean of v (NaNs dropped). */
void tw_ci_bootstrap(const double *v, int n, uint64_t seed, tw_ci *out)
{
    double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *mu = malloc(sizeof(double) * RESAMPLES);
    int m = 0;
    for (int i = 0; i < n && x; i++)
        if (isfinite(v[i]))
            x[m++] = v[i];
    out->n = m;
    out->mean = out->lo = out->hi = NAN;
    if (m && x && mu) {
        double s = 0;
        for (int i = 0; i < m; i++)
            s += x[i];
        out->mean = s / m;
        tw_rng r;
        tw_rng_seed2(&r, seed, 0xb0075ull);
        for (int b = 0; b < RESAMPLES; b++) {
            double t = 0;
            for (int i = 0; i < m; i++)
                t += x[tw_rng_u64(&r) % (uint64_t)m];
            mu[b] = t / m;
        }
        percentiles(mu, RESAMPLES, out);
    }
    free(x);
    free(mu);
}

/* Crossed seeds x episodes (K > 1): every resample draws K training seeds and n test episodes with replacement
 * (one draw of episodes shared by all seeds, since every model is tested on the same episodes) and takes
 * the mean of v over the drawn grid; the interval carries the spread between trained models and between
 * episodes. v is K x n row-major; NaNs are skipped. */
void tw_ci_bootstrap_seeds(const double *v, int K, int n, uint64_t seed, tw_ci *out)
{
    if (K <= 1) { /* one seed: the one-level bootstrap over episodes, the same numbers as without seeds */
        tw_ci_bootstrap(v, n, seed, out);
        return;
    }
    double *mu = malloc(sizeof(double) * RESAMPLES), s = 0;
    int m = 0;
    for (int i = 0; i < K * n; i++)
        if (isfinite(v[i])) {
            s += v[i];
            m++;
        }
    out->n = m;
    out->mean = m ? s / m : NAN;
    out->lo = out->hi = NAN;
    if (!m || !mu) {
        free(mu);
        return;
    }
    int *ks = malloc(sizeof(int) * (size_t)K), *is = malloc(sizeof(int) * (size_t)n);
    tw_rng r;
    tw_rng_seed2(&r, seed, 0xb0076ull);
    int nb = 0;
    for (int b = 0; b < RESAMPLES && ks && is; b++) {
        for (int k = 0; k < K; k++)
            ks[k] = (int)(tw_rng_u64(&r) % (uint64_t)K);
        for (int i = 0; i < n; i++)
            is[i] = (int)(tw_rng_u64(&r) % (uint64_t)n);
        double t = 0;
        int c = 0;
        for (int k = 0; k < K; k++)
            for (int i = 0; i < n; i++) {
                double x = v[(size_t)ks[k] * n + is[i]];
                if (isfinite(x)) {
                    t += x;
                    c++;
                }
            }
        if (c)
            mu[nb++] = t / c;
    }
    free(ks);
    free(is);
    if (!nb) {
        free(mu);
        return;
    }
    percentiles(mu, nb, out);
    free(mu);
}

int tw_ci_significant(const tw_ci *c) { return isfinite(c->lo) && isfinite(c->hi) && (c->lo > 0 || c->hi < 0); }

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *tw_ci_json(const tw_ci *c)
{
    return json_pack("{s:o,s:o,s:o,s:i}", "mean", num(c->mean), "lo", num(c->lo), "hi", num(c->hi), "n", c->n);
}

static json_t *darr(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, num(v[i]));
    return a;
}

/* One metric of K runs as a K x n grid (row k: run k's episodes). */
double tw_plan_metric(const tw_plan_result *r, tw_plan_metric_id k, int e)
{
    return k == TW_PLAN_SUCCESS     ? r->success[e]
           : k == TW_PLAN_FINAL_ERR ? r->final_err[e]
           : k == TW_PLAN_TRACK_ERR ? r->track_err[e]
                                    : r->spread[e];
}

static void grid(const tw_plan_result *r, int K, int metric, double *v)
{
    int n = r[0].episodes;
    for (int k = 0; k < K; k++)
        for (int e = 0; e < n; e++)
            v[(size_t)k * n + e] = tw_plan_metric(&r[k], (tw_plan_metric_id)metric, e);
}

/* {"success", "final_error_m", "tracking_error_m"}: per episode, the mean over the K runs. */
static json_t *per_episode(const tw_plan_result *r, int K)
{
    static const char *const keys[3] = {"success", "final_error_m", "tracking_error_m"};
    int n = r[0].episodes;
    double v[TW_PLAN_MAX_MEMBERS * TW_PLAN_MAX_EPISODES], m[TW_PLAN_MAX_EPISODES];
    json_t *per = json_object();
    for (int k = 0; k < 3; k++) {
        grid(r, K, k, v);
        for (int e = 0; e < n; e++) {
            double s = 0;
            for (int i = 0; i < K; i++)
                s += v[(size_t)i * n + e];
            m[e] = s / K;
        }
        json_object_set_new(per, keys[k], darr(m, n));
    }
    return per;
}

json_t *tw_plan_result_json(const tw_plan_result *r, int K, const tw_plan_opts *o)
{
    int n = r[0].episodes;
    double v[TW_PLAN_MAX_MEMBERS * TW_PLAN_MAX_EPISODES], plan_s = 0, eps = 0;
    tw_ci ci[4];
    for (int k = 0; k < 4; k++) {
        grid(r, K, k, v);
        tw_ci_bootstrap_seeds(v, K, n, o->seed, &ci[k]);
    }
    json_int_t evals = 0;
    for (int k = 0; k < K; k++) {
        plan_s += r[k].plan_s / K;
        eps += r[k].evals_per_s / K;
        evals += (json_int_t)r[k].evals;
    }
    json_t *j = json_pack("{s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o}", "task", tw_plan_task_names[o->task], "episodes", n,
                          "success_rate", tw_ci_json(&ci[0]), "final_error_m", tw_ci_json(&ci[1]), "tracking_error_m",
                          tw_ci_json(&ci[2]), "spread_m", tw_ci_json(&ci[3]), "plan_ms", num(1000 * plan_s),
                          "evals_per_s", num(eps), "evals", evals, "per_episode", per_episode(r, K));
    if (K > 1) { /* one trained model per seed, each on the same episodes */
        json_t *ps = json_array();
        for (int k = 0; k < K; k++)
            json_array_append_new(ps, per_episode(r + k, 1));
        json_object_set_new(j, "seeds", json_integer(K));
        json_object_set_new(j, "per_seed", ps);
    }
    return j;
}

int tw_plan_perturb_load(const char *arg, tw_perturb *out, char *msg, size_t msgsz)
{
    tw_perturb_none(out);
    size_t n = strlen(arg);
    if (n < 5 || strcmp(arg + n - 5, ".json"))
        return tw_perturb_parse(arg, out, msg, msgsz);
    json_error_t err;
    json_t *j = json_load_file(arg, 0, &err);
    if (!j)
        return tw_errf(msg, msgsz, TW_EIO, "%s: %s (line %d)", arg, err.text, err.line);
    json_t *p = json_object_get(j, "perturbation");
    int rc = p ? tw_perturb_from_json(p, out, msg, msgsz)
               : tw_errf(msg, msgsz, TW_ESCHEMA, "%s: no \"perturbation\" object (a tw rig --truth file?)", arg);
    json_decref(j);
    return rc;
}
