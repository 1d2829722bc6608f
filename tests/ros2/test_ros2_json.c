/* JSON channels: the same getters and kinds on JSON objects (bytes base64 or number arrays),
 * Foxglove's foxglove.CompressedVideo JSON, and refusals of bad JSON. */
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

static int setup(void **state)
{
    (void)state;
    return r2fx_gen(&fx, "json");
}

static int teardown(void **state)
{
    (void)state;
    r2fx_free(&fx);
    return 0;
}

static void test_json_every_vector(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    size_t i;
    json_t *n;
    int bad = 0;
    json_array_foreach(fx.names, i, n) {
        char file[256], err[256] = "";
        snprintf(file, sizeof file, "%s.json", json_string_value(n));
        json_t *vec = r2fx_json(&fx, file);
        assert_non_null(vec);
        char *text = json_dumps(json_object_get(vec, "json"), JSON_COMPACT);
        int rc = tw_ros2_decode_json(m, text, strlen(text), err, sizeof err);
        free(text);
        if (rc) fprintf(stderr, "%s: %s\n", file, err);
        assert_int_equal(rc, 0);
        bad += r2fx_checks(m, json_object_get(vec, "checks"), file);
        const char *want = json_string_value(json_object_get(vec, "kind"));
        const char *type = json_string_value(json_object_get(vec, "type"));
        const char *got = tw_ros2_kind_name(tw_ros2_msg_kind(m, type));
        if (strcmp(got, want ? want : "unknown")) fprintf(stderr, "%s: kind %s\n", file, got);
        assert_string_equal(got, want ? want : "unknown");
        json_decref(vec);
    }
    tw_ros2_msg_close(m);
    assert_int_equal(bad, 0);
}

static void test_json_foxglove_video_frame(void **state)
{
    (void)state;
    json_t *vec = r2fx_json(&fx, "foxglove_video.json");
    char *text = json_dumps(json_object_get(vec, "json"), JSON_COMPACT);
    tw_ros2_msg *m;
    char err[256];
    tw_ros2_frame f;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    assert_int_equal(tw_ros2_decode_json(m, text, strlen(text), err, sizeof err), 0);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_H264);
    assert_int_equal(f.stamp_ns, 300000000005LL);
    assert_int_equal(f.len, 6);
    free(text);
    json_decref(vec);
    tw_ros2_msg_close(m);
}

static void test_json_refusals(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    char err[256];
    const uint8_t *p;
    size_t n;
    tw_ros2_limits lim;
    tw_ros2_limits_init(&lim);
    lim.max_bytes = 64;
    assert_int_equal(tw_ros2_msg_open(&lim, &m), 0);
    assert_int_equal(tw_ros2_decode_json(m, "{\"a\": [1, 2", 11, err, sizeof err), TW_EJSON);
    assert_non_null(strstr(err, "json at byte"));
    assert_int_equal(tw_ros2_decode_json(m, "[1]", 3, err, sizeof err), TW_EJSON);
    assert_non_null(strstr(err, "not an object"));
    char big[100];
    memset(big, ' ', sizeof big);
    assert_int_equal(tw_ros2_decode_json(m, big, sizeof big, err, sizeof err), TW_ETOO_BIG);
    const char *b = "{\"d\":\"AA!A\",\"e\":[1,300],\"f\":[0,255,7],\"g\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";
    lim.max_bytes = 29;
    tw_ros2_msg_close(m);
    assert_int_equal(tw_ros2_msg_open(&lim, &m), 0);
    lim.max_bytes = 4096;
    assert_int_equal(tw_ros2_decode_json(m, b, strlen(b), err, sizeof err), TW_ETOO_BIG);
    tw_ros2_msg_close(m);
    lim.max_bytes = 100;
    assert_int_equal(tw_ros2_msg_open(&lim, &m), 0);
    assert_int_equal(tw_ros2_decode_json(m, b, strlen(b), err, sizeof err), 0);
    assert_int_equal(tw_ros2_get_bytes(m, "d", &p, &n), TW_EJSON);
    assert_int_equal(tw_ros2_get_bytes(m, "e", &p, &n), TW_EDTYPE);
    assert_int_equal(tw_ros2_get_bytes(m, "f", &p, &n), 0);
    assert_true(n == 3 && p[1] == 255 && p[2] == 7);
    assert_int_equal(tw_ros2_get_bytes(m, "g", &p, &n), 0);
    assert_int_equal(n, 30);
    assert_int_equal(tw_ros2_get_bytes(m, "nope", &p, &n), TW_ENOT_FOUND);
    tw_ros2_msg_close(m);
}

/* One message handle goes from JSON to CDR and back. */
static void test_json_and_cdr_share_a_handle(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    char err[256];
    double x;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    assert_int_equal(tw_ros2_decode_json(m, "{\"x\": 2.5}", 10, err, sizeof err), 0);
    assert_int_equal(tw_ros2_get_f64(m, "x", &x), 0);
    assert_true(x == 2.5);
    tw_ros2_schema *s;
    assert_int_equal(tw_ros2_schema_parse("float32 x\n", "p/T", &s, err, sizeof err), 0);
    const uint8_t cdr[] = {0, 0, 0, 0, 0xc0, 0x60, 0, 0}; /* big endian -3.5f */
    assert_int_equal(tw_ros2_decode_cdr(m, s, cdr, sizeof cdr, err, sizeof err), 0);
    assert_int_equal(tw_ros2_get_f64(m, "x", &x), 0);
    assert_true(x == -3.5);
    assert_int_equal(tw_ros2_decode_json(m, "{\"y\": 1}", 8, err, sizeof err), 0);
    assert_int_equal(tw_ros2_get_f64(m, "x", &x), TW_ENOT_FOUND);
    tw_ros2_schema_free(s);
    tw_ros2_msg_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_every_vector),
        cmocka_unit_test(test_json_foxglove_video_frame),
        cmocka_unit_test(test_json_refusals),
        cmocka_unit_test(test_json_and_cdr_share_a_handle),
    };
    return cmocka_run_group_tests_name("ros2_json", tests, setup, teardown);
}
