/* The parquet files of an exported LeRobot dataset: see tw_convert_lerobot_write.h. */
#include "tw_convert_lerobot_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LW_DATA_FILE_BYTES (100ll << 20) /* DEFAULT_DATA_FILE_SIZE_IN_MB */
#define LW_CHUNKS_SIZE 1000

static const char *const book[LW_NBOOK] = {"timestamp", "frame_index", "episode_index", "index", "task_index"};
static const char *const stat_names[5] = {"min", "max", "mean", "std", "count"};

int lw_is_int(const cv_feature *f) { return !strncmp(f->dtype, "int", 3) || !strcmp(f->dtype, "uint8"); }

static tw_parquet_type pq_type(const char *dtype)
{
    if (!strcmp(dtype, "float64"))
        return TW_PQ_FLOAT64;
    if (!strcmp(dtype, "int64"))
        return TW_PQ_INT64;
    if (!strcmp(dtype, "int32") || !strcmp(dtype, "uint8")) /* no uint8 writer type: HF datasets casts on load */
        return TW_PQ_INT32;
    if (!strcmp(dtype, "bool"))
        return TW_PQ_BOOL;
    return TW_PQ_FLOAT32;
}

static size_t pq_size(tw_parquet_type t) { return t == TW_PQ_FLOAT64 || t == TW_PQ_INT64 ? 8 : t == TW_PQ_BOOL ? 1 : 4; }

static void put_value(void *dst, tw_parquet_type t, size_t i, double v)
{
    switch (t) {
    case TW_PQ_FLOAT64: ((double *)dst)[i] = v; break;
    case TW_PQ_INT64: ((int64_t *)dst)[i] = (int64_t)v; break;
    case TW_PQ_INT32: ((int32_t *)dst)[i] = (int32_t)v; break;
    case TW_PQ_BOOL: ((uint8_t *)dst)[i] = v != 0; break;
    default: ((float *)dst)[i] = (float)v; break;
    }
}

/* ------------------------------------------------------------------ data files */

static char *hf_features(const cv_plan *p)
{
    json_t *feats = json_object();
    for (size_t i = 0; i < p->nf; i++) {
        const cv_feature *f = &p->f[i];
        if (f->video)
            continue;
        json_t *v = json_pack("{s:s,s:s}", "dtype", f->dtype, "_type", "Value");
        if (!(f->ndim == 1 && f->elems == 1))
            v = json_pack("{s:o,s:I,s:s}", "feature", v, "length", (json_int_t)f->elems, "_type", "List");
        json_object_set_new(feats, f->key, v);
    }
    for (int b = 0; b < LW_NBOOK; b++)
        json_object_set_new(feats, book[b], json_pack("{s:s,s:s}", "dtype", b ? "int64" : "float32", "_type", "Value"));
    json_t *hf = json_pack("{s:{s:o}}", "info", "features", feats);
    char *s = json_dumps(hf, JSON_COMPACT);
    json_decref(hf);
    return s;
}

static int open_data_file(lw_writer *w, char *msg, size_t msgsz)
{
    const cv_plan *p = w->plan;
    tw_parquet_field f[CV_MAX_FEATURES + LW_NBOOK];
    size_t n = 0;
    for (size_t i = 0; i < p->nf; i++) {
        if (p->f[i].video)
            continue;
        memset(&f[n], 0, sizeof f[n]);
        f[n].name = p->f[i].key, f[n].type = pq_type(p->f[i].dtype);
        if (!(p->f[i].ndim == 1 && p->f[i].elems == 1))
            f[n].nlevels = 1, f[n].levels[0] = (tw_parquet_level){(int32_t)p->f[i].elems, 1};
        n++;
    }
    for (int b = 0; b < LW_NBOOK; b++, n++) {
        memset(&f[n], 0, sizeof f[n]);
        f[n].name = book[b], f[n].type = b ? TW_PQ_INT64 : TW_PQ_FLOAT32;
    }
    char dir[CV_PATH + 64], path[CV_PATH + 96];
    snprintf(dir, sizeof dir, "%s/data/chunk-%03lld", w->root, (long long)(w->data_file / LW_CHUNKS_SIZE));
    snprintf(path, sizeof path, "%s/file-%03lld.parquet", dir, (long long)(w->data_file % LW_CHUNKS_SIZE));
    int rc = cv_mkdirs(dir, msg, msgsz);
    tw_parquet_write_options o;
    tw_parquet_write_options_init(&o);
    if (!rc)
        rc = tw_parquet_writer_open(path, f, n, &o, &w->data, msg, msgsz);
    char *hf = rc ? NULL : hf_features(p);
    if (!rc)
        rc = tw_parquet_writer_set_metadata(w->data, "huggingface", hf, msg, msgsz);
    free(hf);
    w->data_rows_bytes = 0;
    return rc;
}

