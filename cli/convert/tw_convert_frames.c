/* An episode as rows on a uniform grid: see tw_convert_frames.h. */
#include "tw_convert_frames.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dtype_name(tw_dtype d)
{
    switch (d) {
    case TW_DTYPE_FLOAT64: return "float64";
    case TW_DTYPE_INT32: return "int32";
    case TW_DTYPE_INT64: return "int64";
    case TW_DTYPE_UINT8: return "uint8";
    default: return "float32";
    }
}

static cv_feature *add(cv_plan *p, const char *key, const char *stream)
{
    if (p->nf >= CV_MAX_FEATURES)
        return NULL;
    cv_feature *f = &p->f[p->nf++];
    memset(f, 0, sizeof *f);
    snprintf(f->key, sizeof f->key, "%s", key);
    snprintf(f->stream, sizeof f->stream, "%s", stream);
    f->row = -1;
    return f;
}

static json_t *axes_json(const tw_stream_decl *d)
{
    if (!d->naxes)
        return NULL;
    json_t *a = json_array();
    for (uint32_t i = 0; i < d->naxes; i++)
        json_array_append_new(a, json_string(d->axes[i]));
    return a;
}

static void set_1d(cv_feature *f, const char *dtype, size_t n)
{
    snprintf(f->dtype, sizeof f->dtype, "%s", dtype);
    f->ndim = 1, f->shape[0] = (uint32_t)n, f->elems = n;
}

/* Whether row r of a joint_state stream holds data (an import without velocity or effort leaves NaN there). */
static int row_present(const tw_episode *e, size_t si, const tw_stream_decl *d, int r)
{
    size_t el = tw_decl_elems(d);
    double *v = malloc(el * sizeof *v);
    char m[128];
    int present = tw_episode_nsamples(e, si) > 0 && v && tw_episode_read(e, si, 0, 1, NULL, NULL, NULL, v, m, sizeof m) == 0;
    for (size_t j = 0; present && j < d->shape[1]; j++)
        if (!isnan(v[(size_t)r * d->shape[1] + j]))
            break;
        else if (j + 1 == d->shape[1])
            present = 0;
    free(v);
    return present;
}

/* A stream with no provenance, by kind. */
static int plan_native(cv_plan *p, const tw_episode *e, size_t si, const tw_stream_decl *d)
{
    char key[TW_MAX_NAME + 32];
    cv_feature *f;
    if (d->kind == TW_KIND_EVENT) {
        json_array_append_new(p->notes, json_sprintf("event stream %s not exported", d->name));
        return 0;
    }
    const char *base = !strncmp(d->name, "obs.", 4) ? d->name + 4 : d->name; /* robomimic imports: obs.K */
    if (d->kind == TW_KIND_VIDEO) {
        snprintf(key, sizeof key, "observation.images.%s", base);
        if (!(f = add(p, key, d->name)))
            return TW_ETOO_BIG;
        snprintf(f->dtype, sizeof f->dtype, "video");
        f->video = 1, f->ndim = 3, f->shape[0] = d->height, f->shape[1] = d->width, f->shape[2] = 3;
        f->names = json_pack("[sss]", "height", "width", "channels");
        return 0;
    }
    if (d->kind == TW_KIND_JOINT_STATE) {
        static const char *const rows[3] = {"observation.state", "observation.velocity", "observation.effort"};
        for (int r = 0; r < 3; r++) {
            if (r > 0 && !row_present(e, si, d, r)) {
                json_array_append_new(p->notes, json_sprintf("%s: %s row holds no data, not exported", d->name,
                                                             r == 1 ? "velocity" : "effort"));
                continue;
            }
            if (!(f = add(p, rows[r], d->name)))
                return TW_ETOO_BIG;
            set_1d(f, dtype_name(d->dtype), d->shape[1]);
            f->row = r, f->names = axes_json(d);
        }
        return 0;
    }
    if (d->kind == TW_KIND_ACTION)
        snprintf(key, sizeof key, "action");
    else if (!strcmp(d->name, "rewards") || !strcmp(d->name, "dones")) /* LeRobot's names for them */
        snprintf(key, sizeof key, "%s", d->name[0] == 'r' ? "next.reward" : "next.done");
    else
        snprintf(key, sizeof key, "observation.%s", base);
    if (!(f = add(p, key, d->name)))
        return TW_ETOO_BIG;
    set_1d(f, dtype_name(d->dtype), tw_decl_elems(d));
    if (d->ndim == 1)
        f->names = axes_json(d);
    return 0;
}

