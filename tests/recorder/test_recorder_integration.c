/* Recorder integration tests: a real `tw record` process, real sockets, real files,
 * checked with an independent reader (h5py), ffprobe and `tw inspect`: sessions, tokens,
 * bad input, several rigs, the bridge client library, TLS. Faults: test_recorder_faults.c. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "recfx.h"
#include "tw_client.h"
#include "tw_wire.h"

#define assert_inspect_ok(f, out, id) assert_int_equal(fx_inspect(f, out, id), 0)

/* ---- episode written and readable by h5py, video by ffprobe, status over HTTP ---- */
static void test_episode_written_and_readable(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, "--flush-ms 200"), 0);
    assert_true(fx_video_frames() >= 60);
    rawws w;
    char id[64];
    assert_int_equal(fx_session(&w, f, "rigA"), 0);
    assert_int_equal(fx_start(&w, "pick cube", id, sizeof id), 0);
    assert_int_equal(fx_send_arm(&w, FX_ARM, 0, 2000, 50), 0);
    assert_int_equal(fx_send_arm(&w, FX_FT, 0, 2000, 100), 0);
    assert_int_equal(fx_send_video(&w, 0, 60), 0);
    assert_int_equal(fx_send_json(&w, json_pack("{s:s, s:I, s:s, s:{s:i}}", "type", "annotate", "t_src_ns",
                                                (json_int_t)5000000, "label", "grasp", "data", "ok", 1)),
                     0);
    json_t *ack = rawws_wait_type(&w, "ack", 5000);
    assert_non_null(ack);
    json_decref(ack);

    /* /status: token required (header or query), then per-stream counts */
    char *body = NULL, auth[128];
    assert_int_equal(http_get(f->port, "/status", NULL, &body), 401);
    free(body);
    assert_int_equal(http_get(f->port, "/status", "Bearer wrong-token", &body), 401);
    free(body);
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    json_t *st = NULL;
    for (int i = 0; i < 50; i++) { /* the recorder may still be reading the last message */
        assert_int_equal(http_get(f->port, "/status", auth, &body), 200);
        json_decref(st);
        st = json_loads(body, 0, NULL);
        free(body);
        json_t *s0 = json_array_get(json_object_get(st, "sessions"), 0);
        json_t *arm = json_array_get(json_object_get(s0, "streams"), 0);
        if (json_integer_value(json_object_get(arm, "received")) == 2000)
            break;
        fx_ms(100);
    }
    json_t *s0 = json_array_get(json_object_get(st, "sessions"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "rig")), "rigA");
    assert_string_equal(json_string_value(json_object_get(s0, "episode_id")), id);
    json_t *streams = json_object_get(s0, "streams");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(streams, 0), "received")), 2000);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(streams, 1), "received")), 2000);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(streams, 2), "received")), 60);
    json_decref(st);
    char q[256];
    snprintf(q, sizeof q, "/status?token=%s", f->token);
    assert_int_equal(http_get(f->port, q, NULL, &body), 200);
    free(body);

    assert_int_equal(fx_stop(&w), 0);
    rawws_close(&w);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);

    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_int_equal(json_array_size(json_object_get(h5, "problems")), 0);
    assert_string_equal(fx_h5_status(h5), "complete");
    assert_int_equal(fx_h5_n(h5, "arm"), 2000);
    assert_int_equal(fx_h5_n(h5, "wrist_ft"), 2000);
    assert_int_equal(fx_h5_attr_i(h5, "arm", "drops"), 0);
    json_t *cam = json_object_get(json_object_get(h5, "video"), "cam");
    assert_int_equal(json_integer_value(json_object_get(cam, "n")), 60);
    assert_true(json_integer_value(json_object_get(h5, "events")) >= 1);
    const char *vfile = json_string_value(json_object_get(json_object_get(cam, "attrs"), "file"));
    assert_non_null(vfile);
    char vpath[1200];
    snprintf(vpath, sizeof vpath, "%s/%s/%s", f->out, id, vfile);
    assert_int_equal(fx_ffprobe_frames(vpath), 60);
    json_decref(h5);
    assert_inspect_ok(f, NULL, id);
}