int lw_data(lw_writer *w, const cv_rows *r, lw_episode *ep, char *msg, size_t msgsz)
{
    const cv_plan *p = w->plan;
    int rc = 0;
    if (w->data && w->data_rows_bytes > LW_DATA_FILE_BYTES) { /* LeRobot starts a new file past the limit */
        rc = tw_parquet_writer_close(w->data, msg, msgsz);
        w->data = NULL, w->data_file++;
    }
    if (!rc && !w->data)
        rc = open_data_file(w, msg, msgsz);
    if (rc)
        return rc;
    size_t n = r->rows, nc = 0;
    tw_parquet_in in[CV_MAX_FEATURES + LW_NBOOK];
    void *bufs[CV_MAX_FEATURES + LW_NBOOK] = {0};
    for (size_t i = 0; i < p->nf; i++) {
        if (p->f[i].video)
            continue;
        tw_parquet_type t = pq_type(p->f[i].dtype);
        size_t cnt = n * p->f[i].elems;
        bufs[nc] = malloc(cnt * pq_size(t) + 8);
        for (size_t k = 0; bufs[nc] && k < cnt; k++)
            put_value(bufs[nc], t, k, r->x[i][k]);
        memset(&in[nc], 0, sizeof in[nc]);
        in[nc].values = bufs[nc];
        w->data_rows_bytes += (int64_t)(cnt * pq_size(t));
        nc++;
    }
    for (int b = 0; b < LW_NBOOK; b++, nc++) {
        bufs[nc] = malloc(n * 8 + 8);
        for (size_t k = 0; bufs[nc] && k < n; k++) {
            double v = b == 0 ? (double)k / p->fps : b == 1 ? (double)k : b == 2 ? (double)ep->index
                     : b == 3 ? (double)(ep->from + (int64_t)k) : (double)ep->task_index;
            put_value(bufs[nc], b ? TW_PQ_INT64 : TW_PQ_FLOAT32, k, v);
        }
        memset(&in[nc], 0, sizeof in[nc]);
        in[nc].values = bufs[nc];
        w->data_rows_bytes += (int64_t)n * 8;
    }
    for (size_t i = 0; i < nc; i++)
        if (!bufs[i])
            rc = TW_ENOMEM;
    if (!rc)
        rc = tw_parquet_writer_write(w->data, (int64_t)n, in, msg, msgsz);
    if (!rc)
        rc = tw_parquet_writer_flush(w->data, msg, msgsz); /* one row group per episode */
    for (size_t i = 0; i < nc; i++)
        free(bufs[i]);
    ep->data_file = w->data_file;
    return rc;
}

/* ------------------------------------------------------------------ meta/episodes */

static void add_field(lw_writer *w, const char *name, tw_parquet_type t, int nlevels, int32_t size0)
{
    size_t i = w->nep_cols++;
    w->ep_names = realloc(w->ep_names, w->nep_cols * sizeof *w->ep_names);
    w->ep_fields = realloc(w->ep_fields, w->nep_cols * sizeof *w->ep_fields);
    w->ep_names[i] = strdup(name);
    tw_parquet_field *f = &w->ep_fields[i];
    memset(f, 0, sizeof *f);
    f->name = w->ep_names[i], f->type = t, f->nlevels = nlevels;
    for (int l = 0; l < nlevels; l++)
        f->levels[l] = (tw_parquet_level){l == 0 ? size0 : 1, 0};
}

/* The stats columns of one feature: min/max typed like the feature (int64 for integer ones), the rest double;
 * image features as (3,1,1) nested lists. */
static void stats_fields(lw_writer *w, const char *key, int isint, int image, size_t dim)
{
    char n[TW_MAX_NAME + 32];
    for (int s = 0; s < 5 + CV_NQ; s++) {
        snprintf(n, sizeof n, "stats/%s/%s", key, s < 5 ? stat_names[s] : cv_qnames[s - 5]);
        tw_parquet_type t = s == 4 ? TW_PQ_INT64 : s < 2 && isint ? TW_PQ_INT64 : TW_PQ_FLOAT64;
        add_field(w, n, t, image && s != 4 ? 3 : 1, image && s != 4 ? 3 : 0);
    }
    (void)dim;
}

