/* Client library against a real local websocket server (tw_test_server): delivery of
 * every kind, auth refusal, absent server, reconnect with resend, counted drops,
 * clock pings with an injected clock, malformed replies, server errors. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_fixtures.h"
#include "tw_client.h"
#include "tw_test_server.h"

#include <libwebsockets.h>

#define TOKEN "s3cret-token"

typedef struct {
    tts *srv;
    tw_client *c;
    char url[64];
    _Atomic int errors, fatal_errors, last_err; /* written by the client's thread */
    int64_t clock_offset; /* added to CLOCK_REALTIME by the injected clock */
} fixture;

static int64_t fake_clock(void *user)
{
    fixture *f = user;
    return tw_client_clock_realtime(NULL) + f->clock_offset;
}

static void on_error(void *user, int err, const char *message, int fatal)
{
    fixture *f = user;
    f->errors++;
    f->fatal_errors += fatal;
    f->last_err = err;
}

static void opts_for(fixture *f, tw_client_opts *o, int port, const char *token)
{
    tw_client_opts_init(o);
    snprintf(f->url, sizeof f->url, "ws://127.0.0.1:%d/", port);
    o->url = f->url;
    o->token = token;
    o->backoff_min_ms = 20;
    o->backoff_max_ms = 80;
    o->max_retries = 3;
    o->ping_interval_ms = 0;
    o->now_ns = fake_clock;
    o->user = f;
    o->on_error = on_error;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || tts_start(TOKEN, 0, &f->srv))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tw_client_close(f->c);
    tts_stop(f->srv);
    free(f);
    return 0;
}

/* Opens a client to the fixture's server, declares every kind and waits for welcome. */
static void connect_declared(fixture *f, tw_client_opts *o)
{
    char msg[256];
    tw_stream_decl d[N_DECLS];
    fx_decls(d);
    assert_int_equal(tw_client_open(o, &f->c, msg, sizeof msg), 0);
    assert_int_equal(tw_client_declare(f->c, d, N_DECLS, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ready(f->c, 5000, msg, sizeof msg), 0);
}

static void send_joints(tw_client *c, int n, int64_t t0)
{
    double q[21];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 21; j++)
            q[j] = i * 0.001 + j;
        assert_int_equal(tw_client_send(c, ID_JOINTS, t0 + i * 2000000LL, 0, q, sizeof q), 0);
    }
}

