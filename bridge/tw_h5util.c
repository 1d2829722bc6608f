/* Small HDF5 helpers shared by the episode builder and reader. */
#include "tw_h5util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Serial HDF5 is not thread-safe: every episode entry point that touches it holds this
 * (recursive: verify calls read). */
static pthread_mutex_t h5_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
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
    /* room for two chunks: a batch that straddles a chunk boundary is filtered once */
    size_t chunk_bytes = H5Tget_size(ftype) * chunk;
    for (int i = 0; i < rank; i++)
        chunk_bytes *= tail[i];
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 521, chunk_bytes * 2 + (1u << 20), 1.0);
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

/* ---- direct chunk reads ----
 * Reading a range of a deflate-chunked column through H5Dread costs HDF5's hyperslab and chunk-cache
 * machinery plus a filter buffer that grows by realloc (fresh pages) for every chunk; for the small-row
 * columns episodes hold that is much of the CPU of a sequential read. A plain chunked column (chunks span
 * whole rows; filters a subset of shuffle then deflate; file type equal to the memory type) is read here
 * instead: a chunk at a time with H5Dread_chunk, inflated into a pooled buffer, its rows unshuffled straight
 * into the caller's buffer. The pool (DC_POOL_BYTES in all, least recently used out first, buffers reused
 * and kept for the process's life: fresh ones per episode would cost page faults on every chunk)
 * keeps inflated chunks, so reading a column several times over (timestamps: a pass that finds the
 * timeline, then the walk) inflates each chunk once, as HDF5's own per-dataset chunk cache did. Anything else,
 * or any surprise on the way, takes H5Dread. Datasets are keyed by id (HDF5 never hands out an id twice in
 * a process); tw_h5_forget drops one when it closes. All of it under tw_h5_lock. */
#define DC_DATASETS 16
#define DC_CHUNKS 64
#define DC_POOL_BYTES (4u << 20)
#define DC_MAX_CHUNK (2u << 20) /* larger chunks take H5Dread */

typedef struct {
    hid_t ds;                   /* 0: free slot */
    int fast;                   /* 1: direct path usable */
    hid_t memtype_ok;           /* last memory type found equal to the file type */
    size_t esize, row_bytes;    /* element size; bytes per row */
    hsize_t nrows, chunk_rows;
    int shuffle_at, deflate_at; /* filter index in the pipeline, -1 if absent */
    hid_t ftype;
    uint64_t used;              /* LRU stamp */
} dc_dset;

typedef struct {
    hid_t ds;                   /* 0: free (buf kept for reuse) */
    int64_t k;                  /* chunk index */
    int shuffled;               /* buf holds byte planes (the chunk's shuffle filter ran) */
    uint8_t *buf;               /* inflated chunk */
    size_t cap;
    uint64_t used;
} dc_chunk;

static dc_dset dc_ds[DC_DATASETS];
static dc_chunk dc_ch[DC_CHUNKS];
static size_t dc_bytes;         /* sum of dc_ch[].cap */
static uint64_t dc_clock;
static uint8_t *dc_in;          /* compressed bytes of the chunk being read */
static size_t dc_in_cap;

static void dc_drop(dc_dset *d)
{
    if (d->ftype > 0)
        H5Tclose(d->ftype);
    memset(d, 0, sizeof *d);
}

void tw_h5_forget(hid_t ds)
{
    tw_h5_lock();
    for (int i = 0; i < DC_DATASETS; i++)
        if (dc_ds[i].ds == ds)
            dc_drop(&dc_ds[i]);
    for (int i = 0; i < DC_CHUNKS; i++)
        if (dc_ch[i].ds == ds)
            dc_ch[i].ds = 0, dc_ch[i].used = 0;
    tw_h5_unlock();
}

/* Filters: a subset of (shuffle, deflate) in that order, with the shuffle's element size the type's. */
static int dc_check_filters(dc_dset *d, hid_t dcpl)
{
    int n = H5Pget_nfilters(dcpl);
    d->shuffle_at = d->deflate_at = -1;
    if (n < 0 || n > 2)
        return 0;
    for (int i = 0; i < n; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        char name[64];
        H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
        if (f == H5Z_FILTER_SHUFFLE && i == 0 && ncd >= 1 && cd[0] == d->esize)
            d->shuffle_at = i;
        else if (f == H5Z_FILTER_DEFLATE && i == n - 1)
            d->deflate_at = i;
        else
            return 0;
    }
    return 1;
}

