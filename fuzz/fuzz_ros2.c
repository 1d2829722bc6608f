/* libFuzzer target for bridge/ros2: everything that parses untrusted ROS 2 bytes.
 * Byte 0 picks the path:
 *  - 0..7: the input's rest is CDR for one of the canonical schemas (every known kind);
 *  - 'J':  the rest is a JSON message; 'P': protobuf foxglove.CompressedVideo;
 *  - else: the rest is "schema text \0 CDR" with a fuzzed schema.
 * After a successful decode every getter and typed reader runs over the message.
 * Oracle beyond the sanitizers: a JointState, wrench or video frame that decodes re-encodes
 * and decodes to the same values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_ros2.h"

static tw_ros2_schema *canon[TW_ROS2_KIND_COUNT];
static tw_ros2_msg *msg, *back;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[256];
    for (int k = 1; k < TW_ROS2_KIND_COUNT; k++) {
        const char *type, *text = tw_ros2_schema_text((tw_ros2_kind)k, &type);
        if (tw_ros2_schema_parse(text, type, &canon[k], err, sizeof err)) {
            fprintf(stderr, "fuzz_ros2: %s\n", err);
            abort();
        }
    }
    tw_ros2_limits lim;
    tw_ros2_limits_init(&lim);
    lim.max_nodes = 4096;
    lim.max_bytes = 1 << 20;
    if (tw_ros2_msg_open(&lim, &msg) || tw_ros2_msg_open(&lim, &back)) abort();
    return 0;
}

/* Getters on paths the known kinds use, plus some that only a fuzzed schema could have. */
static void poke(const tw_ros2_msg *m)
{
    static const char *const paths[] = {"header.stamp", "name", "name[0]", "position", "data", "format", "points",
                                        "points[1].positions", "a", "a[0]", "a.b", "a[1].b[2]", "timestamp", ""};
    double d[8];
    int64_t i;
    size_t n;
    const char *s;
    const uint8_t *p;
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        tw_ros2_get_f64(m, paths[k], d);
        tw_ros2_get_i64(m, paths[k], &i);
        tw_ros2_get_f64_array(m, paths[k], d, 8, &n);
        tw_ros2_get_count(m, paths[k], &n);
        tw_ros2_get_time(m, paths[k], &i);
        if (tw_ros2_get_bytes(m, paths[k], &p, &n) == 0 && n) d[0] = p[0] + p[n - 1];
        if (tw_ros2_get_string(m, paths[k], &s, &n) == 0 && s[n] != '\0') abort();
        tw_ros2_has(m, paths[k]);
    }
}

static void readers(const tw_ros2_msg *m)
{
    double a[4], b[4], c[4];
    tw_ros2_joint_state js = {.cap = 4, .position = a, .velocity = b, .effort = c};
    tw_ros2_wrench w;
    tw_ros2_imu imu;
    tw_ros2_frame f;
    tw_ros2_traj_point tp = {.cap = 4, .positions = a, .velocities = b, .effort = c};
    tw_ros2_read_joint_state(m, &js, NULL, 0);
    tw_ros2_read_wrench(m, &w, NULL, 0);
    tw_ros2_read_imu(m, &imu, NULL, 0);
    if (tw_ros2_read_frame(m, &f, NULL, 0) == 0 && f.len) a[0] = f.data[0] + f.data[f.len - 1];
    tw_ros2_read_traj_point(m, 0, &tp, NULL, 0);
    tw_ros2_msg_kind(m, NULL);
}

static int same(double x, double y) { return x == y || (x != x && y != y); }

/* A decoded wrench re-encodes to the same values (stamps within int32 seconds only). */
static void roundtrip_wrench(const tw_ros2_msg *m)
{
    tw_ros2_wrench w, w2;
    uint8_t buf[256];
    size_t len;
    if (tw_ros2_read_wrench(m, &w, NULL, 0)) return;
    tw_ros2_enc_wrench e = {w.stamp_ns, "f", {w.force[0], w.force[1], w.force[2]}, {w.torque[0], w.torque[1], w.torque[2]}};
    if (tw_ros2_encode_wrench(&e, buf, sizeof buf, &len, NULL, 0)) return;
    if (tw_ros2_decode_cdr(back, canon[TW_ROS2_WRENCH_STAMPED], buf, len, NULL, 0) ||
        tw_ros2_read_wrench(back, &w2, NULL, 0) || w2.stamp_ns != w.stamp_ns)
        abort();
    for (int k = 0; k < 3; k++)
        if (!same(w.force[k], w2.force[k]) || !same(w.torque[k], w2.torque[k])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    char err[256];
    if (mode < 8) {
        tw_ros2_kind k = (tw_ros2_kind)(mode + 1);
        if (tw_ros2_decode_cdr(msg, canon[k], rest, n, err, sizeof err) == 0) {
            poke(msg);
            readers(msg);
            if (k == TW_ROS2_WRENCH_STAMPED) roundtrip_wrench(msg);
        }
        return 0;
    }
    if (mode == 'P') {
        tw_ros2_frame f;
        if (tw_ros2_decode_pb_video(rest, n, &f, err, sizeof err) == 0 && f.len && f.data[f.len - 1] == 0x42)
            err[0] = (char)f.format_str[0];
        return 0;
    }
    if (mode == 'J') {
        if (tw_ros2_decode_json(msg, (const char *)rest, n, err, sizeof err) == 0) {
            poke(msg);
            readers(msg);
        }
        return 0;
    }
    const uint8_t *nul = memchr(rest, 0, n);
    size_t tlen = nul ? (size_t)(nul - rest) : n;
    char *text = malloc(tlen + 1);
    if (!text) return 0;
    memcpy(text, rest, tlen);
    text[tlen] = '\0';
    tw_ros2_schema *s = NULL;
    if (tw_ros2_schema_parse(text, "fuzz_pkg/msg/T", &s, err, sizeof err) == 0 && nul) {
        if (tw_ros2_decode_cdr(msg, s, nul + 1, n - tlen - 1, err, sizeof err) == 0) {
            poke(msg);
            readers(msg);
        }
    }
    tw_ros2_decode_cdr(msg, canon[1], NULL, 0, NULL, 0); /* drop references to s before freeing it */
    tw_ros2_schema_free(s);
    free(text);
    return 0;
}