int lw_open(lw_writer *w, const cv_plan *p, const char *root, char *msg, size_t msgsz)
{
    memset(w, 0, sizeof *w);
    w->plan = p;
    snprintf(w->root, sizeof w->root, "%s", root);
    char n[TW_MAX_NAME + 64];
    static const char *const head[7] = {"episode_index", "tasks", "length", "data/chunk_index", "data/file_index",
                                        "dataset_from_index", "dataset_to_index"};
    for (int k = 0; k < 7; k++) /* tasks: list<string> */
        add_field(w, head[k], k == 1 ? TW_PQ_UTF8 : TW_PQ_INT64, k == 1, 0);
    for (size_t i = 0; i < p->nf; i++) {
        if (!p->f[i].video)
            continue;
        static const char *const vc[4] = {"chunk_index", "file_index", "from_timestamp", "to_timestamp"};
        for (int k = 0; k < 4; k++) {
            snprintf(n, sizeof n, "videos/%s/%s", p->f[i].key, vc[k]);
            add_field(w, n, k < 2 ? TW_PQ_INT64 : TW_PQ_FLOAT64, 0, 0);
        }
    }
    for (size_t i = 0; i < p->nf; i++)
        stats_fields(w, p->f[i].key, lw_is_int(&p->f[i]), p->f[i].video, p->f[i].elems);
    for (int b = 0; b < LW_NBOOK; b++)
        stats_fields(w, book[b], b > 0, 0, 1);
    static const char *const tail[6] = {"meta/episodes/chunk_index", "meta/episodes/file_index",
                                        "teleworld/episode_id", "teleworld/domain", "teleworld/split",
                                        "teleworld/weight"};
    static const tw_parquet_type tail_type[6] = {TW_PQ_INT64, TW_PQ_INT64, TW_PQ_UTF8, TW_PQ_UTF8, TW_PQ_UTF8,
                                                 TW_PQ_FLOAT64};
    for (int k = 0; k < 6; k++)
        add_field(w, tail[k], tail_type[k], 0, 0);
    char dir[CV_PATH + 64], path[CV_PATH + 96];
    snprintf(dir, sizeof dir, "%s/meta/episodes/chunk-000", root);
    snprintf(path, sizeof path, "%s/file-000.parquet", dir);
    int rc = cv_mkdirs(dir, msg, msgsz);
    tw_parquet_write_options o;
    tw_parquet_write_options_init(&o);
    if (!rc)
        rc = tw_parquet_writer_open(path, w->ep_fields, w->nep_cols, &o, &w->eps, msg, msgsz);
    return rc;
}

/* Values of one stats column for one episode: the stat s of stats st (dim values, or count). */
static const double *stat_values(const cv_stats *st, int s, double *cnt)
{
    if (s == 4) {
        *cnt = (double)st->count;
        return cnt;
    }
    const double *const v[4] = {st->min, st->max, st->mean, st->std};
    return s < 4 ? v[s] : st->q[s - 5];
}

int lw_episode_row(lw_writer *w, const lw_episode *ep, char *msg, size_t msgsz)
{
    const cv_plan *p = w->plan;
    tw_parquet_in *in = calloc(w->nep_cols, sizeof *in);
    void **bufs = calloc(w->nep_cols, sizeof *bufs);
    int64_t **lens = calloc(w->nep_cols, sizeof *lens);
    const char *strs[6];
    size_t c = 0;
    int64_t ints[7] = {ep->index, 0, ep->length, ep->data_file / LW_CHUNKS_SIZE, ep->data_file % LW_CHUNKS_SIZE,
                       ep->from, ep->to};
    for (int k = 0; k < 7; k++, c++) {
        if (k == 1) {
            strs[0] = ep->task;
            in[c].strs = strs;
            lens[c] = malloc(sizeof(int64_t)), lens[c][0] = 1, in[c].lengths = lens[c];
            continue;
        }
        bufs[c] = malloc(8), *(int64_t *)bufs[c] = ints[k], in[c].values = bufs[c];
    }
    for (size_t i = 0; i < p->nf; i++) {
        if (!p->f[i].video)
            continue;
        double v[4] = {(double)(ep->video_file[i] / LW_CHUNKS_SIZE), (double)(ep->video_file[i] % LW_CHUNKS_SIZE),
                       ep->video_from[i], ep->video_to[i]};
        for (int k = 0; k < 4; k++, c++) {
            bufs[c] = malloc(8), put_value(bufs[c], w->ep_fields[c].type, 0, v[k]), in[c].values = bufs[c];
        }
    }
    for (size_t i = 0; i < p->nf + LW_NBOOK; i++) {
        const cv_stats *st = &ep->stats[i];
        for (int s = 0; s < 5 + CV_NQ; s++, c++) {
            double cnt;
            const double *v = stat_values(st, s, &cnt);
            size_t dim = s == 4 ? 1 : st->dim;
            bufs[c] = malloc(dim * 8 + 8);
            for (size_t j = 0; j < dim; j++)
                put_value(bufs[c], w->ep_fields[c].type, j, v[j]);
            in[c].values = bufs[c];
            if (w->ep_fields[c].nlevels == 3) /* image (3,1,1): the levels carry the sizes */
                continue;
            lens[c] = malloc(sizeof(int64_t)), lens[c][0] = (int64_t)dim, in[c].lengths = lens[c];
        }
    }
    int64_t mi[2] = {0, 0};
    for (int k = 0; k < 2; k++, c++)
        bufs[c] = malloc(8), *(int64_t *)bufs[c] = mi[k], in[c].values = bufs[c];
    const char *tx[3] = {ep->episode_id, ep->domain, ep->split};
    for (int k = 0; k < 3; k++, c++)
        strs[1 + k] = tx[k], in[c].strs = &strs[1 + k];
    bufs[c] = malloc(8), *(double *)bufs[c] = ep->weight, in[c].values = bufs[c];
    int rc = tw_parquet_writer_write(w->eps, 1, in, msg, msgsz);
    for (size_t i = 0; i < w->nep_cols; i++)
        free(bufs[i]), free(lens[i]);
    free(bufs), free(lens), free(in);
    return rc;
}

