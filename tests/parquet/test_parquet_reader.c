/* tw_parquet reader on files pyarrow writes at test time (gen_files.py): every encoding, codec and page
 * version, nested and fixed-size lists, structs, dictionaries, many row groups, LeRobot v3.0 files, and
 * damaged input. Expected values are recomputed from the generator's formulas of the row number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pq_fixture.h"
#include "tw_core.h"
#include "tw_parquet.h"

#define N 5000

static char g_dir[512];

static int group_setup(void **state)
{
    char gen[1024];
    if (!pq_tmpdir(g_dir, sizeof g_dir))
        return -1;
    int rc = pq_sh("'%s' '%s' '%s'", pq_python(), pq_script(gen, sizeof gen, "gen_files.py"), g_dir);
    if (rc != 0)
        fprintf(stderr, "gen_files.py failed (%d) with %s: needs pyarrow (and datasets, pandas)\n", rc, pq_python());
    return rc == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    pq_rmtree(g_dir);
    return 0;
}

static tw_parquet_reader *open_gen(const char *name)
{
    char path[1024], msg[512] = "";
    tw_parquet_reader *r = NULL;
    snprintf(path, sizeof path, "%s/%s.parquet", g_dir, name);
    int rc = tw_parquet_open(path, &r, msg, sizeof msg);
    if (rc != 0)
        fail_msg("open %s: %d %s", path, rc, msg);
    return r;
}

static size_t col(const tw_parquet_reader *r, const char *name)
{
    size_t c = 0;
    if (tw_parquet_find(r, name, &c) != 0)
        fail_msg("no column %s", name);
    return c;
}

/* Reads rows [row0, row0+n) as `as` into a fresh buffer of cap elements; lengths and valid optional. */
static void *read_as(tw_parquet_reader *r, const char *name, int64_t row0, int64_t n, tw_parquet_type as,
                     size_t elsz, size_t cap, int64_t *lengths, uint8_t *valid, size_t *nvalues)
{
    char msg[512] = "";
    void *buf = calloc(cap ? cap : 1, elsz);
    tw_parquet_out out = {.values = buf, .values_cap = cap, .lengths = lengths, .valid = valid};
    int rc = tw_parquet_read(r, col(r, name), row0, n, as, &out, msg, sizeof msg);
    if (rc != 0)
        fail_msg("read %s: %d %s", name, rc, msg);
    *nvalues = out.nvalues;
    return buf;
}

/* Reads strings of rows [row0, row0+n): returns the bytes, fills offsets (cap entries). */
static char *read_utf8(tw_parquet_reader *r, const char *name, int64_t row0, int64_t n, int64_t *offsets,
                       size_t cap, int64_t *lengths, uint8_t *valid, size_t *nvalues)
{
    char msg[512] = "";
    tw_parquet_out out = {0};
    /* First ask for the sizes (zero capacities: TW_EFULL, unless nothing is needed), then read. */
    int rc = tw_parquet_read(r, col(r, name), row0, n, TW_PQ_UTF8, &out, msg, sizeof msg);
    assert_int_equal(rc, n > 0 ? TW_EFULL : 0);
    assert_true(out.nvalues + 1 <= cap);
    char *bytes = malloc(out.nbytes + 1);
    out = (tw_parquet_out){.values = bytes, .values_cap = out.nbytes, .offsets = offsets, .offsets_cap = cap,
                           .lengths = lengths, .valid = valid};
    rc = tw_parquet_read(r, col(r, name), row0, n, TW_PQ_UTF8, &out, msg, sizeof msg);
    if (rc != 0)
        fail_msg("read %s: %d %s", name, rc, msg);
    *nvalues = out.nvalues;
    return bytes;
}

static int str_is(const char *bytes, const int64_t *off, size_t i, const char *want)
{
    size_t len = (size_t)(off[i + 1] - off[i]);
    return len == strlen(want) && memcmp(bytes + off[i], want, len) == 0;
}

