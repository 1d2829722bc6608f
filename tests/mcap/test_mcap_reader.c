/* tw_mcap reader on files written by Foxglove's Python mcap + mcap-ros2-support: everything
 * Python's reader finds is found, messages come in log-time order, and damaged files fail with
 * an error that names the file, the byte offset and the record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "mcap_fixture.h"

static tw_mcap_reader *open_ok(const mcap_fx *fx, const char *name)
{
    tw_mcap_reader *r = NULL;
    char msg[512] = "";
    int rc = tw_mcap_reader_open(mcap_fx_path(fx, name), NULL, &r, msg, sizeof msg);
    if (rc != 0)
        print_error("%s: %s\n", name, msg);
    assert_int_equal(rc, 0);
    assert_non_null(r);
    return r;
}

static void check_catalog(tw_mcap_reader *r, json_t *e)
{
    json_t *chans = json_object_get(e, "channels"), *schemas = json_object_get(e, "schemas");
    assert_int_equal(tw_mcap_reader_channel_count(r), json_object_size(chans));
    assert_int_equal(tw_mcap_reader_schema_count(r), json_object_size(schemas));
    const char *key;
    json_t *v;
    json_object_foreach(chans, key, v) {
        tw_mcap_channel c;
        assert_int_equal(tw_mcap_reader_channel_by_id(r, (uint16_t)atoi(key), &c), 0);
        assert_string_equal(c.topic, json_string_value(json_object_get(v, "topic")));
        assert_string_equal(c.message_encoding, json_string_value(json_object_get(v, "encoding")));
        assert_int_equal(c.schema_id, json_integer_value(json_object_get(v, "schema_id")));
        json_t *meta = json_object_get(v, "metadata");
        assert_int_equal(c.n_metadata, json_object_size(meta));
        for (size_t i = 0; i < c.n_metadata; i++)
            assert_string_equal(c.metadata_values[i], json_string_value(json_object_get(meta, c.metadata_keys[i])));
    }
    json_object_foreach(schemas, key, v) {
        tw_mcap_schema s;
        assert_int_equal(tw_mcap_reader_schema_by_id(r, (uint16_t)atoi(key), &s), 0);
        assert_string_equal(s.name, json_string_value(json_object_get(v, "name")));
        assert_string_equal(s.encoding, json_string_value(json_object_get(v, "encoding")));
        assert_int_equal(crc32(0L, s.data, (uInt)s.data_len), json_integer_value(json_object_get(v, "crc")));
    }
}

static void check_meta_attachments(tw_mcap_reader *r, json_t *e)
{
    json_t *meta = json_object_get(e, "metadata"), *att = json_object_get(e, "attachments");
    assert_int_equal(tw_mcap_reader_metadata_count(r), json_array_size(meta));
    for (size_t i = 0; i < json_array_size(meta); i++) {
        tw_mcap_metadata m;
        json_t *em = json_array_get(meta, i), *kv = json_object_get(em, "metadata");
        assert_int_equal(tw_mcap_reader_metadata(r, i, &m), 0);
        assert_string_equal(m.name, json_string_value(json_object_get(em, "name")));
        assert_int_equal(m.n, json_object_size(kv));
        for (size_t k = 0; k < m.n; k++)
            assert_string_equal(m.values[k], json_string_value(json_object_get(kv, m.keys[k])));
    }
    assert_int_equal(tw_mcap_reader_attachment_count(r), json_array_size(att));
    for (size_t i = 0; i < json_array_size(att); i++) {
        tw_mcap_attachment a;
        json_t *ea = json_array_get(att, i);
        assert_int_equal(tw_mcap_reader_attachment(r, i, &a), 0);
        assert_string_equal(a.name, json_string_value(json_object_get(ea, "name")));
        assert_string_equal(a.media_type, json_string_value(json_object_get(ea, "media_type")));
        assert_int_equal(a.log_time, json_integer_value(json_object_get(ea, "log_time")));
        assert_int_equal(a.create_time, json_integer_value(json_object_get(ea, "create_time")));
        const uint8_t *d;
        size_t n;
        char msg[256];
        assert_int_equal(tw_mcap_reader_attachment_data(r, i, &d, &n, msg, sizeof msg), 0);
        assert_int_equal(n, json_integer_value(json_object_get(ea, "len")));
        assert_int_equal(crc32(0L, d, (uInt)n), json_integer_value(json_object_get(ea, "crc")));
    }
}

static void check_file(void **state, const char *name, int want_order)
{
    mcap_fx *fx = *state;
    json_t *e = json_object_get(fx->expect, name);
    tw_mcap_reader *r = open_ok(fx, name);
    tw_mcap_info info;
    assert_int_equal(tw_mcap_reader_info(r, &info), 0);
    assert_int_equal(info.indexed, 1);
    assert_int_equal(info.recovered, 0);
    assert_string_equal(info.warning, "");
    assert_string_equal(info.profile, json_string_value(json_object_get(e, "profile")));
    check_catalog(r, e);
    check_meta_attachments(r, e);
    mcap_walk w;
    mcap_fx_walk(r, &w);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.count, json_integer_value(json_object_get(e, "messages")));
    assert_int_equal(info.message_count, w.count);
    assert_true(w.checksum == (uint64_t)json_integer_value(json_object_get(e, "checksum")));
    assert_int_equal(info.log_time_order, want_order); /* unchunked: no index, file order */
    if (want_order)
        assert_int_equal(w.out_of_order, 0);
    /* after the end, next keeps saying so */
    tw_mcap_message m;
    assert_int_equal(tw_mcap_reader_next(r, &m, NULL, 0), 0);
    tw_mcap_reader_close(r);
}

