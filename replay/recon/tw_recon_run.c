/* tw_replay_run: the stages of a replay, block by block.
 *   open episode -> load model -> align (cursor) -> map joints
 *   per block: rows from the aligned block (qacc by Savitzky-Golay on qvel) -> forward/inverse
 *   on N threads (own mjData each) -> residuals -> aligned.h5; the divergence rollouts of a block
 *   are tasks on the same threads while the next block is reconstructed
 *   end: video sync, summary.json, report.html. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tw_core.h"
#include "tw_recon_int.h"

#define MAX_THREADS 64

void tw_replay_opts_init(tw_replay_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->sg_half = 0;
    o->sg_window_ms = 50;
    o->qacc_discrete = -1;
    o->div_windows = 8;
    o->video = 1;
    tw_align_opts_init(&o->align);
}

typedef struct {
    tw_replay_opts o;
    tw_episode *ep;
    tw_robot *robot;
    tw_align *al;
    tw_recon_map map;
    double effort_offset[TW_ROBOT_MAX_JOINTS]; /* the model's teleworld_effort_offset (or 0) */
    uint32_t halo;                  /* rows around a block: the widest SG window allowed */
    int js, wr, act, obj, ev, cam[TW_MAX_CAMS]; /* indices into the alignment's streams (-1 none) */
    mjData *d[MAX_THREADS];
    tw_recon_fill_ctx fill;           /* aligned block -> rows */
    tw_recon_rows rows[2];          /* double buffer: divergence of one block runs beside the next */
    int cur;                        /* rows[cur] is being reconstructed */
    tw_diverge *dv;
    tw_aligned_h5 *h5;
    tw_replay_summary *s;
} run_t;

static void run_free(run_t *R)
{
    tw_aligned_h5_close(R->h5, NULL, NULL, 0);
    tw_diverge_free(R->dv);
    tw_recon_rows_free(&R->rows[0]);
    tw_recon_rows_free(&R->rows[1]);
    for (int t = 0; t < MAX_THREADS; t++)
        if (R->d[t])
            mj_deleteData(R->d[t]);
    tw_align_close(R->al);
    tw_robot_close(R->robot);
    tw_episode_close_reader(R->ep);
}

uint32_t tw_recon_auto_sg_half(double rate_hz, double window_ms)
{
    double h = floor(0.5 * (window_ms * 1e-3 * rate_hz - 1) + 0.5);
    return h < 2 ? 2 : h > 50 ? 50 : (uint32_t)h;
}

int tw_recon_effort_offset(const tw_robot *r, double *off)
{
    memset(off, 0, sizeof(double) * (size_t)r->njoint);
    int id = mj_name2id(r->m, mjOBJ_NUMERIC, TW_EFFORT_OFFSET_NUMERIC);
    if (id < 0 || r->m->numeric_size[id] != r->njoint)
        return 0;
    mju_copy(off, r->m->numeric_data + r->m->numeric_adr[id], r->njoint);
    return 1;
}

/* The highest joint-state rate declared (the timeline's, unless --rate): sizes the halo before the
 * alignment opens. */
static double max_js_rate(const run_t *R)
{
    if (R->o.rate_hz > 0)
        return R->o.rate_hz;
    double rate = 0;
    for (size_t i = 0; i < tw_episode_nstreams(R->ep); i++) {
        const tw_stream_decl *d = tw_episode_decl(R->ep, i);
        if (d->kind == TW_KIND_JOINT_STATE && d->rate_hz > rate)
            rate = d->rate_hz;
    }
    return rate > 0 ? rate : 1;
}

