/* Known message kinds, recognised by field structure (also in a lab's own package), and the
 * typed readers teleworld's importers use. */
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
    return r2fx_gen(&fx, "known");
}

static int teardown(void **state)
{
    (void)state;
    r2fx_free(&fx);
    return 0;
}

/* Decodes vector `name` (big endian, to take the harder path) into m; returns its schema. */
static tw_ros2_schema *decode(tw_ros2_msg *m, const char *name, uint8_t **buf)
{
    char file[256], err[256];
    snprintf(file, sizeof file, "%s.json", name);
    json_t *vec = r2fx_json(&fx, file);
    assert_non_null(vec);
    tw_ros2_schema *s = r2fx_schema(vec);
    assert_non_null(s);
    size_t len;
    *buf = r2fx_read(&fx, json_string_value(json_object_get(json_object_get(vec, "cdr"), "be")), &len);
    assert_non_null(*buf);
    assert_int_equal(tw_ros2_decode_cdr(m, s, *buf, len, err, sizeof err), 0);
    json_decref(vec);
    return s;
}

static void test_known_kind_of_every_vector(void **state)
{
    (void)state;
    size_t i;
    json_t *n;
    json_array_foreach(fx.names, i, n) {
        char file[256];
        snprintf(file, sizeof file, "%s.json", json_string_value(n));
        json_t *vec = r2fx_json(&fx, file);
        if (json_object_get(vec, "schema")) {
            tw_ros2_schema *s = r2fx_schema(vec);
            const char *want = json_string_value(json_object_get(vec, "kind"));
            const char *got = tw_ros2_kind_name(tw_ros2_schema_kind(s));
            if (strcmp(got, want ? want : "unknown") != 0) fprintf(stderr, "%s: %s\n", file, got);
            assert_string_equal(got, want ? want : "unknown");
            tw_ros2_schema_free(s);
        }
        json_decref(vec);
    }
}

static void test_known_joint_state_and_lab_package(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    uint8_t *buf;
    char err[256];
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    tw_ros2_schema *s = decode(m, "joint_state", &buf);
    double pos[3], vel[3], eff[3];
    tw_ros2_joint_state js = {.cap = 3, .position = pos, .velocity = vel, .effort = eff};
    assert_int_equal(tw_ros2_read_joint_state(m, &js, err, sizeof err), 0);
    assert_int_equal(js.stamp_ns, 1700000000123456789LL);
    assert_int_equal(js.n_name, 3);
    assert_int_equal(js.n_position, 3);
    assert_int_equal(js.n_effort, 0);
    assert_true(pos[0] == 0.5 && pos[1] == -1.25 && pos[2] == 3.0e-9 && vel[2] == -3.5);
    js.cap = 2;
    assert_int_equal(tw_ros2_read_joint_state(m, &js, err, sizeof err), TW_ETOO_BIG);
    assert_non_null(strstr(err, "'position' has 3 values"));
    tw_ros2_schema_free(s);
    free(buf);

    s = decode(m, "arm_joint_state", &buf);
    js = (tw_ros2_joint_state){.cap = 3, .position = pos, .effort = eff};
    assert_int_equal(tw_ros2_read_joint_state(m, &js, err, sizeof err), 0);
    assert_int_equal(js.stamp_ns, 9000000008LL);
    assert_true(pos[0] == 0.75 && eff[0] == -1.0);
    tw_ros2_schema_free(s);
    free(buf);
    tw_ros2_msg_close(m);
}

static void test_known_wrench_imu(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    uint8_t *buf;
    char err[256];
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    tw_ros2_schema *s = decode(m, "wrench", &buf);
    tw_ros2_wrench w;
    assert_int_equal(tw_ros2_read_wrench(m, &w, err, sizeof err), 0);
    assert_int_equal(w.stamp_ns, 12000000500LL);
    assert_true(w.force[2] == 9.81 && w.torque[2] == -0.3);
    tw_ros2_schema_free(s);
    free(buf);
    s = decode(m, "force_torque", &buf);
    assert_int_equal(tw_ros2_read_wrench(m, &w, err, sizeof err), 0);
    assert_true(w.force[0] == 1.0 && w.torque[2] == 6.0);
    tw_ros2_schema_free(s);
    free(buf);
    s = decode(m, "imu", &buf);
    tw_ros2_imu imu;
    assert_int_equal(tw_ros2_read_imu(m, &imu, err, sizeof err), 0);
    assert_int_equal(imu.stamp_ns, 3000000007LL);
    assert_true(imu.orientation[3] == 0.7071 && imu.linear_acceleration[2] == 9.8);
    assert_true(imu.orientation_cov[8] == 8.0 && imu.linear_acceleration_cov[0] == -1.0);
    assert_int_equal(tw_ros2_read_wrench(m, &w, err, sizeof err), TW_ENOT_FOUND);
    assert_non_null(strstr(err, "wrench.force.x"));
    tw_ros2_schema_free(s);
    free(buf);
    tw_ros2_msg_close(m);
}

static void test_known_frames(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    uint8_t *buf;
    char err[256];
    tw_ros2_frame f;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    tw_ros2_schema *s = decode(m, "compressed_image", &buf);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_JPEG);
    assert_int_equal(f.len, 1001);
    assert_int_equal(f.stamp_ns, 100000000001LL);
    tw_ros2_schema_free(s);
    free(buf);
    s = decode(m, "image_rgb8", &buf);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_RGB8);
    assert_true(f.width == 4 && f.height == 3 && f.step == 12 && f.len == 36 && f.data[35] == 35);
    tw_ros2_schema_free(s);
    free(buf);
    s = decode(m, "image_mono8", &buf);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_MONO8);
    tw_ros2_schema_free(s);
    free(buf);
    s = decode(m, "video", &buf);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_H264);
    assert_int_equal(f.stamp_ns, 200000000033LL);
    assert_memory_equal(f.data, "\0\0\0\1\x67\x42", 6);
    tw_ros2_schema_free(s);
    free(buf);
    tw_ros2_msg_close(m);
}

