/* kill -9 at a random moment while an episode is written and flushed, then recover: every
 * sample up to the last completed flush must be there (checked by our reader and by h5py),
 * the status is "interrupted", video files hold exactly their indexed frames, and finished
 * episodes are never touched. */
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
#include <time.h>
#include <unistd.h>

#include "ep_fixture.h"
#include "tw_media.h"

#define FLUSH_TICKS 100

/* Starts a writer in a child, lets it flush at least once, kills it after delay_ms more.
 * Returns the number of ticks known flushed when it died. */
static uint64_t write_and_kill(const char *dir, int delay_ms)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        ep_progress_fd = p[1];
        ep_write(dir, 1000000, FLUSH_TICKS, 0, NULL, ep_report_flush);
        _exit(2); /* never reached in time */
    }
    close(p[1]);
    FILE *in = fdopen(p[0], "r");
    unsigned long long ticks = 0, t;
    assert_int_equal(fscanf(in, "%llu", &ticks), 1); /* first flush done */
    struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    while (fscanf(in, "%llu", &t) == 1) /* reports written before the kill */
        ticks = t;
    fclose(in);
    return ticks;
}

static void check_recovered(const char *dir, uint64_t flushed, int with_h5py)
{
    tw_episode *e = NULL;
    char msg[512];
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), TW_ESTATE); /* journal only */
    int changed = 0;
    assert_int_equal(tw_episode_recover(dir, &changed, msg, sizeof msg), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), 0);
    assert_string_equal(tw_episode_get_meta(e)->status, TW_EP_INTERRUPTED);
    /* everything up to the last flush, exactly, for every stream */
    for (int s = 0; s < EP_NSTREAMS; s++) {
        uint64_t n = tw_episode_nsamples(e, (size_t)s), want = ep_count(s, flushed);
        if (n < want)
            fail_msg("stream %d: %llu samples after recovery, %llu were flushed", s, (unsigned long long)n,
                     (unsigned long long)want);
        int fixed = s != EP_EVENT && s < EP_H264;
        size_t elems = fixed ? tw_decl_elems(tw_episode_decl(e, (size_t)s)) : 0;
        int64_t *t = malloc((n + 1) * 8);
        uint64_t *q = malloc((n + 1) * 8);
        double *data = malloc((n * elems + 1) * 8);
        assert_int_equal(tw_episode_read(e, (size_t)s, 0, n, t, NULL, q, fixed ? data : NULL, msg, sizeof msg), 0);
        for (uint64_t k = 0; k < n; k++) {
            assert_int_equal(q[k], k);
            assert_int_equal(t[k], ep_t_src(s, k));
            for (size_t x = 0; x < elems; x++)
                assert_true(data[k * elems + x] == ep_value(s, k, x));
        }
        free(t), free(q), free(data);
    }
    size_t nerr = 99;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0); /* includes: video index == frames in the file */
    tw_episode_close_reader(e);
    const char *py = getenv("PYTHON"), *src = getenv("TW_SOURCE_ROOT");
    if (py && src && with_h5py)
        assert_int_equal(ep_sh("%s %s/tests/episode/check_episode.py %s %llu 100000000 interrupted", py, src, dir,
                               (unsigned long long)flushed), 0);
    /* a second recovery finds a finished episode and leaves it alone */
    assert_int_equal(tw_episode_recover(dir, &changed, msg, sizeof msg), 0);
    assert_int_equal(changed, 0);
}

static void test_kill9_at_random_moments_then_recover(void **state)
{
    char root[256], dir[300];
    assert_non_null(ep_tmpdir(root, sizeof root));
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    for (int round = 0; round < 2; round++) {
        snprintf(dir, sizeof dir, "%s/ep%d", root, round);
        int delay = rand() % 300;
        uint64_t flushed = write_and_kill(dir, delay);
        print_message("round %d (seed %u): killed after %d ms, %llu ticks flushed\n", round, seed, delay,
                      (unsigned long long)flushed);
        check_recovered(dir, flushed, round == 0);
    }
    ep_rmtree(root);
}

static void test_torn_journal_tail_is_dropped(void **state)
{
    char root[256], dir[300], j[340];
    assert_non_null(ep_tmpdir(root, sizeof root));
    snprintf(dir, sizeof dir, "%s/ep", root);
    uint64_t flushed = write_and_kill(dir, 30);
    /* a record cut in half, then garbage: what a crash mid-write leaves */
    snprintf(j, sizeof j, "%s/episode.journal", dir);
    FILE *f = fopen(j, "ab");
    static const unsigned char half[] = {0x54, 0x57, 0x52, 0x4a, 2, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 2, 3, 4, 9, 9};
    fwrite(half, 1, sizeof half, f);
    fclose(f);
    check_recovered(dir, flushed, 1);
    ep_rmtree(root);
}

/* A bit flipped on disk in the middle of the journal: the records before it are kept, the
 * rest is unreachable (no record boundary can be trusted after it), and nothing crashes. A
 * damaged head record makes recovery fail with a message instead. */
