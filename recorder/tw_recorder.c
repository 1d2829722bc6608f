/* Recorder lifecycle and the network thread: lws context, websocket callback, timers,
 * writer start/stop, recovery of episodes a previous run left open. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec_internal.h"

int rec_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
size_t rec_http_pss_size(void);

void tw_recorder_opts_init(tw_recorder_opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8765;
    o->flush_ms = 1000;
    o->queue_bytes = (size_t)256 << 20;
    o->policy = TW_POLICY_BACKPRESSURE;
    o->status_ms = 1000;
    o->ping_ms = 1000;
    o->ping_timeout_ms = 15000;
    o->max_sessions = 32;
    o->ctrl_rate = 200;
    o->compression = 1; /* gzip-1: paid when the episode is closed, not while recording */
}

static rec_session *find_session(struct tw_recorder *r, uint64_t num)
{
    for (rec_session *s = r->sessions; s; s = s->next)
        if (s->num == num)
            return s;
    return NULL;
}

/* Write errors reported by the writer: tell the client, end that episode, go on. */
static void drain_notes(struct tw_recorder *r)
{
    pthread_mutex_lock(&r->note_mu);
    rec_note *n = r->notes;
    r->notes = NULL;
    pthread_mutex_unlock(&r->note_mu);
    while (n) {
        rec_note *next = n->next;
        rec_session *s = find_session(r, n->session);
        r->n_episodes_failed++;
        if (s && s->ep && s->ep->serial == n->serial) {
            /* protocol.md: disk and file errors are fatal for the session (AV is not) */
            rec_session_send_error(s, n->err, n->err != TW_EAV, "episode %s ended by a write error: %s",
                                   s->ep->id, n->msg);
            rec_session_end_episode(s, TW_EP_ERROR, -1);
        } else {
            rec_log(r, "episode write error (session gone or episode already ended): %s", n->msg);
        }
        free(n);
        n = next;
    }
}

static void retry_pending(struct tw_recorder *r)
{
    if (!atomic_exchange(&r->drain_wanted, 0))
        return;
    for (rec_session *s = r->sessions; s; s = s->next)
        if (s->pending && rec_session_retry_pending(s))
            break; /* still full: the writer wakes us again */
}

static void unlink_session(struct tw_recorder *r, rec_session *s)
{
    for (rec_session **pp = &r->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            r->nsessions--;
            return;
        }
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct tw_recorder *r = lws_context_user(lws_get_context(wsi));
    rec_session **ps = user, *s = ps ? *ps : NULL;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        s = rec_session_new(r, wsi);
        if (!s)
            return -1;
        *ps = s;
        lws_get_peer_simple(wsi, s->peer, sizeof s->peer);
        s->next = r->sessions;
        r->sessions = s;
        r->nsessions++;
        r->n_sessions_total++;
        rec_log(r, "%s: connected from %s", s->sid, s->peer);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!s)
            return -1;
        return rec_session_rx(s, in, len, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi),
                              lws_frame_is_binary(wsi), lws_remaining_packet_payload(wsi));
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s ? rec_session_writeable(s) : 0;
    case LWS_CALLBACK_CLOSED:
        if (!s)
            return 0;
        rec_log(r, "%s (%s): disconnected", s->sid, s->rig);
        if (!rec_queue_stopping(&r->q))
            rec_session_disconnected(s);
        s->wsi = NULL;
        unlink_session(r, s);
        *ps = NULL;
        rec_session_unref(s);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_notes(r);
        retry_pending(r);
        return 0;
    default:
        return 0;
    }
}

static void tick(lws_sorted_usec_list_t *sul)
{
    struct tw_recorder *r = lws_container_of(sul, struct tw_recorder, sul);
    int64_t now = rec_now_ns();
    for (rec_session *s = r->sessions; s; s = s->next)
        rec_session_tick(s, now);
    rec_status_line(r, now);
    lws_sul_schedule(r->ctx, 0, &r->sul, tick, REC_TICK_MS * LWS_US_PER_MS);
}

