/* JSON control messages of one session (network thread): hello, episode control,
 * clock sync, with a per-session rate limit. Episode lifecycle records go through the
 * same queue as data, so the writer sees them in the order the client sent them. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rec_internal.h"

/* Pushes one control record whose payload is up to three NUL-terminated strings. */
static int push_ctrl(rec_session *s, rec_rtype type, rec_episode *ep, int64_t t, int64_t a, int64_t b,
                     const char *p1, const char *p2, const char *p3)
{
    size_t l1 = p1 ? strlen(p1) + 1 : 0, l2 = p2 ? strlen(p2) + 1 : 0, l3 = p3 ? strlen(p3) + 1 : 0;
    rec_hdr *h = rec_queue_reserve(&s->r->q, l1 + l2 + l3, 1);
    if (!h)
        return TW_EFULL;
    h->type = type;
    h->ep = ep;
    h->t_ns = t;
    h->a = a;
    h->b = b;
    char *p = (char *)(h + 1);
    if (p1)
        memcpy(p, p1, l1);
    if (p2)
        memcpy(p + l1, p2, l2);
    if (p3)
        memcpy(p + l1 + l2, p3, l3);
    rec_queue_commit(&s->r->q);
    return 0;
}

/* For records that must not be lost when the session ends: waits for the writer to make
 * room (it never waits on this thread, so this cannot deadlock). */
static void push_ctrl_wait(rec_session *s, rec_rtype type, rec_episode *ep, int64_t t, int64_t a,
                           const char *p1, const char *p2, const char *p3)
{
    while (push_ctrl(s, type, ep, t, a, 0, p1, p2, p3) == TW_EFULL)
        usleep(1000);
}

void rec_session_flush_drops(rec_session *s)
{
    if (!s->ep)
        return;
    for (uint32_t k = 0; k < s->nstreams; k++) {
        uint64_t n = s->st[k].drops_unsent;
        if (n && push_ctrl(s, REC_DROPS, s->ep, 0, s->ids[k], (int64_t)n, NULL, NULL, NULL) == 0)
            s->st[k].drops_unsent = 0;
    }
}

void rec_session_end_episode(rec_session *s, const char *status, int success)
{
    rec_episode *ep = s->ep;
    if (!ep)
        return;
    rec_session_flush_drops(s);
    for (uint32_t k = 0; k < s->nstreams; k++)
        if (s->st[k].drops_unsent) {
            while (push_ctrl(s, REC_DROPS, ep, 0, s->ids[k], (int64_t)s->st[k].drops_unsent, NULL, NULL,
                             NULL) == TW_EFULL)
                usleep(1000);
            s->st[k].drops_unsent = 0;
        }
    if (strcmp(status, TW_EP_COMPLETE) && strcmp(status, TW_EP_ABORTED))
        push_ctrl_wait(s, REC_EVENT, ep, rec_now_ns(), 0, "episode", status, "");
    /* the writer frees ep once it has handled REC_CLOSE, which may be before push_ctrl_wait returns */
    snprintf(s->last_ep, sizeof s->last_ep, "%s", ep->id);
    s->ep = NULL;
    push_ctrl_wait(s, REC_CLOSE, ep, rec_now_ns(), success, status, NULL, NULL);
    s->r->n_episodes_open--;
    s->r->n_episodes_done++;
    rec_log(s->r, "%s (%s): episode %s closed: %s", s->sid, s->rig, s->last_ep, status);
}

static void make_episode_id(rec_session *s, rec_episode *ep)
{
    struct tw_recorder *r = s->r;
    /* the start's UTC second keeps ids unique and sortable across sessions; a fixed time (tw record
     * under SOURCE_DATE_EPOCH) makes them reproducible, the counter and the stat loop keep them unique */
    time_t sec = (time_t)(r->o.id_time_s > 0 ? r->o.id_time_s : ep->started_ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    struct stat sb;
    do {
        snprintf(ep->id, sizeof ep->id, "%.16s-%.32s-%03u", ts, s->rig,
                 (unsigned)(++r->episode_counter % 1000000));
        snprintf(ep->dir, sizeof ep->dir, "%s/%s", r->out_dir, ep->id);
    } while (stat(ep->dir, &sb) == 0);
}

static void send_ack(rec_session *s, tw_msg_type what, const char *episode_id)
{
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_ACK;
    snprintf(m.u.ack.what, sizeof m.u.ack.what, "%s", tw_msg_type_name(what));
    snprintf(m.u.ack.episode_id, sizeof m.u.ack.episode_id, "%s", episode_id);
    rec_session_send_msg(s, &m, 1);
}

static void sanitize_rig(char *dst, size_t dstsz, const char *src)
{
    size_t n = 0;
    for (; *src && n + 1 < dstsz && n < 32; src++) {
        char c = *src;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
            c == '.' || c == '-')
            dst[n++] = c;
    }
    dst[n] = 0;
    if (!n)
        snprintf(dst, dstsz, "rig");
}

