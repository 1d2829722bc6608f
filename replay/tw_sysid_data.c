/* Sysid data: kept timesteps of aligned episodes (or samples fed directly), classified for robot
 * contacts once, with the nominal model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"
#include "tw_sysid_int.h"

int tw_sysid_data_new(const tw_robot *nominal, int sim_integrator, tw_sysid_data **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_sysid_data *sd = calloc(1, sizeof *sd);
    if (!sd)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for sysid data");
    sd->nominal = nominal;
    sd->sim_integrator = sim_integrator;
    sd->root = nominal->m->body_rootid[nominal->m->jnt_bodyid[nominal->jnt[0]]];
    if (!(sd->d = tw_mj_make_data(nominal->m, msg, msgsz))) {
        free(sd);
        return TW_EMUJOCO;
    }
    tw_robot_home(nominal, sd->d);
    *out = sd;
    return 0;
}

void tw_sysid_data_free(tw_sysid_data *sd)
{
    if (!sd)
        return;
    if (sd->d)
        mj_deleteData(sd->d);
    free(sd->s);
    free(sd->contact);
    free(sd);
}

size_t tw_sysid_data_count(const tw_sysid_data *sd) { return sd ? sd->n : 0; }

/* 1 when a contact involves a body of the robot's tree (object grasped, finger on the table...):
 * those forces are not recorded, so the step cannot test inverse dynamics or the F/T sensor. */
static int robot_contact(tw_sysid_data *sd, const tw_sysid_sample *s)
{
    const tw_robot *r = sd->nominal;
    const mjModel *m = r->m;
    mjData *d = sd->d;
    for (int j = 0; j < r->njoint; j++) {
        d->qpos[r->qadr[j]] = s->qpos[j];
        d->qvel[r->vadr[j]] = s->qvel[j];
    }
    if (s->have_object && r->object_qadr >= 0) {
        int dof = m->jnt_dofadr[m->body_jntadr[r->object_body]];
        mju_copy(d->qpos + r->object_qadr, s->object, 7);
        mju_copy(d->qvel + dof, s->object + 7, 6);
    }
    mj_fwdPosition(m, d);
    for (int i = 0; i < d->ncon; i++) {
        int b1 = m->geom_bodyid[d->contact[i].geom1], b2 = m->geom_bodyid[d->contact[i].geom2];
        if (m->body_rootid[b1] == sd->root || m->body_rootid[b2] == sd->root)
            return 1;
    }
    return 0;
}

