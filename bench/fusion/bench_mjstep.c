/* Bare MuJoCo baseline for the simgen benchmark: the same model simgen runs (loaded by replay's
 * tw_robot_load, so the wrist F/T sensors are there too) and a plain mj_step loop, in one of two modes:
 *   at rest:      home pose, ctrl held, mj_step STEPS times (a resting arm: the solver's easiest case);
 *   same actions: EPISODE_STEPS given: the scripted operator's controls of episodes 0, 1, ... (nominal
 *                 model, no noise, computed beforehand and not timed) are replayed with d->ctrl = u; mj_step,
 *                 the arm going home at each episode start, as simgen's rollouts do: the same physics work.
 * Prints steps/s (wall clock), then steps per CPU-second of the loop.
 * Usage: bench_mjstep MODEL.xml|builtin STEPS [EPISODE_STEPS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_sim.h"

/* The operator's ctrl vector at every step of episodes 0.. (nominal model, seed 1), n steps in all. */
static double *operator_controls(const tw_robot *r, long n, long ep_steps, char *msg, size_t msgsz)
{
    int nu = r->m->nu;
    double *u = malloc(sizeof(double) * (size_t)n * (size_t)nu);
    tw_perturb p;
    tw_perturb_none(&p);
    tw_sim_opts o;
    tw_sim_opts_init(&o);
    o.seed = 1;
    tw_sim *s = NULL;
    if (!u || tw_sim_new(r, &p, &o, &s, msg, msgsz)) {
        free(u);
        return NULL;
    }
    tw_sample c, z;
    double a[TW_ROBOT_MAX_ACT];
    int na;
    tw_op_event ev;
    for (long k = 0; k < n; k++) {
        if (k % ep_steps == 0)
            tw_sim_reset(s, (uint64_t)(k / ep_steps));
        if (tw_sim_step(s, &c, &z, &na, a, &ev, msg, msgsz)) {
            free(u);
            u = NULL;
            break;
        }
        memcpy(u + (size_t)k * (size_t)nu, tw_sim_data(s)->ctrl, sizeof(double) * (size_t)nu);
    }
    tw_sim_free(s);
    return u;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + 1e-9 * (double)(b->tv_nsec - a->tv_nsec);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: bench_mjstep MODEL.xml|builtin STEPS [EPISODE_STEPS]\n");
        return 2;
    }
    tw_mj_init();
    char msg[1024];
    tw_robot *r = NULL;
    if (tw_robot_load(argv[1], &r, msg, sizeof msg)) {
        fprintf(stderr, "bench_mjstep: %s\n", msg);
        return 1;
    }
    long n = atol(argv[2]), ep = argc == 4 ? atol(argv[3]) : 0;
    double *u = ep > 0 ? operator_controls(r, n, ep, msg, sizeof msg) : NULL;
    mjData *d = tw_mj_make_data(r->m, msg, sizeof msg);
    if (!d || (ep > 0 && !u)) {
        fprintf(stderr, "bench_mjstep: %s\n", msg);
        return 1;
    }
    tw_robot_home(r, d);
    int nu = r->m->nu;
    struct timespec a, b, ca, cb;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (u) {
            if (i % ep == 0)
                tw_robot_home(r, d);
            memcpy(d->ctrl, u + (size_t)i * (size_t)nu, sizeof(double) * (size_t)nu);
        }
        mj_step(r->m, d);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
    double s = secs(&a, &b), c = secs(&ca, &cb);
    printf("%.0f %.0f\n", (double)n / s, c > 0 ? (double)n / c : 0.0);
    free(u);
    mj_deleteData(d);
    tw_robot_close(r);
    return 0;
}
