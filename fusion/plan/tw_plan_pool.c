/* A fixed set of worker threads for the physics rollouts. A plan makes a dozen model calls of a few
 * milliseconds each; creating threads per call cost a third of the gain, so the workers persist and
 * wait on a generation counter. */
#include <pthread.h>
#include <stdlib.h>

#include "tw_plan_int.h"

typedef struct {
    tw_plan_pool *p;
    int slot;
} worker_slot;

struct tw_plan_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t th[TW_PLAN_MAX_JOBS];
    worker_slot slots[TW_PLAN_MAX_JOBS];
    int nth;              /* workers started: slots 1..nth */
    unsigned long gen;    /* bumped per run */
    int n, pending, stop; /* this run's slots; workers not yet finished; shutting down */
    void (*fn)(void *, int);
    void *ctx;
};

static void *worker(void *arg)
{
    worker_slot *w = arg;
    tw_plan_pool *p = w->p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        if (w->slot >= p->n)
            continue;
        pthread_mutex_unlock(&p->mu);
        p->fn(p->ctx, w->slot);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int tw_plan_pool_open(int n, tw_plan_pool **out)
{
    *out = NULL;
    tw_plan_pool *p = calloc(1, sizeof *p);
    if (!p)
        return TW_ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int t = 1; t < n && t < TW_PLAN_MAX_JOBS; t++) {
        p->slots[t] = (worker_slot){p, t};
        if (pthread_create(&p->th[t], NULL, worker, &p->slots[t]))
            break; /* fewer threads: tw_plan_pool_size says how many */
        p->nth = t;
    }
    *out = p;
    return 0;
}

int tw_plan_pool_size(const tw_plan_pool *p) { return p ? p->nth + 1 : 1; }

void tw_plan_pool_run(tw_plan_pool *p, void (*fn)(void *, int), void *ctx, int n)
{
    if (!p || n <= 1 || p->nth == 0) {
        for (int s = 0; s < n; s++)
            fn(ctx, s);
        return;
    }
    if (n > p->nth + 1)
        n = p->nth + 1;
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->pending = n - 1;
    p->gen++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void tw_plan_pool_close(tw_plan_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t <= p->nth; t++)
        pthread_join(p->th[t], NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
