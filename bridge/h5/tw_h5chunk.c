/* Direct chunk reads for tw_h5_read_ds (tw_h5util.c).
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
#include "tw_h5.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
        /* a partial edge chunk stored unfiltered (H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) still reports filter
         * mask 0: it would be unshuffled by mistake, so such datasets take H5Dread */
        unsigned co = 0;
        ok = ok && d->esize > 0 && d->chunk_rows > 0 && d->chunk_rows * d->row_bytes <= DC_MAX_CHUNK &&
             H5Pget_chunk_opts(dcpl, &co) >= 0 && !(co & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) &&
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

int tw_h5chunk_read(hid_t ds, hid_t memtype, uint64_t start, uint64_t count, void *buf)
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

