/* tw gap --closed-loop: the planner (fusion/plan) drives the robot under the planted perturbation with
 * each model — nominal physics, fitted physics, every trained world model — on every task; the table
 * with intervals, and each model against the real-only world model and nominal against fitted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_gap_int.h"

static int successes(const tw_plan_result *r)
{
    int s = 0;
    for (int e = 0; e < r->episodes; e++)
        s += r->success[e];
    return s;
}

/* Plans every episode with model m into *res (one of a model's runs: seed `k` of `K`). */
static int run_one(const tw_gap_opts *o, gap_result *g, const tw_robot *nominal, const tw_perturb *real,
                   tw_plan_model *m, const char *label, int k, int K, tw_plan_result *res, char *msg, size_t msgsz)
{
    int rc = tw_plan_run(nominal, real, m, &g->plan_opts, res, msg, msgsz);
    char seed[64] = "";
    if (K > 1)
        snprintf(seed, sizeof seed, " (training seed %d/%d)", k + 1, K);
    if (!rc)
        tw_progress_say(o->progress, o->progress_user, "gap", 0, 0,
                        "gap: closed loop, %s with %s%s: %d/%d successes, %.1f ms per plan",
                        tw_plan_task_names[g->plan_opts.task], label, seed, successes(res), res->episodes,
                        1000 * res->plan_s);
    return rc;
}

static int alloc_runs(int K, tw_plan_result **out, char *msg, size_t msgsz)
{
    *out = calloc((size_t)K, sizeof **out);
    return *out ? 0 : tw_errf(msg, msgsz, TW_ENOMEM, "gap: out of memory");
}

/* The physics models: nominal, and the fitted one when --fit ran. */
static void physics_models(gap_result *g)
{
    static const char *const keys[] = {"damping", "friction", "payload_kg", "gain"};
    snprintf(g->phys[0].label, sizeof g->phys[0].label, "nominal");
    tw_perturb_none(&g->phys[0].p);
    g->nphys = 1;
    if (!g->fit)
        return;
    gap_physics_model *f = &g->phys[g->nphys++];
    snprintf(f->label, sizeof f->label, "fitted");
    tw_perturb_none(&f->p);
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(json_object_get(g->fit, keys[k]), "value");
        char ignore[128];
        if (json_is_number(v))
            tw_perturb_set(&f->p, keys[k], json_number_value(v), ignore, sizeof ignore);
    }
}

/* A cell's model of training seed k: MODEL_DIR for seed 0, MODEL_DIR-seedK for the others (--seeds). */
static int cell_model(const gap_cell *c, const gap_result *g, const tw_robot *nominal, int k, tw_plan_model **m,
                      char *msg, size_t msgsz)
{
    char dir[1300];
    if (k)
        snprintf(dir, sizeof dir, "%s-seed%d", c->model_dir, k);
    else
        snprintf(dir, sizeof dir, "%s", c->model_dir);
    return c->strategy == TW_GAP_RESIDUAL
               ? tw_plan_model_hybrid(nominal, dir, g->plan_opts.dt, g->plan_opts.samples, m, msg, msgsz)
               : tw_plan_model_wm(dir, g->plan_opts.samples, m, msg, msgsz);
}

/* Every model plans the task: the physics ones once, each cell once per trained model (seed). */
static int run_task(const tw_gap_opts *o, gap_result *g, const tw_robot *nominal, const tw_perturb *real, int task,
                    char *msg, size_t msgsz)
{
    int rc = 0;
    g->plan_opts.task = (tw_plan_task)task;
    for (int i = 0; i < g->nphys && !rc; i++) {
        tw_plan_model *m = NULL;
        rc = alloc_runs(1, &g->phys[i].plan[task], msg, msgsz);
        if (!rc)
            rc = tw_plan_model_physics(nominal, &g->phys[i].p, g->plan_opts.dt, &m, msg, msgsz);
        if (!rc)
            rc = run_one(o, g, nominal, real, m, g->phys[i].label, 0, 1, g->phys[i].plan[task], msg, msgsz);
        tw_plan_model_free(m);
    }
    for (int i = 0; i < g->ncells && !rc; i++) {
        gap_cell *c = &g->cells[i];
        int K = tw_gap_cell_seeds(c);
        rc = alloc_runs(K, &c->plan[task], msg, msgsz);
        for (int k = 0; k < K && !rc; k++) {
            tw_plan_model *m = NULL;
            rc = cell_model(c, g, nominal, k, &m, msg, msgsz);
            if (!rc)
                rc = run_one(o, g, nominal, real, m, c->label, k, K, &c->plan[task][k], msg, msgsz);
            tw_plan_model_free(m);
        }
    }
    return rc;
}

