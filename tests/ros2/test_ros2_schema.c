/* ros2msg schema compilation: the canonical texts, ROS conventions (short names, Header,
 * built-in Time/Duration, comments, constants, defaults, bounds) and refusals that say where. */
#include "r2fx.h"
#include "tw_core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int parse(const char *text, const char *type, tw_ros2_schema **s, char *err)
{
    return tw_ros2_schema_parse(text, type, s, err, 256);
}

static void test_schema_canonical_texts_parse_to_their_kind(void **state)
{
    (void)state;
    for (int k = TW_ROS2_UNKNOWN + 1; k < TW_ROS2_KIND_COUNT; k++) {
        const char *type, *text = tw_ros2_schema_text((tw_ros2_kind)k, &type);
        tw_ros2_schema *s;
        char err[256] = "";
        assert_non_null(text);
        int rc = parse(text, type, &s, err);
        if (rc) fprintf(stderr, "%s: %s\n", type, err);
        assert_int_equal(rc, 0);
        assert_int_equal(tw_ros2_schema_kind(s), k);
        assert_string_equal(strrchr(type, '/'), strrchr(tw_ros2_schema_type(s), '/'));
        tw_ros2_schema_free(s);
    }
    assert_null(tw_ros2_schema_text(TW_ROS2_UNKNOWN, NULL));
}

static void test_schema_resolves_short_names_in_the_same_package(void **state)
{
    (void)state;
    const char *text = "Header header\nWrench wrench\n"
                       "===\nMSG: acme_msgs/Wrench\nVector3 force\nacme_msgs/msg/Vector3 torque\n"
                       "===\nMSG: acme_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n";
    tw_ros2_schema *s;
    char err[256];
    assert_int_equal(parse(text, "acme_msgs/msg/ForceTorque", &s, err), 0);
    assert_string_equal(tw_ros2_schema_type(s), "acme_msgs/ForceTorque");
    assert_int_equal(tw_ros2_schema_kind(s), TW_ROS2_WRENCH_STAMPED);
    tw_ros2_schema_free(s);
    /* a short name in another package does not reach acme_msgs/Vector3 when two packages have one */
    const char *two = "Vector3 v\n===\nMSG: a/Vector3\nfloat64 x\n===\nMSG: b/Vector3\nfloat64 x\n";
    assert_int_equal(parse(two, "c/msg/T", &s, err), TW_ESCHEMA);
    assert_non_null(strstr(err, "unknown type 'Vector3'"));
}

/* Comments, constants and default values add no field: x is at 4, y aligned to 8 after it. */
static void test_schema_skips_comments_constants_defaults(void **state)
{
    (void)state;
    const char *text = "# leading comment\nint32 LIMIT=1\nstring NAME = \"a#b\" # c\n"
                       "uint8 x 7 # default\n\n  float64 y 1.5\nstring<=4 s \"d#\"\nint8 MIN = -1\n";
    tw_ros2_schema *s;
    char err[256];
    assert_int_equal(parse(text, "p/T", &s, err), 0);
    const uint8_t cdr[] = {0, 1, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 2, 0, 0, 0, 'q', 0};
    tw_ros2_msg *m;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, s, cdr, sizeof cdr, err, sizeof err), 0);
    double x, y;
    const char *str;
    size_t n;
    assert_int_equal(tw_ros2_get_f64(m, "x", &x), 0);
    assert_int_equal(tw_ros2_get_f64(m, "y", &y), 0);
    assert_int_equal(tw_ros2_get_string(m, "s", &str, &n), 0);
    assert_true(x == 9.0 && y == 1.5);
    assert_string_equal(str, "q");
    assert_false(tw_ros2_has(m, "LIMIT"));
    tw_ros2_msg_close(m);
    tw_ros2_schema_free(s);
}

/* Header, Time and Duration are built in when the text leaves them out; ROS 1 time too. */
static void test_schema_builtin_header_time_duration(void **state)
{
    (void)state;
    tw_ros2_schema *s;
    char err[256];
    assert_int_equal(parse("Header h\nbuiltin_interfaces/Duration d\ntime t\n", "p/msg/T", &s, err), 0);
    const uint8_t cdr[] = {0, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 'f', 0, 0, 0,
                           0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0};
    tw_ros2_msg *m;
    int64_t ns;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, s, cdr, sizeof cdr, err, sizeof err), 0);
    assert_int_equal(tw_ros2_get_time(m, "h.stamp", &ns), 0);
    assert_int_equal(ns, 1000000002);
    assert_int_equal(tw_ros2_get_time(m, "d", &ns), 0);
    assert_int_equal(ns, -999999995);
    assert_int_equal(tw_ros2_get_time(m, "t", &ns), 0);
    assert_int_equal(ns, 3000000004);
    tw_ros2_msg_close(m);
    tw_ros2_schema_free(s);
}

