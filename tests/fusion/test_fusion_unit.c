/* Unit tests of fusion's pure pieces: streaming statistics, episode splits, randomisation spec. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tw_fusion_int.h"

static double rowval(int i, int j) { return sin(0.37 * i + j) * (j + 1) + 1e3 * (j == 2); }

static void test_stats_merge_equals_sequential_for_any_split(void **state)
{
    enum { N = 1000, D = 3 };
    tw_stat all, a, b;
    assert_int_equal(tw_stat_init(&all, D), 0);
    double x[D];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++)
            x[j] = rowval(i, j);
        tw_stat_add_f64(&all, x);
    }
    for (int cut = 0; cut <= N; cut += 137) {
        tw_stat_init(&a, D);
        tw_stat_init(&b, D);
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < D; j++)
                x[j] = rowval(i, j);
            tw_stat_add_f64(i < cut ? &a : &b, x);
        }
        tw_stat_merge(&a, &b);
        assert_int_equal(a.count, N);
        for (int j = 0; j < D; j++) {
            assert_true(fabs(a.mean[j] - all.mean[j]) < 1e-9 * (1 + fabs(all.mean[j])));
            assert_true(fabs(tw_stat_std(&a, j) - tw_stat_std(&all, j)) < 1e-9 * (1 + tw_stat_std(&all, j)));
            assert_true(a.min[j] == all.min[j] && a.max[j] == all.max[j]);
        }
        tw_stat_free(&a);
        tw_stat_free(&b);
    }
    /* two-pass reference */
    double mean = 0, m2 = 0;
    for (int i = 0; i < N; i++)
        mean += rowval(i, 2) / N;
    for (int i = 0; i < N; i++)
        m2 += (rowval(i, 2) - mean) * (rowval(i, 2) - mean);
    assert_true(fabs(all.mean[2] - mean) < 1e-9 * fabs(mean));
    assert_true(fabs(tw_stat_std(&all, 2) - sqrt(m2 / N)) < 1e-9);
    tw_stat_free(&all);
}

static void test_stats_pack_roundtrip_and_empty_merge(void **state)
{
    tw_stat a, b;
    tw_stat_init(&a, 2);
    tw_stat_init(&b, 2);
    double x[2] = {1, -2};
    tw_stat_add_f64(&a, x);
    double buf[9];
    tw_stat_pack(&a, buf);
    tw_stat_merge(&b, &a); /* into empty */
    tw_stat_unpack(&a, buf);
    assert_int_equal(b.count, 1);
    assert_true(b.mean[1] == -2 && a.mean[0] == 1);
    tw_stat_free(&a);
    tw_stat_free(&b);
}

static void test_split_is_disjoint_stable_and_order_free(void **state)
{
    const char *ids[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    const char *rev[10];
    for (int i = 0; i < 10; i++)
        rev[i] = ids[9 - i];
    double frac[3] = {0.8, 0.1, 0.1};
    uint8_t s1[10], s2[10], s3[10];
    tw_split_assign(ids, 10, frac, 42, s1);
    tw_split_assign(rev, 10, frac, 42, s2);
    int cnt[3] = {0, 0, 0};
    for (int i = 0; i < 10; i++) {
        cnt[s1[i]]++;
        assert_int_equal(s1[i], s2[9 - i]); /* argument order does not matter */
    }
    assert_int_equal(cnt[0], 8);
    assert_int_equal(cnt[1], 1);
    assert_int_equal(cnt[2], 1);
    int differs = 0;
    for (uint64_t seed = 1; seed < 20 && !differs; seed++) {
        tw_split_assign(ids, 10, frac, seed, s3);
        differs = memcmp(s1, s3, 10) != 0;
    }
    assert_true(differs); /* the seed matters */
}

static void test_split_small_sets_keep_train_and_test(void **state)
{
    const char *ids[3] = {"x", "y", "z"};
    double frac[3] = {0.8, 0.1, 0.1};
    uint8_t s[3];
    tw_split_assign(ids, 3, frac, 1, s);
    int cnt[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        cnt[s[i]]++;
    assert_int_equal(cnt[0], 1);
    assert_int_equal(cnt[1], 1);
    assert_int_equal(cnt[2], 1);
}

static void test_randomize_rejects_unknown_and_bad(void **state)
{
    tw_rand_spec sp;
    char msg[512];
    assert_int_equal(tw_rand_spec_parse("{\"dampnig\": [0.5, 2]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_non_null(strstr(msg, "dampnig"));
    assert_int_equal(tw_rand_spec_parse("{\"damping\": [2, 0.5]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"payload_kg\": [-1, 1]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"gain\": {\"dist\":\"cauchy\"}}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"drift_ppm\": [0, 1]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("[1,2]", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"damping\": [0.5,", &sp, msg, sizeof msg), TW_EJSON);
}

static void test_randomize_draws_in_range_deterministic_key_order_free(void **state)
{
    tw_rand_spec a, b;
    char msg[512];
    assert_int_equal(tw_rand_spec_parse("{\"damping\": [0.5, 2], \"payload_kg\": {\"dist\":\"loguniform\","
                                        "\"low\":0.01,\"high\":1}, \"noise\": {\"dist\":\"normal\",\"mean\":1,"
                                        "\"std\":0.5,\"low\":0.5,\"high\":1.5}}", &a, msg, sizeof msg), 0);
    assert_int_equal(tw_rand_spec_parse("{\"noise\": {\"dist\":\"normal\",\"mean\":1,\"std\":0.5,\"low\":0.5,"
                                        "\"high\":1.5}, \"payload_kg\": {\"dist\":\"loguniform\",\"low\":0.01,"
                                        "\"high\":1}, \"damping\": [0.5, 2]}", &b, msg, sizeof msg), 0);
    double lo = 9, hi = -9;
    for (uint64_t i = 0; i < 500; i++) {
        tw_perturb p, q;
        tw_rand_draw(&a, 7, i, &p);
        tw_rand_draw(&b, 7, i, &q);
        assert_memory_equal(&p, &q, sizeof p);
        assert_true(p.damping >= 0.5 && p.damping <= 2);
        assert_true(p.payload_kg >= 0.01 && p.payload_kg <= 1);
        assert_true(p.noise >= 0.5 && p.noise <= 1.5);
        assert_true(p.friction == 1 && p.gain == 1);
        lo = fmin(lo, p.damping);
        hi = fmax(hi, p.damping);
    }
    assert_true(lo < 0.6 && hi > 1.9); /* actually spreads over the range */
    tw_perturb p1, p2;
    tw_rand_draw(&a, 7, 3, &p1);
    tw_rand_draw(&a, 8, 3, &p2);
    assert_true(p1.damping != p2.damping);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_merge_equals_sequential_for_any_split),
        cmocka_unit_test(test_stats_pack_roundtrip_and_empty_merge),
        cmocka_unit_test(test_split_is_disjoint_stable_and_order_free),
        cmocka_unit_test(test_split_small_sets_keep_train_and_test),
        cmocka_unit_test(test_randomize_rejects_unknown_and_bad),
        cmocka_unit_test(test_randomize_draws_in_range_deterministic_key_order_free),
    };
    return cmocka_run_group_tests_name("fusion_unit", tests, NULL, NULL);
}