int tw_gap_closed_loop(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    tw_perturb real;
    int rc = tw_plan_perturb_load(o->truth_path, &real, msg, msgsz);
    if (rc)
        return rc;
    tw_plan_opts_init(&g->plan_opts);
    g->plan_opts.episodes = o->plan_episodes;
    if (o->plan_samples > 0)
        g->plan_opts.samples = o->plan_samples;
    g->plan_opts.seed = o->seed;
    g->plan_opts.dt = o->dt > 0 ? o->dt : 0.04;
    g->plan_opts.jobs = o->jobs;
    physics_models(g);
    tw_mj_init();
    tw_robot *nominal = NULL;
    if ((rc = tw_robot_load(o->model_path, &nominal, msg, msgsz)))
        return rc;
    for (int t = 0; t < TW_PLAN__TASKS && !rc; t++)
        rc = run_task(o, g, nominal, &real, t, msg, msgsz);
    tw_robot_close(nominal);
    return rc;
}

/* ---- the table ---------------------------------------------------------------------------------- */

/* The closed-loop metrics, in the order of every table and comparison. */
static const char *const metric_keys[3] = {"success_rate", "final_error_m", "tracking_error_m"};

/* A model's runs: the table's models are physics (one run) or a cell (one run per training seed). */
typedef struct {
    const tw_plan_result *r;
    int K;
} runs;

/* Paired comparison of a against b on the same episodes (same targets): success, final, tracking. With
 * the same number of seeds on both sides, paired by seed and episode over the crossed bootstrap; else
 * (a physics model or the residual, trained once, against K seeds) seed 0 of each, over episodes. */
static json_t *compare(runs a, runs b, uint64_t seed)
{
    int K = a.K == b.K ? a.K : 1;
    int n = a.r->episodes < b.r->episodes ? a.r->episodes : b.r->episodes;
    double d[TW_GAP_MAX_SEEDS * TW_PLAN_MAX_EPISODES];
    json_t *o = json_object();
    for (int k = 0; k < 3; k++) {
        for (int s = 0; s < K; s++)
            for (int e = 0; e < n; e++)
                d[(size_t)s * n + e] = tw_plan_metric(&a.r[s], (tw_plan_metric_id)k, e) -
                                        tw_plan_metric(&b.r[s], (tw_plan_metric_id)k, e);
        tw_ci ci;
        tw_ci_bootstrap_seeds(d, K, n, seed, &ci);
        json_t *j = tw_ci_json(&ci);
        int sig = tw_ci_significant(&ci), better = k == 0 ? ci.mean > 0 : ci.mean < 0;
        json_object_set_new(j, "verdict", json_string(!sig ? "no significant difference" : better ? "better" : "worse"));
        json_object_set_new(o, metric_keys[k], j);
    }
    return o;
}

static runs cell_runs(const gap_cell *c, int t) { return (runs){c->plan[t], tw_gap_cell_seeds(c)}; }
static runs phys_runs(const gap_physics_model *p, int t) { return (runs){p->plan[t], 1}; }

static const gap_cell *find_cell(const tw_gap_opts *o, const gap_result *g, const char *label)
{
    for (int i = 0; i < g->ncells; i++)
        if (!strcmp(g->cells[i].label, label) && g->cells[i].budget == o->budgets[0])
            return &g->cells[i];
    return NULL;
}

