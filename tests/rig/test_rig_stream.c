/* `tw rig` against a real websocket server (the client tests' server, in-process): what arrives is
 * counted per stream (rates over a 10 s simulated run, not wall-clock timing), and the failure
 * modes end with a clear message and a non-zero exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tw_test_server.h"

#define TOKEN "rig-test-token-0123456789"

static char g_dir[256];

static const char *tw_bin(void)
{
    const char *b = getenv("TW_BIN");
    return b ? b : "cli/tw";
}

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", g_dir, name); }

static void write_file(const char *name, const char *text)
{
    char p[512];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs argv with stdout and stderr sent to the named files; returns the pid. */
static pid_t spawn(const char *const *argv, const char *out, const char *err)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Starts tw rig with the given extra arguments, stderr to g_dir/stderr.txt; returns the pid. */
static pid_t spawn_rig(const char *url, const char *token_file, const char *const *extra)
{
    char tok[512], err[512];
    path_in(tok, sizeof tok, token_file);
    path_in(err, sizeof err, "stderr.txt");
    const char *argv[48] = {tw_bin(), "rig", "--url", url, "--token-file", tok};
    int n = 6;
    for (; extra && *extra && n < 46; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    return spawn(argv, "/dev/null", err);
}

static int wait_rig(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int run_rig(const char *url, const char *token_file, const char *const *extra)
{
    return wait_rig(spawn_rig(url, token_file, extra));
}

static int stderr_has(const char *needle)
{
    char p[512], buf[8192] = "";
    path_in(p, sizeof p, "stderr.txt");
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    if (!strstr(buf, needle)) {
        print_message("stderr does not mention '%s':\n%s\n", needle, buf);
        return 0;
    }
    return 1;
}

static void url_of(tts *s, char *buf, size_t n) { snprintf(buf, n, "ws://127.0.0.1:%d", tts_port(s)); }

static void assert_within_1pct(uint64_t got, double want, const char *what)
{
    print_message("%-12s %llu frames (expected %.0f)\n", what, (unsigned long long)got, want);
    if (!((double)got >= 0.99 * want && (double)got <= 1.01 * want))
        fail_msg("%s: %llu frames, expected %.0f within 1%%", what, (unsigned long long)got, want);
}

static void test_rates_over_10s(void **st)
{
    tts *s;
    char url[64], truth[512];
    assert_int_equal(tts_start(TOKEN, 0, &s), 0);
    url_of(s, url, sizeof url);
    path_in(truth, sizeof truth, "truth.json");
    const char *extra[] = {"--speed", "0", "--duration", "10", "--seed", "3", "--perturb", "damping=2,latency_ms=20",
                           "--noise", "0.5", "--camera-size", "320x240", "--truth", truth, NULL};
    int rc = run_rig(url, "token", extra);
    tts_counts n;
    tts_counts_get(s, &n);
    tts_stop(s);
    assert_int_equal(rc, 0);
    assert_int_equal(n.starts, 1);
    assert_int_equal(n.stops, 1);
    assert_int_equal(n.bad_frames, 0);
    assert_within_1pct(n.streams[1].frames, 10 * 500, "joint_state");
    assert_within_1pct(n.streams[2].frames, 10 * 500, "wrench");
    assert_within_1pct(n.streams[3].frames, 10 * 100, "action");
    assert_within_1pct(n.streams[5].frames, 10 * 500, "object");
    assert_within_1pct(n.streams[10].frames, 10 * 30, "video");
    assert_true(n.streams[4].frames >= 2); /* at least one grasp and one release */
    for (int id = 1; id <= 5; id++)
        assert_int_equal(n.streams[id].gaps, 0);
    assert_string_equal(n.last_task, "pick and place the red box");
    /* the ground truth, kept apart from the stream */
    json_error_t e;
    json_t *t = json_load_file(truth, 0, &e);
    assert_non_null(t);
    assert_int_equal(json_integer_value(json_object_get(t, "seed")), 3);
    json_t *p = json_object_get(t, "perturbation");
    assert_true(json_real_value(json_object_get(p, "damping")) == 2.0);
    assert_true(json_real_value(json_object_get(p, "latency_ms")) == 20.0);
    assert_true(json_real_value(json_object_get(t, "noise")) == 0.5);
    assert_string_equal(json_string_value(json_object_get(t, "model")), "builtin");
    json_decref(t);
}

static void test_wrong_token_exits_nonzero(void **st)
{
    tts *s;
    char url[64];
    assert_int_equal(tts_start(TOKEN, 0, &s), 0);
    url_of(s, url, sizeof url);
    const char *extra[] = {"--speed", "0", "--duration", "1", "--camera", "none", "--retries", "1", NULL};
    int rc = run_rig(url, "badtoken", extra);
    tts_counts n;
    tts_counts_get(s, &n);
    tts_stop(s);
    assert_int_equal(rc, 1);
    assert_true(n.auth_refused >= 1);
    assert_int_equal(n.starts, 0);
    assert_true(stderr_has(url));
}

static void test_absent_recorder_exits_nonzero(void **st)
{
    tts *s;
    char url[64];
    assert_int_equal(tts_start(TOKEN, 0, &s), 0); /* find a free port, then close it */
    url_of(s, url, sizeof url);
    tts_stop(s);
    const char *extra[] = {"--speed", "0", "--duration", "1", "--camera", "none", "--retries", "1", NULL};
    assert_int_equal(run_rig(url, "token", extra), 1);
    assert_true(stderr_has(url));
}

static void test_recorder_gone_mid_stream_exits_nonzero(void **st)
{
    tts *s;
    char url[64];
    assert_int_equal(tts_start(TOKEN, 0, &s), 0);
    url_of(s, url, sizeof url);
    const char *extra[] = {"--speed", "1", "--duration", "30", "--camera", "none", "--retries", "2", NULL};
    pid_t pid = spawn_rig(url, "token", extra);
    tts_counts n = {0};
    for (int i = 0; i < 100 && n.streams[1].frames < 200; i++) { /* wait until data flows */
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
        tts_counts_get(s, &n);
    }
    assert_true(n.streams[1].frames >= 200);
    tts_stop(s); /* the recorder goes away for good */
    assert_int_equal(wait_rig(pid), 1);
    assert_true(stderr_has("tw rig:"));
}

static void test_reconnects_after_a_dropped_connection(void **st)
{
    tts *s;
    char url[64];
    assert_int_equal(tts_start(TOKEN, 0, &s), 0);
    url_of(s, url, sizeof url);
    tts_drop_after(s, 3000); /* the connection breaks once, mid-episode; the server stays */
    const char *extra[] = {"--speed", "0", "--duration", "4", "--camera", "none", "--noise", "0", NULL};
    int rc = run_rig(url, "token", extra);
    tts_counts n;
    tts_counts_get(s, &n);
    tts_stop(s);
    assert_int_equal(rc, 0);
    assert_true(n.connections >= 2);
    assert_int_equal(n.stops, 1);
    /* what was in flight at the break shows as a sequence gap, never as silent loss */
    uint64_t got = n.streams[1].frames + n.streams[1].gaps;
    assert_true(got == 2000);
}


static uint64_t stream_samples(json_t *ep, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ep, "streams"), i, s)
        if (!strcmp(json_string_value(json_object_get(s, "name")), name))
            return (uint64_t)json_integer_value(json_object_get(s, "samples"));
    fail_msg("episode has no stream %s", name);
    return 0;
}

