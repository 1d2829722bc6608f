/* tw import robomimic FILE.hdf5 --out EPISODES_DIR [--rate HZ] [--domain real|sim]
 * Each data/demo_N becomes one teleworld episode (schemas/robomimic.md has the mapping):
 *   actions -> action stream "actions"; states -> tensor "states" (the MuJoCo state); rewards, dones -> tensors;
 *   obs/K -> stream "obs.K": *_joint_pos as joint_state (velocity row from *_joint_vel when present, else NaN;
 *   effort NaN), uint8 [T,H,W,3] images as rgb24 video (encoded by the episode writer), anything else tensor;
 *   other datasets of a demo are kept as tensors named by their path ("a/b" -> "a.b"). next_obs is obs shifted
 *   by one step and is not stored (the robomimic export writes it back).
 * robomimic has no timestamps: step k is placed at k / rate, rate = --rate, else env_args' control_freq, else 20 Hz
 * (robosuite's default). Provenance goes into the episode metadata under "source". */
#include <getopt.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_convert.h"
#include "tw_convert_video.h"
#include "tw_convert_h5.h"
#include "tw_media.h"

#define RM_MAX_ITEMS TW_MAX_STREAMS
#define RM_CHUNK_BYTES (4u << 20)

typedef struct {
    char h5[256];  /* path under the demo group */
    char vel[256]; /* joint_state: the *_joint_vel dataset or "" */
    tw_stream_decl d;
} rm_item;

typedef struct {
    const char *path;
    cv_import_opts io;
    double rate;
    const char *rate_from;
    char stem[48];
    hid_t f;
    json_t *env_args;
    json_t *masks; /* {"train": ["demo_0", ...], ...} */
    cv_batch batch;
} rm_ctx;

static void usage(FILE *f)
{
    fprintf(f, "usage: tw import robomimic FILE.hdf5 --out EPISODES_DIR [--rate HZ] [--domain real|sim]\n"
               "                            [--compression 0..9]\n"
               "  each data/demo_N becomes EPISODES_DIR/<file stem>-demo_N (schemas/robomimic.md)\n");
}

static void sanitize(char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            *s = '_';
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* ---------------------------------------------------------------- file-level: env_args, masks, demo names */

static void read_env(rm_ctx *c)
{
    tw_h5_lock();
    hid_t g = H5Gopen2(c->f, "data", H5P_DEFAULT);
    char *s = g >= 0 ? tw_h5_get_str_alloc(g, "env_args") : NULL;
    if (g >= 0)
        H5Gclose(g);
    tw_h5_unlock();
    if (s)
        c->env_args = json_loads(s, 0, NULL);
    free(s);
    json_t *cf = json_object_get(json_object_get(c->env_args, "env_kwargs"), "control_freq");
    if (c->rate > 0)
        c->rate_from = "--rate";
    else if (json_is_number(cf) && json_number_value(cf) > 0)
        c->rate = json_number_value(cf), c->rate_from = "env_args.env_kwargs.control_freq";
    else
        c->rate = 20, c->rate_from = "default (robosuite control_freq)";
}

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *ud)
{
    (void)g, (void)info;
    json_array_append_new((json_t *)ud, json_string(name));
    return 0;
}

static json_t *list_names(hid_t loc, const char *group)
{
    json_t *a = json_array();
    tw_h5_lock();
    hid_t g = H5Gopen2(loc, group, H5P_DEFAULT);
    if (g >= 0) {
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, a);
        H5Gclose(g);
    }
    tw_h5_unlock();
    return a;
}