static void test_reads_indexed_zstd_in_log_time_order(void **state) { check_file(state, "indexed_zstd.mcap", 1); }
static void test_reads_indexed_lz4_in_log_time_order(void **state) { check_file(state, "indexed_lz4.mcap", 1); }
static void test_reads_unchunked(void **state) { check_file(state, "unchunked.mcap", 0); }

static void test_small_buffer_budget_falls_back_to_file_order(void **state)
{
    mcap_fx *fx = *state;
    json_t *e = json_object_get(fx->expect, "indexed_zstd.mcap");
    tw_mcap_read_opts o;
    tw_mcap_read_opts_init(&o);
    o.max_buffer_bytes = 1; /* less than any chunk: overlapping chunks may not be held together */
    tw_mcap_reader *r = NULL;
    char msg[512];
    assert_int_equal(tw_mcap_reader_open(mcap_fx_path(fx, "indexed_zstd.mcap"), &o, &r, msg, sizeof msg), 0);
    tw_mcap_info info;
    tw_mcap_reader_info(r, &info);
    assert_int_equal(info.log_time_order, 0);
    assert_non_null(strstr(info.warning, "file order"));
    mcap_walk w;
    mcap_fx_walk(r, &w);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.count, json_integer_value(json_object_get(e, "messages")));
    assert_true(w.checksum == (uint64_t)json_integer_value(json_object_get(e, "checksum")));
    assert_true(w.out_of_order > 0); /* the /late topic is written 50 ms behind */
    tw_mcap_reader_close(r);
}

static void expect_next_error(const mcap_fx *fx, const char *name, const char *needle)
{
    tw_mcap_reader *r = open_ok(fx, name);
    mcap_walk w;
    mcap_fx_walk(r, &w);
    assert_int_equal(w.rc, TW_EINTEGRITY);
    char want[128];
    json_int_t off = json_integer_value(json_object_get(json_object_get(fx->expect, name), "chunk_offset"));
    snprintf(want, sizeof want, "chunk at byte %lld", (long long)off);
    if (!strstr(w.msg, want) || !strstr(w.msg, needle) || !strstr(w.msg, name))
        fail_msg("message '%s' lacks '%s' / '%s' / the file name", w.msg, want, needle);
    /* the error sticks */
    tw_mcap_message m;
    assert_int_equal(tw_mcap_reader_next(r, &m, NULL, 0), TW_EINTEGRITY);
    tw_mcap_reader_close(r);
}