/* The transfer gap in the closed loop: the sim-only model's success significantly below the
 * real-only model's, or its final or tracking error significantly above, on some task. */
static int transfer_flag(const tw_gap_opts *o, const gap_result *g, json_t *why)
{
    const gap_cell *s = find_cell(o, g, "sim_only"), *r = find_cell(o, g, "real_only");
    int flag = 0;
    for (int t = 0; s && r && t < TW_PLAN__TASKS; t++) {
        if (!s->plan[t] || !r->plan[t])
            continue;
        json_t *c = compare(cell_runs(s, t), cell_runs(r, t), o->seed);
        int worse = 0;
        for (int k = 0; k < 3; k++)
            worse |= !strcmp(json_string_value(json_object_get(json_object_get(c, metric_keys[k]), "verdict")), "worse");
        if (worse) {
            flag = 1;
            json_array_append_new(why, json_string(tw_plan_task_names[t]));
        }
        json_decref(c);
    }
    return flag;
}

json_t *tw_gap_closed_json(const tw_gap_opts *o, const gap_result *g)
{
    const tw_plan_opts *po = &g->plan_opts;
    json_t *j = json_object(), *tasks = json_object();
    json_object_set_new(j, "planner", json_pack("{s:s,s:f,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f}", "method", "cem", "dt_s",
                                                po->dt, "horizon", po->horizon, "samples", po->samples, "iters",
                                                po->iters, "elites", po->elites, "knots", po->knots, "init_std_rad",
                                                po->init_std, "max_step_rad", po->max_step, "tol_m", po->tol_m, "segment_s", po->segment_s, "touch_s", po->touch_s));
    json_object_set_new(j, "episodes", json_integer(po->episodes));
    json_object_set(j, "real_robot", g->truth ? g->truth : json_null());
    const gap_cell *ro = find_cell(o, g, "real_only");
    for (int t = 0; t < TW_PLAN__TASKS; t++) {
        json_t *models = json_object(), *vs = json_object(), *tj = json_object();
        for (int i = 0; i < g->nphys; i++)
            if (g->phys[i].plan[t])
                json_object_set_new(models, g->phys[i].label, tw_plan_result_json(g->phys[i].plan[t], 1, po));
        for (int i = 0; i < g->ncells; i++) {
            const gap_cell *c = &g->cells[i];
            if (!c->plan[t] || c->budget != o->budgets[0])
                continue;
            json_object_set_new(models, c->label, tw_plan_result_json(c->plan[t], tw_gap_cell_seeds(c), po));
            if (ro && c != ro && ro->plan[t])
                json_object_set_new(vs, c->label, compare(cell_runs(c, t), cell_runs(ro, t), o->seed));
        }
        json_object_set_new(tj, "models", models);
        json_object_set_new(tj, "vs_real_only", vs);
        if (g->nphys > 1 && g->phys[0].plan[t] && g->phys[1].plan[t])
            json_object_set_new(tj, "nominal_vs_fitted", compare(phys_runs(&g->phys[0], t), phys_runs(&g->phys[1], t), o->seed));
        json_object_set_new(tasks, tw_plan_task_names[t], tj);
    }
    json_object_set_new(j, "tasks", tasks);
    json_t *why = json_array();
    json_object_set_new(j, "transfer_gap_flag", json_boolean(transfer_flag(o, g, why)));
    json_object_set_new(j, "transfer_gap_tasks", why);
    return j;
}

static void ci_cell(FILE *f, json_t *ci, double scale, const char *fmt, const char *note)
{
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, fmt, scale * json_number_value(json_object_get(ci, "mean")));
    snprintf(b, sizeof b, fmt, scale * json_number_value(json_object_get(ci, "lo")));
    snprintf(c, sizeof c, fmt, scale * json_number_value(json_object_get(ci, "hi")));
    fprintf(f, "<td>%s <small>[%s, %s]%s%s</small></td>", a, b, c, note ? "<br>" : "", note ? note : "");
}