/* Episode, model, alignment, streams and joint map. */
static int open_inputs(run_t *R, const char *dir, char *msg, size_t msgsz)
{
    tw_replay_summary *s = R->s;
    int rc = tw_episode_open(dir, &R->ep, msg, msgsz);
    if (rc < 0)
        return rc;
    const tw_episode_meta *meta = tw_episode_get_meta(R->ep);
    snprintf(s->episode_id, sizeof s->episode_id, "%s", meta->episode_id);
    snprintf(s->status, sizeof s->status, "%s", meta->status);
    snprintf(s->domain, sizeof s->domain, "%s", meta->domain);
    if (strcmp(meta->status, TW_EP_COMPLETE) != 0) {
        s->partial = 1; /* interrupted, aborted, error or still recording: what is there is replayed */
        tw_summary_flag(s, "partial");
    }
    double t0 = tw_mono_s();
    if ((rc = tw_robot_load(R->o.model_path, &R->robot, msg, msgsz)) < 0)
        return rc;
    s->model_load_s = tw_mono_s() - t0; /* mesh processing, F/T wrapper: fixed, not per step */
    snprintf(s->model, sizeof s->model, "%s", R->o.model_path ? R->o.model_path : "builtin");
    s->num.effort_offset = tw_recon_effort_offset(R->robot, R->effort_offset);
    tw_align_opts ao = R->o.align;
    ao.rate_hz = R->o.rate_hz;
    ao.gap_ms = R->o.gap_ms;
    ao.gap_measured = 1;
    uint32_t h = R->o.sg_half ? R->o.sg_half : tw_recon_auto_sg_half(max_js_rate(R), R->o.sg_window_ms);
    ao.halo = R->halo = h > 1 ? h : 1;
    if ((rc = tw_align_open_episode(R->ep, &ao, &R->al, msg, msgsz)) < 0)
        return rc;
    tw_map *map = NULL;
    tw_roles ro;
    if ((rc = tw_map_load(R->o.map_path, &map, msg, msgsz)) < 0 ||
        (rc = tw_timeline_roles(R->al, map, &ro, msg, msgsz)) < 0) {
        tw_map_free(map);
        return rc;
    }
    R->js = ro.js, R->wr = ro.wr, R->act = ro.act, R->obj = ro.obj, R->ev = ro.ev;
    if (R->obj >= 0 && (R->robot->object_qadr < 0 || tw_align_get_info(R->al)->streams[R->obj].elems != 13))
        R->obj = -1; /* no free object in the model, or not the 13-value state: not used */
    const tw_align_info *in = tw_align_get_info(R->al);
    if (R->js < 0)
        rc = tw_errf(msg, msgsz, TW_ENOT_FOUND, "episode %s has no joint_state stream", dir);
    else if (in->reference != (size_t)R->js)
        rc = tw_errf(msg, msgsz, TW_EINVAL, "the timeline must follow the joint_state stream");
    else
        rc = tw_recon_map_build(R->robot, in->streams[R->js].decl, R->act >= 0 ? in->streams[R->act].decl : NULL,
                                map, &R->map, msg, msgsz);
    tw_map_free(map);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < in->nstreams && s->ncam < TW_MAX_CAMS; k++)
        if (in->streams[k].interp == TW_INTERP_VIDEO)
            R->cam[s->ncam++] = (int)k;
    return 0;
}

int tw_recon_sampled_every_step(const tw_robot *r, const tw_align_info *in, int js)
{
    /* no real robot has zero jitter */
    const tw_align_stream_stats *st = &in->streams[js].stats;
    double h_ms = r->m->opt.timestep * 1e3;
    return st->used > 2 && st->jitter_ms < 1e-6 && fabs(st->period_mean_ms - h_ms) < 1e-6 &&
           fabs(1e3 / in->rate_hz - h_ms) < 1e-6;
}

/* The derivative for qacc: discrete for a simulation sampled every physics step, else Savitzky-Golay
 * over sg_window_ms of the timeline (or the --sg-half given); the choice and why go to the summary. */
static void choose_qacc(run_t *R)
{
    tw_replay_numbers *nu = &R->s->num;
    const tw_align_info *in = tw_align_get_info(R->al);
    int autod = R->o.qacc_discrete < 0;
    if (autod)
        R->o.qacc_discrete = tw_recon_sampled_every_step(R->robot, in, R->js);
    R->s->qacc_discrete = nu->qacc_discrete = R->o.qacc_discrete;
    if (R->o.qacc_discrete) {
        if (!R->o.sg_half) /* used only where the forward difference is cut by a gap */
            R->o.sg_half = R->halo < 2 ? R->halo : 2;
        snprintf(nu->qacc_reason, sizeof nu->qacc_reason, "%s", autod ? "auto: simulation sampled every physics step"
                                                                      : "--qacc discrete");
        if (R->o.sg_half > R->halo)
            R->o.sg_half = R->halo;
        return;
    }
    if (R->o.sg_half)
        snprintf(nu->qacc_reason, sizeof nu->qacc_reason, "--sg-half %u", R->o.sg_half);
    else {
        R->o.sg_half = tw_recon_auto_sg_half(in->rate_hz, R->o.sg_window_ms);
        snprintf(nu->qacc_reason, sizeof nu->qacc_reason, "auto: %g ms window at %g Hz", R->o.sg_window_ms,
                 in->rate_hz);
    }
    if (R->o.sg_half > R->halo)
        R->o.sg_half = R->halo;
    nu->sg_half = R->o.sg_half;
}

