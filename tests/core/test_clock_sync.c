/* bridge/core: the one live clock-offset estimator (client and recorder both use it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tw_core.h"

/* An exchange with the peer's clock `offset` ahead, `out` ns to the peer and `back` ns back. */
static int exchange(tw_clock_sync *s, int64_t t0, int64_t offset, int64_t out, int64_t back)
{
    int64_t t1 = t0 + out + offset, t2 = t1 + 1000, t3 = t0 + out + 1000 + back;
    return tw_clock_sync_add(s, t0, t1, t2, t3, NULL, NULL);
}

static void test_symmetric_exchange_gives_the_offset_exactly(void **state)
{
    tw_clock_sync s = {0};
    int64_t off = 0, rtt = 0;
    assert_int_equal(tw_clock_sync_add(&s, 0, 5000 + 300, 5000 + 400, 700, &off, &rtt), 0);
    assert_int_equal(off, 5000);
    assert_int_equal(rtt, 600);
    assert_int_equal(s.offset_ns, 5000);
}

static void test_least_delayed_exchange_of_the_window_wins(void **state)
{
    tw_clock_sync s = {0};
    assert_int_equal(exchange(&s, 0, 7000, 100, 100), 0);       /* rtt 200: exact */
    assert_int_equal(exchange(&s, 1000000, 7000, 5000, 100), 0); /* queued one way: biased */
    assert_int_equal(s.offset_ns, 7000);
    assert_int_equal(s.rtt_ns, 200);
    for (int i = 0; i < TW_CLOCK_SYNC_WINDOW; i++) /* the good one ages out of the window */
        assert_int_equal(exchange(&s, 2000000 + i * 1000000, 7000, 900, 100), 0);
    assert_int_equal(s.rtt_ns, 1000);
    assert_int_equal(s.offset_ns, 7000 + 400);
    assert_int_equal(s.n, TW_CLOCK_SYNC_WINDOW);
}

static void test_impossible_round_trip_is_refused(void **state)
{
    tw_clock_sync s = {0};
    assert_int_equal(tw_clock_sync_add(&s, 1000, 0, 5000, 1100, NULL, NULL), TW_EINVAL);
    assert_int_equal(s.n, 0);
}

static void on_line(void *user, const tw_progress *p)
{
    char *out = user;
    snprintf(out, 64, "%s %llu/%llu %s", p->stage, (unsigned long long)p->done, (unsigned long long)p->total, p->line);
}

static void test_progress_say_formats_and_tolerates_no_callback(void **state)
{
    char got[64] = "";
    tw_progress_say(on_line, got, "fuse", 2, 5, "wrote %s", "shard-2");
    assert_string_equal(got, "fuse 2/5 wrote shard-2");
    tw_progress_say(NULL, NULL, "fuse", 0, 0, "nobody listens");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symmetric_exchange_gives_the_offset_exactly),
        cmocka_unit_test(test_least_delayed_exchange_of_the_window_wins),
        cmocka_unit_test(test_impossible_round_trip_is_refused),
        cmocka_unit_test(test_progress_say_formats_and_tolerates_no_callback),
    };
    return cmocka_run_group_tests_name("core_clock_sync", tests, NULL, NULL);
}