static void test_client_delivers_every_kind(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256], ep[TW_MAX_NAME];
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    o.queue_bytes = 32u << 20;
    connect_declared(f, &o);
    assert_int_equal(tw_client_episode_start(f->c, "pick cube", "alice", "panda", "{\"site\":\"lab\"}", msg,
                                             sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_start", 5000, ep, sizeof ep, msg, sizeof msg), 0);
    assert_string_equal(ep, "ep-1");
    enum { N = 3000 };
    double w[6] = {1, 2, 3, 4, 5, 6};
    float a[7] = {0};
    static uint8_t video[100000] = {0, 0, 0, 1, 0x65};
    send_joints(f->c, N, 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(tw_client_send(f->c, ID_WRENCH, i * 2000000LL, 0, w, sizeof w), 0);
    for (int i = 0; i < N / 5; i++)
        assert_int_equal(tw_client_send(f->c, ID_ACTION, i * 10000000LL, 0, a, sizeof a), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(tw_client_send(f->c, ID_VIDEO, i * 33000000LL, i % 10 ? 0 : TW_FLAG_KEYFRAME, video,
                                        1000 + (size_t)i * 3000), 0);
    const char *ev = "{\"event\":\"grasp\"}";
    assert_int_equal(tw_client_send(f->c, ID_EVENT, 5, 0, ev, strlen(ev)), 0);
    assert_int_equal(tw_client_annotate(f->c, 7, "grasp", "{\"object\":\"cube\"}", msg, sizeof msg), 0);
    assert_int_equal(tw_client_episode_stop(f->c, 1, msg, sizeof msg), 0);
    assert_int_equal(tw_client_flush(f->c, 10000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_stop", 5000, NULL, 0, msg, sizeof msg), 0);

    tts_counts n;
    tts_counts_get(f->srv, &n);
    assert_int_equal(n.streams[ID_JOINTS].frames, N);
    assert_int_equal(n.streams[ID_WRENCH].frames, N);
    assert_int_equal(n.streams[ID_ACTION].frames, N / 5);
    assert_int_equal(n.streams[ID_VIDEO].frames, 30);
    assert_int_equal(n.streams[ID_EVENT].frames, 1);
    for (int id = ID_JOINTS; id <= ID_VIDEO; id++) {
        assert_int_equal(n.streams[id].gaps + n.streams[id].disorder + n.streams[id].discont, 0);
        assert_int_equal(n.streams[id].first_seq, 0);
    }
    assert_int_equal(n.streams[ID_JOINTS].last_seq, N - 1);
    assert_int_equal(n.bad_frames + n.bad_text, 0);
    assert_int_equal(n.starts, 1);
    assert_int_equal(n.stops, 1);
    assert_int_equal(n.annotates, 1);
    assert_string_equal(n.last_task, "pick cube");

    tw_client_stats st;
    tw_client_stats_get(f->c, &st);
    assert_int_equal(st.frames_sent, 2 * N + N / 5 + 31);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.queued_bytes, 0);
    /* the test server sends a status right after the stop's ack */
    assert_true(FX_WAIT_FOR((tw_client_stats_get(f->c, &st), st.have_status), 2000));
    assert_int_equal(st.last_status.u.status.nstreams, N_DECLS);
    assert_int_equal(f->errors, 0);
}

static void test_client_refuses_bad_samples_locally(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256];
    double q[21] = {0};
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), 0);
    assert_int_equal(tw_client_send(f->c, ID_JOINTS, 0, 0, q, sizeof q), TW_EUNKNOWN_STREAM);
    assert_int_equal(tw_client_episode_start(f->c, "t", "", "", NULL, msg, sizeof msg), TW_ESTATE);
    tw_stream_decl d[N_DECLS];
    fx_decls(d);
    assert_int_equal(tw_client_declare(f->c, d, N_DECLS, msg, sizeof msg), 0);
    assert_int_equal(tw_client_declare(f->c, d, N_DECLS, msg, sizeof msg), TW_ESTATE);
    assert_int_equal(tw_client_send(f->c, ID_JOINTS, 0, 0, q, sizeof q - 8), TW_ESHAPE);
    assert_int_equal(tw_client_send(f->c, 99, 0, 0, q, sizeof q), TW_EUNKNOWN_STREAM);
    assert_int_equal(tw_client_send(f->c, ID_JOINTS, 0, 0x8000, q, sizeof q), TW_EINVAL);
    assert_int_equal(tw_client_episode_stop(f->c, 1, msg, sizeof msg), TW_ESTATE);
    assert_int_equal(tw_client_send(f->c, ID_VIDEO, 0, 0, "\x12\x34\x56\x78", 4), TW_ESCHEMA); /* no start code */
    assert_int_equal(tw_client_send(f->c, ID_EVENT, 0, 0, "[1]", 3), TW_ESCHEMA); /* not an object */
    assert_int_equal(tw_client_send(f->c, ID_EVENT, 0, 0, "", 0), TW_ESHAPE);
    tw_client_stats st;
    tw_client_stats_get(f->c, &st);
    assert_int_equal(st.frames_queued + st.dropped, 0);
    assert_int_equal(tw_client_episode_start(f->c, "t", "", "", "{not json", msg, sizeof msg) < 0, 1);
}

static void test_client_bad_url_is_refused(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256] = "";
    tw_client_opts_init(&o);
    o.url = "http://127.0.0.1:1/";
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, "ws or wss"));
    assert_null(f->c);
}

