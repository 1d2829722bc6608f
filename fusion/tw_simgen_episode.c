/* One simulated episode: tw_sim rollout -> episode writer, streams as the rig declares them
 * (joint_state [3, N] and wrench [6] at 500 Hz, action [nu] at the operator rate, grasp/release
 * events). Timestamps are the simulated time; the recorder clock equals the source clock (no offset). */
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

enum { SID_JOINT = 1, SID_ACTION = 2, SID_WRENCH = 3, NSTREAMS = 3 };
#define BATCH 256 /* joint-rate rows buffered before one locked flush */

void tw_simgen_episode_name(uint64_t seed, uint64_t episode, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "sim-s%llu-%06llu", (unsigned long long)seed, (unsigned long long)episode);
}

static void decls_for(const tw_robot *r, double joint_hz, double action_hz, tw_stream_decl d[NSTREAMS])
{
    memset(d, 0, NSTREAMS * sizeof *d);
    const mjModel *m = r->m;
    d[0] = (tw_stream_decl){.id = SID_JOINT, .kind = TW_KIND_JOINT_STATE, .dtype = TW_DTYPE_FLOAT64, .ndim = 2,
                            .shape = {3, (uint32_t)r->njoint}, .naxes = (uint32_t)r->njoint, .rate_hz = joint_hz};
    snprintf(d[0].name, TW_MAX_NAME, "joint_state");
    snprintf(d[0].units, TW_MAX_NAME, "rad;rad/s;N*m");
    for (int i = 0; i < r->njoint; i++)
        snprintf(d[0].axes[i], TW_MAX_NAME, "%s", r->jname[i]);
    d[1] = (tw_stream_decl){.id = SID_ACTION, .kind = TW_KIND_ACTION, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {(uint32_t)m->nu}, .rate_hz = action_hz};
    snprintf(d[1].name, TW_MAX_NAME, "action");
    snprintf(d[1].units, TW_MAX_NAME, "ctrl");
    if (m->nu <= TW_MAX_AXES) {
        d[1].naxes = (uint32_t)m->nu;
        for (int a = 0; a < m->nu; a++) {
            const char *nm = m->names + m->name_actuatoradr[a];
            if (*nm)
                snprintf(d[1].axes[a], TW_MAX_NAME, "%s", nm);
            else
                snprintf(d[1].axes[a], TW_MAX_NAME, "actuator%d", a);
        }
    }
    d[2] = (tw_stream_decl){.id = SID_WRENCH, .kind = TW_KIND_WRENCH, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {6}, .naxes = 6, .rate_hz = joint_hz};
    snprintf(d[2].name, TW_MAX_NAME, "wrench");
    snprintf(d[2].units, TW_MAX_NAME, "N;N*m");
    snprintf(d[2].frame, TW_MAX_NAME, "%s", TW_FT_SITE_NAME);
    static const char *ax[6] = {"fx", "fy", "fz", "tx", "ty", "tz"};
    for (int i = 0; i < 6; i++)
        snprintf(d[2].axes[i], TW_MAX_NAME, "%s", ax[i]);
}

/* Rows buffered between locked flushes. */
typedef struct {
    int nj, nu;
    size_t njoint_rows, naction_rows, nev;
    int64_t jt[BATCH], at[BATCH], evt[BATCH];
    int evk[BATCH];
    double *joint, *wrench, *action; /* [BATCH x 3nj], [BATCH x 6], [BATCH x nu] */
    uint64_t seq[NSTREAMS + 1];
} batch;

static int append(tw_episode_writer *w, uint16_t id, uint64_t seq, int64_t t, const double *v, size_t n,
                  char *msg, size_t msgsz)
{
    tw_frame f = {.stream_id = id, .payload_len = (uint32_t)(n * sizeof(double)), .seq = seq, .t_src_ns = t,
                  .payload = (const uint8_t *)v};
    return tw_episode_append(w, &f, t, msg, msgsz);
}

