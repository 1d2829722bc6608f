/* tw gap statistics (schemas/gap.md, Statistics): enough real test episodes, units per joint type,
 * intervals over real test episodes and paired comparisons against the real-only model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_gap_int.h"

/* The manifest of the first fused dataset (schemas/fused.md): the split and the state layout of all. */
static int first_manifest(const gap_result *g, json_t **m, char *msg, size_t msgsz)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", g->first_fused);
    json_error_t jerr;
    *m = json_load_file(path, 0, &jerr);
    return *m ? 0 : tw_errf(msg, msgsz, TW_EIO, "gap: cannot read %s: %s", path, jerr.text);
}

int tw_gap_check_split(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    json_t *m, *e;
    int rc = first_manifest(g, &m, msg, msgsz);
    if (rc)
        return rc;
    size_t i;
    int n = 0, total = 0;
    json_array_foreach(json_object_get(m, "episodes"), i, e) {
        const char *dom = json_string_value(json_object_get(e, "domain"));
        const char *sp = json_string_value(json_object_get(e, "split"));
        if (dom && !strcmp(dom, "real")) {
            total++;
            n += sp && !strcmp(sp, "test");
        }
    }
    json_decref(m);
    g->test_episodes = n;
    if (n < o->min_test_episodes)
        return tw_errf(msg, msgsz, TW_EINVAL,
                       "gap: the split leaves %d real test episode(s) of %d (at least %d are needed for an interval "
                       "over test episodes): record more episodes or raise the test fraction of --split",
                       n, total, o->min_test_episodes);
    return 0;
}

int tw_gap_slide_mask(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    json_t *m, *f;
    int rc = first_manifest(g, &m, msg, msgsz);
    if (rc)
        return rc;
    tw_mj_init();
    tw_robot *r = NULL;
    rc = tw_robot_load(o->model_path, &r, msg, msgsz);
    size_t i;
    json_array_foreach(json_object_get(json_object_get(m, "features"), "state"), i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        if (rc || !name || (strcmp(name, "qpos") && strcmp(name, "qvel")))
            continue;
        int off = (int)json_integer_value(json_object_get(f, "offset"));
        json_t *axes = json_object_get(f, "axes");
        for (size_t k = 0; k < json_array_size(axes) && off + (int)k < TW_WM_MAX_DIM; k++) {
            int j = tw_robot_find_joint(r, json_string_value(json_array_get(axes, k)));
            g->slide[off + k] = j >= 0 && r->m->jnt_type[r->jnt[j]] == mjJNT_SLIDE;
        }
    }
    tw_robot_close(r);
    json_decref(m);
    return rc;
}

/* Index of episode id in d's per-episode arrays, or -1. */
static int ep_index(const tw_wm_domain_eval *d, uint32_t id)
{
    for (int i = 0; i < d->nep; i++)
        if (d->ep_id[i] == id)
            return i;
    return -1;
}

/* The per-episode values of metric k (0 dynamics error, 1 headline error) of c's training seed s, in
 * ref's episode order. */
static void episode_values(const gap_cell *c, int s, const gap_cell *ref, int k, double *v)
{
    const tw_wm_domain_eval *d = s ? &c->seed_ev[s - 1].real : &c->ev.real;
    for (int i = 0; i < ref->ev.real.nep; i++) {
        int j = ep_index(d, ref->ev.real.ep_id[i]);
        v[i] = j < 0 ? NAN : k ? d->ep_rollout_pos[1][j] : d->ep_dyn[j];
    }
}

/* Seeds x episodes of metric k (minus base's, paired by seed and episode, when base is given); with one
 * seed the one-level bootstrap over episodes (the same numbers as before --seeds existed). */
static void interval(const tw_gap_opts *o, const gap_cell *c, const gap_cell *base, const gap_cell *ref, int k,
                     tw_ci *ci)
{
    double v[TW_GAP_MAX_SEEDS * TW_WM_MAX_EVAL_EPISODES], b[TW_WM_MAX_EVAL_EPISODES];
    int n = ref->ev.real.nep, K = tw_gap_cell_seeds(c);
    if (base && base->nseed != c->nseed)
        K = 1; /* unequal seeds (cannot happen within one run): pair seed 0 only */
    for (int s = 0; s < K; s++) {
        episode_values(c, s, ref, k, v + (size_t)s * n);
        if (!base)
            continue;
        episode_values(base, s, ref, k, b);
        for (int i = 0; i < n; i++)
            v[(size_t)s * n + i] -= b[i];
    }
    tw_ci_bootstrap_seeds(v, K, n, o->seed, ci);
}

