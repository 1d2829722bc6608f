/* fusion/plan: bootstrap intervals (constant data, a clear shift, no shift, over seeds), a result over
 * training seeds in JSON, the task names, and a short
 * closed-loop run with MuJoCo physics: finite outcomes, and the same numbers for the same seed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tw_plan.h"

static void test_ci_constant_is_a_point(void **state)
{
    (void)state;
    double v[20];
    for (int i = 0; i < 20; i++)
        v[i] = 0.25;
    tw_ci c;
    tw_ci_bootstrap(v, 20, 1, &c);
    assert_true(c.mean == 0.25 && c.lo == 0.25 && c.hi == 0.25 && c.n == 20);
    assert_true(tw_ci_significant(&c));
    v[3] = NAN; /* dropped, not propagated */
    tw_ci_bootstrap(v, 20, 1, &c);
    assert_int_equal(c.n, 19);
}

static void test_ci_paired_shift_and_no_shift(void **state)
{
    (void)state;
    double a[30], b[30], c[30];
    for (int i = 0; i < 30; i++) {
        a[i] = sin(i * 1.7);       /* spread much larger than ... */
        b[i] = a[i] - 0.1;         /* ... a shift that pairing reveals exactly */
    }
    for (int i = 0; i < 30; i++)
        c[i] = a[(i * 7) % 30];    /* the same values, other pairing: no shift on average */
    double ab[30], ac[30]; /* a paired comparison is the bootstrap of the per-episode differences */
    for (int i = 0; i < 30; i++) {
        ab[i] = a[i] - b[i];
        ac[i] = a[i] - c[i];
    }
    tw_ci d;
    tw_ci_bootstrap(ab, 30, 2, &d);
    assert_true(fabs(d.mean - 0.1) < 1e-12 && tw_ci_significant(&d) && d.lo > 0);
    tw_ci_bootstrap(ac, 30, 2, &d);
    assert_true(fabs(d.mean) < 1e-12 && d.lo < 0 && d.hi > 0 && !tw_ci_significant(&d));
    tw_ci e;
    tw_ci_bootstrap(ac, 30, 2, &e);
    assert_true(e.lo == d.lo && e.hi == d.hi); /* seeded */
}

/* Training seeds x test episodes: the seeds' spread widens the interval; NaNs are skipped. */
static void test_ci_over_seeds_and_episodes(void **state)
{
    (void)state;
    double v[2 * 5] = {1, 1, 1, 1, 1, 11, 11, 11, 11, NAN}, c[3 * 4];
    tw_ci ci;
    tw_ci_bootstrap_seeds(v, 2, 5, 7, &ci);
    assert_int_equal(ci.n, 9);
    assert_true(fabs(ci.mean - 49.0 / 9) < 1e-12);
    assert_true(ci.lo <= 1 + 1e-12 && ci.hi >= 11 - 1e-12); /* both seeds drawn twice happen: the full range */
    for (int i = 0; i < 12; i++)
        c[i] = 2.5;
    tw_ci_bootstrap_seeds(c, 3, 4, 7, &ci);
    assert_true(ci.mean == 2.5 && ci.lo == 2.5 && ci.hi == 2.5 && ci.n == 12);
}

