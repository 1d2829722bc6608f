/* `tw inspect` and `tw recover` as a user runs them: exit codes, JSON output, and the
 * integrity check catching a video file that lost frames. Needs TW_BIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ep_fixture.h"

typedef struct {
    char root[256], good[300];
    const char *tw;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->tw = getenv("TW_BIN");
    assert_non_null(ep_tmpdir(f->root, sizeof f->root));
    snprintf(f->good, sizeof f->good, "%s/good", f->root);
    assert_int_equal(ep_write(f->good, 600, 100, 1, NULL, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ep_rmtree(f->root);
    free(f);
    return 0;
}

static void test_inspect_good_episode_passes(void **state)
{
    fx *f = *state;
    if (!f->tw)
        skip();
    char out[400];
    snprintf(out, sizeof out, "%s/inspect.json", f->root);
    assert_int_equal(ep_sh("%s inspect --help > /dev/null", f->tw), 0);
    assert_int_equal(ep_sh("%s inspect %s > /dev/null", f->tw, f->good), 0);
    assert_int_equal(ep_sh("%s inspect %s --json > %s", f->tw, f->good, out), 0);
    json_error_t e;
    json_t *j = json_load_file(out, 0, &e);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(json_object_get(j, "integrity"), "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "complete");
    json_t *streams = json_object_get(j, "streams");
    assert_int_equal(json_array_size(streams), EP_NSTREAMS);
    json_t *arm = json_array_get(streams, EP_JOINTS);
    assert_int_equal(json_integer_value(json_object_get(arm, "samples")), 600);
    /* 600 samples 2 ms apart: 599 intervals over 1.198 s */
    assert_true(fabs(json_real_value(json_object_get(arm, "rate_hz")) - 500.0) < 1e-6);
    json_t *v = json_object_get(json_array_get(streams, EP_H264), "video");
    assert_int_equal(json_integer_value(json_object_get(v, "index_frames")), ep_count(EP_H264, 600));
    assert_int_equal(json_integer_value(json_object_get(v, "file_frames")), ep_count(EP_H264, 600));
    json_decref(j);
}

static void test_inspect_fails_on_bad_input(void **state)
{
    fx *f = *state;
    if (!f->tw)
        skip();
    assert_int_equal(ep_sh("%s inspect %s/nowhere 2>/dev/null", f->tw, f->root), 1);
    assert_int_equal(ep_sh("%s inspect 2>/dev/null", f->tw), 2);
    assert_int_equal(ep_sh("%s inspect --bogus %s 2>/dev/null", f->tw, f->good), 2);
    /* a video file that lost frames: the index no longer matches */
    char bad[320];
    snprintf(bad, sizeof bad, "%s/bad", f->root);
    assert_int_equal(ep_sh("cp -r %s %s && ffmpeg -v error -y -i %s/cam_jpeg.mkv -frames:v 5 -c copy %s/x.mkv && "
                           "mv %s/x.mkv %s/cam_jpeg.mkv", f->good, bad, bad, bad, bad, bad), 0);
    char out[400];
    snprintf(out, sizeof out, "%s/bad.txt", f->root);
    assert_int_equal(ep_sh("%s inspect %s > %s", f->tw, bad, out), 1);
    assert_int_equal(ep_sh("grep -q 'video cam_jpeg: index has 38 frames' %s", out), 0);
}

static void test_recover_command(void **state)
{
    fx *f = *state;
    if (!f->tw)
        skip();
    char crashed[320], out[400];
    snprintf(crashed, sizeof crashed, "%s/crashed", f->root);
    snprintf(out, sizeof out, "%s/recover.txt", f->root);
    pid_t pid = fork();
    if (pid == 0) {
        tw_episode_writer *w = NULL;
        ep_write(crashed, 400, 100, 0, &w, NULL);
        raise(SIGKILL); /* dies with the episode open */
    }
    int st;
    waitpid(pid, &st, 0);
    assert_int_equal(ep_sh("%s inspect %s 2>&1 | grep -q 'tw recover'", f->tw, crashed), 0);
    assert_int_equal(ep_sh("%s recover --help > /dev/null", f->tw), 0);
    assert_int_equal(ep_sh("%s recover %s > %s", f->tw, f->root, out), 0);
    assert_int_equal(ep_sh("grep -q '^recovered.*crashed' %s && grep -q '^untouched.*good' %s", out, out), 0);
    assert_int_equal(ep_sh("%s inspect %s > /dev/null", f->tw, crashed), 0);
    assert_int_equal(ep_sh("%s inspect --json %s | grep -q '\"status\": \"interrupted\"'", f->tw, crashed), 0);
    assert_int_equal(ep_sh("%s recover %s/nowhere 2>/dev/null", f->tw, f->root), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect_good_episode_passes),
        cmocka_unit_test(test_inspect_fails_on_bad_input),
        cmocka_unit_test(test_recover_command),
    };
    return cmocka_run_group_tests_name("episode_inspect", tests, setup, teardown);
}
