/* A deterministic fuzz of the recorder's session layer (suite unit, so it also runs under
 * ASan/UBSan): tens of thousands of valid, mutated, truncated, fragmented and random
 * messages go through rec_session_rx exactly as lws would deliver them, with no socket.
 * The test drains the queue itself, checks that every queued data record holds only
 * well-formed frames, and that every frame a session counted as received is either
 * queued for writing, dropped, or was sent outside an episode - nothing is lost silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rec_internal.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

typedef struct {
    struct tw_recorder r;
    uint64_t frames_queued, frames_accounted, records, episodes_closed, dropped, held;
} world;

/* Plays the writer: checks and frees every record. */
static void drain(world *w)
{
    rec_hdr *h;
    while ((h = rec_queue_peek(&w->r.q, 0))) {
        w->records++;
        if (h->type == REC_DATA) {
            tw_frame_iter it;
            tw_frame f;
            char msg[256];
            int rc;
            tw_frame_iter_init(&it, h + 1, h->len);
            while ((rc = tw_frame_next(&it, h->ep->s->table, &f, msg, sizeof msg)) == 1)
                w->frames_queued++;
            assert_int_equal(rc, 0); /* only valid messages reach the queue */
        } else if (h->type == REC_CLOSE) {
            rec_episode *ep = h->ep;
            rec_session_unref(ep->s);
            free(ep->metadata);
            free(ep);
            w->episodes_closed++;
        }
        rec_queue_release(&w->r.q, h);
    }
}

static const char *hello =
    "{\"type\":\"hello\",\"client\":\"fuzz\",\"version\":\"1\",\"rig\":\"r\",\"streams\":["
    "{\"id\":1,\"name\":\"arm\",\"kind\":\"joint_state\",\"dtype\":\"float64\",\"shape\":[3,7],\"rate_hz\":1000},"
    "{\"id\":2,\"name\":\"ev\",\"kind\":\"event\",\"dtype\":\"bytes\",\"rate_hz\":10}]}";

static const char *controls[] = {
    "{\"type\":\"episode_start\",\"task\":\"t\",\"operator\":\"o\",\"robot\":\"r\"}",
    "{\"type\":\"episode_stop\",\"success\":true}",
    "{\"type\":\"episode_abort\",\"reason\":\"x\"}",
    "{\"type\":\"annotate\",\"t_src_ns\":5,\"label\":\"grasp\",\"data\":{\"a\":1}}",
    "{\"type\":\"metadata\",\"metadata\":{\"k\":[1,2]}}",
    "{\"type\":\"pong\",\"id\":1,\"t0_ns\":1,\"t1_ns\":2,\"t2_ns\":3}",
    "{\"type\":\"ping\",\"id\":7,\"t0_ns\":1}",
};

/* A binary message of 1..20 frames of the two streams, sometimes with sequence jumps. */
static size_t make_binary(uint8_t *buf, size_t cap, uint64_t *seq)
{
    static double q[21];
    static const char ev[] = "{\"kind\":\"grasp\"}";
    size_t off = 0;
    int n = 1 + (int)(rnd() % 20);
    for (int i = 0; i < n; i++) {
        int arm = rnd() % 4 != 0;
        uint16_t id = arm ? 1 : 2;
        seq[id] += rnd() % 10 == 0 ? 1 + rnd() % 5 : 1;
        tw_frame f = {id, 0, arm ? (uint32_t)sizeof q : (uint32_t)(sizeof ev - 1), seq[id], (int64_t)seq[id],
                      arm ? (const uint8_t *)q : (const uint8_t *)ev};
        size_t k = tw_frame_encode(buf + off, cap - off, &f);
        if (!k)
            break;
        off += k;
    }
    return off;
}

static void mutate(uint8_t *buf, size_t *len, size_t cap)
{
    switch (rnd() % 4) {
    case 0: /* flip bytes */
        for (int i = 0; i < 1 + (int)(rnd() % 4) && *len; i++)
            buf[rnd() % *len] ^= (uint8_t)(1u << (rnd() % 8));
        break;
    case 1: /* truncate */
        *len = *len ? rnd() % *len : 0;
        break;
    case 2: /* extend with junk */
        for (int i = 0; i < (int)(rnd() % 40) && *len < cap; i++)
            buf[(*len)++] = (uint8_t)rnd();
        break;
    default: /* overwrite a header field */
        if (*len >= 24)
            buf[rnd() % 24] = (uint8_t)rnd();
        break;
    }
}

