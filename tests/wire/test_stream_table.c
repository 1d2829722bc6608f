/* The per-session stream table: validation on add, duplicates, the stream cap, lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "wire_fixtures.h"

static char msg[512];

static void test_add_and_lookup(void **s)
{
    tw_stream_table *t;
    assert_int_equal(tw_stream_table_new(&t), 0);
    tw_stream_decl a = fx_joint(10, "arm", 7), b = fx_video(65535, "cam", TW_VIDEO_JPEG, 320, 240);
    assert_int_equal(tw_stream_table_add(t, &a, msg, sizeof msg), 0);
    assert_int_equal(tw_stream_table_add(t, &b, msg, sizeof msg), 0);
    assert_int_equal(tw_stream_table_count(t), 2);
    assert_string_equal(tw_stream_table_get(t, 10)->name, "arm");
    assert_string_equal(tw_stream_table_get(t, 65535)->name, "cam");
    assert_null(tw_stream_table_get(t, 11));
    assert_null(tw_stream_table_get(t, 0));
    assert_string_equal(tw_stream_table_at(t, 1)->name, "cam");
    assert_null(tw_stream_table_at(t, 2));
    /* the table holds a copy: changing the caller's struct changes nothing */
    strcpy(a.name, "changed");
    assert_string_equal(tw_stream_table_get(t, 10)->name, "arm");
    tw_stream_table_free(t);
    tw_stream_table_free(NULL);
    assert_null(tw_stream_table_get(NULL, 1));
    assert_int_equal(tw_stream_table_count(NULL), 0);
}

static void test_rejects_duplicates(void **s)
{
    tw_stream_table *t;
    assert_int_equal(tw_stream_table_new(&t), 0);
    tw_stream_decl a = fx_joint(1, "arm", 7), same_id = fx_event(1, "events"), same_name = fx_event(2, "arm");
    assert_int_equal(tw_stream_table_add(t, &a, msg, sizeof msg), 0);
    assert_int_equal(tw_stream_table_add(t, &same_id, msg, sizeof msg), TW_EDUP_STREAM);
    assert_non_null(strstr(msg, "stream 'events': id 1 already used by 'arm'"));
    assert_int_equal(tw_stream_table_add(t, &same_name, msg, sizeof msg), TW_EDUP_STREAM);
    assert_non_null(strstr(msg, "stream id 2: name 'arm' already used by id 1"));
    assert_int_equal(tw_stream_table_count(t), 1);
    tw_stream_table_free(t);
}

static void test_rejects_invalid_and_too_many(void **s)
{
    tw_stream_table *t;
    assert_int_equal(tw_stream_table_new(&t), 0);
    tw_stream_decl bad = fx_joint(1, "arm", 7);
    bad.rate_hz = 0;
    assert_int_equal(tw_stream_table_add(t, &bad, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_stream_table_count(t), 0);
    for (int i = 0; i < TW_MAX_STREAMS; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        tw_stream_decl d = fx_vec((uint16_t)(100 + i), name, TW_KIND_WRENCH, 6);
        assert_int_equal(tw_stream_table_add(t, &d, msg, sizeof msg), 0);
    }
    tw_stream_decl extra = fx_event(7, "one_more");
    assert_int_equal(tw_stream_table_add(t, &extra, msg, sizeof msg), TW_ETOO_BIG);
    assert_non_null(strstr(msg, "more than 64 streams"));
    assert_int_equal(tw_stream_table_count(t), TW_MAX_STREAMS);
    assert_int_equal(tw_stream_table_add(NULL, &extra, msg, sizeof msg), TW_EINVAL);
    tw_stream_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_lookup),
        cmocka_unit_test(test_rejects_duplicates),
        cmocka_unit_test(test_rejects_invalid_and_too_many),
    };
    return cmocka_run_group_tests_name("stream_table", tests, NULL, NULL);
}
