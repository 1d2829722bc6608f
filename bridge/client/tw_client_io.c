/* Client library, socket I/O on the service thread: the writer that drains the ring
 * (hello, pongs, resume, pings, control and batched data, in that priority) and the
 * reader that answers pings and records welcome, acks, status and errors. Server
 * messages are never trusted: everything goes through tw_msg_decode. */
#include "tw_client_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void tw_client_run_deferred(tw_client *c, tw_client_deferred *d)
{
    if (d->state_changed && c->o.on_state)
        c->o.on_state(c->o.user, d->st);
    if (d->err && c->o.on_error)
        c->o.on_error(c->o.user, d->err, d->errmsg, d->fatal);
}

void tw_client_defer_error(tw_client *c, tw_client_deferred *d, int err, int fatal, const char *text)
{
    tw_client_note_error_locked(c, err, "%s", text);
    d->err = err, d->fatal = fatal;
    snprintf(d->errmsg, sizeof d->errmsg, "%s", text);
}

void tw_client_defer_state(tw_client *c, tw_client_deferred *d, tw_client_state st)
{
    if (tw_client_set_state_locked(c, st))
        d->state_changed = 1, d->st = st;
}

static int ensure_tx(tw_client *c, size_t n)
{
    if (LWS_PRE + n <= c->txcap)
        return 0;
    uint8_t *p = realloc(c->tx, LWS_PRE + n);
    if (!p)
        return TW_ENOMEM;
    c->tx = p, c->txcap = LWS_PRE + n;
    return 0;
}

/* Encodes a ping or pong into the tx buffer; 0 bytes on failure. */
static size_t put_clock_msg(tw_client *c, tw_msg_type type, uint64_t id, int64_t t0, int64_t t1)
{
    tw_msg m = {.type = type};
    m.u.ping.id = id, m.u.ping.t0_ns = t0, m.u.ping.t1_ns = t1;
    m.u.ping.t2_ns = type == TW_MSG_PONG ? c->o.now_ns(c->o.user) : 0;
    char *json = NULL;
    size_t n = 0;
    if (!tw_msg_encode(&m, &json, NULL, 0) && !ensure_tx(c, strlen(json))) {
        n = strlen(json);
        memcpy(c->tx + LWS_PRE, json, n);
    }
    free(json);
    return n;
}

/* Moves the next control record from the ring into tx and returns its length, or
 * returns 0 with *binary set when data records come first. Caller holds c->mu. */
static size_t take_from_ring(tw_client *c, int *binary)
{
    tw_rec rec;
    tw_ring_peek(&c->ring, 0, &rec, sizeof rec);
    if (rec.ctl != TW_REC_DATA) {
        if (ensure_tx(c, rec.len))
            return 0;
        tw_ring_peek(&c->ring, sizeof rec, c->tx + LWS_PRE, rec.len);
        tw_ring_pop(&c->ring, sizeof rec + rec.len);
        c->handed[rec.ctl]++;
        if (rec.ctl == TW_CTL_START) { /* remembered for resume after a reconnect */
            char *j = realloc(c->resume_json, rec.len + 1);
            if (j) {
                memcpy(j, c->tx + LWS_PRE, rec.len);
                j[rec.len] = 0;
                c->resume_json = j;
                c->ep_open_sent = 1;
            }
        } else if (rec.ctl == TW_CTL_STOP || rec.ctl == TW_CTL_ABORT) {
            c->ep_open_sent = 0;
        }
        *binary = 0;
        return rec.len;
    }
    *binary = 1;
    return 0; /* data: planned by plan_batch, copied without the lock */
}

/* The episode_start re-sent after a reconnect: the protocol makes it a new episode, so
 * its metadata names the one it continues ("resumed_from", the last acked episode id)
 * for readers that stitch them. Falls back to the original text when that cannot be
 * added (metadata not an object, or no room). Caller holds c->mu; result is malloc'd. */
