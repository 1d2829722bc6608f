/* The physics gap next to the learned one: replay every real episode against the nominal model
 * and average its headline numbers (torque residual, wrench residual, open-loop divergence). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_gap_int.h"
#include "tw_recon.h"

/* Per-element sums over the episodes of what replay measured; an element is averaged over the
 * episodes that measured it (a non-finite value is "not measured", not zero). */
typedef struct {
    tw_replay_numbers first; /* joint names and counts */
    int n, nj, have_wrench;
    double rmse[TW_ROBOT_MAX_JOINTS], bias[TW_ROBOT_MAX_JOINTS], wrench[6];
    double div_q[TW_REPLAY_NHORIZONS], div_ee[TW_REPLAY_NHORIZONS];
    int c_rmse[TW_ROBOT_MAX_JOINTS], c_bias[TW_ROBOT_MAX_JOINTS], c_wrench[6];
    int c_div_q[TW_REPLAY_NHORIZONS], c_div_ee[TW_REPLAY_NHORIZONS];
} phys_sum;

static void add(double *sum, int *count, const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            sum[i] += v[i];
            count[i]++;
        }
}

static void accumulate(phys_sum *p, const tw_replay_numbers *nu)
{
    if (p->n++ == 0) {
        p->first = *nu;
        p->nj = nu->nj;
    }
    int nj = nu->nj < p->nj ? nu->nj : p->nj;
    add(p->rmse, p->c_rmse, nu->rmse, nj);
    add(p->bias, p->c_bias, nu->bias, nj);
    if (nu->have_wrench) {
        p->have_wrench = 1;
        add(p->wrench, p->c_wrench, nu->wrench_rmse, 6);
    }
    add(p->div_q, p->c_div_q, nu->div_q, TW_REPLAY_NHORIZONS);
    add(p->div_ee, p->c_div_ee, nu->div_ee, TW_REPLAY_NHORIZONS);
}

static json_t *means(const double *sum, const int *count, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, count[i] ? json_real(sum[i] * (1.0 / count[i])) : json_null());
    return a;
}

static json_t *horizon_means(const double *sum, const int *count)
{
    json_t *o = json_object();
    for (int h = 0; h < TW_REPLAY_NHORIZONS; h++)
        json_object_set_new(o, tw_replay_horizon_names[h],
                            count[h] ? json_real(sum[h] * (1.0 / count[h])) : json_null());
    return o;
}

/* The averages in gap.json's "physics_gap" (schemas/gap.md). */
static json_t *physics_json(const phys_sum *p)
{
    json_t *o = json_object();
    if (p->n) {
        json_object_set_new(o, "torque_residual_rmse", means(p->rmse, p->c_rmse, p->nj));
        json_object_set_new(o, "torque_residual_bias", means(p->bias, p->c_bias, p->nj));
        if (p->have_wrench)
            json_object_set_new(o, "wrench_residual_rmse", means(p->wrench, p->c_wrench, 6));
        json_object_set_new(o, "divergence", horizon_means(p->div_q, p->c_div_q));
        json_object_set_new(o, "divergence_ee_m", horizon_means(p->div_ee, p->c_div_ee));
    }
    json_object_set_new(o, "episodes", json_integer(p->n));
    if (p->n) {
        json_t *joints = json_array();
        for (int j = 0; j < p->nj; j++)
            json_array_append_new(joints, json_string(p->first.joints[j]));
        json_object_set_new(o, "joints", joints);
    }
    return o;
}

static int replay_one(const tw_gap_opts *o, const char *dir, const char *id, phys_sum *sum, char *msg, size_t msgsz)
{
    char out[1200];
    snprintf(out, sizeof out, "%s/replay", o->out_dir);
    mkdir(out, 0777);
    snprintf(out, sizeof out, "%s/replay/%s", o->out_dir, id);
    tw_replay_opts ro;
    tw_replay_opts_init(&ro);
    ro.model_path = o->model_path;
    ro.out_dir = out;
    ro.qacc_discrete = o->qacc ? o->qacc == 2 : -1; /* the derivative options of tw replay */
    ro.sg_half = o->sg_half;
    ro.gap_ms = o->gap_ms;
    tw_replay_summary *s = NULL;
    int rc = tw_replay_run(dir, &ro, &s, msg, msgsz);
    if (rc)
        return rc;
    accumulate(sum, tw_replay_summary_numbers(s)); /* the numbers as replay keeps them: no JSON round trip */
    tw_replay_summary_free(s);
    tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: replayed %s", id);
    return 0;
}

int tw_gap_real_episodes(const gap_result *g, json_t **out, char *msg, size_t msgsz)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", g->first_fused);
    json_t *m = json_load_file(path, 0, NULL), *e;
    if (!m)
        return tw_errf(msg, msgsz, TW_EIO, "gap: cannot read %s", path);
    json_t *list = json_array();
    size_t i;
    json_array_foreach(json_object_get(m, "episodes"), i, e) {
        const char *dom = json_string_value(json_object_get(e, "domain"));
        if (dom && !strcmp(dom, "real"))
            json_array_append_new(list, json_pack("{s:O,s:O}", "id", json_object_get(e, "id"), "dir",
                                                  json_object_get(e, "dir")));
    }
    json_decref(m);
    *out = list;
    return 0;
}

int tw_gap_physics(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    json_t *eps, *e;
    int rc = tw_gap_real_episodes(g, &eps, msg, msgsz);
    if (rc)
        return rc;
    phys_sum *sum = calloc(1, sizeof *sum);
    if (!sum) {
        json_decref(eps);
        return tw_errf(msg, msgsz, TW_ENOMEM, "gap: out of memory");
    }
    size_t i;
    json_array_foreach(eps, i, e) {
        if ((rc = replay_one(o, json_string_value(json_object_get(e, "dir")),
                             json_string_value(json_object_get(e, "id")), sum, msg, msgsz)))
            break;
    }
    json_decref(eps);
    if (!rc)
        g->physics = physics_json(sum);
    free(sum);
    return rc;
}
