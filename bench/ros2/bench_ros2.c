/* Decodes one golden CDR message N times (schema compiled once) and reads its fields through
 * the path getters, as an importer would; prints messages/s and MB/s.
 *   bench_ros2 VECTOR.json MESSAGE.cdr N */
#include "tw_ros2.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_ros2 VECTOR.json MESSAGE.cdr N\n");
        return 2;
    }
    json_error_t je;
    json_t *vec = json_load_file(argv[1], 0, &je);
    FILE *f = fopen(argv[2], "rb");
    if (!vec || !f) return fprintf(stderr, "bench_ros2: cannot read inputs\n"), 1;
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    long n = atol(argv[3]);
    char err[256];
    tw_ros2_schema *s;
    tw_ros2_msg *m;
    if (tw_ros2_schema_parse(json_string_value(json_object_get(vec, "schema")),
                             json_string_value(json_object_get(vec, "type")), &s, err, sizeof err) ||
        tw_ros2_msg_open(NULL, &m))
        return fprintf(stderr, "bench_ros2: %s\n", err), 1;
    double sink = 0, t0 = now();
    for (long i = 0; i < n; i++) {
        if (tw_ros2_decode_cdr(m, s, buf, len, err, sizeof err)) return fprintf(stderr, "bench_ros2: %s\n", err), 1;
        double d[16];
        size_t k;
        int64_t ns;
        const uint8_t *p;
        if (tw_ros2_get_time(m, "header.stamp", &ns) == 0) sink += (double)ns;
        if (tw_ros2_get_f64_array(m, "position", d, 16, &k) == 0 && k) sink += d[0];
        if (tw_ros2_get_bytes(m, "data", &p, &k) == 0 && k) sink += p[0];
    }
    double dt = now() - t0;
    printf("tw_ros2 rate=%.0f mb_s=%.1f bytes=%zu sink=%g\n", n / dt, n * (double)len / dt / 1e6, len, sink > 0 ? 1.0 : 0.0);
    tw_ros2_msg_close(m);
    tw_ros2_schema_free(s);
    json_decref(vec);
    return 0;
}
