/* Small HDF5 helpers shared by the episode builder and reader. */
#include "tw_h5.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Serial HDF5 is not thread-safe: every episode entry point that touches it holds this
 * (recursive: verify calls read). */
static pthread_mutex_t h5_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
/* No HDF5 clean-up at exit: every file we write is closed explicitly in order (episode close), and
 * a file whose close failed on a full disk is left in a state that crashed H5_term_library at
 * exit (SEGV in H5F__close_cb), turning a reported NOSPACE into a crash of `tw record`. Must run
 * before any other HDF5 call, hence a constructor. */
__attribute__((constructor)) static void tw_h5_no_atexit(void) { H5dont_atexit(); }

void tw_h5_lock(void) { pthread_mutex_lock(&h5_mu); }
void tw_h5_unlock(void) { pthread_mutex_unlock(&h5_mu); }

void tw_h5_quiet(void)
{
    if (!getenv("TW_H5_DEBUG"))
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

hid_t tw_h5_vlstr(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int tw_h5col_create(tw_h5col *c, hid_t loc, const char *name, hid_t ftype, hid_t memtype, int rank,
                    const hsize_t *tail, hsize_t chunk, int deflate)
{
    memset(c, 0, sizeof *c);
    c->ds = H5I_INVALID_HID;
    c->memtype = H5Tcopy(memtype); /* owned: the caller may close a transient type */
    c->rank = rank;
    hsize_t dims[TW_MAX_DIMS + 1] = {0}, maxd[TW_MAX_DIMS + 1] = {H5S_UNLIMITED}, ch[TW_MAX_DIMS + 1] = {chunk};
    for (int i = 0; i < rank; i++) {
        c->tail[i] = dims[i + 1] = maxd[i + 1] = ch[i + 1] = tail[i];
    }
    hid_t sp = H5Screate_simple(rank + 1, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0); /* no timestamps: same data, same bytes (simgen determinism) */
    H5Pset_chunk(dcpl, rank + 1, ch);
    if (deflate > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)(deflate > 9 ? 9 : deflate));
    }
    /* room for two chunks: a batch that straddles a chunk boundary is filtered once. No more: a
     * closing episode has every column's cache at once, so this is what bounds a build's memory
     * (64 streams with a 1 MiB floor per column took 150 MiB more than the recording did) */
    size_t chunk_bytes = H5Tget_size(ftype) * chunk;
    for (int i = 0; i < rank; i++)
        chunk_bytes *= tail[i];
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 521, chunk_bytes * 2, 1.0);
    c->ds = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, dapl);
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return c->ds < 0 ? -1 : 0;
}

int tw_h5col_append(tw_h5col *c, uint64_t n, const void *buf)
{
    if (n == 0)
        return 0;
    hsize_t dims[TW_MAX_DIMS + 1] = {c->n + n}, start[TW_MAX_DIMS + 1] = {c->n}, cnt[TW_MAX_DIMS + 1] = {n};
    for (int i = 0; i < c->rank; i++)
        dims[i + 1] = cnt[i + 1] = c->tail[i];
    if (H5Dset_extent(c->ds, dims) < 0)
        return -1;
    hid_t fs = H5Dget_space(c->ds);
    hid_t ms = H5Screate_simple(c->rank + 1, cnt, NULL);
    herr_t r = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
    if (r >= 0)
        r = H5Dwrite(c->ds, c->memtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (r < 0)
        return -1;
    c->n += n;
    return 0;
}

void tw_h5col_close(tw_h5col *c)
{
    if (c->ds > 0)
        H5Dclose(c->ds);
    if (c->memtype > 0)
        H5Tclose(c->memtype);
    c->ds = c->memtype = H5I_INVALID_HID;
}

hid_t tw_h5_group(hid_t loc, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

int tw_h5_attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = tw_h5_vlstr(), sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    const char *p = v ? v : "";
    herr_t r = a < 0 ? -1 : H5Awrite(a, t, &p);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return r < 0 ? -1 : 0;
}

int tw_h5_attr_fixstr(hid_t loc, const char *name, const char *v)
{
    const char *p = v ? v : "";
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(p) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, t, p);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return r < 0 ? -1 : 0;
}

int tw_h5_attr_num(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return r < 0 ? -1 : 0;
}

int tw_h5_attr_i64(hid_t loc, const char *name, int64_t v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT64, &v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return r < 0 ? -1 : 0;
}

char *tw_h5_get_str_alloc(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return NULL;
    hid_t ft = H5Aget_type(a);
    char *out = NULL;
    if (H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            hid_t mt = tw_h5_vlstr();
            char *p = NULL;
            if (H5Aread(a, mt, &p) >= 0 && p) {
                out = strdup(p);
                H5free_memory(p);
            }
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(ft);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, n + 1);
            out = calloc(1, n + 1);
            if (out && H5Aread(a, mt, out) < 0) {
                free(out);
                out = NULL;
            }
            H5Tclose(mt);
        }
    }
    H5Tclose(ft);
    H5Aclose(a);
    return out;
}

int tw_h5_get_str(hid_t loc, const char *name, char *buf, size_t bufsz)
{
    char *s = tw_h5_get_str_alloc(loc, name);
    if (!s)
        return -1;
    snprintf(buf, bufsz, "%s", s);
    free(s);
    return 0;
}

int tw_h5_get_i64(hid_t loc, const char *name, int64_t *v)
{
    if (H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Aread(a, H5T_NATIVE_INT64, v);
    if (a >= 0)
        H5Aclose(a);
    return r < 0 ? -1 : 0;
}

int tw_h5_shape(hid_t loc, const char *name, hsize_t *dims, int maxrank)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t sp = H5Dget_space(ds);
    int r = H5Sget_simple_extent_ndims(sp);
    if (r < 1 || r > maxrank || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        r = -1;
    H5Sclose(sp);
    H5Dclose(ds);
    return r;
}

int64_t tw_h5_len(hid_t loc, const char *name)
{
    hsize_t dims[8] = {0};
    return tw_h5_shape(loc, name, dims, 8) < 0 ? -1 : (int64_t)dims[0];
}

static int read_hyperslab(hid_t ds, hid_t memtype, uint64_t start, uint64_t count, void *buf)
{
    hid_t fs = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[8] = {0}, st[8] = {start}, cnt[8] = {count};
    herr_t r = -1;
    if (rank >= 1 && rank <= 8 && H5Sget_simple_extent_dims(fs, dims, NULL) >= 0 && start + count <= dims[0]) {
        for (int i = 1; i < rank; i++)
            cnt[i] = dims[i];
        hid_t ms = H5Screate_simple(rank, cnt, NULL);
        r = H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL);
        if (r >= 0)
            r = H5Dread(ds, memtype, ms, fs, H5P_DEFAULT, buf);
        H5Sclose(ms);
    }
    H5Sclose(fs);
    return r < 0 ? -1 : 0;
}

int tw_h5_read_ds(hid_t ds, hid_t memtype, uint64_t start, uint64_t count, void *buf)
{
    if (count == 0)
        return 0;
    if (ds < 0)
        return -1;
    tw_h5_lock();
    int r = tw_h5chunk_read(ds, memtype, start, count, buf) == 0 ? 0 : read_hyperslab(ds, memtype, start, count, buf);
    tw_h5_unlock();
    return r;
}

int tw_h5_read_rows(hid_t loc, const char *name, hid_t memtype, uint64_t start, uint64_t count, void *buf)
{
    if (count == 0)
        return 0;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    int r = tw_h5_read_ds(ds, memtype, start, count, buf);
    tw_h5_forget(ds);
    H5Dclose(ds);
    return r;
}
