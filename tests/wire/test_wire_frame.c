/* Binary frames: byte layout, multi-frame messages, and every malformed case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "wire_fixtures.h"

enum { ARM = 1, FT = 2, CAM = 3, EV = 4, RAW = 5, JPG = 6 };

typedef struct {
    tw_stream_table *t;
    uint8_t *buf; /* scratch message buffer */
    size_t cap, len;
    char msg[512];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tw_stream_decl ds[] = {fx_joint(ARM, "arm", 7), fx_vec(FT, "ft", TW_KIND_WRENCH, 6),
                           fx_video(CAM, "cam", TW_VIDEO_H264, 64, 48), fx_event(EV, "events"),
                           fx_video(RAW, "raw", TW_VIDEO_RGB24, 4, 2), fx_video(JPG, "jpg", TW_VIDEO_JPEG, 8, 8)};
    if (!f || tw_stream_table_new(&f->t))
        return -1;
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
        if (tw_stream_table_add(f->t, &ds[i], f->msg, sizeof f->msg))
            return -1;
    f->cap = 1 << 16;
    f->buf = calloc(1, f->cap);
    *state = f;
    return f->buf ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tw_stream_table_free(f->t);
    free(f->buf);
    free(f);
    return 0;
}

/* Appends one frame to the fixture's message. */
static void add(fixture *f, uint16_t id, uint16_t flags, uint64_t seq, int64_t t, const void *p, uint32_t n)
{
    tw_frame fr = {.stream_id = id, .flags = flags, .payload_len = n, .seq = seq, .t_src_ns = t, .payload = p};
    size_t w = tw_frame_encode(f->buf + f->len, f->cap - f->len, &fr);
    assert_int_equal(w, TW_FRAME_HEADER_SIZE + n);
    f->len += w;
}

/* Decodes the fixture's message with the table; returns the first error (0 = clean end). */
static int decode_all(fixture *f, size_t *nframes)
{
    tw_frame_iter it;
    tw_frame fr;
    int rc;
    tw_frame_iter_init(&it, f->buf, f->len);
    *nframes = 0;
    while ((rc = tw_frame_next(&it, f->t, &fr, f->msg, sizeof f->msg)) == 1)
        (*nframes)++;
    return rc;
}

static void expect_error(fixture *f, int code, const char *needle)
{
    size_t n;
    f->msg[0] = 0;
    int rc = decode_all(f, &n);
    if (rc != code || !strstr(f->msg, needle))
        fail_msg("want %s containing '%s', got %s: %s", tw_err_name(code), needle, tw_err_name(rc), f->msg);
}

static void test_header_layout_is_little_endian(void **state)
{
    fixture *f = *state;
    const uint8_t payload[3] = {0xAA, 0xBB, 0xCC};
    tw_frame fr = {.stream_id = 0x0102, .flags = TW_FLAG_KEYFRAME, .payload_len = 3,
                   .seq = 0x0807060504030201ull, .t_src_ns = -2, .payload = payload};
    const uint8_t want[27] = {0x02, 0x01, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                              0x07, 0x08, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xAA, 0xBB, 0xCC};
    assert_int_equal(tw_frame_encode(f->buf, f->cap, &fr), 27);
    assert_memory_equal(f->buf, want, 27);
    assert_int_equal(tw_frame_encode(f->buf, 26, &fr), 0); /* too small: nothing claimed */
    tw_frame_iter it;
    tw_frame out;
    tw_frame_iter_init(&it, want, sizeof want);
    assert_int_equal(tw_frame_next(&it, NULL, &out, f->msg, sizeof f->msg), 1);
    assert_int_equal(out.stream_id, 0x0102);
    assert_int_equal(out.flags, TW_FLAG_KEYFRAME);
    assert_true(out.seq == 0x0807060504030201ull);
    assert_true(out.t_src_ns == -2);
    assert_ptr_equal(out.payload, want + 24);
    assert_int_equal(tw_frame_next(&it, NULL, &out, f->msg, sizeof f->msg), 0);
}

