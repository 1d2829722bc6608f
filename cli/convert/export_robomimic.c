/* tw export robomimic SRC --out FILE.hdf5 [--fps HZ]
 * SRC: a folder of episodes, one episode, or a `tw fuse` output. Episode i becomes data/demo_i with actions, states,
 * rewards, dones, obs/... and next_obs/... (obs shifted by one step, the last step repeated), num_samples; data gets
 * total and env_args; mask/train, mask/valid (and mask/test) come from the fused splits or an import's masks, else
 * every demo is in train. Names: an episode imported from robomimic gets its original dataset paths back; others
 * follow schemas/robomimic.md (action -> actions, joint_state -> obs/joint_pos, obs/joint_vel, video ->
 * obs/<stream>_image as uint8 [T,H,W,3], other streams -> obs/<stream>). Written to FILE.hdf5.tmp, fsynced,
 * renamed. Memory: one episode's rows and one video frame. */
#include <getopt.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_convert.h"
#include "tw_convert_video.h"
#include "tw_convert_frames.h"
#include "tw_h5.h"
#include "tw_media.h"

typedef struct {
    const char *out;
    double fps;
    char tmp[CV_PATH + 8];
    hid_t f, data;
    json_t *masks, *env_args;
    int64_t total;
} rx_ctx;

static void usage(FILE *f) { fprintf(f, "usage: tw export robomimic SRC --out FILE.hdf5 [--fps HZ]\n"); }

/* The robomimic dataset path of plan feature f ("" to skip). */
static void rm_name(const cv_feature *f, const tw_episode *e, json_t *rm_streams, char *out, size_t outsz)
{
    const char *k;
    json_t *v;
    json_object_foreach(rm_streams, k, v) if (!strcmp(json_string_value(v), f->stream))
    {
        snprintf(out, outsz, "%s", f->row > 0 ? "" : k);
        return;
    }
    int si = tw_episode_find_stream(e, f->stream);
    const tw_stream_decl *d = tw_episode_decl(e, (size_t)si);
    char s[TW_MAX_NAME];
    snprintf(s, sizeof s, "%s", f->stream);
    for (char *p = s; *p; p++)
        *p = *p == '.' ? '_' : *p;
    if (d->kind == TW_KIND_ACTION)
        snprintf(out, outsz, "actions");
    else if (d->kind == TW_KIND_JOINT_STATE)
        snprintf(out, outsz, "%s", f->row == 0 ? "obs/joint_pos" : f->row == 1 ? "obs/joint_vel" : "obs/joint_effort");
    else if (d->kind == TW_KIND_VIDEO)
        snprintf(out, outsz, "obs/%s_image", s);
    else if (!strcmp(f->stream, "states") || !strcmp(f->stream, "rewards") || !strcmp(f->stream, "dones"))
        snprintf(out, outsz, "%s", f->stream);
    else if (!strcmp(f->stream, "next.reward") || !strcmp(f->stream, "next.done")) /* LeRobot's names */
        snprintf(out, outsz, "%s", f->stream[5] == 'r' ? "rewards" : "dones");
    else
        snprintf(out, outsz, "obs/%s", s);
}

static hid_t h5type(const char *dtype)
{
    return !strcmp(dtype, "float32") ? H5T_NATIVE_FLOAT : !strcmp(dtype, "int64") ? H5T_NATIVE_INT64
         : !strcmp(dtype, "int32") ? H5T_NATIVE_INT32 : !strcmp(dtype, "uint8") || !strcmp(dtype, "bool") ? H5T_NATIVE_UINT8
                                                                                                      : H5T_NATIVE_DOUBLE;
}

/* A [T, elems] (or [T] for rewards/dones and one-value features) dataset, values converted from double; shift 1
 * writes next_obs (row t + 1, the last repeated). */
