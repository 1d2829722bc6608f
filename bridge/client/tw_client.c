/* Client library, caller side: options, open/close, declare, send, episode control,
 * waits and stats. Everything here only touches the ring under c->mu; the socket
 * belongs to the service thread in tw_client_lws.c. */
#include "tw_client_int.h"
#include "tw_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t tw_client_clock_realtime(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tw_client_opts_init(tw_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->client_name = "teleworld-client";
    o->rig_name = "";
    o->queue_bytes = 8u << 20;
    o->batch_bytes = 64u << 10;
    o->backoff_min_ms = 100;
    o->backoff_max_ms = 5000;
    o->max_retries = 10;
    o->ping_interval_ms = 1000;
    o->now_ns = tw_client_clock_realtime;
}

const char *tw_client_state_name(tw_client_state st)
{
    static const char *names[] = {"connecting", "ready", "backoff", "failed", "closed"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "unknown";
}

int tw_client_ctl_of(const char *what)
{
    static const tw_msg_type types[TW_CTL__COUNT] = {TW_MSG_EPISODE_START, TW_MSG_EPISODE_STOP,
                                                     TW_MSG_EPISODE_ABORT, TW_MSG_ANNOTATE, TW_MSG_METADATA};
    for (int k = 0; k < TW_CTL__COUNT; k++)
        if (!strcmp(what, tw_msg_type_name(types[k])))
            return k;
    return -1;
}

int tw_client_set_state_locked(tw_client *c, tw_client_state st)
{
    if (c->state == st)
        return 0;
    c->state = st;
    pthread_cond_broadcast(&c->cv);
    return 1;
}

void tw_client_note_error_locked(tw_client *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->st.last_error_msg, sizeof c->st.last_error_msg, fmt, ap);
    va_end(ap);
    c->st.last_error = err;
    c->err_gen++;
    pthread_cond_broadcast(&c->cv);
}

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

/* Splits ws[s]://host[:port][/path] into c->host/port/path/ssl. */
static int parse_url(tw_client *c, char *msg, size_t msgsz)
{
    char tmp[1024];
    const char *prot, *ads, *path;
    int port;
    if (strlen(c->url) >= sizeof tmp)
        return tw_errf(msg, msgsz, TW_EINVAL, "url too long (%zu bytes)", strlen(c->url));
    memcpy(tmp, c->url, strlen(c->url) + 1);
    if (lws_parse_uri(tmp, &prot, &ads, &port, &path))
        return tw_errf(msg, msgsz, TW_EINVAL, "url '%s': expected ws://host:port/path", c->url);
    if (strcmp(prot, "ws") && strcmp(prot, "wss"))
        return tw_errf(msg, msgsz, TW_EINVAL, "url '%s': scheme must be ws or wss, not '%s'", c->url, prot);
    if (!*ads || strlen(ads) >= sizeof c->host)
        return tw_errf(msg, msgsz, TW_EINVAL, "url '%s': missing or too long host", c->url);
    c->ssl = !strcmp(prot, "wss");
    c->port = port;
    snprintf(c->host, sizeof c->host, "%s", ads);
    snprintf(c->path, sizeof c->path, "/%s", path);
    return 0;
}

int tw_client_open(const tw_client_opts *opts, tw_client **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (!opts || !opts->url)
        return tw_errf(msg, msgsz, TW_EINVAL, "client: url is required");
    if (opts->queue_bytes < 1024 || opts->batch_bytes < 256)
        return tw_errf(msg, msgsz, TW_EINVAL, "client: queue_bytes >= 1024 and batch_bytes >= 256 required");
    if (opts->backoff_min_ms == 0 || opts->backoff_max_ms < opts->backoff_min_ms)
        return tw_errf(msg, msgsz, TW_EINVAL, "client: need 0 < backoff_min_ms <= backoff_max_ms");
    tw_client *c = calloc(1, sizeof *c);
    if (!c)
        return tw_errf(msg, msgsz, TW_ENOMEM, "client: out of memory");
    c->o = *opts;
    c->url = strdup(opts->url);
    c->token = dup_or(opts->token, "");
    c->client_name = dup_or(opts->client_name, "teleworld-client");
    c->rig_name = dup_or(opts->rig_name, "");
    if (!c->o.now_ns)
        c->o.now_ns = tw_client_clock_realtime;
    int rc = TW_ENOMEM;
    if (!c->url || !c->token || !c->client_name || !c->rig_name) {
        tw_errf(msg, msgsz, rc, "client: out of memory");
        goto fail;
    }
    c->o.url = c->url, c->o.token = c->token;
    c->o.client_name = c->client_name, c->o.rig_name = c->rig_name;
    if ((rc = parse_url(c, msg, msgsz)))
        goto fail;
    /* Record headers cost up to a third of the smallest frame; the reserve keeps room for
     * control messages when data has filled its share. */
    if ((rc = tw_ring_init(&c->ring, opts->queue_bytes + opts->queue_bytes / 3 + TW_CLIENT_CTL_RESERVE))) {
        tw_errf(msg, msgsz, rc, "client: cannot allocate a %zu-byte buffer", opts->queue_bytes);
        goto fail;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    c->st.queue_cap = opts->queue_bytes;
    if ((rc = tw_client_lws_start(c, msg, msgsz))) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    tw_ring_free(&c->ring);
    free(c->url), free(c->token), free(c->client_name), free(c->rig_name);
    free(c);
    return rc;
}

void tw_client_close(tw_client *c)
{
    if (!c)
        return;
    tw_client_lws_stop(c);
    tw_stream_table_free(c->table);
    free(c->hello_json), free(c->resume_json), free(c->scratch);
    tw_ring_free(&c->ring);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->url), free(c->token), free(c->client_name), free(c->rig_name);
    free(c);
}

