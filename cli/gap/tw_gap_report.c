/* gap.json and gap.html. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_gap_int.h"
#include "tw_core.h"

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *cell_json(const gap_cell *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "ratio", json_string(c->label));
    json_object_set_new(o, "strategy", json_string(c->strategy == TW_GAP_FINETUNE ? "finetune" : "mix"));
    json_object_set_new(o, "sim_per_real", isinf(c->ratio) ? json_string("inf") : json_real(c->ratio));
    json_object_set_new(o, "budget", c->budget ? json_integer(c->budget) : json_string("all"));
    json_object_set_new(o, "real_train_episodes", json_integer(c->real_episodes));
    json_object_set_new(o, "real_test_error", num(c->headline));
    json_object_set_new(o, "dynamics_error", num(tw_gap_dynamics(&c->ev.real)));
    json_object_set_new(o, "real_test", tw_wm_domain_json(&c->ev.real));
    json_object_set_new(o, "sim_test", tw_wm_domain_json(&c->ev.sim));
    json_object_set_new(o, "train_samples_per_s", num(c->train_samples_per_s));
    return o;
}

#define DYNAMICS_METRIC                                                                                   \
    "relative one-step RMSE of joint velocities on held-out real test episodes: the world model's RMSE "    \
    "over that of a physics-free baseline (zero acceleration); 1 = no better than ignoring the dynamics"

static void ratio_key(const gap_cell *c, char *buf, size_t n)
{
    double r = c->ratio;
    if (c->strategy == TW_GAP_FINETUNE)
        snprintf(buf, n, "finetune");
    else if (isinf(r))
        snprintf(buf, n, "inf");
    else
        snprintf(buf, n, "%g", r);
}

/* The sim-only run at the first budget, or NULL. */
static const gap_cell *sim_only(const tw_gap_opts *o, const gap_result *g)
{
    for (int i = 0; i < g->ncells; i++)
        if (isinf(g->cells[i].ratio) && g->cells[i].strategy == TW_GAP_MIX && g->cells[i].budget == o->budgets[0])
            return &g->cells[i];
    return NULL;
}

/* How much worse the sim-only model is on real test episodes than on sim test episodes: about 1
 * when the randomisation covers the real robot, well above 1 when it does not. By the headline
 * (absolute) error, or by the dynamics error (relative, so not confounded by how much each domain
 * moves). NaN without a sim-only run. */
static double transfer_gap(const tw_gap_opts *o, const gap_result *g, int dynamics)
{
    const gap_cell *c = sim_only(o, g);
    if (!c)
        return NAN;
    return dynamics ? tw_gap_dynamics(&c->ev.real) / tw_gap_dynamics(&c->ev.sim)
                    : c->headline / c->ev.sim.rollout_rmse[1][TW_GRP_JOINT_POS];
}

/* parameter -> {"fitted", "planted"}: what system identification found next to what the rig planted. */
static json_t *fit_vs_truth(const gap_result *g)
{
    json_t *o = json_object(), *v;
    const char *k;
    json_object_foreach(g->fit, k, v) {
        json_t *t = json_object_get(g->truth, k);
        if (json_is_object(v))
            json_object_set_new(o, k, json_pack("{s:O,s:O}", "fitted", json_object_get(v, "value"), "planted",
                                                t ? t : json_null()));
    }
    return o;
}

