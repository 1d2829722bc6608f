/* Self-numbering frames, pure part: draw and read back the frame number without a codec, and
 * refuse frames whose code is missing or damaged. (Through H.264: test_camera.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tw_media.h"

typedef struct {
    int w, h;
    size_t stride;
    uint8_t *rgb;
} frame;

static frame frame_new(int w, int h, size_t pad)
{
    frame f = {w, h, (size_t)w * 3 + pad, NULL};
    f.rgb = calloc(f.stride * (size_t)h, 1);
    assert_non_null(f.rgb);
    return f;
}

static uint32_t read_ok(const frame *f)
{
    uint32_t n = 0;
    char msg[256] = "";
    int rc = tw_framecode_read(f->rgb, f->w, f->h, f->stride, TW_PIX_RGB24, &n, msg, sizeof msg);
    if (rc)
        print_error("%s\n", msg);
    assert_int_equal(rc, 0);
    return n;
}

static void test_framecode_round_trip_sizes_and_numbers(void **state)
{
    const int sizes[][2] = {{640, 480}, {320, 240}, {331, 250}, {160, 120}, {1280, 720}};
    const uint32_t numbers[] = {0, 1, 2, 29, 30, 0x8000, 123456789u, 0xFFFFFFFEu, 0xFFFFFFFFu};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        frame f = frame_new(sizes[s][0], sizes[s][1], 5);
        for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
            assert_int_equal(tw_framecode_pattern(f.rgb, f.w, f.h, f.stride, numbers[i], NULL, 0), 0);
            assert_int_equal(read_ok(&f), numbers[i]);
        }
        free(f.rgb);
    }
}

static void test_framecode_reads_gray_plane(void **state)
{
    frame f = frame_new(320, 240, 0);
    uint8_t *y = malloc(320 * 240);
    assert_int_equal(tw_framecode_pattern(f.rgb, f.w, f.h, f.stride, 4242, NULL, 0), 0);
    for (int i = 0; i < 320 * 240; i++)
        y[i] = (uint8_t)((f.rgb[3 * i] * 77 + f.rgb[3 * i + 1] * 150 + f.rgb[3 * i + 2] * 29) >> 8);
    uint32_t n = 0;
    assert_int_equal(tw_framecode_read(y, 320, 240, 320, TW_PIX_GRAY8, &n, NULL, 0), 0);
    assert_int_equal(n, 4242);
    free(y);
    free(f.rgb);
}

/* Video-range levels, a brightness offset and pixel noise: what a codec and a camera do. */
static void test_framecode_survives_level_shift_and_noise(void **state)
{
    frame f = frame_new(640, 480, 0);
    srand(7);
    for (uint32_t n = 100; n < 140; n++) {
        assert_int_equal(tw_framecode_pattern(f.rgb, f.w, f.h, f.stride, n, NULL, 0), 0);
        for (size_t i = 0; i < f.stride * 480; i++) {
            int v = 16 + f.rgb[i] * 219 / 255 + 10 + (rand() % 41) - 20;
            f.rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        assert_int_equal(read_ok(&f), n);
    }
    free(f.rgb);
}

static void test_framecode_rejects_frame_without_code(void **state)
{
    frame f = frame_new(640, 480, 0);
    char msg[256] = "";
    uint32_t n = 77;
    /* All black: no markers. */
    assert_int_equal(tw_framecode_read(f.rgb, f.w, f.h, f.stride, TW_PIX_RGB24, &n, msg, sizeof msg), TW_EINTEGRITY);
    assert_non_null(strstr(msg, "markers"));
    /* Mid grey everywhere. */
    memset(f.rgb, 128, f.stride * 480);
    assert_int_equal(tw_framecode_read(f.rgb, f.w, f.h, f.stride, TW_PIX_RGB24, &n, msg, sizeof msg), TW_EINTEGRITY);
    assert_int_equal(n, 77); /* untouched on failure */
    free(f.rgb);
}

/* Paints data cell k of row `row` (cell size c) with grey level v. */
static void paint_cell(frame *f, int row, int k, uint8_t v)
{
    int c = tw_framecode_cell(f->w, f->h);
    for (int y = row * c; y < (row + 1) * c; y++)
        memset(f->rgb + (size_t)y * f->stride + (size_t)k * c * 3, v, (size_t)c * 3);
}

static void test_framecode_rejects_flipped_bit_and_grey_cell(void **state)
{
    frame f = frame_new(320, 240, 0);
    char msg[256] = "";
    uint32_t n;
    for (int row = 0; row < 3; row++) {
        for (int k = 2; k < 18; k += 5) {
            assert_int_equal(tw_framecode_pattern(f.rgb, f.w, f.h, f.stride, 0x5A5A1234u, NULL, 0), 0);
            int c = tw_framecode_cell(f.w, f.h);
            uint8_t old = f.rgb[((size_t)(row * c + c / 2) * f.stride) + (size_t)(k * c + c / 2) * 3];
            paint_cell(&f, row, k, old ? 0 : 255);
            assert_int_equal(tw_framecode_read(f.rgb, f.w, f.h, f.stride, TW_PIX_RGB24, &n, msg, sizeof msg),
                             TW_EINTEGRITY);
            assert_non_null(strstr(msg, "checksum"));
            paint_cell(&f, row, k, 128);
            assert_int_equal(tw_framecode_read(f.rgb, f.w, f.h, f.stride, TW_PIX_RGB24, &n, msg, sizeof msg),
                             TW_EINTEGRITY);
            assert_non_null(strstr(msg, "ambiguous"));
        }
    }
    free(f.rgb);
}

static void test_framecode_rejects_bad_arguments(void **state)
{
    uint8_t px[159 * 120 * 3] = {0};
    uint32_t n;
    char msg[256] = "";
    assert_int_equal(tw_framecode_cell(159, 120), 0);
    assert_int_equal(tw_framecode_cell(640, 95), 0); /* band needs 3 * 32 rows */
    assert_int_equal(tw_framecode_draw(px, 159, 120, 159 * 3, 1, msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, "159x120"));
    assert_int_equal(tw_framecode_read(px, 159, 120, 159 * 3, TW_PIX_RGB24, &n, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_framecode_read(NULL, 320, 240, 960, TW_PIX_RGB24, &n, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_framecode_read(px, 160, 120, 100, TW_PIX_RGB24, &n, msg, sizeof msg), TW_EINVAL);
    assert_int_equal(tw_framecode_read(px, 160, 120, 480, (tw_pixfmt)9, &n, msg, sizeof msg), TW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framecode_round_trip_sizes_and_numbers),
        cmocka_unit_test(test_framecode_reads_gray_plane),
        cmocka_unit_test(test_framecode_survives_level_shift_and_noise),
        cmocka_unit_test(test_framecode_rejects_frame_without_code),
        cmocka_unit_test(test_framecode_rejects_flipped_bit_and_grey_cell),
        cmocka_unit_test(test_framecode_rejects_bad_arguments),
    };
    return cmocka_run_group_tests_name("framecode", tests, NULL, NULL);
}
