/* tw gap --fit: system identification of the real episodes with tw sysid's library (replay/sysid,
 * per-joint armature, damping, friction, effort offset and a payload, absolute, by least squares;
 * outputs in OUT/sysid/), summarised as the rig's --perturb names: the damping and friction scales
 * are the least-squares scales of the fitted per-joint values over the nominal ones (null when the
 * nominal model has none), payload_kg the fitted payload.  gain (and the actuation delay) need the
 * action stream: they come from the derivative-free fit of the same library, run on gain alone.
 * A truth.json (tw rig --truth) in or beside a --real folder puts the planted values next to them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_gap_int.h"
#include "tw_sysid.h"

/* The planted perturbation: --truth when given (g->truth), else truth.json in or beside the first --real
 * folder that has one. */
static json_t *find_truth(const tw_gap_opts *o, const gap_result *g)
{
    if (g->truth)
        return json_incref(g->truth);
    char p[1200];
    for (size_t i = 0; i < o->nreal; i++)
        for (int up = 0; up < 2; up++) {
            snprintf(p, sizeof p, up ? "%s/../truth.json" : "%s/truth.json", o->real[i]);
            json_t *t = json_load_file(p, 0, NULL), *pert = t ? json_object_get(t, "perturbation") : NULL;
            if (json_is_object(pert)) {
                json_incref(pert);
                json_decref(t);
                return pert;
            }
            json_decref(t);
        }
    return NULL;
}

/* Least-squares scale s of the fitted values v_j over the nominal n_j (identified joints), with std. */
static json_t *scale_json(const tw_sysid_joint_result *r, int k, json_t *truth, const char *name)
{
    double num = 0, den = 0, var = 0;
    for (int j = 0; j < r->nj; j++) {
        const tw_sysid_jparam *p = &r->j[j].p[k];
        if (!p->identified || !(p->nominal > 0))
            continue;
        num += p->value * p->nominal;
        den += p->nominal * p->nominal;
        var += isfinite(p->std) ? p->nominal * p->nominal * p->std * p->std : 0;
    }
    json_t *o = json_pack("{s:o, s:o}", "value", den > 0 ? json_real(num / den) : json_null(), "std",
                          den > 0 && var > 0 ? json_real(sqrt(var) / den) : json_null());
    json_t *t = truth ? json_object_get(truth, name) : NULL;
    if (json_is_number(t))
        json_object_set(o, "planted", t);
    return o;
}

/* The per-joint fit, written to OUT/sysid/; fills fit.damping / friction / payload_kg. */
static int joint_fit(const tw_gap_opts *o, const char **dirs, size_t n, json_t *truth, gap_result *g, char *msg,
                     size_t msgsz)
{
    tw_sysid_joint_opts jo;
    tw_sysid_joint_opts_init(&jo);
    jo.model_path = strcmp(o->model_path, "builtin") ? o->model_path : NULL;
    jo.payload = 1;
    jo.qacc_discrete = o->qacc ? o->qacc == 2 : -1;
    jo.sg_half = o->sg_half;
    jo.gap_ms = o->gap_ms;
    jo.seed = o->seed;
    tw_sysid_jfit *f = NULL;
    tw_sysid_joint_result r;
    char out[1200];
    snprintf(out, sizeof out, "%s/sysid", o->out_dir);
    json_t *extra = json_pack("{s:s}", "model", o->model_path);
    if (truth)
        json_object_set(extra, "planted_perturbation", truth);
    int rc = tw_sysid_jfit_open(dirs, n, &jo, &f, msg, msgsz);
    if (rc == 0)
        rc = tw_sysid_jfit_run(f, &r, msg, msgsz);
    if (rc == 0)
        rc = tw_sysid_jfit_write_outputs(f, &r, out, extra, msg, msgsz);
    json_decref(extra);
    tw_sysid_jfit_free(f);
    if (rc)
        return rc;
    json_object_set_new(g->fit, "damping", scale_json(&r, TW_SJ_DAMPING, truth, "damping"));
    json_object_set_new(g->fit, "friction", scale_json(&r, TW_SJ_FRICTION, truth, "friction"));
    json_t *pl = json_pack("{s:o, s:o}", "value", r.payload_kg.identified ? json_real(r.payload_kg.value) : json_null(),
                           "std", r.payload_kg.identified && isfinite(r.payload_kg.std) ? json_real(r.payload_kg.std)
                                                                                         : json_null());
    if (truth && json_is_number(json_object_get(truth, "payload_kg")))
        json_object_set(pl, "planted", json_object_get(truth, "payload_kg"));
    json_object_set_new(g->fit, "payload_kg", pl);
    json_t *jj = tw_sysid_joint_json(&r);
    json_object_del(jj, "timing"); /* gap.json: the same bytes for the same data and seed (times: sysid.json) */
    json_object_set_new(g->fit_details, "joints", jj);
    json_object_set_new(g->fit_details, "sysid_dir", json_string(out));
    return 0;
}

/* gain and latency: the library's derivative-free fit on the actuator block (episodes with actions). */
static void gain_fit(const tw_gap_opts *o, const char **dirs, size_t n, json_t *truth, gap_result *g)
{
    char msg[1024];
    json_t *gj = NULL;
    if (tw_sysid_gain_fit(dirs, n, o->model_path, NULL, o->progress, o->progress_user, &gj, msg, sizeof msg) < 0 || !gj) {
        tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: fit: no gain (%s)", gj ? msg : "no actions");
        return;
    }
    json_t *gain = json_object_get(gj, "gain");
    if (json_is_object(gain) && truth && json_is_number(json_object_get(truth, "gain")))
        json_object_set(gain, "planted", json_object_get(truth, "gain"));
    if (json_is_object(gain))
        json_object_set(g->fit, "gain", gain);
    json_object_del(json_object_get(gj, "details"), "wall_s");
    json_object_set_new(g->fit_details, "gain", gj);
}

int tw_gap_fit(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    json_t *eps, *e;
    int rc = tw_gap_real_episodes(g, &eps, msg, msgsz);
    if (rc)
        return rc;
    size_t n = json_array_size(eps), i;
    const char **dirs = calloc(n ? n : 1, sizeof *dirs);
    if (!dirs) {
        json_decref(eps);
        return tw_errf(msg, msgsz, TW_ENOMEM, "gap: out of memory");
    }
    json_array_foreach(eps, i, e) dirs[i] = json_string_value(json_object_get(e, "dir"));
    tw_progress_say(o->progress, o->progress_user, "gap", 0, 0,
                    "gap: tw sysid on %zu real episode(s): per-joint damping, friction, offset, payload; gain", n);
    json_t *truth = find_truth(o, g);
    g->fit = json_object();
    g->fit_details = json_object();
    rc = joint_fit(o, dirs, n, truth, g, msg, msgsz);
    if (rc == 0)
        gain_fit(o, dirs, n, truth, g);
    free(dirs);
    json_decref(eps);
    const char *k;
    json_t *v;
    json_object_foreach(g->fit, k, v) {
        json_t *pl = json_object_get(v, "planted");
        char planted[64] = "";
        if (pl)
            snprintf(planted, sizeof planted, " (planted %.4g)", json_number_value(pl));
        tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: fit: %s = %.4g ± %.2g%s", k,
                        json_number_value(json_object_get(v, "value")), json_number_value(json_object_get(v, "std")),
                        planted);
    }
    json_decref(truth);
    return rc;
}