/* Every scalar column of rows [row0, row0+n), checked against the generator's formulas. */
static void check_scalars(tw_parquet_reader *r, int64_t row0, int64_t n)
{
    static const char *colors[] = {"red", "green", "blue"};
    size_t nv;
    int64_t *i64 = read_as(r, "i64", row0, n, TW_PQ_INT64, 8, (size_t)n, NULL, NULL, &nv);
    int32_t *i32 = read_as(r, "i32", row0, n, TW_PQ_INT32, 4, (size_t)n, NULL, NULL, &nv);
    float *f32 = read_as(r, "f32", row0, n, TW_PQ_FLOAT32, 4, (size_t)n, NULL, NULL, &nv);
    double *f64 = read_as(r, "f64", row0, n, TW_PQ_FLOAT64, 8, (size_t)n, NULL, NULL, &nv);
    double *i32d = read_as(r, "i32", row0, n, TW_PQ_FLOAT64, 8, (size_t)n, NULL, NULL, &nv);
    uint8_t *flag = read_as(r, "flag", row0, n, TW_PQ_BOOL, 1, (size_t)n, NULL, NULL, &nv);
    assert_int_equal(nv, (size_t)n);
    int64_t *off = calloc((size_t)n + 1, 8), *coff = calloc((size_t)n + 1, 8);
    uint8_t *valid = calloc((size_t)n, 1);
    char *names = read_utf8(r, "name", row0, n, off, (size_t)n + 1, NULL, valid, &nv);
    char *cols = read_utf8(r, "color", row0, n, coff, (size_t)n + 1, NULL, NULL, &nv);
    for (int64_t k = 0; k < n; k++) {
        int64_t i = row0 + k;
        char want[32];
        assert_int_equal(i64[k], 3 * i - 7);
        assert_int_equal(i32[k], i % 1000 - 500);
        assert_true(f32[k] == 0.5f * (float)i);
        assert_true(f64[k] == 0.25 * (double)i + 1.0 / 1024);
        assert_true(i32d[k] == (double)(i % 1000 - 500));
        assert_int_equal(flag[k], i % 3 == 0);
        assert_int_equal(valid[k], i % 7 != 0);
        snprintf(want, sizeof want, "s%lld", (long long)i);
        assert_true(str_is(names, off, (size_t)k, i % 7 == 0 ? "" : want));
        assert_true(str_is(cols, coff, (size_t)k, colors[i % 3]));
    }
    free(i64), free(i32), free(f32), free(f64), free(i32d), free(flag), free(off), free(coff), free(valid);
    free(names), free(cols);
}

static void test_reads_every_encoding_codec_and_page_version(void **state)
{
    static const char *files[] = {"plain_snappy_v1", "dict_snappy_v1", "plain_zstd_v2", "dict_zstd_v2",
                                  "dict_gzip_v1", "plain_gzip_v2", "none_v1"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        tw_parquet_reader *r = open_gen(files[f]);
        assert_int_equal(tw_parquet_num_rows(r), N);
        assert_int_equal(tw_parquet_num_row_groups(r), 5);
        assert_int_equal(tw_parquet_row_group_rows(r, 4), 1000);
        assert_int_equal(tw_parquet_row_group_rows(r, 5), -1);
        check_scalars(r, 0, N);
        tw_parquet_close(r);
    }
}

static void test_reads_a_row_range_across_row_groups(void **state)
{
    tw_parquet_reader *r = open_gen("dict_zstd_v2");
    check_scalars(r, 950, 1100);  /* spans row groups 0, 1 and 2 */
    check_scalars(r, 4999, 1);
    check_scalars(r, 17, 0);
    tw_parquet_close(r);
}

