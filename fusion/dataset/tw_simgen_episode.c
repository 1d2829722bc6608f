/* One simulated episode: tw_sim rollout -> episode writer, with the rig's stream declarations
 * (tw_sim_stream_decls: joint_state, wrist_ft, action, events, object_state) and sampling schedule, so a sim
 * episode looks like one the recorder captured from `tw rig`. Timestamps are simulated time; receive
 * times lag by the sampled latency_ms, as the rig's delay line would deliver them; no clock offset. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tw_simgen_int.h"

#define BATCH 512 /* frames buffered before one locked flush */

void tw_simgen_episode_name(uint64_t seed, uint64_t episode, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "sim-s%llu-%06llu", (unsigned long long)seed, (unsigned long long)episode);
}

#define ITEM_MAX 1024 /* payload bytes of one signal sample (3 x 32 x 8 = 768 max) */

/* One buffered frame; release_g is its receive delay (s). */
typedef struct {
    double release_g;
    int64_t t_src_ns;
    uint16_t sid, len;
    uint8_t payload[ITEM_MAX];
} item;

/* Frames buffered between flushes. */
typedef struct {
    size_t n;
    item it[BATCH];
    uint64_t seq[TW_SIM_SID_OBJECT + 1];
} batch;

/* The rig's default sampling rates (Hz): simgen's schedule is the rig's. */
typedef struct {
    double js_rate, ft_rate, action_rate;
} rates;
static const rates sim_rates = {TW_SIM_DEFAULT_JS_RATE, TW_SIM_DEFAULT_FT_RATE, TW_SIM_DEFAULT_ACTION_RATE};

/* Appends only journal records (no HDF5): threads need no lock here; tw_episode_close takes the one
 * HDF5 lock (bridge/h5) itself when it builds episode.h5. */
static int flush(batch *b, tw_episode_writer *w, char *msg, size_t msgsz)
{
    int rc = 0;
    for (size_t i = 0; i < b->n && !rc; i++) {
        const item *it = &b->it[i];
        tw_frame f = {.stream_id = it->sid, .payload_len = it->len, .seq = b->seq[it->sid]++,
                      .t_src_ns = it->t_src_ns, .payload = it->payload};
        /* received latency_ms after the source time, as the rig's delay line would deliver it */
        rc = tw_episode_append(w, &f, it->t_src_ns + (int64_t)llround(it->release_g * 1e9), msg, msgsz);
    }
    b->n = 0;
    return rc;
}

/* Queues one frame; release_g holds the receive delay (s). */
static int push(batch *b, const tw_simgen_episode *job, tw_episode_writer *w, uint16_t sid, double t, const void *p,
                size_t len, char *msg, size_t msgsz)
{
    if (b->n == BATCH) {
        int rc = flush(b, w, msg, msgsz);
        if (rc)
            return rc;
    }
    item *it = &b->it[b->n++];
    it->sid = sid;
    it->t_src_ns = (int64_t)llround(t * 1e9);
    it->release_g = job->perturb->latency_ms * 1e-3;
    it->len = (uint16_t)len;
    memcpy(it->payload, p, len);
    return 0;
}

