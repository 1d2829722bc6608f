/* tw_parquet writer: every column type we write is read back by pyarrow with the values and schema
 * pyarrow gives for the same table written by itself (check_written.py), LeRobot v3.0 data files load in
 * HF datasets with their features, and a writer that fails or aborts leaves no file that looks complete. */
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

static char g_dir[512];

static int group_setup(void **state)
{
    return pq_tmpdir(g_dir, sizeof g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    pq_rmtree(g_dir);
    return 0;
}

enum { C_I64, C_I32, C_F32, C_F64, C_FLAG, C_NAME, C_VEC, C_STATE, C_IDS, C_TASKS, C_IMG, NCOLS };

/* The "all" table of check_written.py: scalars, list<float32>, fixed_size_list<float32, 6>, list<int64>,
 * list<string> (LeRobot's episode tasks), list<list<list<double>>> of 3x1x1 (LeRobot's image stats). */
static const tw_parquet_field all_fields[NCOLS] = {
    {"i64", TW_PQ_INT64, 0, {{0}}, 0},
    {"i32", TW_PQ_INT32, 0, {{0}}, 0},
    {"f32", TW_PQ_FLOAT32, 0, {{0}}, 0},
    {"f64", TW_PQ_FLOAT64, 0, {{0}}, 0},
    {"flag", TW_PQ_BOOL, 0, {{0}}, 0},
    {"name", TW_PQ_UTF8, 0, {{0}}, 0},
    {"vec", TW_PQ_FLOAT32, 1, {{0, 0}}, 0},
    {"state", TW_PQ_FLOAT32, 1, {{6, 1}}, 0},
    {"ids", TW_PQ_INT64, 1, {{0, 0}}, 0},
    {"tasks", TW_PQ_UTF8, 1, {{0, 0}}, 0},
    {"img_mean", TW_PQ_FLOAT64, 3, {{3, 0}, {1, 0}, {1, 0}}, 0},
};

/* Column buffers for rows [row0, row0 + n) of the "all" table. */
typedef struct {
    int64_t i64[512], ids[1024], len_vec[512], len_ids[512], len_tasks[512];
    int32_t i32[512];
    float f32[512], vec[2048], state[6 * 512];
    double f64[512], img[3 * 512];
    uint8_t flag[512], name_ok[512];
    char names[512][16], tasks[512][16];
    const char *name_p[512], *task_p[512];
    tw_parquet_in in[NCOLS];
} all_batch;

static void fill_all(all_batch *b, int64_t row0, int64_t n)
{
    size_t nv = 0, ni = 0, nt = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = row0 + k;
        b->i64[k] = 3 * i - 7, b->i32[k] = (int32_t)(i % 1000 - 500), b->f32[k] = 0.5f * (float)i;
        b->f64[k] = 0.25 * (double)i + 1.0 / 1024, b->flag[k] = i % 3 == 0, b->name_ok[k] = i % 7 != 0;
        snprintf(b->names[k], sizeof b->names[k], "s%lld", (long long)i);
        b->name_p[k] = b->names[k];
        b->len_vec[k] = i % 4;
        for (int j = 0; j < i % 4; j++)
            b->vec[nv++] = (float)i + 0.5f * (float)j;
        for (int j = 0; j < 6; j++)
            b->state[6 * k + j] = 10.0f * (float)i + (float)j;
        b->len_ids[k] = i % 3;
        int64_t two[2] = {i, -i};
        for (int j = 0; j < i % 3; j++)
            b->ids[ni++] = two[j];
        b->len_tasks[k] = i % 2;
        if (i % 2) {
            snprintf(b->tasks[nt], sizeof b->tasks[nt], "t%lld", (long long)i);
            b->task_p[nt] = b->tasks[nt], nt++;
        }
        for (int c = 0; c < 3; c++)
            b->img[3 * k + c] = (double)i + 0.1 * c;
    }
    memset(b->in, 0, sizeof b->in);
    b->in[C_I64].values = b->i64, b->in[C_I32].values = b->i32, b->in[C_F32].values = b->f32;
    b->in[C_F64].values = b->f64, b->in[C_FLAG].values = b->flag;
    b->in[C_NAME] = (tw_parquet_in){.strs = b->name_p, .valid = b->name_ok};
    b->in[C_VEC] = (tw_parquet_in){.values = b->vec, .lengths = b->len_vec};
    b->in[C_STATE].values = b->state;
    b->in[C_IDS] = (tw_parquet_in){.values = b->ids, .lengths = b->len_ids};
    b->in[C_TASKS] = (tw_parquet_in){.strs = b->task_p, .lengths = b->len_tasks};
    b->in[C_IMG].values = b->img;
}

