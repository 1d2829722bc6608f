/* The writer thread: the only code that touches episode files. It drains the queue in
 * order, flushes every flush_ms, and reports write failures back to the network thread
 * (which tells the client) without stopping other sessions' episodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rec_internal.h"

#define MAX_OPEN 1024

typedef struct {
    struct tw_recorder *r;
    rec_episode *open[MAX_OPEN];
    size_t nopen;
    char msg[512];
} writer;

void rec_note_post(struct tw_recorder *r, uint64_t session, uint64_t serial, int err, const char *msg)
{
    rec_note *n = calloc(1, sizeof *n);
    if (!n)
        return;
    n->session = session;
    n->serial = serial;
    n->err = err;
    snprintf(n->msg, sizeof n->msg, "%s", msg);
    pthread_mutex_lock(&r->note_mu);
    rec_note **pp = &r->notes; /* keep order */
    while (*pp)
        pp = &(*pp)->next;
    *pp = n;
    pthread_mutex_unlock(&r->note_mu);
    lws_cancel_service(r->ctx);
}

static void account_bytes(writer *wr, rec_episode *ep)
{
    if (!ep->w)
        return;
    uint64_t b = tw_episode_bytes_written(ep->w);
    if (b > ep->bytes_seen) {
        atomic_fetch_add_explicit(&wr->r->bytes_written, b - ep->bytes_seen, memory_order_relaxed);
        ep->bytes_seen = b;
    }
}

/* A write error ends the episode as "error"; later records for it are skipped. */
static void fail_episode(writer *wr, rec_episode *ep, int err)
{
    if (ep->failed)
        return;
    ep->failed = 1;
    if (ep->w) { /* the closer builds the file: the writer never waits for a build's HDF5 lock */
        account_bytes(wr, ep);
        rec_closer_hand(wr->r, ep->w, TW_EP_ERROR, -1, ep->id, ep->s->num, ep->serial);
        ep->w = NULL;
    }
    rec_note_post(wr->r, ep->s->num, ep->serial, err, wr->msg);
}

static void open_episode(writer *wr, rec_episode *ep)
{
    const rec_session *s = ep->s;
    tw_stream_decl *decls = calloc(s->nstreams ? s->nstreams : 1, sizeof *decls);
    if (!decls) {
        tw_errf(wr->msg, sizeof wr->msg, TW_ENOMEM, "episode %s: out of memory", ep->id);
        fail_episode(wr, ep, TW_ENOMEM);
        return;
    }
    for (uint32_t i = 0; i < s->nstreams; i++)
        decls[i] = *tw_stream_table_get(s->table, s->ids[i]);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = ep->id;
    info.session_id = s->sid;
    info.task = ep->task;
    info.operator_ = ep->operator_;
    info.robot = ep->robot;
    info.domain = "real";
    info.metadata_json = ep->metadata;
    info.software_version = TW_VERSION;
    info.started_ns = ep->started_ns;
    info.compression = wr->r->o.compression;
    int rc = tw_episode_create(ep->dir, &info, decls, s->nstreams, &ep->w, wr->msg, sizeof wr->msg);
    free(decls);
    if (rc < 0) {
        ep->w = NULL;
        fail_episode(wr, ep, rc);
        return;
    }
    if (wr->nopen < MAX_OPEN)
        wr->open[wr->nopen++] = ep;
}

static void close_episode(writer *wr, rec_episode *ep, const char *status, int success)
{
    for (size_t i = 0; i < wr->nopen; i++)
        if (wr->open[i] == ep) {
            wr->open[i] = wr->open[--wr->nopen];
            break;
        }
    if (ep->w) {
        account_bytes(wr, ep);
        rec_closer_hand(wr->r, ep->w, status, success, ep->id, ep->s->num, ep->serial);
        ep->w = NULL;
    }
    rec_session_unref(ep->s);
    free(ep->metadata);
    free(ep);
}

/* The writer's per-stream tracker counters (the file's, tw_seq.h) become the session's live ones. */
static void publish_counts(rec_episode *ep)
{
    rec_session *s = ep->s;
    for (uint32_t k = 0; k < s->nstreams; k++) {
        tw_seq_counts c;
        if (tw_episode_writer_counts(ep->w, s->ids[k], &c) != 0)
            continue;
        rec_stream_stats *st = &s->st[k];
        atomic_store_explicit(&st->missing, c.missing, memory_order_relaxed);
        atomic_store_explicit(&st->duplicates, c.duplicates, memory_order_relaxed);
        atomic_store_explicit(&st->out_of_order, c.out_of_order, memory_order_relaxed);
        atomic_store_explicit(&st->resets, c.resets, memory_order_relaxed);
        atomic_store_explicit(&st->nonmonotonic_t, c.nonmonotonic_t, memory_order_relaxed);
        atomic_store_explicit(&st->nonfinite, c.nonfinite, memory_order_relaxed);
    }
}

