/* CDR decoding against golden messages written by rosbags (little and big endian) and by
 * mcap-ros2-support, and against damaged copies of them. */
#include "r2fx.h"
#include "tw_core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static r2fx fx;

static int setup(void **state)
{
    (void)state;
    return r2fx_gen(&fx, "decode");
}

static int teardown(void **state)
{
    (void)state;
    r2fx_free(&fx);
    return 0;
}

/* Loads vector `name`, its schema, and one of its encodings. */
typedef struct {
    json_t *vec;
    tw_ros2_schema *schema;
    uint8_t *buf;
    size_t len;
} vec_t;

static void vec_load(vec_t *v, const char *name, const char *enc)
{
    char file[256];
    snprintf(file, sizeof file, "%s.json", name);
    v->vec = r2fx_json(&fx, file);
    assert_non_null(v->vec);
    v->schema = r2fx_schema(v->vec);
    assert_non_null(v->schema);
    const char *cdr = json_string_value(json_object_get(json_object_get(v->vec, "cdr"), enc));
    assert_non_null(cdr);
    v->buf = r2fx_read(&fx, cdr, &v->len);
    assert_non_null(v->buf);
}

static void vec_free(vec_t *v)
{
    json_decref(v->vec);
    tw_ros2_schema_free(v->schema);
    free(v->buf);
}

static void test_decode_every_vector_every_encoding(void **state)
{
    (void)state;
    static const char *const encs[] = {"le", "be", "mcap_ros2"};
    tw_ros2_msg *m;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    size_t i;
    json_t *n;
    int bad = 0, vectors = 0;
    json_array_foreach(fx.names, i, n) {
        char file[256];
        snprintf(file, sizeof file, "%s.json", json_string_value(n));
        json_t *vec = r2fx_json(&fx, file);
        assert_non_null(vec);
        if (!json_object_get(vec, "cdr")) { /* JSON-only vector */
            json_decref(vec);
            continue;
        }
        json_decref(vec);
        for (size_t e = 0; e < 3; e++) {
            vec_t v;
            vec_load(&v, json_string_value(n), encs[e]);
            char err[256] = "", what[300];
            int rc = tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err);
            snprintf(what, sizeof what, "%s/%s", json_string_value(n), encs[e]);
            if (rc != 0) fprintf(stderr, "%s: %s\n", what, err);
            assert_int_equal(rc, 0);
            bad += r2fx_checks(m, json_object_get(v.vec, "checks"), what);
            vectors++;
            vec_free(&v);
        }
    }
    tw_ros2_msg_close(m);
    assert_int_equal(bad, 0);
    assert_true(vectors >= 30);
}

/* Every prefix of every message is refused with a message naming a byte offset. */
static void test_decode_rejects_every_truncation(void **state)
{
    (void)state;
    static const char *const names[] = {"joint_state", "trajectory", "all_types", "imu", "video"};
    tw_ros2_msg *m;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        for (int be = 0; be < 2; be++) {
            vec_t v;
            vec_load(&v, names[k], be ? "be" : "le");
            for (size_t cut = 0; cut < v.len; cut++) {
                char err[256] = "";
                uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
                memcpy(copy, v.buf, cut);
                int rc = tw_ros2_decode_cdr(m, v.schema, copy, cut, err, sizeof err);
                free(copy);
                if (rc == 0) fprintf(stderr, "%s cut at %zu of %zu decoded\n", names[k], cut, v.len);
                assert_true(rc < 0);
                assert_non_null(strstr(err, cut < 4 ? "encapsulation" : "at byte"));
            }
            vec_free(&v);
        }
    }
    tw_ros2_msg_close(m);
}

static void test_decode_rejects_bad_encapsulation(void **state)
{
    (void)state;
    vec_t v;
    vec_load(&v, "wrench", "le");
    tw_ros2_msg *m;
    char err[256];
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    v.buf[1] = 0x07; /* XCDR2 little endian */
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_EUNSUPPORTED);
    assert_non_null(strstr(err, "XCDR2"));
    v.buf[1] = 0x03; /* PL_CDR */
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_EUNSUPPORTED);
    v.buf[0] = 0x42, v.buf[1] = 0x01;
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_EBAD_MAGIC);
    assert_non_null(strstr(err, "byte 0"));
    /* a failed decode leaves nothing to read */
    double x;
    assert_int_equal(tw_ros2_get_f64(m, "wrench.force.x", &x), TW_ESTATE);
    tw_ros2_msg_close(m);
    vec_free(&v);
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* joint_state LE: header.stamp at 4..12, frame_id length at 12, "base\0" at 16..21, then the
 * name sequence count at 24. */