static void test_corrupt_journal_keeps_valid_prefix(void **state)
{
    char root[256], dir[300], j[340], msg[512];
    assert_non_null(ep_tmpdir(root, sizeof root));
    snprintf(dir, sizeof dir, "%s/ep", root);
    write_and_kill(dir, 100);
    snprintf(j, sizeof j, "%s/episode.journal", dir);
    struct stat st;
    assert_int_equal(stat(j, &st), 0);
    FILE *f = fopen(j, "r+b");
    fseek(f, st.st_size / 2, SEEK_SET);
    int c = fgetc(f);
    fseek(f, st.st_size / 2, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
    int changed = 0;
    assert_int_equal(tw_episode_recover(dir, &changed, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "torn tail dropped"));
    tw_episode *e = NULL;
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), 0);
    size_t nerr = 99;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0);
    assert_true(tw_episode_nsamples(e, EP_JOINTS) > 0);
    tw_episode_close_reader(e);

    snprintf(dir, sizeof dir, "%s/ep2", root);
    write_and_kill(dir, 10);
    snprintf(j, sizeof j, "%s/episode.journal", dir);
    f = fopen(j, "r+b");
    fseek(f, 40, SEEK_SET); /* inside the head record's JSON */
    fputc('#', f);
    fclose(f);
    assert_int_equal(tw_episode_recover(dir, &changed, msg, sizeof msg), TW_EINTEGRITY);
    assert_non_null(strstr(msg, "head"));
    assert_int_equal(changed, 0);
    ep_rmtree(root);
}

static void test_finished_episodes_untouched(void **state)
{
    char root[256], a[300], b[300], p[340];
    assert_non_null(ep_tmpdir(root, sizeof root));
    snprintf(a, sizeof a, "%s/done", root);
    snprintf(b, sizeof b, "%s/crashed", root);
    assert_int_equal(ep_write(a, 300, 100, 1, NULL, NULL), 0);
    write_and_kill(b, 10);
    snprintf(p, sizeof p, "%s/episode.h5", a);
    struct stat before, after;
    assert_int_equal(stat(p, &before), 0);
    int n[2] = {0, 0};
    char msg[256];
    assert_int_equal(tw_episode_recover_tree(root, NULL, NULL, msg, sizeof msg), 0);
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    assert_int_equal(before.st_size, after.st_size);
    tw_episode *e = NULL;
    assert_int_equal(tw_episode_open(a, &e, msg, sizeof msg), 0);
    assert_string_equal(tw_episode_get_meta(e)->status, TW_EP_COMPLETE);
    tw_episode_close_reader(e);
    assert_int_equal(tw_episode_open(b, &e, msg, sizeof msg), 0);
    assert_string_equal(tw_episode_get_meta(e)->status, TW_EP_INTERRUPTED);
    tw_episode_close_reader(e);
    (void)n;
    /* a directory that is no episode is an error, not a crash */
    int changed;
    assert_int_equal(tw_episode_recover(root, &changed, msg, sizeof msg), TW_ENOT_FOUND);
    ep_rmtree(root);
}

/* A program without video support must not recover a camera episode: it cannot read the video files, and
 * building the index as if they were empty would delete them. The journal stays for `tw recover`. */
static void test_recover_without_video_support_keeps_the_journal(void **state)
{
    char root[256], dir[300], j[340], v[340], msg[256];
    assert_non_null(ep_tmpdir(root, sizeof root));
    snprintf(dir, sizeof dir, "%s/ep", root);
    write_and_kill(dir, 10);
    const tw_episode_video *media = tw_episode_get_video();
    tw_episode_set_video(NULL);
    int changed = -1;
    int rc = tw_episode_recover(dir, &changed, msg, sizeof msg);
    tw_episode_set_video(media);
    assert_int_equal(rc, TW_EUNSUPPORTED);
    assert_non_null(strstr(msg, "video support"));
    snprintf(j, sizeof j, "%s/episode.journal", dir);
    snprintf(v, sizeof v, "%s/cam_h264.mkv", dir);
    assert_int_equal(access(j, F_OK), 0);
    assert_int_equal(access(v, F_OK), 0);
    assert_int_equal(tw_episode_recover(dir, &changed, msg, sizeof msg), 0); /* with it: recovered */
    assert_int_equal(changed, 1);
    ep_rmtree(root);
}

int main(void)
{
    tw_media_use_for_episodes(); /* as `tw recover` does: the fixture's episodes have cameras */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recover_without_video_support_keeps_the_journal),
        cmocka_unit_test(test_kill9_at_random_moments_then_recover),
        cmocka_unit_test(test_torn_journal_tail_is_dropped),
        cmocka_unit_test(test_corrupt_journal_keeps_valid_prefix),
        cmocka_unit_test(test_finished_episodes_untouched),
    };
    return cmocka_run_group_tests_name("episode_crash", tests, NULL, NULL);
}
