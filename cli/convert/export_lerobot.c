/* tw export lerobot SRC --out DATASET_DIR [--video-codec h264|av1] [--fps HZ]
 * SRC: a folder of episodes, one episode, or a `tw fuse` output. Writes a LeRobot v3.0 dataset as LeRobot 0.4's own
 * code lays it out (schemas/lerobot.md): meta/info.json, meta/stats.json (LeRobot's statistics with its
 * quantiles), meta/tasks.parquet, meta/episodes/chunk-000/file-000.parquet, data/chunk-NNN/file-NNN.parquet and
 * videos/<key>/chunk-NNN/file-NNN.mp4 (episodes packed as LeRobot does: packets copied, or SVT-AV1 with
 * --video-codec av1).
 * Everything is written under DATASET_DIR.part and renamed at the end: no half dataset under the final name.
 * Memory: one episode's rows at a time. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_convert.h"
#include "tw_convert_lerobot_write.h"
#include "tw_convert_video.h"
#include "tw_media.h"

typedef struct {
    const char *src, *out, *vcodec;
    double fps;
    char tmp[CV_PATH + 8];
    cv_plan plan;
    lw_writer w;
    json_t *tasks;                /* task_index -> text */
    cv_stats *all[CV_MAX_FEATURES + LW_NBOOK]; /* per-episode stats, kept for the aggregate (small) */
    size_t nep;
    int64_t total;
    int64_t video_file[CV_MAX_FEATURES];    /* file index of the open MP4 of each video feature */
    cv_vout *vout[CV_MAX_FEATURES];         /* open MP4 per video feature: episodes are appended */
    double vend[CV_MAX_FEATURES];           /* its length so far, seconds */
    json_t *video_info[CV_MAX_FEATURES];
    json_t *splits;               /* split -> [first, last episode index] */
} lx_ctx;

static void usage(FILE *f)
{
    fprintf(f, "usage: tw export lerobot SRC --out DATASET_DIR [--video-codec h264|av1] [--fps HZ]\n"
               "  SRC: a folder of episodes, an episode, or a `tw fuse` output (split and weight kept per episode)\n");
}

static int task_index(lx_ctx *c, const char *task)
{
    for (size_t i = 0; i < json_array_size(c->tasks); i++)
        if (!strcmp(json_string_value(json_array_get(c->tasks, i)), task))
            return (int)i;
    json_array_append_new(c->tasks, json_string(task));
    return (int)json_array_size(c->tasks) - 1;
}

/* LeRobot's sample_indices / estimate_num_samples (compute_stats.py). */
static size_t sample_count(size_t len)
{
    size_t lo = len < 100 ? len : 100, n = (size_t)pow((double)len, 0.75);
    n = n > 10000 ? 10000 : n;
    return n > lo ? n : lo;
}

/* Image stats of one video feature: sampled frames, downsampled past 300 px, per channel, in [0, 1]. */
static int image_stats(const tw_episode *e, const cv_feature *f, cv_stats *st, char *msg, size_t msgsz)
{
    int si = tw_episode_find_stream(e, f->stream);
    tw_video_index_entry *ix = NULL;
    size_t nf = 0;
    char path[CV_PATH];
    int rc = tw_episode_read_video_index(e, (size_t)si, &ix, &nf, path, sizeof path, msg, msgsz);
    free(ix);
    tw_vdecode *d = NULL;
    if (!rc)
        rc = tw_vdecode_open(path, TW_PIX_RGB24, &d, msg, msgsz);
    size_t ns = sample_count(nf), got = 0, cap = 0, np = 0;
    double *px = NULL;
    tw_vframe fr;
    for (size_t k = 0, next = 0; !rc && got < ns && tw_vdecode_next(d, &fr, msg, msgsz) == 0; k++) {
        size_t want = ns > 1 ? (size_t)llround((double)next * (double)(nf - 1) / (double)(ns - 1)) : 0;
        if (k != want)
            continue;
        while (next < ns && (ns > 1 ? (size_t)llround((double)next * (double)(nf - 1) / (double)(ns - 1)) : 0) == k)
            next++;
        int big = (fr.width > fr.height ? fr.width : fr.height) >= 300;
        int step = !big ? 1 : fr.width > fr.height ? fr.width / 150 : fr.height / 150;
        size_t add = (size_t)((fr.height + step - 1) / step) * (size_t)((fr.width + step - 1) / step);
        if (np + add > cap) {
            cap = 2 * (np + add);
            px = realloc(px, cap * 3 * sizeof *px);
        }
        for (int y = 0; y < fr.height; y += step)
            for (int x = 0; x < fr.width; x += step, np++)
                for (int ch = 0; ch < 3; ch++)
                    px[np * 3 + (size_t)ch] = fr.data[(size_t)y * fr.stride + (size_t)x * 3 + (size_t)ch];
        got++;
    }
    tw_vdecode_close(d);
    if (!rc)
        rc = cv_stats_compute(st, px, np, 3);
    if (!rc) {
        st->count = got;
        double *all[4 + CV_NQ] = {st->min, st->max, st->mean, st->std};
        for (int q = 0; q < CV_NQ; q++)
            all[4 + q] = st->q[q];
        for (int s = 0; s < 4 + CV_NQ; s++)
            for (int ch = 0; ch < 3; ch++)
                all[s][ch] /= 255.0;
    }
    free(px);
    return rc;
}