/* One line: nominal − fitted on each metric, the interval and the verdict (nominal worse = the fit helps). */
static void nominal_vs_fitted_html(FILE *f, json_t *nf)
{
    static const char *const names[3] = {"success", "final error", "tracking error"};
    fputs("<p>Nominal against fitted physics (nominal − fitted, same episodes):", f);
    for (int k = 0; k < 3; k++) {
        json_t *d = json_object_get(nf, metric_keys[k]);
        double s = k ? 1000 : 1;
        fprintf(f, "%s %s %+.*f [%+.*f, %+.*f]%s: <b>%s</b>", k ? ";" : "", names[k], k ? 1 : 2,
                s * json_number_value(json_object_get(d, "mean")), k ? 1 : 2, s * json_number_value(json_object_get(d, "lo")),
                k ? 1 : 2, s * json_number_value(json_object_get(d, "hi")), k ? " mm" : "",
                json_string_value(json_object_get(d, "verdict")));
    }
    fputs(". A verdict of <i>worse</i> means planning with the nominal physics did worse: the fit is worth "
          "having.</p>", f);
}

void tw_gap_closed_html(FILE *f, const tw_gap_opts *o, const gap_result *g)
{
    json_t *j = tw_gap_closed_json(o, g), *tj, *m, *vs;
    const char *task, *label;
    fprintf(f, "<h2>Closed loop: planning with each model on the real robot</h2><p>CEM model-predictive "
               "control (schemas/model.md, Planner), %d episodes per task and model, the same targets for every "
               "model; the real robot is the MuJoCo robot under the planted perturbation. Mean and 95 %% "
               "bootstrap interval over episodes%s; errors in mm. <i>vs real-only</i>: the paired difference "
               "(model − real-only world model); a difference only when its interval excludes zero.</p>",
            g->plan_opts.episodes,
            o->seeds > 1 ? " and training seeds (each world model trained with every seed plans the same episodes; "
                           "the bootstrap draws seeds and episodes, crossed)" : "");
    json_object_foreach(json_object_get(j, "tasks"), task, tj) {
        fprintf(f, "<h3>%s</h3><table><tr><th>model</th><th>success rate</th><th>final error</th><th>tracking "
                   "error</th><th>plan ms</th><th>vs real-only: success</th><th>final</th><th>tracking</th></tr>", task);
        vs = json_object_get(tj, "vs_real_only");
        json_object_foreach(json_object_get(tj, "models"), label, m) {
            fprintf(f, "<tr><td>%s</td>", label);
            ci_cell(f, json_object_get(m, "success_rate"), 1, "%.2f", NULL);
            ci_cell(f, json_object_get(m, "final_error_m"), 1000, "%.1f", NULL);
            ci_cell(f, json_object_get(m, "tracking_error_m"), 1000, "%.1f", NULL);
            fprintf(f, "<td>%.1f</td>", json_number_value(json_object_get(m, "plan_ms")));
            json_t *c = json_object_get(vs, label);
            for (int k = 0; k < 3; k++) {
                json_t *d = json_object_get(c, metric_keys[k]);
                if (!d) {
                    fputs("<td></td>", f);
                    continue;
                }
                ci_cell(f, d, k ? 1000 : 1, k ? "%+.1f" : "%+.2f", json_string_value(json_object_get(d, "verdict")));
            }
            fputs("</tr>", f);
        }
        fputs("</table>", f);
        json_t *nf = json_object_get(tj, "nominal_vs_fitted");
        if (nf)
            nominal_vs_fitted_html(f, nf);
    }
    if (json_is_true(json_object_get(j, "transfer_gap_flag")))
        fputs("<p><b>Transfer gap:</b> planning with the sim-only world model does significantly worse on the real "
              "robot than with the real-only one: the randomisation does not cover this robot.</p>", f);
    json_decref(j);
}
