/* World-model file (schemas/model.md): model.json (shape, normalisation, training record)
 * and weights.f32 (little-endian float32 parameters in the MLP's flat order). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_wm_int.h"

void tw_wm_tracking_pairs(tw_fused_info *fi)
{
    fi->ntrack = 0;
    for (int j = 0; j < fi->S && fi->ntrack < fi->A; j++)
        if (fi->group[j] == TW_GRP_JOINT_POS)
            fi->track_pos[fi->ntrack++] = j;
}

void tw_wm_tracking_stats(tw_fused_info *fi, const float *state, const float *action, size_t n)
{
    for (int j = 0; j < fi->ntrack; j++) {
        double sum = 0, sq = 0;
        for (size_t r = 0; r < n; r++) {
            double e = (double)action[r * fi->A + j] - state[r * fi->S + fi->track_pos[j]];
            sum += e;
            sq += e * e;
        }
        double mean = n ? sum / n : 0, var = n ? sq / n - mean * mean : 0;
        fi->track_mean[j] = mean;
        fi->track_std[j] = var > 1e-18 ? sqrt(var) : 1.0;
    }
}

void tw_wm_delta_stats(tw_fused_info *fi, const float *state, const float *next, size_t n)
{
    for (int j = 0; j < fi->S; j++) {
        double sum = 0, sq = 0;
        for (size_t r = 0; r < n; r++) {
            double e = (double)next[r * fi->S + j] - state[r * fi->S + j];
            sum += e;
            sq += e * e;
        }
        double mean = n ? sum / n : 0, var = n ? sq / n - mean * mean : 0;
        fi->delta_mean[j] = mean;
        fi->delta_std[j] = var > 1e-18 ? sqrt(var) : 1.0;
    }
}

int tw_wm_nin(const tw_fused_info *fi) { return fi->S + fi->A + fi->ntrack; }

void tw_wm_inputs(const tw_fused_info *fi, const float *state, const float *action, int B, float *X)
{
    /* Offsets and inverse scales once per call, then a multiply per element: the planner calls this
     * for every batch of a few dozen rows, where a double division per element is a visible cost. */
    int S = fi->S, A = fi->A, T = fi->ntrack, nin = tw_wm_nin(fi);
    float mu[3 * TW_WM_MAX_DIM], inv[3 * TW_WM_MAX_DIM];
    for (int j = 0; j < S; j++) {
        mu[j] = (float)fi->state_mean[j];
        inv[j] = (float)(1.0 / fi->state_std[j]);
    }
    for (int j = 0; j < A; j++) {
        mu[S + j] = (float)fi->action_mean[j];
        inv[S + j] = (float)(1.0 / fi->action_std[j]);
    }
    for (int j = 0; j < T; j++) {
        mu[S + A + j] = (float)fi->track_mean[j];
        inv[S + A + j] = (float)(1.0 / fi->track_std[j]);
    }
    for (int b = 0; b < B; b++) {
        float *x = X + (size_t)b * nin;
        const float *s = state + (size_t)b * S, *a = action + (size_t)b * A;
        for (int j = 0; j < S; j++)
            x[j] = (s[j] - mu[j]) * inv[j];
        for (int j = 0; j < A; j++)
            x[S + j] = (a[j] - mu[S + j]) * inv[S + j];
        for (int j = 0; j < T; j++)
            x[S + A + j] = (a[j] - s[fi->track_pos[j]] - mu[S + A + j]) * inv[S + A + j];
    }
}

void tw_wm_targets(const tw_fused_info *fi, const float *state, const float *next, int B, float *T)
{
    int S = fi->S;
    for (size_t i = 0; i < (size_t)B * S; i++) {
        int j = (int)(i % S);
        T[i] = (float)(((double)next[i] - state[i] - fi->delta_mean[j]) / fi->delta_std[j]);
    }
}

void tw_wm_apply(const tw_fused_info *fi, const float *state, const float *Y, int B, float *next)
{
    int S = fi->S;
    float sd[TW_WM_MAX_DIM], mu[TW_WM_MAX_DIM];
    for (int j = 0; j < S; j++) {
        sd[j] = (float)fi->delta_std[j];
        mu[j] = (float)fi->delta_mean[j];
    }
    for (int b = 0; b < B; b++)
        for (int j = 0; j < S; j++) {
            size_t i = (size_t)b * S + j;
            next[i] = state[i] + Y[i] * sd[j] + mu[j];
        }
}

