/* Per-joint sysid data: every episode aligned and turned into rows by replay's own row engine
 * (tw_recon_fill: the same joint map, the same qacc, the same valid steps as tw replay), then the
 * whole-data inverse-dynamics passes the fit needs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon.h"
#include "tw_sysid_int.h"

#define SG_HALO 50
#define OBJ_STRIDE 19 /* object qpos 7, qvel 6, acceleration 6 */ /* the widest Savitzky-Golay half window (tw replay's limit) */

static int grow(tw_sysid_jfit *f, size_t need, char *msg, size_t msgsz)
{
    if (need <= f->cap)
        return 0;
    if (need > f->o.max_rows)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "sysid: more than %llu timesteps over the episodes (raise "
                       "--max-rows; about 0.5 KB each)", (unsigned long long)f->o.max_rows);
    size_t cap = f->cap ? f->cap * 2 : 65536, nj = (size_t)f->nj;
    if (cap > f->o.max_rows)
        cap = f->o.max_rows;
    int *seg = realloc(f->seg, cap * sizeof *seg);
    if (seg)
        f->seg = seg;
    uint8_t *p = realloc(f->part, cap), *ok = realloc(f->ok, cap), *va = realloc(f->valid, cap);
    if (p)
        f->part = p;
    if (ok)
        f->ok = ok;
    if (va)
        f->valid = va;
    double **a[] = {&f->qpos, &f->qvel, &f->qacc, &f->effort};
    int fail = !seg || !p || !ok || !va;
    if (f->nominal->object_qadr >= 0) { /* contacts with the object are found at its recorded pose */
        double *o = realloc(f->obj, cap * OBJ_STRIDE * sizeof(double));
        uint8_t *ook = realloc(f->obj_ok, cap);
        if (o)
            f->obj = o;
        if (ook)
            f->obj_ok = ook;
        fail |= !o || !ook;
    }
    for (int k = 0; k < 4; k++) {
        double *x = realloc(*a[k], cap * nj * sizeof(double));
        if (x)
            *a[k] = x;
        fail |= !x;
    }
    if (fail)
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid: %zu timesteps", cap);
    f->cap = cap;
    return 0;
}

typedef struct {
    tw_episode *ep;
    tw_align *al;
    tw_recon_map map;
    tw_roles ro;
    tw_recon_rows rw;
} ep_t;

static void ep_close(ep_t *E)
{
    tw_recon_rows_free(&E->rw);
    tw_align_close(E->al);
    tw_episode_close_reader(E->ep);
}

static int ep_open(tw_sysid_jfit *f, ep_t *E, const char *dir, char *msg, size_t msgsz)
{
    int rc = tw_episode_open(dir, &E->ep, msg, msgsz);
    if (rc < 0)
        return rc;
    tw_align_opts ao;
    tw_align_opts_init(&ao);
    ao.gap_ms = f->o.gap_ms;
    ao.gap_measured = 1;
    ao.halo = SG_HALO;
    if ((rc = tw_align_open_episode(E->ep, &ao, &E->al, msg, msgsz)) < 0)
        return rc;
    tw_map *map = NULL;
    if ((rc = tw_map_load(f->o.map_path, &map, msg, msgsz)) < 0 ||
        (rc = tw_timeline_roles(E->al, map, &E->ro, msg, msgsz)) < 0) {
        tw_map_free(map);
        return rc;
    }
    const tw_align_info *in = tw_align_get_info(E->al);
    if (E->ro.obj >= 0 && (f->nominal->object_qadr < 0 || in->streams[E->ro.obj].elems != 13))
        E->ro.obj = -1; /* no free object in the model, or not the 13-value state */
    if (E->ro.js < 0 || in->reference != (size_t)E->ro.js)
        rc = tw_errf(msg, msgsz, TW_ENOT_FOUND, "episode %s: no joint_state stream to fit on", dir);
    else
        rc = tw_recon_map_build(f->nominal, in->streams[E->ro.js].decl, NULL, map, &E->map, msg, msgsz);
    tw_map_free(map);
    if (rc == 0 && tw_recon_rows_alloc(&E->rw, 1024, f->nj, f->nominal->m->nu, 0) < 0)
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "sysid rows");
    E->rw.have_obj = E->ro.obj >= 0;
    return rc;
}

