/* Recorder fault tests: a real `tw record` process killed with -9, stopped with SIGTERM
 * mid-episode, run out of disk, and flooded past a tiny queue under both policies. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "recfx.h"
#include "tw_client.h"
#include "tw_wire.h"

#define assert_inspect_ok(f, out, id) assert_int_equal(fx_inspect(f, out, id), 0)

/* ---- kill -9, then restart: at most the flush interval is lost ---- */
static void test_kill9_loses_at_most_flush_interval(void **state)
{
    recfx *f = *state;
    const int flush_ms = 200;
    char flags[64];
    snprintf(flags, sizeof flags, "--flush-ms %d", flush_ms);
    assert_int_equal(recfx_start(f, NULL, flags), 0);
    rawws w;
    char id[64];
    assert_int_equal(fx_session(&w, f, "crashy"), 0);
    assert_int_equal(fx_start(&w, "t", id, sizeof id), 0);
    for (int i = 0; i < 30; i++) { /* 3000 samples over ~0.6 s */
        assert_int_equal(fx_send_arm(&w, FX_ARM, (uint64_t)i * 100, 100, 50), 0);
        fx_ms(20);
    }
    /* an acknowledged round trip: the recorder has taken everything above off the socket */
    assert_int_equal(fx_send_json(&w, json_pack("{s:s, s:{s:i}}", "type", "metadata", "metadata", "n", 3000)), 0);
    json_t *a = rawws_wait_type(&w, "ack", 10000);
    assert_non_null(a);
    json_decref(a);
    fx_ms(5 * flush_ms); /* ...and it is now older than the flush interval */
    assert_int_equal(fx_send_arm(&w, FX_ARM, 3000, 1000, 50), 0); /* these may be lost */
    assert_int_equal(recfx_stop(f, SIGKILL), 128 + SIGKILL);
    rawws_close(&w);

    /* a restart recovers what the dead recorder left "recording" */
    assert_int_equal(recfx_start(f, NULL, ""), 0);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "interrupted");
    long n = fx_h5_n(h5, "arm");
    fprintf(stderr, "kill -9: %ld of 4000 samples survived (3000 were older than the flush interval)\n", n);
    assert_true(n >= 3000 && n <= 4000);
    json_decref(h5);
    /* `tw recover` on the root afterwards: finished episodes are left as they are */
    assert_int_equal(fx_sh("'%s' recover '%s' >/dev/null", getenv("TW_BIN"), f->out), 0);
    h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "interrupted");
    assert_int_equal(fx_h5_n(h5, "arm"), n);
    json_decref(h5);
    assert_inspect_ok(f, NULL, id);
}

/* ---- a full disk ends that episode with an error; the recorder keeps serving ---- */
static void test_disk_full_handled(void **state)
{
    recfx *f = *state;
    char small[400];
    snprintf(small, sizeof small, "%s/small", f->root);
    if (fx_sh("mkdir -p '%s' && mount -t tmpfs -o size=4m tmpfs '%s' 2>/dev/null", small, small) != 0) {
        fprintf(stderr, "SKIP disk full: cannot mount a 4 MiB tmpfs here (needs root)\n");
        skip();
    }
    int rc = recfx_start(f, small, "--flush-ms 100");
    if (rc != 0)
        fx_sh("umount '%s'", small);
    assert_int_equal(rc, 0);
    rawws w, w2;
    char id[64];
    assert_int_equal(fx_session(&w, f, "filler"), 0);
    assert_int_equal(fx_start(&w, "t", id, sizeof id), 0);
    json_t *e = NULL;
    for (int i = 0; i < 200 && !e; i++) { /* ~8 MB of samples into 4 MiB */
        if (fx_send_arm(&w, FX_ARM, (uint64_t)i * 200, 200, 100) != 0)
            break;
        e = rawws_wait_type(&w, "error", 10);
    }
    if (!e)
        e = rawws_wait_type(&w, "error", 10000);
    assert_non_null(e);
    fprintf(stderr, "disk full reported as %s: %s\n", fx_err_code(e),
            json_string_value(json_object_get(e, "message")));
    assert_true(!strcmp(fx_err_code(e), "NOSPACE") || !strcmp(fx_err_code(e), "IO") || !strcmp(fx_err_code(e), "HDF5"));
    assert_true(json_is_true(json_object_get(e, "fatal"))); /* protocol.md: the session ends */
    json_decref(e);
    /* still serving: /status answers and a new session is welcomed */
    char *body = NULL, auth[128];
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    assert_int_equal(http_get(f->port, "/status", auth, &body), 200);
    json_t *s = json_loads(body, 0, NULL);
    free(body);
    assert_true(json_integer_value(json_object_get(json_object_get(s, "episodes"), "write_errors")) >= 1);
    json_decref(s);
    assert_int_equal(fx_session(&w2, f, "second"), 0);
    rawws_close(&w2);
    rawws_close(&w);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    fx_sh("umount '%s'", small);
}

