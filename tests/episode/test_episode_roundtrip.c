/* Episode writer -> reader round trip with every stream kind, checked three ways: our reader
 * (exact values), h5py (tests/episode/check_episode.py) and ffprobe frame counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ep_fixture.h"
#include "tw_media.h"

#define TICKS 1200

typedef struct {
    char root[256], dir[300];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(ep_tmpdir(f->root, sizeof f->root));
    snprintf(f->dir, sizeof f->dir, "%s/ep", f->root);
    assert_int_equal(ep_write(f->dir, TICKS, 200, 1, NULL, NULL), 0);
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

static void check_fixed(tw_episode *e, int s)
{
    tw_stream_decl d[EP_NSTREAMS];
    ep_decls(d);
    int i = tw_episode_find_stream(e, d[s].name);
    assert_int_equal(i, s);
    uint64_t n = tw_episode_nsamples(e, (size_t)i);
    assert_int_equal(n, ep_count(s, TICKS));
    size_t elems = tw_decl_elems(&d[s]);
    enum { R = 97 }; /* odd range length: reads straddle chunk boundaries */
    int64_t ts[R], tr[R];
    uint64_t sq[R];
    double *data = malloc(R * elems * sizeof *data);
    char msg[256];
    for (uint64_t at = 0; at < n; at += R) {
        uint64_t c = n - at < R ? n - at : R;
        assert_int_equal(tw_episode_read(e, (size_t)i, at, c, ts, tr, sq, data, msg, sizeof msg), 0);
        for (uint64_t k = 0; k < c; k++) {
            assert_int_equal(sq[k], at + k);
            assert_int_equal(ts[k], ep_t_src(s, at + k));
            assert_int_equal(tr[k], ep_t_recv(s, at + k));
            for (size_t x = 0; x < elems; x++)
                assert_true(data[k * elems + x] == ep_value(s, at + k, x));
        }
    }
    free(data);
}

static void test_reader_gets_exact_values_of_every_kind(void **state)
{
    fx *f = *state;
    tw_episode *e = NULL;
    char msg[512];
    assert_int_equal(tw_episode_open(f->dir, &e, msg, sizeof msg), 0);
    const tw_episode_meta *m = tw_episode_get_meta(e);
    assert_string_equal(m->status, TW_EP_COMPLETE);
    assert_string_equal(m->task, "pick the red cube");
    assert_string_equal(m->operator_, "alice");
    assert_string_equal(m->robot, "panda-01");
    assert_string_equal(m->domain, "real");
    assert_int_equal(m->success, 1);
    assert_int_equal(m->format_major, 1);
    assert_non_null(strstr(tw_episode_get_json(e, "metadata"), "\"success_note\":\"ok\""));
    assert_null(tw_episode_get_json(e, "sim_params"));
    assert_int_equal(tw_episode_nstreams(e), EP_NSTREAMS);
    const tw_stream_decl *jd = tw_episode_decl(e, EP_JOINTS);
    assert_string_equal(jd->axes[6], "joint7");
    assert_string_equal(jd->units, "rad;rad/s;N*m");
    for (int s = 0; s < EP_NSTREAMS; s++)
        if (s != EP_EVENT && s < EP_H264)
            check_fixed(e, s);
    /* event-kind stream: texts */
    uint64_t n = tw_episode_nsamples(e, EP_EVENT);
    assert_int_equal(n, ep_count(EP_EVENT, TICKS));
    char **t = calloc(n, sizeof *t), want[128];
    assert_int_equal(tw_episode_read_text(e, EP_EVENT, 0, n, t, msg, sizeof msg), 0);
    for (uint64_t k = 0; k < n; k++) {
        ep_event_text(k, want, sizeof want);
        assert_string_equal(t[k], want);
        free(t[k]);
    }
    free(t);
    tw_episode_close_reader(e);
}