static void test_client_wrong_token_is_an_auth_error(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256] = "";
    opts_for(f, &o, tts_port(f->srv), "wrong");
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ready(f->c, 5000, msg, sizeof msg), TW_EAUTH);
    assert_non_null(strstr(msg, "refused the token"));
    print_message("refused as expected: %s\n", msg);
    assert_int_equal(tw_client_get_state(f->c), TW_CLIENT_FAILED);
    tts_counts n;
    tts_counts_get(f->srv, &n);
    assert_int_equal(n.auth_refused, 1); /* no pointless retries with a refused token */
    assert_true(FX_WAIT_FOR(f->fatal_errors == 1, 2000));
    assert_int_equal(f->last_err, TW_EAUTH);
    double q[21] = {0};
    tw_stream_decl d[N_DECLS];
    fx_decls(d);
    assert_int_equal(tw_client_declare(f->c, d, N_DECLS, msg, sizeof msg), 0);
    assert_int_equal(tw_client_send(f->c, ID_JOINTS, 0, 0, q, sizeof q), TW_EAUTH);
}

/* A port nobody listens on: bind an ephemeral one and close it again. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_client_absent_server_retries_then_fails(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256] = "";
    opts_for(f, &o, free_port(), TOKEN);
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ready(f->c, 10000, msg, sizeof msg), TW_ECONNECT);
    assert_non_null(strstr(msg, "giving up"));
    print_message("failed as expected: %s\n", msg);
    tw_client_stats st;
    tw_client_stats_get(f->c, &st);
    assert_int_equal(st.failed_attempts, 4); /* the first try and max_retries = 3 retries */
    assert_int_equal(st.state, TW_CLIENT_FAILED);
    assert_int_equal(st.last_error, TW_ECONNECT);
    assert_true(FX_WAIT_FOR(f->fatal_errors == 1, 2000)); /* callbacks run just after the state change */
    assert_int_equal(f->errors, 4);
}