#define LX_VIDEO_FILE_BYTES (200ll << 20) /* DEFAULT_VIDEO_FILE_SIZE_IN_MB */

/* The MP4 feature i's episode goes into: the open one while the frames fit (same parameter sets, under 200 MB),
 * else a new file (LeRobot: many episodes per file, from_timestamp/to_timestamp locate each). */
static int video_target(lx_ctx *c, size_t i, const cv_feature *f, const char *src, char *msg, size_t msgsz)
{
    if (c->vout[i] && cv_vout_fits(c->vout[i], src, LX_VIDEO_FILE_BYTES))
        return 0;
    int rc = 0;
    if (c->vout[i]) {
        rc = cv_vout_close(c->vout[i], 0, msg, msgsz);
        c->vout[i] = NULL, c->video_file[i]++;
    }
    char dir[2 * CV_PATH], path[3 * CV_PATH];
    int64_t fi = c->video_file[i];
    snprintf(dir, sizeof dir, "%s/videos/%s/chunk-%03lld", c->tmp, f->key, (long long)(fi / 1000));
    snprintf(path, sizeof path, "%s/file-%03lld.mp4", dir, (long long)(fi % 1000));
    c->vend[i] = 0;
    if (!rc)
        rc = cv_mkdirs(dir, msg, msgsz);
    if (!rc)
        rc = cv_vout_open(path, src, c->vcodec, c->plan.fps, &c->vout[i], msg, msgsz);
    if (!rc && !c->video_info[i]) {
        const char *codec, *pix;
        int w, h;
        cv_vout_info(c->vout[i], &codec, &pix, &w, &h);
        c->video_info[i] = json_pack("{s:i,s:i,s:s,s:s,s:b,s:f,s:i,s:b}", "video.height", h, "video.width", w,
                                     "video.codec", codec, "video.pix_fmt", pix ? pix : "yuv420p",
                                     "video.is_depth_map", 0, "video.fps", c->plan.fps, "video.channels", 3,
                                     "has_audio", 0);
    }
    return rc;
}

static int export_videos(lx_ctx *c, const cv_plan *q, const tw_episode *e, lw_episode *ep, char *msg,
                         size_t msgsz)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < q->nf; i++) {
        const cv_feature *f = &q->f[i];
        if (!f->video)
            continue;
        int si = tw_episode_find_stream(e, f->stream);
        tw_video_index_entry *ix = NULL;
        size_t nf = 0;
        char src[CV_PATH];
        rc = tw_episode_read_video_index(e, (size_t)si, &ix, &nf, src, sizeof src, msg, msgsz);
        free(ix);
        uint64_t n = 0;
        double dur = 0;
        if (!rc)
            rc = video_target(c, i, f, src, msg, msgsz);
        if (!rc)
            rc = cv_vout_append(c->vout[i], src, c->vend[i], &n, &dur, msg, msgsz);
        ep->video_file[i] = c->video_file[i], ep->video_from[i] = c->vend[i], ep->video_to[i] = c->vend[i] + dur;
        c->vend[i] += dur;
        if (!rc)
            rc = image_stats(e, f, &ep->stats[i], msg, msgsz);
    }
    return rc;
}

