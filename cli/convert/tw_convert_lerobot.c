/* LeRobot dataset metadata (v3.0 and v2.1): see tw_convert_lerobot.h. */
#include "tw_convert_lerobot.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const bookkeeping[] = {"timestamp", "frame_index", "episode_index", "index", "task_index"};

int lr_is_bookkeeping(const char *key)
{
    for (size_t i = 0; i < sizeof bookkeeping / sizeof *bookkeeping; i++)
        if (!strcmp(key, bookkeeping[i]))
            return 1;
    return 0;
}

void lr_format(const char *tmpl, char *out, size_t outsz, const char *const *names, const char *const *values,
               size_t n)
{
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < outsz;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            out[o++] = *p++;
            continue;
        }
        char field[64] = "", spec[16] = "";
        const char *colon = memchr(p, ':', (size_t)(close - p));
        snprintf(field, sizeof field, "%.*s", (int)((colon ? colon : close) - p - 1), p + 1);
        if (colon)
            snprintf(spec, sizeof spec, "%.*s", (int)(close - colon - 1), colon + 1);
        const char *v = "";
        for (size_t i = 0; i < n; i++)
            if (!strcmp(names[i], field))
                v = values[i];
        if (strchr(spec, 'd')) /* {chunk_index:03d} */
            o += (size_t)snprintf(out + o, outsz - o, "%0*lld", spec[0] == '0' ? atoi(spec + 1) : 0, atoll(v));
        else /* {video_key}, {episode_index} */
            o += (size_t)snprintf(out + o, outsz - o, "%s", v);
        if (o >= outsz)
            o = outsz - 1;
        p = close + 1;
    }
    out[o < outsz ? o : outsz - 1] = 0;
}

/* ------------------------------------------------------------------ info.json */

static int read_feature(lr_dataset *d, const char *key, json_t *ft, const char *ipath, char *msg, size_t msgsz)
{
    if (d->nf >= LR_MAX_FEATURES)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: more than %d features", ipath, LR_MAX_FEATURES);
    lr_feature *f = &d->f[d->nf];
    memset(f, 0, sizeof *f);
    const char *dt = json_string_value(json_object_get(ft, "dtype"));
    json_t *shape = json_object_get(ft, "shape");
    if (!dt || !json_is_array(shape) || json_array_size(shape) < 1 || json_array_size(shape) > TW_MAX_DIMS)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: features.%s: 'dtype' or 'shape' missing or invalid", ipath, key);
    snprintf(f->key, sizeof f->key, "%s", key);
    snprintf(f->dtype, sizeof f->dtype, "%s", dt);
    f->ndim = (int)json_array_size(shape);
    f->elems = 1;
    for (int i = 0; i < f->ndim; i++) {
        json_int_t v = json_integer_value(json_array_get(shape, (size_t)i));
        if (v <= 0)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: features.%s.shape[%d] is not a positive integer", ipath,
                           key, i);
        f->shape[i] = (uint32_t)v;
        f->elems *= (size_t)v;
    }
    f->names = json_object_get(ft, "names");
    f->video = !strcmp(dt, "video");
    if (f->video) {
        if (d->nvideo >= LR_MAX_VIDEO)
            return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: more than %d video features", ipath, LR_MAX_VIDEO);
        f->vi = (int)d->nvideo++;
    }
    d->nf++;
    return 0;
}

static int read_tasks_v3(lr_dataset *d, char *msg, size_t msgsz)
{
    char p[CV_PATH + 32];
    snprintf(p, sizeof p, "%s/meta/tasks.parquet", d->root);
    tw_parquet_reader *r;
    int rc = tw_parquet_open(p, &r, msg, msgsz);
    if (rc)
        return rc;
    size_t ci, cs;
    if (tw_parquet_find(r, "task_index", &ci) != 0 ||
        (tw_parquet_find(r, "task", &cs) != 0 && tw_parquet_find(r, "__index_level_0__", &cs) != 0)) {
        tw_parquet_close(r);
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column 'task_index' or 'task' missing", p);
    }
    int64_t n = tw_parquet_num_rows(r), *idx = NULL;
    size_t cap = 0, scap = 0;
    char *s = NULL;
    int64_t *off = malloc((size_t)(n + 1) * sizeof *off);
    rc = lr_read(r, ci, 0, n, TW_PQ_INT64, (void **)&idx, &cap, NULL, p, msg, msgsz);
    if (!rc) {
        tw_parquet_out o = {.offsets = off, .offsets_cap = (size_t)n + 1};
        rc = tw_parquet_read(r, cs, 0, n, TW_PQ_UTF8, &o, msg, msgsz); /* ask the size */
        if (rc == TW_EFULL) {
            scap = o.nbytes + 1;
            s = malloc(scap);
            o.values = s, o.values_cap = scap;
            rc = tw_parquet_read(r, cs, 0, n, TW_PQ_UTF8, &o, msg, msgsz);
        }
    }
    for (int64_t i = 0; !rc && i < n; i++) {
        char *t = strndup(s ? s + off[i] : "", s ? (size_t)(off[i + 1] - off[i]) : 0);
        while (json_array_size(d->tasks) <= (size_t)idx[i])
            json_array_append_new(d->tasks, json_string(""));
        json_array_set_new(d->tasks, (size_t)idx[i], json_string(t));
        free(t);
    }
    free(idx), free(off), free(s);
    tw_parquet_close(r);
    return rc;
}

