/* GStreamer camera source and video read-back, end to end: real x264 encoding, real libavcodec
 * decoding, frame numbers read from the pixels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tw_media.h"

#define FRAME_NS 33333333LL
#ifndef TW_TEST_LOW_KBPS
#define TW_TEST_LOW_KBPS 256 /* 1/8 of the default; at 64 kbps x264 starves and leaves the band stale */
#endif

static int is_annexb(const uint8_t *p, size_t n)
{
    return n > 4 && p[0] == 0 && p[1] == 0 && (p[2] == 1 || (p[2] == 0 && p[3] == 1));
}

/* Decodes every pending frame of d and checks its number is the next expected one. */
static void drain_and_check(tw_vdecode *d, uint32_t *expect, int64_t *last_pts)
{
    tw_vframe f;
    char msg[256];
    int rc;
    while ((rc = tw_vdecode_next(d, &f, msg, sizeof msg)) == 0) {
        uint32_t n = 0;
        rc = tw_framecode_read(f.data, f.width, f.height, f.stride, f.fmt, &n, msg, sizeof msg);
        if (rc)
            print_error("frame %u: %s\n", *expect, msg);
        assert_int_equal(rc, 0);
        assert_int_equal(n, *expect);
        assert_true(f.pts > *last_pts);
        *last_pts = f.pts;
        (*expect)++;
    }
    assert_true(rc == TW_VDECODE_AGAIN || rc == TW_VDECODE_END);
}

/* Push mode: numbered frames in, H.264 out, decoded, numbers read back in order. */
static void push_round_trip(int w, int h, int nframes, tw_pixfmt fmt, int kbps)
{
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    o.width = w;
    o.height = h;
    o.bitrate_kbps = kbps;
    tw_camera *cam = NULL;
    tw_vdecode *dec = NULL;
    char msg[512] = "";
    int rc = tw_camera_open_push(&o, &cam, msg, sizeof msg);
    if (rc)
        print_error("%s\n", msg);
    assert_int_equal(rc, 0);
    assert_int_equal(tw_vdecode_open_h264(fmt, &dec, msg, sizeof msg), 0);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    uint32_t expect = 0;
    int64_t last_pts = -1, t0 = 5000000000LL; /* simulated timeline, starts at 5 s */
    for (int i = 0; i < nframes; i++) {
        int64_t ts = t0 + i * FRAME_NS;
        assert_int_equal(tw_framecode_pattern(rgb, w, h, (size_t)w * 3, (uint32_t)i, NULL, 0), 0);
        tw_camera_au au;
        rc = tw_camera_encode(cam, rgb, (size_t)w * 3, ts, &au, msg, sizeof msg);
        if (rc)
            print_error("%s\n", msg);
        assert_int_equal(rc, 0);
        assert_int_equal(au.index, (uint64_t)i);
        assert_int_equal(au.ts_ns, ts);
        assert_int_equal(au.keyframe, i % o.key_int_max == 0);
        assert_true(is_annexb(au.data, au.size));
        assert_int_equal(tw_vdecode_send(dec, au.data, au.size, ts, msg, sizeof msg), 0);
        drain_and_check(dec, &expect, &last_pts);
    }
    assert_int_equal(tw_vdecode_send(dec, NULL, 0, 0, msg, sizeof msg), 0);
    drain_and_check(dec, &expect, &last_pts);
    assert_int_equal(expect, (uint32_t)nframes);
    assert_int_equal(tw_camera_end(cam, msg, sizeof msg), 0);
    tw_camera_au au;
    assert_int_equal(tw_camera_pull(cam, 5000, &au, msg, sizeof msg), TW_ECLOSED);
    free(rgb);
    tw_vdecode_close(dec);
    tw_camera_close(cam);
}

