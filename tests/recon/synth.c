/* Synthetic episodes (see synth.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"
#include "tw_episode.h"
#include "tw_media.h"
#include "tw_sim.h"

#define CAM_W 160
#define CAM_H 120
#define CAM_FPS 30.0

void synth_opts_init(synth_opts *o)
{
    memset(o, 0, sizeof *o);
    o->perturb = "none";
    o->duration_s = 2;
    o->latency_ms = 1;
    o->seed = 7;
    o->status = TW_EP_COMPLETE;
    o->rename_joint = -1;
}

static void decl_fixed(tw_stream_decl *d, uint16_t id, const char *name, tw_kind kind, uint32_t n0,
                       uint32_t n1, double rate)
{
    memset(d, 0, sizeof *d);
    d->id = id;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->kind = kind;
    d->dtype = TW_DTYPE_FLOAT64;
    d->ndim = n1 ? 2 : 1;
    d->shape[0] = n0;
    d->shape[1] = n1;
    d->rate_hz = rate;
}

static int make_decls(const tw_robot *r, const synth_opts *o, double rate, tw_stream_decl *d, size_t *nd)
{
    int nj = r->njoint, nu = r->m->nu;
    decl_fixed(&d[0], 1, "joint_state", TW_KIND_JOINT_STATE, 3, (uint32_t)nj, rate);
    d[0].naxes = (uint32_t)nj;
    for (int j = 0; j < nj; j++)
        snprintf(d[0].axes[j], TW_MAX_NAME, "%s", j == o->rename_joint ? "bogus_joint" : r->jname[j]);
    snprintf(d[0].units, sizeof d[0].units, "rad;rad/s;N*m");
    decl_fixed(&d[1], 2, "wrench", TW_KIND_WRENCH, 6, 0, rate);
    snprintf(d[1].frame, sizeof d[1].frame, "%s", TW_FT_SITE_NAME);
    decl_fixed(&d[2], 3, "action", TW_KIND_ACTION, (uint32_t)nu, 0, 100);
    d[2].naxes = (uint32_t)nu;
    for (int a = 0; a < nu; a++) {
        const char *n = mj_id2name(r->m, mjOBJ_ACTUATOR, a);
        snprintf(d[2].axes[a], TW_MAX_NAME, "%s", n ? n : "act");
    }
    *nd = 3;
    if (r->object_body >= 0) { /* the object's free-joint state, as the rig streams it */
        decl_fixed(&d[*nd], 5, "object_state", TW_KIND_TENSOR, 13, 0, rate);
        (*nd)++;
    }
    if (o->with_video_index) {
        tw_stream_decl *v = &d[*nd];
        memset(v, 0, sizeof *v);
        v->id = 4;
        snprintf(v->name, sizeof v->name, "cam0");
        v->kind = TW_KIND_VIDEO;
        v->dtype = TW_DTYPE_BYTES;
        v->encoding = TW_VIDEO_RGB24;
        v->width = CAM_W;
        v->height = CAM_H;
        v->rate_hz = CAM_FPS;
        (*nd)++;
    }
    return 0;
}

static int put(tw_episode_writer *w, uint16_t id, uint64_t seq, int64_t t_src, int64_t t_recv, const void *p,
               uint32_t len, uint16_t flags, char *msg, size_t msgsz)
{
    tw_frame f = {.stream_id = id, .flags = flags, .payload_len = len, .seq = seq, .t_src_ns = t_src, .payload = p};
    return tw_episode_append(w, &f, t_recv, msg, msgsz);
}

/* One physics step's worth of frames; obj: the object's pos, quat, linvel, angvel or NULL. */
static int write_step(tw_episode_writer *w, const synth_opts *o, const tw_sample *s, const double *obj,
                      int new_action, const double *action, int nu, uint64_t k, uint64_t *nact, char *msg,
                      size_t msgsz)
{
    int64_t off = (int64_t)llround(o->clock_offset_ms * 1e6), lat = (int64_t)llround(o->latency_ms * 1e6);
    int64_t t = (int64_t)llround(s->t * 1e9);
    int nj = s->njoint;
    double js[3 * TW_ROBOT_MAX_JOINTS];
    memcpy(js, s->qpos, nj * sizeof(double));
    memcpy(js + nj, s->qvel, nj * sizeof(double));
    memcpy(js + 2 * nj, s->effort, nj * sizeof(double));
    int rc = put(w, 1, k, t + off, t + lat, js, (uint32_t)(3 * nj * sizeof(double)), 0, msg, msgsz);
    if (rc == 0)
        rc = put(w, 2, k, t + off, t + lat, s->wrench, 6 * sizeof(double), 0, msg, msgsz);
    if (rc == 0 && obj)
        rc = put(w, 5, k, t + off, t + lat, obj, 13 * sizeof(double), 0, msg, msgsz);
    if (rc == 0 && new_action)
        rc = put(w, 3, (*nact)++, t + off, t + lat, action, (uint32_t)(nu * sizeof(double)), 0, msg, msgsz);
    return rc;
}