static int flush(batch *b, tw_episode_writer *w, pthread_mutex_t *lock, char *msg, size_t msgsz)
{
    int rc = 0;
    pthread_mutex_lock(lock);
    for (size_t i = 0; i < b->njoint_rows && !rc; i++) {
        rc = append(w, SID_JOINT, b->seq[SID_JOINT]++, b->jt[i], b->joint + i * 3 * (size_t)b->nj,
                    3 * (size_t)b->nj, msg, msgsz);
        if (!rc)
            rc = append(w, SID_WRENCH, b->seq[SID_WRENCH]++, b->jt[i], b->wrench + i * 6, 6, msg, msgsz);
    }
    for (size_t i = 0; i < b->naction_rows && !rc; i++)
        rc = append(w, SID_ACTION, b->seq[SID_ACTION]++, b->at[i], b->action + i * (size_t)b->nu,
                    (size_t)b->nu, msg, msgsz);
    for (size_t i = 0; i < b->nev && !rc; i++)
        rc = tw_episode_event(w, b->evt[i], b->evk[i] == TW_OP_EV_GRASP ? "grasp" : "release", "", NULL, msg,
                              msgsz);
    pthread_mutex_unlock(lock);
    b->njoint_rows = b->naction_rows = b->nev = 0;
    return rc;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static int create_writer(const tw_simgen_episode *job, const tw_robot *r, double h, const char *tmp,
                         const char *name, tw_episode_writer **w, char *msg, size_t msgsz)
{
    tw_stream_decl d[NSTREAMS];
    double joint_hz = 1.0 / (h * fmax(1.0, round(1.0 / (TW_SIMGEN_JOINT_HZ * h))));
    tw_sim_opts so;
    tw_sim_opts_init(&so);
    decls_for(r, joint_hz, so.action_rate_hz, d);
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
    nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS); /* leftover of an interrupted run */
    pthread_mutex_lock(job->h5_lock);
    int rc = tw_episode_create(tmp, &info, d, NSTREAMS, w, msg, msgsz);
    pthread_mutex_unlock(job->h5_lock);
    free(params);
    return rc;
}

static int rollout(const tw_simgen_episode *job, tw_sim *s, batch *b, tw_episode_writer *w, uint64_t *steps,
                   char *msg, size_t msgsz)
{
    double h = tw_sim_timestep(s);
    uint64_t n = (uint64_t)llround(job->duration_s / h);
    uint64_t decim = (uint64_t)fmax(1.0, round(1.0 / (TW_SIMGEN_JOINT_HZ * h)));
    tw_sample clean, noisy;
    double act[TW_ROBOT_MAX_ACT > 64 ? TW_ROBOT_MAX_ACT : 64];
    int rc = 0;
    for (uint64_t k = 0; k < n && !rc; k++) {
        int new_action = 0;
        tw_op_event ev = TW_OP_EV_NONE;
        if ((rc = tw_sim_step(s, &clean, &noisy, &new_action, act, &ev, msg, msgsz)))
            break;
        int64_t t = (int64_t)llround(noisy.t * 1e9);
        if (k % decim == 0) {
            double *row = b->joint + b->njoint_rows * 3 * (size_t)b->nj;
            memcpy(row, noisy.qpos, (size_t)b->nj * sizeof(double));
            memcpy(row + b->nj, noisy.qvel, (size_t)b->nj * sizeof(double));
            memcpy(row + 2 * b->nj, noisy.effort, (size_t)b->nj * sizeof(double));
            memcpy(b->wrench + b->njoint_rows * 6, noisy.wrench, sizeof noisy.wrench);
            b->jt[b->njoint_rows++] = t;
        }
        if (new_action) {
            memcpy(b->action + b->naction_rows * (size_t)b->nu, act, (size_t)b->nu * sizeof(double));
            b->at[b->naction_rows++] = t;
        }
        if (ev != TW_OP_EV_NONE) {
            b->evt[b->nev] = t;
            b->evk[b->nev++] = ev;
        }
        if (b->njoint_rows == BATCH || b->naction_rows == BATCH || b->nev == BATCH)
            rc = flush(b, w, job->h5_lock, msg, msgsz);
        ++*steps;
    }
    if (!rc)
        rc = flush(b, w, job->h5_lock, msg, msgsz);
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
    tw_sim_opts so;
    tw_sim_opts_init(&so);
    so.seed = job->seed;
    tw_sim *s = NULL;
    tw_episode_writer *w = NULL;
    batch b = {0};
    int rc = tw_sim_new(job->nominal, job->perturb, &so, &s, msg, msgsz);
    if (rc)
        return rc;
    tw_sim_reset(s, job->episode);
    const tw_robot *r = tw_sim_robot(s);
    b.nj = r->njoint;
    b.nu = r->m->nu;
    b.joint = malloc(BATCH * 3 * (size_t)(b.nj ? b.nj : 1) * sizeof(double));
    b.wrench = malloc(BATCH * 6 * sizeof(double));
    b.action = malloc(BATCH * (size_t)(b.nu ? b.nu : 1) * sizeof(double));
    if (!b.joint || !b.wrench || !b.action) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "simgen: out of memory");
        goto out;
    }
    if ((rc = create_writer(job, r, tw_sim_timestep(s), tmp, name, &w, msg, msgsz)))
        goto out;
    rc = rollout(job, s, &b, w, steps, msg, msgsz);
    pthread_mutex_lock(job->h5_lock);
    int rc2 = tw_episode_close(w, rc ? TW_EP_ERROR : TW_EP_COMPLETE, rc ? 0 : 1, rc ? NULL : msg, msgsz);
    pthread_mutex_unlock(job->h5_lock);
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
    free(b.joint);
    free(b.wrench);
    free(b.action);
    tw_sim_free(s);
    return rc;
}