/* Writes n rows of the "all" table in batches of `batch` rows. */
static void write_all(const char *path, int64_t n, int64_t batch, const tw_parquet_write_options *o)
{
    char msg[512] = "";
    tw_parquet_writer *w = NULL;
    int rc = tw_parquet_writer_open(path, all_fields, NCOLS, o, &w, msg, sizeof msg);
    if (rc != 0)
        fail_msg("open: %d %s", rc, msg);
    assert_int_equal(tw_parquet_writer_set_metadata(w, "huggingface", "{\"info\": {}}", msg, sizeof msg), 0);
    assert_int_equal(tw_parquet_writer_set_metadata(w, "tw", "parquet test", msg, sizeof msg), 0);
    all_batch *b = calloc(1, sizeof *b);
    for (int64_t r = 0; r < n; r += batch) {
        int64_t k = n - r < batch ? n - r : batch;
        fill_all(b, r, k);
        rc = tw_parquet_writer_write(w, k, b->in, msg, sizeof msg);
        if (rc != 0)
            fail_msg("write rows %lld: %d %s", (long long)r, rc, msg);
    }
    free(b);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_false(pq_exists(path)); /* nothing at the final name before close */
    assert_true(pq_exists(tmp));
    rc = tw_parquet_writer_close(w, msg, sizeof msg);
    if (rc != 0)
        fail_msg("close: %d %s", rc, msg);
    assert_true(pq_exists(path));
    assert_false(pq_exists(tmp));
}

static void check_with_pyarrow(const char *args)
{
    char script[1024];
    int rc = pq_sh("'%s' '%s' %s", pq_python(), pq_script(script, sizeof script, "check_written.py"), args);
    if (rc != 0)
        fail_msg("check_written.py %s: exit %d (python %s)", args, rc, pq_python());
}

static void test_pyarrow_reads_every_column_type_we_write(void **state)
{
    char path[1024], args[1200];
    tw_parquet_write_options o;
    tw_parquet_write_options_init(&o);
    o.row_group_rows = 1000;
    snprintf(path, sizeof path, "%s/all.parquet", g_dir);
    write_all(path, 2500, 300, &o);
    snprintf(args, sizeof args, "all '%s' 2500 snappy 1000", path);
    check_with_pyarrow(args);
}

