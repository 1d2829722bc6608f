/* Minimal teleworld.v1 test server (see tw_test_server.h). */
#include "tw_test_server.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TTS_MAXQ 64

typedef struct {
    uint8_t *data;
    size_t len;
    int binary;
} tts_out;

struct tts {
    char token[256];
    pthread_t thr;
    pthread_mutex_t mu;
    struct lws_context *ctx;
    struct lws *wsi;         /* current session */
    int stop, port;
    tts_counts n;
    tw_stream_table *table;  /* of the current session */
    uint8_t *rx;
    size_t rxlen, rxcap;
    int rx_bad;
    tts_out q[TTS_MAXQ];
    int nq;
    int drop_armed;
    uint64_t drop_at;
    int drop_now;
    char refuse_code[TW_MAX_NAME];
    int episode_no;
    int refuse_in_hello, close_after_send;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Caller holds mu. Takes ownership of data. */
static void enqueue(tts *s, uint8_t *data, size_t len, int binary)
{
    if (s->nq == TTS_MAXQ) {
        free(data);
        return;
    }
    s->q[s->nq++] = (tts_out){data, len, binary};
}

static void enqueue_msg(tts *s, const tw_msg *m)
{
    char *json = NULL;
    if (tw_msg_encode(m, &json, NULL, 0) == 0)
        enqueue(s, (uint8_t *)json, strlen(json), 0);
}

static void reply_error(tts *s, const char *code, const char *text, int fatal)
{
    tw_msg m = {.type = TW_MSG_ERROR};
    snprintf(m.u.error.code, sizeof m.u.error.code, "%s", code);
    snprintf(m.u.error.message, sizeof m.u.error.message, "%s", text);
    m.u.error.fatal = fatal;
    enqueue_msg(s, &m);
}

static void reply_ack(tts *s, tw_msg_type what)
{
    tw_msg m = {.type = TW_MSG_ACK};
    snprintf(m.u.ack.what, sizeof m.u.ack.what, "%s", tw_msg_type_name(what));
    snprintf(m.u.ack.episode_id, sizeof m.u.ack.episode_id, "ep-%d", s->episode_no);
    enqueue_msg(s, &m);
}

static void reply_status(tts *s)
{
    tw_msg m = {.type = TW_MSG_STATUS};
    size_t n = s->table ? tw_stream_table_count(s->table) : 0;
    for (size_t i = 0; i < n && i < TW_MAX_STREAMS; i++) {
        uint16_t id = tw_stream_table_at(s->table, i)->id;
        m.u.status.streams[i].id = id;
        if (id < sizeof s->n.streams / sizeof s->n.streams[0])
            m.u.status.streams[i].received = s->n.streams[id].frames;
    }
    m.u.status.nstreams = (uint32_t)n;
    enqueue_msg(s, &m);
}

static void on_hello(tts *s, tw_msg *m)
{
    if (s->refuse_in_hello) {
        reply_error(s, "AUTH", "token refused", 1);
        s->close_after_send = 1;
        return;
    }
    tw_stream_table_free(s->table);
    s->table = NULL;
    tw_stream_table_new(&s->table);
    char why[256];
    for (uint32_t i = 0; i < m->u.hello.nstreams; i++)
        if (tw_stream_table_add(s->table, &m->u.hello.streams[i], why, sizeof why)) {
            reply_error(s, "SCHEMA", why, 1);
            return;
        }
    s->n.hellos++;
    tw_msg w = {.type = TW_MSG_WELCOME};
    snprintf(w.u.welcome.session_id, sizeof w.u.welcome.session_id, "s%llu", (unsigned long long)s->n.connections);
    w.u.welcome.max_binary = TW_MAX_BINARY_MSG;
    w.u.welcome.max_text = TW_MAX_TEXT_MSG;
    w.u.welcome.status_interval_ms = 1000;
    enqueue_msg(s, &w);
}

static void on_text(tts *s, const char *text, size_t len)
{
    tw_msg m;
    if (tw_msg_decode(text, len, &m, NULL, 0)) {
        s->n.bad_text++;
        return;
    }
    switch (m.type) {
    case TW_MSG_HELLO: on_hello(s, &m); break;
    case TW_MSG_EPISODE_START:
        if (s->refuse_code[0]) {
            reply_error(s, s->refuse_code, "episode_start refused by the test server", 0);
            s->refuse_code[0] = 0;
            break;
        }
        s->n.starts++, s->episode_no++;
        snprintf(s->n.last_task, sizeof s->n.last_task, "%s", m.u.start.task);
        snprintf(s->n.last_start_metadata, sizeof s->n.last_start_metadata, "%s", m.u.start.metadata);
        reply_ack(s, m.type);
        break;
    case TW_MSG_EPISODE_STOP: s->n.stops++, reply_ack(s, m.type), reply_status(s); break;
    case TW_MSG_EPISODE_ABORT: s->n.aborts++, reply_ack(s, m.type); break;
    case TW_MSG_ANNOTATE: s->n.annotates++, reply_ack(s, m.type); break;
    case TW_MSG_METADATA: s->n.metadatas++, reply_ack(s, m.type); break;
    case TW_MSG_PING: {
        tw_msg p = {.type = TW_MSG_PONG};
        p.u.ping = m.u.ping;
        p.u.ping.t1_ns = p.u.ping.t2_ns = now_ns();
        enqueue_msg(s, &p);
        break;
    }
    case TW_MSG_PONG:
        s->n.pongs++;
        s->n.pong_id = m.u.ping.id;
        s->n.pong_t0 = m.u.ping.t0_ns, s->n.pong_t1 = m.u.ping.t1_ns, s->n.pong_t2 = m.u.ping.t2_ns;
        break;
    default: s->n.bad_text++; break;
    }
    tw_msg_clear(&m);
}

static void count_frame(tts *s, const tw_frame *f)
{
    s->n.frames++;
    if (f->stream_id >= sizeof s->n.streams / sizeof s->n.streams[0])
        return;
    tts_stream *st = &s->n.streams[f->stream_id];
    if (st->frames == 0)
        st->first_seq = f->seq;
    else if (f->seq <= st->last_seq)
        st->disorder++;
    else
        st->gaps += f->seq - st->last_seq - 1;
    if (f->flags & TW_FLAG_DISCONT)
        st->discont++;
    st->frames++;
    st->bytes += f->payload_len;
    st->last_seq = f->seq;
}

/* Returns -1 when the connection must be dropped now. */
static int on_binary(tts *s, const uint8_t *buf, size_t len)
{
    tw_frame_iter it;
    tw_frame f;
    int rc;
    tw_frame_iter_init(&it, buf, len);
    while ((rc = tw_frame_next(&it, s->table, &f, NULL, 0)) == 1) {
        count_frame(s, &f);
        if (s->drop_armed && s->n.frames >= s->drop_at) {
            s->drop_armed = 0;
            return -1;
        }
    }
    if (rc < 0)
        s->n.bad_frames++;
    return 0;
}

static int on_receive(tts *s, struct lws *wsi, const void *in, size_t len)
{
    if (lws_is_first_fragment(wsi))
        s->rxlen = 0, s->rx_bad = 0;
    if (s->rxlen + len > TW_MAX_BINARY_MSG) {
        s->rx_bad = 1;
    } else if (len) {
        if (s->rxlen + len > s->rxcap) {
            size_t cap = (s->rxlen + len) * 2;
            uint8_t *p = realloc(s->rx, cap);
            if (!p)
                return -1;
            s->rx = p, s->rxcap = cap;
        }
        memcpy(s->rx + s->rxlen, in, len);
        s->rxlen += len;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->rx_bad)
        s->n.bad_frames++;
    else if (lws_frame_is_binary(wsi))
        rc = on_binary(s, s->rx, s->rxlen);
    else
        on_text(s, (const char *)s->rx, s->rxlen);
    int more = s->nq > 0;
    pthread_mutex_unlock(&s->mu);
    if (more)
        lws_callback_on_writable(wsi);
    return rc;
}

static int on_writeable(tts *s, struct lws *wsi)
{
    pthread_mutex_lock(&s->mu);
    if (s->drop_now) {
        s->drop_now = 0;
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    if (!s->nq) {
        int close = s->close_after_send;
        s->close_after_send = 0;
        pthread_mutex_unlock(&s->mu);
        return close ? -1 : 0;
    }
    tts_out o = s->q[0];
    memmove(&s->q[0], &s->q[1], sizeof s->q[0] * (size_t)--s->nq);
    int more = s->nq > 0 || s->close_after_send;
    pthread_mutex_unlock(&s->mu);
    uint8_t *buf = malloc(LWS_PRE + o.len + 1);
    int rc = 0;
    if (buf) {
        memcpy(buf + LWS_PRE, o.data, o.len);
        rc = lws_write(wsi, buf + LWS_PRE, o.len, o.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)o.len;
    }
    free(buf), free(o.data);
    if (more)
        lws_callback_on_writable(wsi);
    return rc ? -1 : 0;
}

static int auth_ok(tts *s, struct lws *wsi)
{
    if (s->refuse_in_hello)
        return 1; /* checked later, as a browser-facing server would */
    char got[512] = "", want[300];
    snprintf(want, sizeof want, "Bearer %s", s->token);
    lws_hdr_copy(wsi, got, sizeof got, WSI_TOKEN_HTTP_AUTHORIZATION);
    return strcmp(got, want) == 0;
}

static int server_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    tts *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!auth_ok(s, wsi)) {
            pthread_mutex_lock(&s->mu);
            s->n.auth_refused++;
            pthread_mutex_unlock(&s->mu);
            lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, "bad token");
            return -1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        pthread_mutex_lock(&s->mu);
        s->n.connections++;
        s->wsi = wsi;
        for (int i = 0; i < s->nq; i++) /* leftovers belong to a dead session */
            free(s->q[i].data);
        s->nq = 0;
        pthread_mutex_unlock(&s->mu);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(s, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(s, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2 && ((const uint8_t *)in)[0] == 0x03 && ((const uint8_t *)in)[1] == 0xe8) {
            pthread_mutex_lock(&s->mu);
            s->n.clean_closes++;
            pthread_mutex_unlock(&s->mu);
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        pthread_mutex_lock(&s->mu);
        if (s->wsi == wsi)
            s->wsi = NULL;
        pthread_mutex_unlock(&s->mu);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        pthread_mutex_lock(&s->mu);
        struct lws *w = (s->nq || s->drop_now) ? s->wsi : NULL;
        pthread_mutex_unlock(&s->mu);
        if (w)
            lws_callback_on_writable(w);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols server_protocols[] = {
    {"http", lws_callback_http_dummy, 0, 0, 0, NULL, 0},
    {TW_SUBPROTOCOL, server_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *serve(void *arg)
{
    tts *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        lws_service(s->ctx, 0);
    }
    return NULL;
}

int tts_start(const char *token, int port, tts **out)
{
    tts_opts o = {.token = token, .port = port};
    return tts_start_opts(&o, out);
}

int tts_start_opts(const tts_opts *o, tts **out)
{
    tts *s = calloc(1, sizeof *s);
    if (!s)
        return TW_ENOMEM;
    snprintf(s->token, sizeof s->token, "%s", o->token);
    s->refuse_in_hello = o->refuse_in_hello;
    pthread_mutex_init(&s->mu, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = o->port;
    if (o->cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = o->cert;
        info.ssl_private_key_filepath = o->key;
    }
    info.iface = "127.0.0.1";
    info.protocols = server_protocols;
    info.user = s;
    info.gid = -1, info.uid = -1;
    info.fd_limit_per_thread = 64;
    /* the http dummy protocol is first so that FILTER_PROTOCOL_CONNECTION reaches ours */
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        free(s);
        return TW_EIO;
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    if (pthread_create(&s->thr, NULL, serve, s)) {
        lws_context_destroy(s->ctx);
        free(s);
        return TW_ENOMEM;
    }
    *out = s;
    return 0;
}

int tts_port(const tts *s)
{
    return s->port;
}

void tts_stop(tts *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    lws_cancel_service(s->ctx);
    pthread_join(s->thr, NULL);
    lws_context_destroy(s->ctx);
    for (int i = 0; i < s->nq; i++)
        free(s->q[i].data);
    tw_stream_table_free(s->table);
    free(s->rx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void tts_counts_get(tts *s, tts_counts *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->n;
    pthread_mutex_unlock(&s->mu);
}

void tts_drop_after(tts *s, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    if (n == 0)
        s->drop_now = 1;
    else
        s->drop_armed = 1, s->drop_at = n;
    pthread_mutex_unlock(&s->mu);
    lws_cancel_service(s->ctx);
}

void tts_send_raw(tts *s, const void *data, size_t len, int binary)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    pthread_mutex_lock(&s->mu);
    enqueue(s, copy, len, binary);
    pthread_mutex_unlock(&s->mu);
    lws_cancel_service(s->ctx);
}

void tts_send_ping(tts *s, uint64_t id, int64_t t0_ns)
{
    tw_msg m = {.type = TW_MSG_PING};
    m.u.ping.id = id, m.u.ping.t0_ns = t0_ns;
    pthread_mutex_lock(&s->mu);
    enqueue_msg(s, &m);
    pthread_mutex_unlock(&s->mu);
    lws_cancel_service(s->ctx);
}

void tts_refuse_next_start(tts *s, const char *code)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->refuse_code, sizeof s->refuse_code, "%s", code);
    pthread_mutex_unlock(&s->mu);
}
