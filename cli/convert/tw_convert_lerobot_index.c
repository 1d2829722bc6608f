/* The per-episode index of a LeRobot dataset: meta/episodes/chunk-NNN/file-NNN.parquet (v3.0) or meta/episodes.jsonl
 * (v2.1), and bounded column reads. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_convert_lerobot.h"

int lr_read(tw_parquet_reader *r, size_t col, int64_t row0, int64_t nrows, tw_parquet_type as, void **buf,
            size_t *cap, int64_t *lengths, const char *what, char *msg, size_t msgsz)
{
    size_t esz = as == TW_PQ_INT64 || as == TW_PQ_FLOAT64 ? 8 : as == TW_PQ_BOOL ? 1 : 4;
    for (int attempt = 0; attempt < 2; attempt++) {
        tw_parquet_out o = {.values = *buf, .values_cap = *cap, .lengths = lengths};
        int rc = tw_parquet_read(r, col, row0, nrows, as, &o, msg, msgsz);
        if (rc != TW_EFULL)
            return rc;
        void *nb = realloc(*buf, o.nvalues * esz + 8);
        if (!nb)
            return TW_ENOMEM;
        *buf = nb, *cap = o.nvalues;
    }
    return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: column %zu: value count changed between reads", what, col);
}

/* Strings of a list<string> cell per row, as JSON arrays. */
static int read_str_lists(tw_parquet_reader *r, size_t col, int64_t n, json_t **rows, const char *p, char *msg,
                          size_t msgsz)
{
    int64_t *len = calloc((size_t)n + 1, sizeof *len);
    tw_parquet_out o = {.lengths = len};
    int rc = tw_parquet_read(r, col, 0, n, TW_PQ_UTF8, &o, msg, msgsz);
    if (rc == TW_EFULL || rc == 0) {
        o.values = malloc(o.nbytes + 1), o.values_cap = o.nbytes + 1;
        o.offsets = malloc((o.nvalues + 1) * sizeof *o.offsets), o.offsets_cap = o.nvalues + 1;
        rc = tw_parquet_read(r, col, 0, n, TW_PQ_UTF8, &o, msg, msgsz);
    }
    size_t k = 0;
    for (int64_t i = 0; !rc && i < n; i++) {
        rows[i] = json_array();
        for (int64_t j = 0; j < len[i] && k < o.nvalues; j++, k++) {
            char *s = strndup((char *)o.values + o.offsets[k], (size_t)(o.offsets[k + 1] - o.offsets[k]));
            json_array_append_new(rows[i], json_string(s));
            free(s);
        }
    }
    if (rc && rc != TW_EFULL)
        tw_errf(msg, msgsz, rc, "%s: column 'tasks': %s", p, msg);
    free(o.values), free(o.offsets), free(len);
    return rc;
}

static int col_i64(tw_parquet_reader *r, const char *name, int64_t n, int64_t **out, int optional, const char *p,
                   char *msg, size_t msgsz)
{
    size_t c, cap = 0;
    *out = NULL;
    if (tw_parquet_find(r, name, &c) != 0)
        return optional ? 0 : tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column '%s' missing", p, name);
    return lr_read(r, c, 0, n, TW_PQ_INT64, (void **)out, &cap, NULL, p, msg, msgsz);
}