static int build_hello(tw_client *c, const tw_stream_decl *decls, size_t n, char **json, char *msg, size_t msgsz)
{
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_HELLO;
    snprintf(m.u.hello.client, sizeof m.u.hello.client, "%s", c->client_name);
    snprintf(m.u.hello.version, sizeof m.u.hello.version, "%s", TW_VERSION_STRING);
    snprintf(m.u.hello.rig, sizeof m.u.hello.rig, "%s", c->rig_name);
    m.u.hello.nstreams = (uint32_t)n;
    m.u.hello.streams = (tw_stream_decl *)decls; /* borrowed: not cleared */
    return tw_msg_encode(&m, json, msg, msgsz);
}

int tw_client_declare(tw_client *c, const tw_stream_decl *decls, size_t n, char *msg, size_t msgsz)
{
    if (!c || (!decls && n))
        return tw_errf(msg, msgsz, TW_EINVAL, "declare: NULL argument");
    if (n == 0 || n > TW_MAX_STREAMS)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "declare: %zu streams (1..%d allowed)", n, TW_MAX_STREAMS);
    tw_stream_table *t = NULL;
    char *json = NULL;
    int rc = tw_stream_table_new(&t);
    for (size_t i = 0; !rc && i < n; i++)
        rc = tw_stream_table_add(t, &decls[i], msg, msgsz);
    if (!rc)
        rc = build_hello(c, decls, n, &json, msg, msgsz);
    if (rc) {
        tw_stream_table_free(t);
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    if (c->table) {
        pthread_mutex_unlock(&c->mu);
        tw_stream_table_free(t);
        free(json);
        return tw_errf(msg, msgsz, TW_ESTATE, "declare: streams were already declared");
    }
    c->table = t;
    c->hello_json = json;
    for (size_t i = 0; i < n; i++)
        c->idx_of[decls[i].id] = (uint8_t)(i + 1);
    if (c->state == TW_CLIENT_READY)
        c->state = TW_CLIENT_CONNECTING; /* until the welcome for this hello */
    pthread_mutex_unlock(&c->mu);
    tw_client_wake(c);
    return 0;
}

/* Grows the scratch buffer (once, to the largest frame seen); caller holds c->mu. */
static int scratch_fit(tw_client *c, size_t n)
{
    if (c->scratch_cap >= n)
        return 0;
    uint8_t *s = realloc(c->scratch, n);
    if (!s)
        return TW_ENOMEM;
    c->scratch = s, c->scratch_cap = n;
    return 0;
}

/* Checks a sample against its declaration so the server never has to reject it (one
 * bad frame would cost the server the rest of its batch). Fixed shapes: the size.
 * Variable kinds (video, event): the codec's own checks, on the frame encoded into
 * scratch, which then is what gets queued. Caller holds c->mu. */
static int check_sample(tw_client *c, const tw_frame *f, int *idx, int *in_scratch)
{
    if (!c->table || !c->idx_of[f->stream_id])
        return tw_errf(c->st.last_error_msg, sizeof c->st.last_error_msg, TW_EUNKNOWN_STREAM,
                       "send: stream %u was not declared", f->stream_id);
    const tw_stream_decl *d = tw_stream_table_get(c->table, f->stream_id);
    size_t want = tw_decl_sample_bytes(d);
    *idx = c->idx_of[f->stream_id] - 1;
    *in_scratch = 0;
    if (want)
        return f->payload_len == want ? 0 : tw_errf(c->st.last_error_msg, sizeof c->st.last_error_msg,
                                                    TW_ESHAPE, "send: stream '%s' needs %zu-byte samples, got %u",
                                                    d->name, want, f->payload_len);
    size_t fbytes = TW_FRAME_HEADER_SIZE + (size_t)f->payload_len;
    if (f->payload_len > TW_MAX_VIDEO_BYTES || scratch_fit(c, fbytes))
        return tw_errf(c->st.last_error_msg, sizeof c->st.last_error_msg, TW_ETOO_BIG,
                       "send: stream '%s': %u-byte sample too big", d->name, f->payload_len);
    tw_frame_encode(c->scratch, fbytes, f);
    tw_frame_iter it;
    tw_frame out;
    tw_frame_iter_init(&it, c->scratch, fbytes);
    int rc = tw_frame_next(&it, c->table, &out, c->st.last_error_msg, sizeof c->st.last_error_msg);
    *in_scratch = rc == 1;
    return rc == 1 ? 0 : rc;
}

