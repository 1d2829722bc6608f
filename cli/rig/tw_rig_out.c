/* The rig's options, and its outgoing side: the latency delay line and the ground-truth file (its stream
 * declarations are the simulated robot's, tw_sim_stream_decls). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tw_rig_int.h"

void tw_rig_opts_init(tw_rig_opts *o)
{
    memset(o, 0, sizeof *o);
    o->task = "pick and place the red box";
    o->episodes = 1;
    o->duration_s = 10;
    o->seed = 1;
    tw_perturb_none(&o->perturb);
    tw_perturb_parse(TW_RIG_DEFAULT_PERTURB, &o->perturb, NULL, 0);
    o->perturb.noise = TW_RIG_DEFAULT_NOISE;
    o->speed = 1;
    o->js_rate = TW_SIM_DEFAULT_JS_RATE;
    o->action_rate = TW_SIM_DEFAULT_ACTION_RATE;
    o->ft_rate = TW_SIM_DEFAULT_FT_RATE;
    o->cameras[0] = "pattern";
    o->ncameras = 1;
    o->cam_width = 640;
    o->cam_height = 480;
    o->cam_fps = 30;
    o->max_retries = 5;
    o->connect_timeout_ms = 15000;
}

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
    case TW_SIM_SID_JS: return &res->joint_state;
    case TW_SIM_SID_WRENCH: return &res->wrench;
    case TW_SIM_SID_ACTION: return &res->action;
    case TW_SIM_SID_OBJECT: return &res->object;
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