static void append_data(writer *wr, rec_episode *ep, const rec_hdr *h)
{
    rec_session *s = ep->s;
    tw_frame_iter it;
    tw_frame f;
    tw_frame_iter_init(&it, h + 1, h->len);
    int rc;
    /* already validated against the stream table on the network thread */
    while ((rc = tw_frame_next(&it, NULL, &f, wr->msg, sizeof wr->msg)) == 1) {
        tw_seq_counts c0, c1;
        tw_episode_writer_counts(ep->w, f.stream_id, &c0);
        rc = tw_episode_append(ep->w, &f, h->t_ns, wr->msg, sizeof wr->msg);
        if (rc < 0) {
            fail_episode(wr, ep, rc);
            return;
        }
        tw_episode_writer_counts(ep->w, f.stream_id, &c1);
        uint8_t k = s->idx[f.stream_id];
        if (k && c1.duplicates == c0.duplicates) /* a resend is not written again */
            atomic_fetch_add_explicit(&s->st[k - 1].written, 1, memory_order_relaxed);
    }
    publish_counts(ep);
}

/* The session's share of the queue, for status.queue_bytes. */
static void account_dequeued(const rec_hdr *h)
{
    if (h->type == REC_DATA && h->ep)
        atomic_fetch_sub_explicit(&h->ep->s->queued_bytes, h->len, memory_order_relaxed);
}

static void apply(writer *wr, const rec_hdr *h)
{
    rec_episode *ep = h->ep;
    if (h->type == REC_CLOSE) {
        close_episode(wr, ep, (const char *)(h + 1), (int)h->a);
        return;
    }
    if (h->type == REC_OPEN) {
        open_episode(wr, ep);
        return;
    }
    if (ep->failed || !ep->w)
        return;
    const char *p = (const char *)(h + 1);
    int rc = 0;
    switch (h->type) {
    case REC_DATA:
        append_data(wr, ep, h);
        return;
    case REC_EVENT: {
        const char *label = p + strlen(p) + 1;
        const char *data = label + strlen(label) + 1;
        rc = tw_episode_event(ep->w, h->t_ns, p, label, *data ? data : NULL, wr->msg, sizeof wr->msg);
        break;
    }
    case REC_CLOCK:
        rc = tw_episode_clock(ep->w, h->t_ns, h->a, h->b);
        break;
    case REC_DROPS:
        rc = tw_episode_add_drops(ep->w, (uint16_t)h->a, (uint64_t)h->b);
        break;
    case REC_META:
        rc = tw_episode_set_meta(ep->w, p, p + strlen(p) + 1);
        break;
    default:
        return;
    }
    if (rc < 0) {
        if (!wr->msg[0] || h->type == REC_CLOCK || h->type == REC_DROPS || h->type == REC_META)
            tw_errf(wr->msg, sizeof wr->msg, rc, "episode %s: %s", ep->id, tw_strerror(rc));
        fail_episode(wr, ep, rc);
    }
}

static void flush_all(writer *wr)
{
    for (size_t i = 0; i < wr->nopen; i++) {
        rec_episode *ep = wr->open[i];
        if (!ep->w || ep->failed)
            continue;
        wr->msg[0] = 0;
        int rc = tw_episode_flush(ep->w, wr->msg, sizeof wr->msg);
        if (rc < 0)
            fail_episode(wr, ep, rc);
        else
            account_bytes(wr, ep);
    }
}

void *rec_writer_main(void *arg)
{
    writer *wr = calloc(1, sizeof *wr);
    if (!wr)
        return NULL;
    wr->r = arg;
    struct tw_recorder *r = wr->r;
    int64_t period = (int64_t)r->o.flush_ms * 1000000;
    int64_t next_flush = tw_clock_ns(CLOCK_MONOTONIC) + period;
    for (;;) {
        rec_hdr *h = rec_queue_peek(&r->q, next_flush);
        if (h) {
            wr->msg[0] = 0;
            /* the record in hand is the oldest not yet on disk: status measures its age when asked, so a
             * writer stuck on a slow write shows a growing lag, not the lag it had when it picked it up */
            if (h->type == REC_DATA)
                atomic_store_explicit(&r->write_head_t_ns, h->t_ns, memory_order_relaxed);
            account_dequeued(h); /* before apply: a CLOSE frees ep */
            apply(wr, h);
            if (rec_queue_release(&r->q, h)) {
                atomic_store(&r->drain_wanted, 1);
                lws_cancel_service(r->ctx);
            }
        }
        if (tw_clock_ns(CLOCK_MONOTONIC) >= next_flush) {
            flush_all(wr);
            next_flush = tw_clock_ns(CLOCK_MONOTONIC) + period;
        }
        if (!h && rec_queue_stopping(&r->q) && rec_queue_used(&r->q) == 0)
            break;
    }
    /* the network thread closes every episode before stopping; this is a safety net */
    while (wr->nopen)
        close_episode(wr, wr->open[0], TW_EP_INTERRUPTED, -1);
    free(wr);
    return NULL;
}