static int on_hello(rec_session *s, tw_msg *m)
{
    char emsg[256];
    if (s->hello_done) { /* the stream set is fixed for the life of a session */
        rec_session_send_error(s, TW_ESTATE, 1, "hello sent twice");
        return 0;
    }
    int rc = tw_stream_table_new(&s->table);
    for (uint32_t i = 0; rc == 0 && i < m->u.hello.nstreams; i++) {
        rc = tw_stream_table_add(s->table, &m->u.hello.streams[i], emsg, sizeof emsg);
        if (rc == 0) {
            s->ids[s->nstreams] = m->u.hello.streams[i].id;
            s->idx[m->u.hello.streams[i].id] = (uint8_t)(s->nstreams + 1);
            s->nstreams++;
        }
    }
    if (rc < 0) {
        rec_session_send_error(s, rc, 1, "hello refused: %s", emsg);
        return 0;
    }
    sanitize_rig(s->rig, sizeof s->rig, m->u.hello.rig[0] ? m->u.hello.rig : m->u.hello.client);
    s->hello_done = 1;
    s->last_pong_ns = rec_now_ns(); /* --ping-timeout counts from here */
    s->next_ping = s->last_pong_ns; /* a clock sample as early as possible */
    rec_log(s->r, "%s: hello from rig %s (%s %s), %u streams, peer %s", s->sid, s->rig,
            m->u.hello.client, m->u.hello.version, s->nstreams, s->peer);
    tw_msg w;
    memset(&w, 0, sizeof w);
    w.type = TW_MSG_WELCOME;
    snprintf(w.u.welcome.session_id, sizeof w.u.welcome.session_id, "%s", s->sid);
    w.u.welcome.max_binary = (uint32_t)s->r->max_binary;
    w.u.welcome.max_text = TW_MAX_TEXT_MSG;
    w.u.welcome.status_interval_ms = s->r->o.status_ms;
    rec_session_send_msg(s, &w, 1);
    return 0;
}

static int on_start(rec_session *s, tw_msg *m, int64_t t)
{
    if (s->ep) {
        rec_session_send_error(s, TW_ESTATE, 0, "episode %s is already open", s->ep->id);
        return 0;
    }
    char why[PATH_MAX + 128];
    if (!rec_space_ok(s->r, why, sizeof why)) {
        s->r->n_nospace_refused++; /* nothing created: no empty episode folders on a full disk */
        rec_session_send_error(s, TW_ENOSPACE, 1, "episode_start refused: %s", why);
        return 0;
    }
    rec_episode *ep = calloc(1, sizeof *ep);
    if (!ep) {
        rec_session_send_error(s, TW_ENOMEM, 0, "out of memory");
        return 0;
    }
    ep->s = s;
    ep->serial = ++s->r->episode_serial;
    ep->started_ns = t;
    snprintf(ep->task, sizeof ep->task, "%s", m->u.start.task);
    snprintf(ep->operator_, sizeof ep->operator_, "%s", m->u.start.operator_);
    snprintf(ep->robot, sizeof ep->robot, "%s", m->u.start.robot);
    if (m->u.start.metadata[0])
        ep->metadata = strdup(m->u.start.metadata);
    make_episode_id(s, ep);
    if (push_ctrl(s, REC_OPEN, ep, t, 0, 0, NULL, NULL, NULL) < 0) {
        s->r->episode_counter--;
        free(ep->metadata);
        free(ep);
        return TW_EFULL;
    }
    rec_session_ref(s);
    s->ep = ep;
    s->r->n_episodes_open++;
    rec_clock_replay(s); /* the session's samples so far: the episode has some from its first sample */
    s->next_ping = t;
    rec_log(s->r, "%s (%s): episode %s started", s->sid, s->rig, ep->id);
    send_ack(s, TW_MSG_EPISODE_START, ep->id);
    return 0;
}

static int on_stop(rec_session *s, tw_msg *m, int64_t t)
{
    if (!s->ep) {
        rec_session_send_error(s, TW_ESTATE, 0, "%s without an open episode", tw_msg_type_name(m->type));
        return 0;
    }
    char id[TW_MAX_NAME];
    snprintf(id, sizeof id, "%s", s->ep->id);
    if (m->type == TW_MSG_EPISODE_ABORT) {
        if (push_ctrl(s, REC_EVENT, s->ep, t, 0, 0, "abort", m->u.abort_.reason, "") < 0)
            return TW_EFULL;
        rec_session_end_episode(s, TW_EP_ABORTED, 0);
    } else {
        rec_session_end_episode(s, TW_EP_COMPLETE, m->u.stop.success);
    }
    send_ack(s, m->type, id);
    return 0;
}

