/* Sysid driver: options, the search over the residual of tw_sysid_eval.c, the result.
 * Stages of a fit: check options -> weigh the data -> objective at start and nominal ->
 * Nelder-Mead -> objective at the optimum -> uncertainty. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_core.h"
#include "tw_sysid_int.h"

static const struct {
    const char *name;
    double start, lo, hi, nominal;
} tw_sysid_known[] = {
    {"damping", 1, 0.1, 10, 1},
    {"friction", 1, 0.1, 10, 1},
    {"gain", 1, 0.1, 10, 1},
    {"payload_kg", 0, 0, 5, 0},
};
#define NKNOWN (sizeof tw_sysid_known / sizeof *tw_sysid_known)

static int known_index(const char *name)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (!strcmp(tw_sysid_known[i].name, name))
            return (int)i;
    return -1;
}

void tw_sysid_opts_init(tw_sysid_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_samples = 5000;
    o->qacc = TW_SYSID_QACC_AUTO;
    o->sim_integrator = 1;
    o->sg_half = 8;
    o->w_inverse = o->w_wrench = o->w_actuator = 1;
    o->max_evals = 600;
    o->restarts = 2;
    o->xtol = 1e-6;
    tw_align_opts_init(&o->align);
}

int tw_sysid_param_default(const char *name, tw_sysid_param *out, char *msg, size_t msgsz)
{
    int i = name ? known_index(name) : -1;
    if (i < 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: cannot fit '%s' (fittable: " TW_SYSID_PARAM_NAMES ")",
                       name ? name : "(null)");
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->start = tw_sysid_known[i].start;
    out->lo = tw_sysid_known[i].lo;
    out->hi = tw_sysid_known[i].hi;
    return 0;
}

int tw_sysid_opts_add(tw_sysid_opts *o, const char *name, char *msg, size_t msgsz)
{
    if (o->nparam >= TW_SYSID_MAX_PARAMS)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: at most %d parameters", TW_SYSID_MAX_PARAMS);
    return tw_sysid_param_default(name, &o->param[o->nparam++], msg, msgsz) < 0 ? (o->nparam--, TW_EINVAL) : 0;
}

static int check_opts(const tw_sysid_opts *o, char *msg, size_t msgsz)
{
    if (o->nparam < 1 || o->nparam > TW_SYSID_MAX_PARAMS)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: fit 1 to %d parameters, not %d", TW_SYSID_MAX_PARAMS,
                       o->nparam);
    for (int k = 0; k < o->nparam; k++) {
        const tw_sysid_param *p = &o->param[k];
        int i = known_index(p->name);
        if (i < 0)
            return tw_errf(msg, msgsz, TW_EINVAL, "sysid: cannot fit '%s' (fittable: " TW_SYSID_PARAM_NAMES ")",
                           p->name);
        for (int q = 0; q < k; q++)
            if (!strcmp(o->param[q].name, p->name))
                return tw_errf(msg, msgsz, TW_EINVAL, "sysid: parameter '%s' given twice", p->name);
        int scale = tw_sysid_known[i].nominal == 1;
        if (!(p->lo < p->hi) || !(p->lo <= p->start && p->start <= p->hi) || (scale ? p->lo <= 0 : p->lo < 0) ||
            p->hi > 100)
            return tw_errf(msg, msgsz, TW_EINVAL, "sysid: %s: need %s lo <= start <= hi <= 100 and lo < hi, got "
                           "lo %g start %g hi %g", p->name, scale ? "0 <" : "0 <=", p->lo, p->start, p->hi);
    }
    if (!(o->w_inverse >= 0 && o->w_wrench >= 0 && o->w_actuator >= 0) || !(o->latency_ms >= 0) ||
        !(o->latency_max_ms >= 0) ||
        o->max_evals < 1 || o->restarts < 0 || !(o->xtol > 0))
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: weights and latency must be >= 0, max_evals >= 1, "
                       "restarts >= 0, xtol > 0");
    return 0;
}

/* ---- the search ---- */

typedef struct {
    tw_sysid_ctx *c;
    double *r;           /* [n x nch] scratch */
    char msg[512];
    int reported;        /* evaluations at the last progress line */
} search_t;

static void to_theta(const tw_sysid_opts *o, const double *u, double *theta)
{
    for (int k = 0; k < o->nparam; k++)
        theta[k] = o->param[k].lo + u[k] * (o->param[k].hi - o->param[k].lo);
}

static double search_f(void *ctx, const double *u)
{
    search_t *S = ctx;
    if (S->c->err)
        return INFINITY; /* an earlier evaluation failed: finish quickly */
    double theta[TW_SYSID_MAX_PARAMS];
    to_theta(S->c->o, u, theta);
    int rc = tw_sysid_residual(S->c, theta, S->r, S->msg, sizeof S->msg);
    if (rc < 0) {
        S->c->err = rc;
        snprintf(S->c->errmsg, sizeof S->c->errmsg, "%s", S->msg);
        return INFINITY;
    }
    return tw_sysid_objective(S->c, S->r, NULL);
}

