/* tw import lerobot DATASET_DIR --out EPISODES_DIR [--episodes LIST] [--map FILE.json] [--domain real|sim]
 * Each LeRobot episode (v3.0 or v2.1) becomes one teleworld episode (schemas/lerobot.md has the mapping):
 * `timestamp` is the source time; the joint_state role (observation.state unless --map names another) becomes a
 * joint_state stream (positions; velocity and effort NaN), the action role an action stream, video features video
 * streams (H.264 without B-frames copied, anything else decoded and encoded by the episode writer), every other
 * feature a tensor stream of its shape. Provenance (dataset, version, episode, feature -> stream) goes into the
 * episode metadata under "source". */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_convert.h"
#include "tw_convert_lerobot.h"
#include "tw_convert_video.h"
#include "tw_media.h"
#include "tw_timeline.h"

#define LR_ROWS 4096

typedef struct {
    const char *root, *episodes;
    cv_import_opts io;
    tw_map *map;
    lr_dataset d;
    char stem[48];
    char cur_path[CV_PATH + 1024]; /* the data file open in r (v3.0 holds many episodes per file) */
    tw_parquet_reader *r;
    cv_batch batch;
} lr_ctx;

typedef struct {
    int feature;   /* index into d.f, -1: none */
    tw_stream_decl decl;
    cv_vin *vin;
    int image;     /* dtype image: PNG (or JPEG) bytes in the parquet column <key>.bytes */
} lr_stream;

static void usage(FILE *f)
{
    fprintf(f, "usage: tw import lerobot DATASET_DIR --out EPISODES_DIR [--episodes LIST] [--map FILE.json]\n"
               "                          [--domain real|sim] [--compression 0..9]\n"
               "  LIST: episode indices, e.g. 0,3,10-12. --map: {\"streams\": {\"FEATURE\": \"joint_state\"|\"action\"}}\n");
}

static int selected(const char *list, int64_t ep)
{
    if (!list)
        return 1;
    for (const char *p = list; *p;) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        if (ep >= a && ep <= b)
            return 1;
        p = *end == ',' ? end + 1 : end + strlen(end);
    }
    return 0;
}

static int dtype_of(const char *s)
{
    if (!strcmp(s, "float32") || !strcmp(s, "float16"))
        return TW_DTYPE_FLOAT32;
    if (!strcmp(s, "float64"))
        return TW_DTYPE_FLOAT64;
    if (!strcmp(s, "int64") || !strcmp(s, "uint32") || !strcmp(s, "uint64"))
        return TW_DTYPE_INT64;
    if (!strcmp(s, "int32") || !strcmp(s, "int16") || !strcmp(s, "int8") || !strcmp(s, "uint16"))
        return TW_DTYPE_INT32;
    if (!strcmp(s, "uint8") || !strcmp(s, "bool"))
        return TW_DTYPE_UINT8;
    return -1;
}

static void set_axes(tw_stream_decl *d, json_t *names)
{
    json_t *list = json_is_object(names) ? json_object_get(names, "motors") : names; /* v2.0 style {"motors": []} */
    if (!json_is_array(list) || json_array_size(list) > TW_MAX_AXES)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) snprintf(d->axes[i], sizeof d->axes[i], "%s", json_string_value(v) ? json_string_value(v) : "");
    d->naxes = (uint32_t)json_array_size(list);
}

/* The data file's column against info.json: values per row (fixed-size lists) must match the declared shape. */
static int check_shape(const lr_ctx *c, const lr_feature *f, char *msg, size_t msgsz)
{
    size_t col;
    tw_parquet_column_info ci;
    if (tw_parquet_find(c->r, f->key, &col) != 0 || tw_parquet_column(c->r, col, &ci) != 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column '%s' missing (info.json features.%s declares it)",
                       c->cur_path, f->key, f->key);
    size_t per = 1;
    for (int l = 0; l < ci.nlevels; l++) {
        if (!ci.levels[l].fixed)
            return 0; /* variable lists: checked row by row while reading */
        per *= (size_t)ci.levels[l].size;
    }
    if (per != f->elems)
        return tw_errf(msg, msgsz, TW_ESHAPE, "%s: column '%s' holds %zu values per row, but info.json "
                       "features.%s.shape says %zu", c->cur_path, f->key, per, f->key, f->elems);
    return 0;
}

