/* manifest.json (schemas/fused.md): written by rank 0, last, through a temporary name. Keys in a fixed
 * order and floats with 17 significant digits, so the same inputs give the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "tw_fuse_int.h"

static json_t *farr(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static json_t *stat_json(const tw_stat *s, uint32_t off, uint32_t dim)
{
    double *sd = malloc((dim ? dim : 1) * sizeof *sd);
    for (uint32_t j = 0; sd && j < dim; j++)
        sd[j] = tw_stat_std(s, off + j);
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer((json_int_t)s->count));
    json_object_set_new(o, "mean", farr(s->mean + off, dim));
    json_object_set_new(o, "std", sd ? farr(sd, dim) : json_array());
    json_object_set_new(o, "min", farr(s->min + off, dim));
    json_object_set_new(o, "max", farr(s->max + off, dim));
    free(sd);
    return o;
}

static json_t *features_json(const tw_fuse_ctx *c, const tw_fuse_feature *f, size_t n)
{
    static const char *const xyz[3] = {"x", "y", "z"}, *const wxyz[4] = {"w", "x", "y", "z"};
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object(), *ax = json_array();
        json_object_set_new(o, "name", json_string(f[i].name));
        json_object_set_new(o, "group", json_string(f[i].group));
        json_object_set_new(o, "offset", json_integer(f[i].offset));
        json_object_set_new(o, "dim", json_integer(f[i].dim));
        json_object_set_new(o, "units", json_string(f[i].units));
        for (uint32_t k = 0; k < f[i].dim; k++) {
            const char *nm = !strcmp(f[i].name, "ee_pos") ? xyz[k] : !strcmp(f[i].name, "ee_quat") ? wxyz[k]
                           : !strcmp(f[i].name, "action") ? (c->sig.na_named ? c->sig.anames[k] : "")
                           : c->sig.jnames[k];
            json_array_append_new(ax, json_string(nm));
        }
        json_object_set_new(o, "axes", ax);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *stats_group(const tw_stat *s, const tw_fuse_feature *f, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, f[i].name, stat_json(s, f[i].offset, f[i].dim));
    return o;
}

static json_t *episodes_json(const tw_fuse_ctx *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->neps; i++) {
        const tw_fuse_ep *e = &c->eps[i];
        json_t *o = json_object();
        json_object_set_new(o, "index", json_integer((json_int_t)i));
        json_object_set_new(o, "id", json_string(e->id));
        json_object_set_new(o, "domain", json_string(e->domain ? "sim" : "real"));
        json_object_set_new(o, "split", json_string(tw_split_names[e->split]));
        json_object_set_new(o, "dir", json_string(e->dir));
        json_object_set_new(o, "sha256", json_string(e->sha256));
        json_object_set_new(o, "steps", json_integer((json_int_t)e->steps));
        json_object_set_new(o, "samples", json_integer((json_int_t)e->samples));
        json_object_set_new(o, "skipped_gap_samples", json_integer((json_int_t)e->skipped));
        json_t *sp = e->sim_params ? json_loads(e->sim_params, 0, NULL) : NULL;
        json_object_set_new(o, "sim_params", sp ? sp : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *splits_json(const tw_fuse_ctx *c, json_t **samples, json_t **weights)
{
    json_t *sp = json_object();
    *samples = json_object();
    *weights = json_object();
    for (int s = 0; s < 3; s++) {
        json_t *ids = json_array();
        for (size_t k = 0; k < c->norder[s]; k++)
            json_array_append_new(ids, json_string(c->eps[c->order[s][k]].id));
        json_object_set_new(sp, tw_split_names[s], ids);
        json_object_set_new(*samples, tw_split_names[s], json_integer((json_int_t)c->nsamples[s]));
        json_t *w = json_object();
        json_object_set_new(w, "real", json_real((float)c->weight[s][0]));
        json_object_set_new(w, "sim", json_real((float)c->weight[s][1]));
        json_object_set_new(w, "real_samples", json_integer((json_int_t)c->ndomain[s][0]));
        json_object_set_new(w, "sim_samples", json_integer((json_int_t)c->ndomain[s][1]));
        json_object_set_new(*weights, tw_split_names[s], w);
    }
    return sp;
}

static json_t *sources_json(const tw_fuse_ctx *c)
{
    json_t *a = json_array();
    for (int dom = 0; dom < 2; dom++) {
        size_t n = dom ? c->o.nsim : c->o.nreal;
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "dir", json_string(dom ? c->o.sim[i] : c->o.real[i]));
            json_object_set_new(o, "domain", json_string(dom ? "sim" : "real"));
            json_array_append_new(a, o);
        }
    }
    return a;
}

static json_t *shards_json(const tw_fuse_shard *sh, size_t nsh, char (*sha)[65])
{
    json_t *a = json_array();
    for (size_t j = 0; j < nsh; j++) {
        char name[32];
        tw_shard_name((uint32_t)j, name, sizeof name);
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(name));
        json_object_set_new(o, "split", json_string(tw_split_names[sh[j].split]));
        json_object_set_new(o, "samples", json_integer((json_int_t)sh[j].count));
        json_object_set_new(o, "first_sample", json_integer((json_int_t)sh[j].first));
        json_object_set_new(o, "sha256", json_string(sha[j]));
        json_array_append_new(a, o);
    }
    return a;
}

int tw_manifest_write(const tw_fuse_ctx *c, const tw_fuse_shard *sh, size_t nsh, char (*sha)[65], char *msg,
                      size_t msgsz)
{
    json_t *m = json_object(), *t;
    json_object_set_new(m, "format", json_string(TW_FUSED_FORMAT));
    json_object_set_new(m, "version", json_string(TW_FUSED_VERSION));
    json_object_set_new(m, "software", json_string("tw " TW_VERSION));
    json_object_set_new(m, "seed", json_integer((json_int_t)c->o.seed));
    t = json_object();
    json_object_set_new(t, "real", json_real(c->o.ratio_real));
    json_object_set_new(t, "sim", json_real(c->o.ratio_sim));
    json_object_set_new(m, "ratio", t);
    t = json_object();
    for (int s = 0; s < 3; s++)
        json_object_set_new(t, tw_split_names[s], json_real(c->o.frac[s]));
    json_object_set_new(m, "split_fractions", t);
    json_object_set_new(m, "window", json_integer(c->H));
    json_object_set_new(m, "rate_hz", json_real(c->o.rate_hz > 0 ? c->o.rate_hz : c->sig.joint_rate_hz));
    json_object_set_new(m, "shard_size", json_integer(c->o.shard_size));
    if (c->o.model_path) {
        char hex[65];
        int rc = tw_sha256_file(c->o.model_path, hex, msg, msgsz);
        if (rc) {
            json_decref(m);
            return rc;
        }
        t = json_object();
        json_object_set_new(t, "path", json_string(c->o.model_path));
        json_object_set_new(t, "sha256", json_string(hex));
        json_object_set_new(m, "model", t);
    } else {
        json_object_set_new(m, "model", json_null());
    }
    json_object_set_new(m, "state_dim", json_integer(c->S));
    json_object_set_new(m, "action_dim", json_integer(c->A));
    t = json_object();
    json_object_set_new(t, "state", features_json(c, c->sfeat, c->nsfeat));
    json_object_set_new(t, "action", features_json(c, c->afeat, 1));
    json_object_set_new(m, "features", t);
    json_object_set_new(m, "sources", sources_json(c));
    json_object_set_new(m, "episodes", episodes_json(c));
    json_t *samples, *weights;
    json_object_set_new(m, "splits", splits_json(c, &samples, &weights));
    json_object_set_new(m, "samples", samples);
    json_object_set_new(m, "weights", weights);
    t = json_object();
    json_object_set_new(t, "state", stats_group(&c->st_state, c->sfeat, c->nsfeat));
    json_object_set_new(t, "action", stats_group(&c->st_action, c->afeat, 1));
    json_object_set_new(t, "delta", stats_group(&c->st_delta, c->sfeat, c->nsfeat));
    json_object_set_new(m, "stats", t);
    json_object_set_new(m, "shards", shards_json(sh, nsh, sha));
    char *txt = json_dumps(m, JSON_PRESERVE_ORDER | JSON_INDENT(1) | JSON_REAL_PRECISION(17) | JSON_ENSURE_ASCII);
    json_decref(m);
    if (!txt)
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: cannot serialise the manifest");
    size_t n = strlen(txt);
    txt[n] = '\n';
    int rc = tw_write_file_atomic(c->o.out_dir, "manifest.json", txt, n + 1, msg, msgsz);
    free(txt);
    return rc;
}