int tw_sysid_data_add(tw_sysid_data *sd, const tw_sysid_sample *s, char *msg, size_t msgsz)
{
    if (s->segment < 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid sample: negative segment %d", s->segment);
    int nj = sd->nominal->njoint;
    for (int j = 0; j < nj; j++)
        if (!isfinite(s->qpos[j]) || !isfinite(s->qvel[j]) || !isfinite(s->qacc[j]) || !isfinite(s->effort[j]))
            return tw_errf(msg, msgsz, TW_EINVAL, "sysid sample (segment %d, step %llu): joint %s is not finite",
                           s->segment, (unsigned long long)s->step, sd->nominal->jname[j]);
    if (sd->n == sd->cap) {
        size_t cap = sd->cap ? 2 * sd->cap : 1024;
        tw_sysid_sample *ns = realloc(sd->s, cap * sizeof *ns);
        if (ns)
            sd->s = ns;
        uint8_t *nc = ns ? realloc(sd->contact, cap) : NULL;
        if (!nc)
            return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for %zu sysid samples", cap);
        sd->contact = nc;
        sd->cap = cap;
    }
    sd->s[sd->n] = *s;
    sd->contact[sd->n] = (uint8_t)robot_contact(sd, s);
    sd->n++;
    if (s->segment >= sd->nsegments)
        sd->nsegments = s->segment + 1;
    return 0;
}

/* ---- episodes ---- */

typedef struct {
    tw_episode *ep;
    tw_align *al;
    tw_recon_map map;
    int js, wr, act, obj;        /* indices into the alignment's streams, -1 = none */
    tw_sysid_qacc mode;          /* estimator for this episode (AUTO: decided on the first block) */
    uint64_t stride;
    uint32_t lag;                /* latency in timeline steps */
    double *ring;                /* [lag + 1 x nu] applied-ctrl delay line */
    uint64_t pushed;
    double home_ctrl[TW_ROBOT_MAX_ACT];
} ep_reader;

static int ep_open(tw_sysid_data *sd, ep_reader *R, const char *dir, const tw_sysid_opts *o, char *msg,
                   size_t msgsz)
{
    int rc = tw_episode_open(dir, &R->ep, msg, msgsz);
    if (rc < 0)
        return rc;
    tw_align_opts ao = o->align;
    ao.halo = o->sg_half > 1 ? o->sg_half : 1;
    if ((rc = tw_align_open_episode(R->ep, &ao, &R->al, msg, msgsz)) < 0)
        return rc;
    R->js = tw_align_find(R->al, TW_KIND_JOINT_STATE, NULL);
    R->wr = tw_align_find(R->al, TW_KIND_WRENCH, NULL);
    R->act = tw_align_find(R->al, TW_KIND_ACTION, NULL);
    R->obj = tw_align_find(R->al, TW_KIND_TENSOR, "object_state");
    const tw_align_info *in = tw_align_get_info(R->al);
    if (R->js < 0 || in->reference != (size_t)R->js)
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "episode %s: no joint_state stream to fit on", dir);
    if (R->obj >= 0 && in->streams[R->obj].elems != 13)
        R->obj = -1; /* not the rig's free-joint state */
    rc = tw_recon_map_build(sd->nominal, in->streams[R->js].decl, R->act >= 0 ? in->streams[R->act].decl : NULL,
                            o->map_path, &R->map, msg, msgsz);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", (msg && *msg) ? msg : tw_strerror(rc));
        return tw_errf(msg, msgsz, rc, "episode %s: %s", dir, why);
    }
    uint64_t keep = o->max_samples ? o->max_samples : 5000;
    R->stride = (in->nsteps + keep - 1) / keep;
    if (R->stride < 1)
        R->stride = 1;
    R->lag = (uint32_t)llround(o->latency_ms * 1e-3 * in->rate_hz);
    int nu = sd->nominal->m->nu;
    if (!(R->ring = calloc((size_t)(R->lag + 1) * (size_t)(nu ? nu : 1), sizeof(double))))
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid: latency delay line of %u steps", R->lag);
    for (int a = 0; a < nu && a < TW_ROBOT_MAX_ACT; a++)
        R->home_ctrl[a] = sd->d->ctrl[a];
    return 0;
}

static void ep_close(ep_reader *R)
{
    free(R->ring);
    tw_align_close(R->al);
    tw_episode_close_reader(R->ep);
}

/* Pushes the action commanded at block row r and returns the one applied now (lag steps older). */
static const double *ep_applied_ctrl(ep_reader *R, const tw_align_block *b, uint32_t r, int nu)
{
    double *slot = R->ring + (size_t)(R->pushed % (R->lag + 1)) * (size_t)nu;
    for (int a = 0; a < nu; a++) {
        int c = R->act >= 0 && R->map.actions_ok ? R->map.act_col[a] : -1;
        slot[a] = c >= 0 ? b->values[R->act][(size_t)r * R->map.nact + c] : R->home_ctrl[a];
    }
    R->pushed++;
    if (R->pushed <= R->lag)
        return R->home_ctrl; /* before the first commanded action reached the actuators */
    return R->ring + (size_t)((R->pushed - 1 - R->lag) % (R->lag + 1)) * (size_t)nu;
}

/* Whether the actuators applied the same action at block rows x and y (no action: always). */
static int act_same(const ep_reader *R, const tw_align_block *b, int64_t x, int64_t y)
{
    if (R->act < 0 || !R->map.actions_ok || x < (int64_t)R->lag || y < (int64_t)R->lag)
        return 1; /* unknown before the delay line fills: do not cut */
    size_t n = (size_t)R->map.nact;
    const double *a = b->values[R->act];
    return !memcmp(a + (size_t)(x - R->lag) * n, a + (size_t)(y - R->lag) * n, n * sizeof(double));
}

/* Smoothed qacc for noisy velocities: least-squares quadratic through qvel over up to h rows either
 * side of r, its derivative taken at r + 1/2 (the interval the discrete qacc of row r describes).
 * The window never crosses a change of the applied action: a servo's acceleration jumps there, and
 * a window across the jump (as a plain Savitzky-Golay filter would use) blurs it into a bias.
 * Rows r..r+1 must exist; returns 0 otherwise. */