/* The streams of one episode, roles decided by --map (else observation.state and action). */
static int plan(lr_ctx *c, const lr_episode *e, lr_stream *s, size_t *n, json_t *notes, char *msg, size_t msgsz)
{
    *n = 0;
    const tw_stream_decl *dp[LR_MAX_FEATURES];
    int rc = 0;
    for (size_t i = 0; i < c->d.nf && !rc; i++) {
        const lr_feature *f = &c->d.f[i];
        if (lr_is_bookkeeping(f->key))
            continue;
        lr_stream *x = &s[*n];
        memset(x, 0, sizeof *x);
        x->feature = (int)i;
        tw_stream_decl *d = &x->decl;
        snprintf(d->name, sizeof d->name, "%s", f->key);
        for (char *p = d->name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                  *p == '-' || *p == '.'))
                *p = '_';
        d->rate_hz = c->d.fps;
        if (f->video) {
            char vp[CV_PATH + 1024];
            lr_path(&c->d, e, f->vi, vp, sizeof vp);
            if ((rc = cv_vin_open(vp, &x->vin, msg, msgsz)))
                break;
            int w, h;
            const char *codec;
            cv_vin_info(x->vin, &w, &h, &codec);
            d->kind = TW_KIND_VIDEO, d->dtype = TW_DTYPE_BYTES, d->width = (uint32_t)w, d->height = (uint32_t)h;
            d->encoding = cv_vin_passthrough(x->vin) ? TW_VIDEO_H264 : TW_VIDEO_RGB24;
        } else if (!strcmp(f->dtype, "image") && f->ndim == 3 && f->shape[2] == 3) { /* (height, width, 3) */
            char col[TW_MAX_NAME + 8];
            size_t ci;
            snprintf(col, sizeof col, "%s.bytes", f->key);
            if (tw_parquet_find(c->r, col, &ci) != 0) {
                rc = tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column '%s' missing (info.json features.%s is an image)",
                             c->cur_path, col, f->key);
                break;
            }
            x->image = 1;
            d->kind = TW_KIND_VIDEO, d->dtype = TW_DTYPE_BYTES, d->encoding = TW_VIDEO_RGB24;
            d->height = f->shape[0], d->width = f->shape[1];
        } else {
            int dt = dtype_of(f->dtype);
            if (dt < 0) { /* strings, PNG images in parquet: said loudly and listed in the provenance */
                json_array_append_new(notes, json_sprintf("feature %s (dtype %s) not imported", f->key, f->dtype));
                continue;
            }
            if ((rc = check_shape(c, f, msg, msgsz)))
                break;
            d->kind = TW_KIND_TENSOR, d->dtype = (tw_dtype)dt, d->ndim = (uint32_t)f->ndim;
            memcpy(d->shape, f->shape, sizeof d->shape);
            set_axes(d, f->names);
        }
        dp[(*n)++] = d;
    }
    /* Roles: the map's choice, else the conventional names. Only 1-D features can take one. */
    for (int role = 0; role < 2 && !rc; role++) {
        tw_kind k = role ? TW_KIND_ACTION : TW_KIND_JOINT_STATE;
        int idx = -1;
        if (c->map) /* only a stream the map names: every feature is still a tensor here */
            tw_map_find_role(c->map, dp, *n, k, &idx, msg, msgsz);
        for (size_t i = 0; idx < 0 && i < *n; i++)
            if (!strcmp(c->d.f[s[i].feature].key, role ? "action" : "observation.state"))
                idx = (int)i;
        if (idx < 0 || s[idx].decl.kind != TW_KIND_TENSOR || s[idx].decl.ndim != 1)
            continue;
        tw_stream_decl *d = &s[idx].decl;
        d->kind = k;
        if (k == TW_KIND_JOINT_STATE) {
            d->dtype = TW_DTYPE_FLOAT64, d->ndim = 2, d->shape[1] = d->shape[0], d->shape[0] = 3;
        }
    }
    return rc;
}