/* One seed is the plain bootstrap; K runs pool into per_episode means, per_seed and a crossed interval. */
static void test_result_json_over_seeds(void **state)
{
    (void)state;
    double v[6] = {0.1, 0.4, 0.2, 0.9, 0.3, 0.5};
    tw_ci a, b;
    tw_ci_bootstrap(v, 6, 3, &a);
    tw_ci_bootstrap_seeds(v, 1, 6, 3, &b);
    assert_true(a.mean == b.mean && a.lo == b.lo && a.hi == b.hi && a.n == b.n);

    tw_plan_result r[2];
    memset(r, 0, sizeof r);
    for (int k = 0; k < 2; k++) {
        r[k].episodes = 4;
        r[k].plan_s = 0.001 * (k + 1);
        r[k].evals = 100;
        for (int e = 0; e < 4; e++) {
            r[k].success[e] = (uint8_t)(k == 0 || e < 2); /* seed 0: 4/4, seed 1: 2/4 */
            r[k].final_err[e] = 0.01 * (e + 1) + 0.1 * k;
            r[k].track_err[e] = 0.02;
        }
    }
    tw_plan_opts o;
    tw_plan_opts_init(&o);
    o.task = TW_PLAN_REACH;
    json_t *j = tw_plan_result_json(r, 2, &o);
    assert_true(fabs(json_number_value(json_object_get(json_object_get(j, "success_rate"), "mean")) - 0.75) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "success_rate"), "n")), 8);
    assert_int_equal(json_integer_value(json_object_get(j, "seeds")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "evals")), 200);
    assert_true(fabs(json_number_value(json_object_get(j, "plan_ms")) - 1.5) < 1e-9);
    json_t *per = json_object_get(json_object_get(j, "per_episode"), "success");
    assert_true(json_number_value(json_array_get(per, 0)) == 1 && json_number_value(json_array_get(per, 3)) == 0.5);
    json_t *seed1 = json_array_get(json_object_get(j, "per_seed"), 1);
    assert_true(fabs(json_number_value(json_array_get(json_object_get(seed1, "final_error_m"), 0)) - 0.11) < 1e-12);
    json_decref(j);
    j = tw_plan_result_json(r, 1, &o); /* one run: no seeds fields */
    assert_null(json_object_get(j, "per_seed"));
    assert_true(json_number_value(json_object_get(json_object_get(j, "success_rate"), "mean")) == 1);
    json_decref(j);
}

static void test_task_names(void **state)
{
    (void)state;
    tw_plan_task t;
    assert_int_equal(tw_plan_task_parse("touch", &t), 0);
    assert_int_equal(t, TW_PLAN_TOUCH);
    assert_int_equal(tw_plan_task_parse("push", &t), TW_EINVAL);
}

static void run_short(const tw_robot *r, tw_plan_result *res, int jobs)
{
    tw_plan_opts o;
    tw_plan_opts_init(&o);
    o.episodes = 2;
    o.samples = 16;
    o.jobs = jobs;
    o.elites = 4;
    o.iters = 1;
    o.horizon = 2;
    o.segment_s = 0.12;
    o.seed = 3;
    tw_perturb real;
    char msg[256];
    assert_int_equal(tw_perturb_parse("gain=0.8,payload_kg=0.5,latency_ms=10", &real, msg, sizeof msg), 0);
    tw_plan_model *m = NULL;
    assert_int_equal(tw_plan_model_physics(r, NULL, o.dt, &m, msg, sizeof msg), 0);
    assert_int_equal(tw_plan_run(r, &real, m, &o, res, msg, sizeof msg), 0);
    tw_plan_model_free(m);
    o.dt = 0.05; /* a physics model takes any period; a bad option is refused */
    o.knots = 3;
    assert_int_equal(tw_plan_model_physics(r, NULL, o.dt, &m, msg, sizeof msg), 0);
    assert_int_equal(tw_plan_run(r, &real, m, &o, res + 1, msg, sizeof msg), TW_EINVAL);
    tw_plan_model_free(m);
}

static void test_closed_loop_physics_is_deterministic(void **state)
{
    (void)state;
    tw_mj_init();
    tw_robot *r = NULL;
    char msg[256];
    assert_int_equal(tw_robot_load("builtin", &r, msg, sizeof msg), 0);
    tw_plan_result *a = calloc(2, sizeof *a), *b = calloc(2, sizeof *b);
    run_short(r, a, 1);
    run_short(r, b, 3); /* the rows split over three threads: the same numbers */
    assert_int_equal(a->episodes, 2);
    for (int e = 0; e < 2; e++) {
        assert_true(isfinite(a->final_err[e]) && a->final_err[e] >= 0 && isfinite(a->track_err[e]));
        assert_true(a->final_err[e] == b->final_err[e] && a->track_err[e] == b->track_err[e]);
        assert_int_equal(a->success[e], b->success[e]);
    }
    assert_true(a->evals == b->evals && a->evals == 2 * 2 * 3 * 1 * 16 * 2); /* eps x segs x periods x iters x N x H */
    free(a);
    free(b);
    tw_robot_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ci_constant_is_a_point),
        cmocka_unit_test(test_ci_paired_shift_and_no_shift),
        cmocka_unit_test(test_ci_over_seeds_and_episodes),
        cmocka_unit_test(test_result_json_over_seeds),
        cmocka_unit_test(test_task_names),
        cmocka_unit_test(test_closed_loop_physics_is_deterministic),
    };
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