/* mask/<name>: arrays of demo names (fixed or variable-length strings). */
static void read_masks(rm_ctx *c)
{
    c->masks = json_object();
    json_t *names = list_names(c->f, "mask");
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        json_t *list = json_array();
        char p[300];
        snprintf(p, sizeof p, "mask/%s", json_string_value(n));
        tw_h5_lock();
        hid_t ds = H5Dopen2(c->f, p, H5P_DEFAULT);
        if (ds >= 0) { /* h5py writes np.array(names, dtype="S"): fixed-length; vlen strings also occur */
            hid_t sp = H5Dget_space(ds), ft = H5Dget_type(ds);
            hssize_t cnt = H5Sget_simple_extent_npoints(sp);
            int vl = H5Tis_variable_str(ft) > 0;
            size_t w = vl ? sizeof(char *) : H5Tget_size(ft);
            hid_t mt = vl ? tw_h5_vlstr() : H5Tcopy(H5T_C_S1);
            if (!vl)
                H5Tset_size(mt, w + 1);
            char *buf = cnt > 0 ? calloc((size_t)cnt, vl ? w : w + 1) : NULL;
            if (buf && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
                for (hssize_t k = 0; k < cnt; k++) {
                    const char *v = vl ? ((char **)buf)[k] : buf + (size_t)k * (w + 1);
                    json_array_append_new(list, json_string(v ? v : ""));
                }
                if (vl)
                    H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
            }
            free(buf);
            H5Tclose(mt), H5Tclose(ft), H5Sclose(sp), H5Dclose(ds);
        }
        tw_h5_unlock();
        json_object_set_new(c->masks, json_string_value(n), list);
    }
    json_decref(names);
}

static int demo_cmp(const void *a, const void *b)
{
    const char *x = json_string_value(*(json_t *const *)a), *y = json_string_value(*(json_t *const *)b);
    long nx = strncmp(x, "demo_", 5) ? -1 : atol(x + 5), ny = strncmp(y, "demo_", 5) ? -1 : atol(y + 5);
    return nx != ny ? (nx < ny ? -1 : 1) : strcmp(x, y);
}

/* ---------------------------------------------------------------- one demo: plan the streams */

static int add_item(rm_item *it, size_t *n, const char *h5, const char *name, char *msg, size_t msgsz)
{
    if (*n >= RM_MAX_ITEMS)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "more than %d datasets in one demo", RM_MAX_ITEMS);
    rm_item *x = &it[(*n)++];
    memset(x, 0, sizeof *x);
    snprintf(x->h5, sizeof x->h5, "%s", h5);
    snprintf(x->d.name, sizeof x->d.name, "%s", name);
    sanitize(x->d.name);
    return 0;
}

/* Fills the declaration from the dataset's shape, the kind decided by its name. */
static int declare(rm_ctx *c, hid_t demo, const char *where, rm_item *x, uint64_t T, char *msg, size_t msgsz)
{
    cv_h5ds ds;
    int rc = cv_h5ds_open(&ds, demo, x->h5, where, msg, msgsz);
    if (rc)
        return rc;
    tw_stream_decl *d = &x->d;
    d->rate_hz = c->rate;
    if (ds.dims[0] != T)
        rc = tw_errf(msg, msgsz, TW_ESHAPE, "%s/%s: %llu rows, but actions has %llu", where, x->h5,
                     (unsigned long long)ds.dims[0], (unsigned long long)T);
    int image = ds.dtype == TW_DTYPE_UINT8 && ds.rank == 4 && ds.dims[3] == 3;
    if (!rc && image) {
        d->kind = TW_KIND_VIDEO, d->dtype = TW_DTYPE_BYTES, d->encoding = TW_VIDEO_RGB24;
        d->height = (uint32_t)ds.dims[1], d->width = (uint32_t)ds.dims[2];
    } else if (!rc && !strcmp(x->h5, "actions") && ds.rank == 2) {
        d->kind = TW_KIND_ACTION, d->dtype = ds.dtype, d->ndim = 1, d->shape[0] = (uint32_t)ds.dims[1];
    } else if (!rc && ends_with(x->h5, "_joint_pos") && ds.rank == 2) {
        d->kind = TW_KIND_JOINT_STATE, d->dtype = TW_DTYPE_FLOAT64, d->ndim = 2;
        d->shape[0] = 3, d->shape[1] = (uint32_t)ds.dims[1];
        snprintf(d->units, sizeof d->units, "rad;rad/s;N*m");
        snprintf(x->vel, sizeof x->vel, "%.*s_joint_vel", (int)(strlen(x->h5) - 10), x->h5);
        tw_h5_lock();
        if (tw_h5_len(demo, x->vel) < 0)
            x->vel[0] = 0;
        tw_h5_unlock();
    } else if (!rc) {
        d->kind = TW_KIND_TENSOR, d->dtype = ds.dtype;
        d->ndim = ds.rank > 1 ? (uint32_t)ds.rank - 1 : 1;
        d->shape[0] = 1;
        for (int i = 1; i < ds.rank; i++)
            d->shape[i - 1] = (uint32_t)ds.dims[i];
    }
    cv_h5ds_close(&ds);
    return rc;
}

