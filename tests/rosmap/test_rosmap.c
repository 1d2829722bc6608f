/* bridge/rosmap: the topic map, mapping by type, and ROS 2 messages (encoded by bridge/ros2's CDR
 * encoder, whose output the ros2 tests check against rosbags) turned into teleworld samples. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tw_rosmap.h"

static char err[1024];

static const char *write_map(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/tw_rosmap_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static tw_rostopic_src src_of(const char *topic, tw_ros2_kind k)
{
    const char *type = NULL, *text = tw_ros2_schema_text(k, &type);
    tw_rostopic_src s = {topic, type, "ros2msg", (const uint8_t *)text, strlen(text), "cdr"};
    return s;
}

static void test_stream_names_from_topics(void **state)
{
    (void)state;
    char n[TW_MAX_NAME];
    tw_rosmap_stream_name("/arm/joint_states", n, sizeof n);
    assert_string_equal(n, "arm.joint_states");
    tw_rosmap_stream_name("/cam 1/image:raw", n, sizeof n);
    assert_string_equal(n, "cam_1.image_raw");
    tw_rosmap_stream_name("/", n, sizeof n);
    assert_string_equal(n, "_");
}

static void test_map_errors_name_file_and_topic(void **state)
{
    (void)state;
    tw_rosmap *m = NULL;
    const char *p = write_map("{\"topics\": {\"/x\": \"torque\"}}");
    assert_int_equal(tw_rosmap_load(p, &m, err, sizeof err), TW_EKIND);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "/x"));
    assert_int_equal(tw_rosmap_load(write_map("{\"topics\": [1]}"), &m, err, sizeof err), TW_ESCHEMA);
    assert_int_equal(tw_rosmap_load(write_map("{\"topics\": {\n\"/a\": }"), &m, err, sizeof err), TW_EJSON);
    assert_non_null(strstr(err, ":2:"));
    assert_int_equal(tw_rosmap_load(write_map("{\"topics\": {\"/a\": {\"kind\": \"wrench\", \"stream\": \"a b\"}}}"),
                                    &m, err, sizeof err),
                     TW_ESCHEMA);
    assert_null(m);
    unlink(p);
}

static void test_open_by_type_map_ignore_and_mismatch(void **state)
{
    (void)state;
    tw_rosmap *m;
    const char *p = write_map("{\"topics\": {\"/ft\": \"joint_state\", \"/tf\": \"ignore\","
                              " \"/js\": {\"kind\": \"joint_state\", \"stream\": \"arm\"}}}");
    assert_int_equal(tw_rosmap_load(p, &m, err, sizeof err), 0);
    unlink(p);
    tw_rostopic *t = NULL;
    tw_rostopic_src s = src_of("/ft", TW_ROS2_WRENCH_STAMPED);
    assert_int_equal(tw_rostopic_open(m, &s, 0, &t, err, sizeof err), TW_EMISMATCH);
    assert_non_null(strstr(err, "the map says joint_state but its type geometry_msgs/msg/WrenchStamped"));
    s = src_of("/tf", TW_ROS2_JOINT_STATE);
    assert_int_equal(tw_rostopic_open(m, &s, 0, &t, err, sizeof err), 0);
    assert_non_null(strstr(err, "ignored"));
    s = src_of("/other_wrench", TW_ROS2_WRENCH_STAMPED); /* not in the map: by its type */
    assert_int_equal(tw_rostopic_open(m, &s, 0, &t, err, sizeof err), 1);
    assert_int_equal(tw_rostopic_kind(t), TW_ROS2_WRENCH_STAMPED);
    assert_null(tw_rostopic_decl(t)); /* known after the first message */
    tw_rostopic_close(t);
    tw_rostopic_src str = {"/chatter", "std_msgs/msg/String", "ros2msg", (const uint8_t *)"string data\n", 12, "cdr"};
    assert_int_equal(tw_rostopic_open(m, &str, 0, &t, err, sizeof err), 0);
    assert_non_null(strstr(err, "not a kind"));
    tw_rostopic_src bad = {"/js", "sensor_msgs/msg/JointState", "ros2msg", (const uint8_t *)"float64[ x\n", 11, "cdr"};
    assert_int_equal(tw_rostopic_open(m, &bad, 0, &t, err, sizeof err), TW_ESCHEMA);
    assert_non_null(strstr(err, "does not parse"));
    tw_rosmap_free(m);
}

