/* Reconstruction: recorded joint names onto the model, and per-row forward/inverse dynamics. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"

/* Appends "a, b, c" of n names to buf. */
static void list_names(char *buf, size_t sz, const char *const *names, int n)
{
    size_t used = strlen(buf);
    for (int i = 0; i < n && used + 1 < sz; i++) {
        int w = snprintf(buf + used, sz - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int mismatch(const tw_robot *r, const char *const *rec, int nrec, const char *const *bad,
                    int nbad, const char *const *missing, int nmissing, char *msg, size_t msgsz)
{
    char b[3072] = "joint names do not match the model. recorded: [";
    list_names(b, sizeof b, rec, nrec);
    strncat(b, "]; model: [", sizeof b - strlen(b) - 1);
    list_names(b, sizeof b, r->jname, r->njoint);
    strncat(b, "]", sizeof b - strlen(b) - 1);
    if (nbad) {
        strncat(b, "; not in the model: ", sizeof b - strlen(b) - 1);
        list_names(b, sizeof b, bad, nbad);
    }
    if (nmissing) {
        strncat(b, "; not recorded: ", sizeof b - strlen(b) - 1);
        list_names(b, sizeof b, missing, nmissing);
    }
    strncat(b, " (use --map MAP.json: {\"axes\": {\"recorded\": \"model\"}})", sizeof b - strlen(b) - 1);
    return tw_errf(msg, msgsz, TW_EMISMATCH, "%s", b);
}

static void map_actions(const tw_robot *r, const tw_stream_decl *act, tw_recon_map *mp)
{
    const mjModel *m = r->m;
    for (int a = 0; a < TW_ROBOT_MAX_ACT; a++)
        mp->act_col[a] = -1;
    mp->nact = act ? (int)tw_decl_elems(act) : 0;
    if (!act || m->nu > TW_ROBOT_MAX_ACT)
        return;
    int found = 0;
    if ((int)act->naxes == mp->nact) /* by actuator name */
        for (int c = 0; c < mp->nact; c++) {
            int id = mj_name2id(m, mjOBJ_ACTUATOR, act->axes[c]);
            if (id >= 0) {
                mp->act_col[id] = c;
                found++;
            }
        }
    if (found == m->nu) {
        mp->actions_ok = 1;
        return;
    }
    if (mp->nact == m->nu) { /* same count: by order */
        for (int a = 0; a < m->nu; a++)
            mp->act_col[a] = a;
        mp->actions_ok = 1;
    }
}

int tw_recon_map_build(const tw_robot *r, const tw_stream_decl *js, const tw_stream_decl *act,
                       const tw_map *map, tw_recon_map *mp, char *msg, size_t msgsz)
{
    memset(mp, 0, sizeof *mp);
    mp->nj = r->njoint;
    mp->nrec = js->ndim == 2 ? (int)js->shape[1] : 0;
    if (js->ndim != 2 || js->shape[0] != 3 || mp->nrec > TW_ROBOT_MAX_JOINTS)
        return tw_errf(msg, msgsz, TW_ESHAPE, "joint_state stream '%s': expected shape [3, N], N <= %d",
                       js->name, TW_ROBOT_MAX_JOINTS);
    int rc;
    const char *rec[TW_ROBOT_MAX_JOINTS], *bad[TW_ROBOT_MAX_JOINTS], *missing[TW_ROBOT_MAX_JOINTS];
    int nbad = 0, nmissing = 0;
    for (int j = 0; j < mp->nj; j++)
        mp->col[j] = -1;
    char byorder[TW_ROBOT_MAX_JOINTS][16]; /* names of unnamed axes: "#0", "#1", ... */
    for (int c = 0; c < mp->nrec; c++) {
        snprintf(byorder[c], sizeof byorder[c], "#%d", c);
        rec[c] = (int)js->naxes == mp->nrec ? js->axes[c] : byorder[c];
        int renamed = tw_map_has_axis(map, rec[c]);
        const char *name = tw_map_axis(map, rec[c]);
        int j = (int)js->naxes == mp->nrec ? tw_robot_find_joint(r, name)
                                           : (c < mp->nj && !renamed ? c : tw_robot_find_joint(r, name));
        if (j < 0 || mp->col[j] >= 0)
            bad[nbad++] = rec[c];
        else
            mp->col[j] = c;
    }
    for (int j = 0; j < mp->nj; j++)
        if (mp->col[j] < 0)
            missing[nmissing++] = r->jname[j];
    if (nbad || nmissing) {
        rc = mismatch(r, rec, mp->nrec, bad, nbad, missing, nmissing, msg, msgsz);
        return rc;
    }
    map_actions(r, act, mp);
    return 0;
}

int tw_recon_rows_alloc(tw_recon_rows *rw, uint32_t cap, int nj, int nu, int ncam)
{
    memset(rw, 0, sizeof *rw);
    rw->cap = cap;
    rw->nj = nj;
    rw->nu = nu;
    rw->ncam = ncam;
    size_t a = (size_t)cap * nj * sizeof(double);
    rw->qpos = malloc(a); rw->qvel = malloc(a); rw->qacc = malloc(a);
    rw->effort = malloc(a); rw->tau = malloc(a); rw->res = malloc(a);
    rw->wrench = calloc((size_t)cap * 6, sizeof(double));
    rw->wrench_model = calloc((size_t)cap * 6, sizeof(double));
    rw->wrench_res = calloc((size_t)cap * 6, sizeof(double));
    rw->ee = calloc((size_t)cap * 7, sizeof(double));
    rw->ctrl = calloc((size_t)cap * (nu ? nu : 1), sizeof(double));
    rw->ncon = calloc(cap, sizeof(int32_t));
    rw->q = calloc(cap, 1);
    rw->t_ns = calloc(cap, sizeof(int64_t));
    rw->frame = calloc((size_t)cap * (ncam ? ncam : 1), sizeof(int64_t));
    rw->obj = calloc((size_t)cap * 13, sizeof(double));
    rw->obj_acc = calloc((size_t)cap * 6, sizeof(double));
    rw->obj_ok = calloc(cap, 1);
    rw->event = calloc(cap, sizeof(int64_t));
    if (!rw->qpos || !rw->qvel || !rw->qacc || !rw->effort || !rw->tau || !rw->res || !rw->wrench ||
        !rw->wrench_model || !rw->wrench_res || !rw->ee || !rw->ctrl || !rw->ncon || !rw->q ||
        !rw->t_ns || !rw->frame || !rw->obj || !rw->obj_acc || !rw->obj_ok || !rw->event) {
        tw_recon_rows_free(rw);
        return TW_ENOMEM;
    }
    return 0;
}

void tw_recon_rows_free(tw_recon_rows *rw)
{
    if (!rw)
        return;
    free(rw->qpos); free(rw->qvel); free(rw->qacc); free(rw->effort); free(rw->tau); free(rw->res);
    free(rw->wrench); free(rw->wrench_model); free(rw->wrench_res); free(rw->ee); free(rw->ctrl);
    free(rw->ncon); free(rw->q); free(rw->t_ns); free(rw->frame);
    free(rw->obj); free(rw->obj_acc); free(rw->obj_ok); free(rw->event);
    memset(rw, 0, sizeof *rw);
}

void tw_recon_set_object(const tw_robot *r, mjData *d, const tw_recon_rows *rw, uint32_t i, int with_acc)
{
    if (!rw->have_obj || !rw->obj_ok[i] || r->object_qadr < 0)
        return;
    const mjModel *m = r->m;
    int dof = m->jnt_dofadr[m->body_jntadr[r->object_body]];
    const double *o = rw->obj + (size_t)i * 13;
    mju_copy(d->qpos + r->object_qadr, o, 7);
    mju_copy(d->qvel + dof, o + 7, 6);
    if (with_acc)
        mju_copy(d->qacc + dof, rw->obj_acc + (size_t)i * 6, 6);
}

void tw_recon_compute(const tw_robot *r, mjData *d, const tw_recon_rows *rw, uint32_t r0, uint32_t r1,
                      int qacc_discrete)
{
    const mjModel *m = r->m;
    int nj = rw->nj;
    for (uint32_t i = r0; i < r1; i++) {
        const double *qp = rw->qpos + (size_t)i * nj, *qv = rw->qvel + (size_t)i * nj;
        for (int j = 0; j < nj; j++) {
            d->qpos[r->qadr[j]] = qp[j];
            d->qvel[r->vadr[j]] = qv[j];
        }
        tw_recon_set_object(r, d, rw, i, 0); /* grasped or touched object: its contacts are real */
        /* Position and velocity stages of mj_forward (poses, contacts, passive and bias forces);
         * its acceleration stage would solve for qacc, which here comes from the recording. */
        mj_fwdPosition(m, d);
        mj_fwdVelocity(m, d);
        mju_zero(d->qacc, m->nv);
        for (int j = 0; j < nj; j++)
            d->qacc[r->vadr[j]] = rw->qacc[(size_t)i * nj + j];
        tw_recon_set_object(r, d, rw, i, 1);
        if (qacc_discrete) {
            tw_physics_forward_qacc(m, d, d->qacc, d->qacc);
            for (int j = 0; j < nj; j++) /* what was used, for aligned.h5 */
                rw->qacc[(size_t)i * nj + j] = d->qacc[r->vadr[j]];
        }
        mj_inverseSkip(m, d, mjSTAGE_VEL, 0); /* constraint, RNE and sensors at that qacc */
        for (int j = 0; j < nj; j++)
            rw->tau[(size_t)i * nj + j] = d->qfrc_inverse[r->vadr[j]];
        double *w = rw->wrench_model + (size_t)i * 6;
        if (r->ft_force_adr >= 0 && r->ft_torque_adr >= 0) {
            mju_copy3(w, d->sensordata + r->ft_force_adr);
            mju_copy3(w + 3, d->sensordata + r->ft_torque_adr);
        }
        double *ee = rw->ee + (size_t)i * 7;
        if (r->ee_site >= 0) {
            mju_copy3(ee, d->site_xpos + 3 * r->ee_site);
            mju_mat2Quat(ee + 3, d->site_xmat + 9 * r->ee_site);
        }
        rw->ncon[i] = d->ncon;
    }
}