/* The derivative as tw replay chooses it; every episode must agree (one regression). */
static int ep_qacc(tw_sysid_jfit *f, ep_t *E, int first, const char *dir, tw_recon_fill_ctx *fc, char *msg,
                   size_t msgsz)
{
    const tw_align_info *in = tw_align_get_info(E->al);
    int disc = f->o.qacc_discrete >= 0 ? f->o.qacc_discrete : tw_recon_sampled_every_step(f->nominal, in, E->ro.js);
    uint32_t h = f->o.sg_half ? f->o.sg_half : tw_recon_auto_sg_half(in->rate_hz, f->o.sg_window_ms);
    if (h > SG_HALO)
        h = SG_HALO;
    if (first) {
        f->discrete = disc;
        f->sg_half = h;
        f->rate_hz = in->rate_hz;
    } else if (disc != f->discrete || fabs(in->rate_hz - f->rate_hz) > 1e-9 * f->rate_hz)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "episode %s: rate %g Hz / qacc %s differ from the first episode's "
                       "(%g Hz / %s): fit them separately", dir, in->rate_hz, disc ? "discrete" : "sg", f->rate_hz,
                       f->discrete ? "discrete" : "sg");
    *fc = (tw_recon_fill_ctx){.map = &E->map, .js = E->ro.js, .wr = -1, .act = -1, .obj = E->ro.obj, .ev = -1,
                              .qacc_discrete = disc, .sg_half = disc ? (h < 2 ? h : 2) : h, .dt = 1.0 / in->rate_hz};
    if (E->ro.obj >= 0) { /* the object's home state until its first valid row, as tw replay */
        const tw_robot *r = f->nominal;
        tw_robot_home(r, f->d);
        mju_copy(fc->obj_hold, f->d->qpos + r->object_qadr, 7);
        mju_copy(fc->obj_hold + 7, f->d->qvel + r->m->jnt_dofadr[r->m->body_jntadr[r->object_body]], 6);
    }
    return 0;
}

static int read_one(tw_sysid_jfit *f, const char *dir, int seg, char *msg, size_t msgsz)
{
    ep_t E;
    memset(&E, 0, sizeof E);
    tw_recon_fill_ctx fc;
    int rc = ep_open(f, &E, dir, msg, msgsz);
    if (rc == 0)
        rc = ep_qacc(f, &E, seg == 0, dir, &fc, msg, msgsz);
    uint64_t nsteps = rc == 0 ? tw_align_get_info(E.al)->nsteps : 0;
    uint64_t cut = (uint64_t)floor((1.0 - f->o.validate) * (double)nsteps);
    tw_align_block b;
    size_t nj = (size_t)f->nj;
    while (rc == 0 && (rc = tw_align_next(E.al, &b, msg, msgsz)) == 1) {
        tw_recon_fill(&fc, &b, &E.rw);
        if ((rc = grow(f, f->n + E.rw.n, msg, msgsz)) < 0)
            break;
        for (uint32_t i = 0; i < E.rw.n; i++, f->n++) {
            uint64_t step = b.first + b.halo_lo + i;
            f->seg[f->n] = seg;
            f->part[f->n] = step >= cut;
            f->valid[f->n] = f->ok[f->n] = !(E.rw.q[i] & (TW_Q_INVALID | TW_Q_EDGE));
            memcpy(f->qpos + f->n * nj, E.rw.qpos + i * nj, nj * sizeof(double));
            memcpy(f->qvel + f->n * nj, E.rw.qvel + i * nj, nj * sizeof(double));
            memcpy(f->qacc + f->n * nj, E.rw.qacc + i * nj, nj * sizeof(double));
            memcpy(f->effort + f->n * nj, E.rw.effort + i * nj, nj * sizeof(double));
            if (f->obj) {
                f->obj_ok[f->n] = E.rw.have_obj && E.rw.obj_ok[i];
                memcpy(f->obj + f->n * OBJ_STRIDE, E.rw.obj + i * 13, 13 * sizeof(double));
                memcpy(f->obj + f->n * OBJ_STRIDE + 13, E.rw.obj_acc + i * 6, 6 * sizeof(double));
            }
        }
        rc = 0;
    }
    ep_close(&E);
    if (rc < 0 && msg && !strstr(msg, dir)) {
        char why[768];
        snprintf(why, sizeof why, "%s", msg);
        return tw_errf(msg, msgsz, rc, "episode %s: %s", dir, why);
    }
    return rc;
}

/* 1 when a constraint the recording does not show acts on the arm: a limit of an arm joint, or a
 * contact between the robot and something else (contacts inside the robot, a finger on the hand, are
 * internal forces: they cancel in every arm joint's torque). */
