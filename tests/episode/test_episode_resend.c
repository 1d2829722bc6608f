/* One meaning for resends (tw_wire.h "sequence numbers", schemas/episode.md "Counters"): a legal stream of frames
 * with resends, duplicates, late samples, time going back, NaN/Inf and a seq of 2^64-1 always
 * gives an episode that passes the integrity check, and the writer's live counters equal the
 * file's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ep_fixture.h"
#include "tw_media.h"
#include "tw_wire.h"

static void test_tracker_classifies_each_case(void **state)
{
    (void)state;
    tw_seqtrack t;
    tw_seq_init(&t);
    assert_int_equal(tw_seq_track(&t, 10), TW_SEQ_NEW);
    assert_int_equal(tw_seq_track(&t, 11), TW_SEQ_NEW);
    assert_int_equal(tw_seq_track(&t, 11), TW_SEQ_DUP);
    assert_int_equal(tw_seq_track(&t, 15), TW_SEQ_NEW); /* 12, 13, 14 missing */
    assert_int_equal(t.c.gaps, 1);
    assert_int_equal(t.c.missing, 3);
    assert_int_equal(tw_seq_track(&t, 13), TW_SEQ_LATE); /* fills a hole */
    assert_int_equal(t.c.missing, 2);
    assert_int_equal(tw_seq_track(&t, 13), TW_SEQ_DUP);
    assert_int_equal(tw_seq_track(&t, 9), TW_SEQ_LATE); /* before the first: no hole to fill */
    assert_int_equal(t.c.missing, 2);
    assert_int_equal(tw_seq_track(&t, UINT64_MAX), TW_SEQ_RESET); /* not 2^64 - 17 missing */
    assert_int_equal(t.c.missing, 2);
    assert_int_equal(tw_seq_track(&t, 0), TW_SEQ_RESET); /* wrapped: a restart */
    assert_int_equal(tw_seq_track(&t, 1), TW_SEQ_NEW);
    assert_int_equal(tw_seq_track(&t, 1 + TW_SEQ_MAX_JUMP), TW_SEQ_NEW); /* the bound itself is a gap */
    assert_int_equal(t.c.missing, 2 + TW_SEQ_MAX_JUMP - 1);
    assert_int_equal(tw_seq_track(&t, 1), TW_SEQ_RESET); /* far behind the window */
    assert_int_equal(t.c.resets, 3);
    assert_int_equal(t.c.duplicates, 2);
    assert_int_equal(t.c.out_of_order, 2);
}

/* Frames of one wrench stream (6 x f32): seq, source time, and a value (NaN allowed). */
typedef struct {
    uint64_t seq;
    int64_t t;
    double v;
} fr;

static void write_frames(const char *dir, const fr *x, size_t n, tw_seq_counts *live)
{
    tw_stream_decl d[EP_NSTREAMS];
    ep_decls(d);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "resend";
    tw_episode_writer *w = NULL;
    char msg[256];
    assert_int_equal(tw_episode_create(dir, &info, &d[EP_WRENCH], 1, &w, msg, sizeof msg), 0);
    for (size_t k = 0; k < n; k++) {
        float pay[6] = {(float)x[k].v, 1, 2, 3, 4, 5};
        tw_frame f = {.stream_id = d[EP_WRENCH].id, .seq = x[k].seq, .t_src_ns = x[k].t, .payload = (uint8_t *)pay,
                      .payload_len = sizeof pay};
        assert_int_equal(tw_episode_append(w, &f, 1000 + (int64_t)k, msg, sizeof msg), 0);
        if (k == n / 2)
            assert_int_equal(tw_episode_flush(w, msg, sizeof msg), 0); /* counters cross a flush */
    }
    assert_int_equal(tw_episode_writer_counts(w, d[EP_WRENCH].id, live), 0);
    assert_int_equal(tw_episode_writer_counts(w, 999, live + 1), TW_EUNKNOWN_STREAM);
    assert_int_equal(tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg), 0);
}

static void check(const char *dir, const tw_seq_counts *live, uint64_t samples)
{
    tw_episode *e = NULL;
    char msg[256];
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), 0);
    tw_episode_stream_stats st;
    assert_int_equal(tw_episode_get_stats(e, 0, &st), 0);
    assert_int_equal(st.samples, samples);
    assert_int_equal(st.gaps, live->gaps);
    assert_int_equal(st.missing, live->missing);
    assert_int_equal(st.duplicates, live->duplicates);
    assert_int_equal(st.out_of_order, live->out_of_order);
    assert_int_equal(st.resets, live->resets);
    assert_int_equal(st.nonmonotonic_t, live->nonmonotonic_t);
    assert_int_equal(st.nonfinite, live->nonfinite);
    size_t nerr = 99;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0);
    tw_episode_close_reader(e);
}

static void test_resends_and_odd_values_pass_inspect(void **state)
{
    (void)state;
    char root[256], dir[300];
    assert_non_null(ep_tmpdir(root, sizeof root));
    snprintf(dir, sizeof dir, "%s/ep", root);
    static const fr x[] = {
        {0, 0, 0}, {1, 10, 0}, {2, 20, 0}, {2, 20, 0},     /* a duplicate */
        {5, 50, 0}, {3, 30, 0}, {4, 40, 0}, {3, 30, 0},    /* gap, two late samples, a resend */
        {6, 45, 0},                                        /* source time below seq 5's */
        {7, 70, NAN}, {8, 80, INFINITY}, {9, 90, 0},       /* non-finite values */
        {UINT64_MAX, 100, 0}, {UINT64_MAX, 100, 0},        /* seq 2^64-1: a reset, then a resend */
        {0, 110, 0}, {1, 120, 0},                          /* wraps: a restart */
    };
    size_t n = sizeof x / sizeof x[0];
    tw_seq_counts live[2];
    write_frames(dir, x, n, live);
    assert_int_equal(live->duplicates, 3);
    assert_int_equal(live->out_of_order, 2);
    assert_int_equal(live->missing, 0);
    assert_int_equal(live->gaps, 1);
    assert_int_equal(live->resets, 2);
    assert_int_equal(live->nonmonotonic_t, 1); /* the late sample: 30 after 50 */
    assert_int_equal(live->nonfinite, 2);
    check(dir, live, n - 3);
    ep_rmtree(root);
}

int main(void)
{
    tw_media_use_for_episodes(); /* the fixture's episodes have cameras: recovery cuts their files */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracker_classifies_each_case),
        cmocka_unit_test(test_resends_and_odd_values_pass_inspect),
    };
    return cmocka_run_group_tests_name("episode_resend", tests, NULL, NULL);
}