static herr_t collect_obj(hid_t g, const char *name, const H5L_info_t *info, void *ud)
{
    (void)info;
    hid_t obj = H5Oopen(g, name, H5P_DEFAULT);
    if (obj < 0)
        return 0;
    int group = H5Iget_type(obj) == H5I_GROUP;
    H5Oclose(obj);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "group", json_boolean(group));
    json_array_append_new((json_t *)ud, o);
    return 0;
}

/* Every dataset of the demo (one level of groups deep), next_obs excepted. */
static int plan(rm_ctx *c, hid_t demo, const char *where, rm_item *it, size_t *n, uint64_t *T, char *msg,
                size_t msgsz)
{
    *n = 0;
    tw_h5_lock();
    int64_t t = tw_h5_len(demo, "actions");
    tw_h5_unlock();
    if (t < 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: dataset 'actions' missing", where);
    *T = (uint64_t)t;
    json_t *top = json_array();
    tw_h5_lock();
    H5Literate(demo, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_obj, top);
    tw_h5_unlock();
    int rc = add_item(it, n, "actions", "actions", msg, msgsz);
    size_t i;
    json_t *o;
    json_array_foreach(top, i, o)
    {
        const char *name = json_string_value(json_object_get(o, "name"));
        if (rc || !strcmp(name, "actions") || !strcmp(name, "next_obs"))
            continue;
        if (!json_is_true(json_object_get(o, "group"))) {
            rc = add_item(it, n, name, name, msg, msgsz);
            continue;
        }
        json_t *sub = json_array();
        hid_t g = (tw_h5_lock(), H5Gopen2(demo, name, H5P_DEFAULT));
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_obj, sub);
        H5Gclose(g);
        tw_h5_unlock();
        size_t k;
        json_t *so;
        json_array_foreach(sub, k, so)
        {
            char h5[256], sname[TW_MAX_NAME];
            const char *key = json_string_value(json_object_get(so, "name"));
            snprintf(h5, sizeof h5, "%s/%s", name, key);
            snprintf(sname, sizeof sname, "%s.%s", name, key);
            if (!rc && !json_is_true(json_object_get(so, "group")))
                rc = add_item(it, n, h5, sname, msg, msgsz);
        }
        json_decref(sub);
    }
    json_decref(top);
    for (size_t k = 0; !rc && k < *n; k++)
        rc = declare(c, demo, where, &it[k], *T, msg, msgsz);
    return rc;
}

/* ---------------------------------------------------------------- one demo: write */

static int64_t step_ns(const rm_ctx *c, uint64_t k) { return (int64_t)llround((double)k * 1e9 / c->rate); }

/* A joint_state row: position from the dataset, velocity from *_joint_vel (or NaN), effort NaN. */
static int write_joint_state(rm_ctx *c, cv_episode *e, size_t si, hid_t demo, const char *where, const rm_item *x,
                             uint64_t T, char *msg, size_t msgsz)
{
    cv_h5ds p, v;
    int rc = cv_h5ds_open(&p, demo, x->h5, where, msg, msgsz), hv = 0;
    if (!rc && x->vel[0] && !(rc = cv_h5ds_open(&v, demo, x->vel, where, msg, msgsz))) {
        hv = 1;
        if (v.row_elems != p.row_elems || v.dims[0] != T)
            rc = tw_errf(msg, msgsz, TW_ESHAPE, "%s/%s: shape differs from %s", where, x->vel, x->h5);
    }
    size_t nj = p.row_elems;
    double *pos = malloc(nj * sizeof *pos), *vel = malloc(nj * sizeof *vel), *row = malloc(3 * nj * sizeof *row);
    p.memtype = H5T_NATIVE_DOUBLE;
    if (hv)
        v.memtype = H5T_NATIVE_DOUBLE;
    for (uint64_t k = 0; !rc && k < T; k++) { /* one row at a time: HDF5's chunk cache makes this cheap */
        rc = cv_h5ds_read(&p, k, 1, pos, where, msg, msgsz);
        if (!rc && hv)
            rc = cv_h5ds_read(&v, k, 1, vel, where, msg, msgsz);
        for (size_t j = 0; j < nj; j++) {
            row[j] = pos[j];
            row[nj + j] = hv ? vel[j] : NAN;
            row[2 * nj + j] = NAN;
        }
        if (!rc)
            rc = cv_episode_put(e, si, step_ns(c, k), row, 3 * nj * sizeof *row, 0, msg, msgsz);
    }
    free(pos), free(vel), free(row);
    if (hv)
        cv_h5ds_close(&v);
    cv_h5ds_close(&p);
    return rc;
}