static char *resume_json(const tw_client *c)
{
    tw_msg m;
    char *out = NULL;
    if (tw_msg_decode(c->resume_json, strlen(c->resume_json), &m, NULL, 0))
        return strdup(c->resume_json);
    json_t *meta = m.u.start.metadata[0] ? json_loads(m.u.start.metadata, 0, NULL) : json_object();
    char *text = NULL;
    if (json_is_object(meta) && !json_object_set_new(meta, "resumed_from", json_string(c->st.episode_id)))
        text = json_dumps(meta, JSON_COMPACT);
    if (text && strlen(text) < sizeof m.u.start.metadata) {
        memcpy(m.u.start.metadata, text, strlen(text) + 1);
        tw_msg_encode(&m, &out, NULL, 0);
    }
    free(text);
    json_decref(meta);
    tw_msg_clear(&m);
    return out ? out : strdup(c->resume_json);
}

/* A batch of consecutive data records at the head of the ring: ring bytes it spans,
 * frame bytes it holds and how many frames. */
typedef struct {
    size_t span, bytes;
    uint64_t frames;
} batch_plan;

/* Caller holds c->mu. Only the service thread pops, and producers only write free space,
 * so the planned records stay put while copy_batch reads them without the lock. */
static batch_plan plan_batch(tw_client *c)
{
    batch_plan b = {0};
    tw_rec rec;
    while (b.span < c->ring.used) {
        tw_ring_peek(&c->ring, b.span, &rec, sizeof rec);
        if (rec.ctl != TW_REC_DATA || (b.bytes && b.bytes + rec.len > c->o.batch_bytes) ||
            ensure_tx(c, b.bytes + rec.len))
            break;
        b.span += sizeof rec + rec.len;
        b.bytes += rec.len;
        b.frames++;
    }
    return b;
}

static void copy_batch(tw_client *c, const batch_plan *b)
{
    tw_rec rec;
    size_t off = 0, n = 0;
    while (off < b->span) {
        tw_ring_peek(&c->ring, off, &rec, sizeof rec);
        tw_ring_peek(&c->ring, off + sizeof rec, c->tx + LWS_PRE + n, rec.len);
        off += sizeof rec + rec.len;
        n += rec.len;
    }
}