/* Finishes the open MP4s (abandon: removes them). */
static int close_videos(lx_ctx *c, int abandon, char *msg, size_t msgsz)
{
    int rc = 0;
    for (size_t i = 0; i < CV_MAX_FEATURES; i++) {
        int r = cv_vout_close(c->vout[i], abandon || rc, msg, msgsz);
        rc = rc ? rc : r;
        c->vout[i] = NULL;
    }
    return rc;
}

static void book_stats(lx_ctx *c, const cv_rows *r, lw_episode *ep)
{
    double *v = malloc((r->rows ? r->rows : 1) * sizeof *v);
    for (int b = 0; b < LW_NBOOK; b++) {
        for (size_t k = 0; k < r->rows; k++)
            v[k] = b == 0 ? (double)(float)((double)k / c->plan.fps) : b == 1 ? (double)k : b == 2 ? (double)ep->index
                 : b == 3 ? (double)(ep->from + (int64_t)k) : (double)ep->task_index;
        cv_stats_compute(&ep->stats[c->plan.nf + (size_t)b], v, r->rows, 1);
    }
    free(v);
}

static int export_one(lx_ctx *c, const cv_src_episode *s, const char *first, char *msg, size_t msgsz)
{
    tw_episode *e = NULL;
    cv_plan q = {0}; /* this episode's streams for the dataset's features */
    int rc = tw_episode_open(s->dir, &e, msg, msgsz);
    if (!rc)
        rc = cv_plan_make(&q, e, c->nep ? c->plan.fps : c->fps, msg, msgsz);
    if (!rc && c->nep == 0) {
        rc = cv_plan_make(&c->plan, e, c->fps, msg, msgsz);
        if (!rc)
            rc = lw_open(&c->w, &c->plan, c->tmp, msg, msgsz);
    } else if (!rc) {
        rc = cv_plan_check(&c->plan, &q, first, s->dir, msg, msgsz);
    }
    cv_rows r = {0};
    if (!rc)
        rc = cv_rows_read(&q, e, &r, msg, msgsz);
    lw_episode ep = {0};
    const tw_episode_meta *m = e ? tw_episode_get_meta(e) : NULL;
    if (!rc) {
        ep.index = (int64_t)c->nep, ep.length = (int64_t)r.rows, ep.from = c->total, ep.to = c->total + ep.length;
        ep.task = m->task, ep.task_index = task_index(c, m->task), ep.episode_id = m->episode_id;
        ep.domain = m->domain, ep.split = s->split, ep.weight = s->weight;
        for (size_t i = 0; !rc && i < c->plan.nf; i++)
            if (!c->plan.f[i].video)
                rc = cv_stats_compute(&ep.stats[i], r.x[i], r.rows, c->plan.f[i].elems);
        book_stats(c, &r, &ep);
    }
    if (!rc)
        rc = lw_data(&c->w, &r, &ep, msg, msgsz);
    if (!rc)
        rc = export_videos(c, &q, e, &ep, msg, msgsz);
    if (!rc)
        rc = lw_episode_row(&c->w, &ep, msg, msgsz);
    for (size_t i = 0; i < c->plan.nf + LW_NBOOK && !rc; i++) { /* keep the stats for meta/stats.json */
        cv_stats *a = realloc(c->all[i], (c->nep + 1) * sizeof *a);
        if (!a) {
            rc = TW_ENOMEM;
            break;
        }
        c->all[i] = a, a[c->nep] = ep.stats[i];
        memset(&ep.stats[i], 0, sizeof ep.stats[i]);
    }
    for (size_t i = 0; i < CV_MAX_FEATURES + LW_NBOOK; i++)
        cv_stats_free(&ep.stats[i]);
    if (!rc) {
        if (s->split[0]) {
            json_t *sp = json_object_get(c->splits, s->split);
            if (!sp)
                json_object_set_new(c->splits, s->split, sp = json_pack("[I,I]", (json_int_t)c->nep, (json_int_t)c->nep));
            json_array_set_new(sp, 1, json_integer((json_int_t)c->nep + 1));
        }
        c->nep++, c->total += ep.length;
    }
    cv_rows_free(&r);
    cv_plan_free(&q);
    tw_episode_close_reader(e);
    return rc;
}

