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

void tw_ci_bootstrap_paired(const double *a, const double *b, int n, uint64_t seed, tw_ci *out)
{
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!d) {
        out->mean = out->lo = out->hi = NAN;
        out->n = 0;
        return;
    }
    for (int i = 0; i < n; i++)
        d[i] = a[i] - b[i];
    tw_ci_bootstrap(d, n, seed, out);
    free(d);
}

/* Crossed seeds x episodes: every resample draws K training seeds and n test episodes with replacement
 * (one draw of episodes shared by all seeds, since every model is tested on the same episodes) and takes
 * the mean of v over the drawn grid; the interval carries the spread between trained models and between
 * episodes. v is K x n row-major; NaNs are skipped. */
void tw_ci_bootstrap_seeds(const double *v, int K, int n, uint64_t seed, tw_ci *out)
{
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

json_t *tw_plan_result_json(const tw_plan_result *r, const tw_plan_opts *o)
{
    int n = r->episodes;
    double succ[TW_PLAN_MAX_EPISODES];
    for (int i = 0; i < n; i++)
        succ[i] = r->success[i];
    tw_ci cs, cf, ct, cp;
    tw_ci_bootstrap(succ, n, o->seed, &cs);
    tw_ci_bootstrap(r->final_err, n, o->seed, &cf);
    tw_ci_bootstrap(r->track_err, n, o->seed, &ct);
    tw_ci_bootstrap(r->spread, n, o->seed, &cp);
    json_t *per = json_pack("{s:o,s:o,s:o}", "success", darr(succ, n), "final_error_m", darr(r->final_err, n),
                            "tracking_error_m", darr(r->track_err, n));
    return json_pack("{s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o}", "task", tw_plan_task_names[o->task], "episodes", n,
                     "success_rate", tw_ci_json(&cs), "final_error_m", tw_ci_json(&cf), "tracking_error_m",
                     tw_ci_json(&ct), "spread_m", tw_ci_json(&cp), "plan_ms", num(1000 * r->plan_s), "evals_per_s",
                     num(r->evals_per_s), "evals", (json_int_t)r->evals, "per_episode", per);
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
