/* Shard files (schemas/fused.md): contiguous, uncompressed datasets with no object times and fixed
 * library-version bounds, so the same rows always give the same bytes. Written under a temporary
 * name, fsync'd, then renamed: a reader never sees a half shard under its final name.
 *
 * The write is split in two so that a writer can overlap the disk with its next shard's work: begin writes
 * the temporary file and starts its writeback (sync_file_range, which waits for nothing); commit, called
 * later, fsyncs it (by then mostly on disk) and renames it. Durability is the same as fsync-then-rename. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_fuse_int.h"
#include "tw_h5.h"

void tw_shard_name(uint32_t index, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "shard-%05u.h5", index);
}

int tw_shard_buf_init(tw_shard_buf *b, uint32_t cap, uint32_t window, uint32_t S, uint32_t A)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->window = window;
    b->state_dim = S;
    b->action_dim = A;
    size_t c = cap ? cap : 1;
    b->state = malloc(c * S * sizeof(float) + 1);
    b->action = malloc(c * window * A * sizeof(float) + 1);
    b->next_state = malloc(c * window * S * sizeof(float) + 1);
    b->domain = malloc(c);
    b->split = malloc(c);
    b->episode = malloc(c * sizeof(uint32_t));
    b->t = malloc(c * sizeof(uint32_t));
    b->weight = malloc(c * sizeof(float));
    if (!b->state || !b->action || !b->next_state || !b->domain || !b->split || !b->episode || !b->t ||
        !b->weight) {
        tw_shard_buf_free(b);
        return TW_ENOMEM;
    }
    return 0;
}

void tw_shard_buf_free(tw_shard_buf *b)
{
    if (!b)
        return;
    free(b->state);
    free(b->action);
    free(b->next_state);
    free(b->domain);
    free(b->split);
    free(b->episode);
    free(b->t);
    free(b->weight);
    memset(b, 0, sizeof *b);
}

static int put_dset(hid_t file, hid_t dcpl, const char *name, hid_t ftype, hid_t mtype, int rank,
                    const hsize_t *dims, const void *data)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(file, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t e = -1;
    if (d >= 0) {
        e = dims[0] ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
        H5Dclose(d);
    }
    H5Sclose(sp);
    return e < 0 ? -1 : 0;
}

static int write_contents(hid_t file, uint32_t index, const char *split, const tw_shard_buf *b)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hsize_t n = b->n, H = b->window, S = b->state_dim, A = b->action_dim;
    hsize_t d_s[2] = {n, S}, d_a2[2] = {n, A}, d_a3[3] = {n, H, A}, d_n3[3] = {n, H, S}, d1[1] = {n};
    int win = b->window > 1;
    int e = 0;
    e |= tw_h5_attr_fixstr(file, "format", "teleworld.fused.shard");
    e |= tw_h5_attr_fixstr(file, "version", TW_FUSED_VERSION);
    e |= tw_h5_attr_i64(file, "index", index);
    e |= tw_h5_attr_fixstr(file, "split", split);
    e |= tw_h5_attr_i64(file, "window", b->window);
    e |= tw_h5_attr_i64(file, "state_dim", b->state_dim);
    e |= tw_h5_attr_i64(file, "action_dim", b->action_dim);
    e |= tw_h5_attr_i64(file, "samples", b->n);
    e |= put_dset(file, dcpl, "state", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, d_s, b->state);
    e |= put_dset(file, dcpl, "action", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, win ? 3 : 2, win ? d_a3 : d_a2,
                  b->action);
    e |= put_dset(file, dcpl, "next_state", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, win ? 3 : 2, win ? d_n3 : d_s,
                  b->next_state);
    e |= put_dset(file, dcpl, "domain", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d1, b->domain);
    e |= put_dset(file, dcpl, "episode", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, d1, b->episode);
    e |= put_dset(file, dcpl, "t", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, d1, b->t);
    e |= put_dset(file, dcpl, "split", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d1, b->split);
    e |= put_dset(file, dcpl, "weight", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, d1, b->weight);
    H5Pclose(dcpl);
    return e;
}

static void shard_paths(const char *dir, uint32_t index, char *tmp, char *fin, size_t sz)
{
    char name[32];
    tw_shard_name(index, name, sizeof name);
    snprintf(tmp, sz, "%s/.%s.tmp", dir, name);
    snprintf(fin, sz, "%s/%s", dir, name);
}

static int write_begin_locked(const char *dir, uint32_t index, const char *split, const tw_shard_buf *b, char *msg,
                         size_t msgsz)
{
    char tmp[4096], fin[4096];
    shard_paths(dir, index, tmp, fin, sizeof tmp);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
    hid_t f = -1;
    H5E_BEGIN_TRY { f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl); } H5E_END_TRY;
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0)
        return tw_errf(msg, msgsz, TW_EHDF5, "shard: cannot create %s", tmp);
    int e;
    H5E_BEGIN_TRY { e = write_contents(f, index, split, b); } H5E_END_TRY;
    if (H5Fclose(f) < 0 || e) {
        unlink(tmp);
        return tw_errf(msg, msgsz, TW_EHDF5, "shard: writing %s failed (disk full?)", tmp);
    }
    int fd = open(tmp, O_RDONLY);
    if (fd >= 0) { /* a hint: errors show at the fsync in commit */
        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        close(fd);
    }
    return 0;
}

/* Serial HDF5 is not thread-safe: every HDF5 call of the process goes under the one lock (bridge/h5). */
int tw_shard_write_begin(const char *dir, uint32_t index, const char *split, const tw_shard_buf *b, char *msg,
                         size_t msgsz)
{
    tw_h5_lock();
    int rc = write_begin_locked(dir, index, split, b, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

int tw_shard_commit(const char *dir, uint32_t index, uint64_t *bytes, char *msg, size_t msgsz)
{
    char tmp[4096], fin[4096];
    shard_paths(dir, index, tmp, fin, sizeof tmp);
    int rc = 0;
    if (tw_fsync_path(tmp) < 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "shard: fsync %s: %s", tmp, strerror(errno));
    else if (rename(tmp, fin) < 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "shard: rename to %s: %s", fin, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    if (bytes) {
        FILE *fp = fopen(fin, "rb");
        if (fp) {
            fseek(fp, 0, SEEK_END);
            *bytes = (uint64_t)ftell(fp);
            fclose(fp);
        }
    }
    return 0;
}

int tw_shard_write(const char *dir, uint32_t index, const char *split, const tw_shard_buf *b,
                   uint64_t *bytes, char *msg, size_t msgsz)
{
    int rc = tw_shard_write_begin(dir, index, split, b, msg, msgsz);
    return rc ? rc : tw_shard_commit(dir, index, bytes, msg, msgsz);
}

int tw_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, char *msg,
                         size_t msgsz)
{
    char tmp[4096], fin[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(fin, sizeof fin, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return tw_errf(msg, msgsz, TW_EIO, "create %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            unlink(tmp);
            return tw_errf(msg, msgsz, err == ENOSPC ? TW_ENOSPACE : TW_EIO, "write %s: %s", tmp,
                           strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, fin) < 0) {
        int err = errno;
        unlink(tmp);
        return tw_errf(msg, msgsz, TW_EIO, "finish %s: %s", fin, strerror(err));
    }
    return 0;
}