static void test_decode_rejects_lengths_beyond_the_buffer(void **state)
{
    (void)state;
    vec_t v;
    vec_load(&v, "joint_state", "le");
    tw_ros2_msg *m;
    char err[256];
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), 0);
    put32le(v.buf + 12, 0xFFFFFF00u); /* string length */
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_ETRUNCATED);
    assert_non_null(strstr(err, "'header.frame_id' at byte 16"));
    put32le(v.buf + 12, 5);
    put32le(v.buf + 24, 0x7FFFFFFFu); /* sequence count */
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_ETRUNCATED);
    assert_non_null(strstr(err, "'name'"));
    assert_non_null(strstr(err, "2147483647 elements"));
    put32le(v.buf + 24, 3);
    v.buf[20] = 'x'; /* frame_id loses its NUL */
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_ESCHEMA);
    assert_non_null(strstr(err, "NUL"));
    tw_ros2_msg_close(m);
    vec_free(&v);
}

static void test_decode_bounds_nodes_by_limits(void **state)
{
    (void)state;
    vec_t v;
    vec_load(&v, "all_types", "be");
    tw_ros2_limits lim;
    tw_ros2_limits_init(&lim);
    lim.max_nodes = 12;
    tw_ros2_msg *m;
    char err[256];
    assert_int_equal(tw_ros2_msg_open(&lim, &m), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_ETOO_BIG);
    assert_non_null(strstr(err, "limit of 12"));
    tw_ros2_msg_close(m);
    lim.max_nodes = 65536;
    lim.max_bytes = v.len - 1;
    assert_int_equal(tw_ros2_msg_open(&lim, &m), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, err, sizeof err), TW_ETOO_BIG);
    tw_ros2_msg_close(m);
    vec_free(&v);
}

static void test_getters_refuse_wrong_shapes(void **state)
{
    (void)state;
    vec_t v;
    vec_load(&v, "all_types", "le");
    tw_ros2_msg *m;
    assert_int_equal(tw_ros2_msg_open(NULL, &m), 0);
    assert_int_equal(tw_ros2_decode_cdr(m, v.schema, v.buf, v.len, NULL, 0), 0);
    double d, buf[2];
    int64_t i;
    size_t n;
    const char *s;
    const uint8_t *p;
    assert_int_equal(tw_ros2_get_f64(m, "nope", &d), TW_ENOT_FOUND);
    assert_int_equal(tw_ros2_get_f64(m, "many[2].a", &d), TW_ENOT_FOUND);
    assert_int_equal(tw_ros2_get_f64(m, "one", &d), TW_EDTYPE);
    assert_int_equal(tw_ros2_get_f64(m, "fixed[2]", &d), 0);
    assert_true(d == 3.0);
    assert_int_equal(tw_ros2_get_i64(m, "f64", &i), TW_EDTYPE);
    assert_int_equal(tw_ros2_get_f64_array(m, "fixed", buf, 2, &n), TW_ETOO_BIG);
    assert_int_equal(n, 3);
    assert_true(buf[0] == 1.0 && buf[1] == 2.0);
    assert_int_equal(tw_ros2_get_string(m, "names", &s, &n), TW_EDTYPE);
    assert_int_equal(tw_ros2_get_bytes(m, "f32s", &p, &n), TW_EDTYPE);
    assert_int_equal(tw_ros2_get_time(m, "one", &i), TW_EDTYPE);
    assert_int_equal(tw_ros2_get_f64(m, "one..a", &d), TW_EINVAL);
    assert_int_equal(tw_ros2_get_f64(m, "many[x].a", &d), TW_EINVAL);
    assert_true(tw_ros2_has(m, "pair[1].s"));
    assert_false(tw_ros2_has(m, "pair[2]"));
    tw_ros2_msg_close(m);
    vec_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_every_vector_every_encoding),
        cmocka_unit_test(test_decode_rejects_every_truncation),
        cmocka_unit_test(test_decode_rejects_bad_encapsulation),
        cmocka_unit_test(test_decode_rejects_lengths_beyond_the_buffer),
        cmocka_unit_test(test_decode_bounds_nodes_by_limits),
        cmocka_unit_test(test_getters_refuse_wrong_shapes),
    };
    return cmocka_run_group_tests_name("ros2_decode", tests, setup, teardown);
}