static int col_f64(tw_parquet_reader *r, const char *name, int64_t n, double **out, const char *p, char *msg,
                   size_t msgsz)
{
    size_t c, cap = 0;
    *out = NULL;
    if (tw_parquet_find(r, name, &c) != 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: column '%s' missing", p, name);
    return lr_read(r, c, 0, n, TW_PQ_FLOAT64, (void **)out, &cap, NULL, p, msg, msgsz);
}

static int grow(lr_episode **eps, size_t *n, size_t *cap)
{
    if (*n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    lr_episode *e = realloc(*eps, nc * sizeof *e);
    if (!e)
        return TW_ENOMEM;
    *eps = e, *cap = nc;
    return 0;
}

/* One meta/episodes parquet file: the few columns the converters need (stats columns are not read). */
static int read_ep_file(lr_dataset *d, const char *p, lr_episode **eps, size_t *n, size_t *cap, char *msg,
                        size_t msgsz)
{
    tw_parquet_reader *r;
    int rc = tw_parquet_open(p, &r, msg, msgsz);
    if (rc)
        return rc;
    int64_t rows = tw_parquet_num_rows(r);
    int64_t *idx = NULL, *len = NULL, *dc = NULL, *df = NULL, *from = NULL, *to = NULL;
    json_t **tasks = calloc((size_t)rows + 1, sizeof *tasks);
    size_t tc;
    rc = col_i64(r, "episode_index", rows, &idx, 0, p, msg, msgsz);
    if (!rc)
        rc = col_i64(r, "length", rows, &len, 0, p, msg, msgsz);
    if (!rc)
        rc = col_i64(r, "data/chunk_index", rows, &dc, 0, p, msg, msgsz);
    if (!rc)
        rc = col_i64(r, "data/file_index", rows, &df, 0, p, msg, msgsz);
    if (!rc)
        rc = col_i64(r, "dataset_from_index", rows, &from, 0, p, msg, msgsz);
    if (!rc)
        rc = col_i64(r, "dataset_to_index", rows, &to, 0, p, msg, msgsz);
    if (!rc && tw_parquet_find(r, "tasks", &tc) == 0)
        rc = read_str_lists(r, tc, rows, tasks, p, msg, msgsz);
    for (int64_t i = 0; !rc && i < rows; i++) {
        if ((rc = grow(eps, n, cap)))
            break;
        lr_episode *e = &(*eps)[(*n)++];
        memset(e, 0, sizeof *e);
        e->index = idx[i], e->length = len[i], e->data_chunk = dc[i], e->data_file = df[i];
        e->from = from[i], e->to = to[i], e->tasks = tasks[i] ? tasks[i] : json_array();
        tasks[i] = NULL;
    }
    for (size_t f = 0; !rc && f < d->nf; f++) {
        if (!d->f[f].video)
            continue;
        char cn[TW_MAX_NAME + 64];
        int64_t *vc = NULL, *vf = NULL;
        double *vfrom = NULL, *vto = NULL;
        snprintf(cn, sizeof cn, "videos/%s/chunk_index", d->f[f].key);
        rc = col_i64(r, cn, rows, &vc, 0, p, msg, msgsz);
        snprintf(cn, sizeof cn, "videos/%s/file_index", d->f[f].key);
        if (!rc)
            rc = col_i64(r, cn, rows, &vf, 0, p, msg, msgsz);
        snprintf(cn, sizeof cn, "videos/%s/from_timestamp", d->f[f].key);
        if (!rc)
            rc = col_f64(r, cn, rows, &vfrom, p, msg, msgsz);
        snprintf(cn, sizeof cn, "videos/%s/to_timestamp", d->f[f].key);
        if (!rc)
            rc = col_f64(r, cn, rows, &vto, p, msg, msgsz);
        for (int64_t i = 0; !rc && i < rows; i++) {
            lr_episode *e = &(*eps)[*n - (size_t)rows + (size_t)i];
            int vi = d->f[f].vi;
            e->video[vi].chunk = vc[i], e->video[vi].file = vf[i];
            e->video[vi].from_ts = vfrom[i], e->video[vi].to_ts = vto[i];
        }
        free(vc), free(vf), free(vfrom), free(vto);
    }
    for (int64_t i = 0; i < rows; i++)
        json_decref(tasks[i]);
    free(tasks), free(idx), free(len), free(dc), free(df), free(from), free(to);
    tw_parquet_close(r);
    return rc;
}

static int names_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entries of dir matching prefix (files or folders). */
static size_t list_dir(const char *dir, const char *prefix, char ***out)
{
    *out = NULL;
    DIR *dd = opendir(dir);
    size_t n = 0, cap = 0;
    struct dirent *de;
    while (dd && (de = readdir(dd))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = realloc(*out, cap * sizeof **out);
        }
        (*out)[n++] = strdup(de->d_name);
    }
    if (dd)
        closedir(dd);
    if (n)
        qsort(*out, n, sizeof **out, names_cmp);
    return n;
}

static int episodes_v3(lr_dataset *d, lr_episode **eps, size_t *n, char *msg, size_t msgsz)
{
    char base[CV_PATH + 32], sub[2 * CV_PATH], file[3 * CV_PATH];
    snprintf(base, sizeof base, "%s/meta/episodes", d->root);
    char **chunks, **files;
    size_t nc = list_dir(base, "chunk-", &chunks), cap = 0;
    int rc = nc ? 0 : tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: no chunk-* folder", base);
    for (size_t c = 0; c < nc; c++) {
        snprintf(sub, sizeof sub, "%s/%s", base, chunks[c]);
        size_t nf = list_dir(sub, "file-", &files);
        for (size_t f = 0; f < nf; f++) {
            snprintf(file, sizeof file, "%s/%s", sub, files[f]);
            if (!rc && strstr(files[f], ".parquet"))
                rc = read_ep_file(d, file, eps, n, &cap, msg, msgsz);
            free(files[f]);
        }
        free(files), free(chunks[c]);
    }
    free(chunks);
    return rc;
}

static int episodes_v21(lr_dataset *d, lr_episode **eps, size_t *n, char *msg, size_t msgsz)
{
    char p[CV_PATH + 32];
    snprintf(p, sizeof p, "%s/meta/episodes.jsonl", d->root);
    json_t *lines = json_array();
    size_t cap = 0, i;
    json_t *o;
    int rc = lr_read_jsonl(p, lines, msg, msgsz);
    json_array_foreach(lines, i, o)
    {
        json_t *ix = json_object_get(o, "episode_index"), *len = json_object_get(o, "length");
        if (rc || !json_is_integer(ix) || !json_is_integer(len)) {
            rc = rc ? rc : tw_errf(msg, msgsz, TW_ESCHEMA, "%s: line %zu: 'episode_index' or 'length' missing", p,
                                   i + 1);
            break;
        }
        if ((rc = grow(eps, n, &cap)))
            break;
        lr_episode *e = &(*eps)[(*n)++];
        memset(e, 0, sizeof *e);
        e->index = json_integer_value(ix), e->length = json_integer_value(len);
        e->from = 0, e->to = e->length; /* one data file per episode */
        json_t *t = json_object_get(o, "tasks");
        e->tasks = json_is_array(t) ? json_incref(t) : json_array();
        for (size_t v = 0; v < d->nvideo; v++)
            e->video[v].from_ts = 0, e->video[v].to_ts = (double)e->length / d->fps;
    }
    json_decref(lines);
    return rc;
}

int lr_episodes(lr_dataset *d, lr_episode **out, size_t *n, char *msg, size_t msgsz)
{
    *out = NULL, *n = 0;
    int rc = !strcmp(d->version, "v3.0") ? episodes_v3(d, out, n, msg, msgsz) : episodes_v21(d, out, n, msg, msgsz);
    if (rc) {
        lr_episodes_free(*out, *n);
        *out = NULL, *n = 0;
    }
    return rc;
}