/* The real recorder: two episodes land as complete episodes with every sample. */
/* Runs `tw rig` with extra flags into a real `tw record` writing to g_dir/outname (path in out),
 * stops the recorder with SIGINT; returns the rig's exit status. */
static int rig_into_recorder(const char *outname, const char *const *extra, char *out, size_t outsz)
{
    tts *probe;
    char url[96], listen[64], tok[512], log[512];
    assert_int_equal(tts_start(TOKEN, 0, &probe), 0); /* a free port */
    snprintf(listen, sizeof listen, "127.0.0.1:%d", tts_port(probe));
    tts_stop(probe);
    snprintf(url, sizeof url, "ws://%s", listen);
    path_in(out, outsz, outname);
    path_in(tok, sizeof tok, "token");
    path_in(log, sizeof log, "record.log");
    const char *rec_argv[] = {tw_bin(), "record", "--listen", listen, "--out", out, "--token-file", tok, NULL};
    pid_t rec = spawn(rec_argv, log, "/dev/null");
    int rc = run_rig(url, "token", extra);
    kill(rec, SIGINT);
    int wst;
    waitpid(rec, &wst, 0);
    return rc;
}

static void test_rig_into_recorder(void **st)
{
    char out[512], insp[512];
    const char *extra[] = {"--speed", "0", "--episodes", "2", "--duration", "3", "--camera-size", "320x240",
                           "--retries", "8", NULL};
    assert_int_equal(rig_into_recorder("rec", extra, out, sizeof out), 0);
    DIR *dir = opendir(out);
    assert_non_null(dir);
    struct dirent *e;
    int neps = 0;
    path_in(insp, sizeof insp, "inspect.json");
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        char ep[1024];
        snprintf(ep, sizeof ep, "%s/%s", out, e->d_name);
        const char *iargv[] = {tw_bin(), "inspect", ep, "--json", NULL};
        int ist;
        waitpid(spawn(iargv, insp, "/dev/null"), &ist, 0);
        assert_true(WIFEXITED(ist) && WEXITSTATUS(ist) == 0); /* integrity check passed */
        json_error_t je;
        json_t *j = json_load_file(insp, 0, &je);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "complete");
        assert_int_equal(stream_samples(j, "joint_state"), 1500);
        assert_int_equal(stream_samples(j, "wrench"), 1500);
        assert_int_equal(stream_samples(j, "action"), 300);
        assert_int_equal(stream_samples(j, "object_state"), 1500);
        assert_int_equal(stream_samples(j, "cam0"), 90);
        /* the signal's duration (not the write's wall time), a short robot name, events counted */
        double dur = json_real_value(json_object_get(j, "duration_s"));
        assert_true(dur > 2.9 && dur <= 3.0);
        assert_null(strchr(json_string_value(json_object_get(j, "robot")), '/'));
        assert_int_equal(json_integer_value(json_object_get(j, "events")),
                         json_integer_value(json_object_get(j, "annotations")) + stream_samples(j, "events"));
        assert_true(json_integer_value(json_object_get(j, "clock_samples")) > 0);
        json_decref(j);
        neps++;
    }
    closedir(dir);
    assert_int_equal(neps, 2);
}