static int ep_qacc_fit(const ep_reader *R, const tw_align_block *b, uint32_t r, uint32_t h, double dt, double *acc)
{
    int N = R->map.nrec;
    size_t st = (size_t)3 * N;
    const double *v = b->values[R->js] + N;
    const uint8_t *q = b->quality[R->js];
    int64_t lo = r, hi = r;
    while (lo > (int64_t)r - (int64_t)h && lo > 0 && !(q[lo - 1] & TW_Q_INVALID) && act_same(R, b, lo - 1, r))
        lo--;
    while (hi < (int64_t)r + (int64_t)h && hi + 1 < b->nrows && !(q[hi + 1] & TW_Q_INVALID) && act_same(R, b, hi, r))
        hi++;
    if (hi == r)
        return 0;
    double S[5] = {0}, w[64];
    for (int64_t j = lo - r; j <= hi - r; j++)
        for (int k = 0, p = 1; k < 5; k++, p *= (int)j)
            S[k] += p;
    int quad = hi - lo >= 2; /* three points or more; two give the forward difference */
    double det = S[0] * (S[2] * S[4] - S[3] * S[3]) - S[1] * (S[1] * S[4] - S[2] * S[3]) + S[2] * (S[1] * S[3] - S[2] * S[2]);
    if (quad && !(fabs(det) > 0))
        return 0;
    for (int64_t j = lo - r; j <= hi - r; j++) {
        double jj = (double)j;
        if (!quad) { /* lo == r, hi == r + 1 */
            w[j - (lo - r)] = j == 0 ? -1 : 1;
            continue;
        }
        /* rows 1 and 2 of the inverse normal matrix (cofactors / det), applied to (1, j, j^2) */
        double i10 = -(S[1] * S[4] - S[3] * S[2]), i11 = S[0] * S[4] - S[2] * S[2], i12 = -(S[0] * S[3] - S[1] * S[2]);
        double i20 = S[1] * S[3] - S[2] * S[2], i21 = -(S[0] * S[3] - S[2] * S[1]), i22 = S[0] * S[2] - S[1] * S[1];
        double c1 = (i10 + i11 * jj + i12 * jj * jj) / det, c2 = (i20 + i21 * jj + i22 * jj * jj) / det;
        w[j - (lo - r)] = c1 + c2; /* d/dj (c0 + c1 j + c2 j^2) at j = 1/2 */
    }
    for (int c = 0; c < N; c++) {
        double a = 0;
        for (int64_t x = lo; x <= hi; x++)
            a += w[x - lo] * v[(size_t)x * st + c];
        acc[c] = a / dt;
    }
    return 1;
}

