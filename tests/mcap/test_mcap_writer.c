/* tw_mcap writer: files written through the C API read back identically by our reader and by
 * Foxglove's Python mcap (check_written.py); nothing appears under the final name before close;
 * abort and failed writes leave no file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mcap_fixture.h"

#define N_MSG 3000

typedef struct {
    char dir[256];
    char path[300];
    json_t *exp;
} wfx;

static int setup(void **state)
{
    wfx *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/tw-mcap-w-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/out.mcap", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    wfx *f = *state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    json_decref(f->exp);
    free(f);
    return 0;
}

static char *hex(const uint8_t *d, size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", d[i]);
    s[2 * n] = 0;
    return s;
}

static json_t *jhex(const uint8_t *d, size_t n)
{
    char *s = hex(d, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

#define OK(call)                                                                 \
    do {                                                                         \
        char m_[512] = "";                                                       \
        int rc_ = (call);                                                        \
        if (rc_ != 0)                                                            \
            fail_msg("%s -> %d: %s", #call, rc_, m_);                            \
    } while (0)

/* Writes schemas, channels, N_MSG messages, metadata and attachments; records them in f->exp. */
static void write_file(wfx *f, tw_mcap_compression comp, int use_chunks)
{
    tw_mcap_write_opts o;
    tw_mcap_write_opts_init(&o);
    o.compression = comp;
    o.use_chunks = use_chunks;
    o.chunk_size = 16 * 1024;
    o.profile = "x-teleworld-test";
    tw_mcap_writer *w;
    OK(tw_mcap_writer_open(f->path, &o, &w, m_, sizeof m_));
    assert_int_equal(access(f->path, F_OK), -1); /* nothing under the final name yet */
    json_decref(f->exp);
    f->exp = json_pack("{s:s, s:[], s:[], s:[], s:[], s:[], s:[]}", "profile", "x-teleworld-test", "schemas",
                       "channels", "messages", "metadata", "attachments", "chunk_compression");
    if (use_chunks)
        json_array_append_new(json_object_get(f->exp, "chunk_compression"),
                              json_string(comp == TW_MCAP_LZ4 ? "lz4" : comp == TW_MCAP_ZSTD ? "zstd" : ""));
    static const uint8_t sdata[] = "float64 x\nfloat64 y\n";
    uint16_t sid, c1, c2;
    OK(tw_mcap_writer_add_schema(w, "pkg/msg/Point", "ros2msg", sdata, sizeof sdata - 1, &sid, m_, sizeof m_));
    json_array_append_new(json_object_get(f->exp, "schemas"),
                          json_pack("{s:i, s:s, s:s, s:o}", "id", sid, "name", "pkg/msg/Point", "encoding", "ros2msg",
                                    "data", jhex(sdata, sizeof sdata - 1)));
    const char *keys[] = {"frame", "qos"}, *vals[] = {"base", "reliable"};
    OK(tw_mcap_writer_add_channel(w, sid, "/point", "cdr", keys, vals, 2, &c1, m_, sizeof m_));
    OK(tw_mcap_writer_add_channel(w, 0, "/raw", "application/octet-stream", NULL, NULL, 0, &c2, m_, sizeof m_));
    json_array_append_new(json_object_get(f->exp, "channels"),
                          json_pack("{s:i, s:s, s:s, s:i, s:{s:s, s:s}}", "id", c1, "topic", "/point", "encoding", "cdr",
                                    "schema_id", sid, "metadata", "frame", "base", "qos", "reliable"));
    json_array_append_new(json_object_get(f->exp, "channels"),
                          json_pack("{s:i, s:s, s:s, s:i, s:{}}", "id", c2, "topic", "/raw", "encoding",
                                    "application/octet-stream", "schema_id", 0, "metadata"));
    uint8_t buf[300];
    for (uint32_t i = 0; i < N_MSG; i++) {
        size_t n = (i * 7) % 300; /* includes empty messages */
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)(i + k);
        tw_mcap_message m = {(i % 3) ? c1 : c2, i, 1000000000ull + i * 1000ull, 999999000ull + i * 1000ull, buf, n};
        OK(tw_mcap_writer_write(w, &m, m_, sizeof m_));
        json_array_append_new(json_object_get(f->exp, "messages"),
                              json_pack("[i, i, I, I, o]", m.channel_id, m.sequence, (json_int_t)m.log_time,
                                        (json_int_t)m.publish_time, jhex(buf, n)));
    }
    const char *mk[] = {"robot"}, *mv[] = {"ur5e"};
    OK(tw_mcap_writer_add_metadata(w, "rig", mk, mv, 1, m_, sizeof m_));
    json_array_append_new(json_object_get(f->exp, "metadata"), json_pack("[s, {s:s}]", "rig", "robot", "ur5e"));
    static const uint8_t att[] = {0, 1, 2, 3, 250, 251, 252};
    OK(tw_mcap_writer_add_attachment(w, "calib.bin", "application/octet-stream", 5, 6, att, sizeof att, m_, sizeof m_));
    json_array_append_new(json_object_get(f->exp, "attachments"),
                          json_pack("[s, s, i, i, o]", "calib.bin", "application/octet-stream", 5, 6, jhex(att, sizeof att)));
    assert_int_equal(access(f->path, F_OK), -1);
    OK(tw_mcap_writer_close(w, m_, sizeof m_));
    assert_int_equal(access(f->path, F_OK), 0);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    assert_int_equal(access(tmp, F_OK), -1);
}