/* JSON lines of a v2.1 meta file, one object each. */
int lr_read_jsonl(const char *path, json_t *out, char *msg, size_t msgsz)
{
    char *text = cv_slurp(path, (size_t)1 << 30, msg, msgsz);
    if (!text)
        return TW_ENOT_FOUND;
    int rc = 0, line = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && !rc; l = strtok_r(NULL, "\n", &save)) {
        line++;
        json_error_t je;
        json_t *o = json_loads(l, 0, &je);
        if (!json_is_object(o))
            rc = tw_errf(msg, msgsz, TW_EJSON, "%s: line %d: %s", path, line, o ? "not an object" : je.text);
        else
            json_array_append(out, o);
        json_decref(o);
    }
    free(text);
    return rc;
}

static int read_tasks_v21(lr_dataset *d, char *msg, size_t msgsz)
{
    char p[CV_PATH + 32];
    snprintf(p, sizeof p, "%s/meta/tasks.jsonl", d->root);
    json_t *lines = json_array();
    int rc = lr_read_jsonl(p, lines, msg, msgsz);
    size_t i;
    json_t *o;
    json_array_foreach(lines, i, o)
    {
        json_int_t ti = json_integer_value(json_object_get(o, "task_index"));
        const char *t = json_string_value(json_object_get(o, "task"));
        if (rc || !t || ti < 0) {
            rc = rc ? rc : tw_errf(msg, msgsz, TW_ESCHEMA, "%s: line %zu: 'task' or 'task_index' missing", p, i + 1);
            break;
        }
        while (json_array_size(d->tasks) <= (size_t)ti)
            json_array_append_new(d->tasks, json_string(""));
        json_array_set_new(d->tasks, (size_t)ti, json_string(t));
    }
    json_decref(lines);
    return rc;
}

int lr_open(lr_dataset *d, const char *root, char *msg, size_t msgsz)
{
    memset(d, 0, sizeof *d);
    snprintf(d->root, sizeof d->root, "%s", root);
    char ipath[CV_PATH + 32];
    snprintf(ipath, sizeof ipath, "%s/meta/info.json", root);
    json_error_t je;
    d->info = json_load_file(ipath, 0, &je);
    d->tasks = json_array();
    if (!d->info)
        return tw_errf(msg, msgsz, TW_EJSON, "%s: %s (line %d)", ipath, je.text, je.line);
    const char *v = json_string_value(json_object_get(d->info, "codebase_version"));
    if (!v)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: field 'codebase_version' missing", ipath);
    if (strcmp(v, "v3.0") && strcmp(v, "v2.1"))
        return tw_errf(msg, msgsz, TW_EVERSION, "%s: codebase_version '%s' is not supported (v3.0 and v2.1 are)",
                       ipath, v);
    snprintf(d->version, sizeof d->version, "%s", v);
    d->fps = json_number_value(json_object_get(d->info, "fps"));
    d->chunks_size = json_integer_value(json_object_get(d->info, "chunks_size"));
    d->data_path = json_string_value(json_object_get(d->info, "data_path"));
    d->video_path = json_string_value(json_object_get(d->info, "video_path"));
    d->robot_type = json_string_value(json_object_get(d->info, "robot_type"));
    if (!(d->fps > 0) || !d->data_path)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: field 'fps' or 'data_path' missing", ipath);
    if (d->chunks_size <= 0)
        d->chunks_size = 1000;
    json_t *feats = json_object_get(d->info, "features");
    if (!json_is_object(feats))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: field 'features' missing", ipath);
    const char *key;
    json_t *ft;
    int rc = 0;
    json_object_foreach(feats, key, ft) if (!rc) rc = read_feature(d, key, ft, ipath, msg, msgsz);
    if (!rc && d->nvideo && !d->video_path)
        rc = tw_errf(msg, msgsz, TW_ESCHEMA, "%s: video features but no 'video_path'", ipath);
    if (!rc)
        rc = !strcmp(d->version, "v3.0") ? read_tasks_v3(d, msg, msgsz) : read_tasks_v21(d, msg, msgsz);
    return rc;
}

void lr_close(lr_dataset *d)
{
    json_decref(d->info), json_decref(d->tasks);
    d->info = d->tasks = NULL;
}

void lr_path(const lr_dataset *d, const lr_episode *e, int vi, char *out, size_t outsz)
{
    char ci[32], fi[32], ec[32], ei[32], rel[1024];
    const char *key = "";
    for (size_t i = 0; i < d->nf; i++)
        if (d->f[i].video && d->f[i].vi == vi)
            key = d->f[i].key;
    snprintf(ci, sizeof ci, "%lld", (long long)(vi < 0 ? e->data_chunk : e->video[vi].chunk));
    snprintf(fi, sizeof fi, "%lld", (long long)(vi < 0 ? e->data_file : e->video[vi].file));
    snprintf(ec, sizeof ec, "%lld", (long long)(e->index / d->chunks_size));
    snprintf(ei, sizeof ei, "%lld", (long long)e->index);
    const char *names[] = {"chunk_index", "file_index", "episode_chunk", "episode_index", "video_key"};
    const char *values[] = {ci, fi, ec, ei, key};
    lr_format(vi < 0 ? d->data_path : d->video_path, rel, sizeof rel, names, values, 5);
    snprintf(out, outsz, "%s/%s", d->root, rel);
}

void lr_episodes_free(lr_episode *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        json_decref(e[i].tasks);
    free(e);
}