static void test_push_h264_frame_numbers_640x480(void **state) { push_round_trip(640, 480, 45, TW_PIX_RGB24, 2048); }
static void test_push_h264_frame_numbers_320x240(void **state) { push_round_trip(320, 240, 45, TW_PIX_GRAY8, 2048); }
/* Starved encoder (high quantiser, visible blocking): the code must still read. */
static void test_push_h264_frame_numbers_low_bitrate(void **state)
{
    push_round_trip(320, 240, 45, TW_PIX_RGB24, TW_TEST_LOW_KBPS);
    push_round_trip(640, 480, 45, TW_PIX_GRAY8, TW_TEST_LOW_KBPS);
}

/* A push-mode camera with the default encoder settings at 320x240. */
static tw_camera *open_push_320x240(void)
{
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    o.width = 320;
    o.height = 240;
    tw_camera *cam = NULL;
    char msg[256] = "";
    assert_int_equal(tw_camera_open_push(&o, &cam, msg, sizeof msg), 0);
    return cam;
}

static void test_push_rejects_non_increasing_timestamps(void **state)
{
    char msg[256] = "";
    tw_camera *cam = open_push_320x240();
    uint8_t *rgb = calloc(320 * 240, 3);
    tw_camera_au au;
    assert_int_equal(tw_camera_encode(cam, rgb, 960, 1000, &au, msg, sizeof msg), 0);
    assert_int_equal(tw_camera_push(cam, rgb, 960, 1000, msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, "not after"));
    assert_int_equal(tw_camera_push(cam, rgb, 100, 2000, msg, sizeof msg), TW_EINVAL);
    free(rgb);
    tw_camera_close(cam);
}

/* An episode boundary in the middle of a GOP: the forced frame is an IDR that decodes on its own. */
static void test_push_force_keyframe_starts_decodable_stream(void **state)
{
    char msg[256] = "";
    tw_camera *cam = open_push_320x240();
    uint8_t *rgb = malloc(320 * 240 * 3);
    tw_camera_au au;
    for (int i = 0; i < 20; i++) {
        if (i == 12)
            assert_int_equal(tw_camera_force_keyframe(cam, msg, sizeof msg), 0);
        tw_framecode_pattern(rgb, 320, 240, 960, (uint32_t)i, NULL, 0);
        assert_int_equal(tw_camera_encode(cam, rgb, 960, (int64_t)i * FRAME_NS, &au, msg, sizeof msg), 0);
        assert_int_equal(au.keyframe, i == 0 || i == 12);
        if (i == 12) {
            /* A fresh decoder, as a reader of the new episode's file would have. */
            tw_vdecode *dec = NULL;
            tw_vframe f;
            uint32_t n = 0;
            assert_int_equal(tw_vdecode_open_h264(TW_PIX_GRAY8, &dec, msg, sizeof msg), 0);
            assert_int_equal(tw_vdecode_send(dec, au.data, au.size, 0, msg, sizeof msg), 0);
            assert_int_equal(tw_vdecode_next(dec, &f, msg, sizeof msg), 0);
            assert_int_equal(tw_framecode_read(f.data, f.width, f.height, f.stride, f.fmt, &n, msg, sizeof msg), 0);
            assert_int_equal(n, 12);
            tw_vdecode_close(dec);
        }
    }
    free(rgb);
    tw_camera_close(cam);
}

static tw_camera *open_ball(tw_camera_opts *o)
{
    tw_camera *cam = NULL;
    char msg[512] = "";
    int rc = tw_camera_open("videotestsrc pattern=ball", o, &cam, msg, sizeof msg);
    if (rc)
        print_error("%s\n", msg);
    assert_int_equal(rc, 0);
    return cam;
}

