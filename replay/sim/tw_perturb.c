/* Perturbations: the known differences between the rig's physics and the nominal model.
 * One table names every parameter with its range, so parse, set, get and JSON never drift apart. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_sim.h"

typedef struct {
    const char *key;
    size_t off;
    double lo, hi;
    int lo_open; /* scales must be > 0 */
} tw_perturb_field;

#define TW_PF(k, lo, hi, open) {#k, offsetof(tw_perturb, k), lo, hi, open}
static const tw_perturb_field tw_pfields[] = {
    TW_PF(damping, 0, 100, 1),         TW_PF(friction, 0, 100, 1),      TW_PF(gain, 0, 100, 1),
    TW_PF(payload_kg, 0, 100, 0),      TW_PF(latency_ms, 0, 10000, 0),  TW_PF(noise, 0, 1000, 0),
    TW_PF(clock_offset_ms, -1e9, 1e9, 0), TW_PF(drift_ppm, -1e5, 1e5, 0),
};
#define TW_NPF (sizeof tw_pfields / sizeof *tw_pfields)

static const tw_perturb_field *tw_perturb_field_of(const char *key, size_t len)
{
    for (size_t i = 0; i < TW_NPF; i++)
        if (strlen(tw_pfields[i].key) == len && !strncmp(tw_pfields[i].key, key, len))
            return &tw_pfields[i];
    return NULL;
}

void tw_perturb_none(tw_perturb *p)
{
    memset(p, 0, sizeof *p);
    p->damping = p->friction = p->gain = 1.0;
}

int tw_perturb_is_none(const tw_perturb *p)
{
    tw_perturb n;
    tw_perturb_none(&n);
    for (size_t i = 0; i < TW_NPF; i++)
        if (*(const double *)((const char *)p + tw_pfields[i].off) != *(double *)((char *)&n + tw_pfields[i].off))
            return 0;
    return 1;
}

static int tw_perturb_check(const tw_perturb_field *f, double v, char *msg, size_t msgsz)
{
    if (!isfinite(v) || v < f->lo || v > f->hi || (f->lo_open && v <= f->lo))
        return tw_errf(msg, msgsz, TW_EINVAL, "perturbation %s=%g out of range %s%g, %g]", f->key, v,
                       f->lo_open ? "(" : "[", f->lo, f->hi);
    return 0;
}

int tw_perturb_set(tw_perturb *p, const char *key, double value, char *msg, size_t msgsz)
{
    const tw_perturb_field *f = tw_perturb_field_of(key, strlen(key));
    if (!f)
        return tw_errf(msg, msgsz, TW_EINVAL, "unknown perturbation '%s' (known: " TW_PERTURB_KEYS ")", key);
    int rc = tw_perturb_check(f, value, msg, msgsz);
    if (!rc)
        *(double *)((char *)p + f->off) = value;
    return rc;
}

int tw_perturb_get(const tw_perturb *p, const char *key, double *value)
{
    const tw_perturb_field *f = tw_perturb_field_of(key, strlen(key));
    if (!f)
        return TW_ENOT_FOUND;
    *value = *(const double *)((const char *)p + f->off);
    return 0;
}

/* One "key=value" item of length len starting at item (not NUL-terminated). */
static int tw_perturb_item(tw_perturb *p, const char *item, size_t len, size_t pos, char *msg, size_t msgsz)
{
    const char *eq = memchr(item, '=', len);
    if (!eq)
        return tw_errf(msg, msgsz, TW_EINVAL, "perturbation spec at column %zu: '%.*s' is not key=value", pos + 1,
                       (int)len, item);
    const tw_perturb_field *f = tw_perturb_field_of(item, (size_t)(eq - item));
    if (!f)
        return tw_errf(msg, msgsz, TW_EINVAL, "perturbation spec at column %zu: unknown key '%.*s' (known: "
                       TW_PERTURB_KEYS ")", pos + 1, (int)(eq - item), item);
    char num[64];
    size_t nl = len - (size_t)(eq - item) - 1;
    if (nl == 0 || nl >= sizeof num)
        return tw_errf(msg, msgsz, TW_EINVAL, "perturbation spec: %s needs a number, got '%.*s'", f->key, (int)nl,
                       eq + 1);
    memcpy(num, eq + 1, nl);
    num[nl] = '\0';
    char *end;
    errno = 0;
    double v = strtod(num, &end);
    if (*end || errno)
        return tw_errf(msg, msgsz, TW_EINVAL, "perturbation spec: %s needs a number, got '%s'", f->key, num);
    return tw_perturb_set(p, f->key, v, msg, msgsz);
}

