/* bench/mcap helper: `write FILE SECONDS zstd|lz4` makes a teleop-like recording through tw_mcap
 * (joint states and wrenches at 1 kHz, 40 KB camera frames at 30 Hz); `read FILE` reads every
 * message with tw_mcap_reader_next and prints "messages payload_bytes seconds". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_mcap.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_mcap: %s: %s\n", what, msg);
    return 1;
}

static int write_file(const char *path, int secs, const char *comp)
{
    char msg[512];
    tw_mcap_write_opts o;
    tw_mcap_write_opts_init(&o);
    o.compression = strcmp(comp, "lz4") == 0 ? TW_MCAP_LZ4 : TW_MCAP_ZSTD;
    o.profile = "ros2";
    tw_mcap_writer *w;
    if (tw_mcap_writer_open(path, &o, &w, msg, sizeof msg))
        return die("open", msg);
    uint16_t s, cj, cw, ci;
    static const uint8_t def[] = "float64[] position\n";
    tw_mcap_writer_add_schema(w, "sensor_msgs/msg/JointState", "ros2msg", def, sizeof def - 1, &s, msg, sizeof msg);
    tw_mcap_writer_add_channel(w, s, "/joint_states", "cdr", NULL, NULL, 0, &cj, msg, sizeof msg);
    tw_mcap_writer_add_channel(w, s, "/wrench", "cdr", NULL, NULL, 0, &cw, msg, sizeof msg);
    tw_mcap_writer_add_channel(w, s, "/camera/compressed", "cdr", NULL, NULL, 0, &ci, msg, sizeof msg);
    static uint8_t img[40000], js[232], wr[96];
    uint32_t x = 12345;
    for (uint64_t ms = 0; ms < (uint64_t)secs * 1000; ms++) {
        uint64_t t = 1700000000000000000ull + ms * 1000000ull;
        for (size_t k = 0; k < sizeof js; k += 8) /* slowly changing doubles */
            js[k] = (uint8_t)(ms >> (k % 3)), js[k + 1] = (uint8_t)k;
        wr[0] = (uint8_t)ms;
        tw_mcap_message m = {cj, (uint32_t)ms, t + 20000, t, js, sizeof js};
        int rc = tw_mcap_writer_write(w, &m, msg, sizeof msg);
        m = (tw_mcap_message){cw, (uint32_t)ms, t + 30000, t, wr, sizeof wr};
        rc |= tw_mcap_writer_write(w, &m, msg, sizeof msg);
        if (ms % 33 == 0) {
            for (size_t i = 0; i < sizeof img; i++) /* a new frame each time, noisy like JPEG data */
                img[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
            m = (tw_mcap_message){ci, (uint32_t)(ms / 33), t + 40000, t, img, sizeof img};
            rc |= tw_mcap_writer_write(w, &m, msg, sizeof msg);
        }
        if (rc)
            return die("write", msg);
    }
    if (tw_mcap_writer_close(w, msg, sizeof msg))
        return die("close", msg);
    return 0;
}

static int read_file(const char *path)
{
    char msg[512];
    double t0 = now();
    tw_mcap_reader *r;
    if (tw_mcap_reader_open(path, NULL, &r, msg, sizeof msg))
        return die("open", msg);
    tw_mcap_message m;
    uint64_t n = 0, bytes = 0, sink = 0;
    int rc;
    while ((rc = tw_mcap_reader_next(r, &m, msg, sizeof msg)) == 1) {
        n++;
        bytes += m.data_len;
        sink += m.data_len ? m.data[m.data_len - 1] : 0;
    }
    tw_mcap_reader_close(r);
    if (rc < 0)
        return die("read", msg);
    printf("%llu %llu %.6f %llu\n", (unsigned long long)n, (unsigned long long)bytes, now() - t0,
           (unsigned long long)(sink & 1));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "write") == 0)
        return write_file(argv[2], atoi(argv[3]), argv[4]);
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return read_file(argv[2]);
    fprintf(stderr, "usage: bench_mcap write FILE SECONDS zstd|lz4 | read FILE\n");
    return 2;
}