static void test_video_index_matches_file(void **state)
{
    fx *f = *state;
    tw_episode *e = NULL;
    char msg[512], path[512];
    assert_int_equal(tw_episode_open(f->dir, &e, msg, sizeof msg), 0);
    for (int s = EP_H264; s <= EP_RGB; s++) {
        tw_video_index_entry *v = NULL;
        size_t n = 0;
        assert_int_equal(tw_episode_read_video_index(e, (size_t)s, &v, &n, path, sizeof path, msg, sizeof msg), 0);
        assert_int_equal(n, ep_count(s, TICKS));
        assert_int_equal(tw_episode_nsamples(e, (size_t)s), n);
        uint64_t frames = 0, keys = 0, idx_keys = 0;
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(v[k].t_src_ns, ep_t_src(s, k));
            assert_int_equal(v[k].t_recv_ns, ep_t_recv(s, k));
            assert_true(v[k].size > 0);
            /* pts in ms from the first frame's source time */
            assert_int_equal(v[k].pts, (ep_t_src(s, k) - ep_t_src(s, 0)) / 1000000);
            idx_keys += v[k].keyframe;
        }
        assert_true(v[0].keyframe);
        free(v);
        assert_int_equal(tw_video_count_frames(path, &frames, &keys, msg, sizeof msg), 0);
        assert_int_equal(frames, n);
        assert_int_equal(keys, idx_keys);
        if (s == EP_H264)
            assert_int_equal(keys, (n + 7) / 8); /* gop 8 in the fixture: muxed as sent */
    }
    size_t ne = 0, nc = 0;
    tw_episode_ev *ev = NULL;
    tw_clock_sample *c = NULL;
    assert_int_equal(tw_episode_read_events(e, &ev, &ne, msg, sizeof msg), 0);
    assert_int_equal(ne, (TICKS + 999) / 1000);
    assert_string_equal(ev[1].label, "label 1000");
    assert_string_equal(ev[1].kind, "annotate");
    assert_string_equal(ev[1].data, "{\"by\":\"test\"}");
    assert_int_equal(ev[1].t_ns, ep_t_src(0, 1000));
    assert_int_equal(tw_episode_read_clock(e, &c, &nc, msg, sizeof msg), 0);
    assert_int_equal(nc, (TICKS + 499) / 500);
    assert_int_equal(c[2].offset_ns, 250000000 + 1000);
    assert_int_equal(c[2].rtt_ns, 40000);
    free(ev);
    free(c);
    size_t nerr = 99;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0);
    tw_episode_close_reader(e);
}

static void test_h5py_and_ffprobe_agree(void **state)
{
    fx *f = *state;
    const char *py = getenv("PYTHON"), *src = getenv("TW_SOURCE_ROOT");
    if (!py || !src)
        skip();
    assert_int_equal(ep_sh("%s %s/tests/episode/check_episode.py %s %d %d complete", py, src, f->dir, TICKS, TICKS), 0);
}

static void set_version(const char *dir, const char *v)
{
    char p[512];
    snprintf(p, sizeof p, "%s/episode.h5", dir);
    hid_t fh = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(fh >= 0);
    H5Adelete(fh, "format_version");
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t a = H5Acreate2(fh, "format_version", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Awrite(a, t, &v) >= 0);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t), H5Fclose(fh);
}

static void test_unknown_major_version_refused(void **state)
{
    fx *f = *state;
    tw_episode *e = NULL;
    char msg[512];
    set_version(f->dir, "1.7"); /* a newer minor: readable */
    assert_int_equal(tw_episode_open(f->dir, &e, msg, sizeof msg), 0);
    assert_int_equal(tw_episode_get_meta(e)->format_minor, 7);
    tw_episode_close_reader(e);
    set_version(f->dir, "2.0");
    assert_int_equal(tw_episode_open(f->dir, &e, msg, sizeof msg), TW_EVERSION);
    assert_null(e);
    assert_non_null(strstr(msg, "2.0"));
    set_version(f->dir, "1.0");
}