/* ---- token refused at the handshake while another session keeps recording ---- */
static void test_token_refused_others_continue(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, ""), 0);
    rawws a, b;
    char id[64];
    int st;
    assert_int_equal(fx_session(&a, f, "rigA"), 0);
    assert_int_equal(fx_start(&a, "t", id, sizeof id), 0);
    assert_int_equal(fx_send_arm(&a, FX_ARM, 0, 500, 50), 0);

    assert_int_equal(rawws_connect(&b, f->port, "/", "Bearer not-the-token", NULL, &st), -1);
    assert_int_equal(st, 401);
    rawws_close(&b);
    assert_int_equal(rawws_connect(&b, f->port, "/", NULL, NULL, &st), -1);
    assert_int_equal(st, 401);
    rawws_close(&b);
    assert_int_equal(rawws_connect(&b, f->port, "/?token=nope", NULL, NULL, &st), -1);
    assert_int_equal(st, 401);
    rawws_close(&b);
    char target[128], auth[128];
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    assert_int_equal(rawws_connect(&b, f->port, "/", auth, "some.other.protocol", &st), -1);
    assert_int_equal(st, 400);
    rawws_close(&b);
    /* the browser way: token in the query string */
    snprintf(target, sizeof target, "/?token=%s", f->token);
    assert_int_equal(rawws_connect(&b, f->port, target, NULL, NULL, &st), 0);
    rawws_close(&b);

    assert_int_equal(fx_send_arm(&a, FX_ARM, 500, 500, 50), 0);
    assert_int_equal(fx_stop(&a), 0);
    rawws_close(&a);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "complete");
    assert_int_equal(fx_h5_n(h5, "arm"), 1000);
    json_decref(h5);
    assert_inspect_ok(f, NULL, id);
}

/* Sends one binary message and expects an error reply with this code. */
static void expect_error(rawws *w, const void *buf, size_t len, const char *code, int fatal)
{
    assert_int_equal(rawws_send_binary(w, buf, len), 0);
    json_t *e = rawws_wait_type(w, "error", 5000);
    assert_non_null(e);
    assert_string_equal(fx_err_code(e), code);
    assert_int_equal(json_is_true(json_object_get(e, "fatal")), fatal);
    json_decref(e);
}

