/* tw_h5_read_ds reads plain deflate-chunked columns chunk by chunk (H5Dread_chunk + zlib + unshuffle,
 * bridge/h5/tw_h5chunk.c) and everything else through H5Dread. Whatever the layout, a range read must give
 * exactly the rows written: checked here for every layout the fast path takes or refuses, partial last
 * chunks, ranges across chunk edges, and a column larger than the chunk pool (evictions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "tw_h5.h"

enum { SHUF_DEFLATE, DEFLATE, SHUFFLE, NONE, FLETCHER_DEFLATE, CONTIGUOUS, BIG_ENDIAN_FILE, SHUFFLE_RAW_EDGE };

typedef struct {
    const char *name;
    int layout;
    hid_t mem;          /* memory type */
    int cols;           /* row width in elements */
    hsize_t rows, chunk;
} column;

static const column cols[] = {
    {"shuf_deflate_f64", SHUF_DEFLATE, 0, 27, 5000, 1024},     /* an episode's joint_state */
    {"deflate_i64", DEFLATE, 0, 1, 5000, 1024},
    {"shuffle_f32", SHUFFLE, 0, 4, 3001, 500},
    {"none_u8", NONE, 0, 5, 777, 100},
    {"fletcher_f64", FLETCHER_DEFLATE, 0, 3, 2000, 256},       /* refused: fletcher32 */
    {"contiguous_f64", CONTIGUOUS, 0, 6, 1500, 0},              /* refused: not chunked */
    {"big_endian_f64", BIG_ENDIAN_FILE, 0, 2, 2500, 512},       /* refused: file type != memory type */
    {"pool_buster_f64", SHUF_DEFLATE, 0, 27, 40000, 1024},      /* 8.6 MB: more than the 4 MB pool */
    /* refused: the partial last chunk is stored unfiltered yet reports filter mask 0 (a review found it
     * unshuffled by mistake: rows 8-9 of 10 came back wrong) */
    {"shuffle_raw_edge_i64", SHUFFLE_RAW_EDGE, 0, 1, 10, 4},
};
#define NCOLS (sizeof cols / sizeof cols[0])

static hid_t mem_type(size_t i)
{
    return !strcmp(cols[i].name + strlen(cols[i].name) - 3, "i64") ? H5T_NATIVE_INT64
           : !strcmp(cols[i].name + strlen(cols[i].name) - 3, "f32") ? H5T_NATIVE_FLOAT
           : !strcmp(cols[i].name + strlen(cols[i].name) - 2, "u8") ? H5T_NATIVE_UINT8
                                                                      : H5T_NATIVE_DOUBLE;
}

/* Deterministic, not very compressible contents: every byte of every row differs between rows. */
static void *make_data(size_t i, size_t *row_bytes)
{
    size_t es = H5Tget_size(mem_type(i)), n = (size_t)cols[i].rows * (size_t)cols[i].cols;
    *row_bytes = es * (size_t)cols[i].cols;
    uint8_t *d = malloc(n * es);
    uint64_t x = 0x9e3779b97f4a7c15ULL * (i + 1);
    for (size_t k = 0; k < n; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (es == 8 && mem_type(i) == H5T_NATIVE_DOUBLE) {
            double v = (double)k * 1e-3 + (double)(x % 1000) * 1e-9;
            memcpy(d + k * 8, &v, 8);
        } else if (es == 4) {
            float v = (float)k + (float)(x % 100) * 0.01f;
            memcpy(d + k * 4, &v, 4);
        } else if (es == 8) {
            int64_t v = (int64_t)k * 2000000 + (int64_t)(x % 5);
            memcpy(d + k * 8, &v, 8);
        } else {
            d[k] = (uint8_t)x;
        }
    }
    return d;
}