static void test_crc_mismatch_names_chunk_offset(void **state) { expect_next_error(*state, "badcrc.mcap", "CRC mismatch"); }
static void test_corrupt_chunk_names_chunk_offset(void **state) { expect_next_error(*state, "corrupt.mcap", "zstd"); }

static void test_summary_crc_mismatch_is_an_error(void **state)
{
    mcap_fx *fx = *state;
    tw_mcap_reader *r = NULL;
    char msg[512], want[64];
    assert_int_equal(tw_mcap_reader_open(mcap_fx_path(fx, "badsummary.mcap"), NULL, &r, msg, sizeof msg), TW_EINTEGRITY);
    assert_null(r);
    json_int_t off = json_integer_value(json_object_get(json_object_get(fx->expect, "badsummary.mcap"), "summary_offset"));
    snprintf(want, sizeof want, "summary section at byte %lld: CRC mismatch", (long long)off);
    if (!strstr(msg, want) || !strstr(msg, "badsummary.mcap"))
        fail_msg("message '%s' lacks '%s'", msg, want);
}

static void test_rejects_a_file_that_is_not_mcap(void **state)
{
    mcap_fx *fx = *state;
    tw_mcap_reader *r = (tw_mcap_reader *)1;
    char msg[256];
    assert_int_equal(tw_mcap_reader_open(mcap_fx_path(fx, "notmcap.mcap"), NULL, &r, msg, sizeof msg), TW_EBAD_MAGIC);
    assert_null(r);
    assert_non_null(strstr(msg, "notmcap.mcap"));
    assert_non_null(strstr(msg, "not an MCAP file"));
    assert_int_equal(tw_mcap_reader_open(mcap_fx_path(fx, "missing.mcap"), NULL, &r, msg, sizeof msg), TW_ENOT_FOUND);
}

static void test_bad_arguments_are_errors(void **state)
{
    (void)state;
    char msg[64];
    tw_mcap_reader *r;
    assert_int_equal(tw_mcap_reader_open(NULL, NULL, &r, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_mcap_reader_open("x", NULL, NULL, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_mcap_reader_next(NULL, NULL, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_mcap_reader_channel_count(NULL), 0);
    tw_mcap_reader_close(NULL);
}

static void test_error_codes_match_tw_err(void **state)
{
    (void)state; /* src/err.rs hard-codes these values */
    assert_int_equal(TW_EINVAL, -1);
    assert_int_equal(TW_ENOMEM, -2);
    assert_int_equal(TW_EIO, -3);
    assert_int_equal(TW_ETRUNCATED, -4);
    assert_int_equal(TW_ETOO_BIG, -5);
    assert_int_equal(TW_EBAD_MAGIC, -6);
    assert_int_equal(TW_EVERSION, -7);
    assert_int_equal(TW_ESTATE, -16);
    assert_int_equal(TW_ENOSPACE, -22);
    assert_int_equal(TW_ENOT_FOUND, -27);
    assert_int_equal(TW_EINTEGRITY, -30);
    assert_int_equal(TW_EUNSUPPORTED, -31);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_indexed_zstd_in_log_time_order),
        cmocka_unit_test(test_reads_indexed_lz4_in_log_time_order),
        cmocka_unit_test(test_reads_unchunked),
        cmocka_unit_test(test_small_buffer_budget_falls_back_to_file_order),
        cmocka_unit_test(test_crc_mismatch_names_chunk_offset),
        cmocka_unit_test(test_corrupt_chunk_names_chunk_offset),
        cmocka_unit_test(test_summary_crc_mismatch_is_an_error),
        cmocka_unit_test(test_rejects_a_file_that_is_not_mcap),
        cmocka_unit_test(test_bad_arguments_are_errors),
        cmocka_unit_test(test_error_codes_match_tw_err),
    };
    return cmocka_run_group_tests_name("mcap_reader", tests, mcap_fx_setup, mcap_fx_teardown);
}
