/* Recovery: a file whose recorder was killed (no summary, no footer) and a file cut in the middle
 * of a chunk are read by scanning: everything before the damage, in log-time order, with a
 * warning that says where reading stopped; not an error. Damage before the cut still is one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mcap_fixture.h"

static void check_recovered(void **state, const char *name, const char *why)
{
    mcap_fx *fx = *state;
    json_t *e = json_object_get(fx->expect, name);
    tw_mcap_reader *r = NULL;
    char msg[512] = "";
    int rc = tw_mcap_reader_open(mcap_fx_path(fx, name), NULL, &r, msg, sizeof msg);
    if (rc)
        fail_msg("%s", msg);
    tw_mcap_info info;
    assert_int_equal(tw_mcap_reader_info(r, &info), 0);
    assert_int_equal(info.recovered, 1);
    assert_int_equal(info.indexed, 0);
    assert_int_equal(info.log_time_order, 1);
    assert_string_equal(info.profile, "ros2");
    json_int_t stop = json_integer_value(json_object_get(e, "stop_offset"));
    assert_int_equal(info.stop_offset, stop);
    char want[64];
    snprintf(want, sizeof want, "stopped at byte %lld", (long long)stop);
    if (!strstr(info.warning, want) || !strstr(info.warning, why) || !strstr(info.warning, name))
        fail_msg("warning '%s' lacks '%s' / '%s'", info.warning, want, why);
    /* schemas and channels were inside the chunks: found by the scan */
    assert_int_equal(tw_mcap_reader_schema_count(r), 2);
    assert_int_equal(tw_mcap_reader_channel_count(r), 3);
    mcap_walk w;
    mcap_fx_walk(r, &w);
    if (w.rc)
        fail_msg("%s", w.msg);
    assert_int_equal(w.count, json_integer_value(json_object_get(e, "messages")));
    assert_true(w.checksum == (uint64_t)json_integer_value(json_object_get(e, "checksum")));
    assert_int_equal(w.out_of_order, 0);
    tw_mcap_reader_close(r);
}

static void test_killed_recorder_file_reads_all_written_chunks(void **state)
{
    check_recovered(state, "nosummary.mcap", "end of the file");
}

static void test_cut_mid_chunk_reads_everything_before_the_cut(void **state)
{
    check_recovered(state, "cut.mcap", "chunk record at byte");
}

static void test_crc_mismatch_while_scanning_is_an_error(void **state)
{
    mcap_fx *fx = *state;
    tw_mcap_reader *r = NULL;
    char msg[512] = "";
    assert_int_equal(tw_mcap_reader_open(mcap_fx_path(fx, "nosummary_badcrc.mcap"), NULL, &r, msg, sizeof msg), TW_EINTEGRITY);
    assert_null(r);
    char want[64];
    json_int_t off = json_integer_value(json_object_get(json_object_get(fx->expect, "nosummary_badcrc.mcap"), "chunk_offset"));
    snprintf(want, sizeof want, "chunk at byte %lld", (long long)off);
    if (!strstr(msg, want) || !strstr(msg, "CRC mismatch") || !strstr(msg, "nosummary_badcrc.mcap"))
        fail_msg("message '%s' lacks '%s'", msg, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_recorder_file_reads_all_written_chunks),
        cmocka_unit_test(test_cut_mid_chunk_reads_everything_before_the_cut),
        cmocka_unit_test(test_crc_mismatch_while_scanning_is_an_error),
    };
    return cmocka_run_group_tests_name("mcap_recover", tests, mcap_fx_setup, mcap_fx_teardown);
}
