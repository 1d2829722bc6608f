/* The CDR encoder: what it writes decodes with our decoder, and with rosbags and
 * mcap-ros2-support (the latter from OUR canonical schema text); the texts themselves describe
 * the same fields as rosbags' definitions. */
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
static json_t *cases;

static int setup(void **state)
{
    (void)state;
    if (r2fx_gen(&fx, "encode") != 0) return -1;
    cases = r2fx_json(&fx, "enc.json");
    return cases ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(cases);
    r2fx_free(&fx);
    return 0;
}

static size_t f64s(const json_t *a, double *out, size_t cap)
{
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) if (i < cap) out[i] = json_number_value(e);
    return json_array_size(a);
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n && i < cap; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Encodes case `name` into buf with the encoder its name picks; *kind receives the kind. */
static int encode_case(const char *name, uint8_t *buf, size_t cap, size_t *len, tw_ros2_kind *kind)
{
    const json_t *c = json_object_get(cases, name);
    static double a[3][16];
    static const char *names[16];
    static uint8_t data[256];
    const char *frame = json_string_value(json_object_get(c, "frame_id"));
    int64_t stamp = json_integer_value(json_object_get(c, "stamp_ns"));
    char err[256];
    if (strncmp(name, "joint_state", 11) == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(c, "name"), i, e) names[i] = json_string_value(e);
        tw_ros2_enc_joint_state js = {stamp, frame, f64s(json_object_get(c, "position"), a[0], 16), names, a[0], a[1],
                                      a[2]};
        f64s(json_object_get(c, "velocity"), a[1], 16);
        f64s(json_object_get(c, "effort"), a[2], 16);
        *kind = TW_ROS2_JOINT_STATE;
        return tw_ros2_encode_joint_state(&js, buf, cap, len, err, sizeof err);
    }
    if (strcmp(name, "wrench") == 0) {
        tw_ros2_enc_wrench w = {stamp, frame, {0}, {0}};
        f64s(json_object_get(c, "force"), w.force, 3);
        f64s(json_object_get(c, "torque"), w.torque, 3);
        *kind = TW_ROS2_WRENCH_STAMPED;
        return tw_ros2_encode_wrench(&w, buf, cap, len, err, sizeof err);
    }
    if (strncmp(name, "f64_array", 9) == 0) {
        tw_ros2_enc_f64_array fa = {f64s(json_object_get(c, "data"), a[0], 16), a[0],
                                    json_string_value(json_object_get(c, "label"))};
        *kind = TW_ROS2_FLOAT64_ARRAY;
        return tw_ros2_encode_f64_array(&fa, buf, cap, len, err, sizeof err);
    }
    tw_ros2_enc_video v = {stamp, frame, json_string_value(json_object_get(c, "format")), data,
                           unhex(json_string_value(json_object_get(c, "data")), data, sizeof data)};
    *kind = TW_ROS2_COMPRESSED_VIDEO;
    return tw_ros2_encode_video(&v, buf, cap, len, err, sizeof err);
}

static void test_encode_sizes_then_fills(void **state)
{
    (void)state;
    const char *name;
    json_t *c;
    json_object_foreach(cases, name, c) {
        size_t need = 0, len = 0;
        tw_ros2_kind kind;
        assert_int_equal(encode_case(name, NULL, 0, &need, &kind), 0);
        uint8_t *buf = malloc(need);
        assert_int_equal(encode_case(name, buf, need, &len, &kind), 0);
        assert_int_equal(len, need);
        assert_int_equal(encode_case(name, buf, need - 1, &len, &kind), TW_EFULL);
        assert_int_equal(len, need);
        free(buf);
    }
}