static void test_pull_videotestsrc_keyframe_first_monotonic(void **state)
{
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    o.width = 320;
    o.height = 240;
    o.sync = 0;
    o.base_ns_set = 1;
    o.base_ns = 1000000000LL;
    tw_camera *cam = open_ball(&o);
    char msg[256];
    int keys = 0;
    for (int i = 0; i < 40; i++) {
        tw_camera_au au;
        int rc = tw_camera_pull(cam, 5000, &au, msg, sizeof msg);
        if (rc)
            print_error("%s\n", msg);
        assert_int_equal(rc, 0);
        assert_true(is_annexb(au.data, au.size));
        if (i == 0)
            assert_true(au.keyframe);
        keys += au.keyframe;
        /* videotestsrc stamps frame i at i/30 s of running time; base_ns maps it onto our clock. */
        assert_int_equal(au.ts_ns, o.base_ns + (int64_t)i * 1000000000LL / 30);
    }
    assert_int_equal(keys, 2); /* key-int-max=30: frames 0 and 30 */
    tw_camera_close(cam);
}

static int64_t add_offset(int64_t mono, void *user) { return mono + *(int64_t *)user; }

static void test_pull_monotonic_clock_and_callback(void **state)
{
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    o.width = 160;
    o.height = 120;
    int64_t offset = 7000000000000LL;
    o.clock_fn = add_offset;
    o.clock_user = &offset;
    tw_camera *cam = open_ball(&o); /* sync=1: paced at 30 fps on the real clock */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + offset;
    char msg[256];
    int64_t prev = 0;
    for (int i = 0; i < 5; i++) {
        tw_camera_au au;
        assert_int_equal(tw_camera_pull(cam, 5000, &au, msg, sizeof msg), 0);
        assert_true(au.ts_ns > prev);
        /* Capture times lie on the caller's clock, near now (generous: this is not a timing test). */
        assert_true(au.ts_ns > now - 5000000000LL && au.ts_ns < now + 5000000000LL);
        prev = au.ts_ns;
    }
    tw_camera_close(cam);
}

static void test_open_rejects_bad_pipelines(void **state)
{
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    tw_camera *cam = (tw_camera *)0x1;
    char msg[512] = "";
    assert_int_equal(tw_camera_open("nosuchsrc_xyz pattern=ball", &o, &cam, msg, sizeof msg), TW_EGST);
    assert_null(cam);
    assert_non_null(strstr(msg, "nosuchsrc_xyz"));
    assert_int_equal(tw_camera_open("videotestsrc ! ! !", &o, &cam, msg, sizeof msg), TW_EGST);
    assert_int_equal(tw_camera_open("v4l2src device=/dev/tw_no_such_video", &o, &cam, msg, sizeof msg), TW_EGST);
    assert_non_null(strstr(msg, "tw_no_such_video"));
    assert_int_equal(tw_camera_open("", &o, &cam, msg, sizeof msg), TW_EINVAL);
    o.width = 0;
    assert_int_equal(tw_camera_open("videotestsrc", &o, &cam, msg, sizeof msg), TW_EINVAL);
    tw_camera_close(NULL);
}

/* Writes n numbered frames as raw RGB to path. */
static void write_raw_frames(const char *path, int w, int h, int n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < n; i++) {
        tw_framecode_pattern(rgb, w, h, (size_t)w * 3, (uint32_t)i, NULL, 0);
        assert_int_equal(fwrite(rgb, (size_t)w * h * 3, 1, fp), 1);
    }
    free(rgb);
    fclose(fp);
}

/* Decodes a whole file and checks frame i carries number i with pts i/30 s. */
static void check_file(const char *path, int n, tw_pixfmt fmt)
{
    tw_vdecode *d = NULL;
    char msg[512] = "";
    int rc = tw_vdecode_open(path, fmt, &d, msg, sizeof msg);
    if (rc)
        print_error("%s\n", msg);
    assert_int_equal(rc, 0);
    tw_vframe f;
    int i = 0;
    while ((rc = tw_vdecode_next(d, &f, msg, sizeof msg)) == 0) {
        uint32_t num = 0;
        assert_int_equal(tw_framecode_read(f.data, f.width, f.height, f.stride, fmt, &num, msg, sizeof msg), 0);
        assert_int_equal(num, (uint32_t)i);
        assert_int_equal(f.index, (uint64_t)i);
        assert_true(llabs(f.pts_ns - (int64_t)i * 1000000000LL / 30) <= 1000000); /* mkv: ms ticks */
        i++;
    }
    assert_int_equal(rc, TW_VDECODE_END);
    assert_int_equal(i, n);
    tw_vdecode_close(d);
}