int tw_perturb_parse(const char *spec, tw_perturb *p, char *msg, size_t msgsz)
{
    if (!spec || !*spec)
        return tw_errf(msg, msgsz, TW_EINVAL, "empty perturbation spec (use 'none' or key=value,...)");
    if (!strcmp(spec, "none")) {
        tw_perturb_none(p);
        return 0;
    }
    tw_perturb tmp = *p; /* all or nothing: *p is untouched on error */
    for (const char *s = spec;;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        int rc = tw_perturb_item(&tmp, s, len, (size_t)(s - spec), msg, msgsz);
        if (rc)
            return rc;
        if (!c)
            break;
        s = c + 1;
    }
    *p = tmp;
    return 0;
}

json_t *tw_perturb_to_json(const tw_perturb *p)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < TW_NPF; i++)
        json_object_set_new(o, tw_pfields[i].key, json_real(*(const double *)((const char *)p + tw_pfields[i].off)));
    return o;
}

int tw_perturb_from_json(const json_t *obj, tw_perturb *p, char *msg, size_t msgsz)
{
    if (!json_is_object(obj))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "perturbation must be a JSON object");
    tw_perturb tmp;
    tw_perturb_none(&tmp);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (!json_is_number(v))
            return tw_errf(msg, msgsz, TW_ESCHEMA, "perturbation '%s' must be a number", key);
        int rc = tw_perturb_set(&tmp, key, json_number_value(v), msg, msgsz);
        if (rc)
            return rc;
    }
    *p = tmp;
    return 0;
}

/* ---- applying the physical part to a model copy ---- */

static void tw_perturb_scale_act(mjModel *m, int a, double k)
{
    m->actuator_gainprm[a * mjNGAIN] *= k;
    if (m->actuator_biastype[a] == mjBIAS_AFFINE) { /* servo: stiffness and damping, same target */
        m->actuator_biasprm[a * mjNBIAS + 1] *= k;
        m->actuator_biasprm[a * mjNBIAS + 2] *= k;
    }
}

/* The payload is a 3 cm solid sphere of payload_kg at the hand's centre of mass.  d: an mjData of m
 * (its state is reset here and is garbage afterwards). */
static void tw_perturb_add_payload(mjModel *m, mjData *d, int b, double kg)
{
    double r = 0.03, di = 0.4 * kg * r * r;
    m->body_mass[b] += kg;
    for (int k = 0; k < 3; k++)
        m->body_inertia[3 * b + k] += di;
    mj_resetData(m, d); /* mj_setConst reads mocap poses from d; make them the fresh-data ones */
    mj_setConst(m, d);  /* subtree masses, dof_M0, invweights follow the new mass */
}

/* Applies the physical fields of *p to r->m, which holds the nominal values of every field touched here. */
static void tw_perturb_apply(tw_robot *r, const tw_perturb *p, mjData *scratch)
{
    mjModel *m = r->m;
    for (int i = 0; i < r->njoint; i++) {
        m->dof_damping[r->vadr[i]] *= p->damping;
        m->dof_frictionloss[r->vadr[i]] *= p->friction;
        if (r->jact[i] >= 0)
            tw_perturb_scale_act(m, r->jact[i], p->gain);
    }
    for (int g = 0; g < r->ngrip_act; g++)
        tw_perturb_scale_act(m, r->grip_act[g], p->gain);
    if (p->payload_kg > 0)
        tw_perturb_add_payload(m, scratch, r->hand_body, p->payload_kg);
}