static void search_iter(void *ctx, int it, int ev, double fbest, const double *ubest)
{
    search_t *S = ctx;
    const tw_sysid_opts *o = S->c->o;
    if (!o->progress || ev / 50 == S->reported / 50)
        return; /* a line per 50 evaluations is enough to see it move */
    S->reported = ev;
    double theta[TW_SYSID_MAX_PARAMS];
    to_theta(o, ubest, theta);
    char line[512];
    int len = snprintf(line, sizeof line, "sysid: %d evaluations, objective %.6g, theta", ev, fbest);
    for (int k = 0; k < o->nparam && len > 0 && (size_t)len < sizeof line; k++)
        len += snprintf(line + len, sizeof line - (size_t)len, " %.4g", theta[k]);
    tw_progress_say(o->progress, o->progress_user, "sysid", (uint64_t)ev, (uint64_t)o->max_evals, "%s", line);
    (void)it;
}

/* Objective and block RMS at theta. */
static int objective_at(search_t *S, const double *theta, double *f, double rms[TW_SYSID_NBLOCK], char *msg,
                        size_t msgsz)
{
    int rc = tw_sysid_residual(S->c, theta, S->r, msg, msgsz);
    if (rc == 0)
        *f = tw_sysid_objective(S->c, S->r, rms);
    return rc;
}

static void result_fill(const tw_sysid_ctx *c, const double *theta, const double *std, tw_sysid_result *res)
{
    const tw_sysid_opts *o = c->o;
    res->nparam = o->nparam;
    for (int k = 0; k < o->nparam; k++) {
        tw_sysid_estimate *e = &res->p[k];
        const tw_sysid_param *pa = &o->param[k];
        snprintf(e->name, sizeof e->name, "%s", pa->name);
        e->value = theta[k];
        e->std = std[k];
        e->start = pa->start;
        e->lo = pa->lo;
        e->hi = pa->hi;
        double tol = 1e-4 * (pa->hi - pa->lo);
        e->at_bound = theta[k] <= pa->lo + tol || theta[k] >= pa->hi - tol;
    }
    res->latency_ms = o->latency_ms;
    res->samples = c->sd->n;
    res->episodes = c->sd->nsegments;
    res->qacc_discrete = c->sd->n_discrete;
    res->qacc_sg = c->sd->n_sg;
    for (size_t i = 0; i < c->sd->n; i++)
        res->samples_contact += c->sd->contact[i];
}

static int search(search_t *S, tw_sysid_result *res, char *msg, size_t msgsz)
{
    tw_sysid_ctx *c = S->c;
    const tw_sysid_opts *o = c->o;
    int p = o->nparam;
    double u[TW_SYSID_MAX_PARAMS], theta[TW_SYSID_MAX_PARAMS], nom[TW_SYSID_MAX_PARAMS], std[TW_SYSID_MAX_PARAMS];
    double rms[TW_SYSID_NBLOCK];
    for (int k = 0; k < p; k++) {
        u[k] = (o->param[k].start - o->param[k].lo) / (o->param[k].hi - o->param[k].lo);
        nom[k] = tw_sysid_known[known_index(o->param[k].name)].nominal;
    }
    int rc = objective_at(S, nom, &res->objective_nominal, rms, msg, msgsz);
    if (rc < 0)
        return rc;
    res->rms_actuator_nominal = rms[TW_SYSID_B_ACT];
    res->rms_inverse_nominal = rms[TW_SYSID_B_INV];
    res->rms_wrench_nominal = rms[TW_SYSID_B_WR];
    for (int k = 0; k < p; k++)
        theta[k] = o->param[k].start;
    if ((rc = objective_at(S, theta, &res->objective_start, NULL, msg, msgsz)) < 0)
        return rc;
    tw_nm_opts no = {.step = 0.1, .xtol = o->xtol, .max_evals = o->max_evals, .restarts = o->restarts,
                     .on_iter = search_iter};
    tw_nm_stats st;
    tw_nm_minimize(search_f, S, p, u, &no, &st);
    if (c->err)
        return tw_errf(msg, msgsz, c->err, "%s", c->errmsg);
    res->iterations = st.iterations;
    res->restarts = st.restarts;
    to_theta(o, u, theta);
    if ((rc = objective_at(S, theta, &res->objective, rms, msg, msgsz)) < 0)
        return rc;
    res->rms_actuator = rms[TW_SYSID_B_ACT];
    res->rms_inverse = rms[TW_SYSID_B_INV];
    res->rms_wrench = rms[TW_SYSID_B_WR];
    if ((rc = tw_sysid_uncertainty(c, theta, std, &res->hac_lags, msg, msgsz)) < 0)
        return rc;
    res->evaluations = c->evals;
    result_fill(c, theta, std, res);
    return 0;
}