/* Our own reader sees exactly what was written. */
static void read_back(wfx *f)
{
    tw_mcap_reader *r;
    OK(tw_mcap_reader_open(f->path, NULL, &r, m_, sizeof m_));
    json_t *msgs = json_object_get(f->exp, "messages");
    tw_mcap_message m;
    size_t i = 0;
    char msg[256];
    while (tw_mcap_reader_next(r, &m, msg, sizeof msg) == 1) {
        json_t *e = json_array_get(msgs, i++);
        assert_non_null(e);
        assert_int_equal(m.sequence, json_integer_value(json_array_get(e, 1)));
        assert_int_equal(m.log_time, json_integer_value(json_array_get(e, 2)));
        char *h = hex(m.data, m.data_len);
        assert_string_equal(h, json_string_value(json_array_get(e, 4)));
        free(h);
    }
    assert_int_equal(i, json_array_size(msgs));
    tw_mcap_info info;
    tw_mcap_reader_info(r, &info);
    assert_int_equal(info.indexed, 1);
    assert_int_equal(tw_mcap_reader_attachment_count(r), 1);
    assert_int_equal(tw_mcap_reader_metadata_count(r), 1);
    tw_mcap_reader_close(r);
}

static void python_reads_identical(wfx *f)
{
    char ep[320], args[700];
    snprintf(ep, sizeof ep, "%s/expect.json", f->dir);
    assert_int_equal(json_dump_file(f->exp, ep, 0), 0);
    snprintf(args, sizeof args, "'%s' '%s'", f->path, ep);
    assert_int_equal(mcap_fx_python("check_written.py", args), 0);
}

static void roundtrip(void **state, tw_mcap_compression c, int chunks)
{
    wfx *f = *state;
    write_file(f, c, chunks);
    read_back(f);
    python_reads_identical(f);
}

static void test_zstd_file_reads_back_identically(void **state) { roundtrip(state, TW_MCAP_ZSTD, 1); }
static void test_lz4_file_reads_back_identically(void **state) { roundtrip(state, TW_MCAP_LZ4, 1); }
static void test_unchunked_file_reads_back_identically(void **state) { roundtrip(state, TW_MCAP_UNCOMPRESSED, 0); }

static void test_abort_leaves_no_file(void **state)
{
    wfx *f = *state;
    tw_mcap_writer *w;
    OK(tw_mcap_writer_open(f->path, NULL, &w, m_, sizeof m_));
    uint16_t id;
    OK(tw_mcap_writer_add_channel(w, 0, "/a", "json", NULL, NULL, 0, &id, m_, sizeof m_));
    tw_mcap_writer_abort(w);
    tw_mcap_writer_abort(NULL);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(f->path, F_OK), -1);
}

static void test_failed_write_is_never_renamed_into_place(void **state)
{
    wfx *f = *state;
    tw_mcap_writer *w;
    char msg[256];
    OK(tw_mcap_writer_open(f->path, NULL, &w, m_, sizeof m_));
    tw_mcap_message m = {42, 0, 1, 1, (const uint8_t *)"x", 1};
    assert_int_equal(tw_mcap_writer_write(w, &m, msg, sizeof msg), TW_ENOT_FOUND); /* unknown channel */
    assert_non_null(strstr(msg, "channel 42"));
    assert_int_equal(tw_mcap_writer_close(w, msg, sizeof msg), TW_ESTATE);
    assert_int_equal(access(f->path, F_OK), -1);
}

static void test_bad_writer_arguments(void **state)
{
    wfx *f = *state;
    char msg[256];
    tw_mcap_writer *w;
    tw_mcap_write_opts o;
    tw_mcap_write_opts_init(&o);
    o.compression = (tw_mcap_compression)9;
    assert_int_equal(tw_mcap_writer_open(f->path, &o, &w, msg, sizeof msg), TW_EUNSUPPORTED);
    assert_null(w);
    assert_int_equal(tw_mcap_writer_open("/nonexistent-dir/x.mcap", NULL, &w, msg, sizeof msg), TW_ENOT_FOUND);
    assert_non_null(strstr(msg, "/nonexistent-dir/x.mcap.tmp"));
    assert_int_equal(tw_mcap_writer_write(NULL, NULL, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_mcap_writer_close(NULL, msg, sizeof msg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zstd_file_reads_back_identically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lz4_file_reads_back_identically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unchunked_file_reads_back_identically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_no_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_is_never_renamed_into_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_writer_arguments, setup, teardown),
    };
    return cmocka_run_group_tests_name("mcap_writer", tests, NULL, NULL);
}