static void test_schema_empty_message_is_one_byte(void **state)
{
    (void)state;
    tw_ros2_schema *s;
    char err[256];
    assert_int_equal(parse("# std_msgs/Empty\n", "std_msgs/msg/Empty", &s, err), 0);
    tw_ros2_msg *m;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    const uint8_t one[] = {0, 1, 0, 0, 0};
    assert_int_equal(tw_ros2_decode_cdr(m, s, one, 5, err, sizeof err), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, s, one, 4, err, sizeof err), TW_ETRUNCATED);
    tw_ros2_msg_close(m);
    tw_ros2_schema_free(s);
}

static void expect_refusal(const char *text, int code, const char *needle)
{
    tw_ros2_schema *s = (tw_ros2_schema *)1;
    char err[256] = "";
    int rc = parse(text, "pkg/msg/T", &s, err);
    if (rc != code || !strstr(err, needle)) fprintf(stderr, "text %s: rc %d, err '%s'\n", text, rc, err);
    assert_int_equal(rc, code);
    assert_null(s);
    assert_non_null(strstr(err, needle));
}

static void test_schema_refusals_say_where(void **state)
{
    (void)state;
    expect_refusal("int32 a\nFoo b\n", TW_ESCHEMA, "line 2 (pkg/T): unknown type 'Foo'");
    expect_refusal("wstring w\n", TW_EUNSUPPORTED, "wstring");
    expect_refusal("A a\n===\nMSG: pkg/A\nB b\n===\nMSG: pkg/B\nA a\n", TW_ESCHEMA, "contains itself");
    expect_refusal("int32 a\nfloat64 a\n", TW_ESCHEMA, "field 'a' defined twice");
    expect_refusal("int32[abc] x\n", TW_ESCHEMA, "bad array length");
    expect_refusal("int32[0] x\n", TW_ESCHEMA, "bad array length");
    expect_refusal("int32[<=] x\n", TW_ESCHEMA, "bad array length");
    expect_refusal("int32[3 x\n", TW_ESCHEMA, "bad array type");
    expect_refusal("int32<=5 x\n", TW_ESCHEMA, "non-string");
    expect_refusal("int32 x\n===\nnot a header\n", TW_ESCHEMA, "line 3: expected 'MSG: pkg/Type'");
    expect_refusal("int32\n", TW_ESCHEMA, "line 1 (pkg/T): expected 'type name'");
    expect_refusal("int32 9x\n", TW_ESCHEMA, "expected 'type name'");
    expect_refusal("int32 x-y\n", TW_ESCHEMA, "expected 'type name'");
    expect_refusal("A a\n===\nMSG: pkg/A\nint8 q\n===\nMSG: pkg/A\nint8 q\n", TW_ESCHEMA, "pkg/A defined twice");
    tw_ros2_schema *s;
    char err[256];
    assert_int_equal(tw_ros2_schema_parse(NULL, "p/T", &s, err, sizeof err), TW_EINVAL);
    assert_int_equal(tw_ros2_schema_parse("int8 a\n", "", &s, err, sizeof err), TW_EINVAL);
}

static void test_schema_refuses_deep_nesting(void **state)
{
    (void)state;
    char text[8192];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "T0 t\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "===\nMSG: pkg/T%d\nT%d t\n", i, i + 1);
    n += (size_t)snprintf(text + n, sizeof text - n, "===\nMSG: pkg/T40\nint8 leaf\n");
    tw_ros2_schema *s;
    char err[256];
    assert_int_equal(parse(text, "pkg/Root", &s, err), TW_ESCHEMA);
    assert_non_null(strstr(err, "nesting deeper"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_canonical_texts_parse_to_their_kind),
        cmocka_unit_test(test_schema_resolves_short_names_in_the_same_package),
        cmocka_unit_test(test_schema_skips_comments_constants_defaults),
        cmocka_unit_test(test_schema_builtin_header_time_duration),
        cmocka_unit_test(test_schema_empty_message_is_one_byte),
        cmocka_unit_test(test_schema_refusals_say_where),
        cmocka_unit_test(test_schema_refuses_deep_nesting),
    };
    return cmocka_run_group_tests_name("ros2_schema", tests, NULL, NULL);
}