static int write_frame(tw_episode_writer *w, const synth_opts *o, uint64_t i, char *msg, size_t msgsz)
{
    static uint8_t rgb[CAM_W * CAM_H * 3];
    int rc = tw_framecode_pattern(rgb, CAM_W, CAM_H, CAM_W * 3, (uint32_t)i, msg, msgsz);
    int64_t t = (int64_t)llround((double)i / CAM_FPS * 1e9);
    int64_t off = (int64_t)llround(o->clock_offset_ms * 1e6);
    if (rc == 0)
        rc = put(w, 4, i, t + off, t + 5000000, rgb, sizeof rgb, TW_FLAG_KEYFRAME, msg, msgsz);
    return rc;
}

static int roll(tw_episode_writer *w, tw_sim *sim, const tw_robot *r, const synth_opts *o, char *msg,
                size_t msgsz)
{
    double h = tw_sim_timestep(sim), action[TW_ROBOT_MAX_ACT];
    uint64_t n = (uint64_t)llround(o->duration_s / h), nact = 0, nframe = 0;
    double stop = o->stop_at_s > 0 ? o->stop_at_s : 1e300;
    int64_t off = (int64_t)llround(o->clock_offset_ms * 1e6);
    for (uint64_t k = 0; k < n; k++) {
        tw_sample clean, noisy;
        int new_action = 0;
        tw_op_event ev;
        double obj[13];
        if (r->object_body >= 0) { /* state at t: before the step */
            const mjData *d = tw_sim_data(sim);
            int dof = r->m->jnt_dofadr[r->m->body_jntadr[r->object_body]];
            memcpy(obj, d->qpos + r->object_qadr, 7 * sizeof(double));
            memcpy(obj + 7, d->qvel + dof, 6 * sizeof(double));
        }
        int rc = tw_sim_step(sim, &clean, &noisy, &new_action, action, &ev, msg, msgsz);
        if (rc < 0)
            return rc;
        if (clean.t >= stop)
            break;
        int in_gap = clean.t >= o->object_gap_s[0] && clean.t < o->object_gap_s[1];
        if ((rc = write_step(w, o, &noisy, r->object_body >= 0 && !in_gap ? obj : NULL, new_action, action,
                             r->m->nu, k, &nact, msg, msgsz)) < 0)
            return rc;
        while (o->with_video_index && (double)nframe / CAM_FPS <= clean.t)
            if ((rc = write_frame(w, o, nframe++, msg, msgsz)) < 0)
                return rc;
        if (k % (uint64_t)llround(0.5 / h) == 0) /* ping/pong estimate; RTT 2 ms */
            tw_episode_clock(w, (int64_t)llround(clean.t * 1e9), off, 2000000);
    }
    return 0;
}

int synth_episode(const char *dir, const synth_opts *o, char *msg, size_t msgsz)
{
    tw_mj_init();
    tw_robot *r = NULL;
    tw_sim *sim = NULL;
    tw_episode_writer *w = NULL;
    tw_perturb p;
    tw_perturb_none(&p);
    int rc = tw_perturb_parse(o->perturb, &p, msg, msgsz);
    if (rc == 0)
        rc = tw_robot_load(o->model, &r, msg, msgsz);
    tw_sim_opts so;
    tw_sim_opts_init(&so);
    so.seed = o->seed;
    if (rc == 0)
        rc = tw_sim_new(r, &p, &so, &sim, msg, msgsz);
    tw_stream_decl d[5];
    size_t nd = 0;
    if (rc == 0) {
        tw_sim_reset(sim, 0);
        make_decls(r, o, 1.0 / tw_sim_timestep(sim), d, &nd);
        tw_episode_info info;
        tw_episode_info_init(&info);
        const char *slash = strrchr(dir, '/');
        info.episode_id = slash ? slash + 1 : dir;
        info.task = "synthetic reach";
        info.domain = "real";
        info.robot = o->model ? o->model : "builtin";
        tw_media_use_for_episodes(); /* synthetic episodes may have a camera */
        rc = tw_episode_create(dir, &info, d, nd, &w, msg, msgsz);
    }
    if (rc == 0)
        rc = roll(w, sim, r, o, msg, msgsz);
    if (w) {
        char m2[256];
        int rc2 = tw_episode_close(w, rc == 0 ? o->status : TW_EP_ERROR, 1, m2, sizeof m2);
        if (rc == 0 && rc2 < 0) {
            snprintf(msg, msgsz, "%s", m2);
            rc = rc2;
        }
    }
    tw_sim_free(sim);
    tw_robot_close(r);
    return rc;
}