static size_t encode_js(uint8_t *buf, size_t n, int64_t stamp, double base)
{
    static const char *names[] = {"a", "b", "c", "d"};
    double pos[4], vel[4];
    for (size_t i = 0; i < n; i++)
        pos[i] = base + (double)i, vel[i] = -(double)i;
    tw_ros2_enc_joint_state js = {stamp, "base", n, names, pos, vel, NULL};
    size_t len = 0;
    assert_int_equal(tw_ros2_encode_joint_state(&js, buf, 4096, &len, err, sizeof err), 0);
    return len;
}

static void test_joint_state_rows_names_and_shape(void **state)
{
    (void)state;
    tw_rostopic *t;
    tw_rostopic_src s = src_of("/joint_states", TW_ROS2_JOINT_STATE);
    assert_int_equal(tw_rostopic_open(NULL, &s, 0, &t, err, sizeof err), 1);
    uint8_t buf[4096];
    size_t len = encode_js(buf, 3, 1234567890123LL, 0.5);
    tw_rossample smp;
    assert_int_equal(tw_rostopic_sample(t, buf, len, 99, &smp, err, sizeof err), 0);
    assert_int_equal(smp.t_src_ns, 1234567890123LL);
    assert_int_equal(smp.len, 9 * sizeof(double));
    const double *v = (const double *)smp.payload;
    assert_true(v[0] == 0.5 && v[2] == 2.5 && v[3] == 0 && v[5] == -2.0);
    assert_true(isnan(v[6]) && isnan(v[8])); /* empty effort: unknown */
    const tw_stream_decl *d = tw_rostopic_decl(t);
    assert_non_null(d);
    assert_int_equal(d->kind, TW_KIND_JOINT_STATE);
    assert_int_equal(d->shape[0], 3);
    assert_int_equal(d->shape[1], 3);
    assert_int_equal(d->naxes, 3);
    assert_string_equal(d->axes[2], "c");
    assert_string_equal(d->name, "joint_states");
    len = encode_js(buf, 4, 1, 0); /* another joint count: does not fit the declaration */
    assert_int_equal(tw_rostopic_sample(t, buf, len, 99, &smp, err, sizeof err), TW_ESHAPE);
    assert_non_null(strstr(err, "/joint_states"));
    assert_int_equal(tw_rostopic_sample(t, buf, 7, 99, &smp, err, sizeof err) < 0, 1); /* truncated CDR */
    tw_rostopic_close(t);
}

static void test_joint_state_as_action_keeps_positions(void **state)
{
    (void)state;
    tw_rosmap *m;
    const char *p = write_map("{\"topics\": {\"/cmd\": \"action\"}}");
    assert_int_equal(tw_rosmap_load(p, &m, err, sizeof err), 0);
    unlink(p);
    tw_rostopic *t;
    tw_rostopic_src s = src_of("/cmd", TW_ROS2_JOINT_STATE);
    assert_int_equal(tw_rostopic_open(m, &s, 0, &t, err, sizeof err), 1);
    uint8_t buf[4096];
    size_t len = encode_js(buf, 2, 5, 7.0);
    tw_rossample smp;
    assert_int_equal(tw_rostopic_sample(t, buf, len, 99, &smp, err, sizeof err), 0);
    assert_int_equal(tw_rostopic_decl(t)->kind, TW_KIND_ACTION);
    assert_int_equal(smp.len, 2 * sizeof(double));
    assert_true(((const double *)smp.payload)[1] == 8.0);
    tw_rostopic_close(t);
    tw_rosmap_free(m);
}