static json_t *stats_json(const cv_stats *s, int image, int isint)
{
    json_t *o = json_object();
    const double *v[4 + CV_NQ] = {s->min, s->max, s->mean, s->std};
    static const char *const names[4] = {"min", "max", "mean", "std"};
    for (int q = 0; q < CV_NQ; q++)
        v[4 + q] = s->q[q];
    for (int k = 0; k < 4 + CV_NQ; k++) {
        json_t *a = json_array();
        for (size_t j = 0; j < s->dim; j++) {
            double x = isfinite(v[k][j]) ? v[k][j] : 0;
            json_t *val = isint && k < 2 ? json_integer((json_int_t)x) : json_real(x);
            json_array_append_new(a, image ? json_pack("[[o]]", val) : val);
        }
        json_object_set_new(o, k < 4 ? names[k] : cv_qnames[k - 4], a);
    }
    json_object_set_new(o, "count", json_pack("[I]", (json_int_t)s->count));
    return o;
}

static int write_meta(lx_ctx *c, char *msg, size_t msgsz)
{
    static const char *const book[LW_NBOOK] = {"timestamp", "frame_index", "episode_index", "index", "task_index"};
    json_t *feats = json_object(), *stats = json_object();
    int rc = 0;
    for (size_t i = 0; i < c->plan.nf + LW_NBOOK && !rc; i++) {
        const cv_feature *f = i < c->plan.nf ? &c->plan.f[i] : NULL;
        const char *key = f ? f->key : book[i - c->plan.nf];
        json_t *shape = json_array();
        for (int k = 0; f && k < f->ndim; k++)
            json_array_append_new(shape, json_integer(f->shape[k]));
        if (!f)
            json_array_append_new(shape, json_integer(1));
        json_t *ft = json_pack("{s:s,s:o,s:O}", "dtype", f ? f->dtype : i == c->plan.nf ? "float32" : "int64",
                               "shape", shape, "names", f && f->names ? f->names : json_null());
        if (f && f->video)
            json_object_set(ft, "info", c->video_info[i] ? c->video_info[i] : json_object());
        json_object_set_new(feats, key, ft);
        cv_stats agg;
        if ((rc = cv_stats_aggregate(&agg, c->all[i], c->nep)))
            break;
        json_object_set_new(stats, key, stats_json(&agg, f && f->video, f ? lw_is_int(f) : i > c->plan.nf));
        cv_stats_free(&agg);
    }
    json_t *splits = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(c->splits, k, v)
        json_object_set_new(splits, k, json_sprintf("%lld:%lld", (long long)json_integer_value(json_array_get(v, 0)),
                                                    (long long)json_integer_value(json_array_get(v, 1))));
    if (!json_object_size(splits))
        json_object_set_new(splits, "train", json_sprintf("0:%zu", c->nep));
    int has_video = 0;
    for (size_t i = 0; i < c->plan.nf; i++)
        has_video |= c->plan.f[i].video;
    json_t *info = json_pack(
        "{s:s,s:n,s:I,s:I,s:I,s:i,s:i,s:i,s:f,s:o,s:s,s:s?,s:o}", "codebase_version", "v3.0", "robot_type",
        "total_episodes", (json_int_t)c->nep, "total_frames", (json_int_t)c->total, "total_tasks",
        (json_int_t)json_array_size(c->tasks), "chunks_size", 1000, "data_files_size_in_mb", 100,
        "video_files_size_in_mb", 200, "fps", c->plan.fps, "splits", splits, "data_path",
        "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet", "video_path",
        has_video ? "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4" : NULL, "features", feats);
    if (has_video == 0)
        json_object_set_new(info, "video_path", json_null());
    char p[CV_PATH + 32];
    snprintf(p, sizeof p, "%s/meta/info.json", c->tmp);
    if (!rc && json_dump_file(info, p, JSON_INDENT(4) | JSON_REAL_PRECISION(17)) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "cannot write %s", p);
    snprintf(p, sizeof p, "%s/meta/stats.json", c->tmp);
    if (!rc && json_dump_file(stats, p, JSON_INDENT(4) | JSON_REAL_PRECISION(17)) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "cannot write %s", p);
    json_decref(info), json_decref(stats);
    return rc;
}

