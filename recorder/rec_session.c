/* One websocket session (network thread): message assembly and size limits, the
 * binary data path into the queue, backpressure / drop-newest, outgoing messages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_internal.h"

rec_session *rec_session_new(struct tw_recorder *r, struct lws *wsi)
{
    rec_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->r = r;
    s->wsi = wsi;
    s->refs = 1;
    s->num = ++r->session_counter;
    snprintf(s->sid, sizeof s->sid, "s%llu-%llx", (unsigned long long)s->num,
             (unsigned long long)(rec_now_ns() / 1000) & 0xffffffull);
    snprintf(s->rig, sizeof s->rig, "rig");
    s->tokens = r->o.ctrl_rate;
    s->tokens_t = rec_now_ns();
    int64_t now = s->tokens_t;
    s->connected_ns = now;
    s->next_ping = now + 200000000; /* first ping soon after hello */
    s->next_status = now + (int64_t)r->o.status_ms * 1000000;
    return s;
}

void rec_session_ref(rec_session *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void rec_session_unref(rec_session *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) > 1)
        return;
    tw_stream_table_free(s->table);
    free(s->rx);
    for (int i = 0; i < s->out_n; i++)
        free(s->outq[(s->out_head + i) % REC_OUTQ_MAX]);
    free(s);
}

/* ---- outgoing ---- */
static void send_text(rec_session *s, char *json, int must)
{
    if (!s->wsi || !json) {
        free(json);
        return;
    }
    if (s->out_n == REC_OUTQ_MAX) {
        if (!must) { /* a client that does not read loses status messages, not errors */
            free(json);
            return;
        }
        free(s->outq[s->out_head]);
        s->out_head = (s->out_head + 1) % REC_OUTQ_MAX;
        s->out_n--;
    }
    size_t n = strlen(json);
    char *buf = malloc(LWS_PRE + n + 1);
    if (!buf) {
        free(json);
        return;
    }
    memcpy(buf + LWS_PRE, json, n + 1);
    free(json);
    int slot = (s->out_head + s->out_n) % REC_OUTQ_MAX;
    s->outq[slot] = buf;
    s->outlen[slot] = n;
    s->out_n++;
    lws_callback_on_writable(s->wsi);
}

void rec_session_send_msg(rec_session *s, const tw_msg *m, int must)
{
    char *json = NULL;
    char emsg[128];
    if (tw_msg_encode(m, &json, emsg, sizeof emsg) < 0) {
        rec_log(s->r, "%s: cannot encode %s: %s", s->sid, tw_msg_type_name(m->type), emsg);
        return;
    }
    send_text(s, json, must);
}

void rec_session_send_error(rec_session *s, int err, int fatal, const char *fmt, ...)
{
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_ERROR;
    snprintf(m.u.error.code, sizeof m.u.error.code, "%s", tw_err_name(err));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.u.error.message, sizeof m.u.error.message, fmt, ap);
    va_end(ap);
    m.u.error.fatal = fatal;
    s->errors_sent++;
    rec_log(s->r, "%s (%s): %s%s: %s", s->sid, s->rig, fatal ? "fatal " : "", m.u.error.code,
            m.u.error.message);
    rec_session_send_msg(s, &m, 1);
    if (fatal)
        s->closing = 1;
}

/* Returns -1 when lws should close the connection. */
int rec_session_writeable(rec_session *s)
{
    if (s->out_n > 0) {
        int slot = s->out_head;
        char *buf = s->outq[slot];
        size_t n = s->outlen[slot];
        s->out_head = (s->out_head + 1) % REC_OUTQ_MAX;
        s->out_n--;
        int w = lws_write(s->wsi, (unsigned char *)buf + LWS_PRE, n, LWS_WRITE_TEXT);
        free(buf);
        if (w < (int)n)
            return -1;
        if (s->out_n > 0) {
            lws_callback_on_writable(s->wsi);
            return 0;
        }
    }
    if (s->closing) {
        lws_close_reason(s->wsi, s->close_code ? (enum lws_close_status)s->close_code
                                               : LWS_CLOSE_STATUS_POLICY_VIOLATION,
                         (unsigned char *)"closing", 7);
        return -1;
    }
    return 0;
}

/* ---- binary data path ---- */
/* Validates every frame against the stream table and gathers per-stream counts, without
 * touching session state, so a bad message changes nothing. */
typedef struct {
    uint64_t touched; /* bit per stream index */
    uint32_t n[TW_MAX_STREAMS];
    uint64_t bytes[TW_MAX_STREAMS];
} msg_tally;

