/* sysid.json (fields: schemas/sysid.md) and sysid.html (inline SVG: residual before/after per joint,
 * the friction curve over the data, the parameter table). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_sysid_int.h"

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *param_json(const tw_sysid_jparam *p)
{
    /* an unidentified parameter is not a number: value null, the model keeps its nominal value */
    return json_pack("{s:o, s:o, s:o, s:b, s:b}", "value", p->identified ? num(p->value) : json_null(), "std",
                     p->identified ? num(p->std) : json_null(), "nominal", num(p->nominal), "identified",
                     p->identified, "at_bound", p->at_bound);
}

static json_t *resid_json(const tw_sysid_jjoint *J, int part)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "effort_rms", num(J->effort_rms[part]), "nominal",
                     num(J->rmse_nominal[part]), "fitted", num(J->rmse_fitted[part]), "fitted_xml",
                     num(J->rmse_mjcf[part]));
}

static json_t *rel_json(const tw_sysid_joint_result *r, int part)
{
    return json_pack("{s:o, s:o, s:o, s:I}", "nominal", num(r->rel_nominal[part]), "fitted", num(r->rel_fitted[part]),
                     "fitted_xml", num(r->rel_mjcf[part]), "rows", (json_int_t)r->rows[part]);
}

json_t *tw_sysid_joint_json(const tw_sysid_joint_result *r)
{
    json_t *o = json_object(), *joints = json_array();
    for (int j = 0; j < r->nj; j++) {
        const tw_sysid_jjoint *J = &r->j[j];
        json_t *ps = json_object();
        for (int k = 0; k < TW_SJ_NPAR; k++)
            json_object_set_new(ps, tw_sysid_jparam_names[k], param_json(&J->p[k]));
        json_array_append_new(joints, json_pack("{s:s, s:o, s:o, s:{s:o, s:o}}", "name", J->name, "qvel_rms",
                                                num(J->qvel_rms), "params", ps, "residual", "fit", resid_json(J, 0),
                                                "held_back", resid_json(J, 1)));
    }
    json_object_set_new(o, "format", json_string("teleworld.sysid"));
    json_object_set_new(o, "format_version", json_string("1.0"));
    json_object_set_new(o, "joints", joints);
    json_object_set_new(o, "payload_kg", r->payload ? param_json(&r->payload_kg) : json_null());
    json_object_set_new(o, "relative_rmse", json_pack("{s:o, s:o, s:o}", "fit", rel_json(r, 0), "held_back",
                                                      rel_json(r, 1), "all", rel_json(r, 2)));
    json_object_set_new(o, "rows_excluded", json_integer((json_int_t)r->rows_excluded));
    json_object_set_new(o, "episodes", json_integer(r->episodes));
    json_object_set_new(o, "validate", json_real(r->validate));
    json_object_set_new(o, "rate_hz", json_real(r->rate_hz));
    json_object_set_new(o, "qacc", json_pack("{s:s, s:i, s:i}", "method", r->qacc_discrete ? "discrete" : "savitzky_golay",
                                             "sg_half", (int)r->sg_half, "filter_half", (int)r->filter_half));
    json_object_set_new(o, "friction_eps", json_real(r->friction_eps));
    json_object_set_new(o, "bootstrap", json_pack("{s:i, s:i}", "replicates", r->bootstrap, "blocks", r->blocks));
    double ratio = r->inverse_pass_s > 0 ? r->wall_s / r->inverse_pass_s : NAN;
    json_object_set_new(o, "timing", json_pack("{s:f, s:f, s:f, s:f, s:f, s:i, s:f, s:o}", "wall_s", r->wall_s,
                                               "load_s", r->load_s, "read_s", r->read_s, "fit_s", r->fit_s, "check_s",
                                               r->check_s, "inverse_passes", r->inverse_passes, "inverse_pass_s",
                                               r->inverse_pass_s, "wall_over_pass", num(ratio)));
    return o;
}

/* Residual without the fitted damping and friction against qdot (a bounded sample of rows) and the fitted
 * curve damping qdot + friction tanh(qdot/eps). */