static int write_plain(rm_ctx *c, cv_episode *e, size_t si, hid_t demo, const char *where, const rm_item *x,
                       uint64_t T, char *msg, size_t msgsz)
{
    cv_h5ds ds;
    int rc = cv_h5ds_open(&ds, demo, x->h5, where, msg, msgsz);
    if (rc)
        return rc;
    size_t rowb = ds.row_elems * (x->d.kind == TW_KIND_VIDEO ? 1 : tw_dtype_size(x->d.dtype));
    uint64_t chunk = rowb >= RM_CHUNK_BYTES ? 1 : RM_CHUNK_BYTES / rowb;
    uint8_t *buf = malloc(chunk * rowb + 64); /* + padding: libswscale over-reads the last RGB row */
    if (!buf)
        rc = TW_ENOMEM;
    for (uint64_t k0 = 0; !rc && k0 < T; k0 += chunk) {
        uint64_t n = T - k0 < chunk ? T - k0 : chunk;
        rc = cv_h5ds_read(&ds, k0, n, buf, where, msg, msgsz);
        for (uint64_t k = 0; !rc && k < n; k++)
            rc = cv_episode_put(e, si, step_ns(c, k0 + k), buf + k * rowb, rowb, 0, msg, msgsz);
    }
    free(buf);
    cv_h5ds_close(&ds);
    return rc;
}

static char *provenance(const rm_ctx *c, const char *demo, const rm_item *it, size_t n)
{
    json_t *src = json_object(), *streams = json_object(), *masks = json_array();
    char abs[CV_PATH];
    json_object_set_new(src, "format", json_string("robomimic"));
    json_object_set_new(src, "path", json_string(realpath(c->path, abs) ? abs : c->path));
    json_object_set_new(src, "group", json_sprintf("data/%s", demo));
    json_object_set_new(src, "rate_hz", json_real(c->rate));
    json_object_set_new(src, "rate_from", json_string(c->rate_from));
    for (size_t i = 0; i < n; i++)
        json_object_set_new(streams, it[i].h5, json_string(it[i].d.name));
    json_object_set_new(src, "streams", streams);
    const char *mk;
    json_t *list;
    json_object_foreach(c->masks, mk, list)
    {
        size_t k;
        json_t *v;
        json_array_foreach(list, k, v) if (!strcmp(json_string_value(v), demo))
            json_array_append_new(masks, json_string(mk));
    }
    json_object_set_new(src, "masks", masks);
    json_t *env = json_object_get(c->env_args, "env_name");
    if (env)
        json_object_set(src, "env_name", env);
    json_t *m = json_pack("{s:o}", "source", src);
    char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    /* The whole env_args when it fits the metadata limit (robosuite's controller configs can be long). */
    if (c->env_args && s && strlen(s) < TW_MAX_META / 2) {
        char *e = json_dumps(c->env_args, JSON_COMPACT | JSON_SORT_KEYS);
        if (e && strlen(s) + strlen(e) + 32 < TW_MAX_META) {
            json_object_set(src, "env_args", c->env_args);
            free(s);
            s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        }
        free(e);
    }
    json_decref(m);
    return s;
}