static int on_annotate(rec_session *s, tw_msg *m, int64_t t)
{
    if (!s->ep) {
        rec_session_send_error(s, TW_ESTATE, 0, "annotate without an open episode");
        return 0;
    }
    /* events are stored on the recorder clock: convert the client's time with the offset */
    int64_t te = m->u.annotate.t_src_ns;
    te = te == 0 ? t : (s->sync.n ? te - s->sync.offset_ns : t);
    if (push_ctrl(s, REC_EVENT, s->ep, te, 0, 0, "annotate", m->u.annotate.label, m->u.annotate.data) < 0)
        return TW_EFULL;
    send_ack(s, m->type, s->ep->id);
    return 0;
}

static int on_metadata(rec_session *s, tw_msg *m)
{
    if (!s->ep) {
        rec_session_send_error(s, TW_ESTATE, 0, "metadata without an open episode");
        return 0;
    }
    json_error_t je;
    json_t *o = json_loads(m->u.metadata.metadata, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        rec_session_send_error(s, TW_ESCHEMA, 0, "metadata must be a JSON object");
        return 0;
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(o, key, v)
    {
        char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (txt && rc == 0)
            rc = push_ctrl(s, REC_META, s->ep, 0, 0, 0, key, txt, NULL);
        free(txt);
    }
    json_decref(o);
    if (rc < 0)
        return TW_EFULL; /* keys are idempotent: a retry rewrites the same values */
    send_ack(s, m->type, s->ep->id);
    return 0;
}

static void on_pong(rec_session *s, tw_msg *m, int64_t t3)
{
    if (m->u.ping.id != s->ping_id || m->u.ping.t0_ns != s->ping_t0)
        return; /* stale or forged: ignore */
    int64_t t0 = m->u.ping.t0_ns, t1 = m->u.ping.t1_ns, t2 = m->u.ping.t2_ns;
    int64_t off, rtt; /* client clock minus recorder clock; round trip */
    if (tw_clock_sync_add(&s->sync, t0, t1, t2, t3, &off, &rtt) != 0)
        return; /* impossible round trip: a broken clock, not an estimate */
    rec_clock_keep(s, t0 + (t3 - t0) / 2, off, rtt); /* kept for the session; to the open episode too */
}

static void on_ping(rec_session *s, tw_msg *m, int64_t t1)
{
    tw_msg p;
    memset(&p, 0, sizeof p);
    p.type = TW_MSG_PONG;
    p.u.ping.id = m->u.ping.id;
    p.u.ping.t0_ns = m->u.ping.t0_ns;
    p.u.ping.t1_ns = t1;
    p.u.ping.t2_ns = rec_now_ns();
    rec_session_send_msg(s, &p, 0);
}

/* Token bucket: ctrl_rate per second, burst of the same size. */
static int rate_ok(rec_session *s, int64_t t)
{
    double rate = s->r->o.ctrl_rate;
    s->tokens += (double)(t - s->tokens_t) * 1e-9 * rate;
    if (s->tokens > rate)
        s->tokens = rate;
    s->tokens_t = t;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return 1;
    }
    /* a flood: the server sheds this client (protocol.md: RATE_LIMIT is fatal) */
    s->rate_rejects++;
    s->r->n_rate_limited++;
    rec_session_send_error(s, TW_ERATE_LIMIT, 1, "more than %u control messages per second",
                           s->r->o.ctrl_rate);
    return 0;
}

static int dispatch(rec_session *s, tw_msg *m, int64_t t)
{
    if (!s->hello_done && m->type != TW_MSG_HELLO) {
        rec_session_send_error(s, TW_ESTATE, 1, "%s before hello", tw_msg_type_name(m->type));
        return 0;
    }
    switch (m->type) {
    case TW_MSG_HELLO: return on_hello(s, m);
    case TW_MSG_EPISODE_START: return on_start(s, m, t);
    case TW_MSG_EPISODE_STOP:
    case TW_MSG_EPISODE_ABORT: return on_stop(s, m, t);
    case TW_MSG_ANNOTATE: return on_annotate(s, m, t);
    case TW_MSG_METADATA: return on_metadata(s, m);
    case TW_MSG_PONG: s->last_pong_ns = t; on_pong(s, m, t); return 0;
    case TW_MSG_PING: on_ping(s, m, t); return 0;
    default:
        rec_session_send_error(s, TW_ESTATE, 0, "%s is a server-to-client message", tw_msg_type_name(m->type));
        return 0;
    }
}

int rec_control_handle(rec_session *s, const char *text, size_t len, int64_t t)
{
    if (!s->pending && !rate_ok(s, t))
        return 0;
    tw_msg m;
    char emsg[256];
    int rc = tw_msg_decode(text, len, &m, emsg, sizeof emsg);
    if (rc < 0) {
        s->bad_msgs++;
        s->r->n_bad_msgs++;
        rec_session_send_error(s, rc, !s->hello_done || s->bad_msgs >= REC_MAX_BAD_MSGS,
                               "text message rejected: %s", emsg);
        return 0;
    }
    rc = dispatch(s, &m, t);
    tw_msg_clear(&m);
    return rc;
}