static void friction_plot(FILE *fp, const tw_sysid_jfit *f, const tw_sysid_joint_result *r, int j)
{
    const tw_sysid_jjoint *J = &r->j[j];
    size_t nj = (size_t)f->nj, na = (size_t)f->na, stride = f->n / 600 + 1;
    double vmax = 1e-9, ymax = 1e-9;
    for (size_t i = 0; i < f->n; i += stride)
        if (f->ok[i]) {
            double v = fabs(f->qvel[i * nj + j]), y = fabs(f->effort[i * nj + j] - f->tau0[i * na + j]);
            vmax = fmax(vmax, v), ymax = fmax(ymax, y);
        }
    const double W = 320, H = 200;
    fprintf(fp, "<svg width='%g' height='%g' style='border:1px solid #ccc;margin:4px'><text x='6' y='14' "
            "font-size='12'>%s: residual w/o damping+friction vs qdot (range %.3g N·m, %.3g rad/s)</text>\n",
            W, H, J->name, ymax, vmax);
    for (size_t i = 0; i < f->n; i += stride) {
        if (!f->ok[i])
            continue;
        double v = f->qvel[i * nj + j], a = f->qacc[i * nj + j];
        double y = f->effort[i * nj + j] - f->tau0[i * na + j] - J->p[TW_SJ_ARMATURE].value * a -
                   J->p[TW_SJ_OFFSET].value;
        fprintf(fp, "<circle cx='%.1f' cy='%.1f' r='1' fill='%s'/>", W / 2 + v / vmax * (W / 2 - 8),
                H / 2 - y / ymax * (H / 2 - 20), f->part[i] ? "#e88" : "#88c");
    }
    fprintf(fp, "\n<polyline fill='none' stroke='black' stroke-width='1.5' points='");
    for (int k = 0; k <= 100; k++) {
        double v = (k / 50.0 - 1) * vmax;
        double y = J->p[TW_SJ_DAMPING].value * v + J->p[TW_SJ_FRICTION].value * tanh(v / r->friction_eps);
        fprintf(fp, "%.1f,%.1f ", W / 2 + v / vmax * (W / 2 - 8), H / 2 - y / ymax * (H / 2 - 20));
    }
    fprintf(fp, "'/></svg>\n");
}

static void table(FILE *fp, const tw_sysid_joint_result *r)
{
    fprintf(fp, "<table border='1' cellspacing='0' cellpadding='3'><tr><th>joint</th>");
    for (int k = 0; k < TW_SJ_NPAR; k++)
        fprintf(fp, "<th>%s (nominal)</th>", tw_sysid_jparam_names[k]);
    fprintf(fp, "<th>held-back RMSE nominal / fitted / fitted.xml</th></tr>\n");
    for (int j = 0; j < r->nj; j++) {
        const tw_sysid_jjoint *J = &r->j[j];
        fprintf(fp, "<tr><td>%s</td>", J->name);
        for (int k = 0; k < TW_SJ_NPAR; k++) {
            if (J->p[k].identified)
                fprintf(fp, "<td>%.4g ± %.2g (%.3g)</td>", J->p[k].value, J->p[k].std, J->p[k].nominal);
            else
                fprintf(fp, "<td>unidentified (%.3g kept)</td>", J->p[k].nominal);
        }
        fprintf(fp, "<td>%.3f / %.3f / %.3f</td></tr>\n", J->rmse_nominal[1], J->rmse_fitted[1], J->rmse_mjcf[1]);
    }
    fprintf(fp, "</table>\n");
}

int tw_sysid_jfit_html(const tw_sysid_jfit *f, const tw_sysid_joint_result *r, const char *path, char *msg,
                       size_t msgsz)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp)
        return tw_errf(msg, msgsz, TW_EIO, "cannot create %s", tmp);
    fprintf(fp, "<!doctype html><meta charset='utf-8'><title>tw sysid</title><body style='font-family:sans-serif'>"
            "<h1>System identification</h1><p>%d episode(s) at %g Hz; fit on the first %.0f%%, held back the rest. "
            "All-joint relative RMSE held back: nominal %.4f, fitted %.4f, fitted.xml %.4f.</p>\n",
            r->episodes, r->rate_hz, 100 * (1 - r->validate), r->rel_nominal[1], r->rel_fitted[1], r->rel_mjcf[1]);
    table(fp, r);
    const char *labels[2 * TW_ROBOT_MAX_JOINTS];
    char names[2 * TW_ROBOT_MAX_JOINTS][TW_MAX_NAME + 16];
    double v[2 * TW_ROBOT_MAX_JOINTS];
    for (int j = 0; j < r->nj; j++) {
        snprintf(names[2 * j], sizeof names[0], "%s nominal", r->j[j].name);
        snprintf(names[2 * j + 1], sizeof names[0], "%s fitted", r->j[j].name);
        labels[2 * j] = names[2 * j], labels[2 * j + 1] = names[2 * j + 1];
        v[2 * j] = r->j[j].rmse_nominal[1], v[2 * j + 1] = r->j[j].rmse_mjcf[1];
    }
    fprintf(fp, "<h2>Held-back residual per joint</h2>\n");
    tw_svg_bars(fp, "torque residual RMSE, held back (nominal vs fitted.xml)", labels, v, 2 * r->nj, "N·m");
    fprintf(fp, "<h2>Friction: data (blue fit rows, red held back) and the fitted curve</h2>\n");
    for (int j = 0; j < r->nj; j++)
        friction_plot(fp, f, r, j);
    fprintf(fp, "</body>\n");
    int ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok = fclose(fp) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return tw_errf(msg, msgsz, TW_EIO, "cannot write %s", path);
    }
    return 0;
}
