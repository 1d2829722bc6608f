/* HDF5 pieces of the robomimic converters (all under tw_h5_lock): a dataset's shape and the teleworld dtype its
 * values are kept as, and bounded row reads. */
#ifndef TW_CONVERT_H5_H
#define TW_CONVERT_H5_H

#include <hdf5.h>

#include "tw_convert_episodes.h"
#include "tw_h5.h"

typedef struct {
    hid_t ds;
    int rank;
    hsize_t dims[TW_MAX_DIMS + 1];
    tw_dtype dtype;   /* what the values are stored as in the episode */
    hid_t memtype;    /* matching native type (not owned) */
    size_t row_elems; /* product of dims[1..] */
} cv_h5ds;

/* Opens loc/name; refuses ranks above TW_MAX_DIMS + 1 and types that are not numbers. path names the file in
 * messages. */
int cv_h5ds_open(cv_h5ds *d, hid_t loc, const char *name, const char *path, char *msg, size_t msgsz);
int cv_h5ds_read(cv_h5ds *d, uint64_t row0, uint64_t nrows, void *buf, const char *what, char *msg, size_t msgsz);
void cv_h5ds_close(cv_h5ds *d);

#endif
