/* Bare MuJoCo baseline for the simgen benchmark: the same model simgen runs (loaded by replay's
 * tw_robot_load, so the wrist F/T sensors are there too), home pose, ctrl held, mj_step N times.
 * Prints steps/s (wall clock), then steps per CPU-second of the loop. Usage: bench_mjstep MODEL.xml|builtin STEPS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_physics.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_mjstep MODEL.xml|builtin STEPS\n");
        return 2;
    }
    tw_mj_init();
    char msg[1024];
    tw_robot *r = NULL;
    if (tw_robot_load(strcmp(argv[1], "builtin") ? argv[1] : NULL, &r, msg, sizeof msg)) {
        fprintf(stderr, "bench_mjstep: %s\n", msg);
        return 1;
    }
    mjData *d = tw_mj_make_data(r->m, msg, sizeof msg);
    if (!d) {
        fprintf(stderr, "bench_mjstep: %s\n", msg);
        return 1;
    }
    tw_robot_home(r, d);
    long n = atol(argv[2]);
    struct timespec a, b, ca, cb;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        mj_step(r->m, d);
    clock_gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
    double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    double c = (double)(cb.tv_sec - ca.tv_sec) + 1e-9 * (double)(cb.tv_nsec - ca.tv_nsec);
    printf("%.0f %.0f\n", (double)n / s, c > 0 ? (double)n / c : 0.0);
    mj_deleteData(d);
    tw_robot_close(r);
    return 0;
}
