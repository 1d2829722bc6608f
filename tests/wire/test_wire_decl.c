/* Stream declaration rules (protocol.md "Stream declarations"), enum names, UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "wire_fixtures.h"

static char msg[512];

static void expect_invalid(const tw_stream_decl *d, int code, const char *needle)
{
    msg[0] = 0;
    int rc = tw_decl_validate(d, msg, sizeof msg);
    if (rc != code || !strstr(msg, needle))
        fail_msg("want %s containing '%s', got %s: %s", tw_err_name(code), needle, tw_err_name(rc), msg);
}

static void test_valid_decl_of_every_kind(void **s)
{
    tw_stream_decl ds[] = {
        fx_joint(1, "arm", 7),
        fx_vec(2, "wrist_ft", TW_KIND_WRENCH, 6),
        fx_vec(3, "cmd", TW_KIND_ACTION, 8),
        fx_video(4, "cam.wrist", TW_VIDEO_H264, 640, 480),
        fx_vec(5, "imu-0", TW_KIND_IMU, 10),
        fx_vec(6, "depth", TW_KIND_TENSOR, 16),
        fx_event(7, "events"),
    };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
        if (tw_decl_validate(&ds[i], msg, sizeof msg))
            fail_msg("%s: %s", ds[i].name, msg);
    assert_int_equal(tw_decl_sample_bytes(&ds[0]), 3 * 7 * 8);
    assert_int_equal(tw_decl_sample_bytes(&ds[1]), 6 * 4);
    assert_int_equal(tw_decl_sample_bytes(&ds[3]), 0);
    assert_int_equal(tw_decl_elems(&ds[0]), 21);
}

static void test_rejects_bad_names(void **s)
{
    tw_stream_decl d = fx_joint(1, "arm", 7);
    strcpy(d.name, "");
    expect_invalid(&d, TW_ESCHEMA, "empty name");
    strcpy(d.name, "arm/left");
    expect_invalid(&d, TW_ESCHEMA, "byte 0x2f at 3");
    strcpy(d.name, "arm left");
    expect_invalid(&d, TW_ESCHEMA, "allowed are");
    memset(d.name, 'a', sizeof d.name); /* not NUL-terminated */
    expect_invalid(&d, TW_ETOO_BIG, "longer than 63");
    d = fx_joint(0, "arm", 7);
    expect_invalid(&d, TW_ESCHEMA, "id 0 is reserved");
}

static void test_rejects_kind_dtype_mismatch(void **s)
{
    tw_stream_decl d = fx_video(4, "cam", TW_VIDEO_JPEG, 64, 48);
    d.dtype = TW_DTYPE_UINT8;
    expect_invalid(&d, TW_EDTYPE, "needs dtype bytes");
    d = fx_video(4, "cam", TW_VIDEO_JPEG, 64, 48);
    d.ndim = 1;
    d.shape[0] = 3;
    expect_invalid(&d, TW_ESHAPE, "ndim 0");
    d = fx_event(7, "ev");
    d.naxes = 1;
    strcpy(d.axes[0], "x");
    expect_invalid(&d, TW_ESHAPE, "has no axes");
    d = fx_joint(1, "arm", 7);
    d.dtype = TW_DTYPE_BYTES;
    expect_invalid(&d, TW_EDTYPE, "only for video and event");
    d = fx_joint(1, "arm", 7);
    d.dtype = TW_DTYPE_INT32;
    expect_invalid(&d, TW_EDTYPE, "needs float32 or float64");
    d = fx_joint(1, "arm", 7);
    d.dtype = (tw_dtype)99;
    expect_invalid(&d, TW_EDTYPE, "unknown dtype 99");
    d.kind = (tw_kind)42;
    expect_invalid(&d, TW_EKIND, "unknown kind 42");
}

static void test_rejects_bad_shapes(void **s)
{
    tw_stream_decl d = fx_joint(1, "arm", 7);
    d.shape[0] = 2;
    expect_invalid(&d, TW_ESHAPE, "[3, N]");
    d = fx_joint(1, "arm", 7);
    d.naxes = 6;
    expect_invalid(&d, TW_ESHAPE, "6 axis names for last dimension 7");
    d = fx_vec(2, "ft", TW_KIND_WRENCH, 7);
    expect_invalid(&d, TW_ESHAPE, "wrench shape must be [6]");
    d = fx_vec(2, "imu", TW_KIND_IMU, 9);
    expect_invalid(&d, TW_ESHAPE, "imu shape must be [10]");
    d = fx_vec(3, "t", TW_KIND_TENSOR, 4097);
    expect_invalid(&d, TW_ETOO_BIG, "4097 elements per sample exceeds limit 4096");
    d = fx_vec(3, "t", TW_KIND_TENSOR, 4);
    d.ndim = 4;
    d.shape[1] = d.shape[2] = d.shape[3] = 65536; /* product overflows 32 bits */
    expect_invalid(&d, TW_ETOO_BIG, "exceeds limit 4096");
    d.ndim = 5;
    expect_invalid(&d, TW_ESHAPE, "1..4 dims");
    d = fx_vec(3, "t", TW_KIND_TENSOR, 4);
    d.shape[0] = 0;
    expect_invalid(&d, TW_ESHAPE, "shape[0] is 0");
    d = fx_vec(3, "a", TW_KIND_ACTION, 4);
    d.ndim = 2;
    d.shape[1] = 2;
    expect_invalid(&d, TW_ESHAPE, "action shape must be [N]");
}

