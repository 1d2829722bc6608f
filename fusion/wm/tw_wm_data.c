/* Reads a fused dataset (schemas/fused.md) for the world model: manifest statistics and whole splits. */
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_h5.h"
#include "tw_wm.h"

const char *const tw_wm_group_names[TW_GRP__COUNT] = {"joint_pos", "joint_vel", "ee", "other", "slide_pos",
                                                             "slide_vel"};

static int group_of(const char *g)
{
    for (int i = 0; i < TW_GRP_OTHER; i++)
        if (g && !strcmp(g, tw_wm_group_names[i]))
            return i;
    return TW_GRP_OTHER;
}

/* Copies stats[kind][feature][key] into dst at the feature's columns. */
static int stat_cols(json_t *stats, const char *kind, json_t *feat, const char *key, double *dst, int total,
                     char *msg, size_t msgsz)
{
    const char *name = json_string_value(json_object_get(feat, "name"));
    int off = (int)json_integer_value(json_object_get(feat, "offset"));
    int dim = (int)json_integer_value(json_object_get(feat, "dim"));
    json_t *arr = json_object_get(json_object_get(json_object_get(stats, kind), name ? name : ""), key);
    if (!name || dim <= 0 || off < 0 || off + dim > total || !json_is_array(arr) || (int)json_array_size(arr) != dim)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "manifest: stats.%s.%s.%s missing or of the wrong size", kind,
                       name ? name : "?", key);
    for (int i = 0; i < dim; i++)
        dst[off + i] = json_number_value(json_array_get(arr, (size_t)i));
    return 0;
}

static void floor_std(double *sd, int n)
{
    /* A constant column (e.g. a locked joint) must not blow up the normalised inputs. */
    for (int i = 0; i < n; i++)
        if (!(sd[i] > 1e-9))
            sd[i] = 1.0;
}

static int features(tw_fused_info *fi, json_t *m, const char *kind, char *msg, size_t msgsz)
{
    json_t *feats = json_object_get(json_object_get(m, "features"), kind), *f;
    json_t *stats = json_object_get(m, "stats");
    size_t i;
    if (!json_is_array(feats))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "manifest: features.%s missing", kind);
    json_array_foreach(feats, i, f) {
        int rc, is_state = !strcmp(kind, "state"), total = is_state ? fi->S : fi->A;
        double *mean = is_state ? fi->state_mean : fi->action_mean, *sd = is_state ? fi->state_std : fi->action_std;
        if ((rc = stat_cols(stats, kind, f, "mean", mean, total, msg, msgsz)) ||
            (rc = stat_cols(stats, kind, f, "std", sd, total, msg, msgsz)))
            return rc;
        if (!is_state)
            continue;
        if ((rc = stat_cols(stats, "delta", f, "mean", fi->delta_mean, total, msg, msgsz)) ||
            (rc = stat_cols(stats, "delta", f, "std", fi->delta_std, total, msg, msgsz)))
            return rc;
        int off = (int)json_integer_value(json_object_get(f, "offset"));
        int dim = (int)json_integer_value(json_object_get(f, "dim"));
        const char *units = json_string_value(json_object_get(f, "units"));
        for (int c = off; c < off + dim; c++) {
            fi->group[c] = group_of(json_string_value(json_object_get(f, "group")));
            snprintf(fi->col_units[c], sizeof fi->col_units[c], "%s", units ? units : "");
        }
    }
    return 0;
}