static void test_vdecode_reads_mkv_mp4_h264_and_mjpeg(void **state)
{
    char dir[] = "/tmp/tw_camera_test_XXXXXX", raw[128], mkv[128], cmd[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(raw, sizeof raw, "%s/frames.rgb", dir);
    write_raw_frames(raw, 320, 240, 40);
    /* What a recorder writes: H.264 in Matroska or MP4, MJPEG in Matroska. */
    const char *codecs[] = {"libx264 -preset ultrafast -tune zerolatency", "mjpeg -q:v 5", "libx264 -preset ultrafast"};
    const char *ext[] = {"mkv", "mkv", "mp4"};
    for (int c = 0; c < 3; c++) {
        snprintf(mkv, sizeof mkv, "%s/v%d.%s", dir, c, ext[c]);
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt rgb24 -s 320x240 -r 30 -i %s "
                 "-c:v %s -pix_fmt yuv420p %s", raw, codecs[c], mkv);
        assert_int_equal(system(cmd), 0);
        check_file(mkv, 40, c == 1 ? TW_PIX_GRAY8 : TW_PIX_RGB24);
        unlink(mkv);
    }
    unlink(raw);
    rmdir(dir);
}

static void test_vdecode_rejects_missing_and_corrupt_files(void **state)
{
    tw_vdecode *d = (tw_vdecode *)0x1;
    char msg[512] = "";
    assert_int_equal(tw_vdecode_open("/nonexistent/video.mkv", TW_PIX_RGB24, &d, msg, sizeof msg), TW_EAV);
    assert_null(d);
    assert_non_null(strstr(msg, "/nonexistent/video.mkv"));
    char path[] = "/tmp/tw_camera_junk_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "this is not a video file at all", 31), 31);
    close(fd);
    assert_true(tw_vdecode_open(path, TW_PIX_RGB24, &d, msg, sizeof msg) < 0);
    unlink(path);
    /* AU mode: garbage bytes are an error, not a frame. */
    assert_int_equal(tw_vdecode_open_h264(TW_PIX_RGB24, &d, msg, sizeof msg), 0);
    uint8_t junk[64];
    memset(junk, 0xAB, sizeof junk);
    junk[0] = junk[1] = junk[2] = 0;
    junk[3] = 1;
    int rc = tw_vdecode_send(d, junk, sizeof junk, 0, msg, sizeof msg);
    tw_vframe f;
    if (rc == 0)
        rc = tw_vdecode_next(d, &f, msg, sizeof msg);
    assert_true(rc != 0);
    tw_vdecode_close(d);
    tw_vdecode_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_h264_frame_numbers_640x480),
        cmocka_unit_test(test_push_h264_frame_numbers_320x240),
        cmocka_unit_test(test_push_h264_frame_numbers_low_bitrate),
        cmocka_unit_test(test_push_rejects_non_increasing_timestamps),
        cmocka_unit_test(test_push_force_keyframe_starts_decodable_stream),
        cmocka_unit_test(test_pull_videotestsrc_keyframe_first_monotonic),
        cmocka_unit_test(test_pull_monotonic_clock_and_callback),
        cmocka_unit_test(test_open_rejects_bad_pipelines),
        cmocka_unit_test(test_vdecode_reads_mkv_mp4_h264_and_mjpeg),
        cmocka_unit_test(test_vdecode_rejects_missing_and_corrupt_files),
    };
    return cmocka_run_group_tests_name("camera", tests, NULL, NULL);
}