static void test_rejects_bad_rate_video_and_text(void **s)
{
    tw_stream_decl d = fx_joint(1, "arm", 7);
    d.rate_hz = 0;
    expect_invalid(&d, TW_ESCHEMA, "rate_hz");
    d.rate_hz = -5;
    expect_invalid(&d, TW_ESCHEMA, "rate_hz");
    d = fx_video(4, "cam", TW_VIDEO_NONE, 640, 480);
    expect_invalid(&d, TW_ESCHEMA, "needs encoding");
    d = fx_video(4, "cam", TW_VIDEO_H264, 0, 480);
    expect_invalid(&d, TW_ESCHEMA, "video size 0x480");
    d = fx_video(4, "cam", TW_VIDEO_RGB24, 4096, 4096);
    expect_invalid(&d, TW_ETOO_BIG, "rgb24 4096x4096");
    d = fx_joint(1, "arm", 7);
    d.width = 5;
    expect_invalid(&d, TW_ESCHEMA, "only for video");
    d = fx_joint(1, "arm", 7);
    strcpy(d.axes[2], "j\xff");
    expect_invalid(&d, TW_EUTF8, "axes[2]: invalid UTF-8 at byte 1");
    d = fx_joint(1, "arm", 7);
    strcpy(d.axes[3], "joint1");
    expect_invalid(&d, TW_ESCHEMA, "axes[3] repeats 'joint1'");
    d = fx_joint(1, "arm", 7);
    strcpy(d.units, "rad\n");
    expect_invalid(&d, TW_ESCHEMA, "units: control character");
}

static void test_enum_names_round_trip(void **s)
{
    for (int k = 0; k < TW_KIND__COUNT; k++)
        assert_int_equal(tw_kind_from_name(tw_kind_name((tw_kind)k)), k);
    for (int t = 0; t < TW_DTYPE__COUNT; t++)
        assert_int_equal(tw_dtype_from_name(tw_dtype_name((tw_dtype)t)), t);
    for (int e = 0; e <= TW_VIDEO_RGB24; e++)
        assert_int_equal(tw_video_enc_from_name(tw_video_enc_name((tw_video_enc)e)), e);
    for (int m = 0; m < TW_MSG__COUNT; m++)
        assert_int_equal(tw_msg_type_from_name(tw_msg_type_name((tw_msg_type)m)), m);
    assert_int_equal(tw_kind_from_name("camera"), -1);
    assert_int_equal(tw_dtype_from_name(NULL), -1);
    assert_string_equal(tw_kind_name((tw_kind)99), "?");
}

static void test_utf8_validator(void **s)
{
    size_t bad = 99;
    assert_true(tw_utf8_valid("plain ascii", 11, &bad));
    assert_true(tw_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, &bad)); /* é € 😀 */
    assert_false(tw_utf8_valid("ab\xc3", 3, &bad)); /* truncated sequence */
    assert_int_equal(bad, 2);
    assert_false(tw_utf8_valid("\xc0\xaf", 2, &bad)); /* overlong '/' */
    assert_int_equal(bad, 0);
    assert_false(tw_utf8_valid("x\xed\xa0\x80", 4, &bad)); /* UTF-16 surrogate */
    assert_int_equal(bad, 1);
    assert_false(tw_utf8_valid("\xf4\x90\x80\x80", 4, &bad)); /* > U+10FFFF */
    assert_false(tw_utf8_valid("\x80", 1, NULL));
    assert_true(tw_utf8_valid("", 0, &bad));
    char cut[] = "caf\xc3"; /* "café" cut in the middle of the é */
    assert_int_equal(tw_utf8_trim(cut), 3);
    assert_string_equal(cut, "caf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_decl_of_every_kind),
        cmocka_unit_test(test_rejects_bad_names),
        cmocka_unit_test(test_rejects_kind_dtype_mismatch),
        cmocka_unit_test(test_rejects_bad_shapes),
        cmocka_unit_test(test_rejects_bad_rate_video_and_text),
        cmocka_unit_test(test_enum_names_round_trip),
        cmocka_unit_test(test_utf8_validator),
    };
    return cmocka_run_group_tests_name("wire_decl", tests, NULL, NULL);
}
