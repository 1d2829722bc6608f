/* Small HDF5 helpers shared by the episode builder and reader (internal). */
#ifndef TW_H5UTIL_H
#define TW_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "tw_wire.h"

/* One process-wide recursive lock around every use of the (not thread-safe) HDF5 library. */
void tw_h5_lock(void);
void tw_h5_unlock(void);

/* Turns off HDF5's automatic error printing: libraries must not write to stderr. */
void tw_h5_quiet(void);

/* An extendible column: a dataset of shape [N, tail...] appended to along axis 0. */
typedef struct {
    hid_t ds, memtype;
    int rank;
    hsize_t tail[TW_MAX_DIMS];
    uint64_t n;
} tw_h5col;

/* Creates loc/name with file type ftype, chunk length chunk, deflate level (0: none) + shuffle. */
int tw_h5col_create(tw_h5col *c, hid_t loc, const char *name, hid_t ftype, hid_t memtype, int rank,
                    const hsize_t *tail, hsize_t chunk, int deflate);
int tw_h5col_append(tw_h5col *c, uint64_t n, const void *buf);
void tw_h5col_close(tw_h5col *c);
/* A variable-length UTF-8 string type (caller closes). */
hid_t tw_h5_vlstr(void);

/* Creates a group without modification times. */
hid_t tw_h5_group(hid_t loc, const char *name);
int tw_h5_attr_str(hid_t loc, const char *name, const char *v);
int tw_h5_attr_i64(hid_t loc, const char *name, int64_t v);
/* A fixed-length NUL-terminated string attribute (shards and aligned.h5 store their strings so). */
int tw_h5_attr_fixstr(hid_t loc, const char *name, const char *v);
/* A scalar attribute stored with the same type as in memory (e.g. H5T_NATIVE_DOUBLE). */
int tw_h5_attr_num(hid_t loc, const char *name, hid_t type, const void *v);
/* Reads a string attribute (fixed or variable length) into buf; 0 or -1 when absent/wrong. */
int tw_h5_get_str(hid_t loc, const char *name, char *buf, size_t bufsz);
/* Same, malloc'd (caller frees); NULL when absent. */
char *tw_h5_get_str_alloc(hid_t loc, const char *name);
int tw_h5_get_i64(hid_t loc, const char *name, int64_t *v);

/* Rank of dataset loc/name with its dims (maxrank at most); -1 when absent or of another rank. */
int tw_h5_shape(hid_t loc, const char *name, hsize_t *dims, int maxrank);
/* Length of the 1-D (or first axis of an N-D) dataset loc/name; -1 when absent. */
int64_t tw_h5_len(hid_t loc, const char *name);
/* Reads rows [start, start+count) of loc/name converted to memtype; count*row elems in buf. */
/* (Deflate-chunked datasets are read chunk by chunk, bypassing H5Dread, inflated chunks kept in a pool
 * inflated: call tw_h5_forget before closing a dataset read with tw_h5_read_ds.) */
int tw_h5_read_ds(hid_t ds, hid_t memtype, uint64_t start, uint64_t count, void *buf);
/* Drops what tw_h5_read_ds keeps for ds (its pooled chunks). */
void tw_h5_forget(hid_t ds);
/* Rows [start, start+count) of a plain deflate-chunked dataset by direct chunk reads (tw_h5chunk.c), called
 * by tw_h5_read_ds under tw_h5_lock; -1 when the caller must use H5Dread instead. */
int tw_h5chunk_read(hid_t ds, hid_t memtype, uint64_t start, uint64_t count, void *buf);
int tw_h5_read_rows(hid_t loc, const char *name, hid_t memtype, uint64_t start, uint64_t count, void *buf);

#endif