int tw_fused_info_load(const char *dir, tw_fused_info *fi, char *msg, size_t msgsz)
{
    memset(fi, 0, sizeof *fi);
    snprintf(fi->dir, sizeof fi->dir, "%s", dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m)
        return tw_errf(msg, msgsz, TW_EIO, "%s: %s (line %d) — not a fused dataset, or fuse did not finish", path,
                       jerr.text, jerr.line);
    int rc = 0;
    const char *fmt = json_string_value(json_object_get(m, "format"));
    const char *ver = json_string_value(json_object_get(m, "version"));
    if (!fmt || strcmp(fmt, "teleworld.fused") || !ver || atoi(ver) != 1) {
        rc = tw_errf(msg, msgsz, TW_EVERSION, "%s: format %s version %s is not teleworld.fused 1.x", path,
                     fmt ? fmt : "?", ver ? ver : "?");
        goto out;
    }
    fi->S = (int)json_integer_value(json_object_get(m, "state_dim"));
    fi->A = (int)json_integer_value(json_object_get(m, "action_dim"));
    fi->H = (int)json_integer_value(json_object_get(m, "window"));
    fi->rate_hz = json_number_value(json_object_get(m, "rate_hz"));
    fi->seed = (uint64_t)json_integer_value(json_object_get(m, "seed"));
    if (fi->S <= 0 || fi->S > TW_WM_MAX_DIM || fi->A <= 0 || fi->A > TW_WM_MAX_DIM || fi->H < 1 || !(fi->rate_hz > 0)) {
        rc = tw_errf(msg, msgsz, TW_ESCHEMA, "%s: state_dim %d, action_dim %d, window %d, rate %g out of range",
                     path, fi->S, fi->A, fi->H, fi->rate_hz);
        goto out;
    }
    if ((rc = features(fi, m, "state", msg, msgsz)) || (rc = features(fi, m, "action", msg, msgsz)))
        goto out;
    floor_std(fi->state_std, fi->S);
    floor_std(fi->action_std, fi->A);
    floor_std(fi->delta_std, fi->S);
out:
    json_decref(m);
    return rc;
}

/* Reads dataset `name` of file f; rows of `cols` values of which the first `keep` are kept. */
static int read_rows(hid_t f, const char *name, hid_t type, size_t n, size_t cols, size_t keep, void *dst,
                     size_t esz)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    void *tmp = cols == keep ? dst : malloc(n * cols * esz);
    int rc = tmp && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0 ? 0 : -1;
    if (!rc && tmp != dst)
        for (size_t r = 0; r < n; r++)
            memcpy((char *)dst + r * keep * esz, (char *)tmp + r * cols * esz, keep * esz);
    if (tmp != dst)
        free(tmp);
    H5Dclose(d);
    return rc;
}

static int grow(tw_fused_split *s, size_t n, int S, int A)
{
    void *p[7] = {realloc(s->state, n * S * sizeof(float)), NULL, NULL, NULL, NULL, NULL, NULL};
    if (p[0]) s->state = p[0];
    if ((p[1] = realloc(s->action, n * A * sizeof(float)))) s->action = p[1];
    if ((p[2] = realloc(s->next_state, n * S * sizeof(float)))) s->next_state = p[2];
    if ((p[3] = realloc(s->weight, n * sizeof(float)))) s->weight = p[3];
    if ((p[4] = realloc(s->domain, n))) s->domain = p[4];
    if ((p[5] = realloc(s->episode, n * sizeof(uint32_t)))) s->episode = p[5];
    if ((p[6] = realloc(s->t, n * sizeof(uint32_t)))) s->t = p[6];
    for (int i = 0; i < 7; i++)
        if (!p[i])
            return TW_ENOMEM;
    return 0;
}

static int load_shard_locked(const tw_fused_info *fi, const char *file, size_t n, tw_fused_split *s, char *msg,
                      size_t msgsz)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", fi->dir, file);
    if (grow(s, s->n + n, fi->S, fi->A))
        return tw_errf(msg, msgsz, TW_ENOMEM, "%s: out of memory for %zu samples", path, s->n + n);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return tw_errf(msg, msgsz, TW_EHDF5, "%s: cannot open shard", path);
    size_t S = (size_t)fi->S, A = (size_t)fi->A, H = (size_t)fi->H, o = s->n;
    int bad = read_rows(f, "state", H5T_NATIVE_FLOAT, n, S, S, s->state + o * S, sizeof(float)) ||
              read_rows(f, "action", H5T_NATIVE_FLOAT, n, H * A, A, s->action + o * A, sizeof(float)) ||
              read_rows(f, "next_state", H5T_NATIVE_FLOAT, n, H * S, S, s->next_state + o * S, sizeof(float)) ||
              read_rows(f, "weight", H5T_NATIVE_FLOAT, n, 1, 1, s->weight + o, sizeof(float)) ||
              read_rows(f, "domain", H5T_NATIVE_UINT8, n, 1, 1, s->domain + o, 1) ||
              read_rows(f, "episode", H5T_NATIVE_UINT32, n, 1, 1, s->episode + o, sizeof(uint32_t)) ||
              read_rows(f, "t", H5T_NATIVE_UINT32, n, 1, 1, s->t + o, sizeof(uint32_t));
    H5Fclose(f);
    if (bad)
        return tw_errf(msg, msgsz, TW_EHDF5, "%s: missing or malformed dataset (expected %zu samples)", path, n);
    s->n += n;
    return 0;
}

