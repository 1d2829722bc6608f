/* Kill at EVERY step of an episode's close and of its recovery (TW_FAULT_STEP=close:N /
 * recover:N, bridge/tw_fault.c), not at random moments. After each kill, either the episode
 * opens with every acknowledged (flushed) sample, or its journal still exists and recovery
 * makes it open with them; never neither. Regression: the old close renamed episode.h5 and
 * removed the journal before its datasets were closed, so a kill there lost the episode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ep_fixture.h"
#include "tw_media.h"

#define TICKS 400 /* signal samples; every kind of stream, two flushes */

static int has(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* Every flushed sample is there and the integrity check passes. */
static void check_complete(const char *dir)
{
    tw_episode *e = NULL;
    char msg[512];
    int rc = tw_episode_open(dir, &e, msg, sizeof msg);
    if (rc)
        fail_msg("%s: %s", dir, msg);
    for (int s = 0; s < EP_NSTREAMS; s++)
        assert_true(tw_episode_nsamples(e, (size_t)s) >= ep_count(s, TICKS));
    size_t nerr = 99;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0);
    tw_episode_close_reader(e);
}

/* After a kill: the episode is complete, or the journal exists and recovery completes it. */
static void check_after_kill(const char *dir, const char *what)
{
    if (!has(dir, "episode.journal")) {
        check_complete(dir);
        return;
    }
    int changed = 0;
    char msg[512];
    int rc = tw_episode_recover(dir, &changed, msg, sizeof msg);
    if (rc)
        fail_msg("%s: recover: %s", what, msg);
    assert_false(has(dir, "episode.journal"));
    check_complete(dir);
}

/* Runs f(dir) in a child with TW_FAULT_STEP=spec; 1 when the child was killed by the seam,
 * 0 when it finished (the step number is past the last step). */
static int run_with_fault(const char *dir, const char *spec, int (*f)(const char *))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("TW_FAULT_STEP", spec, 1);
        _exit(f(dir));
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        return 1;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    return 0;
}

static int write_flush_close(const char *dir)
{
    tw_episode_writer *w = NULL;
    char msg[512];
    if (ep_write(dir, TICKS, TICKS / 2, 0, &w, NULL) != 0 || !w)
        return 3;
    if (tw_episode_flush(w, msg, sizeof msg) != 0) /* everything acknowledged before the close */
        return 4;
    return tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg) ? 5 : 0;
}

static int write_flush_die(const char *dir)
{
    tw_episode_writer *w = NULL;
    char msg[512];
    if (ep_write(dir, TICKS, TICKS / 2, 0, &w, NULL) != 0 || !w || tw_episode_flush(w, msg, sizeof msg) != 0)
        return 3;
    raise(SIGKILL); /* the recorder died: journal and video files only */
    return 6;
}

static int recover_it(const char *dir)
{
    int changed = 0;
    char msg[512];
    return tw_episode_recover(dir, &changed, msg, sizeof msg) ? 7 : 0;
}

static void test_kill_at_every_step_of_close(void **state)
{
    (void)state;
    char root[256], dir[300], spec[32];
    assert_non_null(ep_tmpdir(root, sizeof root));
    int step = 1;
    for (;; step++) {
        snprintf(dir, sizeof dir, "%s/close-%d", root, step);
        snprintf(spec, sizeof spec, "close:%d", step);
        if (!run_with_fault(dir, spec, write_flush_close))
            break;
        check_after_kill(dir, spec);
    }
    print_message("close has %d steps; killed at each, every episode complete afterwards\n", step - 1);
    assert_true(step > 10);
    check_complete(dir); /* the run past the last step closed normally */
    ep_rmtree(root);
}

static void test_kill_at_every_step_of_recover(void **state)
{
    (void)state;
    char root[256], dir[300], spec[32], master[300];
    assert_non_null(ep_tmpdir(root, sizeof root));
    snprintf(master, sizeof master, "%s/master", root);
    assert_int_equal(run_with_fault(master, "none:0", write_flush_die), 1);
    int step = 1;
    for (;; step++) {
        snprintf(dir, sizeof dir, "%s/recover-%d", root, step);
        assert_int_equal(ep_sh("cp -a %s %s", master, dir), 0);
        snprintf(spec, sizeof spec, "recover:%d", step);
        if (!run_with_fault(dir, spec, recover_it))
            break;
        check_after_kill(dir, spec);
        /* killed again in the middle of the second recovery: still recoverable */
    }
    print_message("recover has %d steps; killed at each, every episode recovered afterwards\n", step - 1);
    assert_true(step > 8);
    check_complete(dir);
    ep_rmtree(root);
}

/* A full disk used to leave folders with a 0-byte journal that made every later `tw recover`
 * fail with BAD_MAGIC, and an unreadable episode.h5 was "left untouched" with exit 0. */
static void test_empty_journals_and_unreadable_files(void **state)
{
    (void)state;
    char root[256], d[400], msg[512];
    assert_non_null(ep_tmpdir(root, sizeof root));
    int changed = 0;
    snprintf(d, sizeof d, "%s/zero", root); /* 0-byte journal, nothing else: removed */
    assert_int_equal(ep_sh("mkdir %s && : > %s/episode.journal", d, d), 0);
    assert_int_equal(tw_episode_recover(d, &changed, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "empty journal"));
    assert_int_equal(changed, 1);
    assert_false(has(root, "zero"));
    snprintf(d, sizeof d, "%s/torn", root); /* the head record cut short, an empty video file */
    assert_int_equal(ep_sh("mkdir %s && printf 'TWEPJNL\\001TWRJ\\001\\000\\000\\000\\377\\000\\000\\000' > "
                           "%s/episode.journal && : > %s/cam.mkv", d, d, d), 0);
    assert_int_equal(tw_episode_recover(d, &changed, msg, sizeof msg), 0);
    assert_false(has(root, "torn"));
    snprintf(d, sizeof d, "%s/kept", root); /* an empty journal beside a readable file: the file stays */
    assert_int_equal(write_flush_close(d), 0);
    assert_int_equal(ep_sh(": > %s/episode.journal", d), 0);
    assert_int_equal(tw_episode_recover(d, &changed, msg, sizeof msg), 0);
    assert_false(has(d, "episode.journal"));
    check_complete(d);
    snprintf(d, sizeof d, "%s/bad", root); /* an unreadable finished file is a failure, named */
    assert_int_equal(ep_sh("mkdir %s && head -c 4096 /dev/urandom > %s/episode.h5", d, d), 0);
    assert_int_not_equal(tw_episode_recover(d, &changed, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "unreadable"));
    const char *tw = getenv("TW_BIN");
    if (tw) {
        assert_int_equal(ep_sh("%s recover %s > /dev/null", tw, root), 1);
        assert_int_equal(ep_sh("%s recover %s | grep -q 'FAILED.*bad.*unreadable'", tw, root), 0);
        assert_int_equal(ep_sh("rm -r %s && %s recover %s > /dev/null", d, tw, root), 0);
    }
    ep_rmtree(root);
}

int main(void)
{
    tw_media_use_for_episodes(); /* the fixture's episodes have cameras: recovery cuts their files */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_at_every_step_of_close),
        cmocka_unit_test(test_kill_at_every_step_of_recover),
        cmocka_unit_test(test_empty_journals_and_unreadable_files),
    };
    return cmocka_run_group_tests_name("episode_killstep", tests, NULL, NULL);
}
