/* Per-joint sysid outputs: fitted.xml (the nominal MJCF with the fitted values written in) and its
 * check by MuJoCo, sysid.json, sysid.html.  Every file is written under a temporary name, synced and
 * renamed, so an interrupted run never leaves a complete-looking output. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tw_recon.h"
#include "tw_sysid_int.h"

static int write_atomic(const char *path, const char *text, size_t len, char *msg, size_t msgsz)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return tw_errf(msg, msgsz, TW_EIO, "cannot create %s", tmp);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int ok = off == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return tw_errf(msg, msgsz, TW_EIO, "cannot write %s", path);
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* The nominal model's text, its asset folders absolute (fitted.xml lives elsewhere). */
static int nominal_xml(const tw_sysid_jfit *f, char **xml, char *msg, size_t msgsz)
{
    if (!f->o.model_path) {
        *xml = strdup(tw_builtin_model_xml);
        return *xml ? 0 : tw_errf(msg, msgsz, TW_ENOMEM, "model XML");
    }
    int rc = tw_xml_read_file(f->o.model_path, xml, msg, msgsz);
    if (rc < 0)
        return rc;
    char dir[PATH_MAX], abs[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", f->o.model_path);
    if (!realpath(dirname(dir), abs))
        snprintf(abs, sizeof abs, "%s", dirname(dir));
    return tw_xml_absolutize_dirs(xml, abs, msg, msgsz);
}

static int set_num(char **xml, const char *tag, const char *name, const char *attr, double v, char *msg,
                   size_t msgsz)
{
    char val[64];
    snprintf(val, sizeof val, "%.9g", v);
    return tw_xml_set_attr(xml, tag, name, attr, val, msg, msgsz);
}

/* The payload as a body with only an inertial, at the flange body's centre of mass. */
static int add_payload(const tw_sysid_jfit *f, double kg, char **xml, char *msg, size_t msgsz)
{
    const mjModel *m = f->nominal->m;
    int hb = f->nominal->hand_body;
    const char *hname = mj_id2name(m, mjOBJ_BODY, hb);
    if (!hname)
        return tw_errf(msg, msgsz, TW_EINVAL, "fitted.xml: the flange body has no name");
    const double *c = m->body_ipos + 3 * hb;
    char frag[512];
    snprintf(frag, sizeof frag, "\n<body name=\"teleworld_payload\" pos=\"%.9g %.9g %.9g\"><inertial pos=\"0 0 0\" "
             "mass=\"%.9g\" diaginertia=\"1e-9 1e-9 1e-9\"/></body>\n", c[0], c[1], c[2], kg);
    return tw_xml_insert_in_body(xml, hname, frag, msg, msgsz);
}

/* The effort offsets (every streamed joint; 0 for the ones not fitted) as the custom numeric. */
static int add_offset(const tw_sysid_jfit *f, const tw_sysid_joint_result *r, char **xml, char *msg, size_t msgsz)
{
    char data[64 * TW_ROBOT_MAX_JOINTS] = "", frag[64 * TW_ROBOT_MAX_JOINTS + 256];
    for (int j = 0; j < f->nj; j++) {
        size_t l = strlen(data);
        snprintf(data + l, sizeof data - l, "%s%.9g", j ? " " : "",
                 j < r->nj ? r->j[j].p[TW_SJ_OFFSET].value : f->offset_nom[j]);
    }
    if (mj_name2id(f->nominal->m, mjOBJ_NUMERIC, TW_EFFORT_OFFSET_NUMERIC) >= 0)
        return tw_xml_set_attr(xml, "numeric", TW_EFFORT_OFFSET_NUMERIC, "data", data, msg, msgsz);
    snprintf(frag, sizeof frag, "  <custom>\n    <numeric name=\"" TW_EFFORT_OFFSET_NUMERIC "\" size=\"%d\" data=\"%s\"/>\n"
             "  </custom>\n", f->nj, data);
    return tw_xml_insert_before_end(xml, frag, msg, msgsz);
}

int tw_sysid_jfit_write_mjcf(const tw_sysid_jfit *f, const tw_sysid_joint_result *r, const char *path, char *msg,
                             size_t msgsz)
{
    char *xml = NULL;
    int rc = nominal_xml(f, &xml, msg, msgsz);
    static const char *const attr[3] = {"armature", "damping", "frictionloss"};
    for (int j = 0; rc == 0 && j < r->nj; j++) {
        const char *jn = mj_id2name(f->nominal->m, mjOBJ_JOINT, f->nominal->jnt[j]);
        for (int k = 0; rc == 0 && k < 3; k++)
            rc = jn ? set_num(&xml, "joint", jn, attr[k], r->j[j].p[k].value, msg, msgsz)
                    : tw_errf(msg, msgsz, TW_EINVAL, "fitted.xml: joint %d has no name", j);
    }
    if (rc == 0 && r->payload && r->payload_kg.value > 0)
        rc = add_payload(f, r->payload_kg.value, &xml, msg, msgsz);
    if (rc == 0)
        rc = add_offset(f, r, &xml, msg, msgsz);
    if (rc == 0)
        rc = write_atomic(path, xml, strlen(xml), msg, msgsz);
    free(xml);
    return rc;
}

int tw_sysid_jfit_check_mjcf(tw_sysid_jfit *f, const char *path, tw_sysid_joint_result *r, char *msg, size_t msgsz)
{
    double t0 = tw_mono_s();
    tw_robot *fr = NULL;
    int rc = tw_robot_load(path, &fr, msg, msgsz);
    if (rc < 0)
        return rc;
    if (fr->njoint != f->nj || fr->narm != f->na) {
        tw_robot_close(fr);
        return tw_errf(msg, msgsz, TW_EMISMATCH, "%s: joints differ from the nominal model's", path);
    }
    size_t nj = (size_t)f->nj, na = (size_t)f->na;
    double *tau = malloc((f->n ? f->n : 1) * na * sizeof(double)), off[TW_ROBOT_MAX_JOINTS];
    mjData *d = tw_mj_make_data(fr->m, msg, msgsz), *keep = f->d;
    if (!tau || !d) {
        free(tau);
        if (d)
            mj_deleteData(d);
        tw_robot_close(fr);
        return tau ? TW_EMUJOCO : tw_errf(msg, msgsz, TW_ENOMEM, "sysid check");
    }
    tw_recon_effort_offset(fr, off);
    f->d = d;
    tw_sysid_jrows_inverse(f, fr, tau, 0);
    f->d = keep;
    double e2[3][TW_ROBOT_MAX_JOINTS] = {{0}}, r2[3][TW_ROBOT_MAX_JOINTS] = {{0}};
    uint64_t n[3] = {0};
    for (size_t i = 0; i < f->n; i++) {
        if (!f->valid[i])
            continue;
        int parts[2] = {f->ok[i] ? f->part[i] : -1, 2};
        for (int q = 0; q < 2; q++) {
            if (parts[q] < 0)
                continue;
            n[parts[q]]++;
            for (size_t j = 0; j < na; j++) {
                double e = f->effort[i * nj + j], res = e - off[j] - tau[i * na + j];
                e2[parts[q]][j] += e * e;
                r2[parts[q]][j] += res * res;
            }
        }
    }
    for (int p = 0; p < 3; p++) {
        double a = 0, b = 0;
        for (size_t j = 0; j < na; j++) {
            a += r2[p][j], b += e2[p][j];
            if (p < 2)
                r->j[j].rmse_mjcf[p] = n[p] ? sqrt(r2[p][j] / (double)n[p]) : NAN;
        }
        r->rel_mjcf[p] = b > 0 ? sqrt(a / b) : NAN;
    }
    r->inverse_passes = f->passes;
    r->check_s = tw_mono_s() - t0;
    r->wall_s += r->check_s;
    free(tau);
    mj_deleteData(d);
    tw_robot_close(fr);
    return 0;
}

int tw_sysid_jfit_write_outputs(tw_sysid_jfit *f, tw_sysid_joint_result *r, const char *out_dir, const json_t *extra,
                                char *msg, size_t msgsz)
{
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "mkdir %s: %s", out_dir, strerror(errno));
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/fitted.xml", out_dir);
    int rc = tw_sysid_jfit_write_mjcf(f, r, p, msg, msgsz);
    if (rc == 0)
        rc = tw_sysid_jfit_check_mjcf(f, p, r, msg, msgsz);
    if (rc < 0)
        return rc;
    json_t *j = tw_sysid_joint_json(r);
    if (extra)
        json_object_update(j, (json_t *)extra);
    char *txt = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (!txt)
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid.json");
    snprintf(p, sizeof p, "%s/sysid.json", out_dir);
    size_t len = strlen(txt);
    rc = write_atomic(p, txt, len, msg, msgsz);
    free(txt);
    if (rc == 0) {
        snprintf(p, sizeof p, "%s/sysid.html", out_dir);
        rc = tw_sysid_jfit_html(f, r, p, msg, msgsz);
    }
    return rc;
}
