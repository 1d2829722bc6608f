/* JSON control messages: round trips of every type and every malformed case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "wire_fixtures.h"

static char msg[512];

/* Encodes m, decodes the text again, and checks the text survives a second round. */
static void round_trip(const tw_msg *m, tw_msg *back)
{
    char *text = NULL, *again = NULL;
    if (tw_msg_encode(m, &text, msg, sizeof msg))
        fail_msg("encode %s: %s", tw_msg_type_name(m->type), msg);
    if (tw_msg_decode(text, strlen(text), back, msg, sizeof msg))
        fail_msg("decode %s: %s", text, msg);
    assert_int_equal(back->type, m->type);
    assert_int_equal(tw_msg_encode(back, &again, msg, sizeof msg), 0);
    assert_string_equal(text, again);
    free(text);
    free(again);
}

static void expect_reject(const char *text, int code, const char *needle)
{
    tw_msg m;
    msg[0] = 0;
    int rc = tw_msg_decode(text, strlen(text), &m, msg, sizeof msg);
    if (rc != code || !strstr(msg, needle))
        fail_msg("%s\nwant %s containing '%s', got %s: %s", text, tw_err_name(code), needle, tw_err_name(rc), msg);
}

static void test_hello_round_trip(void **s)
{
    tw_stream_decl ds[] = {fx_joint(1, "arm", 7), fx_vec(2, "ft", TW_KIND_WRENCH, 6),
                           fx_vec(3, "cmd", TW_KIND_ACTION, 8), fx_video(4, "cam", TW_VIDEO_H264, 640, 480),
                           fx_vec(5, "imu", TW_KIND_IMU, 10), fx_vec(6, "tens", TW_KIND_TENSOR, 3),
                           fx_event(7, "events")};
    ds[5].ndim = 3;
    ds[5].shape[1] = 2;
    ds[5].shape[2] = 5;
    ds[5].dtype = TW_DTYPE_UINT8;
    ds[1].rate_hz = 499.75;
    tw_msg m = {.type = TW_MSG_HELLO}, b;
    strcpy(m.u.hello.client, "tw-rig");
    strcpy(m.u.hello.version, "0.1.0");
    strcpy(m.u.hello.rig, "panda-01");
    m.u.hello.nstreams = 7;
    m.u.hello.streams = ds;
    round_trip(&m, &b);
    assert_string_equal(b.u.hello.rig, "panda-01");
    assert_int_equal(b.u.hello.nstreams, 7);
    for (int i = 0; i < 7; i++)
        assert_memory_equal(&b.u.hello.streams[i], &ds[i], sizeof ds[i]);
    tw_msg_clear(&b);
    tw_msg_clear(NULL);
}

static void test_episode_control_round_trip(void **s)
{
    tw_msg m = {.type = TW_MSG_EPISODE_START}, b;
    strcpy(m.u.start.task, "pick the red cube \xe2\x9c\x93");
    strcpy(m.u.start.operator_, "alice");
    strcpy(m.u.start.robot, "panda");
    strcpy(m.u.start.metadata, "{\"scene\":\"table\",\"n\":3}");
    round_trip(&m, &b);
    assert_string_equal(b.u.start.task, m.u.start.task);
    assert_string_equal(b.u.start.operator_, "alice");
    assert_string_equal(b.u.start.metadata, "{\"scene\":\"table\",\"n\":3}");

    int succ[] = {-1, 0, 1};
    for (int i = 0; i < 3; i++) {
        m = (tw_msg){.type = TW_MSG_EPISODE_STOP, .u.stop.success = succ[i]};
        round_trip(&m, &b);
        assert_int_equal(b.u.stop.success, succ[i]);
    }
    m = (tw_msg){.type = TW_MSG_EPISODE_ABORT};
    strcpy(m.u.abort_.reason, "operator hit e-stop");
    round_trip(&m, &b);
    assert_string_equal(b.u.abort_.reason, "operator hit e-stop");

    m = (tw_msg){.type = TW_MSG_ANNOTATE, .u.annotate.t_src_ns = INT64_MIN + 1};
    strcpy(m.u.annotate.label, "grasp");
    strcpy(m.u.annotate.data, "{\"object\":\"cube\"}");
    round_trip(&m, &b);
    assert_true(b.u.annotate.t_src_ns == INT64_MIN + 1);
    assert_string_equal(b.u.annotate.data, "{\"object\":\"cube\"}");

    m = (tw_msg){.type = TW_MSG_METADATA};
    strcpy(m.u.metadata.metadata, "{\"success\":true}");
    round_trip(&m, &b);
    assert_string_equal(b.u.metadata.metadata, "{\"success\":true}");
}

