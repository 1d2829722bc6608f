/* The rig's outgoing side: stream declarations, the latency delay line and the ground-truth file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tw_rig_int.h"

int tw_rig_delay_init(tw_rig_delay *q, double latency_s, double rate_sum_hz, char *msg, size_t msgsz)
{
    memset(q, 0, sizeof *q);
    /* everything produced during one latency window, plus one physics step of slack, plus events */
    double n = ceil((latency_s + 0.05) * rate_sum_hz) + 64;
    if (n > 1e6)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "latency %.0f ms needs a delay line of %.0f samples (limit 1e6)",
                       latency_s * 1e3, n);
    q->cap = (size_t)n;
    if (!(q->items = malloc(q->cap * sizeof *q->items)))
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for a %zu-sample delay line", q->cap);
    return 0;
}

void tw_rig_delay_free(tw_rig_delay *q)
{
    free(q->items);
    q->items = NULL;
}

int tw_rig_delay_push(tw_rig_delay *q, double release_g, uint16_t sid, int64_t t_src_ns, const void *p, size_t len)
{
    if (q->len == q->cap || len > TW_RIG_ITEM_MAX)
        return TW_EFULL;
    tw_rig_item *it = &q->items[(q->head + q->len) % q->cap];
    it->release_g = release_g;
    it->sid = sid;
    it->t_src_ns = t_src_ns;
    it->len = (uint16_t)len;
    memcpy(it->payload, p, len);
    q->len++;
    return 0;
}

static uint64_t *tw_rig_counter(tw_rig_result *res, uint16_t sid)
{
    switch (sid) {
    case TW_RIG_SID_JS: return &res->joint_state;
    case TW_RIG_SID_WRENCH: return &res->wrench;
    case TW_RIG_SID_ACTION: return &res->action;
    case TW_RIG_SID_OBJECT: return &res->object;
    default: return &res->events;
    }
}

