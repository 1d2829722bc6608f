/* Write failures: the file-size limit (RLIMIT_FSIZE) and a full filesystem (a 1 MiB tmpfs,
 * when this process may mount one). Appends and flushes must return TW_ENOSPACE with a
 * message; closing with status "error" must leave a valid episode holding what was written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ep_fixture.h"
#include "tw_media.h"

/* Child: write until the disk says no, then close with "error". Exit 0 when both behaved:
 * the failure was TW_ENOSPACE with a message, and close built the file (or, with
 * close_may_fail, kept the journal for recovery). */
static void child(const char *dir, rlim_t fsize, int close_may_fail)
{
    signal(SIGXFSZ, SIG_IGN); /* a write past the limit must fail with EFBIG, not kill us */
    if (fsize) {
        struct rlimit rl = {fsize, fsize};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
    }
    tw_episode_writer *w = NULL;
    int rc = ep_write(dir, 2000000, 100, 0, &w, ep_report_flush);
    if (rc != TW_ENOSPACE || !w)
        _exit(11);
    char msg[512] = "";
    /* further appends keep failing fast with the same cause */
    uint8_t pay[168] = {0};
    tw_frame f = {.stream_id = 1, .payload = pay, .payload_len = 168};
    if (tw_episode_append(w, &f, 0, msg, sizeof msg) != TW_ENOSPACE || (!strstr(msg, "journal") && !strstr(msg, "video")))
        _exit(12);
    rc = tw_episode_close(w, TW_EP_ERROR, 0, msg, sizeof msg);
    if (rc == 0 || (close_may_fail && rc == TW_ENOSPACE && strstr(msg, "tw recover")))
        _exit(0);
    fprintf(stderr, "close: %s\n", msg);
    _exit(13);
}

static uint64_t run_child(const char *dir, rlim_t fsize, int close_may_fail)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        ep_progress_fd = p[1];
        child(dir, fsize, close_may_fail);
    }
    close(p[1]);
    FILE *in = fdopen(p[0], "r");
    unsigned long long ticks = 0, t;
    while (fscanf(in, "%llu", &t) == 1)
        ticks = t;
    fclose(in);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    return ticks;
}

static void check_episode(const char *dir, uint64_t flushed, const char *status)
{
    tw_episode *e = NULL;
    char msg[512];
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), 0);
    assert_string_equal(tw_episode_get_meta(e)->status, status);
    for (int s = 0; s < EP_NSTREAMS; s++)
        assert_true(tw_episode_nsamples(e, (size_t)s) >= ep_count(s, flushed));
    size_t nerr = 99;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0);
    tw_episode_close_reader(e);
    const char *py = getenv("PYTHON"), *src = getenv("TW_SOURCE_ROOT");
    if (py && src)
        assert_int_equal(ep_sh("%s %s/tests/episode/check_episode.py %s %llu 100000000 %s", py, src, dir,
                               (unsigned long long)flushed, status), 0);
}

static void test_file_size_limit_ends_with_error_status(void **state)
{
    char root[256], dir[300];
    assert_non_null(ep_tmpdir(root, sizeof root));
    snprintf(dir, sizeof dir, "%s/ep", root);
    uint64_t flushed = run_child(dir, 400 << 10, 0);
    print_message("file size limit hit after %llu flushed ticks\n", (unsigned long long)flushed);
    assert_true(flushed >= 100);
    check_episode(dir, flushed, TW_EP_ERROR);
    ep_rmtree(root);
}

static char g_root[256], g_mnt[300]; /* unmounted by the teardown even when an assert fails */

static int unmount_teardown(void **state)
{
    if (g_mnt[0])
        umount(g_mnt);
    g_mnt[0] = 0;
    if (g_root[0])
        ep_rmtree(g_root);
    g_root[0] = 0;
    return 0;
}

static void test_full_filesystem_then_recover(void **state)
{
    char *root = g_root, mnt[300], dir[340];
    assert_non_null(ep_tmpdir(g_root, sizeof g_root));
    snprintf(mnt, sizeof mnt, "%s/small", root);
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0)
        skip(); /* not allowed to mount here: the RLIMIT_FSIZE test covers the writer */
    snprintf(g_mnt, sizeof g_mnt, "%s", mnt);
    snprintf(dir, sizeof dir, "%s/ep", mnt);
    uint64_t flushed = run_child(dir, 0, 1);
    print_message("tmpfs full after %llu flushed ticks\n", (unsigned long long)flushed);
    struct stat st;
    char j[380];
    snprintf(j, sizeof j, "%s/episode.journal", dir);
    if (stat(j, &st) == 0) {
        /* close could not build the file on the full disk: free space, then recover */
        assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m"), 0);
        int changed = 0;
        char msg[512];
        assert_int_equal(tw_episode_recover(dir, &changed, msg, sizeof msg), 0);
        assert_int_equal(changed, 1);
        check_episode(dir, flushed, TW_EP_INTERRUPTED);
    } else {
        check_episode(dir, flushed, TW_EP_ERROR);
    }
}

int main(void)
{
    tw_media_use_for_episodes(); /* the fixture's episodes have cameras */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_size_limit_ends_with_error_status),
        cmocka_unit_test_teardown(test_full_filesystem_then_recover, unmount_teardown),
    };
    return cmocka_run_group_tests_name("episode_fault", tests, NULL, NULL);
}