static void test_server_messages_round_trip(void **s)
{
    tw_msg m = {.type = TW_MSG_PING, .u.ping = {.id = 42, .t0_ns = 1700000000123456789}}, b;
    round_trip(&m, &b);
    assert_true(b.u.ping.id == 42 && b.u.ping.t0_ns == 1700000000123456789);
    m = (tw_msg){.type = TW_MSG_PONG, .u.ping = {.id = 43, .t0_ns = 1, .t1_ns = -2, .t2_ns = INT64_MAX}};
    round_trip(&m, &b);
    assert_true(b.u.ping.t1_ns == -2 && b.u.ping.t2_ns == INT64_MAX);

    m = (tw_msg){.type = TW_MSG_WELCOME,
                 .u.welcome = {.max_binary = TW_MAX_BINARY_MSG, .max_text = TW_MAX_TEXT_MSG, .status_interval_ms = 1000}};
    strcpy(m.u.welcome.session_id, "s-0001");
    round_trip(&m, &b);
    assert_int_equal(b.u.welcome.max_binary, TW_MAX_BINARY_MSG);
    assert_string_equal(b.u.welcome.session_id, "s-0001");

    m = (tw_msg){.type = TW_MSG_ACK};
    strcpy(m.u.ack.what, "episode_start");
    strcpy(m.u.ack.episode_id, "20261124T013000Z-panda-01-0001");
    round_trip(&m, &b);
    assert_string_equal(b.u.ack.episode_id, m.u.ack.episode_id);

    m = (tw_msg){.type = TW_MSG_STATUS,
                 .u.status = {.queue_bytes = 1 << 20, .queue_cap_bytes = 256u << 20, .write_lag_ms = 3.5,
                              .clock_offset_ns = -250000000, .nstreams = 2}};
    m.u.status.streams[0] = (tw_stream_status){1, 5000, 4990, 10, 2, 840000, 3, 1, 0, 4, 2};
    m.u.status.streams[1] = (tw_stream_status){4, 300, 300, 0, 0, 9000000, 0, 0, 1, 0, 0};
    round_trip(&m, &b);
    assert_memory_equal(b.u.status.streams, m.u.status.streams, 2 * sizeof(tw_stream_status));
    assert_true(b.u.status.write_lag_ms == 3.5 && b.u.status.clock_offset_ns == -250000000);

    m = (tw_msg){.type = TW_MSG_ERROR, .u.error.fatal = 1};
    strcpy(m.u.error.code, tw_err_name(TW_EUNKNOWN_STREAM));
    strcpy(m.u.error.message, "frame 3 at byte 4120: stream id 9 was not declared in hello");
    round_trip(&m, &b);
    assert_string_equal(b.u.error.code, "UNKNOWN_STREAM");
    assert_int_equal(b.u.error.fatal, 1);
}

static void test_rejects_invalid_json_and_utf8(void **s)
{
    expect_reject("{\"type\":\"ping\",\"id\":1,", TW_EJSON, "line 1");
    expect_reject("", TW_EJSON, "text message");
    expect_reject("{\"type\":\"ping\",\"id\":1,\"t0_ns\":1,\"id\":2}", TW_EJSON, "duplicate");
    expect_reject("{\"type\":\"episode_abort\",\"reason\":\"bad \xc3\x28\"}", TW_EUTF8, "invalid UTF-8 at byte 38");
    expect_reject("{\"type\":\"episode_abort\",\"reason\":\"\\u0000\"}", TW_EJSON, "text message");
    expect_reject("[1,2,3]", TW_ESCHEMA, "expected a JSON object");
    expect_reject("{\"type\":\"ping\",\"id\":1,\"t0_ns\":99999999999999999999}", TW_EJSON, "too big");
    char *big = malloc(TW_MAX_TEXT_MSG + 2);
    memset(big, ' ', TW_MAX_TEXT_MSG + 1);
    big[TW_MAX_TEXT_MSG + 1] = 0;
    expect_reject(big, TW_ETOO_BIG, "exceeds limit 262144");
    free(big);
}