static void test_bad_calls_get_errors(void **state)
{
    fx *f = *state;
    tw_episode *e = NULL;
    char msg[512];
    assert_int_equal(tw_episode_open(f->dir, &e, msg, sizeof msg), 0);
    double d[64];
    assert_int_equal(tw_episode_read(e, EP_JOINTS, TICKS - 1, 2, NULL, NULL, NULL, d, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_episode_read(e, EP_H264, 0, 1, NULL, NULL, NULL, d, msg, sizeof msg), TW_EKIND);
    assert_int_equal(tw_episode_read(e, 99, 0, 1, NULL, NULL, NULL, NULL, msg, sizeof msg), TW_EINVAL);
    tw_episode_close_reader(e);
    tw_episode_close_reader(NULL);
    /* the writer refuses an existing directory, duplicate streams, unknown ids, wrong sizes */
    tw_stream_decl dd[EP_NSTREAMS];
    ep_decls(dd);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "x";
    tw_episode_writer *w = NULL;
    assert_int_equal(tw_episode_create(f->dir, &info, dd, 2, &w, msg, sizeof msg), TW_ESTATE);
    char d2[320];
    snprintf(d2, sizeof d2, "%s/dup", f->root);
    dd[1].id = dd[0].id;
    assert_int_equal(tw_episode_create(d2, &info, dd, 2, &w, msg, sizeof msg), TW_EDUP_STREAM);
    ep_decls(dd);
    assert_int_equal(tw_episode_create(d2, &info, dd, 2, &w, msg, sizeof msg), 0);
    uint8_t pay[8] = {0};
    tw_frame fr = {.stream_id = 9, .payload = pay, .payload_len = 8};
    assert_int_equal(tw_episode_append(w, &fr, 0, msg, sizeof msg), TW_EUNKNOWN_STREAM);
    fr.stream_id = 1;
    assert_int_equal(tw_episode_append(w, &fr, 0, msg, sizeof msg), TW_ESHAPE);
    /* an open episode is not readable yet, and says how to make it so */
    assert_int_equal(tw_episode_open(d2, &e, msg, sizeof msg), TW_ESTATE);
    assert_non_null(strstr(msg, "tw recover"));
    /* close in two steps: end (journal complete), then build (episode.h5) */
    assert_int_equal(tw_episode_end(w, TW_EP_ABORTED, 0, msg, sizeof msg), 0);
    assert_int_equal(tw_episode_open(d2, &e, msg, sizeof msg), TW_ESTATE);
    assert_int_equal(tw_episode_build(d2, NULL, msg, sizeof msg), 0);
    assert_int_equal(tw_episode_open(d2, &e, msg, sizeof msg), 0);
    assert_string_equal(tw_episode_get_meta(e)->status, TW_EP_ABORTED);
    assert_int_equal(tw_episode_nsamples(e, 0), 0);
    tw_episode_close_reader(e);
}

static void corrupt_and_open(const char *dir, const char *how)
{
    char src[512], cp[512], dst[600];
    snprintf(src, sizeof src, "%s", dir);
    snprintf(cp, sizeof cp, "%s-%s", dir, how);
    assert_int_equal(ep_sh("rm -rf '%s' && cp -r '%s' '%s'", cp, src, cp), 0);
    snprintf(dst, sizeof dst, "%s/episode.h5", cp);
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    if (!strcmp(how, "truncated")) {
        assert_int_equal(truncate(dst, st.st_size / 2), 0);
    } else {
        /* garbage over the middle third: chunks, b-tree nodes or heaps, wherever they fall */
        FILE *fp = fopen(dst, "r+b");
        fseek(fp, st.st_size / 3, SEEK_SET);
        for (long i = 0; i < st.st_size / 3; i++)
            fputc((int)((i * 7919) & 0xff), fp);
        fclose(fp);
    }
    tw_episode *e = NULL;
    char msg[512] = "";
    int rc = tw_episode_open(cp, &e, msg, sizeof msg);
    if (rc) {
        assert_true(rc < 0);
        assert_true(strlen(msg) > 10);
        assert_null(e);
    } else {
        /* structure survived: the damage must show up in the integrity check, not as a crash */
        size_t nerr = 0;
        tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg);
        assert_true(nerr > 0);
        tw_episode_close_reader(e);
    }
}