/* qacc of the recorded columns at block row r; 0 when the row cannot give one. */
static int ep_qacc(const ep_reader *R, const tw_align_block *b, uint32_t r, const tw_sysid_opts *o, double dt,
                   double *acc)
{
    int N = R->map.nrec;
    size_t st = (size_t)3 * N;
    const double *v = b->values[R->js] + N;
    const uint8_t *q = b->quality[R->js];
    if (R->mode == TW_SYSID_QACC_DISCRETE) {
        if (r + 1 >= b->nrows || (q[r + 1] & TW_Q_INVALID))
            return 0;
        for (int c = 0; c < N; c++)
            acc[c] = (v[(r + 1) * st + c] - v[r * st + c]) / dt;
        return 1;
    }
    return ep_qacc_fit(R, b, r, o->sg_half < 30 ? o->sg_half : 30, dt, acc);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_abs(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
    return n ? x[n / 2] : 0;
}

/* AUTO: is the recorded qvel noisy?  Differences of white noise grow with their order
 * (std of the 2nd difference sqrt(6) sigma, of the 3rd sqrt(20) sigma: ratio 1.83), while a
 * MuJoCo-integrated, noise-free velocity is smooth between action changes and its higher
 * differences shrink.  Medians keep the action-change kinks out.  Judged on the first block. */
static tw_sysid_qacc ep_pick_mode(const ep_reader *R, const tw_align_block *b)
{
    int N = R->map.nrec;
    size_t st = (size_t)3 * N, n = 0;
    const double *v = b->values[R->js] + N;
    const uint8_t *q = b->quality[R->js];
    double *d2 = malloc(sizeof(double) * (size_t)b->nrows * (size_t)N);
    double *d3 = malloc(sizeof(double) * (size_t)b->nrows * (size_t)N);
    tw_sysid_qacc mode = TW_SYSID_QACC_SG; /* the safe choice */
    for (uint32_t r = 1; d2 && d3 && r + 2 < b->nrows; r++) {
        if ((q[r - 1] | q[r] | q[r + 1] | q[r + 2]) & TW_Q_INVALID)
            continue;
        for (int c = 0; c < N; c++) {
            const double *x = v + (size_t)(r - 1) * st + c;
            d2[n] = fabs(x[2 * st] - 2 * x[st] + x[0]);
            d3[n++] = fabs(x[3 * st] - 3 * x[2 * st] + 3 * x[st] - x[0]);
        }
    }
    if (n >= 16) {
        double m2 = median_abs(d2, n), m3 = median_abs(d3, n);
        mode = m3 <= 1.2 * m2 ? TW_SYSID_QACC_DISCRETE : TW_SYSID_QACC_SG;
    }
    free(d2);
    free(d3);
    return mode;
}

static void ep_fill(const tw_sysid_data *sd, const ep_reader *R, const tw_align_block *b, uint32_t r,
                    const double *acc, const double *ctrl, tw_sysid_sample *s)
{
    const tw_recon_map *mp = &R->map;
    int N = mp->nrec;
    const double *row = b->values[R->js] + (size_t)r * 3 * N;
    for (int j = 0; j < mp->nj; j++) {
        int c = mp->col[j];
        s->qpos[j] = row[c];
        s->qvel[j] = row[N + c];
        s->effort[j] = row[2 * N + c];
        s->qacc[j] = acc[c];
    }
    s->have_wrench = R->wr >= 0 && !(b->quality[R->wr][r] & TW_Q_INVALID);
    if (s->have_wrench)
        memcpy(s->wrench, b->values[R->wr] + (size_t)r * 6, sizeof s->wrench);
    s->have_ctrl = R->act >= 0 && mp->actions_ok;
    memcpy(s->ctrl, ctrl, sizeof(double) * (size_t)sd->nominal->m->nu);
    s->have_object = R->obj >= 0 && !(b->quality[R->obj][r] & TW_Q_INVALID);
    if (s->have_object)
        memcpy(s->object, b->values[R->obj] + (size_t)r * 13, sizeof s->object);
}

static int ep_pass(tw_sysid_data *sd, ep_reader *R, const tw_sysid_opts *o, int segment, char *msg, size_t msgsz)
{
    const tw_align_info *in = tw_align_get_info(R->al);
    double dt = 1.0 / in->rate_hz, acc[TW_ROBOT_MAX_JOINTS];
    int nu = sd->nominal->m->nu, rc;
    tw_align_block b;
    tw_sysid_sample s;
    memset(&s, 0, sizeof s);
    s.segment = segment;
    while ((rc = tw_align_next(R->al, &b, msg, msgsz)) == 1) {
        if (R->mode == TW_SYSID_QACC_AUTO)
            R->mode = ep_pick_mode(R, &b);
        for (uint32_t i = 0; i < b.ncore; i++) {
            uint32_t r = b.halo_lo + i;
            uint64_t step = b.first + r;
            const double *ctrl = ep_applied_ctrl(R, &b, r, nu); /* every row: the delay line moves */
            if (step % R->stride || (b.quality[R->js][r] & TW_Q_INVALID) || !ep_qacc(R, &b, r, o, dt, acc))
                continue;
            s.step = step;
            ep_fill(sd, R, &b, r, acc, ctrl, &s);
            if ((rc = tw_sysid_data_add(sd, &s, msg, msgsz)) < 0)
                return rc;
        }
    }
    return rc;
}

int tw_sysid_data_add_episode(tw_sysid_data *sd, const char *dir, const tw_sysid_opts *o, int segment, char *msg,
                              size_t msgsz)
{
    if (o->sim_integrator != sd->sim_integrator)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: options and data set disagree on sim_integrator");
    ep_reader R;
    memset(&R, 0, sizeof R);
    R.mode = o->qacc;
    size_t before = sd->n;
    int rc = ep_open(sd, &R, dir, o, msg, msgsz);
    if (rc == 0)
        rc = ep_pass(sd, &R, o, segment, msg, msgsz);
    ep_close(&R);
    if (rc == 0 && sd->n == before)
        rc = tw_errf(msg, msgsz, TW_EINVAL, "episode %s: no usable timestep (gaps or too short)", dir);
    if (rc < 0)
        sd->n = before; /* all or nothing */
    else if (R.mode == TW_SYSID_QACC_DISCRETE)
        sd->n_discrete++;
    else
        sd->n_sg++;
    return rc < 0 ? rc : 0;
}
