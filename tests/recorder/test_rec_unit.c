/* Unit tests of the recorder's pure parts: the bounded queue, the token helpers, the status text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rec_internal.h"

static rec_hdr *push(rec_queue *q, size_t len, int control, uint8_t fill)
{
    rec_hdr *h = rec_queue_reserve(q, len, control);
    if (!h)
        return NULL;
    h->type = REC_DATA;
    memset(h + 1, fill, len);
    rec_queue_commit(q);
    return h;
}

static void test_queue_caps_data_and_keeps_control_reserve(void **state)
{
    rec_queue q;
    assert_int_equal(rec_queue_init(&q, 1 << 16), 0);
    int n = 0;
    while (push(&q, 1000, 0, 1))
        n++;
    assert_true(n > 50 && n <= 65); /* 64 KiB of data, headers included */
    assert_true(rec_queue_used(&q) <= q.data_cap);
    /* data is full, but control records still fit in the reserve */
    assert_non_null(push(&q, 100, 1, 2));
    assert_true(q.want_drain);
    rec_queue_destroy(&q);
}

static void test_queue_fifo_across_wrap(void **state)
{
    rec_queue q;
    assert_int_equal(rec_queue_init(&q, 1 << 16), 0);
    uint8_t next_in = 0, next_out = 0;
    for (int round = 0; round < 2000; round++) {
        size_t len = 100 + (size_t)(round * 37) % 3000;
        while (push(&q, len, 0, next_in))
            next_in++;
        /* drain a few, checking order and contents survive the wrap */
        for (int k = 0; k < 3; k++) {
            rec_hdr *h = rec_queue_peek(&q, 0);
            assert_non_null(h);
            const uint8_t *p = (const uint8_t *)(h + 1);
            assert_int_equal(p[0], next_out);
            assert_int_equal(p[h->len - 1], next_out);
            next_out++;
            rec_queue_release(&q, h);
        }
    }
    while (rec_queue_used(&q)) {
        rec_hdr *h = rec_queue_peek(&q, 0);
        assert_non_null(h);
        assert_int_equal(((const uint8_t *)(h + 1))[0], next_out++);
        rec_queue_release(&q, h);
    }
    assert_int_equal(next_in, next_out);
    rec_queue_destroy(&q);
}

static void test_queue_release_wakes_producer_at_half(void **state)
{
    rec_queue q;
    assert_int_equal(rec_queue_init(&q, 1 << 16), 0);
    while (push(&q, 4000, 0, 0)) {
    }
    int woke = 0;
    while (rec_queue_used(&q) && !woke) {
        rec_hdr *h = rec_queue_peek(&q, 0);
        woke = rec_queue_release(&q, h);
    }
    assert_true(woke);
    assert_true(rec_queue_used(&q) <= q.data_cap / 2);
    rec_queue_destroy(&q);
}

static void test_token_compare(void **state)
{
    assert_true(rec_token_equal("abcdefgh", "abcdefgh"));
    assert_false(rec_token_equal("abcdefgx", "abcdefgh"));
    assert_false(rec_token_equal("abcdefg", "abcdefgh"));
    assert_false(rec_token_equal("abcdefghi", "abcdefgh"));
    assert_false(rec_token_equal("", "abcdefgh"));
    assert_false(rec_token_equal("", ""));
}