static void write_column(hid_t f, size_t i, const void *data)
{
    const column *c = &cols[i];
    hsize_t dims[2] = {c->rows, (hsize_t)c->cols}, chunk[2] = {c->chunk, (hsize_t)c->cols};
    hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (c->layout != CONTIGUOUS)
        assert_true(H5Pset_chunk(dcpl, 2, chunk) >= 0);
    if (c->layout == FLETCHER_DEFLATE)
        H5Pset_fletcher32(dcpl);
    if (c->layout == SHUF_DEFLATE || c->layout == SHUFFLE || c->layout == BIG_ENDIAN_FILE ||
        c->layout == SHUFFLE_RAW_EDGE)
        H5Pset_shuffle(dcpl);
    if (c->layout == SHUFFLE_RAW_EDGE)
        assert_true(H5Pset_chunk_opts(dcpl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) >= 0);
    if (c->layout == SHUF_DEFLATE || c->layout == DEFLATE || c->layout == FLETCHER_DEFLATE ||
        c->layout == BIG_ENDIAN_FILE)
        H5Pset_deflate(dcpl, 1);
    hid_t ftype = c->layout == BIG_ENDIAN_FILE ? H5T_IEEE_F64BE : mem_type(i);
    hid_t ds = H5Dcreate2(f, c->name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, mem_type(i), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

/* Reads [start, start+count) and compares with the rows written. */
static void check_range(hid_t ds, size_t i, const uint8_t *data, size_t row_bytes, uint64_t start, uint64_t count)
{
    uint8_t *got = malloc(count * row_bytes + 1);
    assert_int_equal(tw_h5_read_ds(ds, mem_type(i), start, count, got), 0);
    if (memcmp(got, data + start * row_bytes, count * row_bytes) != 0)
        fail_msg("%s: rows [%llu, %llu) differ from what was written", cols[i].name, (unsigned long long)start,
                 (unsigned long long)(start + count));
    free(got);
}

static void test_ranges_read_back_exactly_whatever_the_layout(void **state)
{
    char path[] = "/tmp/tw_h5chunk_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    tw_h5_quiet();
    void *data[NCOLS];
    size_t rb[NCOLS];
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    for (size_t i = 0; i < NCOLS; i++) {
        data[i] = make_data(i, &rb[i]);
        write_column(f, i, data[i]);
    }
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds[NCOLS];
    for (size_t i = 0; i < NCOLS; i++)
        ds[i] = H5Dopen2(f, cols[i].name, H5P_DEFAULT);
    /* sequential walks in uneven steps (what the episode reader does), interleaved across columns, twice:
     * the second pass reads from the pool or re-inflates after evictions */
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t r = 0;; r += 613) {
            int any = 0;
            for (size_t i = 0; i < NCOLS; i++)
                if (r < cols[i].rows) {
                    uint64_t n = r + 613 <= cols[i].rows ? 613 : cols[i].rows - r;
                    check_range(ds[i], i, data[i], rb[i], r, n);
                    any = 1;
                }
            if (!any)
                break;
        }
    /* random ranges, single rows, whole columns, the last row */
    uint64_t x = 12345;
    for (int k = 0; k < 400; k++) {
        size_t i = (size_t)k % NCOLS;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t start = x % cols[i].rows, count = 1 + (x >> 20) % (cols[i].rows - start);
        check_range(ds[i], i, data[i], rb[i], start, k % 5 == 0 ? 1 : count);
    }
    for (size_t i = 0; i < NCOLS; i++) {
        check_range(ds[i], i, data[i], rb[i], 0, cols[i].rows);
        check_range(ds[i], i, data[i], rb[i], cols[i].rows - 1, 1);
        uint8_t one[1024];
        assert_int_equal(tw_h5_read_ds(ds[i], mem_type(i), cols[i].rows, 1, one), -1); /* past the end */
        tw_h5_forget(ds[i]);
        H5Dclose(ds[i]);
        free(data[i]);
    }
    H5Fclose(f);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_read_back_exactly_whatever_the_layout),
    };
    return cmocka_run_group_tests_name("h5 direct chunk reads", tests, NULL, NULL);
}
