/* Shared by the sim tests: model loading that fails the test with MuJoCo's message, and rollouts of the
 * rig's physics recorded step by step. */
#ifndef SIM_FIXTURE_H
#define SIM_FIXTURE_H

#include <math.h>

#include "tw_sim.h"

/* cmocka 1.1 has no assert_double_equal */
#define assert_double_equal(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

extern char g_msg[512];

typedef struct {
    int steps;
    tw_sample *clean, *noisy;
    double *act;      /* nu per step: the action in force as streamed (held between decisions) */
    double *state;    /* full qpos+qvel per step before stepping (for exact checks incl. the object) */
    int ngrasp, nrelease;
    double max_obj_z;
} run_t;

tw_robot *load_or_fail(const char *path);
void shared_path(char *buf, size_t n, const char *rel); /* $TW_SHARED/rel, or skip the test */
void run_free(run_t *x);
tw_perturb parse_or_fail(const char *spec);
run_t run_steps(const tw_robot *r, tw_sim *s, double seconds);
run_t run_sim(const tw_robot *r, const char *spec, double seconds, uint64_t seed);

#endif