int tw_gap_write_json(const tw_gap_opts *o, const gap_result *g, char *msg, size_t msgsz)
{
    json_t *j = json_object(), *cells = json_array(), *head = json_object(), *budgets = json_object();
    json_t *dyn = json_object();
    json_object_set_new(j, "format", json_string("teleworld.gap"));
    json_object_set_new(j, "version", json_string("1.1"));
    json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(j, "model", json_string(o->model_path));
    json_object_set_new(j, "randomize", o->randomize_path ? json_string(o->randomize_path) : json_null());
    json_object_set_new(j, "sim_episodes", json_integer(o->sim_episodes));
    json_object_set_new(j, "metric",
                        json_sprintf("open-loop rollout RMSE of hinge-joint positions (rad; slide joints apart, "
                                     "in m) at %g s on held-out real test episodes",
                                     o->eval_horizon_s));
    json_object_set_new(j, "dynamics_metric", json_string(DYNAMICS_METRIC));
    for (int i = 0; i < g->ncells; i++) {
        const gap_cell *c = &g->cells[i];
        if (!tw_gap_open_loop(c))
            continue;
        json_array_append_new(cells, cell_json(c));
        char k[32], b[32];
        ratio_key(c, k, sizeof k);
        if (c->budget == o->budgets[0]) {
            json_object_set_new(head, k, num(c->headline));
            json_object_set_new(dyn, k, num(tw_gap_dynamics(&c->ev.real)));
        }
        snprintf(b, sizeof b, "%d", c->budget);
        if (!json_object_get(budgets, c->budget ? b : "all"))
            json_object_set_new(budgets, c->budget ? b : "all", json_object());
        json_object_set_new(json_object_get(budgets, c->budget ? b : "all"), k, num(c->headline));
    }
    json_object_set_new(j, "real_test_error", head);
    json_object_set_new(j, "transfer_gap", num(transfer_gap(o, g, 0)));
    json_object_set_new(j, "dynamics_error", dyn);
    json_object_set_new(j, "dynamics_transfer_gap", num(transfer_gap(o, g, 1)));
    json_object_set_new(j, "real_test_error_by_budget", budgets);
    json_object_set_new(j, "runs", cells);
    json_object_set(j, "physics_gap", g->physics ? g->physics : json_null());
    if (g->fit)
        json_object_set(j, "fit", g->fit);
    if (g->fit_details)
        json_object_set(j, "fit_details", g->fit_details);
    if (g->truth)
        json_object_set(j, "truth", g->truth);
    if (g->fit && g->truth)
        json_object_set_new(j, "fit_vs_truth", fit_vs_truth(g));
    json_object_set_new(j, "statistics", tw_gap_stats_json(o, g));
    if (o->closed_loop)
        json_object_set_new(j, "closed_loop", tw_gap_closed_json(o, g));
    char path[1100];
    snprintf(path, sizeof path, "%s/gap.json", o->out_dir);
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
    json_decref(j);
    return rc ? tw_errf(msg, msgsz, TW_EIO, "%s: write failed", path) : 0;
}

static void physics_html(FILE *f, const json_t *p)
{
    json_t *joints = json_object_get(p, "joints"), *rmse = json_object_get(p, "torque_residual_rmse");
    size_t n = json_array_size(rmse);
    if (n && n == json_array_size(joints) && n <= 64) {
        const char *labels[64];
        double v[64];
        for (size_t i = 0; i < n; i++) {
            labels[i] = json_string_value(json_array_get(joints, i));
            v[i] = json_number_value(json_array_get(rmse, i));
        }
        tw_svg_bars(f, "effort residual RMSE per joint (recorded effort − nominal inverse dynamics): N·m for hinges, "
                       "N for the gripper's slide joints", labels, v, (int)n, "N·m | N");
    }
    json_t *div = json_object_get(p, "divergence");
    static const char *const hk[] = {"0.1", "0.5", "1", "2", "episode"};
    double dv[5];
    for (int i = 0; i < 5; i++)
        dv[i] = json_is_number(json_object_get(div, hk[i])) ? json_number_value(json_object_get(div, hk[i])) : NAN;
    tw_svg_bars(f, "open-loop divergence of the nominal model (joint-position RMSE over all joints as recorded: "
                   "rad for hinges, m for slides) by horizon, s", hk, dv, 5, "rad | m");
}

/* Bars of the real-test error (or the dynamics error) against mix ratio, for budget index b. */
static void ratio_bars(FILE *f, const tw_gap_opts *o, const gap_result *g, int b, int dynamics)
{
    const char *labels[TW_GAP_MAX_RATIOS];
    char lab[TW_GAP_MAX_RATIOS][32], title[160];
    double v[TW_GAP_MAX_RATIOS];
    int n = 0, eps = 0;
    for (int i = 0; i < g->ncells; i++)
        if (g->cells[i].budget == o->budgets[b] && n < TW_GAP_MAX_RATIOS && tw_gap_open_loop(&g->cells[i])) {
            snprintf(lab[n], sizeof lab[n], "%s", g->cells[i].label);
            labels[n] = lab[n];
            v[n++] = dynamics ? tw_gap_dynamics(&g->cells[i].ev.real) : g->cells[i].headline;
            eps = g->cells[i].real_episodes;
        }
    snprintf(title, sizeof title, "real-test %s by mix ratio (real:sim), %d real training episode(s)",
             dynamics ? "dynamics error" : "error", eps);
    tw_svg_bars(f, title, labels, v, n, dynamics ? "× baseline" : "rad (hinges)");
}