static int tally_message(rec_session *s, const uint8_t *buf, size_t len, msg_tally *t, char *msg,
                         size_t msgsz)
{
    tw_frame_iter it;
    tw_frame f;
    int rc;
    t->touched = 0;
    tw_frame_iter_init(&it, buf, len);
    while ((rc = tw_frame_next(&it, s->table, &f, msg, msgsz)) == 1) {
        unsigned k = s->idx[f.stream_id];
        if (!k)
            return tw_errf(msg, msgsz, TW_EUNKNOWN_STREAM, "stream id %u not declared", f.stream_id);
        k--;
        if (!(t->touched & (1ull << k))) {
            t->touched |= 1ull << k;
            t->n[k] = 0;
            t->bytes[k] = 0;
        }
        /* seq bookkeeping (gaps, resends) is the episode writer's, one meaning for all (tw_wire.h, "sequence numbers") */
        t->n[k]++;
        t->bytes[k] += f.payload_len;
    }
    if (rc == 0 && len == 0)
        return tw_errf(msg, msgsz, TW_ETRUNCATED, "empty binary message");
    return rc;
}

static void commit_tally(rec_session *s, const msg_tally *t, int written, int in_episode)
{
    for (unsigned k = 0; k < s->nstreams; k++) {
        if (!(t->touched & (1ull << k)))
            continue;
        rec_stream_stats *st = &s->st[k];
        st->received += t->n[k];
        st->bytes += t->bytes[k];
        if (!in_episode) {
            st->idle += t->n[k];
            continue;
        }
        /* sequence gaps are the sender's: the episode writer sees them in seq itself */
        if (!written) {
            st->dropped += t->n[k];
            st->drops_unsent += t->n[k];
        }
    }
}

/* Returns TW_EFULL when the message must wait (backpressure), else 0. */
static int handle_binary(rec_session *s, const uint8_t *buf, size_t len, int64_t t_recv)
{
    struct tw_recorder *r = s->r;
    if (!s->hello_done) {
        rec_session_send_error(s, TW_ESTATE, 1, "binary data before hello");
        return 0;
    }
    msg_tally t;
    char emsg[256];
    int rc = tally_message(s, buf, len, &t, emsg, sizeof emsg);
    if (rc < 0) {
        s->bad_msgs++;
        r->n_bad_msgs++;
        rec_session_send_error(s, rc, s->bad_msgs >= REC_MAX_BAD_MSGS, "binary message of %zu bytes rejected: %s",
                               len, emsg);
        return 0;
    }
    if (!s->ep) { /* streaming between episodes: counted, not stored */
        commit_tally(s, &t, 0, 0);
        return 0;
    }
    rec_hdr *h = rec_queue_reserve(&r->q, len, 0);
    if (!h) {
        if (r->o.policy == TW_POLICY_BACKPRESSURE)
            return TW_EFULL;
        commit_tally(s, &t, 0, 1);
        if (!s->full_reported) {
            s->full_reported = 1;
            rec_session_send_error(s, TW_EFULL, 0, "recorder queue full (%zu bytes): dropping newest messages, "
                                   "counted per stream in status.dropped", r->q.data_cap);
        }
        return 0;
    }
    h->type = REC_DATA;
    h->ep = s->ep;
    h->t_ns = t_recv;
    memcpy(h + 1, buf, len);
    rec_queue_commit(&r->q);
    atomic_fetch_add_explicit(&s->queued_bytes, len, memory_order_relaxed);
    commit_tally(s, &t, 1, 1);
    return 0;
}

static int handle_message(rec_session *s, const uint8_t *buf, size_t len, int binary, int64_t t)
{
    if (binary)
        return handle_binary(s, buf, len, t);
    return rec_control_handle(s, (const char *)buf, len, t);
}

static int stage(rec_session *s, const void *in, size_t len)
{
    if (s->rxlen + len > s->rxcap) {
        size_t cap = s->rxcap ? s->rxcap : 65536;
        while (cap < s->rxlen + len)
            cap *= 2;
        uint8_t *p = realloc(s->rx, cap);
        if (!p)
            return TW_ENOMEM;
        s->rx = p;
        s->rxcap = cap;
    }
    memcpy(s->rx + s->rxlen, in, len);
    s->rxlen += len;
    return 0;
}

static void hold_pending(rec_session *s, int64_t t)
{
    s->pending = 1;
    s->pending_t = t;
    if (s->wsi)
        lws_rx_flow_control(s->wsi, 0);
}

/* Keep a large assembly buffer only while it is needed. */
static void shrink_rx(rec_session *s)
{
    s->rxlen = 0;
    if (s->rxcap > (1u << 20)) {
        free(s->rx);
        s->rx = NULL;
        s->rxcap = 0;
    }
}