/* Summary fields known before the pass; per-thread data; buffers; outputs. */
static int prepare(run_t *R, char *msg, size_t msgsz)
{
    tw_replay_summary *s = R->s;
    const tw_align_info *in = tw_align_get_info(R->al);
    const tw_robot *r = R->robot;
    s->align = *in;
    for (size_t k = 0; k < in->nstreams; k++) {
        snprintf(s->stream_names[k], sizeof s->stream_names[k], "%s", in->streams[k].decl->name);
        snprintf(s->stream_kinds[k], sizeof s->stream_kinds[k], "%s", tw_kind_name(in->streams[k].decl->kind));
        s->align.streams[k].stats.drops = tw_episode_drops(R->ep, in->streams[k].src_index);
        s->align.streams[k].decl = NULL; /* not valid after the episode closes */
        s->gaps += in->streams[k].stats.gaps;
    }
    s->nj = r->njoint;
    for (int j = 0; j < r->njoint; j++)
        snprintf(s->joints[j], sizeof s->joints[j], "%s", r->jname[j]);
    s->have_wrench = R->wr >= 0 && r->ft_force_adr >= 0;
    if (R->wr < 0)
        tw_summary_flag(s, "no_wrench");
    if (R->act < 0 || !R->map.actions_ok)
        tw_summary_flag(s, R->act < 0 ? "no_actions" : "actions_unmapped");
    if (s->ncam == 0)
        tw_summary_flag(s, "no_video");
    if (in->clock.method == TW_CLOCK_NONE)
        tw_summary_flag(s, "no_clock");
    if (s->gaps)
        tw_summary_flag(s, "gaps");
    s->steps = in->nsteps;
    s->duration_s = (double)(in->nsteps - 1) / in->rate_hz;
    int T = R->o.threads < 1 ? 1 : R->o.threads > MAX_THREADS ? MAX_THREADS : R->o.threads;
    s->threads = R->o.threads = T;
    for (int t = 0; t < T; t++) {
        if (!(R->d[t] = tw_mj_make_data(r->m, msg, msgsz)))
            return TW_EMUJOCO;
        tw_robot_home(r, R->d[t]);
    }
    uint32_t cap = R->o.align.block_steps ? R->o.align.block_steps : 1024;
    if (tw_recon_rows_alloc(&R->rows[0], cap, r->njoint, r->m->nu, s->ncam) < 0 ||
        tw_recon_rows_alloc(&R->rows[1], cap, r->njoint, r->m->nu, s->ncam) < 0 ||
        tw_residual_init(&s->series, r->njoint, s->have_wrench, in->nsteps) < 0)
        return tw_errf(msg, msgsz, TW_ENOMEM, "replay buffers");
    choose_qacc(R);
    R->fill = (tw_recon_fill_ctx){.map = &R->map, .js = R->js, .wr = R->wr, .act = R->act, .obj = R->obj,
                                  .ev = R->ev, .ncam = s->ncam, .qacc_discrete = R->o.qacc_discrete,
                                  .sg_half = R->o.sg_half, .dt = 1.0 / in->rate_hz};
    memcpy(R->fill.cam, R->cam, sizeof R->cam);
    for (int a = 0; a < r->m->nu && a < TW_ROBOT_MAX_ACT; a++)
        R->fill.home_ctrl[a] = R->d[0]->ctrl[a];
    if (R->obj >= 0) { /* the home state of the object, until the first valid row */
        mju_copy(R->fill.obj_hold, R->d[0]->qpos + r->object_qadr, 7);
        mju_copy(R->fill.obj_hold + 7, R->d[0]->qvel + r->m->jnt_dofadr[r->m->body_jntadr[r->object_body]], 6);
    }
    R->rows[0].have_obj = R->rows[1].have_obj = R->obj >= 0;
    R->rows[0].have_event = R->rows[1].have_event = R->ev >= 0;
    int rc = 0;
    if (R->o.div_windows > 0 && R->map.actions_ok)
        rc = tw_diverge_new(r, &R->map, in->nsteps, in->rate_hz, R->o.div_windows, &R->dv, msg, msgsz);
    if (rc == 0 && R->o.out_dir) {
        if (mkdir(R->o.out_dir, 0777) != 0 && errno != EEXIST)
            return tw_errf(msg, msgsz, TW_EIO, "mkdir %s: %s", R->o.out_dir, strerror(errno));
        char p[4096];
        snprintf(p, sizeof p, "%s/aligned.h5", R->o.out_dir);
        rc = tw_aligned_h5_create(p, s, &R->rows[0], &R->h5, msg, msgsz);
    }
    return rc;
}

