/* foxglove.CompressedVideo in protobuf: a message serialised by Foxglove's own compiled schema
 * (foxglove-schemas-protobuf), unknown fields skipped, damaged bytes refused with an offset. */
#include "r2fx.h"
#include "tw_core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static r2fx fx;
static uint8_t *pb;
static size_t pb_len;

static int setup(void **state)
{
    (void)state;
    if (r2fx_gen(&fx, "pb") != 0) return -1;
    pb = r2fx_read(&fx, "pb_video.bin", &pb_len);
    return pb ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(pb);
    r2fx_free(&fx);
    return 0;
}

static void test_pb_video_from_foxglove_schema(void **state)
{
    (void)state;
    json_t *want = r2fx_json(&fx, "pb_video.expect.json");
    tw_ros2_frame f;
    char err[256], hex[64] = "";
    assert_int_equal(tw_ros2_decode_pb_video(pb, pb_len, &f, err, sizeof err), 0);
    assert_int_equal(f.stamp_ns, json_integer_value(json_object_get(want, "stamp_ns")));
    assert_int_equal(f.format, TW_ROS2_FMT_H264);
    assert_string_equal(f.format_str, json_string_value(json_object_get(want, "format")));
    for (size_t i = 0; i < f.len && 2 * i + 2 < sizeof hex; i++) snprintf(hex + 2 * i, 3, "%02x", f.data[i]);
    assert_string_equal(hex, json_string_value(json_object_get(want, "hex")));
    json_decref(want);
}

static void test_pb_skips_unknown_fields(void **state)
{
    (void)state;
    uint8_t buf[256];
    memcpy(buf, pb, pb_len);
    /* field 9 fixed64, field 10 varint, field 11 fixed32, field 12 LEN */
    const uint8_t extra[] = {0x49, 1, 2, 3, 4, 5, 6, 7, 8, 0x50, 0x96, 0x01, 0x5d, 1, 2, 3, 4, 0x62, 2, 'h', 'i'};
    memcpy(buf + pb_len, extra, sizeof extra);
    tw_ros2_frame f;
    char err[256];
    assert_int_equal(tw_ros2_decode_pb_video(buf, pb_len + sizeof extra, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_H264);
    assert_int_equal(f.len, 7);
}

static void test_pb_refuses_damage(void **state)
{
    (void)state;
    tw_ros2_frame f;
    char err[256];
    for (size_t cut = 1; cut < pb_len; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, pb, cut);
        int rc = tw_ros2_decode_pb_video(copy, cut, &f, err, sizeof err);
        free(copy);
        /* a cut between two fields is a shorter valid message; inside the last field
         * (format: key, length, "h264") it must be refused */
        if (cut > pb_len - 6) assert_int_equal(rc, TW_ETRUNCATED);
        if (rc != 0) assert_non_null(strstr(err, "at byte"));
    }
    const uint8_t group[] = {0x0b}; /* field 1, start group */
    assert_int_equal(tw_ros2_decode_pb_video(group, 1, &f, err, sizeof err), TW_EUNSUPPORTED);
    const uint8_t longvar[] = {0x50, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(tw_ros2_decode_pb_video(longvar, sizeof longvar, &f, err, sizeof err), TW_EINTEGRITY);
    const uint8_t past[] = {0x1a, 0x7f, 0x00};
    assert_int_equal(tw_ros2_decode_pb_video(past, sizeof past, &f, err, sizeof err), TW_ETRUNCATED);
    assert_non_null(strstr(err, "field 3 at byte 0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_video_from_foxglove_schema),
        cmocka_unit_test(test_pb_skips_unknown_fields),
        cmocka_unit_test(test_pb_refuses_damage),
    };
    return cmocka_run_group_tests_name("ros2_pb", tests, setup, teardown);
}