static const gap_cell *real_only(const tw_gap_opts *o, const gap_result *g)
{
    for (int i = 0; i < g->ncells; i++)
        if (!strcmp(g->cells[i].label, "real_only") && g->cells[i].budget == o->budgets[0])
            return &g->cells[i];
    return NULL;
}

static const char *const metric_keys[2] = {"dynamics_error", "real_test_error_rad"};

json_t *tw_gap_stats_json(const tw_gap_opts *o, const gap_result *g)
{
    json_t *j = json_object(), *runs = json_object(), *vs = json_object();
    json_object_set_new(j, "method", json_string(o->seeds > 1
        ? "mean over training seeds x real test episodes of the per-episode error, 95 % percentile bootstrap "
          "(2000 resamples, each drawing seeds and test episodes with replacement, crossed); comparisons "
          "paired by seed and test episode; a difference only when the interval excludes 0"
        : "mean over real test episodes of the per-episode error, 95 % percentile bootstrap (2000 resamples); "
          "comparisons paired by test episode; a difference only when the interval excludes 0"));
    json_object_set_new(j, "training_seeds", json_integer(o->seeds));
    json_object_set_new(j, "real_test_episodes", json_integer(g->test_episodes));
    json_object_set_new(j, "min_test_episodes", json_integer(o->min_test_episodes));
    const gap_cell *ro = real_only(o, g);
    for (int i = 0; i < g->ncells; i++) {
        const gap_cell *c = &g->cells[i];
        if (c->budget != o->budgets[0] || !tw_gap_open_loop(c))
            continue;
        const gap_cell *ref = ro ? ro : c;
        json_t *r = json_object(), *d = json_object();
        for (int k = 0; k < 2; k++) {
            tw_ci ci;
            interval(o, c, NULL, ref, k, &ci);
            json_object_set_new(r, metric_keys[k], tw_ci_json(&ci));
            if (!ro || c == ro)
                continue;
            interval(o, c, ro, ro, k, &ci);
            json_t *cj = tw_ci_json(&ci);
            json_object_set_new(cj, "verdict", json_string(!tw_ci_significant(&ci) ? "no significant difference"
                                                           : ci.mean < 0 ? "better" : "worse"));
            json_object_set_new(d, metric_keys[k], cj);
        }
        json_object_set_new(runs, c->label, r);
        if (json_object_size(d))
            json_object_set_new(vs, c->label, d);
        else
            json_decref(d);
    }
    json_object_set_new(j, "runs", runs);
    json_object_set_new(j, "vs_real_only", vs);
    return j;
}

void tw_gap_stats_html(FILE *f, const tw_gap_opts *o, const gap_result *g)
{
    json_t *j = tw_gap_stats_json(o, g), *r;
    const char *label;
    fprintf(f, "<h2>Open-loop errors with intervals</h2><p>Over the %d real test episodes%s: mean and 95 %% bootstrap "
               "interval; against real-only, the paired difference (run − real-only; negative = better). "
               "Hinge positions in rad (slide joints apart, in m, in the runs' <code>slide_pos</code>).</p>"
               "<table><tr><th>run</th><th>dynamics error</th><th>vs real-only</th><th>real-test error (rad)</th>"
               "<th>vs real-only</th></tr>", g->test_episodes,
            o->seeds > 1 ? " and the training seeds (bootstrap drawing seeds and episodes, crossed)" : "");
    json_object_foreach(json_object_get(j, "runs"), label, r) {
        fprintf(f, "<tr><td>%s</td>", label);
        for (int k = 0; k < 2; k++) {
            json_t *c = json_object_get(r, metric_keys[k]);
            json_t *d = json_object_get(json_object_get(json_object_get(j, "vs_real_only"), label), metric_keys[k]);
            fprintf(f, "<td>%.4g <small>[%.4g, %.4g]</small></td>", json_number_value(json_object_get(c, "mean")),
                    json_number_value(json_object_get(c, "lo")), json_number_value(json_object_get(c, "hi")));
            if (d)
                fprintf(f, "<td>%+.4g <small>[%+.4g, %+.4g]<br>%s</small></td>",
                        json_number_value(json_object_get(d, "mean")), json_number_value(json_object_get(d, "lo")),
                        json_number_value(json_object_get(d, "hi")), json_string_value(json_object_get(d, "verdict")));
            else
                fputs("<td></td>", f);
        }
        fputs("</tr>", f);
    }
    fputs("</table>", f);
    json_decref(j);
}
