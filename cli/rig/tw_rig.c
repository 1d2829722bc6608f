/* The virtual rig's session: connect, declare, stream episodes on the simulated timeline, pace, and
 * report.  See tw_rig.h for the clocks and what each stream carries. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_core.h"
#include "tw_rig_cam.h"
#include "tw_rig_int.h"

#define TW_RIG_GAP_S 0.5 /* simulated time between episodes */

typedef struct {
    const tw_rig_opts *o;
    tw_rig_result *res;
    tw_robot *robot;           /* nominal */
    tw_sim *sim;
    tw_client *cl;
    tw_client_stats *stats;
    tw_rig_delay dq;
    tw_rig_cam *cams[TW_RIG_MAX_CAMS];
    int64_t wall0, mono0;      /* CLOCK_REALTIME / CLOCK_MONOTONIC at start (ns) */
    double g;                  /* simulated time since start (s) */
} tw_rig;

/* The rig's own clock reading at a true time (ns): planted offset and drift. */
static int64_t tw_rig_clock(const tw_rig *rg, int64_t true_ns)
{
    const tw_perturb *p = &rg->o->perturb;
    return true_ns + llround(p->clock_offset_ms * 1e6) + llround(p->drift_ppm * 1e-6 * (double)(true_ns - rg->wall0));
}

static int64_t tw_rig_client_clock(void *user) { return tw_rig_clock(user, tw_clock_ns(CLOCK_REALTIME)); }

static int64_t tw_rig_cam_clock_fn(int64_t mono_ns, void *user)
{
    tw_rig *rg = user;
    return tw_rig_clock(rg, rg->wall0 + (mono_ns - rg->mono0));
}

static int64_t tw_rig_src(const tw_rig *rg, double g) { return tw_rig_clock(rg, rg->wall0 + llround(g * 1e9)); }