static void test_codecs_and_page_v2(void **state)
{
    static const struct {
        tw_parquet_codec codec;
        const char *name;
        int v2;
    } cases[] = {{TW_PQ_ZSTD, "zstd", 0}, {TW_PQ_GZIP, "gzip", 1}, {TW_PQ_UNCOMPRESSED, "none", 0},
                 {TW_PQ_SNAPPY, "snappy", 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char path[1024], args[1200];
        tw_parquet_write_options o;
        tw_parquet_write_options_init(&o);
        o.codec = cases[c].codec, o.page_v2 = cases[c].v2, o.row_group_rows = 400, o.dictionary = (int)(c % 2);
        snprintf(path, sizeof path, "%s/codec_%s_%d.parquet", g_dir, cases[c].name, cases[c].v2);
        write_all(path, 1000, 512, &o);
        snprintf(args, sizeof args, "all '%s' 1000 %s 400", path, cases[c].name);
        check_with_pyarrow(args);
    }
}

static void test_our_reader_reads_what_we_write(void **state)
{
    char path[1024], msg[512];
    snprintf(path, sizeof path, "%s/all.parquet", g_dir);
    if (!pq_exists(path))
        write_all(path, 2500, 300, NULL);
    tw_parquet_reader *r = NULL;
    assert_int_equal(tw_parquet_open(path, &r, msg, sizeof msg), 0);
    assert_string_equal(tw_parquet_metadata_get(r, "tw"), "parquet test");
    all_batch *b = calloc(1, sizeof *b);
    fill_all(b, 700, 400);
    size_t c;
    float st[6 * 400];
    int64_t len[400];
    tw_parquet_out out = {.values = st, .values_cap = 6 * 400, .lengths = len};
    assert_int_equal(tw_parquet_find(r, "state", &c), 0);
    assert_int_equal(tw_parquet_read(r, c, 700, 400, TW_PQ_FLOAT32, &out, msg, sizeof msg), 0);
    assert_memory_equal(st, b->state, sizeof st);
    tw_parquet_column_info ci;
    assert_int_equal(tw_parquet_find(r, "img_mean", &c), 0);
    assert_int_equal(tw_parquet_column(r, c, &ci), 0);
    assert_int_equal(ci.nlevels, 3);
    double img[3 * 400];
    out = (tw_parquet_out){.values = img, .values_cap = 3 * 400, .lengths = len};
    assert_int_equal(tw_parquet_read(r, c, 700, 400, TW_PQ_FLOAT64, &out, msg, sizeof msg), 0);
    assert_memory_equal(img, b->img, sizeof img);
    assert_int_equal(len[0], 3);
    free(b);
    tw_parquet_close(r);
}

static const char HF[] =
    "{\"info\": {\"features\": {\"observation.state\": {\"feature\": {\"dtype\": \"float32\", \"_type\": \"Value\"}, "
    "\"length\": 6, \"_type\": \"List\"}, \"action\": {\"feature\": {\"dtype\": \"float32\", \"_type\": \"Value\"}, "
    "\"length\": 6, \"_type\": \"List\"}, \"timestamp\": {\"dtype\": \"float32\", \"_type\": \"Value\"}, "
    "\"frame_index\": {\"dtype\": \"int64\", \"_type\": \"Value\"}, \"episode_index\": {\"dtype\": \"int64\", "
    "\"_type\": \"Value\"}, \"index\": {\"dtype\": \"int64\", \"_type\": \"Value\"}, \"task_index\": {\"dtype\": "
    "\"int64\", \"_type\": \"Value\"}}}}";

static void test_writes_lerobot_v3_data_like_lerobot(void **state)
{
    /* data/chunk-000/file-000.parquet as LeRobot writes it: HF features metadata, vectors as
     * fixed_size_list<float32, 6>, snappy, one row group per episode. */
    static const tw_parquet_field f[] = {
        {"observation.state", TW_PQ_FLOAT32, 1, {{6, 1}}, 0}, {"action", TW_PQ_FLOAT32, 1, {{6, 1}}, 0},
        {"timestamp", TW_PQ_FLOAT32, 0, {{0}}, 0},           {"frame_index", TW_PQ_INT64, 0, {{0}}, 0},
        {"episode_index", TW_PQ_INT64, 0, {{0}}, 0},         {"index", TW_PQ_INT64, 0, {{0}}, 0},
        {"task_index", TW_PQ_INT64, 0, {{0}}, 0},
    };
    static const int eps[] = {30, 45, 25};
    char path[1024], args[1200], msg[512] = "";
    snprintf(path, sizeof path, "%s/file-000.parquet", g_dir);
    tw_parquet_writer *w = NULL;
    assert_int_equal(tw_parquet_writer_open(path, f, 7, NULL, &w, msg, sizeof msg), 0);
    assert_int_equal(tw_parquet_writer_set_metadata(w, "huggingface", HF, msg, sizeof msg), 0);
    int64_t start = 0;
    for (int e = 0; e < 3; e++) {
        float st[6 * 45], act[6 * 45], ts[45];
        int64_t fi[45], ep[45], idx[45], task[45];
        for (int k = 0; k < eps[e]; k++) {
            for (int j = 0; j < 6; j++)
                st[6 * k + j] = (float)((start + k) * 6 + j) / 8, act[6 * k + j] = -st[6 * k + j];
            ts[k] = (float)((double)k / 30), fi[k] = k, ep[k] = e, idx[k] = start + k, task[k] = e % 2;
        }
        tw_parquet_in in[7] = {{.values = st}, {.values = act}, {.values = ts}, {.values = fi},
                               {.values = ep},  {.values = idx}, {.values = task}};
        int rc = tw_parquet_writer_write(w, eps[e], in, msg, sizeof msg);
        if (rc == 0)
            rc = tw_parquet_writer_flush(w, msg, sizeof msg);
        if (rc != 0)
            fail_msg("episode %d: %d %s", e, rc, msg);
        start += eps[e];
    }
    assert_int_equal(tw_parquet_writer_close(w, msg, sizeof msg), 0);
    snprintf(args, sizeof args, "lerobot '%s'", path);
    check_with_pyarrow(args);
}

static const char PANDAS[] =
    "{\"index_columns\": [\"task\"], \"column_indexes\": [{\"name\": null, \"field_name\": null, "
    "\"pandas_type\": \"unicode\", \"numpy_type\": \"str\", \"metadata\": {\"encoding\": \"UTF-8\"}}], "
    "\"columns\": [{\"name\": \"task_index\", \"field_name\": \"task_index\", \"pandas_type\": \"int64\", "
    "\"numpy_type\": \"int64\", \"metadata\": null}, {\"name\": \"task\", \"field_name\": \"task\", "
    "\"pandas_type\": \"object\", \"numpy_type\": \"str\", \"metadata\": null}], \"attributes\": {}, "
    "\"creator\": {\"library\": \"pyarrow\", \"version\": \"26.0.1\"}, \"pandas_version\": \"3.1.1\"}";

static void test_writes_lerobot_v3_tasks_that_pandas_indexes(void **state)
{
    /* meta/tasks.parquet: LeRobot reads it with pd.read_parquet and expects the task strings as the index,
     * which pandas restores from the "pandas" metadata. Values given as bytes + offsets this time. */
    static const tw_parquet_field f[] = {{"task_index", TW_PQ_INT64, 0, {{0}}, 0}, {"task", TW_PQ_UTF8, 0, {{0}}, 0}};
    char path[1024], args[1200], msg[512] = "";
    snprintf(path, sizeof path, "%s/tasks.parquet", g_dir);
    tw_parquet_writer *w = NULL;
    assert_int_equal(tw_parquet_writer_open(path, f, 2, NULL, &w, msg, sizeof msg), 0);
    assert_int_equal(tw_parquet_writer_set_metadata(w, "pandas", PANDAS, msg, sizeof msg), 0);
    int64_t idx[3] = {0, 1, 2}, off[4] = {0, 13, 21, 25};
    tw_parquet_in in[2] = {{.values = idx}, {.values = "pick the cubeplace itpush", .offsets = off}};
    assert_int_equal(tw_parquet_writer_write(w, 3, in, msg, sizeof msg), 0);
    assert_int_equal(tw_parquet_writer_close(w, msg, sizeof msg), 0);
    snprintf(args, sizeof args, "tasks '%s'", path);
    check_with_pyarrow(args);
}

static void test_abort_leaves_nothing(void **state)
{
    char path[1024], tmp[1100], msg[512];
    snprintf(path, sizeof path, "%s/aborted.parquet", g_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    tw_parquet_writer *w = NULL;
    assert_int_equal(tw_parquet_writer_open(path, all_fields, 1, NULL, &w, msg, sizeof msg), 0);
    int64_t v[3] = {1, 2, 3};
    tw_parquet_in in = {.values = v};
    assert_int_equal(tw_parquet_writer_write(w, 3, &in, msg, sizeof msg), 0);
    assert_true(pq_exists(tmp));
    tw_parquet_writer_abort(w);
    assert_false(pq_exists(tmp));
    assert_false(pq_exists(path));
    tw_parquet_writer_abort(NULL);
}

static void test_rejects_bad_shapes_types_and_order(void **state)
{
    char path[1024], msg[512];
    snprintf(path, sizeof path, "%s/bad.parquet", g_dir);
    tw_parquet_writer *w = NULL;
    tw_parquet_field bad = {"x", TW_PQ_UINT16, 0, {{0}}, 0};
    assert_int_equal(tw_parquet_writer_open(path, &bad, 1, NULL, &w, msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, "'x'"));
    tw_parquet_field twice[2] = {all_fields[C_I64], all_fields[C_I64]};
    assert_int_equal(tw_parquet_writer_open(path, twice, 2, NULL, &w, msg, sizeof msg), TW_EDUP_STREAM);
    tw_parquet_field inner_var = {"x", TW_PQ_FLOAT32, 2, {{0, 0}, {0, 0}}, 0};
    assert_int_equal(tw_parquet_writer_open(path, &inner_var, 1, NULL, &w, msg, sizeof msg), TW_EINVAL);
    tw_parquet_field fields[2] = {all_fields[C_IMG], {"req", TW_PQ_UTF8, 0, {{0}}, 1}};
    assert_int_equal(tw_parquet_writer_open(path, fields, 2, NULL, &w, msg, sizeof msg), 0);
    double img[7] = {0};
    int64_t len[2] = {3, 4}; /* ignored: img_mean has a constant first level of 3 */
    const char *ok[2] = {"a", "b"}, *bad_utf8[2] = {"a", "\xff\xfe"};
    uint8_t valid[2] = {1, 0};
    tw_parquet_in in[2] = {{.values = img, .lengths = len}, {.strs = bad_utf8}};
    assert_int_equal(tw_parquet_writer_write(w, 2, in, msg, sizeof msg), TW_EUTF8);
    assert_non_null(strstr(msg, "req"));
    in[1] = (tw_parquet_in){.strs = ok, .valid = valid};
    assert_int_equal(tw_parquet_writer_write(w, 2, in, msg, sizeof msg), TW_EINVAL); /* null in required */
    in[1].valid = NULL;
    assert_int_equal(tw_parquet_writer_write(w, 2, in, msg, sizeof msg), 0);
    assert_int_equal(tw_parquet_writer_set_metadata(w, "late", "x", msg, sizeof msg), TW_ESTATE);
    tw_parquet_writer_abort(w);

    tw_parquet_field vec = all_fields[C_STATE];
    vec.levels[0] = (tw_parquet_level){0, 0};
    vec.nlevels = 2, vec.levels[1] = (tw_parquet_level){3, 1}; /* list<fixed_size_list<float, 3>> */
    assert_int_equal(tw_parquet_writer_open(path, &vec, 1, NULL, &w, msg, sizeof msg), 0);
    float v[8] = {0};
    int64_t bad_len[2] = {3, 4}; /* 4 is not a multiple of 3 */
    tw_parquet_in vin = {.values = v, .lengths = bad_len};
    assert_int_equal(tw_parquet_writer_write(w, 2, &vin, msg, sizeof msg), TW_ESHAPE);
    tw_parquet_writer_abort(w);
    assert_false(pq_exists(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyarrow_reads_every_column_type_we_write),
        cmocka_unit_test(test_codecs_and_page_v2),
        cmocka_unit_test(test_our_reader_reads_what_we_write),
        cmocka_unit_test(test_writes_lerobot_v3_data_like_lerobot),
        cmocka_unit_test(test_writes_lerobot_v3_tasks_that_pandas_indexes),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_rejects_bad_shapes_types_and_order),
    };
    return cmocka_run_group_tests_name("parquet_writer", tests, group_setup, group_teardown);
}