static int put_table(hid_t g, const char *name, const cv_feature *f, const double *x, size_t T, int shift)
{
    hid_t mt = h5type(f->dtype);
    size_t el = f->elems, es = H5Tget_size(mt);
    int flat = el == 1 && (!strcmp(name, "rewards") || !strcmp(name, "dones"));
    hsize_t dims[2] = {T, el};
    uint8_t *buf = malloc(T * el * es + 8);
    for (size_t t = 0; t < T; t++) {
        size_t src = shift && t + 1 < T ? t + 1 : t;
        for (size_t j = 0; j < el; j++) {
            double v = x[src * el + j];
            void *p = buf + (t * el + j) * es;
            if (mt == H5T_NATIVE_FLOAT)
                *(float *)p = (float)v;
            else if (mt == H5T_NATIVE_INT64)
                *(int64_t *)p = (int64_t)v;
            else if (mt == H5T_NATIVE_INT32)
                *(int32_t *)p = (int32_t)v;
            else if (mt == H5T_NATIVE_UINT8)
                *(uint8_t *)p = (uint8_t)v;
            else
                *(double *)p = v;
        }
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(flat ? 1 : 2, dims, NULL);
    hid_t ds = H5Dcreate2(g, name, mt, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = ds < 0 ? -1 : H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp), H5Pclose(lcpl);
    free(buf);
    return e < 0 ? TW_EHDF5 : 0;
}

/* obs/<name> and next_obs/<name> of a video stream: decoded frames held onto the rows' grid. */
static int put_video(hid_t g, const char *name, const cv_feature *f, const tw_episode *e, const cv_rows *r,
                     double fps, char *msg, size_t msgsz)
{
    int si = tw_episode_find_stream(e, f->stream);
    tw_video_index_entry *ix = NULL;
    size_t nf = 0;
    char path[CV_PATH], nname[310];
    int rc = tw_episode_read_video_index(e, (size_t)si, &ix, &nf, path, sizeof path, msg, msgsz);
    tw_vdecode *d = NULL;
    if (!rc)
        rc = tw_vdecode_open(path, TW_PIX_RGB24, &d, msg, msgsz);
    hsize_t H = f->shape[0], W = f->shape[1], dims[4] = {r->rows, H, W, 3}, chunk[4] = {1, H, W, 3};
    hid_t ds[2] = {-1, -1}, sp = H5Screate_simple(4, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_chunk(dcpl, 4, chunk);
    snprintf(nname, sizeof nname, "next_%s", name);
    for (int k = 0; k < 2 && !rc; k++)
        if ((ds[k] = H5Dcreate2(g, k ? nname : name, H5T_NATIVE_UINT8, sp, lcpl, dcpl, H5P_DEFAULT)) < 0)
            rc = tw_errf(msg, msgsz, TW_EHDF5, "%s: cannot create %s", path, k ? nname : name);
    uint8_t *frame = calloc(H * W * 3, 1);
    tw_vframe fr;
    size_t fi = 0;
    int have = 0;
    for (size_t row = 0; !rc && row < r->rows; row++) {
        int64_t t = r->t0_ns + llround((double)row * 1e9 / fps + 0.25e9 / fps);
        while (fi < nf && (!have || ix[fi].t_src_ns <= t) && tw_vdecode_next(d, &fr, msg, msgsz) == 0) {
            size_t rowb = (size_t)(fr.width < (int)W ? fr.width : (int)W) * 3;
            for (int y = 0; y < fr.height && y < (int)H; y++)
                memcpy(frame + (size_t)y * W * 3, fr.data + (size_t)y * fr.stride, rowb);
            fi++, have = 1;
        }
        for (int k = 0; k < 2 && !rc; k++) { /* next_obs row - 1 is this frame */
            if (k == 1 && row == 0)
                continue;
            hsize_t st[4] = {k ? row - 1 : row, 0, 0, 0}, cnt[4] = {1, H, W, 3};
            hid_t fs = H5Dget_space(ds[k]), ms = H5Screate_simple(4, cnt, NULL);
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL);
            if (H5Dwrite(ds[k], H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, frame) < 0)
                rc = tw_errf(msg, msgsz, TW_EHDF5, "write %s row %zu", name, row);
            H5Sclose(fs), H5Sclose(ms);
        }
        if (!rc && row + 1 == r->rows) { /* the last next_obs repeats the last frame */
            hsize_t st[4] = {row, 0, 0, 0}, cnt[4] = {1, H, W, 3};
            hid_t fs = H5Dget_space(ds[1]), ms = H5Screate_simple(4, cnt, NULL);
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL);
            rc = H5Dwrite(ds[1], H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, frame) < 0 ? TW_EHDF5 : 0;
            H5Sclose(fs), H5Sclose(ms);
        }
    }
    for (int k = 0; k < 2; k++)
        if (ds[k] >= 0)
            H5Dclose(ds[k]);
    H5Sclose(sp), H5Pclose(dcpl), H5Pclose(lcpl);
    tw_vdecode_close(d);
    free(frame), free(ix);
    return rc;
}