static void test_rejects_wrong_types_and_fields(void **s)
{
    expect_reject("{\"type\":7}", TW_ESCHEMA, "message.type: expected string, got integer");
    expect_reject("{\"id\":7}", TW_ESCHEMA, "missing field 'type'");
    expect_reject("{\"type\":\"launch_rocket\"}", TW_EUNSUPPORTED, "unknown message type 'launch_rocket'");
    expect_reject("{\"type\":\"ping\",\"id\":\"1\",\"t0_ns\":1}", TW_ESCHEMA, "ping.id: expected integer, got string");
    expect_reject("{\"type\":\"ping\",\"id\":-1,\"t0_ns\":1}", TW_ESCHEMA, "ping.id: -1 outside");
    expect_reject("{\"type\":\"pong\",\"id\":1,\"t0_ns\":1,\"t1_ns\":2}", TW_ESCHEMA, "pong: missing field 't2_ns'");
    expect_reject("{\"type\":\"episode_start\",\"task\":\"t\",\"oprator\":\"x\"}", TW_ESCHEMA,
                  "episode_start: unknown field 'oprator'");
    expect_reject("{\"type\":\"episode_start\",\"task\":\"t\",\"metadata\":[1]}", TW_ESCHEMA,
                  "episode_start.metadata: expected object, got array");
    expect_reject("{\"type\":\"episode_stop\",\"success\":1}", TW_ESCHEMA, "expected boolean or null");
    expect_reject("{\"type\":\"annotate\",\"t_src_ns\":1.5,\"label\":\"x\"}", TW_ESCHEMA,
                  "annotate.t_src_ns: expected integer, got number");
    expect_reject("{\"type\":\"annotate\",\"t_src_ns\":1,\"label\":\"\"}", TW_ESCHEMA, "must not be empty");
    expect_reject("{\"type\":\"metadata\"}", TW_ESCHEMA, "metadata: missing field 'metadata'");
    expect_reject("{\"type\":\"error\",\"code\":\"bad code\",\"message\":\"m\",\"fatal\":true}", TW_ESCHEMA,
                  "upper-case identifier");
    expect_reject("{\"type\":\"error\",\"code\":\"IO\",\"message\":\"m\"}", TW_ESCHEMA, "error.fatal");
    expect_reject("{\"type\":\"ack\",\"what\":\"hello\",\"episode_id\":\"\"}", TW_ESCHEMA, "not an episode control");
    expect_reject("{\"type\":\"welcome\",\"protocol\":\"teleworld.v2\",\"session_id\":\"s\",\"max_binary\":1,"
                  "\"max_text\":1,\"status_interval_ms\":1}",
                  TW_EVERSION, "server speaks 'teleworld.v2'");
    expect_reject("{\"type\":\"status\",\"episode_id\":\"\",\"queue_bytes\":0,\"queue_cap_bytes\":0,"
                  "\"write_lag_ms\":0,\"clock_offset_ns\":0,\"streams\":[{\"id\":1}]}",
                  TW_ESCHEMA, "status.streams[0]: missing field 'received'");
}

