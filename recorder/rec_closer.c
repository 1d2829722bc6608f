/* The closer thread: finishes episodes handed over by the writer (tw_episode_close turns
 * the journal into episode.h5 and compresses it), so a long episode ending never stalls
 * the live sessions behind the writer. Failures reach the client like write errors. */
#include <stdio.h>
#include <stdlib.h>

#include "rec_internal.h"

static void *closer_main(void *arg)
{
    struct tw_recorder *r = arg;
    char msg[512];
    pthread_mutex_lock(&r->close_mu);
    for (;;) {
        while (!r->closing && !r->closer_stop)
            pthread_cond_wait(&r->close_cv, &r->close_mu);
        rec_closing *c = r->closing;
        if (!c)
            break; /* stopping and nothing left */
        r->closing = c->next;
        pthread_mutex_unlock(&r->close_mu);
        msg[0] = 0;
        int rc = tw_episode_close(c->w, c->status, c->success, msg, sizeof msg);
        if (rc < 0)
            rec_note_post(r, c->session, c->serial, rc, msg);
        atomic_fetch_sub_explicit(&r->n_closing, 1, memory_order_relaxed);
        free(c);
        pthread_mutex_lock(&r->close_mu);
    }
    pthread_mutex_unlock(&r->close_mu);
    return NULL;
}

int rec_closer_start(struct tw_recorder *r)
{
    pthread_mutex_init(&r->close_mu, NULL);
    pthread_cond_init(&r->close_cv, NULL);
    if (pthread_create(&r->closer, NULL, closer_main, r) != 0)
        return TW_ENOMEM;
    r->closer_started = 1;
    return 0;
}

void rec_closer_submit(struct tw_recorder *r, rec_closing *c)
{
    atomic_fetch_add_explicit(&r->n_closing, 1, memory_order_relaxed);
    pthread_mutex_lock(&r->close_mu);
    rec_closing **pp = &r->closing; /* in order */
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    pthread_cond_signal(&r->close_cv);
    pthread_mutex_unlock(&r->close_mu);
}

void rec_closer_hand(struct tw_recorder *r, tw_episode_writer *w, const char *status, int success,
                     const char *id, uint64_t session, uint64_t serial)
{
    rec_closing *c = calloc(1, sizeof *c);
    if (!c) {
        char m[512];
        if (tw_episode_close(w, status, success, m, sizeof m) < 0)
            rec_note_post(r, session, serial, TW_EIO, m);
        return;
    }
    c->w = w;
    snprintf(c->status, sizeof c->status, "%s", status);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->success = success;
    c->session = session;
    c->serial = serial;
    rec_closer_submit(r, c);
}

void rec_closer_stop(struct tw_recorder *r)
{
    if (!r->closer_started)
        return;
    pthread_mutex_lock(&r->close_mu);
    r->closer_stop = 1;
    pthread_cond_signal(&r->close_cv);
    pthread_mutex_unlock(&r->close_mu);
    pthread_join(r->closer, NULL);
    r->closer_started = 0;
    pthread_mutex_destroy(&r->close_mu);
    pthread_cond_destroy(&r->close_cv);
}
