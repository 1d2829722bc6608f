/* The client's outgoing ring: records survive wrap-around byte for byte, contiguous
 * tail space is reported exactly, and a drained ring restarts at offset 0. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tw_client_int.h"

static void test_ring_push_peek_pop_round_trip(void **state)
{
    tw_ring r;
    assert_int_equal(tw_ring_init(&r, 64), 0);
    tw_ring_push(&r, "abcd", 4, "efgh", 4);
    char out[8];
    tw_ring_peek(&r, 0, out, 8);
    assert_memory_equal(out, "abcdefgh", 8);
    tw_ring_pop(&r, 8);
    assert_int_equal(r.used, 0);
    assert_int_equal(r.head, 0);
    tw_ring_free(&r);
}

static void test_ring_wraps_records_intact(void **state)
{
    tw_ring r;
    uint8_t in[40], out[40];
    assert_int_equal(tw_ring_init(&r, 100), 0);
    tw_ring_push(&r, "H", 1, in, sizeof in); /* one record always stays queued */
    int wrapped = 0;
    for (int round = 0; round < 50; round++) { /* head walks around the ring many times */
        for (int i = 0; i < 40; i++)
            in[i] = (uint8_t)(round * 7 + i);
        wrapped |= (r.head + r.used) % r.cap + 41 > r.cap;
        tw_ring_push(&r, "H", 1, in, sizeof in);
        assert_int_equal(r.used, 82);
        tw_ring_peek(&r, 42, out, sizeof out);
        assert_memory_equal(in, out, sizeof in);
        tw_ring_pop(&r, 41);
    }
    assert_true(wrapped);
    tw_ring_free(&r);
}

static void test_ring_tail_is_contiguous_or_null(void **state)
{
    tw_ring r;
    assert_int_equal(tw_ring_init(&r, 100), 0);
    assert_non_null(tw_ring_tail(&r, 100));
    assert_null(tw_ring_tail(&r, 101));
    tw_ring_push(&r, NULL, 0, "0123456789012345678901234567890123456789", 40);
    tw_ring_pop(&r, 30); /* head 30, used 10, tail 40: 60 contiguous at the end */
    assert_non_null(tw_ring_tail(&r, 60));
    assert_null(tw_ring_tail(&r, 61)); /* 90 free in total, but not in one piece */
    uint8_t *p = tw_ring_tail(&r, 60);
    memset(p, 'x', 60);
    tw_ring_commit(&r, 60); /* tail now wraps to 0: 30 contiguous before head */
    assert_non_null(tw_ring_tail(&r, 30));
    assert_null(tw_ring_tail(&r, 31));
    tw_ring_commit(&r, 30);
    assert_null(tw_ring_tail(&r, 1)); /* full */
    tw_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_push_peek_pop_round_trip),
        cmocka_unit_test(test_ring_wraps_records_intact),
        cmocka_unit_test(test_ring_tail_is_contiguous_or_null),
    };
    return cmocka_run_group_tests_name("client_ring", tests, NULL, NULL);
}