static void test_schema_names_types_and_metadata(void **state)
{
    tw_parquet_reader *r = open_gen("plain_snappy_v1");
    static const char *names[] = {"i64", "i32", "f32", "f64", "flag", "name", "color"};
    static const tw_parquet_type types[] = {TW_PQ_INT64, TW_PQ_INT32, TW_PQ_FLOAT32, TW_PQ_FLOAT64,
                                            TW_PQ_BOOL, TW_PQ_UTF8, TW_PQ_UTF8};
    assert_int_equal(tw_parquet_num_columns(r), 7);
    for (size_t c = 0; c < 7; c++) {
        tw_parquet_column_info ci;
        assert_int_equal(tw_parquet_column(r, c, &ci), 0);
        assert_string_equal(ci.name, names[c]);
        assert_int_equal(ci.type, types[c]);
        assert_int_equal(ci.nlevels, 0);
        assert_true(ci.nullable);
    }
    tw_parquet_column_info ci;
    assert_int_equal(tw_parquet_column(r, 0, &ci), 0);
    assert_string_equal(ci.physical, "INT64");
    assert_int_equal(tw_parquet_column(r, 7, &ci), TW_ENOT_FOUND);
    const char *hf = tw_parquet_metadata_get(r, "huggingface");
    assert_non_null(hf);
    assert_non_null(strstr(hf, "\"features\""));
    assert_null(tw_parquet_metadata_get(r, "no such key"));
    assert_true(tw_parquet_metadata_count(r) >= 2); /* huggingface and ARROW:schema */
    const char *k, *v;
    assert_int_equal(tw_parquet_metadata_at(r, 0, &k, &v), 0);
    assert_int_equal(tw_parquet_metadata_at(r, 99, &k, &v), TW_ENOT_FOUND);
    size_t c;
    assert_int_equal(tw_parquet_find(r, "nope", &c), TW_ENOT_FOUND);
    tw_parquet_close(r);
    tw_parquet_close(NULL);
}

static void check_nested_schema(tw_parquet_reader *r)
{
    static const char *names[] = {"vec", "state", "grid", "pose.x", "pose.meta.tag", "tags", "cat"};
    static const int nlev[] = {1, 1, 2, 0, 0, 1, 0};
    assert_int_equal(tw_parquet_num_columns(r), 7);
    for (size_t c = 0; c < 7; c++) {
        tw_parquet_column_info ci;
        assert_int_equal(tw_parquet_column(r, c, &ci), 0);
        assert_string_equal(ci.name, names[c]);
        assert_int_equal(ci.nlevels, nlev[c]);
    }
    tw_parquet_column_info ci;
    tw_parquet_column(r, 1, &ci);
    assert_int_equal(ci.levels[0].fixed, 1);
    assert_int_equal(ci.levels[0].size, 6);
    assert_int_equal(ci.type, TW_PQ_FLOAT32);
    tw_parquet_column(r, 0, &ci);
    assert_int_equal(ci.levels[0].fixed, 0);
    tw_parquet_column(r, 6, &ci);
    assert_int_equal(ci.type, TW_PQ_UTF8); /* dictionary<int32, string> reads as its values */
}

static void check_nested_lists(tw_parquet_reader *r, int64_t row0, int64_t n)
{
    size_t nv;
    int64_t *len = calloc((size_t)n, 8);
    float *vec = read_as(r, "vec", row0, n, TW_PQ_FLOAT32, 4, 4 * (size_t)n, len, NULL, &nv);
    size_t at = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = row0 + k, want = i % 10 == 9 ? 0 : i % 4;
        assert_int_equal(len[k], want);
        for (int64_t j = 0; j < want; j++)
            assert_true(vec[at++] == (float)i + 0.5f * (float)j);
    }
    assert_int_equal(at, nv);
    double *state = read_as(r, "state", row0, n, TW_PQ_FLOAT64, 8, 6 * (size_t)n, len, NULL, &nv);
    assert_int_equal(nv, 6 * (size_t)n);
    for (int64_t k = 0; k < n; k++) {
        assert_int_equal(len[k], 6);
        for (int j = 0; j < 6; j++)
            assert_true(state[6 * k + j] == 10.0 * (double)(row0 + k) + j);
    }
    double *grid = read_as(r, "grid", row0, n, TW_PQ_FLOAT64, 8, 4 * (size_t)n, len, NULL, &nv);
    at = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = row0 + k;
        assert_int_equal(len[k], 2 * (i % 3));
        for (int j = 0; j < i % 3; j++)
            for (int m = 0; m < 2; m++)
                assert_true(grid[at++] == (double)i + 0.1 * j + 0.01 * m);
    }
    free(len), free(vec), free(state), free(grid);
}

