/* bridge/core: the one random generator and the one streaming statistic. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tw_core.h"

static void test_splitmix64_matches_the_reference_sequence(void **state)
{
    /* Vigna's splitmix64.c from state 0: the first outputs */
    uint64_t x = 0;
    assert_true(tw_splitmix64(&x) == 0xe220a8397b1dcdafull);
    assert_true(tw_splitmix64(&x) == 0x6e789e6aa1b965f4ull);
    assert_true(x == 2 * 0x9e3779b97f4a7c15ull);
}

static void test_rng_streams_are_reproducible_and_distinct(void **state)
{
    tw_rng a, b, c;
    tw_rng_seed2(&a, 42, 1);
    tw_rng_seed2(&b, 42, 1);
    tw_rng_seed2(&c, 42, 2);
    int same = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t u = tw_rng_u64(&a);
        assert_true(u == tw_rng_u64(&b));
        same += u == tw_rng_u64(&c);
    }
    assert_int_equal(same, 0);
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        double z = tw_rng_normal(&a);
        sum += z;
        sq += z * z;
    }
    assert_true(fabs(sum / 20000) < 0.05 && fabs(sq / 20000 - 1) < 0.05);
}

static void test_welford_and_merge_agree_with_two_pass(void **state)
{
    double x[7] = {1, 4, 4, 9, -2, 3.5, 1e3};
    tw_stat all, a, b;
    assert_int_equal(tw_stat_init(&all, 1), 0);
    assert_int_equal(tw_stat_init(&a, 1), 0);
    assert_int_equal(tw_stat_init(&b, 1), 0);
    double mean = 0, ss = 0;
    for (int i = 0; i < 7; i++) {
        tw_stat_add_f64(&all, &x[i]);
        tw_stat_add_f64(i < 3 ? &a : &b, &x[i]);
        mean += x[i] / 7;
    }
    for (int i = 0; i < 7; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    tw_stat_merge(&a, &b);
    assert_true(fabs(all.mean[0] - mean) < 1e-12 && fabs(a.mean[0] - mean) < 1e-12);
    assert_true(fabs(tw_stat_std(&all, 0) - sqrt(ss / 7)) < 1e-9 && fabs(tw_stat_std(&a, 0) - sqrt(ss / 7)) < 1e-9);
    assert_true(a.min[0] == -2 && a.max[0] == 1e3 && a.count == 7);
    tw_stat_free(&all);
    tw_stat_free(&a);
    tw_stat_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix64_matches_the_reference_sequence),
        cmocka_unit_test(test_rng_streams_are_reproducible_and_distinct),
        cmocka_unit_test(test_welford_and_merge_agree_with_two_pass),
    };
    return cmocka_run_group_tests_name("core_rng_stats", tests, NULL, NULL);
}