static void add_mask(rx_ctx *c, const char *mask, const char *demo)
{
    json_t *a = json_object_get(c->masks, mask);
    if (!a)
        json_object_set_new(c->masks, mask, a = json_array());
    json_array_append_new(a, json_string(demo));
}

static int export_demo(rx_ctx *c, const cv_src_episode *s, size_t i, char *msg, size_t msgsz)
{
    tw_episode *e = NULL;
    cv_plan p = {0};
    cv_rows r = {0};
    int rc = tw_episode_open(s->dir, &e, msg, msgsz);
    if (!rc)
        rc = cv_plan_make(&p, e, c->fps, msg, msgsz);
    if (!rc)
        rc = cv_rows_read(&p, e, &r, msg, msgsz);
    json_t *src = e ? cv_source(e, "robomimic") : NULL, *rm_streams = json_object_get(src, "streams");
    char demo[32];
    snprintf(demo, sizeof demo, "demo_%zu", i);
    tw_h5_lock();
    hid_t g = rc ? -1 : H5Gcreate2(c->data, demo, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int has_rewards = 0, has_dones = 0;
    for (size_t k = 0; !rc && k < p.nf; k++) {
        char name[300], nname[310];
        rm_name(&p.f[k], e, rm_streams, name, sizeof name);
        if (!name[0] || (!p.f[k].video && isnan(r.x[k][0])))
            continue; /* a joint_state row with no data (NaN velocity or effort) */
        has_rewards |= !strcmp(name, "rewards"), has_dones |= !strcmp(name, "dones");
        if (p.f[k].video) {
            rc = put_video(g, name, &p.f[k], e, &r, p.fps, msg, msgsz);
            continue;
        }
        rc = put_table(g, name, &p.f[k], r.x[k], r.rows, 0);
        if (!rc && !strncmp(name, "obs/", 4)) {
            snprintf(nname, sizeof nname, "next_%s", name);
            rc = put_table(g, nname, &p.f[k], r.x[k], r.rows, 1);
        }
        if (rc)
            tw_errf(msg, msgsz, rc, "%s: cannot write data/%s/%s", c->tmp, demo, name);
    }
    for (int k = 0; !rc && k < 2; k++) { /* robomimic expects both: zeros, and done at the last step */
        if (k ? has_dones : has_rewards)
            continue;
        cv_feature f = {.dtype = "float64", .elems = 1};
        if (k)
            snprintf(f.dtype, sizeof f.dtype, "int64");
        double *x = calloc(r.rows + 1, sizeof *x);
        if (k)
            x[r.rows - 1] = 1;
        rc = put_table(g, k ? "dones" : "rewards", &f, x, r.rows, 0);
        free(x);
    }
    if (!rc) {
        int64_t ns = (int64_t)r.rows;
        tw_h5_attr_num(g, "num_samples", H5T_NATIVE_INT64, &ns);
        c->total += ns;
        json_t *masks = json_object_get(src, "masks");
        if (s->split[0])
            add_mask(c, !strcmp(s->split, "val") ? "valid" : s->split, demo);
        else if (json_array_size(masks))
            for (size_t k = 0; k < json_array_size(masks); k++)
                add_mask(c, json_string_value(json_array_get(masks, k)), demo);
        else
            add_mask(c, "train", demo);
        if (!c->env_args && json_object_get(src, "env_args"))
            c->env_args = json_incref(json_object_get(src, "env_args"));
        if (!c->env_args)
            c->env_args = json_pack("{s:s,s:i,s:{s:f}}", "env_name",
                                    tw_episode_get_meta(e)->task[0] ? tw_episode_get_meta(e)->task : "teleworld",
                                    "type", 1, "env_kwargs", "control_freq", p.fps);
    }
    if (g >= 0)
        H5Gclose(g);
    tw_h5_unlock();
    json_decref(src);
    cv_rows_free(&r);
    cv_plan_free(&p);
    tw_episode_close_reader(e);
    return rc;
}

static int write_masks(rx_ctx *c)
{
    hid_t mg = H5Gcreate2(c->f, "mask", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!json_object_get(c->masks, "valid"))
        json_object_set_new(c->masks, "valid", json_array());
    const char *k;
    json_t *a;
    int rc = 0;
    json_object_foreach(c->masks, k, a)
    {
        size_t n = json_array_size(a);
        hid_t t = H5Tcopy(H5T_C_S1); /* fixed-length byte strings, as h5py writes np.array(..., dtype="S") */
        H5Tset_size(t, 16);
        char *buf = calloc(n + 1, 16);
        for (size_t i = 0; i < n; i++)
            strncpy(buf + 16 * i, json_string_value(json_array_get(a, i)), 15);
        hsize_t dims[1] = {n};
        hid_t sp = H5Screate_simple(1, dims, NULL), ds = H5Dcreate2(mg, k, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0 || (n && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0))
            rc = TW_EHDF5;
        if (ds >= 0)
            H5Dclose(ds);
        H5Sclose(sp), H5Tclose(t);
        free(buf);
    }
    H5Gclose(mg);
    return rc;
}

int tw_export_robomimic(int argc, char **argv)
{
    static const struct option opts[] = {{"out", 1, 0, 'o'}, {"fps", 1, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    rx_ctx c = {.f = -1, .data = -1};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "o:f:h", opts, NULL)) != -1) {
        if (o == 'o')
            c.out = optarg;
        else if (o == 'f')
            c.fps = atof(optarg);
        else
            return usage(o == 'h' ? stdout : stderr), o == 'h' ? 0 : 2;
    }
    if (optind + 1 != argc || !c.out)
        return usage(stderr), 2;
    tw_media_use_for_episodes();
    cv_quiet_ffmpeg();
    char msg[2048];
    cv_src_episode *src = NULL;
    size_t n = 0;
    struct stat st;
    int rc = stat(c.out, &st) == 0 ? tw_errf(msg, sizeof msg, TW_EINVAL, "%s already exists", c.out) : 0;
    if (!rc)
        rc = cv_src_list(argv[optind], &src, &n, msg, sizeof msg);
    snprintf(c.tmp, sizeof c.tmp, "%s.tmp", c.out);
    c.masks = json_object();
    tw_h5_lock();
    tw_h5_quiet();
    if (!rc && (c.f = H5Fcreate(c.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        rc = tw_errf(msg, sizeof msg, TW_EHDF5, "cannot create %s", c.tmp);
    if (!rc)
        c.data = H5Gcreate2(c.f, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    tw_h5_unlock();
    for (size_t i = 0; !rc && i < n; i++)
        rc = export_demo(&c, &src[i], i, msg, sizeof msg);
    tw_h5_lock();
    if (!rc) {
        char *env = json_dumps(c.env_args, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        tw_h5_attr_num(c.data, "total", H5T_NATIVE_INT64, &c.total);
        tw_h5_attr_str(c.data, "env_args", env ? env : "{}");
        free(env);
        rc = write_masks(&c) ? tw_errf(msg, sizeof msg, TW_EHDF5, "%s: cannot write mask/", c.tmp) : 0;
    }
    if (c.data >= 0)
        H5Gclose(c.data);
    if (c.f >= 0 && H5Fclose(c.f) < 0 && !rc)
        rc = tw_errf(msg, sizeof msg, TW_EHDF5, "%s: close failed", c.tmp);
    tw_h5_unlock();
    if (!rc && tw_fsync_path(c.tmp) != 0)
        rc = tw_errf(msg, sizeof msg, TW_EIO, "fsync %s", c.tmp);
    if (!rc)
        rc = cv_commit(c.tmp, c.out, msg, sizeof msg);
    if (rc) {
        remove(c.tmp);
        fprintf(stderr, "tw export robomimic: %s\n", msg);
    } else {
        fprintf(stderr, "tw export robomimic: %zu demos, %lld samples -> %s\n", n, (long long)c.total, c.out);
    }
    json_decref(c.masks), json_decref(c.env_args);
    free(src);
    return rc ? 1 : 0;
}