/* A previous run that died left episodes "recording": make them valid before serving. */
static void recover_all(struct tw_recorder *r)
{
    DIR *d = opendir(r->out_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX + 260], h5[PATH_MAX + 300], jn[PATH_MAX + 300], emsg[256];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", r->out_dir, e->d_name);
        snprintf(h5, sizeof h5, "%s/episode.h5", path);
        snprintf(jn, sizeof jn, "%s/episode.journal", path);
        if (stat(h5, &sb) != 0 && stat(jn, &sb) != 0)
            continue; /* not an episode directory */
        int changed = 0;
        int rc = tw_episode_recover(path, &changed, emsg, sizeof emsg);
        if (rc < 0)
            rec_log(r, "recover %s: %s", path, emsg);
        else if (changed) {
            r->n_recovered++;
            rec_log(r, "recovered interrupted episode %s", e->d_name);
        }
    }
    closedir(d);
}

static const struct lws_protocols *protocols(void)
{
    static struct lws_protocols p[3];
    p[0] = (struct lws_protocols){"http", rec_http_callback, 0, 0, 0, NULL, 0};
    p[0].per_session_data_size = rec_http_pss_size();
    /* a large rx buffer: a binary message of many frames arrives in one callback, copied once */
    p[1] = (struct lws_protocols){TW_SUBPROTOCOL, ws_callback, sizeof(rec_session *), 256 * 1024, 0, NULL, 0};
    return p;
}

static void lws_log_quiet(int level, const char *line)
{
    (void)level;
    (void)line;
}

static int start_lws(struct tw_recorder *r, char *msg, size_t msgsz)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    lws_set_log_level(LLL_ERR, lws_log_quiet);
    info.port = r->o.port;
    info.iface = r->host;
    info.protocols = protocols();
    info.user = r;
    info.pt_serv_buf_size = 64 * 1024;
    info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (r->o.cert && r->o.key) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = r->o.cert;
        info.ssl_private_key_filepath = r->o.key;
    }
    info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    r->ctx = lws_create_context(&info);
    if (!r->ctx)
        return tw_errf(msg, msgsz, TW_EIO, "cannot start the network service");
    info.vhost_name = "teleworld";
    r->vh = lws_create_vhost(r->ctx, &info);
    if (!r->vh)
        return tw_errf(msg, msgsz, TW_EIO, "cannot listen on %s:%d%s (address in use, bad address, or bad "
                       "certificate/key)", r->host, r->o.port, r->o.cert ? " with TLS" : "");
    r->port = lws_get_vhost_listen_port(r->vh);
    return 0;
}

int tw_recorder_open(const tw_recorder_opts *o, tw_recorder **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_media_use_for_episodes(); /* camera streams are stored through bridge/media */
    if (!o->out_dir || !o->token || !o->token[0])
        return tw_errf(msg, msgsz, TW_EINVAL, "recorder needs an output directory and a token");
    if ((o->cert == NULL) != (o->key == NULL))
        return tw_errf(msg, msgsz, TW_EINVAL, "TLS needs both a certificate and a key");
    if (o->queue_bytes < (1u << 16) || o->flush_ms == 0 || o->status_ms == 0 || o->ping_ms == 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "queue must be at least 64 KiB and periods non-zero");
    if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "create %s: %s", o->out_dir, strerror(errno));
    struct tw_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return tw_errf(msg, msgsz, TW_ENOMEM, "out of memory");
    r->o = *o;
    snprintf(r->host, sizeof r->host, "%s", o->host ? o->host : "127.0.0.1");
    snprintf(r->out_dir, sizeof r->out_dir, "%s", o->out_dir);
    snprintf(r->token, sizeof r->token, "%s", o->token);
    r->o.host = r->host;
    r->o.out_dir = r->out_dir;
    r->o.token = NULL;
    r->started_ns = rec_now_ns();
    pthread_mutex_init(&r->note_mu, NULL);
    int rc = rec_queue_init(&r->q, o->queue_bytes);
    if (rc < 0) {
        tw_recorder_close(r);
        return tw_errf(msg, msgsz, rc, "cannot allocate a %zu-byte queue", o->queue_bytes);
    }
    /* a message must fit the empty queue whole, or backpressure would hold it forever: a smaller
     * queue lowers the max_binary the welcome advertises (and the limit enforced) */
    r->max_binary = TW_MAX_BINARY_MSG;
    if (r->q.data_cap - sizeof(rec_hdr) < r->max_binary) {
        r->max_binary = (r->q.data_cap - sizeof(rec_hdr)) & ~(size_t)7;
        rec_log(r, "--queue-mb holds %zu bytes: binary messages limited to %zu bytes (protocol maximum %u)",
                r->q.data_cap, r->max_binary, (unsigned)TW_MAX_BINARY_MSG);
    }
    recover_all(r);
    rc = start_lws(r, msg, msgsz);
    if (rc < 0) {
        tw_recorder_close(r);
        return rc;
    }
    if (rec_closer_start(r) < 0 || pthread_create(&r->writer, NULL, rec_writer_main, r) != 0) {
        tw_recorder_close(r);
        return tw_errf(msg, msgsz, TW_ENOMEM, "cannot start the writer thread");
    }
    r->writer_started = 1;
    *out = r;
    return 0;
}