/* ---- a 1 MiB queue under `policy`: one episode of `total` arm samples sent as fast as possible ---- */
static json_t *tiny_queue_episode(recfx *f, const char *policy, int total, char *id, size_t idsz)
{
    char flags[64];
    snprintf(flags, sizeof flags, "--queue-mb 1 --policy %s", policy);
    assert_int_equal(recfx_start(f, NULL, flags), 0);
    rawws w;
    assert_int_equal(fx_session(&w, f, policy), 0);
    assert_int_equal(fx_start(&w, "t", id, idsz), 0);
    assert_int_equal(fx_send_arm(&w, FX_ARM, 0, total, 250), 0);
    assert_int_equal(fx_stop(&w), 0);
    rawws_close(&w);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    return h5;
}

/* ---- drop-newest with a tiny queue: every sample is either written or counted ---- */
static void test_drop_newest_counts_exactly(void **state)
{
    recfx *f = *state;
    char id[64];
    const int total = 100000;
    json_t *h5 = tiny_queue_episode(f, "drop-newest", total, id, sizeof id);
    long n = fx_h5_n(h5, "arm"), drops = fx_h5_attr_i(h5, "arm", "recorder_drops");
    fprintf(stderr, "drop-newest: %ld written + %ld dropped of %d\n", n, drops, total);
    assert_true(n > 0);
    assert_int_equal(n + drops, total);
    /* the episode's total loss counts each dropped sample once (it used to add the seq holes those
     * very drops leave to the recorder's own count) */
    assert_int_equal(fx_h5_attr_i(h5, "arm", "drops"), total - n);
    json_decref(h5);
    assert_inspect_ok(f, NULL, id);
}

/* ---- backpressure with a tiny queue: the sender is slowed, nothing is lost ---- */
static void test_backpressure_loses_nothing(void **state)
{
    recfx *f = *state;
    char id[64];
    const int total = 100000;
    json_t *h5 = tiny_queue_episode(f, "backpressure", total, id, sizeof id);
    assert_int_equal(fx_h5_n(h5, "arm"), total);
    assert_int_equal(fx_h5_attr_i(h5, "arm", "drops"), 0);
    json_decref(h5);
}

/* ---- SIGTERM with an episode open: everything received is written, marked interrupted ---- */
static void test_sigterm_finishes_open_episode(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, "--flush-ms 60000"), 0); /* no periodic flush to help */
    rawws w;
    char id[64];
    assert_int_equal(fx_session(&w, f, "open"), 0);
    assert_int_equal(fx_start(&w, "t", id, sizeof id), 0);
    assert_int_equal(fx_send_arm(&w, FX_ARM, 0, 5000, 100), 0);
    assert_int_equal(fx_send_video(&w, 0, 30), 0);
    /* a status round trip: the recorder has read everything sent before it */
    assert_int_equal(fx_send_json(&w, json_pack("{s:s, s:{s:s}}", "type", "metadata", "metadata", "note", "x")), 0);
    json_t *a = rawws_wait_type(&w, "ack", 5000);
    assert_non_null(a);
    json_decref(a);
    assert_int_equal(recfx_stop(f, SIGTERM), 0);
    rawws_close(&w);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "interrupted");
    assert_int_equal(fx_h5_n(h5, "arm"), 5000);
    json_t *cam = json_object_get(json_object_get(h5, "video"), "cam");
    assert_int_equal(json_integer_value(json_object_get(cam, "n")), 30);
    json_decref(h5);
    assert_inspect_ok(f, NULL, id);
}

int main(void)
{
    int skip = fx_main_prelude();
    if (skip)
        return skip;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill9_loses_at_most_flush_interval, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_handled, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_drop_newest_counts_exactly, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_loses_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_finishes_open_episode, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("recorder faults", tests, NULL, NULL);
}