static void check_nested_structs_and_strings(tw_parquet_reader *r, int64_t row0, int64_t n)
{
    static const char *colors[] = {"red", "green", "blue"};
    size_t nv;
    int64_t *x = read_as(r, "pose.x", row0, n, TW_PQ_INT64, 8, (size_t)n, NULL, NULL, &nv);
    int64_t *off = calloc(2 * (size_t)n + 1, 8), *len = calloc((size_t)n, 8);
    char *tag = read_utf8(r, "pose.meta.tag", row0, n, off, 2 * (size_t)n + 1, NULL, NULL, &nv);
    char want[32];
    for (int64_t k = 0; k < n; k++) {
        assert_int_equal(x[k], row0 + k);
        snprintf(want, sizeof want, "z%lld", (long long)(row0 + k));
        assert_true(str_is(tag, off, (size_t)k, want));
    }
    free(tag);
    char *tags = read_utf8(r, "tags", row0, n, off, 2 * (size_t)n + 1, len, NULL, &nv);
    size_t at = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = row0 + k;
        assert_int_equal(len[k], i % 3);
        for (int j = 0; j < i % 3; j++) {
            snprintf(want, sizeof want, "%c%lld", j ? 'u' : 't', (long long)i);
            assert_true(str_is(tags, off, at++, want));
        }
    }
    free(tags);
    char *cat = read_utf8(r, "cat", row0, n, off, 2 * (size_t)n + 1, NULL, NULL, &nv);
    for (int64_t k = 0; k < n; k++)
        assert_true(str_is(cat, off, (size_t)k, colors[(row0 + k) % 3]));
    free(cat), free(x), free(off), free(len);
}

static void test_reads_nested_lists_structs_and_dictionaries(void **state)
{
    static const char *files[] = {"nested_v1", "nested_v2"};
    for (size_t f = 0; f < 2; f++) {
        tw_parquet_reader *r = open_gen(files[f]);
        check_nested_schema(r);
        check_nested_lists(r, 0, N);
        check_nested_lists(r, 993, 1500);
        check_nested_structs_and_strings(r, 0, N);
        check_nested_structs_and_strings(r, 2999, 2);
        tw_parquet_close(r);
    }
}

static void test_reads_lerobot_v3_data_file(void **state)
{
    tw_parquet_reader *r = open_gen("lerobot_data");
    assert_int_equal(tw_parquet_num_rows(r), 100);
    assert_int_equal(tw_parquet_num_row_groups(r), 3); /* one per episode */
    assert_int_equal(tw_parquet_row_group_rows(r, 1), 45);
    tw_parquet_column_info ci;
    assert_int_equal(tw_parquet_column(r, col(r, "observation.state"), &ci), 0);
    assert_int_equal(ci.nlevels, 1);
    assert_int_equal(ci.levels[0].fixed, 1);
    assert_int_equal(ci.levels[0].size, 6);
    assert_int_equal(ci.type, TW_PQ_FLOAT32);
    assert_non_null(strstr(tw_parquet_metadata_get(r, "huggingface"), "\"observation.state\""));
    size_t nv;
    float *st = read_as(r, "observation.state", 0, 100, TW_PQ_FLOAT32, 4, 600, NULL, NULL, &nv);
    int64_t *ep = read_as(r, "episode_index", 0, 100, TW_PQ_INT64, 8, 100, NULL, NULL, &nv);
    for (int i = 0; i < 600; i++)
        assert_true(st[i] == (float)i / 8);
    assert_int_equal(ep[29], 0), assert_int_equal(ep[30], 1), assert_int_equal(ep[99], 2);
    free(st), free(ep);
    tw_parquet_close(r);
}