/* One lws RECEIVE callback. Returns -1 to close the connection. */
int rec_session_rx(rec_session *s, const void *in, size_t len, int first, int final, int binary,
                   size_t remaining)
{
    if (s->closing)
        return 0;
    if (s->pending) { /* lws holds input while rx is flow-controlled; never overwrite a held message */
        rec_session_send_error(s, TW_ESTATE, 1, "internal: input while a message is held for the queue");
        return 0;
    }
    if (first) {
        s->rxlen = 0;
        s->rx_binary = binary;
    }
    size_t limit = s->rx_binary ? s->r->max_binary : TW_MAX_TEXT_MSG; /* as advertised in welcome */
    if (s->rxlen + len + (first ? remaining : 0) > limit) {
        s->r->n_too_big++;
        s->close_code = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
        rec_session_send_error(s, TW_ETOO_BIG, 1, "%s message exceeds %zu bytes",
                               s->rx_binary ? "binary" : "text", limit);
        shrink_rx(s);
        return 0;
    }
    int64_t t = rec_now_ns();
    if (first && final) { /* whole message in one piece: no assembly copy */
        if (handle_message(s, in, len, binary, t) == TW_EFULL) {
            if (stage(s, in, len) < 0)
                return -1;
            hold_pending(s, t);
        }
        return 0;
    }
    if (stage(s, in, len) < 0) {
        rec_session_send_error(s, TW_ENOMEM, 1, "out of memory assembling a message");
        return 0;
    }
    if (!final)
        return 0;
    if (handle_message(s, s->rx, s->rxlen, s->rx_binary, t) == TW_EFULL)
        hold_pending(s, t);
    else
        shrink_rx(s);
    return 0;
}

void rec_session_drop_pending(rec_session *s)
{
    msg_tally t;
    char emsg[256];
    rec_log(s->r, "%s (%s): stopping: a held message of %zu bytes is dropped (no room in time)", s->sid, s->rig,
            s->rxlen);
    if (s->rx_binary && tally_message(s, s->rx, s->rxlen, &t, emsg, sizeof emsg) == 0)
        commit_tally(s, &t, 0, s->ep != NULL);
    s->pending = 0;
    shrink_rx(s);
}

int rec_session_retry_pending(rec_session *s)
{
    if (!s->pending)
        return 0;
    if (handle_message(s, s->rx, s->rxlen, s->rx_binary, s->pending_t) == TW_EFULL)
        return 1;
    s->pending = 0;
    shrink_rx(s);
    if (s->wsi)
        lws_rx_flow_control(s->wsi, 1);
    return 0;
}

/* ---- periodic work ---- */
static void send_status(rec_session *s)
{
    struct tw_recorder *r = s->r;
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_STATUS;
    snprintf(m.u.status.episode_id, sizeof m.u.status.episode_id, "%s", s->ep ? s->ep->id : "");
    m.u.status.queue_bytes = atomic_load_explicit(&s->queued_bytes, memory_order_relaxed);
    m.u.status.queue_cap_bytes = r->q.data_cap;
    m.u.status.write_lag_ms = rec_write_lag_ms(r);
    m.u.status.clock_offset_ns = s->sync.offset_ns; /* the least-delayed recent exchange */
    m.u.status.nstreams = s->nstreams;
    for (uint32_t k = 0; k < s->nstreams; k++) {
        tw_stream_status *o = &m.u.status.streams[k];
        o->id = s->ids[k];
        o->received = s->st[k].received;
        o->written = atomic_load_explicit(&s->st[k].written, memory_order_relaxed);
        o->dropped = s->st[k].dropped;
        o->gaps = atomic_load_explicit(&s->st[k].missing, memory_order_relaxed); /* = the file's missing */
        o->duplicates = atomic_load_explicit(&s->st[k].duplicates, memory_order_relaxed);
        o->out_of_order = atomic_load_explicit(&s->st[k].out_of_order, memory_order_relaxed);
        o->resets = atomic_load_explicit(&s->st[k].resets, memory_order_relaxed);
        o->nonmonotonic_t = atomic_load_explicit(&s->st[k].nonmonotonic_t, memory_order_relaxed);
        o->nonfinite = atomic_load_explicit(&s->st[k].nonfinite, memory_order_relaxed);
        o->bytes = s->st[k].bytes;
    }
    rec_session_send_msg(s, &m, 0);
}

static void send_ping(rec_session *s, int64_t now)
{
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_PING;
    m.u.ping.id = ++s->ping_id;
    m.u.ping.t0_ns = now;
    s->ping_t0 = now;
    rec_session_send_msg(s, &m, 0);
}

void rec_session_tick(rec_session *s, int64_t now)
{
    if (s->closing)
        return;
    if (!s->hello_done) {
        if (now - s->connected_ns > REC_HELLO_TIMEOUT_NS)
            rec_session_send_error(s, TW_ETIMEOUT, 1, "no hello within %lld s",
                                   (long long)(REC_HELLO_TIMEOUT_NS / 1000000000));
        return;
    }
    rec_ping_timeout_check(s, now);
    if (s->closing)
        return;
    if (now >= s->next_ping) {
        send_ping(s, now);
        s->next_ping = now + (int64_t)s->r->o.ping_ms * 1000000;
    }
    if (now >= s->next_status) {
        send_status(s);
        s->next_status = now + (int64_t)s->r->o.status_ms * 1000000;
    }
    rec_session_flush_drops(s);
}

void rec_session_disconnected(rec_session *s)
{
    if (s->ep)
        rec_session_end_episode(s, TW_EP_INTERRUPTED, -1);
    s->wsi = NULL;
    s->pending = 0;
}