static json_t *darr(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static int read_darr(json_t *o, const char *key, double *v, int n)
{
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || (int)json_array_size(a) != n)
        return -1;
    for (int i = 0; i < n; i++)
        v[i] = json_number_value(json_array_get(a, (size_t)i));
    return 0;
}

int tw_wm_model_save(const tw_wm_model *m, const char *dir, const char *train_json, char *msg, size_t msgsz)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "%s: cannot create: %s", dir, strerror(errno));
    const tw_fused_info *fi = &m->fi;
    char path[1200], tmp[1300];
    snprintf(path, sizeof path, "%s/weights.f32", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    size_t n = tw_mlp_nparams(m->mlp);
    /* x86-64 and aarch64 are little-endian, which is what the format promises. */
    int ok = f && fwrite(tw_mlp_params(m->mlp), sizeof(float), n, f) == n;
    if (f && fclose(f))
        ok = 0;
    if (!ok || rename(tmp, path))
        return tw_errf(msg, msgsz, TW_EIO, "%s: write failed: %s", path, strerror(errno));
    json_t *j = json_object(), *norm = json_object(), *groups = json_array();
    json_object_set_new(j, "format", json_string(TW_WM_FORMAT));
    json_object_set_new(j, "version", json_string(TW_WM_VERSION));
    json_object_set_new(j, "kind", json_string("mlp_delta"));
    json_object_set_new(j, "activation", json_string("tanh"));
    json_object_set_new(j, "state_dim", json_integer(fi->S));
    json_object_set_new(j, "action_dim", json_integer(fi->A));
    json_object_set_new(j, "hidden", json_integer(m->hidden));
    json_object_set_new(j, "layers", json_integer(m->layers));
    json_object_set_new(j, "nparams", json_integer((json_int_t)n));
    json_object_set_new(j, "weights", json_string("weights.f32"));
    int k = m->steps > 1 ? m->steps : 1;
    json_object_set_new(j, "rate_hz", json_real(fi->rate_hz / k));
    json_object_set_new(j, "steps_per_prediction", json_integer(k));
    json_object_set_new(j, "data", json_string(fi->dir));
    json_object_set_new(norm, "state_mean", darr(fi->state_mean, fi->S));
    json_object_set_new(norm, "state_std", darr(fi->state_std, fi->S));
    json_object_set_new(norm, "action_mean", darr(fi->action_mean, fi->A));
    json_object_set_new(norm, "action_std", darr(fi->action_std, fi->A));
    json_object_set_new(norm, "delta_mean", darr(fi->delta_mean, fi->S));
    json_object_set_new(norm, "delta_std", darr(fi->delta_std, fi->S));
    json_t *tp = json_array();
    for (int i = 0; i < fi->ntrack; i++)
        json_array_append_new(tp, json_integer(fi->track_pos[i]));
    json_object_set_new(norm, "tracking_state_column", tp);
    json_object_set_new(norm, "tracking_mean", darr(fi->track_mean, fi->ntrack));
    json_object_set_new(norm, "tracking_std", darr(fi->track_std, fi->ntrack));
    json_object_set_new(j, "normalization", norm);
    for (int i = 0; i < fi->S; i++)
        json_array_append_new(groups, json_string(tw_wm_group_names[fi->group[i]]));
    json_object_set_new(j, "state_groups", groups);
    json_t *tr = train_json ? json_loads(train_json, 0, NULL) : NULL;
    json_object_set_new(j, "training", tr ? tr : json_null());
    snprintf(path, sizeof path, "%s/model.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int rc = json_dump_file(j, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(j);
    if (rc || rename(tmp, path))
        return tw_errf(msg, msgsz, TW_EIO, "%s: write failed", path);
    return 0;
}

static int load_json(json_t *j, tw_wm_model *m, char *msg, size_t msgsz, const char *path)
{
    tw_fused_info *fi = &m->fi;
    const char *fmt = json_string_value(json_object_get(j, "format"));
    const char *ver = json_string_value(json_object_get(j, "version"));
    if (!fmt || strcmp(fmt, TW_WM_FORMAT) || !ver || atoi(ver) != TW_WM_MAJOR)
        return tw_errf(msg, msgsz, TW_EVERSION, "%s: format %s version %s is not %s %d.x", path, fmt ? fmt : "?",
                       ver ? ver : "?", TW_WM_FORMAT, TW_WM_MAJOR);
    fi->S = (int)json_integer_value(json_object_get(j, "state_dim"));
    fi->A = (int)json_integer_value(json_object_get(j, "action_dim"));
    m->hidden = (int)json_integer_value(json_object_get(j, "hidden"));
    m->layers = (int)json_integer_value(json_object_get(j, "layers"));
    json_t *spp = json_object_get(j, "steps_per_prediction");
    m->steps = spp ? (int)json_integer_value(spp) : 1;
    if (m->steps < 1 || m->steps > 100000)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: steps_per_prediction %d out of range", path, m->steps);
    fi->rate_hz = json_number_value(json_object_get(j, "rate_hz")) * m->steps; /* the timeline's rate */
    json_t *norm = json_object_get(j, "normalization"), *groups = json_object_get(j, "state_groups");
    if (fi->S <= 0 || fi->S > TW_WM_MAX_DIM || fi->A <= 0 || fi->A > TW_WM_MAX_DIM ||
        read_darr(norm, "state_mean", fi->state_mean, fi->S) || read_darr(norm, "state_std", fi->state_std, fi->S) ||
        read_darr(norm, "action_mean", fi->action_mean, fi->A) ||
        read_darr(norm, "action_std", fi->action_std, fi->A) ||
        read_darr(norm, "delta_mean", fi->delta_mean, fi->S) || read_darr(norm, "delta_std", fi->delta_std, fi->S) ||
        !json_is_array(groups) || (int)json_array_size(groups) != fi->S)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: dimensions or normalisation arrays missing or inconsistent", path);
    json_t *tp = json_object_get(norm, "tracking_state_column");
    fi->ntrack = (int)json_array_size(tp);
    if (!json_is_array(tp) || fi->ntrack > fi->A || read_darr(norm, "tracking_mean", fi->track_mean, fi->ntrack) ||
        read_darr(norm, "tracking_std", fi->track_std, fi->ntrack))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: tracking-error normalisation missing or inconsistent", path);
    for (int i = 0; i < fi->ntrack; i++) {
        fi->track_pos[i] = (int)json_integer_value(json_array_get(tp, (size_t)i));
        if (fi->track_pos[i] < 0 || fi->track_pos[i] >= fi->S)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: tracking_state_column[%d] out of range", path, i);
    }
    for (int i = 0; i < fi->S; i++) {
        const char *g = json_string_value(json_array_get(groups, (size_t)i));
        fi->group[i] = TW_GRP_OTHER;
        for (int k = 0; k < TW_GRP_OTHER; k++)
            if (g && !strcmp(g, tw_wm_group_names[k]))
                fi->group[i] = k;
    }
    return 0;
}

int tw_wm_model_load(const char *dir, int max_batch, tw_wm_model *m, char *msg, size_t msgsz)
{
    memset(m, 0, sizeof *m);
    char path[1200];
    snprintf(path, sizeof path, "%s/model.json", dir);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        return tw_errf(msg, msgsz, TW_EIO, "%s: %s", path, jerr.text);
    int rc = load_json(j, m, msg, msgsz, path);
    json_int_t np = json_integer_value(json_object_get(j, "nparams"));
    json_decref(j);
    if (rc)
        return rc;
    tw_mlp_shape sh = {.nin = tw_wm_nin(&m->fi), .nout = m->fi.S, .nhidden = m->hidden, .nlayers = m->layers,
                       .max_batch = max_batch};
    if ((rc = tw_mlp_new(&sh, 0, &m->mlp, msg, msgsz)))
        return rc;
    size_t n = tw_mlp_nparams(m->mlp);
    snprintf(path, sizeof path, "%s/weights.f32", dir);
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(tw_mlp_params(m->mlp), sizeof(float), n + 1, f) : 0;
    if (f)
        fclose(f);
    if ((json_int_t)n != np || got != n) {
        tw_wm_model_free(m);
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: holds %zu floats, model.json says %lld, the shape needs %zu",
                       path, got, (long long)np, n);
    }
    return 0;
}

void tw_wm_model_free(tw_wm_model *m)
{
    if (m) {
        tw_mlp_free(m->mlp);
        m->mlp = NULL;
    }
}
