/* The sim tests' shared fixture (sim_fixture.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim_fixture.h"

char g_msg[512];

tw_robot *load_or_fail(const char *path)
{
    tw_robot *r = NULL;
    int rc = tw_robot_load(path, &r, g_msg, sizeof g_msg);
    if (rc)
        fail_msg("load %s: %s", path ? path : "builtin", g_msg);
    return r;
}

void shared_path(char *buf, size_t n, const char *rel)
{
    const char *s = getenv("TW_SHARED");
    snprintf(buf, n, "%s/models/%s", s ? s : "../shared", rel);
}


void run_free(run_t *x)
{
    free(x->clean);
    free(x->noisy);
    free(x->act);
    free(x->state);
}

tw_perturb parse_or_fail(const char *spec)
{
    tw_perturb p;
    tw_perturb_none(&p);
    if (tw_perturb_parse(spec, &p, g_msg, sizeof g_msg))
        fail_msg("perturbation %s: %s", spec, g_msg);
    return p;
}

/* Rolls s (already reset for its episode) forward for `seconds` and records everything it streams. */
run_t run_steps(const tw_robot *r, tw_sim *s, double seconds)
{
    run_t x = {0};
    const mjModel *m = r->m;
    x.steps = (int)lround(seconds / tw_sim_timestep(s));
    x.clean = calloc((size_t)x.steps, sizeof *x.clean);
    x.noisy = calloc((size_t)x.steps, sizeof *x.noisy);
    x.act = calloc((size_t)x.steps * (size_t)m->nu, sizeof(double));
    x.state = calloc((size_t)x.steps * (size_t)(m->nq + m->nv), sizeof(double));
    x.max_obj_z = -1e9;
    double act[TW_ROBOT_MAX_ACT] = {0};
    for (int k = 0; k < x.steps; k++) {
        const mjData *d = tw_sim_data(s);
        mju_copy(x.state + (size_t)k * (size_t)(m->nq + m->nv), d->qpos, m->nq);
        mju_copy(x.state + (size_t)k * (size_t)(m->nq + m->nv) + m->nq, d->qvel, m->nv);
        int na;
        tw_op_event ev;
        int rc = tw_sim_step(s, &x.clean[k], &x.noisy[k], &na, act, &ev, g_msg, sizeof g_msg);
        if (rc)
            fail_msg("step %d: %s", k, g_msg);
        mju_copy(x.act + (size_t)k * (size_t)m->nu, act, m->nu);
        x.ngrasp += ev == TW_OP_EV_GRASP;
        x.nrelease += ev == TW_OP_EV_RELEASE;
        if (r->object_body >= 0 && d->qpos[r->object_qadr + 2] > x.max_obj_z)
            x.max_obj_z = d->qpos[r->object_qadr + 2];
    }
    return x;
}

run_t run_sim(const tw_robot *r, const char *spec, double seconds, uint64_t seed)
{
    tw_perturb p = parse_or_fail(spec);
    tw_sim_opts o;
    tw_sim_opts_init(&o);
    o.seed = seed;
    tw_sim *s;
    assert_int_equal(tw_sim_new(r, &p, &o, &s, g_msg, sizeof g_msg), 0);
    run_t x = run_steps(r, s, seconds);
    tw_sim_free(s);
    return x;
}