/* One block's work as a queue of tasks taken by all threads: first the divergence rollouts of
 * the previous block (the long tasks, so they start first), then chunks of rows of the block being
 * reconstructed. Each thread uses its own mjData for the reconstruction; the rollouts have theirs. */
typedef struct {
    run_t *R;
    const tw_recon_rows *rw; /* to reconstruct, NULL when none */
    int ndiv, nchunk;
    atomic_int next;
} queue_t;

typedef struct {
    queue_t *q;
    int t;
} job_t;

static void *worker(void *arg)
{
    job_t *jb = arg;
    queue_t *q = jb->q;
    run_t *R = q->R;
    int k;
    while ((k = atomic_fetch_add(&q->next, 1)) < q->ndiv + q->nchunk) {
        if (k < q->ndiv) {
            tw_diverge_task(R->dv, k);
            continue;
        }
        uint32_t c = (uint32_t)(k - q->ndiv), n = q->rw->n, N = (uint32_t)q->nchunk;
        tw_recon_compute(R->robot, R->d[jb->t], q->rw, n * c / N, n * (c + 1) / N, R->o.qacc_discrete);
    }
    return NULL;
}

/* Runs the queue on up to R->o.threads threads (this one included). */
static void run_queue(run_t *R, const tw_recon_rows *rw, int ndiv)
{
    int T = R->o.threads;
    /* chunks several per thread, so that threads done with rollouts share the rest evenly */
    int nchunk = !rw ? 0 : T == 1 ? 1 : (int)(rw->n < 4u * (uint32_t)T ? rw->n : 4u * (uint32_t)T);
    queue_t q = {.R = R, .rw = rw, .ndiv = ndiv, .nchunk = nchunk};
    atomic_init(&q.next, 0);
    if (T > ndiv + nchunk)
        T = ndiv + nchunk > 0 ? ndiv + nchunk : 1;
    pthread_t th[MAX_THREADS];
    job_t jobs[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < T; t++)
        jobs[t] = (job_t){&q, t};
    for (int t = 1; t < T; t++) /* a thread that does not start leaves its tasks to the others */
        started[t] = pthread_create(&th[t], NULL, worker, &jobs[t]) == 0;
    worker(&jobs[0]);
    for (int t = 1; t < T; t++)
        if (started[t])
            pthread_join(th[t], NULL);
}

/* Reconstructs rw (when given) while the divergence rollouts go through prev, the previous block
 * (they need its poses): all on the queue. */
static int compute_block(run_t *R, const tw_recon_rows *rw, const tw_recon_rows *prev, uint64_t prev_first,
                         char *msg, size_t msgsz)
{
    int ndiv = 0;
    if (R->dv && prev && (ndiv = tw_diverge_plan(R->dv, prev, prev_first, msg, msgsz)) < 0)
        return ndiv;
    run_queue(R, rw, ndiv);
    if (R->dv && prev)
        tw_diverge_merge(R->dv);
    return 0;
}

static void residuals(const run_t *R, tw_recon_rows *rw)
{
    size_t n = (size_t)rw->n * rw->nj;
    for (size_t k = 0; k < n; k++)
        rw->res[k] = rw->effort[k] - R->effort_offset[k % (size_t)rw->nj] - rw->tau[k];
    for (size_t k = 0; k < (size_t)rw->n * 6; k++)
        rw->wrench_res[k] = rw->wrench[k] - rw->wrench_model[k];
}

