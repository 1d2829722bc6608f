/* tw_ros2 test fixture: see r2fx.h. */
#include "r2fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The venv scripts/setup creates (.venv), else $TW_ROS2_PYTHON, else python3 on PATH. */
static void r2fx_py(char *out, size_t cap)
{
    const char *env = getenv("TW_ROS2_PYTHON"), *src = getenv("TW_SOURCE_ROOT");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    snprintf(out, cap, "%s/.venv/bin/python", src ? src : ".");
    if (access(out, X_OK) != 0) snprintf(out, cap, "python3");
}

int r2fx_python(const r2fx *fx, const char *cmd)
{
    char py[1024], line[4096];
    const char *src = getenv("TW_SOURCE_ROOT");
    r2fx_py(py, sizeof py);
    snprintf(line, sizeof line, "'%s' '%s/tests/ros2/ros2_vectors.py' %s '%s'", py, src ? src : ".", cmd, fx->dir);
    int st = system(line);
    if (st != 0)
        fprintf(stderr, "r2fx: `%s` failed (%d); it needs rosbags, mcap-ros2-support and foxglove-schemas-protobuf "
                        "(pip install rosbags==0.11.9 mcap-ros2-support==0.6.0 foxglove-schemas-protobuf==0.4.0)\n", line, st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int r2fx_gen(r2fx *fx, const char *test)
{
    memset(fx, 0, sizeof *fx);
    const char *base = getenv("TW_ROS2_VECTORS");
    snprintf(fx->dir, sizeof fx->dir, "%s/%s", base ? base : "ros2-vectors", test);
    if (r2fx_python(fx, "gen") != 0) return -1;
    fx->names = r2fx_json(fx, "vectors.json");
    return fx->names ? 0 : -1;
}

void r2fx_free(r2fx *fx)
{
    json_decref(fx->names);
    fx->names = NULL;
}

json_t *r2fx_json(const r2fx *fx, const char *file)
{
    char p[1400];
    json_error_t je;
    snprintf(p, sizeof p, "%s/%s", fx->dir, file);
    json_t *j = json_load_file(p, 0, &je);
    if (!j) fprintf(stderr, "r2fx: %s: %s\n", p, je.text);
    return j;
}

uint8_t *r2fx_read(const r2fx *fx, const char *file, size_t *len)
{
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", fx->dir, file);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

int r2fx_write(const r2fx *fx, const char *file, const void *p, size_t n)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

tw_ros2_schema *r2fx_schema(const json_t *vec)
{
    tw_ros2_schema *s = NULL;
    char err[256];
    const char *text = json_string_value(json_object_get(vec, "schema"));
    const char *type = json_string_value(json_object_get(vec, "type"));
    if (tw_ros2_schema_parse(text ? text : "", type ? type : "", &s, err, sizeof err) < 0)
        fprintf(stderr, "r2fx: schema of %s: %s\n", type, err);
    return s;
}

static int r2fx_hexval(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

static int r2fx_check_one(const tw_ros2_msg *m, const json_t *c, const char *path)
{
    json_t *v;
    if ((v = json_object_get(c, "time"))) {
        int64_t ns = 0;
        return tw_ros2_get_time(m, path, &ns) == 0 && ns == json_integer_value(v);
    }
    if ((v = json_object_get(c, "i64"))) {
        int64_t x = 0;
        return tw_ros2_get_i64(m, path, &x) == 0 && x == json_integer_value(v);
    }
    if ((v = json_object_get(c, "f64"))) {
        double x = 0;
        return tw_ros2_get_f64(m, path, &x) == 0 && x == json_number_value(v);
    }
    if ((v = json_object_get(c, "count"))) {
        size_t n = 0;
        return tw_ros2_get_count(m, path, &n) == 0 && (json_int_t)n == json_integer_value(v);
    }
    if ((v = json_object_get(c, "str"))) {
        const char *s = NULL;
        size_t n = 0;
        return tw_ros2_get_string(m, path, &s, &n) == 0 && n == json_string_length(v) &&
               memcmp(s, json_string_value(v), n) == 0 && s[n] == '\0';
    }
    if ((v = json_object_get(c, "f64s"))) {
        double buf[64];
        size_t n = 0, i;
        json_t *e;
        if (tw_ros2_get_f64_array(m, path, buf, 64, &n) != 0 || n != json_array_size(v)) return 0;
        json_array_foreach(v, i, e) if (buf[i] != json_number_value(e)) return 0;
        return 1;
    }
    if ((v = json_object_get(c, "hex"))) {
        const uint8_t *p = NULL;
        size_t n = 0;
        const char *h = json_string_value(v);
        if (tw_ros2_get_bytes(m, path, &p, &n) != 0 || n * 2 != strlen(h)) return 0;
        for (size_t i = 0; i < n; i++)
            if (p[i] != (r2fx_hexval(h[2 * i]) << 4 | r2fx_hexval(h[2 * i + 1]))) return 0;
        return 1;
    }
    return 0;
}

int r2fx_checks(const tw_ros2_msg *m, const json_t *checks, const char *what)
{
    int bad = 0;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) {
        const char *path = json_string_value(json_object_get(c, "path"));
        if (!path || !r2fx_check_one(m, c, path)) {
            char *dump = json_dumps(c, JSON_COMPACT);
            fprintf(stderr, "%s: check failed: %s\n", what, dump ? dump : "?");
            free(dump);
            bad++;
        }
    }
    return bad;
}