static int split_rank(const char *s) { return !strcmp(s, "train") ? 0 : !strcmp(s, "val") ? 1 : !strcmp(s, "test") ? 2 : 3; }

static int cmp_split(const void *a, const void *b)
{
    const cv_src_episode *x = a, *y = b;
    int d = split_rank(x->split) - split_rank(y->split);
    return d ? d : strcmp(x->dir, y->dir);
}

int tw_export_lerobot(int argc, char **argv)
{
    static const struct option opts[] = {{"out", 1, 0, 'o'}, {"video-codec", 1, 0, 'v'}, {"fps", 1, 0, 'f'},
                                         {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    lx_ctx c = {.vcodec = "h264"};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "o:v:f:h", opts, NULL)) != -1) {
        if (o == 'o')
            c.out = optarg;
        else if (o == 'v')
            c.vcodec = optarg;
        else if (o == 'f')
            c.fps = atof(optarg);
        else
            return usage(o == 'h' ? stdout : stderr), o == 'h' ? 0 : 2;
    }
    if (optind + 1 != argc || !c.out || (strcmp(c.vcodec, "h264") && strcmp(c.vcodec, "av1")))
        return usage(stderr), 2;
    c.src = argv[optind];
    if (!strcmp(c.vcodec, "h264"))
        c.vcodec = "copy"; /* episode video is H.264 (recorded, or encoded by the episode writer) */
    tw_media_use_for_episodes();
    cv_quiet_ffmpeg();
    char msg[2048];
    struct stat st;
    cv_src_episode *src = NULL;
    size_t n = 0;
    int rc = stat(c.out, &st) == 0 ? tw_errf(msg, sizeof msg, TW_EINVAL, "%s already exists", c.out) : 0;
    if (!rc)
        rc = cv_src_list(c.src, &src, &n, msg, sizeof msg);
    if (!rc)
        qsort(src, n, sizeof *src, cmp_split); /* splits become index ranges */
    snprintf(c.tmp, sizeof c.tmp, "%s.part", c.out);
    cv_rmtree(c.tmp);
    c.tasks = json_array(), c.splits = json_object();
    if (!rc)
        rc = cv_mkdirs(c.tmp, msg, sizeof msg);
    for (size_t i = 0; !rc && i < n; i++)
        rc = export_one(&c, &src[i], src[0].dir, msg, sizeof msg);
    int vrc = close_videos(&c, rc != 0, rc ? NULL : msg, sizeof msg);
    rc = rc ? rc : vrc;
    if (!rc)
        rc = lw_close(&c.w, msg, sizeof msg);
    if (!rc)
        rc = lw_tasks(c.tmp, c.tasks, msg, sizeof msg);
    if (!rc)
        rc = write_meta(&c, msg, sizeof msg);
    if (!rc)
        rc = cv_commit(c.tmp, c.out, msg, sizeof msg);
    if (rc) {
        lw_abort(&c.w);
        cv_rmtree(c.tmp);
        fprintf(stderr, "tw export lerobot: %s\n", msg);
    } else {
        fprintf(stderr, "tw export lerobot: %zu episodes, %lld frames at %.17g fps -> %s\n", c.nep,
                (long long)c.total, c.plan.fps, c.out);
        for (size_t i = 0; i < json_array_size(c.plan.notes); i++)
            fprintf(stderr, "tw export lerobot: note: %s\n", json_string_value(json_array_get(c.plan.notes, i)));
    }
    for (size_t i = 0; i < CV_MAX_FEATURES + LW_NBOOK; i++) {
        for (size_t k = 0; c.all[i] && k < c.nep; k++)
            cv_stats_free(&c.all[i][k]);
        free(c.all[i]);
    }
    for (size_t i = 0; i < CV_MAX_FEATURES; i++)
        json_decref(c.video_info[i]);
    json_decref(c.tasks), json_decref(c.splits);
    cv_plan_free(&c.plan);
    free(src);
    return rc ? 1 : 0;
}
