/* aligned.h5 writer (layout: schemas/aligned.md). Datasets grow block by block; the file is
 * written under a temporary name and renamed when complete, so a crash never leaves a file
 * that looks finished. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_h5.h"
#include "tw_recon_int.h"

enum { D_T, D_QPOS, D_QVEL, D_QACC, D_EFF, D_TAU, D_RES, D_W, D_WM, D_WR, D_EE, D_CTRL, D_CON, D_VID, D_Q, D_EV, D__N };

static const char *const dname[D__N] = {"t_ns", "qpos", "qvel", "qacc", "effort", "tau_inverse",
                                       "torque_residual", "wrench", "wrench_model", "wrench_residual",
                                       "ee_pose", "ctrl", "contacts", "video_frame", "quality", "event"};

struct tw_aligned_h5 {
    hid_t file;
    hid_t ds[D__N];
    hsize_t cols[D__N];
    uint64_t rows;
    char path[4096], tmp[4200];
};

static int h5fail(char *msg, size_t msgsz, const char *what, const char *path)
{
    return tw_errf(msg, msgsz, TW_EHDF5, "aligned.h5: %s (%s)", what, path);
}

static hid_t make_ds(hid_t file, const char *name, hid_t type, hsize_t cols)
{
    int rank = cols ? 2 : 1;
    hsize_t dims[2] = {0, cols}, maxd[2] = {H5S_UNLIMITED, cols}, chunk[2] = {1024, cols ? cols : 1};
    hid_t sp = H5Screate_simple(rank, dims, maxd);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, rank, chunk);
    /* rows are appended in order: a cache of two chunks is all a writer needs (HDF5's default,
     * 1 MiB per dataset, would only grow the footprint with the episode up to that cap) */
    hid_t ap = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(ap, 11, 2 * chunk[0] * chunk[1] * H5Tget_size(type), 1.0);
    hid_t ds = H5Dcreate2(file, name, type, sp, H5P_DEFAULT, pl, ap);
    H5Pclose(ap);
    H5Pclose(pl);
    H5Sclose(sp);
    return ds;
}