/* Fills a new entry for ds: decides once whether the direct path applies. */
static void dc_setup(dc_dset *d, hid_t ds)
{
    d->ds = ds;
    hid_t dcpl = H5Dget_create_plist(ds), fs = H5Dget_space(ds);
    d->ftype = H5Dget_type(ds);
    hsize_t dims[8], ch[8];
    int rank = fs < 0 ? -1 : H5Sget_simple_extent_ndims(fs);
    int ok = dcpl >= 0 && d->ftype >= 0 && rank >= 1 && rank <= 8 && H5Tget_class(d->ftype) != H5T_STRING &&
             H5Tis_variable_str(d->ftype) <= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED &&
             H5Pget_chunk(dcpl, rank, ch) == rank && H5Sget_simple_extent_dims(fs, dims, NULL) == rank;
    if (ok) {
        d->esize = H5Tget_size(d->ftype);
        d->row_bytes = d->esize;
        for (int i = 1; i < rank && ok; i++) {
            ok = ch[i] == dims[i]; /* a chunk holds whole rows */
            d->row_bytes *= dims[i];
        }
        d->nrows = dims[0];
        d->chunk_rows = ch[0];
        ok = ok && d->esize > 0 && d->chunk_rows > 0 && d->chunk_rows * d->row_bytes <= DC_MAX_CHUNK &&
             dc_check_filters(d, dcpl);
    }
    d->fast = ok;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (fs >= 0)
        H5Sclose(fs);
}

static dc_dset *dc_dset_get(hid_t ds)
{
    dc_dset *lru = &dc_ds[0];
    for (int i = 0; i < DC_DATASETS; i++) {
        if (dc_ds[i].ds == ds) {
            dc_ds[i].used = ++dc_clock;
            return &dc_ds[i];
        }
        if (dc_ds[i].used < lru->used)
            lru = &dc_ds[i];
    }
    if (lru->ds)
        tw_h5_forget(lru->ds); /* its chunks too */
    dc_drop(lru);
    dc_setup(lru, ds);
    lru->used = ++dc_clock;
    return lru;
}

/* Inflates a zlib stream into exactly outsz bytes; 0 or -1. */
static int dc_inflate(const uint8_t *in, size_t insz, uint8_t *out, size_t outsz)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return -1;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)insz;
    z.next_out = out;
    z.avail_out = (uInt)outsz;
    int r = inflate(&z, Z_FINISH);
    int ok = r == Z_STREAM_END && z.total_out == outsz;
    inflateEnd(&z);
    return ok ? 0 : -1;
}

/* A pool slot with room for `bytes`: the least recently used, its buffer grown if need be; then older
 * buffers are freed until the pool is back under its size. NULL when out of memory. */
static dc_chunk *dc_slot(size_t bytes)
{
    dc_chunk *v = &dc_ch[0];
    for (int i = 1; i < DC_CHUNKS; i++)
        if (dc_ch[i].used < v->used || (dc_ch[i].used == v->used && dc_ch[i].cap >= bytes && v->cap < bytes))
            v = &dc_ch[i];
    v->ds = 0;
    v->used = 0;
    if (v->cap < bytes) {
        uint8_t *p = realloc(v->buf, bytes);
        if (!p)
            return NULL;
        dc_bytes += bytes - v->cap;
        v->buf = p;
        v->cap = bytes;
    }
    while (dc_bytes > DC_POOL_BYTES) {
        dc_chunk *o = NULL;
        for (int i = 0; i < DC_CHUNKS; i++)
            if (&dc_ch[i] != v && dc_ch[i].cap && (!o || dc_ch[i].used < o->used))
                o = &dc_ch[i];
        if (!o)
            break;
        dc_bytes -= o->cap;
        free(o->buf);
        memset(o, 0, sizeof *o);
    }
    return v;
}

/* Chunk k of d, inflated: from the pool, or read and inflated into it. NULL: use H5Dread. */
static const dc_chunk *dc_load(const dc_dset *d, int64_t k)
{
    for (int i = 0; i < DC_CHUNKS; i++)
        if (dc_ch[i].ds == d->ds && dc_ch[i].k == k) {
            dc_ch[i].used = ++dc_clock;
            return &dc_ch[i];
        }
    size_t bytes = (size_t)d->chunk_rows * d->row_bytes;
    hsize_t off[8] = {(hsize_t)k * d->chunk_rows}, stored = 0;
    if (H5Dget_chunk_storage_size(d->ds, off, &stored) < 0 || stored == 0 || stored > 2 * (hsize_t)bytes + 4096)
        return NULL; /* not allocated (fill values) or implausible: H5Dread knows */
    if (dc_in_cap < stored) {
        uint8_t *p = realloc(dc_in, (size_t)stored);
        if (!p)
            return NULL;
        dc_in = p;
        dc_in_cap = (size_t)stored;
    }
    dc_chunk *c = dc_slot(bytes);
    uint32_t mask = 0;
    if (!c || H5Dread_chunk(d->ds, H5P_DEFAULT, off, &mask, dc_in) < 0)
        return NULL;
    int deflated = d->deflate_at >= 0 && !(mask & (1u << d->deflate_at));
    if (deflated ? dc_inflate(dc_in, (size_t)stored, c->buf, bytes) : stored != bytes)
        return NULL;
    if (!deflated)
        memcpy(c->buf, dc_in, bytes);
    c->ds = d->ds;
    c->k = k;
    c->shuffled = d->shuffle_at >= 0 && !(mask & (1u << d->shuffle_at));
    c->used = ++dc_clock;
    return c;
}