static int failed_err(const tw_client *c)
{
    return c->state == TW_CLIENT_FAILED ? (c->fail_err ? c->fail_err : TW_ECONNECT)
           : c->state == TW_CLIENT_CLOSED ? TW_ECLOSED : 0;
}

/* Pushes one data record; caller holds c->mu and has checked the room. */
static int push_frame(tw_client *c, const tw_frame *f, size_t fbytes, int in_scratch)
{
    tw_rec rec = {.len = (uint32_t)fbytes, .ctl = TW_REC_DATA};
    uint8_t *p = in_scratch ? NULL : tw_ring_tail(&c->ring, sizeof rec + fbytes);
    if (p) { /* common case: encode straight into the ring */
        memcpy(p, &rec, sizeof rec);
        tw_frame_encode(p + sizeof rec, fbytes, f);
        tw_ring_commit(&c->ring, sizeof rec + fbytes);
        return 0;
    }
    if (!in_scratch) {
        if (scratch_fit(c, fbytes))
            return TW_ENOMEM;
        tw_frame_encode(c->scratch, fbytes, f);
    }
    tw_ring_push(&c->ring, &rec, sizeof rec, c->scratch, fbytes);
    return 0;
}

int tw_client_send(tw_client *c, uint16_t stream_id, int64_t t_src_ns, uint16_t flags,
                   const void *payload, size_t len)
{
    if (!c || (!payload && len) || (flags & ~TW_FLAG__KNOWN) || len > UINT32_MAX)
        return TW_EINVAL;
    int idx = 0, rc, wake = 0, in_scratch = 0;
    size_t fbytes = TW_FRAME_HEADER_SIZE + len;
    tw_frame f = {.stream_id = stream_id, .flags = flags, .payload_len = (uint32_t)len,
                  .t_src_ns = t_src_ns, .payload = payload};
    pthread_mutex_lock(&c->mu);
    if ((rc = failed_err(c)))
        goto out;
    if (c->idx_of[stream_id])
        f.seq = c->seq[c->idx_of[stream_id] - 1];
    if (c->idx_of[stream_id] && c->discont[c->idx_of[stream_id] - 1])
        f.flags |= TW_FLAG_DISCONT;
    if ((rc = check_sample(c, &f, &idx, &in_scratch))) {
        c->st.last_error = rc;
        goto out;
    }
    c->seq[idx]++; /* consumed even when dropped: the receiver sees the gap */
    if (fbytes > c->o.queue_bytes || c->data_bytes + fbytes > c->o.queue_bytes ||
        c->ring.used + sizeof(tw_rec) + fbytes > c->ring.cap - TW_CLIENT_CTL_RESERVE) {
        rc = TW_EFULL;
        c->st.dropped++;
        c->discont[idx] = 1; /* the next accepted frame says the sender knows */
        goto out;
    }
    if ((rc = push_frame(c, &f, fbytes, in_scratch)))
        goto out;
    c->discont[idx] = 0;
    wake = c->data_bytes == 0 && !c->wake_pending; /* a non-empty ring is already being drained */
    c->data_bytes += fbytes;
    c->data_records++;
    c->st.frames_queued++;
    if (wake)
        c->wake_pending = 1;
out:
    pthread_mutex_unlock(&c->mu);
    if (wake)
        tw_client_wake(c);
    return rc;
}