int tw_simgen_sim_new(const tw_robot *nominal, uint64_t seed, tw_sim **out, char *msg, size_t msgsz)
{
    tw_sim_opts so;
    tw_sim_opts_init(&so);
    so.seed = seed;
    so.action_rate_hz = sim_rates.action_rate;
    tw_perturb p;
    tw_perturb_none(&p);
    return tw_sim_new(nominal, &p, &so, out, msg, msgsz);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static int create_writer(const tw_simgen_episode *job, const tw_robot *r, const rates *ro, const char *tmp,
                         const char *name, tw_episode_writer **w, char *msg, size_t msgsz)
{
    tw_stream_decl d[5];
    int nd = tw_sim_stream_decls(r, ro->js_rate, ro->ft_rate, ro->action_rate, d);
    json_t *pj = tw_perturb_to_json(job->perturb);
    char *params = json_dumps(pj, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(pj);
    char meta[1024];
    snprintf(meta, sizeof meta, "{\"generator\":\"tw simgen\",\"seed\":%llu,\"episode_index\":%llu,"
             "\"duration_s\":%.17g}", (unsigned long long)job->seed, (unsigned long long)job->episode,
             job->duration_s);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = name;
    info.task = "simgen: scripted operator";
    info.operator_ = "scripted";
    info.robot = r->source;
    info.domain = "sim";
    info.metadata_json = meta;
    info.sim_params_json = params;
    info.software_version = TW_VERSION;
    info.started_ns = 0;
    info.compression = job->compression;
    nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS); /* leftover of an interrupted run */
    int rc = tw_episode_create(tmp, &info, d, (size_t)nd, w, msg, msgsz);
    free(params);
    return rc;
}

/* The rig's sampling schedule (tw_rig.c): joint state (+ object state) and wrench at their rates, actions
 * when the operator decides, events as JSON frames. */
static int rollout(const tw_simgen_episode *job, const rates *ro, tw_sim *s, batch *b, tw_episode_writer *w,
                   uint64_t *steps, char *msg, size_t msgsz)
{
    const tw_robot *r = tw_sim_robot(s);
    double h = tw_sim_timestep(s);
    uint64_t n = (uint64_t)llround(job->duration_s / h);
    long njs = 0, nft = 0;
    tw_sample clean, noisy;
    double act[TW_ROBOT_MAX_ACT], js[3 * TW_ROBOT_MAX_JOINTS];
    size_t nj = (size_t)r->njoint;
    int rc = 0;
    for (uint64_t k = 0; k < n && !rc; k++) {
        int na = 0;
        tw_op_event ev = TW_OP_EV_NONE;
        double t = tw_sim_time(s);
        if ((rc = tw_sim_step(s, &clean, &noisy, &na, act, &ev, msg, msgsz)))
            break;
        if (t + 0.5 * h >= (double)njs / ro->js_rate) {
            memcpy(js, noisy.qpos, nj * sizeof(double));
            memcpy(js + nj, noisy.qvel, nj * sizeof(double));
            memcpy(js + 2 * nj, noisy.effort, nj * sizeof(double));
            rc = push(b, job, w, TW_SIM_SID_JS, t, js, 3 * nj * sizeof(double), msg, msgsz);
            if (!rc && r->object_body >= 0)
                rc = push(b, job, w, TW_SIM_SID_OBJECT, t, clean.object, sizeof clean.object, msg, msgsz);
            njs++;
        }
        if (!rc && t + 0.5 * h >= (double)nft / ro->ft_rate) {
            rc = push(b, job, w, TW_SIM_SID_WRENCH, t, noisy.wrench, sizeof noisy.wrench, msg, msgsz);
            nft++;
        }
        if (!rc && na)
            rc = push(b, job, w, TW_SIM_SID_ACTION, t, act, (size_t)r->m->nu * sizeof(double), msg, msgsz);
        if (!rc && ev) {
            const char *txt = ev == TW_OP_EV_GRASP ? "{\"event\":\"grasp\"}" : "{\"event\":\"release\"}";
            rc = push(b, job, w, TW_SIM_SID_EVENTS, t, txt, strlen(txt), msg, msgsz);
        }
        ++*steps;
    }
    if (!rc)
        rc = flush(b, w, msg, msgsz);
    return rc;
}

int tw_simgen_episode_run(const tw_simgen_episode *job, uint64_t *steps, char *msg, size_t msgsz)
{
    char name[64], tmp[4096], fin[4096];
    tw_simgen_episode_name(job->seed, job->episode, name, sizeof name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", job->out_dir, name);
    snprintf(fin, sizeof fin, "%s/%s", job->out_dir, name);
    struct stat st;
    if (stat(fin, &st) == 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "simgen: %s already exists (choose an empty --out)", fin);
    tw_episode_writer *w = NULL;
    batch *b = calloc(1, sizeof *b);
    if (!b)
        return tw_errf(msg, msgsz, TW_ENOMEM, "simgen: out of memory");
    int rc = *job->sim ? 0 : tw_simgen_sim_new(job->nominal, job->seed, job->sim, msg, msgsz);
    if (!rc)
        rc = tw_sim_set_perturb(*job->sim, job->perturb, msg, msgsz);
    if (rc)
        goto out;
    tw_sim *s = *job->sim;
    tw_sim_reset(s, job->episode);
    const tw_robot *r = tw_sim_robot(s);
    if ((rc = create_writer(job, r, &sim_rates, tmp, name, &w, msg, msgsz)))
        goto out;
    rc = rollout(job, &sim_rates, s, b, w, steps, msg, msgsz);
    int rc2 = tw_episode_close(w, rc ? TW_EP_ERROR : TW_EP_COMPLETE, rc ? 0 : 1, rc ? NULL : msg, msgsz);
    if (!rc)
        rc = rc2;
    if (!rc && rename(tmp, fin) < 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "simgen: rename %s -> %s: %s", tmp, fin, strerror(errno));
out:
    if (rc) {
        char m2[900];
        snprintf(m2, sizeof m2, "%s", msg);
        tw_errf(msg, msgsz, rc, "simgen: episode %llu: %s", (unsigned long long)job->episode, m2);
    }
    free(b);
    return rc;
}