static void test_known_raw_image_is_validated(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    char err[256];
    tw_ros2_frame f;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    const char *yuv = "{\"header\":{\"stamp\":{\"sec\":1,\"nanosec\":0},\"frame_id\":\"\"},\"height\":1,\"width\":1,"
                      "\"encoding\":\"yuv422\",\"is_bigendian\":0,\"step\":2,\"data\":\"AAA=\"}";
    assert_int_equal(tw_ros2_decode_json(m, yuv, strlen(yuv), err, sizeof err), 0);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), TW_EUNSUPPORTED);
    assert_non_null(strstr(err, "yuv422"));
    const char *shortstep = "{\"header\":{\"stamp\":{\"sec\":1,\"nanosec\":0},\"frame_id\":\"\"},\"height\":2,"
                            "\"width\":3,\"encoding\":\"rgb8\",\"is_bigendian\":0,\"step\":8,\"data\":[1,2,3]}";
    assert_int_equal(tw_ros2_decode_json(m, shortstep, strlen(shortstep), err, sizeof err), 0);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), TW_ESHAPE);
    const char *cimg = "{\"header\":{\"stamp\":{\"sec\":1,\"nanosec\":0},\"frame_id\":\"\"},"
                       "\"format\":\"rgb8; jpeg compressed bgr8\",\"data\":\"/9j/\"}";
    assert_int_equal(tw_ros2_decode_json(m, cimg, strlen(cimg), err, sizeof err), 0);
    assert_int_equal(tw_ros2_msg_kind(m, NULL), TW_ROS2_COMPRESSED_IMAGE);
    assert_int_equal(tw_ros2_read_frame(m, &f, err, sizeof err), 0);
    assert_int_equal(f.format, TW_ROS2_FMT_JPEG);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.data, "\xff\xd8\xff", 3);
    tw_ros2_msg_close(m);
}

static void test_known_actions(void **state)
{
    (void)state;
    tw_ros2_msg *m;
    uint8_t *buf;
    char err[256];
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    tw_ros2_schema *s = decode(m, "trajectory", &buf);
    size_t n;
    assert_int_equal(tw_ros2_get_count(m, "points", &n), 0);
    assert_int_equal(n, 2);
    double pos[2], eff[2];
    tw_ros2_traj_point p = {.cap = 2, .positions = pos, .effort = eff};
    assert_int_equal(tw_ros2_read_traj_point(m, 0, &p, err, sizeof err), 0);
    assert_int_equal(p.time_from_start_ns, 500000000);
    assert_true(pos[1] == 2.0 && p.n_velocities == 2 && p.n_effort == 0);
    assert_int_equal(tw_ros2_read_traj_point(m, 1, &p, err, sizeof err), 0);
    assert_true(pos[0] == 3.0 && eff[1] == 6.0 && p.time_from_start_ns == 1000000000);
    assert_int_equal(tw_ros2_read_traj_point(m, 2, &p, err, sizeof err), TW_ENOT_FOUND);
    assert_non_null(strstr(err, "points[2]"));
    tw_ros2_schema_free(s);
    free(buf);
    s = decode(m, "f64_array", &buf);
    double d[4];
    assert_int_equal(tw_ros2_get_f64_array(m, "data", d, 4, &n), 0);
    assert_true(n == 4 && d[2] == 1e300);
    tw_ros2_schema_free(s);
    free(buf);
    tw_ros2_msg_close(m);
}

/* foxglove CompressedImage and CompressedVideo have the same fields; the type name decides. */
static void test_known_foxglove_image_video_tie(void **state)
{
    (void)state;
    const char *type, *text = tw_ros2_schema_text(TW_ROS2_COMPRESSED_VIDEO, &type);
    tw_ros2_schema *s;
    char err[256];
    assert_int_equal(tw_ros2_schema_parse(text, "foxglove_msgs/msg/CompressedImage", &s, err, sizeof err), 0);
    assert_int_equal(tw_ros2_schema_kind(s), TW_ROS2_COMPRESSED_IMAGE);
    tw_ros2_schema_free(s);
    assert_int_equal(tw_ros2_schema_parse(text, type, &s, err, sizeof err), 0);
    assert_int_equal(tw_ros2_schema_kind(s), TW_ROS2_COMPRESSED_VIDEO);
    tw_ros2_schema_free(s);
    assert_int_equal(tw_ros2_schema_parse("float64 x\n", "p/msg/Other", &s, err, sizeof err), 0);
    assert_int_equal(tw_ros2_schema_kind(s), TW_ROS2_UNKNOWN);
    tw_ros2_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_kind_of_every_vector),
        cmocka_unit_test(test_known_joint_state_and_lab_package),
        cmocka_unit_test(test_known_wrench_imu),
        cmocka_unit_test(test_known_frames),
        cmocka_unit_test(test_known_raw_image_is_validated),
        cmocka_unit_test(test_known_actions),
        cmocka_unit_test(test_known_foxglove_image_video_tie),
    };
    return cmocka_run_group_tests_name("ros2_known", tests, setup, teardown);
}