int tw_recorder_port(const tw_recorder *r)
{
    return r ? r->port : -1;
}

void tw_recorder_stop(tw_recorder *r)
{
    r->stop = 1;
    if (r->ctx)
        lws_cancel_service(r->ctx);
}

int tw_recorder_run(tw_recorder *r, char *msg, size_t msgsz)
{
    rec_log(r, "listening on %s://%s:%d, writing to %s", r->o.cert ? "wss" : "ws", r->host, r->port, r->out_dir);
    lws_sul_schedule(r->ctx, 0, &r->sul, tick, REC_TICK_MS * LWS_US_PER_MS);
    while (!r->stop)
        if (lws_service(r->ctx, 0) < 0)
            break;
    lws_sul_cancel(&r->sul);
    /* finish cleanly: held messages go to the queue, open episodes end "interrupted". A held
     * message waits at most REC_STOP_GRACE_NS for room (a writer stuck on a dying disk must not
     * keep the process alive); then it is counted as dropped, like drop-newest would. */
    int64_t give_up = rec_now_ns() + REC_STOP_GRACE_NS;
    for (rec_session *s = r->sessions; s; s = s->next) {
        while (s->pending && rec_session_retry_pending(s) && rec_now_ns() < give_up)
            usleep(1000);
        if (s->pending)
            rec_session_drop_pending(s);
        rec_session_end_episode(s, TW_EP_INTERRUPTED, -1);
    }
    rec_queue_stop(&r->q);
    if (r->writer_started) {
        pthread_join(r->writer, NULL);
        r->writer_started = 0;
    }
    if (atomic_load_explicit(&r->n_closing, memory_order_relaxed))
        rec_log(r, "finishing %llu episode file(s)...", (unsigned long long)atomic_load(&r->n_closing));
    rec_closer_stop(r); /* every episode file is complete before run() returns */
    drain_notes(r);
    rec_status_line(r, 0);
    rec_log(r, "stopped: %llu sessions, %llu episodes (%llu with write errors), %.1f MB written",
            (unsigned long long)r->n_sessions_total, (unsigned long long)r->n_episodes_done,
            (unsigned long long)r->n_episodes_failed, atomic_load(&r->bytes_written) / 1e6);
    (void)msg;
    (void)msgsz;
    return 0;
}

void tw_recorder_close(tw_recorder *r)
{
    if (!r)
        return;
    if (r->writer_started) { /* closed without run(): stop the writer first */
        rec_queue_stop(&r->q);
        pthread_join(r->writer, NULL);
    }
    rec_closer_stop(r);
    if (r->ctx)
        lws_context_destroy(r->ctx);
    while (r->notes) {
        rec_note *n = r->notes->next;
        free(r->notes);
        r->notes = n;
    }
    rec_queue_destroy(&r->q);
    pthread_mutex_destroy(&r->note_mu);
    free(r);
}

char *tw_recorder_status_json(tw_recorder *r)
{
    return rec_status_json(r);
}