static void test_unknown_field_policy(void **s)
{
    tw_msg m;
    /* replies to a client tolerate fields a newer server adds; x_ fields are ignored everywhere */
    const char *ack = "{\"type\":\"ack\",\"what\":\"episode_stop\",\"episode_id\":\"e1\",\"frames\":12}";
    assert_int_equal(tw_msg_decode(ack, strlen(ack), &m, msg, sizeof msg), 0);
    const char *stop = "{\"type\":\"episode_stop\",\"success\":true,\"x_note\":{\"any\":1}}";
    assert_int_equal(tw_msg_decode(stop, strlen(stop), &m, msg, sizeof msg), 0);
    assert_int_equal(m.u.stop.success, 1);
    /* but the server is strict with what clients send */
    expect_reject("{\"type\":\"episode_stop\",\"succes\":true}", TW_ESCHEMA, "unknown field 'succes'");
    expect_reject("{\"type\":\"ping\",\"id\":1,\"t0_ns\":2,\"t1_ns\":3}", TW_ESCHEMA, "unknown field 't1_ns'");
}

/* Builds hello text with the given stream objects (JSON fragments). */
static void hello_with(char *dst, size_t cap, const char *streams)
{
    snprintf(dst, cap, "{\"type\":\"hello\",\"client\":\"c\",\"version\":\"1\",\"streams\":[%s]}", streams);
}

#define JS "{\"id\":%d,\"name\":\"%s\",\"kind\":\"joint_state\",\"dtype\":\"float32\",\"shape\":[3,2],\"rate_hz\":500}"

static void expect_hello_reject(const char *streams, int code, const char *needle)
{
    char text[4096];
    hello_with(text, sizeof text, streams);
    expect_reject(text, code, needle);
}

static void test_hello_rejects_bad_streams(void **s)
{
    char two[512];
    snprintf(two, sizeof two, JS "," JS, 1, "a", 1, "b");
    expect_hello_reject(two, TW_EDUP_STREAM, "hello.streams[1]: stream 'b': id 1 already used by 'a'");
    snprintf(two, sizeof two, JS "," JS, 1, "a", 2, "a");
    expect_hello_reject(two, TW_EDUP_STREAM, "name 'a' already used by id 1");
    snprintf(two, sizeof two, JS, 1, "bad name");
    expect_hello_reject(two, TW_ESCHEMA, "hello.streams[0]: stream 1: name has byte 0x20");
    snprintf(two, sizeof two, JS, 0, "a");
    expect_hello_reject(two, TW_ESCHEMA, "hello.streams[0].id: 0 outside 1..65535");
    snprintf(two, sizeof two, JS, 70000, "a");
    expect_hello_reject(two, TW_ESCHEMA, "outside 1..65535");
    expect_hello_reject("", TW_ESCHEMA, "at least one stream");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"camera\",\"dtype\":\"bytes\",\"rate_hz\":30}", TW_EKIND,
                        "hello.streams[0].kind: unknown value 'camera'");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"wrench\",\"dtype\":\"float16\",\"shape\":[6],\"rate_hz\":1}",
                        TW_EDTYPE, "unknown value 'float16'");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"wrench\",\"dtype\":\"float32\",\"shape\":[6],\"rate_hz\":\"fast\"}",
                        TW_ESCHEMA, "rate_hz: expected number, got string");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"wrench\",\"dtype\":\"float32\",\"shape\":[5],\"rate_hz\":1}",
                        TW_ESHAPE, "wrench shape must be [6]");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"tensor\",\"dtype\":\"float32\",\"shape\":[1,1,1,1,1],\"rate_hz\":1}",
                        TW_ETOO_BIG, "shape: 5 entries exceeds limit 4");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"tensor\",\"dtype\":\"float32\",\"shape\":[\"2\"],\"rate_hz\":1}",
                        TW_ESCHEMA, "shape[0]: expected integer, got string");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"video\",\"dtype\":\"bytes\",\"encoding\":\"vp9\",\"rate_hz\":30}",
                        TW_ESCHEMA, "encoding: unknown value 'vp9'");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"video\",\"dtype\":\"bytes\",\"encoding\":\"h264\",\"rate_hz\":30}",
                        TW_ESCHEMA, "video size 0x0");
    expect_hello_reject("{\"id\":1,\"name\":\"v\",\"kind\":\"event\",\"dtype\":\"bytes\",\"rate_hz\":1,\"colour\":1}",
                        TW_ESCHEMA, "hello.streams[0]: unknown field 'colour'");
    expect_hello_reject("{\"id\":1,\"name\":\"j\",\"kind\":\"joint_state\",\"dtype\":\"float32\",\"shape\":[3,2],"
                        "\"axes\":[\"a\",7],\"rate_hz\":1}",
                        TW_ESCHEMA, "axes[1]: expected string, got integer");
    expect_hello_reject("{\"id\":1,\"name\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"kind\":\"event\","
                        "\"dtype\":\"bytes\",\"rate_hz\":1}",
                        TW_ETOO_BIG, "name: 64 bytes exceeds limit 63");
}