static void test_client_reconnects_and_resends_buffered(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256];
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    o.backoff_min_ms = 300; /* long enough that the next samples queue up while disconnected */
    o.backoff_max_ms = 300;
    connect_declared(f, &o);
    assert_int_equal(tw_client_episode_start(f->c, "reach", "bob", "arm7", "{\"site\":\"lab\"}", msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_start", 5000, NULL, 0, msg, sizeof msg), 0);
    tts_drop_after(f->srv, 500);
    send_joints(f->c, 500, 0);
    assert_int_equal(tw_client_flush(f->c, 5000, msg, sizeof msg), 0);
    assert_true(FX_WAIT_FOR(tw_client_get_state(f->c) != TW_CLIENT_READY, 5000));
    send_joints(f->c, 1000, 0); /* buffered: the client is in back-off */
    tw_client_stats st;
    tw_client_stats_get(f->c, &st);
    assert_true(st.queued_bytes > 0);
    assert_int_equal(tw_client_wait_ready(f->c, 5000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_episode_stop(f->c, 1, msg, sizeof msg), 0);
    assert_int_equal(tw_client_flush(f->c, 5000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_stop", 5000, NULL, 0, msg, sizeof msg), 0);

    tts_counts n;
    tts_counts_get(f->srv, &n);
    assert_int_equal(n.connections, 2);
    assert_int_equal(n.hellos, 2);
    assert_int_equal(n.starts, 2); /* the open episode was re-started on the new session */
    assert_string_equal(n.last_task, "reach");
    /* the resumed episode says which one it continues, and keeps the user's metadata */
    assert_string_equal(n.last_start_metadata, "{\"site\":\"lab\",\"resumed_from\":\"ep-1\"}");
    assert_int_equal(n.stops, 1);
    assert_int_equal(n.streams[ID_JOINTS].frames, 1500);
    assert_int_equal(n.streams[ID_JOINTS].last_seq, 1499);
    assert_int_equal(n.streams[ID_JOINTS].gaps + n.streams[ID_JOINTS].disorder, 0);
    tw_client_stats_get(f->c, &st);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.frames_sent, 1500);
    assert_int_equal(st.dropped, 0);
    assert_true(f->errors >= 1); /* the drop was reported */
}

static void test_client_drop_while_streaming_keeps_seq_continuity(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256];
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    o.queue_bytes = 16u << 20;
    connect_declared(f, &o);
    enum { N = 20000 };
    tts_drop_after(f->srv, 2050); /* mid-message: the rest of that message dies with the socket */
    for (int i = 0; i < N; i += 100) { /* keeps streaming through the drop */
        send_joints(f->c, 100, (int64_t)i * 2000000);
        fx_sleep_ms(1);
    }
    assert_int_equal(tw_client_wait_ready(f->c, 5000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_flush(f->c, 10000, msg, sizeof msg), 0);
    tts_counts n;
    assert_true(FX_WAIT_FOR((tts_counts_get(f->srv, &n), n.streams[ID_JOINTS].last_seq == N - 1), 5000));
    const tts_stream *js = &n.streams[ID_JOINTS];
    assert_int_equal(js->disorder, 0);              /* nothing twice, nothing out of order */
    assert_int_equal(js->frames + js->gaps, N);     /* what was lost in the dead socket shows as a gap */
    assert_true(js->frames > 2000);                 /* and streaming resumed on the new session */
    tw_client_stats st;
    tw_client_stats_get(f->c, &st);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.frames_sent, N);
    assert_int_equal(st.dropped, 0);
    print_message("lost in the dropped connection: %llu of %d frames\n", (unsigned long long)js->gaps, N);
}

static void test_client_tiny_buffer_counts_drops_exactly(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256];
    int port = free_port();
    opts_for(f, &o, port, TOKEN);
    o.queue_bytes = 4096;
    o.max_retries = -1;
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), 0);
    tw_stream_decl d[N_DECLS];
    fx_decls(d);
    assert_int_equal(tw_client_declare(f->c, d, N_DECLS, msg, sizeof msg), 0);
    double q[21] = {0};
    int accepted = 0, full = 0;
    for (int i = 0; i < 100; i++) {
        int rc = tw_client_send(f->c, ID_JOINTS, i, 0, q, sizeof q);
        assert_true(rc == 0 || rc == TW_EFULL);
        accepted += rc == 0, full += rc == TW_EFULL;
    }
    int fit = 4096 / (TW_FRAME_HEADER_SIZE + (int)sizeof q);
    assert_int_equal(accepted, fit);
    tw_client_stats st;
    tw_client_stats_get(f->c, &st);
    assert_int_equal(st.dropped, (uint64_t)full);

    /* the recorder appears: what was kept arrives, and the gap is visible and flagged */
    tts *srv2;
    assert_int_equal(tts_start(TOKEN, port, &srv2), 0);
    assert_int_equal(tw_client_wait_ready(f->c, 5000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_flush(f->c, 5000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_send(f->c, ID_JOINTS, 100, 0, q, sizeof q), 0);
    assert_int_equal(tw_client_flush(f->c, 5000, msg, sizeof msg), 0);
    assert_true(FX_WAIT_FOR(({ tts_counts n_; tts_counts_get(srv2, &n_); n_.frames == (uint64_t)fit + 1; }), 5000));
    tts_counts n;
    tts_counts_get(srv2, &n);
    assert_int_equal(n.streams[ID_JOINTS].gaps, (uint64_t)full);
    assert_int_equal(n.streams[ID_JOINTS].discont, 1);
    assert_int_equal(n.streams[ID_JOINTS].last_seq, 100);
    tw_client_close(f->c);
    f->c = NULL;
    tts_stop(srv2);
}

static void test_client_answers_ping_with_injected_clock(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    o.ping_interval_ms = 20; /* the client's own pings estimate the offset */
    f->clock_offset = -250000000LL; /* the rig's clock runs 250 ms behind */
    connect_declared(f, &o);
    int64_t before = fake_clock(f);
    tts_send_ping(f->srv, 42, 123456789);
    assert_true(FX_WAIT_FOR(({ tts_counts n_; tts_counts_get(f->srv, &n_); n_.pongs == 1; }), 5000));
    int64_t after = fake_clock(f);
    tts_counts n;
    tts_counts_get(f->srv, &n);
    assert_int_equal(n.pong_id, 42);
    assert_int_equal(n.pong_t0, 123456789);
    assert_true(n.pong_t1 >= before && n.pong_t1 <= n.pong_t2 && n.pong_t2 <= after);

    tw_client_stats st;
    assert_true(FX_WAIT_FOR((tw_client_stats_get(f->c, &st), st.have_offset), 5000));
    fx_sleep_ms(200); /* a few more exchanges for the min-RTT pick */
    tw_client_stats_get(f->c, &st);
    int64_t err = st.clock_offset_ns - 250000000LL;
    assert_true(err < 0 ? -err <= st.rtt_ns / 2 + 1000000 : err <= st.rtt_ns / 2 + 1000000);
}

static void test_client_survives_malformed_replies(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256];
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    connect_declared(f, &o);
    const char *bad[] = {"{not json", "{\"type\":\"welcome\"}", "{\"type\":\"nonsense\",\"x\":1}", "\xff\xfe",
                         "{\"type\":\"hello\",\"client\":\"x\",\"version\":\"1\",\"rig\":\"\",\"streams\":[]}",
                         "{\"type\":\"ack\",\"what\":\"episode_start\",\"episode_id\":7}"};
    size_t nbad = sizeof bad / sizeof bad[0];
    for (size_t i = 0; i < nbad; i++)
        tts_send_raw(f->srv, bad[i], strlen(bad[i]), 0);
    tts_send_raw(f->srv, "\x01\x02\x03", 3, 1);
    tw_client_stats st;
    assert_true(FX_WAIT_FOR((tw_client_stats_get(f->c, &st), st.bad_replies == nbad + 1), 5000));
    assert_int_equal(st.state, TW_CLIENT_READY);
    send_joints(f->c, 10, 0);
    assert_int_equal(tw_client_flush(f->c, 5000, msg, sizeof msg), 0);
    assert_true(FX_WAIT_FOR(({ tts_counts n_; tts_counts_get(f->srv, &n_); n_.frames == 10; }), 5000));
    assert_int_equal(f->errors, (int)nbad + 1);
}