static void test_round_trip_many_frames_of_every_kind(void **state)
{
    fixture *f = *state;
    double js[21];
    float ft[6] = {1, 2, 3, 4, 5, 6};
    const uint8_t au[] = {0, 0, 0, 1, 0x65, 0x88, 0x84};
    const char ev[] = "{\"kind\":\"grasp\",\"label\":\"cube\"}";
    uint8_t rgb[4 * 2 * 3] = {0};
    const uint8_t jpg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10};
    for (int i = 0; i < 21; i++)
        js[i] = i * 0.5;
    for (uint64_t s = 0; s < 100; s++)
        add(f, ARM, 0, s, (int64_t)(s * 2000000), js, sizeof js);
    add(f, FT, 0, 0, 5, ft, sizeof ft);
    add(f, CAM, TW_FLAG_KEYFRAME, 0, 6, au, sizeof au);
    add(f, EV, 0, 0, 7, ev, sizeof ev - 1);
    add(f, RAW, TW_FLAG_DISCONT, 9, 8, rgb, sizeof rgb);
    add(f, JPG, 0, 0, 9, jpg, sizeof jpg);
    tw_frame_iter it;
    tw_frame fr;
    tw_frame_iter_init(&it, f->buf, f->len);
    for (uint64_t s = 0; s < 100; s++) {
        assert_int_equal(tw_frame_next(&it, f->t, &fr, f->msg, sizeof f->msg), 1);
        assert_true(fr.seq == s && fr.stream_id == ARM && fr.t_src_ns == (int64_t)(s * 2000000));
        assert_memory_equal(fr.payload, js, sizeof js);
    }
    int kinds[] = {FT, CAM, EV, RAW, JPG};
    for (int k = 0; k < 5; k++) {
        if (tw_frame_next(&it, f->t, &fr, f->msg, sizeof f->msg) != 1)
            fail_msg("%s", f->msg);
        assert_int_equal(fr.stream_id, kinds[k]);
    }
    assert_int_equal(tw_frame_next(&it, f->t, &fr, f->msg, sizeof f->msg), 0);
    assert_int_equal(it.index, 105);
}

static void test_rejects_truncated_header(void **state)
{
    fixture *f = *state;
    double js[21] = {0};
    add(f, ARM, 0, 0, 0, js, sizeof js);
    f->len += 10; /* 10 stray bytes after a good frame */
    expect_error(f, TW_ETRUNCATED, "frame 1 at byte 192: 10 bytes left, header needs 24");
}

static void test_rejects_truncated_payload(void **state)
{
    fixture *f = *state;
    double js[21] = {0};
    add(f, ARM, 0, 0, 0, js, sizeof js);
    f->len -= 1;
    expect_error(f, TW_ETRUNCATED, "frame 0 at byte 0: payload_len 168 but only 167 bytes follow");
    /* without a table only the framing is checked, and the same error appears */
    tw_frame_iter it;
    tw_frame fr;
    tw_frame_iter_init(&it, f->buf, f->len);
    assert_int_equal(tw_frame_next(&it, NULL, &fr, f->msg, sizeof f->msg), TW_ETRUNCATED);
    /* the iterator stays at the error */
    assert_int_equal(tw_frame_next(&it, NULL, &fr, f->msg, sizeof f->msg), TW_ETRUNCATED);
}

static void test_rejects_length_overflow(void **state)
{
    fixture *f = *state;
    const uint8_t au[] = {0, 0, 1, 0x65};
    add(f, CAM, 0, 0, 0, au, sizeof au);
    f->buf[4] = f->buf[5] = f->buf[6] = f->buf[7] = 0xFF; /* payload_len = UINT32_MAX */
    expect_error(f, TW_ETOO_BIG, "payload_len 4294967295 exceeds video limit 8388608");
    f->buf[7] = 0x7F;
    tw_frame_iter it;
    tw_frame fr;
    tw_frame_iter_init(&it, f->buf, f->len);
    assert_int_equal(tw_frame_next(&it, NULL, &fr, f->msg, sizeof f->msg), TW_ETOO_BIG);
    assert_non_null(strstr(f->msg, "payload_len 2147483647 exceeds limit 8388608"));
    /* just under the limit but beyond the buffer: truncated, never an out-of-bounds read */
    f->buf[4] = 0x00; f->buf[5] = 0x00; f->buf[6] = 0x80; f->buf[7] = 0x00;
    expect_error(f, TW_ETRUNCATED, "payload_len 8388608 but only 4 bytes follow");
}

static void test_rejects_unknown_stream_and_flags(void **state)
{
    fixture *f = *state;
    float ft[6] = {0};
    add(f, FT, 0, 0, 0, ft, sizeof ft);
    add(f, 77, 0, 0, 0, ft, sizeof ft);
    expect_error(f, TW_EUNKNOWN_STREAM, "frame 1 at byte 48: stream id 77 was not declared");
    f->len = 0;
    add(f, FT, 0x0100, 0, 0, ft, sizeof ft);
    expect_error(f, TW_EINVAL, "unknown flag bits 0x0100");
}

