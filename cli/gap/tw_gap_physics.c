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

/* Adds the numbers of array `key` of summary s into sum (creating it on the first episode). */
static void add_array(json_t *sum, json_t *s, const char *key)
{
    json_t *a = json_object_get(s, key), *acc = json_object_get(sum, key);
    if (!json_is_array(a))
        return;
    if (!acc) {
        acc = json_array();
        for (size_t i = 0; i < json_array_size(a); i++)
            json_array_append_new(acc, json_real(0));
        json_object_set_new(sum, key, acc);
    }
    for (size_t i = 0; i < json_array_size(a) && i < json_array_size(acc); i++)
        json_real_set(json_array_get(acc, i),
                      json_real_value(json_array_get(acc, i)) + json_number_value(json_array_get(a, i)));
}

static void add_object(json_t *sum, json_t *s, const char *key)
{
    json_t *o = json_object_get(s, key), *acc = json_object_get(sum, key), *v;
    const char *k;
    if (!json_is_object(o))
        return;
    if (!acc) {
        acc = json_object();
        json_object_set_new(sum, key, acc);
    }
    json_object_foreach(o, k, v) {
        json_t *a = json_object_get(acc, k);
        double x = json_number_value(v);
        if (!a)
            json_object_set_new(acc, k, json_real(x));
        else
            json_real_set(a, json_real_value(a) + x);
    }
}

static void scale(json_t *j, double f)
{
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_real(j))
        json_real_set(j, json_real_value(j) * f);
    else if (json_is_array(j))
        json_array_foreach(j, i, v) scale(v, f);
    else if (json_is_object(j))
        json_object_foreach(j, k, v) scale(v, f);
}

static int replay_one(const tw_gap_opts *o, const char *dir, const char *id, json_t *sum, char *msg, size_t msgsz)
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
    char *txt = tw_replay_summary_json(s);
    json_t *j = txt ? json_loads(txt, 0, NULL) : NULL;
    free(txt);
    tw_replay_summary_free(s);
    if (!j)
        return tw_errf(msg, msgsz, TW_EJSON, "gap: replay summary of %s is not JSON", dir);
    if (!json_object_get(sum, "joints"))
        json_object_set(sum, "joints", json_object_get(j, "joints"));
    add_array(sum, j, "torque_residual_rmse");
    add_array(sum, j, "torque_residual_bias");
    add_array(sum, j, "wrench_residual_rmse");
    add_object(sum, j, "divergence");
    add_object(sum, j, "divergence_ee_m");
    json_decref(j);
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
    json_t *sum = json_object();
    size_t i;
    int n = 0;
    json_array_foreach(eps, i, e) {
        if ((rc = replay_one(o, json_string_value(json_object_get(e, "dir")),
                             json_string_value(json_object_get(e, "id")), sum, msg, msgsz)))
            break;
        n++;
    }
    json_decref(eps);
    if (rc) {
        json_decref(sum);
        return rc;
    }
    json_t *joints = json_incref(json_object_get(sum, "joints"));
    json_object_del(sum, "joints");
    if (n)
        scale(sum, 1.0 / n);
    json_object_set_new(sum, "episodes", json_integer(n));
    if (joints)
        json_object_set_new(sum, "joints", joints);
    g->physics = sum;
    return 0;
}