/* A stream an import made: the feature it came from, with its dtype, shape and names. */
static int plan_imported(cv_plan *p, const tw_stream_decl *d, json_t *src)
{
    const char *key = json_string_value(json_object_get(src, "feature"));
    json_t *info = json_object_get(src, "info"), *shape = json_object_get(info, "shape");
    cv_feature *f = add(p, key ? key : d->name, d->name);
    if (!f)
        return TW_ETOO_BIG;
    snprintf(f->dtype, sizeof f->dtype, "%s", json_string_value(json_object_get(src, "dtype")));
    f->video = d->kind == TW_KIND_VIDEO;
    f->row = d->kind == TW_KIND_JOINT_STATE ? 0 : -1;
    f->ndim = (int)json_array_size(shape);
    f->elems = 1;
    for (int i = 0; i < f->ndim && i < TW_MAX_DIMS; i++) {
        f->shape[i] = (uint32_t)json_integer_value(json_array_get(shape, (size_t)i));
        f->elems *= f->shape[i];
    }
    json_t *names = json_object_get(info, "names");
    f->names = json_is_null(names) ? NULL : json_incref(names);
    return 0;
}

json_t *cv_source(const tw_episode *e, const char *format)
{
    const char *mtxt = tw_episode_get_json(e, "metadata");
    json_t *meta = mtxt ? json_loads(mtxt, 0, NULL) : NULL, *src = json_object_get(meta, "source");
    const char *f = json_string_value(json_object_get(src, "format"));
    src = f && !strcmp(f, format) ? json_incref(src) : NULL;
    json_decref(meta);
    return src;
}

int cv_plan_make(cv_plan *p, const tw_episode *e, double fps, char *msg, size_t msgsz)
{
    memset(p, 0, sizeof *p);
    p->notes = json_array();
    json_t *src = cv_source(e, "lerobot");
    int lerobot = src != NULL;
    json_t *streams = json_object_get(src, "streams");
    int rc = 0, base = -1, base_rank = 9;
    for (size_t i = 0; i < tw_episode_nstreams(e) && !rc; i++) {
        const tw_stream_decl *d = tw_episode_decl(e, i);
        json_t *s = json_object_get(streams, d->name);
        rc = s ? plan_imported(p, d, s) : plan_native(p, e, i, d);
        /* The grid: a camera's frames when there is one (LeRobot wants one frame per row), else the joint state */
        int rank = d->kind == TW_KIND_VIDEO ? 0 : d->kind == TW_KIND_JOINT_STATE ? 1 : d->kind == TW_KIND_ACTION ? 2 : 3;
        if (d->kind != TW_KIND_EVENT && rank < base_rank && tw_episode_nsamples(e, i) > 0)
            base = (int)i, base_rank = rank;
    }
    if (rc)
        tw_errf(msg, msgsz, rc, "%s: more than %d features", tw_episode_path(e), CV_MAX_FEATURES);
    for (size_t i = 0; !rc && i < p->nf; i++) /* e.g. a tensor stream "velocity" beside a joint_state */
        for (size_t j = 0; !rc && j < i; j++)
            if (!strcmp(p->f[i].key, p->f[j].key))
                rc = tw_errf(msg, msgsz, TW_EDUP_STREAM, "%s: streams %s and %s both become feature %s",
                             tw_episode_path(e), p->f[j].stream, p->f[i].stream, p->f[i].key);
    if (!rc && base < 0)
        rc = tw_errf(msg, msgsz, TW_EINVAL, "%s: no stream with samples to export", tw_episode_path(e));
    if (!rc) {
        snprintf(p->base, sizeof p->base, "%s", tw_episode_decl(e, (size_t)base)->name);
        double src_fps = json_number_value(json_object_get(src, "fps"));
        p->fps = fps > 0 ? fps : lerobot && src_fps > 0 ? src_fps : tw_episode_decl(e, (size_t)base)->rate_hz;
    }
    json_decref(src);
    return rc;
}