/* Copies back from the nominal model every field tw_perturb_apply can change: the scaled arrays, the
 * payload's mass and inertia, and everything mj_setConst (engine_setconst.c, MuJoCo 2.2) writes.  Keep in
 * step with tw_perturb_apply; test_physics' reperturb case compares every model array against a fresh copy. */
static void tw_perturb_restore(const mjModel *n, mjModel *m)
{
#define TW_RESTORE(f, len) memcpy(m->f, n->f, sizeof *m->f * (size_t)(len))
    TW_RESTORE(dof_damping, n->nv);
    TW_RESTORE(dof_frictionloss, n->nv);
    TW_RESTORE(actuator_gainprm, n->nu * mjNGAIN);
    TW_RESTORE(actuator_biasprm, n->nu * mjNBIAS);
    TW_RESTORE(body_mass, n->nbody);
    TW_RESTORE(body_inertia, 3 * n->nbody);
    /* mj_setConst's outputs */
    TW_RESTORE(body_subtreemass, n->nbody);
    TW_RESTORE(body_invweight0, 2 * n->nbody);
    TW_RESTORE(dof_M0, n->nv);
    TW_RESTORE(dof_invweight0, n->nv);
    TW_RESTORE(tendon_invweight0, n->ntendon);
    TW_RESTORE(tendon_lengthspring, n->ntendon);
    TW_RESTORE(actuator_acc0, n->nu);
    TW_RESTORE(eq_data, n->neq * mjNEQDATA);
    TW_RESTORE(cam_mode, n->ncam);
    TW_RESTORE(cam_pos0, 3 * n->ncam);
    TW_RESTORE(cam_poscom0, 3 * n->ncam);
    TW_RESTORE(cam_mat0, 9 * n->ncam);
    TW_RESTORE(light_mode, n->nlight);
    TW_RESTORE(light_pos0, 3 * n->nlight);
    TW_RESTORE(light_poscom0, 3 * n->nlight);
    TW_RESTORE(light_dir0, 3 * n->nlight);
#undef TW_RESTORE
    m->stat = n->stat;
}

int tw_robot_perturbed(const tw_robot *nominal, const tw_perturb *p, tw_robot **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_robot *r = malloc(sizeof *r);
    if (!r)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for a perturbed robot");
    *r = *nominal;
    r->m = tw_mj_copy_model(nominal->m, msg, msgsz);
    if (!r->m) {
        free(r);
        return TW_EMUJOCO;
    }
    for (int i = 0; i < r->njoint; i++)
        r->jname[i] = r->m->names + r->m->name_jntadr[r->jnt[i]]; /* point into the copy, not the nominal */
    mjData *d = NULL;
    if (p->payload_kg > 0 && !(d = tw_mj_make_data(r->m, msg, msgsz))) {
        tw_robot_close(r);
        return TW_EMUJOCO;
    }
    tw_perturb_apply(r, p, d);
    if (d)
        mj_deleteData(d);
    *out = r;
    return 0;
}

int tw_robot_reperturb(const tw_robot *nominal, const tw_perturb *p, tw_robot *dst, mjData *scratch, char *msg,
                       size_t msgsz)
{
    const mjModel *n = nominal->m, *m = dst->m;
    if (m == n || m->nbuffer != n->nbuffer || m->nv != n->nv || m->nu != n->nu || m->nbody != n->nbody ||
        dst->njoint != nominal->njoint || dst->hand_body != nominal->hand_body)
        return tw_errf(msg, msgsz, TW_EINVAL, "re-perturb: robot %s is not a perturbed copy of %s", dst->source,
                       nominal->source);
    mjData *d = scratch;
    if (!d && p->payload_kg > 0 && !(d = tw_mj_make_data(dst->m, msg, msgsz)))
        return TW_EMUJOCO; /* nothing changed yet */
    tw_perturb_restore(n, dst->m);
    tw_perturb_apply(dst, p, d);
    if (d != scratch)
        mj_deleteData(d);
    return 0;
}