static void test_client_wait_ack_reports_server_error(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256] = "";
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    connect_declared(f, &o);
    tts_refuse_next_start(f->srv, "STATE");
    assert_int_equal(tw_client_episode_start(f->c, "t", "", "", NULL, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_start", 5000, NULL, 0, msg, sizeof msg), TW_ESTATE);
    assert_non_null(strstr(msg, "refused by the test server"));
    assert_int_equal(tw_client_get_state(f->c), TW_CLIENT_READY);
}

static void test_client_close_is_clean(void **state)
{
    fixture *f = *state;
    tw_client_opts o;
    char msg[256];
    opts_for(f, &o, tts_port(f->srv), TOKEN);
    connect_declared(f, &o);
    send_joints(f->c, 10, 0);
    tw_client_close(f->c); /* without flush: close still sends what is buffered, then says goodbye */
    f->c = NULL;
    tts_counts n;
    assert_true(FX_WAIT_FOR((tts_counts_get(f->srv, &n), n.clean_closes == 1), 5000));
    assert_int_equal(n.streams[ID_JOINTS].frames, 10);
    (void)msg;
}

static void test_client_auth_refused_in_session_is_final(void **state)
{
    fixture *f = *state;
    tts *srv;
    tts_opts so = {.token = TOKEN, .refuse_in_hello = 1};
    assert_int_equal(tts_start_opts(&so, &srv), 0);
    tw_client_opts o;
    char msg[256] = "";
    opts_for(f, &o, tts_port(srv), "whatever");
    tw_stream_decl d[N_DECLS];
    fx_decls(d);
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), 0);
    assert_int_equal(tw_client_declare(f->c, d, N_DECLS, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ready(f->c, 5000, msg, sizeof msg), TW_EAUTH);
    assert_non_null(strstr(msg, "token refused"));
    print_message("refused as expected: %s\n", msg);
    fx_sleep_ms(200); /* a retry would have happened by now (backoff 20 ms) */
    tts_counts n;
    tts_counts_get(srv, &n);
    assert_int_equal(n.connections, 1);
    tw_client_close(f->c);
    f->c = NULL;
    tts_stop(srv);
}