static void test_rejects_wrong_payload_size(void **state)
{
    fixture *f = *state;
    double js[21] = {0};
    add(f, ARM, 0, 0, 0, js, 3 * 7 * 4); /* float32-sized payload for a float64 stream */
    expect_error(f, TW_ESHAPE, "payload_len 84, but joint_state float64 x 21 needs 168 bytes");
    f->len = 0;
    uint8_t rgb[23] = {0};
    add(f, RAW, 0, 0, 0, rgb, sizeof rgb);
    expect_error(f, TW_ESHAPE, "rgb24 4x2 needs 24 bytes, payload_len 23");
    f->len = 0;
    add(f, CAM, 0, 0, 0, rgb, 0);
    expect_error(f, TW_ESHAPE, "empty video payload");
}

static void test_rejects_bad_video_and_event_payloads(void **state)
{
    fixture *f = *state;
    const uint8_t notau[] = {1, 2, 3, 4};
    add(f, CAM, 0, 0, 0, notau, sizeof notau);
    expect_error(f, TW_ESCHEMA, "Annex-B start code");
    f->len = 0;
    add(f, JPG, 0, 0, 0, notau, sizeof notau);
    expect_error(f, TW_ESCHEMA, "SOI (FF D8)");
    f->len = 0;
    add(f, EV, 0, 0, 0, "{\"k\":\"\xff\"}", 9);
    expect_error(f, TW_EUTF8, "invalid UTF-8 at payload byte 6");
    f->len = 0;
    add(f, EV, 0, 0, 0, "{\"k\":", 5);
    expect_error(f, TW_EJSON, "event payload");
    f->len = 0;
    add(f, EV, 0, 0, 0, "[1,2]", 5);
    expect_error(f, TW_ESCHEMA, "must be a JSON object");
    f->len = 0;
    char big[TW_MAX_EVENT_BYTES + 1];
    memset(big, ' ', sizeof big);
    add(f, EV, 0, 0, 0, big, sizeof big);
    expect_error(f, TW_ETOO_BIG, "payload_len 4097 exceeds event limit 4096");
}

static void test_rejects_oversize_message(void **state)
{
    fixture *f = *state;
    tw_frame_iter it;
    tw_frame fr;
    /* the length is checked before any byte is read, so a short buffer suffices */
    tw_frame_iter_init(&it, f->buf, (size_t)TW_MAX_BINARY_MSG + 1);
    assert_int_equal(tw_frame_next(&it, f->t, &fr, f->msg, sizeof f->msg), TW_ETOO_BIG);
    assert_non_null(strstr(f->msg, "exceeds limit 16777216"));
    tw_frame_iter_init(&it, NULL, 0);
    assert_int_equal(tw_frame_next(&it, f->t, &fr, f->msg, sizeof f->msg), 0);
}

static void test_every_truncation_of_a_message_is_an_error(void **state)
{
    fixture *f = *state;
    double js[21] = {0};
    const uint8_t au[] = {0, 0, 0, 1, 0x65, 0x88};
    add(f, ARM, 0, 0, 0, js, sizeof js);
    add(f, CAM, 1, 0, 0, au, sizeof au);
    size_t full = f->len, n;
    for (size_t cut = 1; cut < full; cut++) {
        /* copy to an exact-size heap buffer so ASan catches any read past the end */
        uint8_t *copy = malloc(cut);
        memcpy(copy, f->buf, cut);
        tw_frame_iter it;
        tw_frame fr;
        int rc;
        tw_frame_iter_init(&it, copy, cut);
        n = 0;
        while ((rc = tw_frame_next(&it, f->t, &fr, f->msg, sizeof f->msg)) == 1)
            n++;
        free(copy);
        if (cut == 192)
            assert_int_equal(rc, 0); /* exactly one whole frame */
        else
            assert_int_equal(rc, TW_ETRUNCATED);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_header_layout_is_little_endian),
        T(test_round_trip_many_frames_of_every_kind),
        T(test_rejects_truncated_header),
        T(test_rejects_truncated_payload),
        T(test_rejects_length_overflow),
        T(test_rejects_unknown_stream_and_flags),
        T(test_rejects_wrong_payload_size),
        T(test_rejects_bad_video_and_event_payloads),
        T(test_rejects_oversize_message),
        T(test_every_truncation_of_a_message_is_an_error),
    };
    return cmocka_run_group_tests_name("wire_frame", tests, NULL, NULL);
}