int tw_gap_write_html(const tw_gap_opts *o, const gap_result *g, char *msg, size_t msgsz)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/gap.html", o->out_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return tw_errf(msg, msgsz, TW_EIO, "%s: cannot write", path);
    fputs("<!doctype html><html><head><meta charset='utf-8'><title>teleworld sim-to-real gap</title>"
          "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto}td,th{padding:2px 8px;"
          "text-align:right}</style></head><body><h1>teleworld: sim-to-real gap</h1>",
          f);
    fprintf(f, "<p>model <code>");
    tw_html_escape(f, o->model_path);
    fprintf(f, "</code>; %u randomized sim episodes; seed %llu. Lower is better everywhere. <b>Real-test "
               "error</b>: open-loop rollout error of joint positions at %g s on held-out <b>real</b> test "
               "episodes. <b>Dynamics error</b>: " DYNAMICS_METRIC ". Positions follow from velocities by "
               "kinematics whatever the physics, and absolute errors shrink with how little a robot moves, "
               "so the dynamics error is the number that shows whether the simulated physics matches.</p>",
            o->sim_episodes, (unsigned long long)o->seed, o->eval_horizon_s);
    for (int b = 0; b < o->nbudgets; b++) {
        ratio_bars(f, o, g, b, 0);
        ratio_bars(f, o, g, b, 1);
    }
    double tg = transfer_gap(o, g, 0), dg = transfer_gap(o, g, 1);
    if (sim_only(o, g))
        fprintf(f, "<p><b>Transfer gap %.2f by the dynamics error</b> (%.2f by the real-test error): the model "
                   "trained on simulation alone is that many times as wrong on the real test episodes as on "
                   "simulated ones: about 1 when the randomisation covers the real robot; well above 1 when it "
                   "does not, and then sim data cannot stand in for real data. It is only as telling as the "
                   "model: its dynamics error on its own sim test episodes is <b>%.2f</b>; near 1, it has not "
                   "learned the dynamics and cannot show a physics gap.</p>",
                dg, tg, tw_gap_dynamics(&sim_only(o, g)->ev.sim));
    fputs("<h2>World model error, real vs sim test episodes</h2><p>rel. = RMSE over that of the physics-free "
          "baseline (positions at constant velocity, velocities at zero acceleration); q in rad; rollouts at "
          "the headline horizon.</p><table><tr><th>ratio</th><th>real train episodes</th>"
          "<th>real rollout q</th><th>sim rollout q</th><th>real one-step rel. q̇</th><th>sim one-step rel. q̇</th>"
          "<th>real rollout rel. q̇</th><th>sim rollout rel. q̇</th></tr>",
          f);
    for (int i = 0; i < g->ncells; i++) {
        const gap_cell *c = &g->cells[i];
        const tw_wm_domain_eval *r = &c->ev.real, *s = &c->ev.sim;
        const char *lab = c->label;
        if (!tw_gap_open_loop(c))
            continue;
        fprintf(f,
                "<tr><td>%s</td><td>%d</td><td>%.4g</td><td>%.4g</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
                "<td>%.3f</td></tr>",
                lab, c->real_episodes, c->headline, s->rollout_rmse[1][TW_GRP_JOINT_POS], tw_gap_dynamics(r),
                tw_gap_dynamics(s), r->rollout_rel[1][TW_GRP_JOINT_VEL], s->rollout_rel[1][TW_GRP_JOINT_VEL]);
    }
    fputs("</table>", f);
    tw_gap_stats_html(f, o, g);
    if (o->closed_loop)
        tw_gap_closed_html(f, o, g);
    fputs("<h2>Physics gap (replay of the real episodes against the nominal model)</h2>", f);
    if (g->physics)
        physics_html(f, g->physics);
    if (g->fit) {
        const char *k;
        json_t *v;
        fputs("<h2>System identification (tw gap --fit)</h2><table><tr><th>parameter</th><th>value</th>"
              "<th>std</th><th>planted (truth)</th></tr>",
              f);
        json_object_foreach(g->fit, k, v)
            if (json_is_object(v)) {
                json_t *t = g->truth ? json_object_get(g->truth, k) : NULL;
                fprintf(f, "<tr><td>%s</td><td>%.4g</td><td>%.2g</td><td>%s%.4g</td></tr>", k,
                        json_number_value(json_object_get(v, "value")), json_number_value(json_object_get(v, "std")),
                        t ? "" : "— ", t ? json_number_value(t) : NAN);
            }
        fputs("</table>", f);
    }
    fputs("</body></html>\n", f);
    return fclose(f) ? tw_errf(msg, msgsz, TW_EIO, "%s: write failed", path) : 0;
}

void tw_gap_result_free(gap_result *g)
{
    if (!g)
        return;
    json_decref(g->physics);
    json_decref(g->fit);
    json_decref(g->fit_details);
    json_decref(g->truth);
    for (int i = 0; i < g->ncells; i++)
        free(g->cells[i].seed_ev);
    for (int t = 0; t < TW_PLAN__TASKS; t++) {
        for (int i = 0; i < g->ncells; i++)
            free(g->cells[i].plan[t]);
        for (int i = 0; i < g->nphys; i++)
            free(g->phys[i].plan[t]);
    }
    free(g);
}