int tw_client_io_write(tw_client *c, struct lws *wsi)
{
    size_t n = 0;
    int binary = 0, more;
    batch_plan plan = {0};
    pthread_mutex_lock(&c->mu);
    int session_open = !c->table || c->welcomed;
    if (c->stopping) {
        n = 0;
    } else if (c->closing && c->table && !c->welcomed) {
        n = 0; /* closing before the session opened: nothing to say */
    } else if (c->table && !c->hello_sent) {
        size_t len = strlen(c->hello_json);
        if (!ensure_tx(c, len)) {
            memcpy(c->tx + LWS_PRE, c->hello_json, len);
            n = len;
            c->hello_sent = 1;
        }
    } else if (c->npongs) { /* answered before anything else: the server measures our delay */
        n = put_clock_msg(c, TW_MSG_PONG, c->pongs[0].id, c->pongs[0].t0, c->pongs[0].t1);
        memmove(&c->pongs[0], &c->pongs[1], sizeof c->pongs[0] * (size_t)--c->npongs);
        c->st.pings_answered++;
    } else if (!session_open) {
        n = 0; /* waiting for the welcome */
    } else if (c->resume_pending) {
        char *json = c->resume_json ? resume_json(c) : NULL;
        size_t len = json ? strlen(json) : 0;
        if (len && !ensure_tx(c, len)) {
            memcpy(c->tx + LWS_PRE, json, len);
            n = len;
            c->requested[TW_CTL_START]++, c->handed[TW_CTL_START]++;
        }
        free(json);
        c->resume_pending = 0;
    } else if (c->ping_due) {
        c->ping_t0 = c->o.now_ns(c->o.user);
        n = put_clock_msg(c, TW_MSG_PING, ++c->ping_id, c->ping_t0, 0);
        c->ping_due = 0;
    } else if (c->ring.used) {
        n = take_from_ring(c, &binary);
        if (binary)
            plan = plan_batch(c);
    }
    pthread_mutex_unlock(&c->mu);
    if (plan.frames) { /* the big copy runs without the lock, so producers never wait on it */
        copy_batch(c, &plan);
        n = plan.bytes;
    }
    pthread_mutex_lock(&c->mu);
    if (plan.frames) {
        tw_ring_pop(&c->ring, plan.span);
        c->data_bytes -= plan.bytes;
        c->data_records -= plan.frames;
        c->st.frames_sent += plan.frames;
        c->st.bytes_sent += plan.bytes;
    }
    if (!c->ring.used)
        pthread_cond_broadcast(&c->cv); /* flush() waits for this */
    more = !c->stopping && (c->npongs || (session_open && (c->resume_pending || c->ping_due || c->ring.used)));
    pthread_mutex_unlock(&c->mu);
    if (n && lws_write(wsi, c->tx + LWS_PRE, n, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)n)
        return -1;
    /* lws keeps what the socket did not take; flush() must wait for that too */
    int partial = lws_partial_buffered(wsi);
    pthread_mutex_lock(&c->mu);
    if (c->tx_partial != partial) {
        c->tx_partial = partial;
        pthread_cond_broadcast(&c->cv);
    }
    int closing = c->closing && !c->ring.used && !partial && !more;
    pthread_mutex_unlock(&c->mu);
    if (closing) { /* tw_client_close: everything is out, say goodbye properly */
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
        return -1;
    }
    if (more || partial)
        lws_callback_on_writable(wsi);
    return 0;
}

static void on_pong(tw_client *c, const tw_msg *m, int64_t t3)
{
    if (m->u.ping.id != c->ping_id || m->u.ping.t0_ns != c->ping_t0)
        return; /* stale or foreign: ignore */
    int64_t t0 = m->u.ping.t0_ns, t1 = m->u.ping.t1_ns, t2 = m->u.ping.t2_ns;
    if (tw_clock_sync_add(&c->sync, t0, t1, t2, t3, NULL, NULL) != 0)
        return; /* impossible round trip: a broken clock, not an estimate */
    c->st.have_offset = 1;
    c->st.clock_offset_ns = c->sync.offset_ns; /* the least-delayed recent exchange */
    c->st.rtt_ns = c->sync.rtt_ns;
}

/* An error message from the server (under c->mu): counted, kept for the caller, reported. */
static void on_server_error(tw_client *c, const tw_msg *m, tw_client_deferred *d)
{
    char t[TW_MAX_TEXT + 2 * TW_MAX_NAME];
    int code = tw_err_from_name(m->u.error.code);
    snprintf(t, sizeof t, "server error %s: %s%s", m->u.error.code, m->u.error.message,
             m->u.error.fatal ? " (fatal)" : "");
    c->st.server_errors++;
    c->srv_err = code;
    snprintf(c->srv_msg, sizeof c->srv_msg, "%.*s", (int)sizeof c->srv_msg - 1, t);
    if (m->u.error.fatal && code != TW_ETIMEOUT) {
        /* retrying cannot fix a refused token or version, a full disk or a protocol error: the server
         * closes and would refuse again; only a ping timeout (a stalled network) is worth reconnecting for */
        c->permanent = code;
        snprintf(c->cause, sizeof c->cause, "recorder refused the session: %.*s", (int)sizeof c->cause - 40, t);
    }
    tw_client_defer_error(c, d, code, m->u.error.fatal, t);
}