static int open_data(lr_ctx *c, const lr_episode *e, int64_t *row0, char *msg, size_t msgsz)
{
    char p[CV_PATH + 1024];
    lr_path(&c->d, e, -1, p, sizeof p);
    int rc = 0;
    if (!c->r || strcmp(p, c->cur_path)) {
        tw_parquet_close(c->r);
        c->r = NULL;
        if ((rc = tw_parquet_open(p, &c->r, msg, msgsz)))
            return rc;
        snprintf(c->cur_path, sizeof c->cur_path, "%s", p);
    }
    size_t ci, cap = 0;
    int64_t *first = NULL;
    *row0 = 0;
    if (!strcmp(c->d.version, "v3.0")) { /* rows of the file are global indices from its first row's `index` */
        if (tw_parquet_find(c->r, "index", &ci) != 0)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column 'index' missing", p);
        rc = lr_read(c->r, ci, 0, 1, TW_PQ_INT64, (void **)&first, &cap, NULL, p, msg, msgsz);
        if (!rc)
            *row0 = e->from - first[0];
        free(first);
    }
    if (!rc && (*row0 < 0 || *row0 + e->length > tw_parquet_num_rows(c->r)))
        rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: episode %lld rows [%lld, %lld) lie outside the file's %lld rows",
                     p, (long long)e->index, (long long)*row0, (long long)(*row0 + e->length),
                     (long long)tw_parquet_num_rows(c->r));
    return rc;
}

static int put_frame(void *ud, const uint8_t *data, size_t len, int64_t t_ns, int key, char *msg, size_t msgsz)
{
    void **a = ud;
    return cv_episode_put(a[0], *(size_t *)a[1], t_ns, data, len, key, msg, msgsz);
}

/* One tabular stream, LR_ROWS rows at a time: values checked against info.json's shape, converted to the
 * stream's dtype (joint_state: positions, NaN velocity and effort). */
static int write_column(lr_ctx *c, cv_episode *ep, size_t si, const lr_stream *x, int64_t row0, int64_t len,
                        const int64_t *t_ns, char *msg, size_t msgsz)
{
    const lr_feature *f = &c->d.f[x->feature];
    size_t col, cap = 0, el = f->elems, sb = tw_decl_sample_bytes(&x->decl);
    if (tw_parquet_find(c->r, f->key, &col) != 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column '%s' missing (info.json declares it)", c->cur_path,
                       f->key);
    int isint = x->decl.dtype == TW_DTYPE_INT64 || x->decl.dtype == TW_DTYPE_INT32 || x->decl.dtype == TW_DTYPE_UINT8;
    void *vals = NULL;
    int64_t *lens = malloc(LR_ROWS * sizeof *lens);
    uint8_t *row = malloc(sb);
    int rc = 0;
    for (int64_t k0 = 0; !rc && k0 < len; k0 += LR_ROWS) {
        int64_t nr = len - k0 < LR_ROWS ? len - k0 : LR_ROWS;
        rc = lr_read(c->r, col, row0 + k0, nr, isint ? TW_PQ_INT64 : TW_PQ_FLOAT64, &vals, &cap, lens, c->cur_path,
                     msg, msgsz);
        for (int64_t k = 0, off = 0; !rc && k < nr; off += lens[k], k++) {
            if ((size_t)lens[k] != el) {
                rc = tw_errf(msg, msgsz, TW_ESHAPE, "%s: column '%s' row %lld holds %lld values; info.json "
                             "features.%s.shape says %zu", c->cur_path, f->key, (long long)(row0 + k0 + k),
                             (long long)lens[k], f->key, el);
                break;
            }
            for (size_t j = 0; j < el; j++) {
                double dv = isint ? (double)((int64_t *)vals)[off + (int64_t)j] : ((double *)vals)[off + (int64_t)j];
                int64_t iv = isint ? ((int64_t *)vals)[off + (int64_t)j] : 0;
                switch (x->decl.dtype) {
                case TW_DTYPE_FLOAT32: ((float *)row)[j] = (float)dv; break;
                case TW_DTYPE_FLOAT64: ((double *)row)[j] = dv; break;
                case TW_DTYPE_INT32: ((int32_t *)row)[j] = (int32_t)iv; break;
                case TW_DTYPE_INT64: ((int64_t *)row)[j] = iv; break;
                default: row[j] = (uint8_t)iv; break;
                }
            }
            rc = cv_episode_put(ep, si, t_ns[k0 + k], row, sb, 0, msg, msgsz);
        }
    }
    free(vals), free(lens), free(row);
    return rc;
}