static void test_wrench_and_f64_array(void **state)
{
    (void)state;
    tw_rostopic *t;
    tw_rostopic_src s = src_of("/ft", TW_ROS2_WRENCH_STAMPED);
    assert_int_equal(tw_rostopic_open(NULL, &s, 0, &t, err, sizeof err), 1);
    tw_ros2_enc_wrench w = {42, "tool0", {1, 2, 3}, {4, 5, 6}};
    uint8_t buf[512];
    size_t len;
    assert_int_equal(tw_ros2_encode_wrench(&w, buf, sizeof buf, &len, err, sizeof err), 0);
    tw_rossample smp;
    assert_int_equal(tw_rostopic_sample(t, buf, len, 99, &smp, err, sizeof err), 0);
    const double *v = (const double *)smp.payload;
    assert_true(v[0] == 1 && v[5] == 6 && smp.t_src_ns == 42 && smp.has_stamp);
    assert_string_equal(tw_rostopic_decl(t)->frame, "tool0");
    tw_rostopic_close(t);

    s = src_of("/gripper", TW_ROS2_FLOAT64_ARRAY);
    assert_int_equal(tw_rostopic_open(NULL, &s, 0, &t, err, sizeof err), 1);
    double data[3] = {0.25, 0.5, 0.75};
    tw_ros2_enc_f64_array a = {3, data, NULL};
    assert_int_equal(tw_ros2_encode_f64_array(&a, buf, sizeof buf, &len, err, sizeof err), 0);
    assert_int_equal(tw_rostopic_sample(t, buf, len, 777, &smp, err, sizeof err), 0);
    assert_int_equal(smp.t_src_ns, 777); /* no header: the receive time */
    assert_false(smp.has_stamp);
    assert_int_equal(tw_rostopic_decl(t)->kind, TW_KIND_ACTION);
    assert_true(((const double *)smp.payload)[2] == 0.75);
    tw_rostopic_close(t);
}

static void test_json_channel_kind_from_first_message(void **state)
{
    (void)state;
    tw_rostopic *t;
    tw_rostopic_src s = {"/ft_json", "geometry_msgs/msg/WrenchStamped", "jsonschema", NULL, 0, "json"};
    assert_int_equal(tw_rostopic_open(NULL, &s, 0, &t, err, sizeof err), 1);
    const char *j = "{\"header\":{\"stamp\":{\"sec\":1,\"nanosec\":5},\"frame_id\":\"f\"},"
                    "\"wrench\":{\"force\":{\"x\":1,\"y\":2,\"z\":3},\"torque\":{\"x\":4,\"y\":5,\"z\":6}}}";
    tw_rossample smp;
    assert_int_equal(tw_rostopic_sample(t, (const uint8_t *)j, strlen(j), 0, &smp, err, sizeof err), 0);
    assert_int_equal(smp.t_src_ns, 1000000005LL);
    assert_int_equal(tw_rostopic_decl(t)->kind, TW_KIND_WRENCH);
    tw_rostopic_close(t);
}