/* Serial HDF5 is not thread-safe: every HDF5 call of the process goes under the one lock (bridge/h5). */
static int load_shard(const tw_fused_info *fi, const char *file, size_t n, tw_fused_split *s, char *msg,
                      size_t msgsz)
{
    tw_h5_lock();
    int rc = load_shard_locked(fi, file, n, s, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

int tw_fused_split_load(const tw_fused_info *fi, const char *split, tw_fused_split *out, char *msg, size_t msgsz)
{
    memset(out, 0, sizeof *out);
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", fi->dir);
    json_t *m = json_load_file(path, 0, NULL), *sh;
    if (!m)
        return tw_errf(msg, msgsz, TW_EIO, "%s: cannot read", path);
    size_t i;
    int rc = 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    json_array_foreach(json_object_get(m, "shards"), i, sh) {
        const char *sp = json_string_value(json_object_get(sh, "split"));
        const char *file = json_string_value(json_object_get(sh, "file"));
        json_int_t n = json_integer_value(json_object_get(sh, "samples"));
        if (!sp || strcmp(sp, split))
            continue;
        if (!file || strchr(file, '/') || n <= 0) {
            rc = tw_errf(msg, msgsz, TW_ESCHEMA, "%s: shards[%zu] has a bad file name or sample count", path, i);
            break;
        }
        if ((rc = load_shard(fi, file, (size_t)n, out, msg, msgsz)))
            break;
    }
    json_decref(m);
    if (rc)
        tw_fused_split_free(out);
    return rc;
}

void tw_fused_split_free(tw_fused_split *s)
{
    if (!s)
        return;
    free(s->state);
    free(s->action);
    free(s->next_state);
    free(s->weight);
    free(s->domain);
    free(s->episode);
    free(s->t);
    memset(s, 0, sizeof *s);
}

/* Row o of the output: the period of k steps starting at input row i. */
static void period_row(const tw_fused_split *in, const tw_fused_info *fi, size_t i, int k, tw_fused_split *out, size_t o)
{
    size_t S = (size_t)fi->S, A = (size_t)fi->A;
    double mean[TW_WM_MAX_DIM] = {0};
    for (size_t j = 0; j < (size_t)k; j++)
        for (size_t c = 0; c < A; c++)
            mean[c] += in->action[(i + j) * A + c] / k;
    memcpy(out->state + o * S, in->state + i * S, S * sizeof(float));
    memcpy(out->next_state + o * S, in->next_state + (i + (size_t)k - 1) * S, S * sizeof(float));
    for (size_t c = 0; c < A; c++)
        out->action[o * A + c] = (float)mean[c];
    out->weight[o] = in->weight[i];
    out->domain[o] = in->domain[i];
    out->episode[o] = in->episode[i];
    out->t[o] = in->t[i] / (uint32_t)k;
}

static int period_ok(const tw_fused_split *s, size_t i, int k)
{
    if (i + (size_t)k > s->n)
        return 0;
    for (size_t j = 1; j < (size_t)k; j++)
        if (s->episode[i + j] != s->episode[i] || s->t[i + j] != s->t[i] + j)
            return 0;
    return 1;
}

int tw_fused_split_stride(tw_fused_split *s, const tw_fused_info *fi, int k)
{
    if (k <= 1)
        return 0;
    tw_fused_split out = {0};
    if (grow(&out, s->n ? s->n : 1, fi->S, fi->A)) {
        tw_fused_split_free(&out);
        return TW_ENOMEM;
    }
    /* One block per phase (t mod k): inside a block the periods of an episode follow each other, so
     * consecutive rows are consecutive periods; the blocks together use every timeline step as a start. */
    for (int phase = 0; phase < k; phase++)
        for (size_t i = 0; i < s->n; i++)
            if (s->t[i] % (uint32_t)k == (uint32_t)phase && period_ok(s, i, k))
                period_row(s, fi, i, k, &out, out.n++);
    tw_fused_split_free(s);
    *s = out;
    return 0;
}