/* Unshuffles m 8-byte elements whose byte planes start at q[0..7] into out (8 * m bytes): the common case
 * (int64, uint64, double). SSE2 (every x86-64) transposes 16 elements at a time. */
static void unshuffle8(const uint8_t *const q[8], size_t m, uint8_t *out)
{
    size_t j = 0;
#ifdef __SSE2__
    for (; j + 16 <= m; j += 16) {
        __m128i a[8], b[8], c[8];
        for (int k = 0; k < 8; k++)
            a[k] = _mm_loadu_si128((const __m128i *)(q[k] + j));
        for (int k = 0; k < 4; k++) {
            b[2 * k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);     /* bytes 2k, 2k+1 of elements 0..7 */
            b[2 * k + 1] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]); /* ... of elements 8..15 */
        }
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 2; k++) {
                c[4 * h + 2 * k] = _mm_unpacklo_epi16(b[4 * k + h], b[4 * k + h + 2]);
                c[4 * h + 2 * k + 1] = _mm_unpackhi_epi16(b[4 * k + h], b[4 * k + h + 2]);
            }
        __m128i *o = (__m128i *)(out + 8 * j);
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 2; k++) {
                _mm_storeu_si128(o + 4 * h + 2 * k, _mm_unpacklo_epi32(c[4 * h + k], c[4 * h + k + 2]));
                _mm_storeu_si128(o + 4 * h + 2 * k + 1, _mm_unpackhi_epi32(c[4 * h + k], c[4 * h + k + 2]));
            }
    }
#endif
    for (; j < m; j++)
        for (int k = 0; k < 8; k++)
            out[8 * j + k] = q[k][j];
}

/* Elements [i0, i1) of inflated chunk c (n elements; byte planes when shuffled) into out. */
static void dc_copy(const dc_dset *d, const dc_chunk *c, size_t i0, size_t i1, uint8_t *out)
{
    size_t s = d->esize, n = (size_t)d->chunk_rows * d->row_bytes / s;
    const uint8_t *p = c->buf;
    if (!c->shuffled) {
        memcpy(out, p + i0 * s, (i1 - i0) * s);
    } else if (s == 8) {
        const uint8_t *q[8];
        for (int k = 0; k < 8; k++)
            q[k] = p + (size_t)k * n + i0;
        unshuffle8(q, i1 - i0, out);
    } else {
        for (size_t i = i0; i < i1; i++, out += s)
            for (size_t b = 0; b < s; b++)
                out[b] = p[b * n + i];
    }
}

/* Rows [start, start+count) by direct chunk reads; -1 when the caller must use H5Dread. */
static int dc_read(hid_t ds, hid_t memtype, uint64_t start, uint64_t count, void *buf)
{
    dc_dset *d = dc_dset_get(ds);
    if (!d->fast || start + count > d->nrows)
        return -1;
    if (d->memtype_ok != memtype) {
        if (H5Tequal(d->ftype, memtype) <= 0)
            return -1;
        d->memtype_ok = memtype;
    }
    uint8_t *out = buf;
    size_t per_row = d->row_bytes / d->esize;
    for (uint64_t r = start; r < start + count;) {
        int64_t k = (int64_t)(r / d->chunk_rows);
        uint64_t c0 = (uint64_t)k * d->chunk_rows, end = c0 + d->chunk_rows;
        if (end > start + count)
            end = start + count;
        const dc_chunk *c = dc_load(d, k);
        if (!c)
            return -1;
        dc_copy(d, c, (size_t)(r - c0) * per_row, (size_t)(end - c0) * per_row, out);
        out += (size_t)(end - r) * d->row_bytes;
        r = end;
    }
    return 0;
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
    int r = dc_read(ds, memtype, start, count, buf) == 0 ? 0 : read_hyperslab(ds, memtype, start, count, buf);
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
