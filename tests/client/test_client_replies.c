/* The client never trusts the server: valid replies of every kind are taken, and
 * thousands of mutated ones (flipped, truncated, spliced, with huge numbers) are counted
 * as bad replies and reported, never crash (this suite also runs under ASan/UBSan). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_client_int.h"

static const char *const seeds[] = {
    "{\"type\":\"welcome\",\"protocol\":\"teleworld.v1\",\"session_id\":\"s1\",\"max_binary\":16777216,"
    "\"max_text\":262144,\"status_interval_ms\":1000}",
    "{\"type\":\"ack\",\"what\":\"episode_start\",\"episode_id\":\"ep-1\"}",
    "{\"type\":\"status\",\"episode_id\":\"e1\",\"queue_bytes\":10,\"queue_cap_bytes\":100,\"write_lag_ms\":1.5,"
    "\"clock_offset_ns\":-5,\"streams\":[{\"id\":1,\"received\":5,\"written\":4,\"dropped\":1,\"gaps\":0,"
    "\"bytes\":840}]}",
    "{\"type\":\"error\",\"code\":\"STATE\",\"message\":\"no episode is open\",\"fatal\":false}",
    "{\"type\":\"ping\",\"id\":7,\"t0_ns\":1700000000000000000}",
    "{\"type\":\"pong\",\"id\":1,\"t0_ns\":5,\"t1_ns\":6,\"t2_ns\":7}",
};
enum { NSEEDS = sizeof seeds / sizeof seeds[0] };

typedef struct {
    tw_client *c;
    int errors;
} fixture;

static void on_error(void *user, int err, const char *message, int fatal)
{
    fixture *f = user;
    f->errors++;
    assert_true(err < 0);
    assert_non_null(message);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tw_client_opts o;
    tw_client_opts_init(&o);
    o.url = "ws://127.0.0.1:1/"; /* nobody listens: the socket never opens */
    o.max_retries = -1;
    o.backoff_min_ms = o.backoff_max_ms = 60000;
    o.ping_interval_ms = 0;
    o.on_error = on_error;
    o.user = f;
    if (!f || tw_client_open(&o, &f->c, NULL, 0))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tw_client_close(f->c);
    free(f);
    return 0;
}

static uint64_t bad_replies(tw_client *c)
{
    tw_client_stats st;
    tw_client_stats_get(c, &st);
    return st.bad_replies;
}

static void test_replies_valid_ones_are_taken(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < NSEEDS; i++)
        tw_client_io_text(f->c, seeds[i], strlen(seeds[i]));
    tw_client_stats st;
    tw_client_stats_get(f->c, &st);
    assert_int_equal(st.bad_replies, 0);
    assert_int_equal(st.server_errors, 1);
    assert_true(st.have_status);
    assert_int_equal(st.last_status.u.status.streams[0].received, 5);
    assert_string_equal(st.episode_id, "ep-1");
    assert_int_equal(st.last_error == TW_ESTATE || st.last_error == TW_ECONNECT, 1);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* One random edit of buf (len in/out, capacity cap). */
static void mutate(char *buf, size_t *len, size_t cap, uint64_t *s)
{
    size_t n = *len, at = n ? rng(s) % n : 0;
    switch (rng(s) % 6) {
    case 0: if (n) buf[at] = (char)rng(s); break;                       /* any byte, incl. NUL, 0xff */
    case 1: *len = at; break;                                            /* truncate */
    case 2: if (n < cap) { memmove(buf + at + 1, buf + at, n - at); buf[at] = "{}[]\",:\\0-"[rng(s) % 10]; ++*len; } break;
    case 3: if (n) { memmove(buf + at, buf + at + 1, n - at - 1); --*len; } break; /* delete */
    case 4: { const char *big = "99999999999999999999999"; size_t b = strlen(big);    /* huge number */
              if (n + b <= cap) { memmove(buf + at + b, buf + at, n - at); memcpy(buf + at, big, b); *len += b; } break; }
    default: if (n && n * 2 <= cap) { memcpy(buf + n, buf, n); *len = 2 * n; } break; /* splice a copy */
    }
}

static void test_replies_mutated_ones_never_crash(void **state)
{
    fixture *f = *state;
    char buf[4096];
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int fed = 0;
    for (int i = 0; i < NSEEDS; i++) {
        for (int k = 0; k < 1500; k++) {
            size_t len = strlen(seeds[i]);
            memcpy(buf, seeds[i], len);
            int edits = 1 + (int)(rng(&s) % 4);
            for (int e = 0; e < edits; e++)
                mutate(buf, &len, sizeof buf, &s);
            uint64_t before = bad_replies(f->c);
            tw_client_io_text(f->c, buf, len); /* must not crash, leak or read out of bounds */
            fed++;
            assert_true(bad_replies(f->c) - before <= 1);
        }
    }
    assert_true(bad_replies(f->c) > (uint64_t)fed / 2); /* most mutants are malformed */
    assert_int_equal(tw_client_get_state(f->c) != TW_CLIENT_CLOSED, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_valid_ones_are_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_mutated_ones_never_crash, setup, teardown),
    };
    lws_set_log_level(LLL_ERR, NULL);
    return cmocka_run_group_tests_name("client_replies", tests, NULL, NULL);
}