static void test_json_imu_and_raw_image(void **state)
{
    (void)state;
    tw_rostopic *t;
    tw_rostopic_src s = {"/imu", "sensor_msgs/msg/Imu", "jsonschema", NULL, 0, "json"};
    assert_int_equal(tw_rostopic_open(NULL, &s, 0, &t, err, sizeof err), 1);
    const char *imu = "{\"header\":{\"stamp\":{\"sec\":2,\"nanosec\":0},\"frame_id\":\"imu\"},"
                      "\"orientation\":{\"x\":0.1,\"y\":0.2,\"z\":0.3,\"w\":0.9},"
                      "\"orientation_covariance\":[0,0,0,0,0,0,0,0,0],"
                      "\"angular_velocity\":{\"x\":1,\"y\":2,\"z\":3},\"angular_velocity_covariance\":[0,0,0,0,0,0,0,0,0],"
                      "\"linear_acceleration\":{\"x\":4,\"y\":5,\"z\":6},"
                      "\"linear_acceleration_covariance\":[0,0,0,0,0,0,0,0,0]}";
    tw_rossample smp;
    assert_int_equal(tw_rostopic_sample(t, (const uint8_t *)imu, strlen(imu), 0, &smp, err, sizeof err), 0);
    const double *v = (const double *)smp.payload;
    assert_true(v[0] == 0.9 && v[1] == 0.1 && v[4] == 1 && v[9] == 6); /* w first (protocol.md) */
    assert_int_equal(tw_rostopic_decl(t)->kind, TW_KIND_IMU);
    tw_rostopic_close(t);

    tw_rostopic_src im = {"/camera/raw", "sensor_msgs/msg/Image", "jsonschema", NULL, 0, "json"};
    assert_int_equal(tw_rostopic_open(NULL, &im, 0, &t, err, sizeof err), 1);
    const char *img = "{\"header\":{\"stamp\":{\"sec\":3,\"nanosec\":0},\"frame_id\":\"c\"},\"height\":2,"
                      "\"width\":2,\"encoding\":\"bgr8\",\"is_bigendian\":0,\"step\":8,"
                      "\"data\":[1,2,3,4,5,6,0,0,7,8,9,10,11,12,0,0]}";
    assert_int_equal(tw_rostopic_sample(t, (const uint8_t *)img, strlen(img), 0, &smp, err, sizeof err), 0);
    const tw_stream_decl *d = tw_rostopic_decl(t);
    assert_int_equal(d->encoding, TW_VIDEO_RGB24);
    assert_int_equal(d->width, 2);
    assert_int_equal(smp.len, 12); /* tight rows, padding dropped, BGR -> RGB */
    static const uint8_t want[12] = {3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10};
    assert_memory_equal(smp.payload, want, 12);
    assert_int_equal(smp.t_src_ns, 3000000000LL);
    tw_rostopic_close(t);
}

static void test_png_and_jpeg_pictures_decode_to_rgb24(void **state)
{
    (void)state;
    static const uint8_t png[] = { /* a 1x1 red PNG */
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00,
        0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18,
        0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    uint8_t *rgb = NULL;
    uint32_t w = 0, h = 0;
    assert_int_equal(tw_rosmap_decode_image(png, sizeof png, TW_ROS2_FMT_PNG, &rgb, &w, &h, err, sizeof err), 0);
    assert_int_equal(w, 1);
    assert_int_equal(h, 1);
    assert_int_equal(rgb[0], 255);
    assert_int_equal(rgb[1], 0);
    free(rgb);
    static const uint8_t junk[] = {0xff, 0xd8, 0xff, 0x00, 1, 2, 3};
    assert_int_equal(tw_rosmap_decode_image(junk, sizeof junk, TW_ROS2_FMT_JPEG, &rgb, &w, &h, err, sizeof err),
                     TW_EAV);
    assert_non_null(strstr(err, "does not decode"));
    assert_null(rgb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_names_from_topics),
        cmocka_unit_test(test_map_errors_name_file_and_topic),
        cmocka_unit_test(test_open_by_type_map_ignore_and_mismatch),
        cmocka_unit_test(test_joint_state_rows_names_and_shape),
        cmocka_unit_test(test_joint_state_as_action_keeps_positions),
        cmocka_unit_test(test_wrench_and_f64_array),
        cmocka_unit_test(test_json_channel_kind_from_first_message),
        cmocka_unit_test(test_json_imu_and_raw_image),
        cmocka_unit_test(test_png_and_jpeg_pictures_decode_to_rgb24),
    };
    return cmocka_run_group_tests_name("rosmap", tests, NULL, NULL);
}