static int held(const tw_robot *r, const mjData *d, int root)
{
    const mjModel *m = r->m;
    for (int i = 0; i < d->nefc; i++)
        if (d->efc_type[i] == mjCNSTR_LIMIT_JOINT)
            for (int j = 0; j < r->narm; j++)
                if (d->efc_id[i] == r->jnt[j])
                    return 1;
    for (int c = 0; c < d->ncon; c++) {
        int b1 = m->geom_bodyid[d->contact[c].geom1], b2 = m->geom_bodyid[d->contact[c].geom2];
        if ((m->body_rootid[b1] == root) != (m->body_rootid[b2] == root))
            return 1;
    }
    return 0;
}

void tw_sysid_jrows_inverse(tw_sysid_jfit *f, const tw_robot *r, double *out, int mark)
{
    const mjModel *m = r->m;
    mjData *d = f->d;
    size_t nj = (size_t)f->nj, na = (size_t)f->na;
    int root = m->body_rootid[m->jnt_bodyid[r->jnt[0]]];
    double t0 = tw_mono_s();
    tw_robot_home(r, d);
    for (size_t i = 0; i < f->n; i++) {
        if (!f->valid[i])
            continue;
        for (size_t j = 0; j < nj; j++) {
            d->qpos[r->qadr[j]] = f->qpos[i * nj + j];
            d->qvel[r->vadr[j]] = f->qvel[i * nj + j];
        }
        int odof = f->obj && f->obj_ok[i] ? m->jnt_dofadr[m->body_jntadr[r->object_body]] : -1;
        if (odof >= 0) { /* grasped or touched object: its contacts are real (as tw replay sets it) */
            mju_copy(d->qpos + r->object_qadr, f->obj + i * OBJ_STRIDE, 7);
            mju_copy(d->qvel + odof, f->obj + i * OBJ_STRIDE + 7, 6);
        }
        mj_fwdPosition(m, d);
        mj_fwdVelocity(m, d);
        mju_zero(d->qacc, m->nv);
        if (odof >= 0)
            mju_copy(d->qacc + odof, f->obj + i * OBJ_STRIDE + 13, 6);
        for (size_t j = 0; j < nj; j++)
            d->qacc[r->vadr[j]] = f->qacc[i * nj + j];
        if (f->discrete)
            tw_physics_forward_qacc(m, d, d->qacc, d->qacc);
        mj_inverseSkip(m, d, mjSTAGE_VEL, 0);
        for (size_t j = 0; j < na; j++)
            out[i * na + j] = d->qfrc_inverse[r->vadr[j]];
        if (mark && held(r, d, root))
            f->ok[i] = 0;
    }
    f->passes++;
    if (mark)
        f->pass_s = tw_mono_s() - t0;
}

int tw_sysid_jrows_read(tw_sysid_jfit *f, const char *const *dirs, size_t ndirs, char *msg, size_t msgsz)
{
    double t0 = tw_mono_s();
    for (size_t e = 0; e < ndirs; e++) {
        int rc = read_one(f, dirs[e], (int)e, msg, msgsz);
        if (rc < 0)
            return rc;
        tw_progress_say(f->o.progress, f->o.progress_user, "sysid", e + 1, ndirs, "sysid: read %s (%zu steps so far)",
                        dirs[e], f->n);
    }
    size_t na = (size_t)f->na, sz = (f->n ? f->n : 1) * na * sizeof(double);
    f->tau0 = malloc(sz);
    f->taunom = malloc(sz);
    f->gpay = f->o.payload ? malloc(sz) : NULL;
    if (!f->tau0 || !f->taunom || (f->o.payload && !f->gpay))
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid: inverse dynamics of %zu steps", f->n);
    tw_sysid_jrows_inverse(f, f->stripped, f->tau0, 1);
    tw_sysid_jrows_inverse(f, f->nominal, f->taunom, 0);
    if (f->o.payload) { /* 1 kg at the flange's centre of mass: the regressor is the difference */
        int hb = f->stripped->hand_body;
        f->stripped->m->body_mass[hb] += 1;
        tw_sysid_jrows_inverse(f, f->stripped, f->gpay, 0);
        f->stripped->m->body_mass[hb] -= 1;
        for (size_t k = 0; k < f->n * na; k++)
            f->gpay[k] -= f->tau0[k];
    }
    f->read_s = tw_mono_s() - t0;
    return 0;
}