static void test_client_wss(void **state)
{
    fixture *f = *state;
    const char *dir = getenv("TW_CLIENT_TEST_DATA");
    if (!dir)
        skip();
    char cert[512], key[512], msg[256] = "";
    snprintf(cert, sizeof cert, "%s/test-cert.pem", dir);
    snprintf(key, sizeof key, "%s/test-key.pem", dir);
    tts *srv;
    tts_opts so = {.token = TOKEN, .cert = cert, .key = key};
    assert_int_equal(tts_start_opts(&so, &srv), 0);
    tw_client_opts o;
    opts_for(f, &o, tts_port(srv), TOKEN);
    snprintf(f->url, sizeof f->url, "wss://127.0.0.1:%d/", tts_port(srv));

    /* a self-signed certificate is refused unless the user says otherwise */
    o.max_retries = 0;
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ready(f->c, 5000, msg, sizeof msg), TW_ECONNECT);
    print_message("refused as expected: %s\n", msg);
    tw_client_close(f->c);

    o.tls_insecure = 1;
    connect_declared(f, &o);
    send_joints(f->c, 100, 0);
    assert_int_equal(tw_client_flush(f->c, 5000, msg, sizeof msg), 0);
    tts_counts n;
    assert_true(FX_WAIT_FOR((tts_counts_get(srv, &n), n.streams[ID_JOINTS].frames == 100), 5000));
    tw_client_close(f->c);
    f->c = NULL;
    tts_stop(srv);
}

/* The example program is the documentation of how a rig uses the library: it must work. */
static void test_example_rig_minimal_streams_an_episode(void **state)
{
    fixture *f = *state;
    const char *exe = getenv("TW_EXAMPLE_RIG");
    if (!exe)
        skip();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' ws://127.0.0.1:%d " TOKEN " 1 >/dev/null", exe, tts_port(f->srv));
    assert_int_equal(system(cmd), 0);
    tts_counts n;
    tts_counts_get(f->srv, &n);
    assert_int_equal(n.streams[1].frames, 500); /* 1 s at 500 Hz */
    assert_int_equal(n.streams[2].frames, 500);
    assert_int_equal(n.starts, 1);
    assert_int_equal(n.stops, 1);
    assert_int_equal(n.annotates, 1);
    assert_int_equal(n.bad_frames + n.bad_text, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_delivers_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_refuses_bad_samples_locally, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_bad_url_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_wrong_token_is_an_auth_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_absent_server_retries_then_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_reconnects_and_resends_buffered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_drop_while_streaming_keeps_seq_continuity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_tiny_buffer_counts_drops_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_answers_ping_with_injected_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_survives_malformed_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_wait_ack_reports_server_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_close_is_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_auth_refused_in_session_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_wss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_rig_minimal_streams_an_episode, setup, teardown),
    };
    lws_set_log_level(LLL_ERR, NULL);
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