/* ---- malformed, unknown, wrong-size, oversize, floods: refused; session A unaffected ---- */
static void test_bad_input_refused_others_continue(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, ""), 0);
    rawws a, b, c;
    char id[64];
    assert_int_equal(fx_session(&a, f, "good"), 0);
    assert_int_equal(fx_start(&a, "t", id, sizeof id), 0);
    assert_int_equal(fx_send_arm(&a, FX_ARM, 0, 300, 30), 0);

    assert_int_equal(fx_session(&b, f, "bad"), 0);
    uint8_t buf[512];
    memset(buf, 0, sizeof buf);
    expect_error(&b, buf, 10, "TRUNCATED", 0); /* shorter than a frame header */
    double pl[21] = {0};
    tw_frame fr = {9, 0, FX_ARM_BYTES, 0, 0, (const uint8_t *)pl};
    size_t n = tw_frame_encode(buf, sizeof buf, &fr);
    expect_error(&b, buf, n, "UNKNOWN_STREAM", 0);
    fr.stream_id = FX_ARM;
    fr.payload_len = FX_ARM_BYTES - 8; /* wrong size for float64 [3,7] */
    n = tw_frame_encode(buf, sizeof buf, &fr);
    expect_error(&b, buf, n, "SHAPE", 0);
    fr.payload_len = FX_ARM_BYTES;
    n = tw_frame_encode(buf, sizeof buf, &fr);
    expect_error(&b, buf, n - 10, "TRUNCATED", 0); /* the payload is cut short */
    assert_int_equal(rawws_send_text(&b, "{\"type\": \"episode_start\", "), 0);
    json_t *e = rawws_wait_type(&b, "error", 5000);
    assert_non_null(e);
    assert_string_equal(fx_err_code(e), "JSON");
    json_decref(e);
    /* control flood: far more than 200 messages per second */
    for (int i = 0; i < 400; i++)
        rawws_send_text(&b, "{\"type\":\"metadata\",\"metadata\":{}}");
    int rate_limited = 0, op;
    for (;;) {
        e = rawws_wait_type(&b, "error", 3000);
        if (!e)
            break;
        rate_limited |= !strcmp(fx_err_code(e), "RATE_LIMIT") && json_is_true(json_object_get(e, "fatal"));
        json_decref(e);
        if (rate_limited)
            break;
    }
    assert_true(rate_limited); /* the flood is shed: fatal, connection closed */
    char *d;
    size_t dl;
    while (rawws_recv(&b, &op, &d, &dl, 5000) == 1)
        free(d);
    assert_true(b.closed);
    assert_int_equal(b.close_code, 1008);
    rawws_close(&b);

    /* oversize: one message above TW_MAX_BINARY_MSG is refused and the session closed (1009) */
    assert_int_equal(fx_session(&b, f, "big"), 0);
    size_t big = TW_MAX_BINARY_MSG + 1024;
    uint8_t *huge = calloc(1, big);
    rawws_send_binary(&b, huge, big); /* the server may close before we finish */
    free(huge);
    e = rawws_wait_type(&b, "error", 5000);
    assert_non_null(e);
    assert_string_equal(fx_err_code(e), "TOO_BIG");
    assert_true(json_is_true(json_object_get(e, "fatal")));
    json_decref(e);
    while (rawws_recv(&b, &op, &d, &dl, 5000) == 1)
        free(d);
    assert_true(b.closed);
    assert_int_equal(b.close_code, 1009);
    rawws_close(&b);

    /* data before hello: fatal STATE, closed */
    char auth[128];
    int st;
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    assert_int_equal(rawws_connect(&c, f->port, "/", auth, NULL, &st), 0);
    fr.stream_id = FX_ARM;
    n = tw_frame_encode(buf, sizeof buf, &fr);
    expect_error(&c, buf, n, "STATE", 1);
    while (rawws_recv(&c, &op, &d, &dl, 5000) == 1)
        free(d);
    assert_true(c.closed);
    rawws_close(&c);

    assert_int_equal(fx_send_arm(&a, FX_ARM, 300, 300, 30), 0);
    assert_int_equal(fx_stop(&a), 0);
    rawws_close(&a);
    char *body = NULL;
    assert_int_equal(http_get(f->port, "/status", auth, &body), 200);
    json_t *s = json_loads(body, 0, NULL);
    free(body);
    json_t *ctr = json_object_get(s, "counters");
    assert_true(json_integer_value(json_object_get(ctr, "rejected_messages")) >= 5);
    assert_true(json_integer_value(json_object_get(ctr, "oversize_messages")) >= 1);
    assert_true(json_integer_value(json_object_get(ctr, "rate_limited")) >= 1);
    json_decref(s);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "complete");
    assert_int_equal(fx_h5_n(h5, "arm"), 600);
    assert_int_equal(fx_h5_attr_i(h5, "arm", "drops"), 0);
    json_decref(h5);
    assert_inspect_ok(f, NULL, id);
}

/* ---- two rigs at once, each its own session and episode ---- */
static void test_two_rigs_at_once(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, ""), 0);
    rawws a, b;
    char ida[64], idb[64];
    assert_int_equal(fx_session(&a, f, "left"), 0);
    assert_int_equal(fx_session(&b, f, "right"), 0);
    assert_int_equal(fx_start(&a, "ta", ida, sizeof ida), 0);
    assert_int_equal(fx_start(&b, "tb", idb, sizeof idb), 0);
    assert_string_not_equal(ida, idb);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(fx_send_arm(&a, FX_ARM, (uint64_t)i * 100, 100, 25), 0);
        assert_int_equal(fx_send_arm(&b, FX_FT, (uint64_t)i * 150, 150, 50), 0);
        assert_int_equal(fx_send_arm(&b, FX_ARM, (uint64_t)i * 10, 10, 10), 0);
    }
    assert_int_equal(fx_stop(&a), 0);
    assert_int_equal(fx_stop(&b), 0);
    rawws_close(&a);
    rawws_close(&b);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    json_t *ha = fx_episode(f, NULL, ida), *hb = fx_episode(f, NULL, idb);
    assert_non_null(ha);
    assert_non_null(hb);
    assert_int_equal(fx_h5_n(ha, "arm"), 2000);
    assert_int_equal(fx_h5_n(ha, "wrist_ft"), 0);
    assert_int_equal(fx_h5_n(hb, "arm"), 200);
    assert_int_equal(fx_h5_n(hb, "wrist_ft"), 3000);
    assert_non_null(strstr(ida, "left"));
    assert_non_null(strstr(idb, "right"));
    json_decref(ha);
    json_decref(hb);
    assert_inspect_ok(f, NULL, ida);
    assert_inspect_ok(f, NULL, idb);
}