int tw_sysid_fit_data(const tw_robot *nominal, const tw_sysid_data *sd, const tw_sysid_opts *o,
                      tw_sysid_result *res, char *msg, size_t msgsz)
{
    memset(res, 0, sizeof *res);
    double t0 = tw_mono_s();
    int rc = check_opts(o, msg, msgsz);
    if (rc < 0)
        return rc;
    if (!sd || sd->n == 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: no data to fit on");
    if (sd->nominal != nominal)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: the data was made for another robot");
    tw_sysid_ctx c;
    search_t S = {.c = &c};
    rc = tw_sysid_ctx_init(&c, nominal, sd, o, msg, msgsz);
    if (rc == 0 && !(S.r = malloc(sd->n * (size_t)c.nch * sizeof(double))))
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "sysid: no memory for the residual of %zu samples", sd->n);
    if (rc == 0)
        rc = search(&S, res, msg, msgsz);
    free(S.r);
    tw_sysid_ctx_free(&c);
    res->wall_s = tw_mono_s() - t0;
    return rc;
}

int tw_sysid_fit(const char *const *episode_dirs, size_t ndirs, const tw_sysid_opts *o, tw_sysid_result *res,
                 char *msg, size_t msgsz)
{
    memset(res, 0, sizeof *res);
    tw_mj_init();
    int rc = check_opts(o, msg, msgsz);
    if (rc < 0)
        return rc;
    if (ndirs == 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: no episode to fit on");
    double t0 = tw_mono_s(), step_ms = 0;
    tw_robot *r = NULL;
    tw_sysid_data *sd = NULL;
    tw_sysid_opts o2 = *o; /* with the latency found by the search */
    rc = tw_robot_load(o->model_path, &r, msg, msgsz);
    if (rc == 0 && o->latency_max_ms > 0)
        rc = tw_sysid_latency_search(r, episode_dirs, ndirs, o, &o2.latency_ms, &step_ms, msg, msgsz);
    if (rc == 0)
        rc = tw_sysid_data_new(r, o->sim_integrator, &sd, msg, msgsz);
    for (size_t i = 0; rc == 0 && i < ndirs; i++)
        rc = tw_sysid_data_add_episode(sd, episode_dirs[i], &o2, (int)i, msg, msgsz);
    if (rc == 0)
        rc = tw_sysid_fit_data(r, sd, &o2, res, msg, msgsz);
    res->latency_ms = o2.latency_ms;
    res->latency_searched = o->latency_max_ms > 0;
    res->latency_step_ms = step_ms;
    tw_sysid_data_free(sd);
    tw_robot_close(r);
    res->wall_s = tw_mono_s() - t0;
    return rc;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *tw_sysid_result_json(const tw_sysid_result *r)
{
    json_t *root = json_object(), *fit = json_object();
    for (int k = 0; k < r->nparam; k++) {
        const tw_sysid_estimate *e = &r->p[k];
        json_object_set_new(fit, e->name, json_pack("{s:o,s:o,s:f,s:f,s:f,s:b}", "value", num(e->value), "std",
                                                    num(e->std), "start", e->start, "lo", e->lo, "hi", e->hi,
                                                    "at_bound", e->at_bound));
    }
    json_object_set_new(root, "fit", fit);
    json_object_set_new(root, "method", json_string("nelder-mead on the replay residual (inverse dynamics, F/T, "
                                                    "actuator); std: Gauss-Newton sandwich, Newey-West HAC"));
    json_object_set_new(root, "objective", num(r->objective));
    json_object_set_new(root, "objective_nominal", num(r->objective_nominal));
    json_object_set_new(root, "objective_start", num(r->objective_start));
    json_object_set_new(root, "residual_rms", json_pack("{s:o,s:o,s:o}", "inverse", num(r->rms_inverse), "wrench",
                                                        num(r->rms_wrench), "actuator", num(r->rms_actuator)));
    json_object_set_new(root, "residual_rms_nominal",
                        json_pack("{s:o,s:o,s:o}", "inverse", num(r->rms_inverse_nominal), "wrench",
                                  num(r->rms_wrench_nominal), "actuator", num(r->rms_actuator_nominal)));
    json_object_set_new(root, "iterations", json_integer(r->iterations));
    json_object_set_new(root, "evaluations", json_integer(r->evaluations));
    json_object_set_new(root, "restarts", json_integer(r->restarts));
    json_object_set_new(root, "episodes", json_integer(r->episodes));
    json_object_set_new(root, "qacc", json_pack("{s:i,s:i}", "discrete", r->qacc_discrete, "smoothed", r->qacc_sg));
    json_object_set_new(root, "samples", json_integer((json_int_t)r->samples));
    json_object_set_new(root, "samples_contact", json_integer((json_int_t)r->samples_contact));
    json_object_set_new(root, "hac_lags", json_integer(r->hac_lags));
    json_object_set_new(root, "latency_ms", json_pack("{s:f,s:b,s:f}", "value", r->latency_ms, "searched",
                                                      r->latency_searched, "resolution_ms", r->latency_step_ms));
    json_object_set_new(root, "wall_s", json_real(r->wall_s));
    return root;
}