static void tw_rig_log(const tw_rig *rg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tw_rig_log(const tw_rig *rg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tw_progress_vsay(rg->o->progress, rg->o->progress_user, "rig", (uint64_t)rg->res->episodes_done,
                     (uint64_t)rg->o->episodes, fmt, ap);
    va_end(ap);
}

/* Waits until wall time catches up with simulated time g (speed > 0). */
static void tw_rig_pace(const tw_rig *rg, double g)
{
    if (rg->o->speed <= 0)
        return;
    int64_t target = rg->mono0 + llround(g / rg->o->speed * 1e9);
    if (target <= tw_clock_ns(CLOCK_MONOTONIC))
        return;
    struct timespec ts = {.tv_sec = target / 1000000000, .tv_nsec = target % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
        ;
}

/* Bulk mode (speed 0) produces faster than any socket: wait for the client's buffer to drain
 * instead of letting it refuse frames. */
static int tw_rig_backpressure(tw_rig *rg, char *msg, size_t msgsz)
{
    tw_client_stats_get(rg->cl, rg->stats);
    if (rg->stats->state == TW_CLIENT_FAILED)
        return tw_errf(msg, msgsz, rg->stats->last_error ? rg->stats->last_error : TW_ECONNECT,
                       "recorder connection failed: %s", rg->stats->last_error_msg);
    if (rg->stats->queued_bytes > rg->stats->queue_cap / 2)
        return tw_client_flush(rg->cl, 60000, msg, msgsz);
    return 0;
}

static int tw_rig_emit(tw_rig *rg, double g, uint16_t sid, const void *p, size_t len)
{
    return tw_rig_delay_push(&rg->dq, g + rg->o->perturb.latency_ms * 1e-3, sid, tw_rig_src(rg, g), p, len);
}

/* One physics step at simulated time g: queue what is due on each stream, run cameras. */
static int tw_rig_step(tw_rig *rg, long *njs, long *nft, int *lifted, char *msg, size_t msgsz)
{
    const tw_robot *r = tw_sim_robot(rg->sim);
    tw_sample clean, noisy;
    double action[TW_ROBOT_MAX_ACT], t = tw_sim_time(rg->sim), h = tw_sim_timestep(rg->sim), g = rg->g;
    int na, rc;
    tw_op_event ev;
    if ((rc = tw_sim_step(rg->sim, &clean, &noisy, &na, action, &ev, msg, msgsz)))
        return rc;
    if (t + 0.5 * h >= (double)*njs / rg->o->js_rate) {
        double js[3 * TW_ROBOT_MAX_JOINTS];
        memcpy(js, noisy.qpos, sizeof(double) * (size_t)r->njoint);
        memcpy(js + r->njoint, noisy.qvel, sizeof(double) * (size_t)r->njoint);
        memcpy(js + 2 * r->njoint, noisy.effort, sizeof(double) * (size_t)r->njoint);
        rc = tw_rig_emit(rg, g, TW_SIM_SID_JS, js, sizeof(double) * 3 * (size_t)r->njoint);
        if (!rc && r->object_body >= 0)
            rc = tw_rig_emit(rg, g, TW_SIM_SID_OBJECT, clean.object, sizeof clean.object);
        ++*njs;
    }
    if (!rc && t + 0.5 * h >= (double)*nft / rg->o->ft_rate) {
        rc = tw_rig_emit(rg, g, TW_SIM_SID_WRENCH, noisy.wrench, sizeof noisy.wrench);
        ++*nft;
    }
    if (!rc && na)
        rc = tw_rig_emit(rg, g, TW_SIM_SID_ACTION, action, sizeof(double) * (size_t)r->m->nu);
    if (!rc && ev) {
        const char *txt = ev == TW_OP_EV_GRASP ? "{\"event\":\"grasp\"}" : "{\"event\":\"release\"}";
        rc = tw_rig_emit(rg, g, TW_SIM_SID_EVENTS, txt, strlen(txt));
    }
    if (rc)
        return tw_errf(msg, msgsz, rc, "delay line overflow at t=%.3f (bug)", t);
    if (r->object_body >= 0 && tw_sim_data(rg->sim)->qpos[r->object_qadr + 2] >
                                   r->m->qpos0[r->object_qadr + 2] + 0.05)
        *lifted = 1;
    for (int i = 0; i < rg->o->ncameras; i++) {
        rc = tw_rig_cam_tick(rg->cams[i], g, tw_rig_src(rg, g), tw_sim_data(rg->sim), rg->cl,
                             (uint16_t)(TW_SIM_SID_CAM0 + i), msg, msgsz);
        if (rc < 0)
            return rc;
        rg->res->video[i] += (uint64_t)rc;
    }
    return 0;
}

/* The robot's short name for episode_start: the MJCF's <mujoco model="..."> or the file's stem,
 * never the path (a path made the command depend on where the checkout lives). */
static void tw_rig_robot_name(const tw_rig *rg, char *out, size_t n)
{
    const mjModel *m = rg->robot->m;
    const char *path = rg->o->model, *base = path ? strrchr(path, '/') : NULL;
    if (m && m->nnames > 0 && m->names[0])
        snprintf(out, n, "%.*s", (int)n - 1, m->names);
    else if (path)
        snprintf(out, n, "%.*s", (int)n - 1, base ? base + 1 : path);
    else
        snprintf(out, n, "builtin");
    char *dot = path && !(m && m->names[0]) ? strrchr(out, '.') : NULL;
    if (dot && dot != out)
        *dot = 0;
}

/* A send that failed because the client gave up: say where we were and what the client saw. */
static int tw_rig_explain(tw_rig *rg, int rc, int ep, char *msg, size_t msgsz)
{
    tw_client_stats_get(rg->cl, rg->stats);
    if (rc != TW_ECONNECT && rc != TW_EAUTH && rc != TW_ECLOSED && rg->stats->state != TW_CLIENT_FAILED)
        return rc;
    if (rc != TW_ECONNECT && rc != TW_ECLOSED) /* the recorder ended the session: no reconnect can help */
        return tw_errf(msg, msgsz, rc, "recorder at %s ended the session (episode %d, t=%.3f s): %s", rg->o->url, ep + 1,
                       rg->g, rg->stats->last_error_msg[0] ? rg->stats->last_error_msg : msg);
    return tw_errf(msg, msgsz, rc, "recorder at %s lost mid-stream (episode %d, t=%.3f s) and not regained: %s",
                   rg->o->url, ep + 1, rg->g, rg->stats->last_error_msg[0] ? rg->stats->last_error_msg : msg);
}

static int tw_rig_episode(tw_rig *rg, int ep, char *msg, size_t msgsz)
{
    const tw_rig_opts *o = rg->o;
    char meta[256], id[64] = "";
    int rc, lifted = 0;
    tw_sim_reset(rg->sim, (uint64_t)ep);
    for (int i = 0; i < o->ncameras; i++)
        if ((rc = tw_rig_cam_reset(rg->cams[i], rg->g, msg, msgsz)))
            return rc;
    snprintf(meta, sizeof meta, "{\"rig\":\"tw rig\",\"episode_index\":%d,\"speed\":%g}", ep, o->speed);
    char robot[TW_MAX_NAME];
    tw_rig_robot_name(rg, robot, sizeof robot);
    if ((rc = tw_client_episode_start(rg->cl, o->task, "scripted", robot, meta, msg, msgsz)) ||
        (rc = tw_client_wait_ack(rg->cl, "episode_start", 30000, id, sizeof id, msg, msgsz)))
        return rc;
    if (ep < 64)
        snprintf(rg->res->episode_ids[ep], sizeof rg->res->episode_ids[ep], "%s", id);
    long steps = lround(o->duration_s / tw_sim_timestep(rg->sim)), njs = 0, nft = 0;
    double g0 = rg->g;
    for (long k = 0; k < steps; k++) {
        rg->g = g0 + tw_sim_time(rg->sim);
        if ((rc = tw_rig_step(rg, &njs, &nft, &lifted, msg, msgsz)))
            return tw_rig_explain(rg, rc, ep, msg, msgsz);
        tw_rig_pace(rg, rg->g);
        if ((rc = tw_rig_delay_release(&rg->dq, rg->g, rg->cl, rg->res, msg, msgsz)))
            return tw_rig_explain(rg, rc, ep, msg, msgsz);
        if (o->speed <= 0 && k % 100 == 99 && (rc = tw_rig_backpressure(rg, msg, msgsz)))
            return tw_rig_explain(rg, rc, ep, msg, msgsz);
    }
    rg->g = g0 + tw_sim_time(rg->sim);
    /* what is still in the delay line belongs to this episode: let its latency run out */
    double tail = rg->g + o->perturb.latency_ms * 1e-3;
    tw_rig_pace(rg, tail);
    if ((rc = tw_rig_delay_release(&rg->dq, INFINITY, rg->cl, rg->res, msg, msgsz)))
        return rc;
    int success = rg->robot->object_body >= 0 ? lifted : -1;
    if ((rc = tw_client_episode_stop(rg->cl, success, msg, msgsz)) ||
        (rc = tw_client_wait_ack(rg->cl, "episode_stop", 30000, NULL, 0, msg, msgsz)))
        return rc;
    rg->res->episodes_done++;
    tw_rig_log(rg, "episode %d/%d %s: %.1f s simulated, %llu joint states, %llu wrenches, %llu actions, "
                   "%llu events sent so far", ep + 1, o->episodes, id, o->duration_s,
               (unsigned long long)rg->res->joint_state, (unsigned long long)rg->res->wrench,
               (unsigned long long)rg->res->action, (unsigned long long)rg->res->events);
    rg->g = tail + TW_RIG_GAP_S;
    tw_rig_pace(rg, rg->g);
    return 0;
}

static int tw_rig_check(const tw_rig_opts *o, double h, char *msg, size_t msgsz)
{
    if (!o->url || !*o->url)
        return tw_errf(msg, msgsz, TW_EINVAL, "no recorder URL (--url ws://HOST:PORT)");
    if (o->episodes < 1 || o->episodes > 100000)
        return tw_errf(msg, msgsz, TW_EINVAL, "--episodes %d out of range [1, 100000]", o->episodes);
    if (!(o->duration_s > 0 && o->duration_s <= 86400))
        return tw_errf(msg, msgsz, TW_EINVAL, "--duration %g s out of range (0, 86400]", o->duration_s);
    if (!(o->speed >= 0 && o->speed <= 1000))
        return tw_errf(msg, msgsz, TW_EINVAL, "--speed %g out of range [0, 1000]", o->speed);
    const double rates[3] = {o->js_rate, o->ft_rate, o->action_rate};
    static const char *names[3] = {"--js-rate", "--ft-rate", "--action-rate"};
    for (int i = 0; i < 3; i++)
        if (!(rates[i] > 0 && rates[i] <= 1 / h + 1e-9))
            return tw_errf(msg, msgsz, TW_EINVAL, "%s %g Hz: must be in (0, %g] (the model's physics rate)", names[i],
                           rates[i], 1 / h);
    if (o->ncameras < 0 || o->ncameras > TW_RIG_MAX_CAMS)
        return tw_errf(msg, msgsz, TW_EINVAL, "at most %d cameras", TW_RIG_MAX_CAMS);
    return 0;
}

static int tw_rig_connect(tw_rig *rg, char *msg, size_t msgsz)
{
    const tw_rig_opts *o = rg->o;
    tw_client_opts co;
    tw_client_opts_init(&co);
    co.url = o->url;
    co.token = o->token;
    co.client_name = "tw rig";
    co.rig_name = "virtual";
    co.max_retries = o->max_retries;
    co.now_ns = tw_rig_client_clock;
    co.user = rg;
    co.queue_bytes = 32u << 20;
    int rc = tw_client_open(&co, &rg->cl, msg, msgsz);
    if (rc)
        return rc;
    tw_stream_decl d[5 + TW_RIG_MAX_CAMS];
    int n = tw_sim_stream_decls(rg->robot, o->js_rate, o->ft_rate, o->action_rate, d);
    for (int i = 0; i < o->ncameras; i++)
        tw_rig_cam_decl(rg->cams[i], (uint16_t)(TW_SIM_SID_CAM0 + i), i, &d[n + i]);
    if ((rc = tw_client_declare(rg->cl, d, (size_t)(n + o->ncameras), msg, msgsz)))
        return rc;
    char why[512];
    if ((rc = tw_client_wait_ready(rg->cl, o->connect_timeout_ms, why, sizeof why)))
        return tw_errf(msg, msgsz, rc, "%s", why); /* names the URL and the cause */
    return 0;
}

static int tw_rig_setup(tw_rig *rg, char *msg, size_t msgsz)
{
    const tw_rig_opts *o = rg->o;
    int rc = tw_robot_load(o->model, &rg->robot, msg, msgsz);
    if (rc)
        return rc;
    if ((rc = tw_rig_check(o, rg->robot->m->opt.timestep, msg, msgsz)))
        return rc;
    tw_sim_opts so;
    tw_sim_opts_init(&so);
    so.action_rate_hz = o->action_rate;
    so.seed = o->seed;
    if ((rc = tw_sim_new(rg->robot, &o->perturb, &so, &rg->sim, msg, msgsz)))
        return rc;
    if ((rc = tw_rig_delay_init(&rg->dq, o->perturb.latency_ms * 1e-3, 2 * o->js_rate + o->ft_rate + o->action_rate,
                                msg, msgsz)))
        return rc;
    if (!(rg->stats = malloc(sizeof *rg->stats)))
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory");
    for (int i = 0; i < o->ncameras; i++)
        if ((rc = tw_rig_cam_open(o->cameras[i], tw_sim_robot(rg->sim)->m, o->cam_width, o->cam_height, o->cam_fps,
                                  tw_rig_cam_clock_fn, rg, &rg->cams[i], msg, msgsz)))
            return rc;
    if ((rc = tw_rig_write_truth(o, rg->robot, NULL, msg, msgsz)))
        return rc;
    return tw_rig_connect(rg, msg, msgsz);
}

/* After the last episode: everything handed to the socket, nothing silently lost. */
static int tw_rig_finish(tw_rig *rg, char *msg, size_t msgsz)
{
    int rc = tw_client_flush(rg->cl, 60000, msg, msgsz);
    tw_client_stats_get(rg->cl, rg->stats);
    rg->res->dropped = rg->stats->dropped;
    rg->res->lost = rg->stats->lost;
    rg->res->reconnects = rg->stats->reconnects;
    if (!rc && rg->stats->state == TW_CLIENT_FAILED)
        rc = tw_errf(msg, msgsz, rg->stats->last_error ? rg->stats->last_error : TW_ECLOSED,
                     "recorder connection failed: %s", rg->stats->last_error_msg);
    return rc;
}

static void tw_rig_teardown(tw_rig *rg)
{
    tw_client_close(rg->cl);
    for (int i = 0; i < TW_RIG_MAX_CAMS; i++)
        tw_rig_cam_close(rg->cams[i]);
    tw_rig_delay_free(&rg->dq);
    tw_sim_free(rg->sim);
    tw_robot_close(rg->robot);
    free(rg->stats);
}

int tw_rig_run(const tw_rig_opts *o, tw_rig_result *res, char *msg, size_t msgsz)
{
    tw_rig rg = {.o = o, .res = res};
    memset(res, 0, sizeof *res);
    rg.wall0 = tw_clock_ns(CLOCK_REALTIME);
    rg.mono0 = tw_clock_ns(CLOCK_MONOTONIC);
    int rc = tw_rig_setup(&rg, msg, msgsz);
    rg.mono0 = tw_clock_ns(CLOCK_MONOTONIC); /* pace from the moment the stream starts */
    rg.wall0 = tw_clock_ns(CLOCK_REALTIME);
    for (int ep = 0; !rc && ep < o->episodes; ep++)
        rc = tw_rig_episode(&rg, ep, msg, msgsz);
    if (!rc)
        rc = tw_rig_finish(&rg, msg, msgsz);
    if (rc && rg.cl && rg.stats) { /* what the failure cost, for the report */
        tw_client_stats_get(rg.cl, rg.stats);
        res->dropped = rg.stats->dropped;
        res->lost = rg.stats->frames_queued - rg.stats->frames_sent; /* never handed to the socket */
        res->reconnects = rg.stats->reconnects;
    }
    res->sim_s = rg.g;
    res->wall_s = (double)(tw_clock_ns(CLOCK_MONOTONIC) - rg.mono0) * 1e-9;
    if (rg.robot && res->episodes_done) {
        char m2[256];
        int rc2 = tw_rig_write_truth(o, rg.robot, res, m2, sizeof m2);
        if (!rc)
            rc = rc2;
        if (rc2)
            snprintf(msg, msgsz, "%s", m2);
    }
    tw_rig_teardown(&rg);
    return rc;
}