/* The bridge client connected to f's recorder over scheme ("ws" or "wss", certificate not checked), the
 * standard streams declared, and an episode started; its id goes to id. */
static tw_client *client_episode(recfx *f, const char *scheme, const char *rig, char *id, size_t idsz)
{
    char url[64], msg[256];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d/", scheme, f->port);
    tw_client_opts o;
    tw_client_opts_init(&o);
    o.url = url;
    o.token = f->token;
    o.rig_name = rig;
    o.tls_insecure = 1;
    tw_client *c = NULL;
    assert_int_equal(tw_client_open(&o, &c, msg, sizeof msg), 0);
    tw_stream_decl d[3];
    fx_std_decls(d);
    assert_int_equal(tw_client_declare(c, d, 2, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ready(c, 10000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_episode_start(c, rig, "op", "panda", NULL, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(c, "episode_start", 10000, id, idsz, msg, sizeof msg), 0);
    return c;
}

/* ---- TLS: wss/https with --cert/--key, token still required ---- */
static void test_tls_status(void **state)
{
    recfx *f = *state;
    if (fx_sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout '%s/key.pem' "
              "-out '%s/cert.pem' >/dev/null 2>&1", f->root, f->root) != 0) {
        fprintf(stderr, "SKIP tls: openssl cannot make a certificate\n");
        skip();
    }
    char flags[1024];
    snprintf(flags, sizeof flags, "--cert '%s/cert.pem' --key '%s/key.pem'", f->root, f->root);
    assert_int_equal(recfx_start(f, NULL, flags), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "test \"$(curl -sk -o /dev/null -w '%%{http_code}' https://127.0.0.1:%d/status)\" = 401 && "
             "test \"$(curl -sk -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer %s' "
             "https://127.0.0.1:%d/status)\" = 200", f->port, f->token, f->port);
    assert_int_equal(fx_sh("%s", cmd), 0);

    /* a whole session over wss:// with the bridge client (self-signed test certificate) */
    char msg[256], id[64] = "";
    tw_client *c = client_episode(f, "wss", "tls", id, sizeof id);
    double q[6] = {1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 500; i++)
        while (tw_client_send(c, FX_FT, (int64_t)i * 1000000, 0, q, sizeof q) == TW_EFULL)
            fx_ms(1);
    assert_int_equal(tw_client_episode_stop(c, 1, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(c, "episode_stop", 10000, NULL, 0, msg, sizeof msg), 0);
    tw_client_close(c);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_int_equal(fx_h5_n(h5, "wrist_ft"), 500);
    json_decref(h5);
}

/* ---- the bridge client library against the real recorder, clock sync included ---- */
static void test_client_library_session(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, ""), 0);
    char msg[256], id[64] = "";
    tw_client *c = client_episode(f, "ws", "libclient", id, sizeof id);
    double q[21] = {0};
    /* 1500 samples paced over ~1.5 s, so the recorder's 1 Hz clock pings get answered */
    for (int i = 0; i < 1500; i++) {
        while (tw_client_send(c, FX_ARM, (int64_t)i * 1000000, 0, q, sizeof q) == TW_EFULL)
            fx_ms(1);
        if (i % 100 == 99)
            fx_ms(100);
    }
    assert_int_equal(tw_client_flush(c, 10000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_episode_stop(c, 1, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(c, "episode_stop", 10000, NULL, 0, msg, sizeof msg), 0);
    tw_client_stats st;
    tw_client_stats_get(c, &st);
    assert_int_equal(st.dropped, 0);
    tw_client_close(c);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "complete");
    assert_int_equal(fx_h5_n(h5, "arm"), 1500);
    assert_true(json_integer_value(json_object_get(h5, "clock")) >= 1);
    json_decref(h5);
    assert_inspect_ok(f, NULL, id);
}

int main(void)
{
    int skip = fx_main_prelude();
    if (skip)
        return skip;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_episode_written_and_readable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_token_refused_others_continue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_refused_others_continue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_two_rigs_at_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tls_status, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_client_library_session, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("recorder integration", tests, NULL, NULL);
}
