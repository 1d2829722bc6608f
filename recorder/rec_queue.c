/* The recorder's one bounded queue: a byte ring between the network thread (producer)
 * and the writer thread (consumer). Each binary message is copied into it exactly once;
 * the writer reads records in place, so nothing is allocated per message or per frame. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rec_internal.h"

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

int64_t rec_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int rec_queue_init(rec_queue *q, size_t data_cap)
{
    memset(q, 0, sizeof *q);
    q->data_cap = ALIGN8(data_cap);
    q->cap = q->data_cap + REC_CTRL_RESERVE;
    q->buf = malloc(q->cap);
    if (!q->buf)
        return TW_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&q->mu, NULL);
    return 0;
}

void rec_queue_destroy(rec_queue *q)
{
    if (!q->buf)
        return;
    free(q->buf);
    q->buf = NULL;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cond);
}

rec_hdr *rec_queue_reserve(rec_queue *q, size_t len, int control)
{
    size_t need = ALIGN8(sizeof(rec_hdr) + len);
    size_t limit = control ? q->cap : q->data_cap;
    pthread_mutex_lock(&q->mu);
    /* an empty ring restarts at offset 0: when the writer keeps up, the same few hot pages
     * are reused instead of walking (and faulting in) the whole capacity */
    if (q->used == 0)
        q->head = q->tail = 0;
    size_t pos = q->head, waste = 0;
    if (pos + need > q->cap) { /* records never wrap: skip the tail end */
        waste = q->cap - pos;
        pos = 0;
    }
    int ok = q->used + waste + need <= limit;
    if (!ok)
        q->want_drain = 1;
    pthread_mutex_unlock(&q->mu);
    if (!ok)
        return NULL;
    q->res_pos = pos;
    q->res_waste = waste;
    q->res_need = need;
    rec_hdr *h = (rec_hdr *)(q->buf + pos);
    memset(h, 0, sizeof *h);
    h->len = (uint32_t)len;
    return h;
}

void rec_queue_commit(rec_queue *q)
{
    if (q->res_waste >= sizeof(rec_hdr)) {
        rec_hdr *w = (rec_hdr *)(q->buf + q->head);
        memset(w, 0, sizeof *w);
        w->type = REC_WRAP;
    }
    pthread_mutex_lock(&q->mu);
    q->used += q->res_waste + q->res_need;
    if (q->used > q->peak)
        q->peak = q->used;
    q->head = q->res_pos + q->res_need;
    if (q->head == q->cap)
        q->head = 0;
    if (q->waiting)
        pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

/* Consumer side: skips wrap markers (and a tail too short for a header). Called locked. */
static rec_hdr *peek_locked(rec_queue *q)
{
    while (q->used > 0) {
        size_t room = q->cap - q->tail;
        rec_hdr *h = (rec_hdr *)(q->buf + q->tail);
        if (room < sizeof(rec_hdr) || h->type == REC_WRAP) {
            q->used -= room;
            q->tail = 0;
            continue;
        }
        return h;
    }
    return NULL;
}

rec_hdr *rec_queue_peek(rec_queue *q, int64_t deadline)
{
    struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
    pthread_mutex_lock(&q->mu);
    rec_hdr *h;
    while (!(h = peek_locked(q)) && !q->stopping) {
        q->waiting = 1;
        int rc = pthread_cond_timedwait(&q->cond, &q->mu, &ts);
        q->waiting = 0;
        if (rc == ETIMEDOUT) {
            h = peek_locked(q);
            break;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return h;
}

int rec_queue_release(rec_queue *q, const rec_hdr *h)
{
    size_t need = ALIGN8(sizeof(rec_hdr) + h->len);
    int wake = 0;
    pthread_mutex_lock(&q->mu);
    q->used -= need;
    q->tail += need;
    if (q->tail == q->cap)
        q->tail = 0;
    /* wake a blocked producer only once half the data space is free: fewer wakeups */
    if (q->want_drain && q->used <= q->data_cap / 2) {
        q->want_drain = 0;
        wake = 1;
    }
    pthread_mutex_unlock(&q->mu);
    return wake;
}

size_t rec_queue_used(rec_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t u = q->used;
    pthread_mutex_unlock(&q->mu);
    return u;
}

int rec_queue_stopping(rec_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int s = q->stopping;
    pthread_mutex_unlock(&q->mu);
    return s;
}

void rec_queue_stop(rec_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}