/* Our own decoder reads back what the encoder wrote, through the canonical schema. */
static void test_encode_decodes_with_our_decoder(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t len;
    tw_ros2_kind kind;
    tw_ros2_msg *m;
    tw_ros2_schema *s;
    const char *type;
    char err[256];
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    assert_int_equal(encode_case("joint_state", buf, sizeof buf, &len, &kind), 0);
    const char *text = tw_ros2_schema_text(kind, &type);
    assert_int_equal(tw_ros2_schema_parse(text, type, &s, err, sizeof err), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, s, buf, len, err, sizeof err), 0);
    double pos[3];
    tw_ros2_joint_state js = {.cap = 3, .position = pos};
    assert_int_equal(tw_ros2_read_joint_state(m, &js, err, sizeof err), 0);
    assert_int_equal(js.stamp_ns, 1700000000123456789LL);
    assert_int_equal(js.n_name, 3);
    assert_true(pos[1] == -1.5);
    const char *str;
    size_t n;
    assert_int_equal(tw_ros2_get_string(m, "name[2]", &str, &n), 0);
    assert_string_equal(str, "ccc");
    tw_ros2_schema_free(s);

    assert_int_equal(encode_case("video", buf, sizeof buf, &len, &kind), 0);
    text = tw_ros2_schema_text(kind, &type);
    assert_int_equal(tw_ros2_schema_parse(text, type, &s, err, sizeof err), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, s, buf, len, err, sizeof err), 0);
    tw_ros2_frame f;
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_H264);
    assert_int_equal(f.stamp_ns, 5000000001LL);
    assert_int_equal(f.len, 9);
    tw_ros2_schema_free(s);
    tw_ros2_msg_close(m);
}

/* rosbags and mcap-ros2-support decode our bytes; our schema texts match rosbags' fields. */
static void test_encode_read_back_by_real_peers(void **state)
{
    (void)state;
    const char *name;
    json_t *c;
    json_object_foreach(cases, name, c) {
        uint8_t buf[4096];
        size_t len;
        tw_ros2_kind kind;
        char file[128];
        assert_int_equal(encode_case(name, buf, sizeof buf, &len, &kind), 0);
        snprintf(file, sizeof file, "enc_%s.out.cdr", name);
        assert_int_equal(r2fx_write(&fx, file, buf, len), 0);
    }
    for (int k = TW_ROS2_UNKNOWN + 1; k < TW_ROS2_KIND_COUNT; k++) {
        const char *type, *text = tw_ros2_schema_text((tw_ros2_kind)k, &type);
        char file[128], body[8192];
        snprintf(file, sizeof file, "schema_%s.msg", strrchr(type, '/') + 1);
        int n = snprintf(body, sizeof body, "%s\n%s", type, text);
        assert_int_equal(r2fx_write(&fx, file, body, (size_t)n), 0);
    }
    assert_int_equal(r2fx_python(&fx, "check"), 0);
}

static void test_encode_refuses_stamps_beyond_int32_seconds(void **state)
{
    (void)state;
    tw_ros2_enc_wrench w = {.stamp_ns = INT64_MAX};
    uint8_t buf[128];
    size_t len;
    char err[256];
    assert_int_equal(tw_ros2_encode_wrench(&w, buf, sizeof buf, &len, err, sizeof err), TW_EINVAL);
    assert_non_null(strstr(err, "int32 seconds"));
    w.stamp_ns = -1; /* floor: sec -1, nanosec 999999999 */
    assert_int_equal(tw_ros2_encode_wrench(&w, buf, sizeof buf, &len, err, sizeof err), 0);
    assert_memory_equal(buf + 4, "\xff\xff\xff\xff\xff\xc9\x9a\x3b", 8);
    assert_int_equal(tw_ros2_encode_wrench(NULL, buf, sizeof buf, &len, err, sizeof err), TW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_sizes_then_fills),
        cmocka_unit_test(test_encode_decodes_with_our_decoder),
        cmocka_unit_test(test_encode_read_back_by_real_peers),
        cmocka_unit_test(test_encode_refuses_stamps_beyond_int32_seconds),
    };
    return cmocka_run_group_tests_name("ros2_encode", tests, setup, teardown);
}
