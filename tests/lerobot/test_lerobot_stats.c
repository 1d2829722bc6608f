/* LeRobot's statistics (cli/convert/tw_convert_stats.c) against values LeRobot 0.4.4 itself wrote for the same
 * data (meta/stats.json and the episodes' stats/ columns of a dataset made with LeRobotDataset.create), and
 * LeRobot's path templates (lr_format). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tw_convert_episodes.h"
#include "tw_convert_lerobot.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* frame_index 0..14 of a 15-frame episode: LeRobot wrote min 0, max 14, mean 7, std 4.320493798938574,
 * q01 -1e-10, q10 1.0009999999143, q50 7.00140000000002, q90 12.999000000085701, q99 13.999580000099995. */
static void test_episode_quantiles(void **state)
{
    (void)state;
    double x[15];
    for (int i = 0; i < 15; i++)
        x[i] = i;
    cv_stats s;
    assert_int_equal(cv_stats_compute(&s, x, 15, 1), 0);
    assert_int_equal(s.count, 15);
    NEAR(s.min[0], 0), NEAR(s.max[0], 14), NEAR(s.mean[0], 7), NEAR(s.std[0], 4.320493798938574);
    NEAR(s.q[0][0], -1e-10), NEAR(s.q[1][0], 1.0009999999143), NEAR(s.q[2][0], 7.00140000000002);
    NEAR(s.q[3][0], 12.999000000085701), NEAR(s.q[4][0], 13.999580000099995);
    cv_stats_free(&s);
}

/* A constant column (episode_index 0): LeRobot wrote q01 4e-16 ... q99 3.96e-14 (the histogram spans 2e-10). */
static void test_constant(void **state)
{
    (void)state;
    double x[15] = {0};
    cv_stats s;
    assert_int_equal(cv_stats_compute(&s, x, 15, 1), 0);
    NEAR(s.std[0], 0);
    assert_true(fabs(s.q[0][0] - 3.9999999999994176e-16) < 1e-18);
    assert_true(fabs(s.q[4][0] - 3.9599999999994235e-14) < 1e-18);
    cv_stats_free(&s);
}

/* One row: _compute_basic_stats (quantiles are the mean). Two episodes: aggregate_feature_stats. */
static void test_single_and_aggregate(void **state)
{
    (void)state;
    double one[2] = {3, -1}, a[4] = {0, 10, 2, 20}, b[6] = {4, 0, 6, 0, 8, 0};
    cv_stats p[2], agg, s1;
    assert_int_equal(cv_stats_compute(&s1, one, 1, 2), 0);
    NEAR(s1.q[2][0], 3), NEAR(s1.q[0][1], -1), NEAR(s1.std[0], 0);
    cv_stats_compute(&p[0], a, 2, 2), cv_stats_compute(&p[1], b, 3, 2);
    assert_int_equal(cv_stats_aggregate(&agg, p, 2), 0);
    assert_int_equal(agg.count, 5);
    NEAR(agg.mean[0], 4), NEAR(agg.min[0], 0), NEAR(agg.max[0], 8), NEAR(agg.mean[1], 6);
    NEAR(agg.std[0], sqrt(8.0)); /* values 0 2 4 6 8: population variance 8 */
    NEAR(agg.q[2][0], (2 * p[0].q[2][0] + 3 * p[1].q[2][0]) / 5);
    cv_stats_free(&s1), cv_stats_free(&p[0]), cv_stats_free(&p[1]), cv_stats_free(&agg);
}

static void test_paths(void **state)
{
    (void)state;
    char out[256];
    const char *n[] = {"chunk_index", "file_index", "episode_chunk", "episode_index", "video_key"};
    const char *v[] = {"1", "12", "0", "7", "observation.images.top"};
    lr_format("data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet", out, sizeof out, n, v, 5);
    assert_string_equal(out, "data/chunk-001/file-012.parquet");
    lr_format("videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4", out, sizeof out, n, v, 5);
    assert_string_equal(out, "videos/chunk-000/observation.images.top/episode_000007.mp4");
    assert_true(lr_is_bookkeeping("task_index") && !lr_is_bookkeeping("action"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_episode_quantiles), cmocka_unit_test(test_constant),
                                       cmocka_unit_test(test_single_and_aggregate), cmocka_unit_test(test_paths)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