/* Queues one control message behind the data already queued. */
static int queue_ctl(tw_client *c, tw_client_ctl kind, const tw_msg *m, char *msg, size_t msgsz)
{
    char *json = NULL;
    int rc = tw_msg_encode(m, &json, msg, msgsz);
    if (rc)
        return rc;
    size_t len = strlen(json);
    tw_rec rec = {.len = (uint32_t)len, .ctl = (uint16_t)kind};
    pthread_mutex_lock(&c->mu);
    if ((rc = failed_err(c))) {
        tw_errf(msg, msgsz, rc, "client %s: %s", tw_client_state_name(c->state), c->fail_msg);
    } else if (!c->table) {
        rc = tw_errf(msg, msgsz, TW_ESTATE, "%s before tw_client_declare", tw_msg_type_name(m->type));
    } else if (kind == TW_CTL_START && c->ep_open_queued) {
        rc = tw_errf(msg, msgsz, TW_ESTATE, "episode_start: an episode is already open");
    } else if ((kind == TW_CTL_STOP || kind == TW_CTL_ABORT) && !c->ep_open_queued) {
        rc = tw_errf(msg, msgsz, TW_ESTATE, "%s: no episode is open", tw_msg_type_name(m->type));
    } else if (c->ring.used + sizeof rec + len > c->ring.cap) {
        rc = tw_errf(msg, msgsz, TW_EFULL, "%s: outgoing buffer full", tw_msg_type_name(m->type));
    } else {
        tw_ring_push(&c->ring, &rec, sizeof rec, json, len);
        c->requested[kind]++;
        c->err_at_req[kind] = c->st.server_errors;
        if (kind == TW_CTL_START)
            c->ep_open_queued = 1;
        else if (kind == TW_CTL_STOP || kind == TW_CTL_ABORT)
            c->ep_open_queued = 0;
    }
    pthread_mutex_unlock(&c->mu);
    free(json);
    if (!rc)
        tw_client_wake(c);
    return rc;
}

static int copy_text(char *dst, size_t cap, const char *src, const char *what, char *msg, size_t msgsz)
{
    if (!src)
        src = "";
    if (strlen(src) >= cap)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: %zu bytes (limit %zu)", what, strlen(src), cap - 1);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

int tw_client_episode_start(tw_client *c, const char *task, const char *operator_, const char *robot,
                            const char *metadata_json, char *msg, size_t msgsz)
{
    if (!c)
        return tw_errf(msg, msgsz, TW_EINVAL, "episode_start: NULL client");
    tw_msg m = {.type = TW_MSG_EPISODE_START}, *mp = &m;
    int rc = copy_text(mp->u.start.task, sizeof mp->u.start.task, task, "task", msg, msgsz);
    if (!rc)
        rc = copy_text(mp->u.start.operator_, sizeof mp->u.start.operator_, operator_, "operator", msg, msgsz);
    if (!rc)
        rc = copy_text(mp->u.start.robot, sizeof mp->u.start.robot, robot, "robot", msg, msgsz);
    if (!rc)
        rc = copy_text(mp->u.start.metadata, sizeof mp->u.start.metadata, metadata_json, "metadata", msg, msgsz);
    if (!rc)
        rc = queue_ctl(c, TW_CTL_START, mp, msg, msgsz);
    return rc;
}

int tw_client_episode_stop(tw_client *c, int success, char *msg, size_t msgsz)
{
    if (!c)
        return tw_errf(msg, msgsz, TW_EINVAL, "episode_stop: NULL client");
    tw_msg m = {.type = TW_MSG_EPISODE_STOP};
    m.u.stop.success = success < 0 ? -1 : success > 0;
    return queue_ctl(c, TW_CTL_STOP, &m, msg, msgsz);
}

int tw_client_episode_abort(tw_client *c, const char *reason, char *msg, size_t msgsz)
{
    if (!c)
        return tw_errf(msg, msgsz, TW_EINVAL, "episode_abort: NULL client");
    tw_msg m = {.type = TW_MSG_EPISODE_ABORT};
    int rc = copy_text(m.u.abort_.reason, sizeof m.u.abort_.reason, reason, "reason", msg, msgsz);
    return rc ? rc : queue_ctl(c, TW_CTL_ABORT, &m, msg, msgsz);
}

int tw_client_annotate(tw_client *c, int64_t t_src_ns, const char *label, const char *data_json,
                       char *msg, size_t msgsz)
{
    if (!c)
        return tw_errf(msg, msgsz, TW_EINVAL, "annotate: NULL client");
    tw_msg m = {.type = TW_MSG_ANNOTATE};
    m.u.annotate.t_src_ns = t_src_ns;
    int rc = copy_text(m.u.annotate.label, sizeof m.u.annotate.label, label, "label", msg, msgsz);
    if (!rc)
        rc = copy_text(m.u.annotate.data, sizeof m.u.annotate.data, data_json, "data", msg, msgsz);
    return rc ? rc : queue_ctl(c, TW_CTL_ANNOTATE, &m, msg, msgsz);
}

int tw_client_metadata(tw_client *c, const char *metadata_json, char *msg, size_t msgsz)
{
    if (!c)
        return tw_errf(msg, msgsz, TW_EINVAL, "metadata: NULL client");
    tw_msg m = {.type = TW_MSG_METADATA};
    int rc = copy_text(m.u.metadata.metadata, sizeof m.u.metadata.metadata, metadata_json, "metadata", msg, msgsz);
    return rc ? rc : queue_ctl(c, TW_CTL_METADATA, &m, msg, msgsz);
}