static void test_reads_lerobot_v3_meta_files(void **state)
{
    tw_parquet_reader *r = open_gen("lerobot_episodes");
    size_t nv;
    int64_t len[2], off[8];
    char *tasks = read_utf8(r, "tasks", 0, 2, off, 8, len, NULL, &nv);
    assert_int_equal(len[0], 1), assert_int_equal(len[1], 2);
    assert_true(str_is(tasks, off, 2, "push"));
    free(tasks);
    tw_parquet_column_info ci;
    assert_int_equal(tw_parquet_column(r, col(r, "stats/observation.images.top/mean"), &ci), 0);
    assert_int_equal(ci.nlevels, 3);
    double *mean = read_as(r, "stats/observation.images.top/mean", 0, 2, TW_PQ_FLOAT64, 8, 6, len, NULL, &nv);
    assert_int_equal(nv, 6), assert_int_equal(len[1], 3);
    assert_true(mean[5] == 0.6);
    free(mean);
    tw_parquet_close(r);
    r = open_gen("lerobot_tasks");
    char *task = read_utf8(r, "task", 0, 2, off, 8, NULL, NULL, &nv); /* pandas index, large_string */
    assert_true(str_is(task, off, 1, "place it"));
    assert_non_null(tw_parquet_metadata_get(r, "pandas"));
    free(task);
    tw_parquet_close(r);
}

static void test_many_row_groups_row_by_row(void **state)
{
    tw_parquet_reader *r = open_gen("many_rg");
    assert_int_equal(tw_parquet_num_row_groups(r), 100);
    check_scalars(r, 0, 1000);
    size_t c = col(r, "i64");
    for (int64_t i = 0; i < 1000; i++) {
        int64_t v = 0;
        tw_parquet_out out = {.values = &v, .values_cap = 1};
        assert_int_equal(tw_parquet_read(r, c, i, 1, TW_PQ_INT64, &out, NULL, 0), 0);
        assert_int_equal(v, 3 * i - 7);
    }
    tw_parquet_close(r);
}

static void test_small_buffers_report_the_needed_sizes(void **state)
{
    tw_parquet_reader *r = open_gen("nested_v1");
    char msg[512];
    float buf[4];
    tw_parquet_out out = {.values = buf, .values_cap = 4};
    assert_int_equal(tw_parquet_read(r, col(r, "state"), 990, 20, TW_PQ_FLOAT32, &out, msg, sizeof msg), TW_EFULL);
    assert_int_equal(out.nvalues, 120);
    assert_non_null(strstr(msg, "state"));
    tw_parquet_close(r);
}