int lw_close(lw_writer *w, char *msg, size_t msgsz)
{
    int rc = w->data ? tw_parquet_writer_close(w->data, msg, msgsz) : 0;
    w->data = NULL;
    if (!rc && w->eps)
        rc = tw_parquet_writer_close(w->eps, msg, msgsz);
    else
        tw_parquet_writer_abort(w->eps);
    w->eps = NULL;
    lw_abort(w);
    return rc;
}

void lw_abort(lw_writer *w)
{
    tw_parquet_writer_abort(w->data), tw_parquet_writer_abort(w->eps);
    w->data = w->eps = NULL;
    for (size_t i = 0; i < w->nep_cols; i++)
        free(w->ep_names[i]);
    free(w->ep_names), free(w->ep_fields);
    w->ep_names = NULL, w->ep_fields = NULL, w->nep_cols = 0;
}

int lw_tasks(const char *root, json_t *tasks, char *msg, size_t msgsz)
{
    char path[CV_PATH + 32];
    snprintf(path, sizeof path, "%s/meta/tasks.parquet", root);
    tw_parquet_field f[2] = {{.name = "task_index", .type = TW_PQ_INT64}, {.name = "__index_level_0__", .type = TW_PQ_UTF8}};
    size_t n = json_array_size(tasks);
    int64_t *idx = malloc((n + 1) * sizeof *idx);
    const char **s = malloc((n + 1) * sizeof *s);
    for (size_t i = 0; i < n; i++)
        idx[i] = (int64_t)i, s[i] = json_string_value(json_array_get(tasks, i));
    tw_parquet_in in[2] = {{.values = idx}, {.strs = s}};
    tw_parquet_write_options o;
    tw_parquet_write_options_init(&o);
    tw_parquet_writer *w = NULL;
    /* pandas restores the task text as the index (LeRobot's load_tasks: pd.read_parquet). */
    const char *pandas =
        "{\"index_columns\": [\"__index_level_0__\"], \"column_indexes\": [{\"name\": null, \"field_name\": null, "
        "\"pandas_type\": \"unicode\", \"numpy_type\": \"object\", \"metadata\": {\"encoding\": \"UTF-8\"}}], "
        "\"columns\": [{\"name\": \"task_index\", \"field_name\": \"task_index\", \"pandas_type\": \"int64\", "
        "\"numpy_type\": \"int64\", \"metadata\": null}, {\"name\": null, \"field_name\": \"__index_level_0__\", "
        "\"pandas_type\": \"unicode\", \"numpy_type\": \"object\", \"metadata\": null}], \"attributes\": {}, "
        "\"creator\": {\"library\": \"teleworld\", \"version\": \"" TW_VERSION "\"}, \"pandas_version\": \"2.3.3\"}";
    int rc = tw_parquet_writer_open(path, f, 2, &o, &w, msg, msgsz);
    if (!rc)
        rc = tw_parquet_writer_set_metadata(w, "pandas", pandas, msg, msgsz);
    if (!rc)
        rc = tw_parquet_writer_write(w, (int64_t)n, in, msg, msgsz);
    rc = rc ? (tw_parquet_writer_abort(w), rc) : tw_parquet_writer_close(w, msg, msgsz);
    free(idx), free(s);
    return rc;
}
