/* bridge/media: raw RGB24 camera frames are encoded from exactly the caller's bytes. The caller's frame is
 * width*height*3 bytes with nothing after it; swscale's SIMD reads past the last row, so the writer must not
 * hand it the caller's buffer. Run under valgrind (tests/media/meson.build): "Invalid read of size 16" in
 * libswscale before the fix; ASan cannot see it (FFmpeg's assembly is not instrumented). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tw_media.h"

static void test_rgb_frames_of_exact_size_are_stored(void **state)
{
    char root[] = "/tmp/tw-rgb-XXXXXX", dir[64], msg[256];
    assert_non_null(mkdtemp(root));
    snprintf(dir, sizeof dir, "%s/ep", root);
    tw_media_use_for_episodes();
    tw_stream_decl d = {.id = 10, .kind = TW_KIND_VIDEO, .dtype = TW_DTYPE_BYTES, .encoding = TW_VIDEO_RGB24,
                        .width = 322, .height = 242,
                        .rate_hz = 30};
    snprintf(d.name, sizeof d.name, "cam0");
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "rgb";
    tw_episode_writer *w = NULL;
    assert_int_equal(tw_episode_create(dir, &info, &d, 1, &w, msg, sizeof msg), 0);
    size_t n = (size_t)d.width * d.height * 3;
    for (uint64_t k = 0; k < 5; k++) {
        uint8_t *px = malloc(n); /* exactly one frame: any read past it is a bug */
        assert_non_null(px);
        for (size_t i = 0; i < n; i++)
            px[i] = (uint8_t)(i * 7 + k);
        tw_frame f = {.stream_id = 10, .seq = k, .t_src_ns = (int64_t)k * 33333333, .payload = px,
                      .payload_len = (uint32_t)n};
        assert_int_equal(tw_episode_append(w, &f, f.t_src_ns, msg, sizeof msg), 0);
        free(px);
    }
    assert_int_equal(tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg), 0);
    tw_episode *e = NULL;
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), 0);
    size_t nerr = 99;
    assert_int_equal(tw_episode_verify(e, NULL, NULL, &nerr, msg, sizeof msg), 0);
    assert_int_equal(nerr, 0);
    tw_episode_close_reader(e);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rgb_frames_of_exact_size_are_stored),
    };
    return cmocka_run_group_tests_name("media_video_rgb", tests, NULL, NULL);
}