static int pass(run_t *R, char *msg, size_t msgsz)
{
    tw_align_block b;
    int rc;
    uint64_t done = 0, total = R->s->steps, prev_first = 0;
    int have_prev = 0;
    while ((rc = tw_align_next(R->al, &b, msg, msgsz)) == 1) {
        uint64_t first = b.first + b.halo_lo;
        tw_recon_rows *rw = &R->rows[R->cur];
        tw_recon_fill(&R->fill, &b, rw);
        if ((rc = compute_block(R, rw, have_prev ? &R->rows[!R->cur] : NULL, prev_first, msg, msgsz)) < 0)
            return rc;
        residuals(R, rw);
        tw_residual_add(&R->s->series, rw, first);
        if (R->h5 && (rc = tw_aligned_h5_append(R->h5, rw, msg, msgsz)) < 0)
            return rc;
        done += b.ncore;
        if (R->o.progress)
            R->o.progress(R->o.progress_user, &(tw_progress){.stage = "replay", .done = done, .total = total});
        prev_first = first;
        have_prev = 1;
        R->cur = !R->cur;
    }
    if (rc == 0 && have_prev) /* the last block's rollouts */
        rc = compute_block(R, NULL, &R->rows[!R->cur], prev_first, msg, msgsz);
    return rc;
}

static void finish_numbers(run_t *R)
{
    tw_replay_summary *s = R->s;
    tw_replay_numbers *nu = &s->num;
    const tw_residual *rs = &s->series;
    nu->nj = s->nj;
    nu->narm = R->robot->narm;
    double r2 = 0, e2 = 0;
    for (int j = 0; j < s->nj; j++) {
        snprintf(nu->joints[j], sizeof nu->joints[j], "%s", s->joints[j]);
        nu->rmse[j] = s->rmse[j];
        nu->bias[j] = s->bias[j];
        nu->effort_rms[j] = s->effort_rms[j];
        nu->rel_rmse[j] = s->effort_rms[j] > 0 ? s->rmse[j] / s->effort_rms[j] : NAN;
        if (j < nu->narm) {
            r2 += rs->sum_res2[j];
            e2 += rs->sum_eff2[j];
        }
    }
    nu->rel_rmse_all = e2 > 0 ? sqrt(r2 / e2) : NAN;
    nu->steps = s->steps;
    nu->valid_steps = s->valid_steps;
    const tw_align_stream *js = &s->align.streams[R->js];
    nu->gap_threshold_ms = js->gap_threshold_s * 1e3;
    nu->period_median_ms = js->stats.period_median_ms;
    nu->have_wrench = s->have_wrench;
    for (int a = 0; a < 6; a++)
        nu->wrench_rmse[a] = s->have_wrench ? s->wrench_rmse[a] : NAN;
    memcpy(nu->div_q, s->div_q, sizeof nu->div_q);
    memcpy(nu->div_ee, s->div_ee, sizeof nu->div_ee);
}

static void finish_summary(run_t *R)
{
    tw_replay_summary *s = R->s;
    const tw_residual *rs = &s->series;
    s->valid_steps = rs->n;
    for (int j = 0; j < s->nj; j++) {
        double n = rs->n ? (double)rs->n : NAN;
        s->rmse[j] = sqrt(rs->sum_res2[j] / n);
        s->bias[j] = rs->sum_res[j] / n;
        s->effort_rms[j] = sqrt(rs->sum_eff2[j] / n);
        s->damping[j] = rs->sum_v2[j] > 0 ? rs->sum_rv[j] / rs->sum_v2[j] : NAN;
    }
    for (int a = 0; a < 6; a++) {
        double n = rs->wn ? (double)rs->wn : NAN;
        s->wrench_rmse[a] = sqrt(rs->wsum2[a] / n);
        s->wrench_bias[a] = rs->wsum[a] / n;
    }
    for (int h = 0; h < TW_REPLAY_NHORIZONS; h++)
        s->div_q[h] = s->div_ee[h] = NAN;
    if (R->dv)
        tw_diverge_result(R->dv, s->div_q, s->div_ee, &s->div_windows);
    for (int c = 0; c < s->ncam; c++) {
        const tw_align_info *in = tw_align_get_info(R->al);
        if (R->o.video)
            tw_vsync_check(R->ep, in->streams[R->cam[c]].src_index, 600, &s->vsync[c]);
        else {
            s->vsync[c].offset_frames = NAN;
            snprintf(s->vsync[c].name, sizeof s->vsync[c].name, "%s", s->stream_names[R->cam[c]]);
            snprintf(s->vsync[c].note, sizeof s->vsync[c].note, "not checked (video check off)");
        }
        if (!s->vsync[c].ok)
            tw_summary_flag(s, "video_sync_unavailable");
    }
    if (s->valid_steps < s->steps)
        tw_summary_flag(s, "invalid_steps");
    finish_numbers(R);
}