/* Delivers one message like lws: whole, or in pieces with first/final flags. */
static void deliver(rec_session *s, const uint8_t *buf, size_t len, int binary)
{
    if (rnd() % 5 || len < 2) {
        rec_session_rx(s, buf, len, 1, 1, binary, 0);
        return;
    }
    size_t off = 0;
    while (off < len) {
        size_t k = 1 + rnd() % (len - off);
        rec_session_rx(s, buf + off, k, off == 0, off + k == len, binary, off == 0 ? len - k : 0);
        off += k;
    }
}

static void account(world *w, rec_session *s)
{
    for (uint32_t k = 0; k < s->nstreams; k++)
    {
        w->frames_accounted += s->st[k].received - s->st[k].idle - s->st[k].dropped;
        w->dropped += s->st[k].dropped;
    }
}

static rec_session *fresh(world *w)
{
    rec_session *s = rec_session_new(&w->r, NULL);
    assert_non_null(s);
    deliver(s, (const uint8_t *)hello, strlen(hello), 0);
    assert_true(s->hello_done);
    return s;
}

static void end_session(world *w, rec_session *s)
{
    drain(w); /* room for the closing records: no writer thread runs here */
    rec_session_disconnected(s); /* closes an open episode */
    account(w, s);
    rec_session_unref(s);
    drain(w);
}

static void run_fuzz(tw_rec_policy policy, int iterations)
{
    world *w = calloc(1, sizeof *w);
    tw_recorder_opts_init(&w->r.o);
    w->r.o.policy = policy;
    w->r.o.ctrl_rate = 1000000; /* the rate limit has its own integration test */
    snprintf(w->r.out_dir, sizeof w->r.out_dir, "/nonexistent");
    assert_int_equal(rec_queue_init(&w->r.q, 1 << 16), 0);
    w->r.max_binary = TW_MAX_BINARY_MSG; /* as tw_recorder_open sets it */
    static uint8_t buf[1 << 16];
    uint64_t seq[3] = {0};
    rec_session *s = fresh(w);
    for (int it = 0; it < iterations; it++) {
        uint32_t kind = rnd() % 100;
        size_t len;
        if (kind < 45) {
            len = make_binary(buf, sizeof buf, seq);
            deliver(s, buf, len, 1);
        } else if (kind < 65) {
            len = make_binary(buf, sizeof buf / 2, seq);
            mutate(buf, &len, sizeof buf);
            deliver(s, buf, len, 1);
        } else if (kind < 88) {
            const char *c = controls[rnd() % (sizeof controls / sizeof *controls)];
            len = strlen(c);
            memcpy(buf, c, len);
            if (rnd() % 3 == 0)
                mutate(buf, &len, sizeof buf);
            deliver(s, buf, len, 0);
        } else if (kind < 95) {
            len = rnd() % 300;
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)rnd();
            deliver(s, buf, len, rnd() % 2);
        } else {
            rec_session_tick(s, rec_now_ns() + 5000000000LL); /* status, ping, drop records */
        }
        /* the writer runs only now and then, so the queue fills and the policy acts */
        w->held += s->pending;
        if (rnd() % 96 == 0) {
            drain(w);
            while (s->pending && rec_session_retry_pending(s))
                drain(w);
        }
        if (s->closing || rnd() % 500 == 0) {
            while (s->pending && rec_session_retry_pending(s))
                drain(w);
            end_session(w, s);
            s = fresh(w);
        }
    }
    while (s->pending && rec_session_retry_pending(s))
        drain(w);
    end_session(w, s);
    fprintf(stderr, "policy %d: %llu records, %llu frames queued, %llu dropped, %llu held, %llu episodes\n",
            (int)policy, (unsigned long long)w->records, (unsigned long long)w->frames_queued,
            (unsigned long long)w->dropped, (unsigned long long)w->held, (unsigned long long)w->episodes_closed);
    /* the queue really filled: the policy was exercised */
    assert_true(policy == TW_POLICY_DROP_NEWEST ? w->dropped > 0 : w->held > 0);
    if (policy == TW_POLICY_BACKPRESSURE)
        assert_int_equal(w->dropped, 0);
    assert_true(w->frames_queued > 1000);
    assert_int_equal(w->frames_queued, w->frames_accounted);
    assert_int_equal(rec_queue_used(&w->r.q), 0);
    rec_queue_destroy(&w->r.q);
    free(w);
}

static void test_fuzz_sessions_backpressure(void **state)
{
    run_fuzz(TW_POLICY_BACKPRESSURE, 30000);
}

static void test_fuzz_sessions_drop_newest(void **state)
{
    run_fuzz(TW_POLICY_DROP_NEWEST, 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_sessions_backpressure),
        cmocka_unit_test(test_fuzz_sessions_drop_newest),
    };
    return cmocka_run_group_tests_name("recorder session fuzz", tests, NULL, NULL);
}
