/* HDF5 dataset access for the robomimic converters: see tw_convert_h5.h. */
#include "tw_convert_h5.h"

#include <string.h>

/* The episode dtype a stored HDF5 number type is kept as: the same when the episode format has it, else the
 * smallest wider one (bool/int8 -> int32 keeps the sign, uint16/uint32 -> int64, float16 -> float32). */
static int pick_dtype(hid_t t, tw_dtype *dt, hid_t *mem)
{
    H5T_class_t c = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    if (c == H5T_FLOAT) {
        *dt = sz > 4 ? TW_DTYPE_FLOAT64 : TW_DTYPE_FLOAT32;
        *mem = sz > 4 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
        return 0;
    }
    if (c == H5T_ENUM) { /* h5py's bool */
        *dt = TW_DTYPE_UINT8, *mem = H5T_NATIVE_UINT8;
        return 0;
    }
    if (c != H5T_INTEGER)
        return -1;
    int sign = H5Tget_sign(t) == H5T_SGN_2;
    if (sz == 1 && !sign)
        *dt = TW_DTYPE_UINT8, *mem = H5T_NATIVE_UINT8;
    else if (sz <= 2 || (sz == 4 && sign))
        *dt = TW_DTYPE_INT32, *mem = H5T_NATIVE_INT32;
    else
        *dt = TW_DTYPE_INT64, *mem = H5T_NATIVE_INT64;
    return 0;
}

int cv_h5ds_open(cv_h5ds *d, hid_t loc, const char *name, const char *path, char *msg, size_t msgsz)
{
    memset(d, 0, sizeof *d);
    d->ds = -1;
    tw_h5_lock();
    int rc = 0;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) {
        tw_h5_unlock();
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: dataset '%s' cannot be opened", path, name);
    }
    hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank < 1 || rank > TW_MAX_DIMS + 1)
        rc = tw_errf(msg, msgsz, TW_ESHAPE, "%s: dataset '%s' has rank %d (1..%d supported)", path, name, rank,
                     TW_MAX_DIMS + 1);
    else if (pick_dtype(t, &d->dtype, &d->memtype) != 0)
        rc = tw_errf(msg, msgsz, TW_EDTYPE, "%s: dataset '%s' is not numeric", path, name);
    if (!rc) {
        H5Sget_simple_extent_dims(sp, d->dims, NULL);
        d->rank = rank;
        d->row_elems = 1;
        for (int i = 1; i < rank; i++)
            d->row_elems *= (size_t)d->dims[i];
        d->ds = ds;
    } else {
        H5Dclose(ds);
    }
    H5Tclose(t), H5Sclose(sp);
    tw_h5_unlock();
    return rc;
}

int cv_h5ds_read(cv_h5ds *d, uint64_t row0, uint64_t nrows, void *buf, const char *what, char *msg, size_t msgsz)
{
    if (!nrows)
        return 0;
    tw_h5_lock();
    hid_t fs = H5Dget_space(d->ds);
    hsize_t start[TW_MAX_DIMS + 1] = {row0}, count[TW_MAX_DIMS + 1] = {nrows};
    for (int i = 1; i < d->rank; i++)
        count[i] = d->dims[i];
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(d->rank, count, NULL);
    if (e >= 0)
        e = H5Dread(d->ds, d->memtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms), H5Sclose(fs);
    tw_h5_unlock();
    if (e < 0)
        return tw_errf(msg, msgsz, TW_EHDF5, "%s: rows %llu..%llu cannot be read (corrupt chunk?)", what,
                       (unsigned long long)row0, (unsigned long long)(row0 + nrows));
    return 0;
}

void cv_h5ds_close(cv_h5ds *d)
{
    if (d->ds >= 0) {
        tw_h5_lock();
        H5Dclose(d->ds);
        tw_h5_unlock();
    }
    d->ds = -1;
}