static void test_refuses_lossy_or_meaningless_conversions(void **state)
{
    tw_parquet_reader *r = open_gen("plain_snappy_v1");
    char msg[512];
    int64_t v[8];
    tw_parquet_out out = {.values = v, .values_cap = 8};
    assert_int_equal(tw_parquet_read(r, col(r, "f64"), 0, 8, TW_PQ_INT64, &out, msg, sizeof msg), TW_EDTYPE);
    assert_non_null(strstr(msg, "f64"));
    assert_int_equal(tw_parquet_read(r, col(r, "name"), 0, 8, TW_PQ_FLOAT64, &out, msg, sizeof msg), TW_EDTYPE);
    assert_int_equal(tw_parquet_read(r, col(r, "i64"), 4999, 2, TW_PQ_INT64, &out, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_parquet_read(r, 99, 0, 1, TW_PQ_INT64, &out, msg, sizeof msg), TW_ENOT_FOUND);
    tw_parquet_close(r);
}

static void expect_open_error(const char *name, int want)
{
    char path[1024], msg[512] = "";
    tw_parquet_reader *r = (tw_parquet_reader *)1;
    snprintf(path, sizeof path, "%s/%s.parquet", g_dir, name);
    int rc = tw_parquet_open(path, &r, msg, sizeof msg);
    if (rc != want)
        fail_msg("%s: want %d, got %d (%s)", name, want, rc, msg);
    assert_null(r);
    assert_non_null(strstr(msg, path)); /* the message names the file */
}

static void test_rejects_damaged_files_with_a_message(void **state)
{
    expect_open_error("truncated", TW_ETRUNCATED);
    expect_open_error("not_parquet", TW_EBAD_MAGIC);
    expect_open_error("missing", TW_ENOT_FOUND);
    char path[1024], msg[512] = "";
    tw_parquet_reader *r = NULL;
    snprintf(path, sizeof path, "%s/bad_footer.parquet", g_dir);
    int rc = tw_parquet_open(path, &r, msg, sizeof msg);
    assert_true(rc == TW_ETRUNCATED || rc == TW_EINTEGRITY);
    assert_null(r);
    assert_int_equal(tw_parquet_open_memory("PAR1", 4, &r, msg, sizeof msg), TW_ETRUNCATED);
    assert_int_equal(tw_parquet_open_memory("", 0, &r, msg, sizeof msg), TW_ETRUNCATED);
}

static void test_survives_every_truncation_and_bit_flip(void **state)
{
    /* Damage a small real file at many places: every open or read must return, never crash. */
    char path[1024];
    snprintf(path, sizeof path, "%s/lerobot_tasks.parquet", g_dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char data[8192];
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    assert_true(len > 100 && len < sizeof data);
    unsigned char copy[8192];
    for (size_t at = 0; at < len; at += 7) {
        memcpy(copy, data, len);
        copy[at] ^= 0x5a;
        for (int cut = 0; cut < 2; cut++) {
            tw_parquet_reader *r = NULL;
            char msg[256];
            if (tw_parquet_open_memory(copy, cut ? at : len, &r, msg, sizeof msg) != 0)
                continue;
            for (size_t c = 0; c < tw_parquet_num_columns(r); c++) {
                char buf[4096];
                int64_t off[64];
                tw_parquet_out out = {.values = buf, .values_cap = 64, .offsets = off, .offsets_cap = 64};
                tw_parquet_read(r, c, 0, tw_parquet_num_rows(r) < 8 ? tw_parquet_num_rows(r) : 8, TW_PQ_UTF8, &out,
                                msg, sizeof msg);
                out = (tw_parquet_out){.values = buf, .values_cap = 64};
                tw_parquet_read(r, c, 0, 1, TW_PQ_INT64, &out, msg, sizeof msg);
            }
            tw_parquet_close(r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_every_encoding_codec_and_page_version),
        cmocka_unit_test(test_reads_a_row_range_across_row_groups),
        cmocka_unit_test(test_schema_names_types_and_metadata),
        cmocka_unit_test(test_reads_nested_lists_structs_and_dictionaries),
        cmocka_unit_test(test_reads_lerobot_v3_data_file),
        cmocka_unit_test(test_reads_lerobot_v3_meta_files),
        cmocka_unit_test(test_many_row_groups_row_by_row),
        cmocka_unit_test(test_small_buffers_report_the_needed_sizes),
        cmocka_unit_test(test_refuses_lossy_or_meaningless_conversions),
        cmocka_unit_test(test_rejects_damaged_files_with_a_message),
        cmocka_unit_test(test_survives_every_truncation_and_bit_flip),
    };
    return cmocka_run_group_tests_name("parquet_reader", tests, group_setup, group_teardown);
}