static int create_locked(const char *path, const tw_replay_summary *s, const tw_recon_rows *shape,
                         tw_aligned_h5 **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_aligned_h5 *h = calloc(1, sizeof *h);
    if (!h)
        return tw_errf(msg, msgsz, TW_ENOMEM, "aligned.h5");
    snprintf(h->path, sizeof h->path, "%s", path);
    snprintf(h->tmp, sizeof h->tmp, "%s.partial", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors come back as codes, not prints */
    h->file = H5Fcreate(h->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (h->file < 0) {
        free(h);
        return h5fail(msg, msgsz, "cannot create", path);
    }
    hsize_t nj = (hsize_t)shape->nj;
    hsize_t cols[D__N] = {0, nj, nj, nj, nj, nj, nj, 6, 6, 6, 7, (hsize_t)shape->nu, 0,
                          (hsize_t)shape->ncam, 0, 0};
    hid_t types[D__N] = {H5T_NATIVE_INT64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, H5T_NATIVE_INT32,
                         H5T_NATIVE_INT64, H5T_NATIVE_UINT8, H5T_NATIVE_INT64};
    for (int k = 0; k < D__N; k++) {
        h->ds[k] = -1;
        h->cols[k] = cols[k];
        int skip = ((k == D_W || k == D_WR) && !s->have_wrench) || (k == D_CTRL && !shape->nu) ||
                   (k == D_VID && !shape->ncam) || (k == D_EV && !shape->have_event);
        if (skip)
            continue;
        h->ds[k] = make_ds(h->file, dname[k], types[k] ? types[k] : H5T_NATIVE_DOUBLE, cols[k]);
        if (h->ds[k] < 0) {
            tw_aligned_h5_close(h, NULL, NULL, 0);
            return h5fail(msg, msgsz, "cannot create dataset", dname[k]);
        }
    }
    int major = TW_REPLAY_MAJOR, minor = TW_REPLAY_MINOR;
    tw_h5_attr_fixstr(h->file, "format", TW_REPLAY_FORMAT);
    tw_h5_attr_num(h->file, "format_major", H5T_NATIVE_INT, &major);
    tw_h5_attr_num(h->file, "format_minor", H5T_NATIVE_INT, &minor);
    *out = h;
    return 0;
}

int tw_aligned_h5_create(const char *path, const tw_replay_summary *s, const tw_recon_rows *shape,
                         tw_aligned_h5 **out, char *msg, size_t msgsz)
{
    tw_h5_lock(); /* serial HDF5: the one process-wide lock (bridge/h5) */
    int rc = create_locked(path, s, shape, out, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

static int append(tw_aligned_h5 *h, int k, const void *buf, uint32_t n, hid_t mtype)
{
    if (h->ds[k] < 0 || n == 0)
        return 0;
    int rank = h->cols[k] ? 2 : 1;
    hsize_t newd[2] = {h->rows + n, h->cols[k]};
    if (H5Dset_extent(h->ds[k], newd) < 0)
        return -1;
    hid_t fs = H5Dget_space(h->ds[k]);
    hsize_t start[2] = {h->rows, 0}, cnt[2] = {n, h->cols[k]};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    herr_t rc = H5Dwrite(h->ds[k], mtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

static int append_locked(tw_aligned_h5 *h, const tw_recon_rows *rw, char *msg, size_t msgsz)
{
    const void *bufs[D__N] = {rw->t_ns, rw->qpos, rw->qvel, rw->qacc, rw->effort, rw->tau, rw->res,
                              rw->wrench, rw->wrench_model, rw->wrench_res, rw->ee, rw->ctrl,
                              rw->ncon, rw->frame, rw->q, rw->event};
    for (int k = 0; k < D__N; k++) {
        hid_t mt = k == D_T || k == D_VID || k == D_EV ? H5T_NATIVE_INT64
                   : k == D_CON           ? H5T_NATIVE_INT32
                   : k == D_Q             ? H5T_NATIVE_UINT8
                                          : H5T_NATIVE_DOUBLE;
        if (append(h, k, bufs[k], rw->n, mt) < 0)
            return h5fail(msg, msgsz, "write failed", dname[k]);
    }
    h->rows += rw->n;
    return 0;
}

int tw_aligned_h5_append(tw_aligned_h5 *h, const tw_recon_rows *rw, char *msg, size_t msgsz)
{
    tw_h5_lock(); /* serial HDF5: the one process-wide lock (bridge/h5) */
    int rc = append_locked(h, rw, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

static int write_1d(hid_t g, const char *name, hid_t type, hsize_t n, const void *buf)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(g, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = ds < 0 || (n && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) ? -1 : 0;
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    return rc;
}

static int events_locked(tw_aligned_h5 *h, size_t n, const uint64_t *seq, const int64_t *t_ns,
                         const char *const *text, char *msg, size_t msgsz)
{
    hid_t g = H5Gcreate2(h->file, "events", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return h5fail(msg, msgsz, "cannot create group", "events");
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    int rc = write_1d(g, "seq", H5T_NATIVE_UINT64, n, seq) | write_1d(g, "t_ns", H5T_NATIVE_INT64, n, t_ns) |
             write_1d(g, "text", st, n, text);
    H5Tclose(st);
    H5Gclose(g);
    return rc ? h5fail(msg, msgsz, "cannot write", "events") : 0;
}

int tw_aligned_h5_events(tw_aligned_h5 *h, size_t n, const uint64_t *seq, const int64_t *t_ns,
                         const char *const *text, char *msg, size_t msgsz)
{
    tw_h5_lock(); /* serial HDF5: the one process-wide lock (bridge/h5) */
    int rc = events_locked(h, n, seq, t_ns, text, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

static int close_locked(tw_aligned_h5 *h, const tw_replay_summary *s, char *msg, size_t msgsz)
{
    if (!h)
        return 0;
    int rc = 0;
    if (s) {
        char *js = tw_replay_summary_json(s);
        char joints[TW_ROBOT_MAX_JOINTS * (TW_MAX_NAME + 1) + 1] = "";
        for (int j = 0; j < s->nj; j++) {
            strcat(joints, j ? "," : "");
            strcat(joints, s->joints[j]);
        }
        double rate = s->align.rate_hz;
        int64_t t0 = s->align.t0_ns;
        if (!js || tw_h5_attr_fixstr(h->file, "summary_json", js) < 0 || tw_h5_attr_fixstr(h->file, "joints", joints) < 0 ||
            tw_h5_attr_fixstr(h->file, "episode_id", s->episode_id) < 0 || tw_h5_attr_fixstr(h->file, "model", s->model) < 0 ||
            tw_h5_attr_num(h->file, "rate_hz", H5T_NATIVE_DOUBLE, &rate) < 0 ||
            tw_h5_attr_num(h->file, "t0_ns", H5T_NATIVE_INT64, &t0) < 0)
            rc = h5fail(msg, msgsz, "cannot write attributes", h->path);
        free(js);
    }
    for (int k = 0; k < D__N; k++)
        if (h->ds[k] >= 0)
            H5Dclose(h->ds[k]);
    if (H5Fclose(h->file) < 0 && rc == 0 && s)
        rc = h5fail(msg, msgsz, "close failed", h->path);
    if (s && rc == 0 && rename(h->tmp, h->path) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "rename %s -> %s failed", h->tmp, h->path);
    if (!s || rc < 0)
        remove(h->tmp);
    free(h);
    return rc;
}

int tw_aligned_h5_close(tw_aligned_h5 *h, const tw_replay_summary *s, char *msg, size_t msgsz)
{
    tw_h5_lock(); /* serial HDF5: the one process-wide lock (bridge/h5) */
    int rc = close_locked(h, s, msg, msgsz);
    tw_h5_unlock();
    return rc;
}
