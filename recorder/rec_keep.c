/* What a session keeps across its episodes and the checks made around them (network thread):
 * the session's clock samples (an episode gets those from before its start too, so one streamed
 * in under a second still has some), the free-space check that refuses new episodes on a full
 * disk, and the ping timeout that drops a client which stopped answering. */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "rec_internal.h"

/* Pushes one clock record; 0 or TW_EFULL. */
static int push_clock(rec_session *s, int64_t t, int64_t off, int64_t rtt)
{
    rec_hdr *h = rec_queue_reserve(&s->r->q, 0, 1);
    if (!h)
        return TW_EFULL;
    h->type = REC_CLOCK;
    h->ep = s->ep;
    h->t_ns = t;
    h->a = off;
    h->b = rtt;
    rec_queue_commit(&s->r->q);
    return 0;
}

void rec_clock_keep(rec_session *s, int64_t t_ns, int64_t off, int64_t rtt)
{
    s->keep_t[s->keep_i] = t_ns;
    s->keep_off[s->keep_i] = off;
    s->keep_rtt[s->keep_i] = rtt;
    s->keep_i = (s->keep_i + 1) % REC_CLOCK_KEEP;
    if (s->keep_n < REC_CLOCK_KEEP)
        s->keep_n++;
    if (s->ep) /* every sample goes to the open episode; readers may filter by rtt */
        push_clock(s, t_ns, off, rtt);
}

void rec_clock_replay(rec_session *s)
{
    int first = (s->keep_i - s->keep_n + REC_CLOCK_KEEP) % REC_CLOCK_KEEP;
    for (int k = 0; k < s->keep_n && s->ep; k++) {
        int i = (first + k) % REC_CLOCK_KEEP;
        if (push_clock(s, s->keep_t[i], s->keep_off[i], s->keep_rtt[i]) != 0)
            break; /* the control reserve is full: later pongs still arrive */
    }
    /* the episode's live counters start at zero, like the file's */
    for (uint32_t k = 0; k < s->nstreams; k++) {
        rec_stream_stats *st = &s->st[k];
        atomic_store(&st->missing, 0);
        atomic_store(&st->duplicates, 0);
        atomic_store(&st->out_of_order, 0);
        atomic_store(&st->resets, 0);
        atomic_store(&st->nonmonotonic_t, 0);
        atomic_store(&st->nonfinite, 0);
    }
}

int rec_space_ok(struct tw_recorder *r, char *why, size_t whysz)
{
    struct statvfs v;
    if (statvfs(r->out_dir, &v) != 0)
        return 1; /* cannot tell: the writer will report a real failure */
    unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
    if (avail >= REC_MIN_FREE_BYTES)
        return 1;
    snprintf(why, whysz, "%s has %llu bytes free (< %u): no new episode until space returns", r->out_dir, avail,
             REC_MIN_FREE_BYTES);
    return 0;
}

void rec_ping_timeout_check(rec_session *s, int64_t now)
{
    struct tw_recorder *r = s->r;
    if (!r->o.ping_timeout_ms || s->closing || !s->wsi)
        return;
    if (now - s->last_pong_ns <= (int64_t)r->o.ping_timeout_ms * 1000000)
        return;
    r->n_ping_timeouts++;
    rec_session_send_error(s, TW_ETIMEOUT, 1, "no pong for %u ms: dropping the session", r->o.ping_timeout_ms);
    if (s->ep)
        rec_session_end_episode(s, TW_EP_INTERRUPTED, -1);
    /* a deaf client may not read either: close the socket whatever it does */
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, 2);
}
