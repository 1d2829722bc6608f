/* Client library: blocking waits (ready, ack, flush) and the stats snapshot. All of
 * them sleep on c->cv, which the service thread broadcasts on every change they test. */
#include "tw_client_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct {
    int forever;
    struct timespec at;
} deadline;

static deadline deadline_in(int timeout_ms)
{
    deadline d = {.forever = timeout_ms < 0};
    clock_gettime(CLOCK_MONOTONIC, &d.at);
    if (timeout_ms > 0) {
        d.at.tv_sec += timeout_ms / 1000;
        d.at.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (d.at.tv_nsec >= 1000000000L)
            d.at.tv_sec++, d.at.tv_nsec -= 1000000000L;
    }
    return d;
}

/* Sleeps on the condition; returns 0 when woken, TW_ETIMEOUT past the deadline. */
static int wait_until(tw_client *c, const deadline *d)
{
    if (d->forever)
        return pthread_cond_wait(&c->cv, &c->mu), 0;
    return pthread_cond_timedwait(&c->cv, &c->mu, &d->at) == ETIMEDOUT ? TW_ETIMEOUT : 0;
}

/* Failure cause with its message, or 0 while the client may still succeed. */
static int failure_locked(tw_client *c, char *msg, size_t msgsz)
{
    if (c->state == TW_CLIENT_FAILED)
        return tw_errf(msg, msgsz, c->fail_err ? c->fail_err : TW_ECONNECT, "%s", c->fail_msg);
    if (c->state == TW_CLIENT_CLOSED)
        return tw_errf(msg, msgsz, TW_ECLOSED, "client is closing");
    return 0;
}

int tw_client_wait_ready(tw_client *c, int timeout_ms, char *msg, size_t msgsz)
{
    if (!c)
        return tw_errf(msg, msgsz, TW_EINVAL, "wait_ready: NULL client");
    deadline d = deadline_in(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    while (c->state != TW_CLIENT_READY && !(rc = failure_locked(c, msg, msgsz))) {
        if (wait_until(c, &d)) {
            rc = tw_errf(msg, msgsz, TW_ETIMEOUT, "not connected to %s after %d ms (state %s%s%s)", c->url,
                         timeout_ms, tw_client_state_name(c->state), c->st.last_error ? ", last error: " : "",
                         c->st.last_error ? c->st.last_error_msg : "");
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int tw_client_wait_ack(tw_client *c, const char *what, int timeout_ms, char *episode_id, size_t idsz,
                       char *msg, size_t msgsz)
{
    int k = what ? tw_client_ctl_of(what) : -1;
    if (!c || k < 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "wait_ack: unknown control kind '%s'", what ? what : "(null)");
    deadline d = deadline_in(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    uint64_t target = c->requested[k];
    while (c->acked[k] < target) {
        if (c->st.server_errors > c->err_at_req[k]) {
            rc = tw_errf(msg, msgsz, c->srv_err, "server answered with an error: %s", c->srv_msg);
            break;
        }
        if ((rc = failure_locked(c, msg, msgsz)))
            break;
        if (wait_until(c, &d)) {
            rc = tw_errf(msg, msgsz, TW_ETIMEOUT, "no ack for %s after %d ms", what, timeout_ms);
            break;
        }
    }
    if (!rc && episode_id && idsz)
        snprintf(episode_id, idsz, "%s", c->st.episode_id);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int tw_client_flush(tw_client *c, int timeout_ms, char *msg, size_t msgsz)
{
    if (!c)
        return tw_errf(msg, msgsz, TW_EINVAL, "flush: NULL client");
    deadline d = deadline_in(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    while ((c->ring.used || c->tx_partial) && !(rc = failure_locked(c, msg, msgsz))) {
        if (wait_until(c, &d)) {
            rc = tw_errf(msg, msgsz, TW_ETIMEOUT, "flush: %zu bytes still buffered after %d ms (state %s)",
                         c->data_bytes, timeout_ms, tw_client_state_name(c->state));
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

tw_client_state tw_client_get_state(tw_client *c)
{
    pthread_mutex_lock(&c->mu);
    tw_client_state st = c->state;
    pthread_mutex_unlock(&c->mu);
    return st;
}

void tw_client_stats_get(tw_client *c, tw_client_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->state = c->state;
    out->queued_bytes = c->data_bytes;
    out->queue_cap = c->o.queue_bytes;
    pthread_mutex_unlock(&c->mu);
}