static int import_demo(rm_ctx *c, const char *demo_name, char *msg, size_t msgsz)
{
    char gpath[300], where[CV_PATH + 300], id[TW_MAX_NAME];
    snprintf(gpath, sizeof gpath, "data/%s", demo_name);
    snprintf(where, sizeof where, "%s: %s", c->path, gpath);
    snprintf(id, sizeof id, "%s-%s", c->stem, demo_name);
    sanitize(id);
    hid_t demo = (tw_h5_lock(), H5Gopen2(c->f, gpath, H5P_DEFAULT));
    tw_h5_unlock();
    if (demo < 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: not a group", where);
    rm_item *it = calloc(RM_MAX_ITEMS, sizeof *it);
    size_t n = 0;
    uint64_t T = 0;
    int rc = it ? plan(c, demo, where, it, &n, &T, msg, msgsz) : TW_ENOMEM;
    cv_episode e = {0};
    char *meta = rc ? NULL : provenance(c, demo_name, it, n);
    if (!rc) {
        tw_stream_decl d[RM_MAX_ITEMS];
        for (size_t i = 0; i < n; i++)
            d[i] = it[i].d;
        const char *env = json_string_value(json_object_get(c->env_args, "env_name"));
        tw_episode_info info;
        cv_import_info(&c->io, &info);
        info.episode_id = id;
        info.task = env ? env : "";
        info.metadata_json = meta;
        rc = cv_episode_begin(&e, c->io.out, &info, d, n, msg, msgsz);
    }
    for (size_t i = 0; !rc && i < n; i++)
        rc = it[i].d.kind == TW_KIND_JOINT_STATE ? write_joint_state(c, &e, i, demo, where, &it[i], T, msg, msgsz)
                                                 : write_plain(c, &e, i, demo, where, &it[i], T, msg, msgsz);
    if (!rc)
        rc = cv_episode_commit(&e, &c->batch, msg, msgsz);
    if (rc)
        cv_episode_abort(&e);
    free(meta), free(it);
    tw_h5_lock();
    H5Gclose(demo);
    tw_h5_unlock();
    return rc;
}

static int open_file(rm_ctx *c, char *msg, size_t msgsz)
{
    tw_h5_lock();
    tw_h5_quiet();
    c->f = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int has_data = c->f >= 0 && H5Lexists(c->f, "data", H5P_DEFAULT) > 0;
    tw_h5_unlock();
    if (c->f < 0)
        return tw_errf(msg, msgsz, TW_EBAD_MAGIC, "%s: not a readable HDF5 file", c->path);
    if (!has_data)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: group 'data' missing (not a robomimic dataset)", c->path);
    const char *b = strrchr(c->path, '/');
    snprintf(c->stem, sizeof c->stem, "%s", b ? b + 1 : c->path);
    char *dot = strrchr(c->stem, '.');
    if (dot && dot != c->stem)
        *dot = 0;
    sanitize(c->stem);
    return 0;
}

int tw_import_robomimic(int argc, char **argv)
{
    static const struct option opts[] = {CV_IMPORT_LONGOPTS, {"rate", 1, 0, 'r'}, {0, 0, 0, 0}};
    rm_ctx c = {.io = {.domain = "real"}, .f = -1};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, CV_IMPORT_SHORTOPTS "r:", opts, NULL)) != -1) {
        if (cv_import_opt(&c.io, o, optarg))
            continue;
        if (o == 'r')
            c.rate = atof(optarg);
        else
            return usage(o == 'h' ? stdout : stderr), o == 'h' ? 0 : 2;
    }
    if (optind + 1 != argc || !cv_import_opts_ok(&c.io))
        return usage(stderr), 2;
    c.path = argv[optind];
    tw_media_use_for_episodes();
    cv_quiet_ffmpeg();
    char msg[1024];
    int rc = open_file(&c, msg, sizeof msg);
    json_t *demos = NULL;
    if (!rc) {
        read_env(&c);
        read_masks(&c);
        demos = list_names(c.f, "data");
    }
    size_t nd = demos ? json_array_size(demos) : 0;
    json_t **order = nd ? malloc(nd * sizeof *order) : NULL;
    for (size_t i = 0; i < nd; i++)
        order[i] = json_array_get(demos, i);
    if (nd)
        qsort(order, nd, sizeof *order, demo_cmp);
    if (!rc && nd == 0)
        rc = tw_errf(msg, sizeof msg, TW_ESCHEMA, "%s: group 'data' holds no demo", c.path);
    for (size_t i = 0; !rc && i < nd; i++) {
        rc = import_demo(&c, json_string_value(order[i]), msg, sizeof msg);
    }
    if (!rc)
        rc = cv_batch_publish(&c.batch, msg, sizeof msg);
    else
        cv_batch_abort(&c.batch);
    if (!rc)
        fprintf(stderr, "tw import robomimic: %zu episodes at %.17g Hz (%s)\n", nd, c.rate, c.rate_from);
    free(order);
    json_decref(demos), json_decref(c.env_args), json_decref(c.masks);
    if (c.f >= 0) {
        tw_h5_lock();
        H5Fclose(c.f);
        tw_h5_unlock();
    }
    if (rc)
        fprintf(stderr, "tw import robomimic: %s\n", msg);
    return rc ? 1 : 0;
}