/* A model under a path longer than any fixed buffer once was: the robot is the model's short
 * name, and the rig works wherever the checkout lives (fusion_fuse_recorded failed one
 * directory deeper: "robot: 73 bytes (limit 63)"). */
static void test_long_model_path(void **st)
{
    const char *shared = getenv("TW_SHARED");
    char src[512], deep[1024], model[1100], out[512], insp[512], ep[1400];
    snprintf(src, sizeof src, "%s/models/franka_emika_panda", shared ? shared : "../shared");
    if (access(src, R_OK) != 0)
        skip();
    path_in(deep, sizeof deep, "a-rather-long-directory-name-for-a-checkout");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mkdir(deep, 0755), 0);
        strcat(deep, "/and-another-level-below-it-to-make-the-path-long");
    }
    assert_int_equal(symlink(src, deep), 0);
    snprintf(model, sizeof model, "%s/panda.xml", deep);
    assert_true(strlen(model) > 200);
    const char *extra[] = {"--speed", "0", "--duration", "0.5", "--camera", "none", "--model", model,
                           "--retries", "8", NULL};
    assert_int_equal(rig_into_recorder("rec-long", extra, out, sizeof out), 0);
    int wst;
    DIR *dir = opendir(out);
    struct dirent *e;
    while ((e = readdir(dir)) && e->d_name[0] == '.')
        ;
    assert_non_null(e);
    snprintf(ep, sizeof ep, "%s/%s", out, e->d_name);
    closedir(dir);
    path_in(insp, sizeof insp, "inspect-long.json");
    const char *iargv[] = {tw_bin(), "inspect", ep, "--json", NULL};
    waitpid(spawn(iargv, insp, "/dev/null"), &wst, 0);
    json_t *j = json_load_file(insp, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "robot")), "panda");
    json_decref(j);
}

static void test_bad_flags_are_usage_errors(void **st)
{
    const char *bad_perturb[] = {"--perturb", "dampin=2", NULL};
    assert_int_equal(run_rig("ws://127.0.0.1:1", "token", bad_perturb), 2);
    assert_true(stderr_has("dampin"));
    const char *bad_rate[] = {"--js-rate", "1000", "--camera", "none", NULL}; /* above the 500 Hz physics */
    assert_int_equal(run_rig("ws://127.0.0.1:1", "token", bad_rate), 1);
    assert_true(stderr_has("--js-rate"));
    const char *bad_model[] = {"--model", "/nonexistent/robot.xml", NULL};
    assert_int_equal(run_rig("ws://127.0.0.1:1", "token", bad_model), 1);
    assert_true(stderr_has("/nonexistent/robot.xml"));
}

static int setup(void **st)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/tw_rig_test.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    write_file("token", TOKEN "\n");
    write_file("badtoken", "not-the-token\n");
    return 0;
}

static int teardown(void **st)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates_over_10s),
        cmocka_unit_test(test_wrong_token_exits_nonzero),
        cmocka_unit_test(test_absent_recorder_exits_nonzero),
        cmocka_unit_test(test_recorder_gone_mid_stream_exits_nonzero),
        cmocka_unit_test(test_reconnects_after_a_dropped_connection),
        cmocka_unit_test(test_bad_flags_are_usage_errors),
        cmocka_unit_test(test_rig_into_recorder),
        cmocka_unit_test(test_long_model_path),
    };
    return cmocka_run_group_tests_name("tw rig streaming", tests, setup, teardown);
}