static void test_hello_rejects_too_many_streams(void **s)
{
    size_t cap = 200 * 160;
    char *streams = malloc(cap), *text = malloc(cap + 200);
    size_t off = 0;
    for (int i = 1; i <= TW_MAX_STREAMS + 1; i++)
        off += (size_t)snprintf(streams + off, cap - off, "%s" JS, i > 1 ? "," : "", i, "s");
    hello_with(text, cap + 200, streams);
    expect_reject(text, TW_ETOO_BIG, "hello.streams: 65 entries exceeds limit 64");
    free(streams);
    free(text);
}

static void test_encode_rejects_bad_structs(void **s)
{
    char *out = (char *)1;
    tw_msg m = {.type = TW_MSG_HELLO};
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), TW_EINVAL);
    assert_null(out);
    tw_stream_decl d = fx_joint(1, "arm", 7);
    d.rate_hz = -1;
    m.u.hello.nstreams = 1;
    m.u.hello.streams = &d;
    strcpy(m.u.hello.client, "c");
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), TW_ESCHEMA);
    m = (tw_msg){.type = TW_MSG_EPISODE_START};
    strcpy(m.u.start.task, "t");
    strcpy(m.u.start.metadata, "[1]");
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), TW_ESCHEMA);
    strcpy(m.u.start.metadata, "{");
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), TW_EJSON);
    strcpy(m.u.start.metadata, "");
    strcpy(m.u.start.task, "\xff");
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), TW_EUTF8);
    m.type = (tw_msg_type)99;
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), TW_EINVAL);
    m = (tw_msg){.type = TW_MSG_ERROR};
    strcpy(m.u.error.code, "bad code");
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), TW_ESCHEMA);
    /* a decoder message cut mid-character by snprintf is trimmed, not refused */
    strcpy(m.u.error.code, "SHAPE");
    strcpy(m.u.error.message, "payload 5 \xe2\x82");
    assert_int_equal(tw_msg_encode(&m, &out, msg, sizeof msg), 0);
    assert_non_null(strstr(out, "\"message\":\"payload 5 \""));
    free(out);
}

static void test_decl_json_round_trip(void **s)
{
    tw_stream_decl d = fx_video(9, "cam", TW_VIDEO_RGB24, 32, 24), b;
    char *text = NULL;
    assert_int_equal(tw_decl_to_json(&d, &text), 0);
    assert_int_equal(tw_decl_from_json(text, strlen(text), &b, msg, sizeof msg), 0);
    assert_memory_equal(&b, &d, sizeof d);
    free(text);
    assert_int_equal(tw_decl_from_json("{\"id\":1}", 8, &b, msg, sizeof msg), TW_ESCHEMA);
    assert_non_null(strstr(msg, "stream: missing field 'name'"));
    d.width = 0;
    assert_int_equal(tw_decl_to_json(&d, &text), TW_ESCHEMA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_round_trip),
        cmocka_unit_test(test_episode_control_round_trip),
        cmocka_unit_test(test_server_messages_round_trip),
        cmocka_unit_test(test_rejects_invalid_json_and_utf8),
        cmocka_unit_test(test_rejects_wrong_types_and_fields),
        cmocka_unit_test(test_unknown_field_policy),
        cmocka_unit_test(test_hello_rejects_bad_streams),
        cmocka_unit_test(test_hello_rejects_too_many_streams),
        cmocka_unit_test(test_encode_rejects_bad_structs),
        cmocka_unit_test(test_decl_json_round_trip),
    };
    return cmocka_run_group_tests_name("wire_msg", tests, NULL, NULL);
}