int tw_rig_delay_release(tw_rig_delay *q, double g, tw_client *c, tw_rig_result *res, char *msg, size_t msgsz)
{
    while (q->len) {
        tw_rig_item *it = &q->items[q->head];
        if (it->release_g > g + 1e-9)
            break;
        int rc = tw_client_send(c, it->sid, it->t_src_ns, 0, it->payload, it->len);
        if (rc && rc != TW_EFULL) /* EFULL is a counted drop (client stats); anything else ends the run */
            return tw_errf(msg, msgsz, rc, "sending on stream %u: %s", it->sid, tw_strerror(rc));
        if (!rc)
            ++*tw_rig_counter(res, it->sid);
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    return 0;
}

static void tw_rig_axes(tw_stream_decl *d, int n, const char *const *names)
{
    d->naxes = (uint32_t)n;
    for (int i = 0; i < n; i++)
        snprintf(d->axes[i], sizeof d->axes[i], "%s", names[i]);
}

int tw_rig_stream_decls(const tw_robot *r, double js_rate, double ft_rate, double action_rate, tw_stream_decl d[5])
{
    static const char *const wrench_axes[] = {"fx", "fy", "fz", "tx", "ty", "tz"};
    static const char *const object_axes[] = {"x", "y", "z", "qw", "qx", "qy", "qz", "vx", "vy", "vz", "wx", "wy", "wz"};
    const mjModel *m = r->m;
    const char *act[TW_ROBOT_MAX_ACT];
    char actbuf[TW_ROBOT_MAX_ACT][32];
    for (int a = 0; a < m->nu && a < TW_ROBOT_MAX_ACT; a++) {
        const char *nm = m->names + m->name_actuatoradr[a];
        if (!*nm) { /* unnamed actuators get a stable positional name */
            snprintf(actbuf[a], sizeof actbuf[a], "actuator%d", a);
            nm = actbuf[a];
        }
        act[a] = nm;
    }
    memset(d, 0, 5 * sizeof *d);
    d[0] = (tw_stream_decl){.id = TW_RIG_SID_JS, .kind = TW_KIND_JOINT_STATE, .dtype = TW_DTYPE_FLOAT64, .ndim = 2,
                            .shape = {3, (uint32_t)r->njoint}, .rate_hz = js_rate};
    snprintf(d[0].name, sizeof d[0].name, "joint_state");
    snprintf(d[0].units, sizeof d[0].units, "rad|m;rad/s|m/s;N*m|N");
    tw_rig_axes(&d[0], r->njoint, r->jname);
    d[1] = (tw_stream_decl){.id = TW_RIG_SID_WRENCH, .kind = TW_KIND_WRENCH, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {6}, .rate_hz = ft_rate};
    snprintf(d[1].name, sizeof d[1].name, "wrench");
    snprintf(d[1].units, sizeof d[1].units, "N;N*m");
    snprintf(d[1].frame, sizeof d[1].frame, TW_FT_SITE_NAME);
    tw_rig_axes(&d[1], 6, wrench_axes);
    d[2] = (tw_stream_decl){.id = TW_RIG_SID_ACTION, .kind = TW_KIND_ACTION, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {(uint32_t)m->nu}, .rate_hz = action_rate};
    snprintf(d[2].name, sizeof d[2].name, "action");
    snprintf(d[2].units, sizeof d[2].units, "ctrl");
    tw_rig_axes(&d[2], m->nu, act);
    d[3] = (tw_stream_decl){.id = TW_RIG_SID_EVENTS, .kind = TW_KIND_EVENT, .dtype = TW_DTYPE_BYTES, .rate_hz = 1};
    snprintf(d[3].name, sizeof d[3].name, "events");
    if (r->object_body < 0)
        return 4;
    /* the object's free-joint state (motion capture): replay needs it to reconstruct contacts */
    d[4] = (tw_stream_decl){.id = TW_RIG_SID_OBJECT, .kind = TW_KIND_TENSOR, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {13}, .rate_hz = js_rate};
    snprintf(d[4].name, sizeof d[4].name, "object_state");
    snprintf(d[4].units, sizeof d[4].units, "m;1;m/s;rad/s");
    snprintf(d[4].frame, sizeof d[4].frame, "world:%s", r->m->names + r->m->name_bodyadr[r->object_body]);
    tw_rig_axes(&d[4], 13, object_axes);
    return 5;
}

int tw_rig_write_truth(const tw_rig_opts *o, const tw_robot *r, const tw_rig_result *res, char *msg, size_t msgsz)
{
    if (!o->truth_path)
        return 0;
    const tw_perturb *p = &o->perturb;
    json_t *root = json_object(), *joints = json_array(), *ids = json_array();
    for (int i = 0; i < r->njoint; i++)
        json_array_append_new(joints, json_string(r->jname[i]));
    for (int i = 0; res && i < res->episodes_done && i < 64; i++)
        json_array_append_new(ids, json_string(res->episode_ids[i]));
    const tw_noise_sigma *s = &tw_noise_sigma_unit;
    json_object_set_new(root, "format", json_string("teleworld.rig_truth"));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(root, "model", json_string(o->model ? o->model : "builtin"));
    json_object_set_new(root, "perturbation", tw_perturb_to_json(p));
    json_object_set_new(root, "noise", json_real(p->noise));
    json_object_set_new(root, "noise_sigma",
                        json_pack("{s:f,s:f,s:f,s:f,s:f}", "qpos", s->qpos * p->noise, "qvel", s->qvel * p->noise,
                                  "effort", s->effort * p->noise, "force", s->force * p->noise, "torque",
                                  s->torque * p->noise));
    json_object_set_new(root, "effort", json_string("qfrc_actuator: actuator generalized force at each joint dof"));
    json_object_set_new(root, "joints", joints);
    json_object_set_new(root, "episodes", json_integer(o->episodes));
    json_object_set_new(root, "duration_s", json_real(o->duration_s));
    json_object_set_new(root, "speed", json_real(o->speed));
    json_object_set_new(root, "rates_hz", json_pack("{s:f,s:f,s:f}", "joint_state", o->js_rate, "action",
                                                    o->action_rate, "wrench", o->ft_rate));
    json_object_set_new(root, "episode_ids", ids);
    if (res)
        json_object_set_new(root, "sent", json_pack("{s:I,s:I,s:I,s:I}", "joint_state", (json_int_t)res->joint_state,
                                                    "wrench", (json_int_t)res->wrench, "action",
                                                    (json_int_t)res->action, "events", (json_int_t)res->events));
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", o->truth_path);
    int rc = 0;
    if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "writing ground truth %s: %s", tmp, strerror(errno));
    else if (rename(tmp, o->truth_path) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "renaming %s to %s: %s", tmp, o->truth_path, strerror(errno));
    json_decref(root);
    return rc;
}