/* Handles one complete text message from the server. Never trusts it. */
int tw_client_io_text(tw_client *c, const char *text, size_t len)
{
    int64_t t_rx = c->o.now_ns(c->o.user);
    tw_msg m;
    char why[TW_MAX_TEXT];
    tw_client_deferred d = {0};
    int rc = tw_msg_decode(text, len, &m, why, sizeof why);
    pthread_mutex_lock(&c->mu);
    if (rc) {
        char t[TW_MAX_TEXT + 64];
        c->st.bad_replies++;
        snprintf(t, sizeof t, "malformed message from server ignored: %s", why);
        tw_client_defer_error(c, &d, rc, 0, t);
        pthread_mutex_unlock(&c->mu);
        tw_client_run_deferred(c, &d);
        return 0;
    }
    int writable = 0, k;
    switch (m.type) {
    case TW_MSG_WELCOME:
        c->welcomed = 1;
        c->attempts = 0;
        tw_client_defer_state(c, &d, TW_CLIENT_READY);
        writable = 1;
        break;
    case TW_MSG_ACK:
        if ((k = tw_client_ctl_of(m.u.ack.what)) >= 0) {
            c->acked[k]++;
            if (k == TW_CTL_START)
                snprintf(c->st.episode_id, sizeof c->st.episode_id, "%s", m.u.ack.episode_id);
            pthread_cond_broadcast(&c->cv);
        } else {
            c->st.bad_replies++;
        }
        break;
    case TW_MSG_STATUS:
        c->st.last_status = m;
        c->st.have_status = 1;
        break;
    case TW_MSG_ERROR:
        on_server_error(c, &m, &d);
        break;
    case TW_MSG_PING:
        if (c->npongs == TW_CLIENT_MAX_PONGS) /* a flood: answer the newest */
            memmove(&c->pongs[0], &c->pongs[1], sizeof c->pongs[0] * (size_t)--c->npongs);
        c->pongs[c->npongs].id = m.u.ping.id;
        c->pongs[c->npongs].t0 = m.u.ping.t0_ns;
        c->pongs[c->npongs++].t1 = t_rx;
        writable = 1;
        break;
    case TW_MSG_PONG:
        on_pong(c, &m, t_rx);
        break;
    default: {
        char t[TW_MAX_TEXT];
        c->st.bad_replies++;
        snprintf(t, sizeof t, "unexpected '%s' message from server ignored", tw_msg_type_name(m.type));
        tw_client_defer_error(c, &d, TW_ESTATE, 0, t);
    }
    }
    pthread_mutex_unlock(&c->mu);
    if (m.type == TW_MSG_STATUS && c->o.on_status)
        c->o.on_status(c->o.user, &m);
    if (m.type == TW_MSG_ACK && c->o.on_ack)
        c->o.on_ack(c->o.user, m.u.ack.what, m.u.ack.episode_id);
    tw_msg_clear(&m);
    tw_client_run_deferred(c, &d);
    return writable;
}

/* Reassembles fragmented text messages up to TW_MAX_TEXT_MSG. */
void tw_client_io_receive(tw_client *c, struct lws *wsi, const void *in, size_t len)
{
    if (lws_is_first_fragment(wsi))
        c->rxlen = 0, c->rx_overflow = 0;
    if (lws_frame_is_binary(wsi) || c->rxlen + len > TW_MAX_TEXT_MSG)
        c->rx_overflow = 1;
    else if (len)
        memcpy(c->rx + c->rxlen, in, len), c->rxlen += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return;
    if (c->rx_overflow) {
        tw_client_deferred d = {0};
        pthread_mutex_lock(&c->mu);
        c->st.bad_replies++;
        tw_client_defer_error(c, &d, TW_ETOO_BIG, 0, "server sent a binary or oversize message; ignored");
        pthread_mutex_unlock(&c->mu);
        tw_client_run_deferred(c, &d);
        return;
    }
    if (tw_client_io_text(c, c->rx, c->rxlen))
        lws_callback_on_writable(wsi);
}