static void test_truncated_or_corrupt_file_is_an_error(void **state)
{
    fx *f = *state;
    corrupt_and_open(f->dir, "truncated");
    corrupt_and_open(f->dir, "garbage");
}

/* Readers on several threads at once (fuse, replay workers): the library serialises its
 * HDF5 use, so values stay exact and nothing crashes. */
static void *reader_thread(void *arg)
{
    const char *dir = arg;
    long bad = 0;
    for (int round = 0; round < 5; round++) {
        tw_episode *e = NULL;
        char msg[256];
        if (tw_episode_open(dir, &e, msg, sizeof msg) != 0)
            return (void *)1L;
        uint64_t n = tw_episode_nsamples(e, EP_WRENCH);
        double v[6];
        for (uint64_t k = 0; k < n; k += 7)
            if (tw_episode_read(e, EP_WRENCH, k, 1, NULL, NULL, NULL, v, msg, sizeof msg) != 0 || v[5] != ep_value(EP_WRENCH, k, 5))
                bad++;
        tw_episode_close_reader(e);
    }
    return (void *)bad;
}

static void test_concurrent_readers(void **state)
{
    fx *f = *state;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader_thread, f->dir), 0);
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_int_equal((long)r, 0);
    }
}

/* Sequence gaps become drops with counts; a resent seq is counted in duplicates and not stored
 * twice (tw_wire.h, "sequence numbers"), so the integrity check passes. */
static void test_gaps_and_drops_are_counted(void **state)
{
    fx *f = *state;
    char dir[320], msg[256];
    snprintf(dir, sizeof dir, "%s/gaps", f->root);
    tw_stream_decl d[EP_NSTREAMS];
    ep_decls(d);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "gaps";
    tw_episode_writer *w = NULL;
    assert_int_equal(tw_episode_create(dir, &info, &d[EP_WRENCH], 1, &w, msg, sizeof msg), 0);
    static const uint64_t seqs[] = {0, 1, 2, 5, 6, 6, 7, 10};
    static const int64_t ts[] = {0, 10, 20, 50, 60, 55, 70, 100};
    float pay[6] = {0};
    for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++) {
        tw_frame fr = {.stream_id = d[EP_WRENCH].id, .seq = seqs[k], .t_src_ns = ts[k], .payload = (uint8_t *)pay,
                       .payload_len = sizeof pay};
        assert_int_equal(tw_episode_append(w, &fr, ts[k], msg, sizeof msg), 0);
    }
    assert_int_equal(tw_episode_add_drops(w, d[EP_WRENCH].id, 3), 0);
    assert_int_equal(tw_episode_add_drops(w, 999, 1), TW_EUNKNOWN_STREAM);
    assert_int_equal(tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg), 0);
    tw_episode *e = NULL;
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), 0);
    tw_episode_stream_stats st;
    assert_int_equal(tw_episode_get_stats(e, 0, &st), 0);
    assert_int_equal(st.samples, 7);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.gaps, 2);
    assert_int_equal(st.missing, 4);
    assert_int_equal(st.recorder_drops, 3);
    /* The recorder's 3 drops are among the 4 holes in seq: 4 samples lost, not 7. */
    assert_int_equal(st.drops, 4);
    assert_int_equal(tw_episode_drops(e, 0), 4);
    assert_int_equal(st.out_of_order, 0);
    assert_int_equal(st.t_src_backwards, 0); /* the resend (t=55) was not stored */
    size_t nerr = 0;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0);
    tw_episode_close_reader(e);
}

/* recovery cuts a crashed video file to its index: packets copied, nothing re-encoded */
static void test_video_truncate_keeps_exact_frames(void **state)
{
    fx *f = *state;
    char cut[400], msg[256];
    snprintf(cut, sizeof cut, "%s/cut.mkv", f->root);
    assert_int_equal(ep_sh("cp %s/cam_h264.mkv %s", f->dir, cut), 0);
    assert_int_equal(tw_video_truncate(cut, 11, msg, sizeof msg), 0);
    uint64_t frames = 0, keys = 0;
    assert_int_equal(tw_video_count_frames(cut, &frames, &keys, msg, sizeof msg), 0);
    assert_int_equal(frames, 11);
    assert_int_equal(keys, 2); /* frames 0 and 8 */
    assert_int_equal(ep_sh("test $(ffprobe -v error -count_frames -select_streams v:0 -show_entries "
                           "stream=nb_read_frames -of csv=p=0 %s) = 11", cut), 0);
    assert_int_equal(tw_video_count_frames("/nonexistent.mkv", &frames, NULL, msg, sizeof msg), TW_ENOT_FOUND);
}