static void test_token_file_created_private_and_reloaded(void **state)
{
    char dir[] = "/tmp/tw-rectok-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char tok[128], tok2[128], msg[256], path[256];
    int created = 0;
    assert_int_equal(tw_recorder_token_ensure(dir, tok, sizeof tok, &created, msg, sizeof msg), 0);
    assert_true(created);
    assert_int_equal(strlen(tok), 64);
    snprintf(path, sizeof path, "%s/.token", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(tw_recorder_token_ensure(dir, tok2, sizeof tok2, &created, msg, sizeof msg), 0);
    assert_false(created);
    assert_string_equal(tok, tok2);
    FILE *f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    assert_int_equal(tw_recorder_token_load(path, tok, sizeof tok, msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, "shorter"));
    unlink(path);
    rmdir(dir);
    assert_int_equal(tw_recorder_token_load(path, tok, sizeof tok, msg, sizeof msg), TW_EIO);
}

static void test_open_refuses_bad_options(void **state)
{
    tw_recorder_opts o;
    tw_recorder_opts_init(&o);
    tw_recorder *r = NULL;
    char msg[256];
    assert_int_equal(tw_recorder_open(&o, &r, msg, sizeof msg), TW_EINVAL); /* no out_dir/token */
    o.out_dir = "/tmp";
    o.token = "0123456789";
    o.cert = "/nonexistent.pem";
    assert_int_equal(tw_recorder_open(&o, &r, msg, sizeof msg), TW_EINVAL); /* cert without key */
    assert_null(r);
    tw_recorder_close(NULL);
}

/* One session that said hello, with streams named names[] at rates hz[]. */
static void fake_session(rec_session *s, const char *rig, const char **names, const double *hz, uint32_t n)
{
    memset(s, 0, sizeof *s);
    snprintf(s->rig, sizeof s->rig, "%s", rig);
    s->hello_done = 1;
    assert_int_equal(tw_stream_table_new(&s->table), 0);
    for (uint32_t k = 0; k < n; k++) {
        tw_stream_decl d = {.id = (uint16_t)(k + 1), .kind = TW_KIND_JOINT_STATE, .dtype = TW_DTYPE_FLOAT64,
                            .ndim = 2, .shape = {3, 7}, .rate_hz = hz[k]};
        snprintf(d.name, sizeof d.name, "%s", names[k]);
        char msg[256];
        int rc = tw_stream_table_add(s->table, &d, msg, sizeof msg);
        if (rc)
            fail_msg("%s", msg);
        s->ids[k] = d.id;
        s->st[k].rate_hz = hz[k];
    }
    s->nstreams = n;
}

/* The status line used to show the first session's streams only: a second rig's streams were invisible. */
static void test_status_rates_name_every_session(void **state)
{
    const char *na[] = {"arm_a", "cam_a"}, *nb[] = {"arm_b"};
    const double ha[] = {500, 30}, hb[] = {1000};
    rec_session a, b;
    fake_session(&a, "left", na, ha, 2);
    fake_session(&b, "right", nb, hb, 1);
    char buf[512];
    rec_status_rates_text(&a, buf, sizeof buf); /* one rig: plain per-stream rates */
    assert_string_equal(buf, " | arm_a 500/s | cam_a 30/s");
    a.next = &b;
    rec_status_rates_text(&a, buf, sizeof buf);
    assert_string_equal(buf, " | left: arm_a 500/s, cam_a 30/s | right: arm_b 1000/s");
    assert_int_equal(rec_status_rates_text(&a, buf, 12), 11); /* truncated, terminated */
    assert_int_equal(strlen(buf), 11);
    tw_stream_table_free(a.table);
    tw_stream_table_free(b.table);
}

/* write_lag_ms used to be the lag a record had when the writer picked it up: a writer stuck on that record
 * (a slow disk) kept reporting the same small number. It is now the age of that record when asked. */
static void test_write_lag_grows_while_the_writer_is_stuck(void **state)
{
    struct tw_recorder *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(rec_queue_init(&r->q, 1 << 16), 0);
    assert_true(rec_write_lag_ms(r) == 0.0); /* empty queue */
    rec_hdr *h = push(&r->q, 16, 0, 1);
    assert_non_null(h);
    h->t_ns = rec_now_ns() - 50 * 1000000LL; /* received 50 ms ago, picked up by the writer, not released */
    assert_true(rec_write_lag_ms(r) == 0.0); /* nothing picked up yet */
    r->write_head_t_ns = h->t_ns;
    double a = rec_write_lag_ms(r);
    assert_true(a >= 50.0);
    usleep(20000);
    assert_true(rec_write_lag_ms(r) >= a + 15.0);
    rec_queue_destroy(&r->q);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_caps_data_and_keeps_control_reserve),
        cmocka_unit_test(test_queue_fifo_across_wrap),
        cmocka_unit_test(test_queue_release_wakes_producer_at_half),
        cmocka_unit_test(test_token_compare),
        cmocka_unit_test(test_token_file_created_private_and_reloaded),
        cmocka_unit_test(test_open_refuses_bad_options),
        cmocka_unit_test(test_status_rates_name_every_session),
        cmocka_unit_test(test_write_lag_grows_while_the_writer_is_stuck),
    };
    return cmocka_run_group_tests_name("recorder unit", tests, NULL, NULL);
}