/* The episode's events (few: read whole) into aligned.h5, times on the recorder clock. */
static int write_events(run_t *R, char *msg, size_t msgsz)
{
    if (R->ev < 0 || !R->h5)
        return 0;
    const tw_align_info *in = tw_align_get_info(R->al);
    size_t si = in->streams[R->ev].src_index;
    uint64_t n = tw_episode_nsamples(R->ep, si);
    uint64_t *seq = calloc(n + 1, sizeof *seq);
    int64_t *t = calloc(n + 1, sizeof *t);
    char **text = calloc(n + 1, sizeof *text);
    int rc = !seq || !t || !text ? tw_errf(msg, msgsz, TW_ENOMEM, "events") : 0;
    if (rc == 0 && n)
        rc = tw_episode_read(R->ep, si, 0, n, t, NULL, seq, NULL, msg, msgsz);
    if (rc == 0 && n)
        rc = tw_episode_read_text(R->ep, si, 0, n, text, msg, msgsz);
    for (uint64_t i = 0; rc == 0 && i < n; i++)
        t[i] = tw_clock_to_server(&in->clock, t[i]);
    if (rc == 0)
        rc = tw_aligned_h5_events(R->h5, n, seq, t, (const char *const *)text, msg, msgsz);
    for (uint64_t i = 0; text && i < n; i++)
        free(text[i]);
    free(text);
    free(t);
    free(seq);
    return rc;
}

static int write_outputs(run_t *R, char *msg, size_t msgsz)
{
    if (!R->o.out_dir)
        return 0;
    int erc = write_events(R, msg, msgsz);
    if (erc < 0)
        return erc;
    char p[4096];
    snprintf(p, sizeof p, "%s/summary.json", R->o.out_dir);
    char *js = tw_replay_summary_json(R->s);
    FILE *f = js ? fopen(p, "w") : NULL;
    int ok = f && fputs(js, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    free(js);
    if (!ok)
        return tw_errf(msg, msgsz, TW_EIO, "cannot write %s", p);
    snprintf(p, sizeof p, "%s/report.html", R->o.out_dir);
    int rc = tw_report_html_write(R->s, p, msg, msgsz);
    if (rc < 0)
        return rc;
    rc = tw_aligned_h5_close(R->h5, R->s, msg, msgsz);
    R->h5 = NULL;
    return rc;
}

int tw_replay_run(const char *episode_dir, const tw_replay_opts *o, tw_replay_summary **out, char *msg,
                  size_t msgsz)
{
    *out = NULL;
    tw_mj_init();
    run_t R;
    memset(&R, 0, sizeof R);
    if (o)
        R.o = *o;
    else
        tw_replay_opts_init(&R.o);
    R.s = calloc(1, sizeof *R.s);
    if (!R.s)
        return tw_errf(msg, msgsz, TW_ENOMEM, "summary");
    double t_start = tw_mono_s();
    int rc = open_inputs(&R, episode_dir, msg, msgsz);
    if (rc == 0)
        rc = prepare(&R, msg, msgsz);
    if (rc == 0)
        rc = pass(&R, msg, msgsz);
    if (rc == 0) {
        finish_summary(&R);
        R.s->wall_s = tw_mono_s() - t_start;
        double work = R.s->wall_s - R.s->model_load_s;
        R.s->steps_per_s = work > 0 ? (double)R.s->steps / work : 0;
        rc = write_outputs(&R, msg, msgsz);
    }
    run_free(&R);
    if (rc < 0) {
        tw_replay_summary_free(R.s);
        return rc;
    }
    *out = R.s;
    return 0;
}