int cv_plan_check(const cv_plan *p, const cv_plan *q, const char *first_dir, const char *dir, char *msg,
                  size_t msgsz)
{
    for (size_t i = 0; i < p->nf; i++) {
        const cv_feature *a = &p->f[i], *b = i < q->nf ? &q->f[i] : NULL;
        if (!b || strcmp(a->key, b->key) || strcmp(a->dtype, b->dtype) || a->elems != b->elems ||
            (a->video && memcmp(a->shape, b->shape, sizeof a->shape)))
            return tw_errf(msg, msgsz, TW_EMISMATCH, "feature %s (%s, %zu values) of %s differs in %s", a->key,
                           a->dtype, a->elems, first_dir, dir);
    }
    if (q->nf != p->nf)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "%s has %zu features, %s has %zu", first_dir, p->nf, dir, q->nf);
    return 0;
}

void cv_plan_free(cv_plan *p)
{
    for (size_t i = 0; i < p->nf; i++)
        json_decref(p->f[i].names);
    json_decref(p->notes);
    memset(p, 0, sizeof *p);
}

/* Zero-order hold of one stream onto the grid. */
static int hold(const tw_episode *e, size_t si, const cv_feature *f, const cv_rows *r, double fps, double *out,
                char *msg, size_t msgsz)
{
    const tw_stream_decl *d = tw_episode_decl(e, si);
    uint64_t n = tw_episode_nsamples(e, si);
    size_t el = tw_decl_elems(d);
    int64_t *t = malloc((n ? n : 1) * sizeof *t);
    double *v = malloc((n ? n : 1) * el * sizeof *v);
    int rc = !t || !v ? TW_ENOMEM : n ? tw_episode_read(e, si, 0, n, t, NULL, NULL, v, msg, msgsz) : 0;
    size_t off = f->row >= 0 ? (size_t)f->row * f->elems : 0, k = 0;
    for (size_t row = 0; !rc && row < r->rows; row++) {
        int64_t tr = r->t0_ns + llround((double)row * 1e9 / fps + 0.25e9 / fps);
        while (k + 1 < n && t[k + 1] <= tr)
            k++;
        for (size_t j = 0; j < f->elems; j++)
            out[row * f->elems + j] = n ? v[k * el + off + j] : NAN;
    }
    free(t), free(v);
    return rc;
}

int cv_rows_read(const cv_plan *p, const tw_episode *e, cv_rows *r, char *msg, size_t msgsz)
{
    memset(r, 0, sizeof *r);
    int b = tw_episode_find_stream(e, p->base);
    uint64_t n = b >= 0 ? tw_episode_nsamples(e, (size_t)b) : 0;
    if (!n)
        return tw_errf(msg, msgsz, TW_EINVAL, "%s: stream %s has no samples", tw_episode_path(e), p->base);
    int64_t t0, t1;
    int rc = tw_episode_read(e, (size_t)b, 0, 1, &t0, NULL, NULL, NULL, msg, msgsz);
    if (!rc)
        rc = tw_episode_read(e, (size_t)b, n - 1, 1, &t1, NULL, NULL, NULL, msg, msgsz);
    if (rc)
        return rc;
    r->t0_ns = t0;
    r->rows = (size_t)llround((double)(t1 - t0) * 1e-9 * p->fps) + 1;
    for (size_t i = 0; !rc && i < p->nf; i++) {
        if (p->f[i].video)
            continue;
        int si = tw_episode_find_stream(e, p->f[i].stream);
        r->x[i] = malloc(r->rows * p->f[i].elems * sizeof(double) + 8);
        rc = !r->x[i] ? TW_ENOMEM
             : si < 0 ? tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: stream %s missing", tw_episode_path(e), p->f[i].stream)
                      : hold(e, (size_t)si, &p->f[i], r, p->fps, r->x[i], msg, msgsz);
    }
    if (rc)
        cv_rows_free(r);
    return rc;
}

void cv_rows_free(cv_rows *r)
{
    for (size_t i = 0; i < CV_MAX_FEATURES; i++)
        free(r->x[i]);
    memset(r, 0, sizeof *r);
}