/* A feature's values over the episode, as doubles (len x elems). */
static int read_all(lr_ctx *c, const lr_feature *f, int64_t row0, int64_t len, double **out, char *msg, size_t msgsz)
{
    size_t col, cap = 0;
    *out = NULL;
    if (tw_parquet_find(c->r, f->key, &col) != 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column '%s' missing", c->cur_path, f->key);
    int64_t *lens = malloc((size_t)(len ? len : 1) * sizeof *lens);
    int rc = lr_read(c->r, col, row0, len, TW_PQ_FLOAT64, (void **)out, &cap, lens, c->cur_path, msg, msgsz);
    for (int64_t k = 0; !rc && k < len; k++)
        if ((size_t)lens[k] != f->elems)
            rc = tw_errf(msg, msgsz, TW_ESHAPE, "%s: column '%s' row %lld holds %lld values; info.json features.%s.shape "
                         "says %zu", c->cur_path, f->key, (long long)(row0 + k), (long long)lens[k], f->key, f->elems);
    free(lens);
    return rc;
}

static int companion(const lr_ctx *c, const char *key, size_t elems)
{
    for (size_t i = 0; i < c->d.nf; i++)
        if (!strcmp(c->d.f[i].key, key) && c->d.f[i].elems == elems && !c->d.f[i].video)
            return (int)i;
    return -1;
}

/* The joint_state stream: positions from its feature; velocity from observation.velocity when the dataset has it
 * (teleworld's own exports), else finite differences of the positions over the timestamps (numpy.gradient's
 * scheme); effort from observation.effort, else NaN. Memory: the episode's rows of these features. */
static int write_joint_state(lr_ctx *c, cv_episode *ep, size_t si, const lr_stream *x, int64_t row0, int64_t len,
                             const int64_t *t_ns, json_t *notes, char *msg, size_t msgsz)
{
    const lr_feature *f = &c->d.f[x->feature];
    size_t n = f->elems;
    int vi = companion(c, "observation.velocity", n), ei = companion(c, "observation.effort", n);
    double *pos = NULL, *vel = NULL, *eff = NULL, *row = malloc(3 * n * sizeof *row);
    int rc = read_all(c, f, row0, len, &pos, msg, msgsz);
    if (!rc && vi >= 0)
        rc = read_all(c, &c->d.f[vi], row0, len, &vel, msg, msgsz);
    if (!rc && ei >= 0)
        rc = read_all(c, &c->d.f[ei], row0, len, &eff, msg, msgsz);
    if (!rc && vi < 0)
        json_array_append_new(notes, json_sprintf("%s: velocity by finite differences of the positions", f->key));
    for (int64_t k = 0; !rc && k < len; k++) {
        int64_t a = k > 0 ? k - 1 : k, b = k + 1 < len ? k + 1 : k;
        double dt = (double)(t_ns[b] - t_ns[a]) * 1e-9;
        for (size_t j = 0; j < n; j++) {
            row[j] = pos[(size_t)k * n + j];
            row[n + j] = vel ? vel[(size_t)k * n + j]
                       : dt > 0 ? (pos[(size_t)b * n + j] - pos[(size_t)a * n + j]) / dt : 0;
            row[2 * n + j] = eff ? eff[(size_t)k * n + j] : NAN;
        }
        rc = cv_episode_put(ep, si, t_ns[k], row, 3 * n * sizeof *row, 0, msg, msgsz);
    }
    free(pos), free(vel), free(eff), free(row);
    return rc;
}

/* An image feature: the PNGs of LR_IMAGE_ROWS rows at a time, decoded to RGB24 for the episode writer. */
#define LR_IMAGE_ROWS 32
static int write_images(lr_ctx *c, cv_episode *ep, size_t si, const lr_stream *x, int64_t row0, int64_t len,
                        const int64_t *t_ns, char *msg, size_t msgsz)
{
    const lr_feature *f = &c->d.f[x->feature];
    char col[TW_MAX_NAME + 8], what[CV_PATH + 1200];
    size_t ci, bcap = 0, ocap = LR_IMAGE_ROWS + 1;
    snprintf(col, sizeof col, "%s.bytes", f->key);
    tw_parquet_find(c->r, col, &ci);
    int w = (int)x->decl.width, h = (int)x->decl.height;
    uint8_t *rgb = malloc((size_t)w * (size_t)h * 3 + 64), *bytes = NULL;
    int64_t *off = malloc(ocap * sizeof *off);
    cv_still *st = NULL;
    int rc = rgb && off ? cv_still_open(&st, msg, msgsz) : TW_ENOMEM;
    for (int64_t k0 = 0; !rc && k0 < len; k0 += LR_IMAGE_ROWS) {
        int64_t nr = len - k0 < LR_IMAGE_ROWS ? len - k0 : LR_IMAGE_ROWS;
        tw_parquet_out o = {.values = bytes, .values_cap = bcap, .offsets = off, .offsets_cap = ocap};
        rc = tw_parquet_read(c->r, ci, row0 + k0, nr, TW_PQ_UTF8, &o, msg, msgsz);
        if (rc == TW_EFULL) { /* grow to what the rows need and read again */
            uint8_t *nb = realloc(bytes, o.nbytes + 1);
            rc = nb ? 0 : TW_ENOMEM;
            if (nb)
                bytes = nb, bcap = o.nbytes + 1;
            o = (tw_parquet_out){.values = bytes, .values_cap = bcap, .offsets = off, .offsets_cap = ocap};
            if (!rc)
                rc = tw_parquet_read(c->r, ci, row0 + k0, nr, TW_PQ_UTF8, &o, msg, msgsz);
        }
        for (int64_t k = 0; !rc && k < nr; k++) {
            snprintf(what, sizeof what, "%s: column '%s' row %lld", c->cur_path, col, (long long)(row0 + k0 + k));
            rc = cv_still_decode(st, bytes + off[k], (size_t)(off[k + 1] - off[k]), w, h, rgb, what, msg, msgsz);
            if (!rc)
                rc = cv_episode_put(ep, si, t_ns[k0 + k], rgb, (size_t)w * (size_t)h * 3, 0, msg, msgsz);
        }
    }
    cv_still_close(st);
    free(rgb), free(bytes), free(off);
    return rc;
}

static int read_times(lr_ctx *c, int64_t row0, int64_t len, int64_t **t_ns, char *msg, size_t msgsz)
{
    size_t col, cap = 0;
    double *ts = NULL;
    *t_ns = NULL;
    if (tw_parquet_find(c->r, "timestamp", &col) != 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column 'timestamp' missing", c->cur_path);
    int rc = lr_read(c->r, col, row0, len, TW_PQ_FLOAT64, (void **)&ts, &cap, NULL, c->cur_path, msg, msgsz);
    *t_ns = rc ? NULL : malloc((size_t)(len ? len : 1) * sizeof **t_ns);
    for (int64_t i = 0; !rc && i < len; i++) { /* float32 seconds: snap to the frame grid when within 1e-4 frame */
        double k = ts[i] * c->d.fps;
        (*t_ns)[i] = fabs(k - round(k)) < 1e-4 ? llround(round(k) * 1e9 / c->d.fps) : llround(ts[i] * 1e9);
    }
    free(ts);
    return rc;
}

static char *provenance(const lr_ctx *c, const lr_episode *e, const lr_stream *s, size_t n, json_t *notes)
{
    char abs[CV_PATH];
    json_t *feats = json_object();
    for (size_t i = 0; i < n; i++) {
        const lr_feature *f = &c->d.f[s[i].feature];
        json_t *ft = json_object_get(json_object_get(c->d.info, "features"), f->key);
        json_object_set_new(feats, s[i].decl.name,
                            json_pack("{s:s,s:s,s:O?}", "feature", f->key, "dtype", f->dtype, "info", ft));
    }
    json_t *src = json_pack("{s:s,s:s,s:s,s:I,s:f,s:s?,s:O,s:o,s:o}", "format", "lerobot", "codebase_version",
                            c->d.version, "path", realpath(c->root, abs) ? abs : c->root, "episode_index",
                            (json_int_t)e->index, "fps", c->d.fps, "robot_type", c->d.robot_type, "tasks", e->tasks,
                            "streams", feats, "notes", json_incref(notes));
    json_t *m = json_pack("{s:o}", "source", src);
    char *txt = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(m);
    return txt;
}

static int write_video(cv_episode *ep, size_t si, lr_stream *x, const lr_ctx *c, const lr_episode *e,
                       json_t *notes, char *msg, size_t msgsz)
{
    const lr_feature *f = &c->d.f[x->feature];
    uint64_t nf = 0;
    void *ud[2] = {ep, &si};
    int rc = cv_vin_cut(x->vin, e->video[f->vi].from_ts, e->video[f->vi].to_ts, 0.5 / c->d.fps, put_frame, ud, &nf,
                        msg, msgsz);
    if (!rc && (int64_t)nf != e->length)
        json_array_append_new(notes, json_sprintf("%s: %llu video frames for %lld rows", f->key,
                                                  (unsigned long long)nf, (long long)e->length));
    return rc;
}

static int import_episode(lr_ctx *c, const lr_episode *e, char *msg, size_t msgsz)
{
    lr_stream s[LR_MAX_FEATURES];
    size_t n = 0;
    json_t *notes = json_array();
    int64_t row0 = 0, *t_ns = NULL;
    char id[TW_MAX_NAME], *meta = NULL, task[TW_MAX_TEXT] = "";
    snprintf(id, sizeof id, "%s-ep%06lld", c->stem, (long long)e->index);
    cv_episode ep = {0};
    int rc = open_data(c, e, &row0, msg, msgsz);
    if (!rc)
        rc = plan(c, e, s, &n, notes, msg, msgsz);
    if (!rc)
        rc = read_times(c, row0, e->length, &t_ns, msg, msgsz);
    if (!rc) {
        tw_stream_decl d[LR_MAX_FEATURES];
        for (size_t i = 0; i < n; i++)
            d[i] = s[i].decl;
        for (size_t i = 0; i < json_array_size(e->tasks); i++)
            snprintf(task + strlen(task), sizeof task - strlen(task), "%s%s", i ? "; " : "",
                     json_string_value(json_array_get(e->tasks, i)));
        meta = provenance(c, e, s, n, notes);
        tw_episode_info info;
        cv_import_info(&c->io, &info);
        info.episode_id = id;
        info.task = task;
        info.robot = c->d.robot_type ? c->d.robot_type : "";
        info.metadata_json = meta;
        rc = cv_episode_begin(&ep, c->io.out, &info, d, n, msg, msgsz);
    }
    for (size_t i = 0; !rc && i < n; i++)
        rc = s[i].vin ? write_video(&ep, i, &s[i], c, e, notes, msg, msgsz)
             : s[i].image ? write_images(c, &ep, i, &s[i], row0, e->length, t_ns, msg, msgsz)
             : s[i].decl.kind == TW_KIND_JOINT_STATE
                 ? write_joint_state(c, &ep, i, &s[i], row0, e->length, t_ns, notes, msg, msgsz)
                 : write_column(c, &ep, i, &s[i], row0, e->length, t_ns, msg, msgsz);
    if (!rc && json_array_size(notes)) /* notes found while writing (frame counts) */
        tw_episode_set_meta(ep.w, "import_notes", json_dumps(notes, JSON_COMPACT));
    if (!rc)
        rc = cv_episode_commit(&ep, &c->batch, msg, msgsz);
    if (rc)
        cv_episode_abort(&ep);
    for (size_t i = 0; i < json_array_size(notes); i++)
        fprintf(stderr, "tw import lerobot: %s: note: %s\n", id, json_string_value(json_array_get(notes, i)));
    for (size_t i = 0; i < n; i++)
        cv_vin_close(s[i].vin);
    json_decref(notes);
    free(meta), free(t_ns);
    return rc;
}

int tw_import_lerobot(int argc, char **argv)
{
    static const struct option opts[] = {CV_IMPORT_LONGOPTS, {"episodes", 1, 0, 'e'}, {"map", 1, 0, 'm'}, {0, 0, 0, 0}};
    lr_ctx c = {.io = {.domain = "real"}};
    const char *map = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, CV_IMPORT_SHORTOPTS "e:m:", opts, NULL)) != -1) {
        if (cv_import_opt(&c.io, o, optarg))
            continue;
        if (o == 'e')
            c.episodes = optarg;
        else if (o == 'm')
            map = optarg;
        else
            return usage(o == 'h' ? stdout : stderr), o == 'h' ? 0 : 2;
    }
    if (optind + 1 != argc || !cv_import_opts_ok(&c.io))
        return usage(stderr), 2;
    c.root = argv[optind];
    tw_media_use_for_episodes();
    cv_quiet_ffmpeg();
    char msg[2048];
    lr_episode *eps = NULL;
    size_t ne = 0, done = 0;
    int rc = tw_map_load(map, &c.map, msg, sizeof msg);
    if (!rc)
        rc = lr_open(&c.d, c.root, msg, sizeof msg);
    if (!rc)
        rc = lr_episodes(&c.d, &eps, &ne, msg, sizeof msg);
    const char *b = strrchr(c.root, '/');
    while (b && b[1] == 0 && b > c.root) /* trailing slash */
        b = memrchr(c.root, '/', (size_t)(b - c.root));
    snprintf(c.stem, sizeof c.stem, "%.*s", (int)strcspn(b ? b + 1 : c.root, "/"), b ? b + 1 : c.root);
    for (size_t i = 0; !rc && i < ne; i++) {
        if (!selected(c.episodes, eps[i].index))
            continue;
        rc = import_episode(&c, &eps[i], msg, sizeof msg);
        done += !rc;
    }
    if (!rc)
        rc = cv_batch_publish(&c.batch, msg, sizeof msg);
    else
        cv_batch_abort(&c.batch);
    if (!rc)
        fprintf(stderr, "tw import lerobot: %zu of %zu episodes of %s (%s, %.17g fps) -> %s\n", done, ne, c.root,
                c.d.version, c.d.fps, c.io.out);
    else
        fprintf(stderr, "tw import lerobot: %s\n", msg);
    lr_episodes_free(eps, ne);
    tw_parquet_close(c.r);
    lr_close(&c.d);
    tw_map_free(c.map);
    return rc ? 1 : 0;
}