/* simgen promises the same bytes for the same seed: no timestamps may leak into the file */
static void write_sim(const char *dir)
{
    ep_gen g;
    assert_int_equal(ep_gen_init(&g), 0);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "sim-1";
    info.domain = "sim";
    info.sim_params_json = "{\"damping\":1.5}";
    tw_episode_writer *w = NULL;
    char msg[256];
    assert_int_equal(tw_episode_create(dir, &info, g.d, EP_H264, &w, msg, sizeof msg), 0);
    for (uint64_t k = 0; k < 300; k++)
        for (int s = 0; s < EP_H264; s++) {
            tw_frame f;
            assert_int_equal(ep_gen_frame(&g, s, k, &f), 0);
            assert_int_equal(tw_episode_append(w, &f, ep_t_recv(s, k), msg, sizeof msg), 0);
        }
    assert_int_equal(tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg), 0);
    ep_gen_free(&g);
}

static void test_sim_episode_is_byte_identical(void **state)
{
    fx *f = *state;
    char a[320], b[320];
    snprintf(a, sizeof a, "%s/sim-a", f->root);
    snprintf(b, sizeof b, "%s/sim-b", f->root);
    write_sim(a);
    sleep(1); /* a second later: any stored time would differ */
    write_sim(b);
    assert_int_equal(ep_sh("cmp -s %s/episode.h5 %s/episode.h5", a, b), 0);
    tw_episode *e = NULL;
    char msg[256];
    assert_int_equal(tw_episode_open(a, &e, msg, sizeof msg), 0);
    assert_string_equal(tw_episode_get_json(e, "sim_params"), "{\"damping\":1.5}");
    assert_string_equal(tw_episode_get_meta(e)->domain, "sim");
    tw_episode_close_reader(e);
}

/* The episode library links no video code: without a registered backend a camera stream is refused
 * cleanly (and nothing is left behind), with bridge/media registered it is stored. */
static void test_camera_stream_needs_a_video_backend(void **state)
{
    fx *f = *state;
    tw_stream_decl dd[EP_NSTREAMS];
    ep_decls(dd);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "novideo";
    char dir[320], msg[256];
    snprintf(dir, sizeof dir, "%s/novideo", f->root);
    tw_episode_writer *w = NULL;
    const tw_episode_video *media = tw_episode_get_video();
    assert_non_null(media);
    tw_episode_set_video(NULL);
    int rc = tw_episode_create(dir, &info, dd, EP_NSTREAMS, &w, msg, sizeof msg);
    tw_episode_set_video(media);
    assert_int_equal(rc, TW_EUNSUPPORTED);
    assert_non_null(strstr(msg, "no video support"));
    assert_null(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_camera_stream_needs_a_video_backend),
        cmocka_unit_test(test_reader_gets_exact_values_of_every_kind),
        cmocka_unit_test(test_video_index_matches_file),
        cmocka_unit_test(test_h5py_and_ffprobe_agree),
        cmocka_unit_test(test_unknown_major_version_refused),
        cmocka_unit_test(test_bad_calls_get_errors),
        cmocka_unit_test(test_truncated_or_corrupt_file_is_an_error),
        cmocka_unit_test(test_sim_episode_is_byte_identical),
        cmocka_unit_test(test_video_truncate_keeps_exact_frames),
        cmocka_unit_test(test_gaps_and_drops_are_counted),
        cmocka_unit_test(test_concurrent_readers),
    };
    return cmocka_run_group_tests_name("episode_roundtrip", tests, setup, teardown);
}
