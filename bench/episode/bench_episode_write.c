/* Episode writer throughput: N joint-state samples (7 joints, float64 [3,7] = 168-byte
 * payloads) appended with tw_episode_append and flushed every F samples, versus a plain
 * fwrite of the same per-sample bytes (t_src, t_recv, seq, payload = 192 B) with an fsync
 * at the same points. Also times the close (episode.h5 built from the journal, deflate).
 *   bench_episode_write DIR [SAMPLES] [FLUSH_EVERY] [COMPRESSION]
 * A second peer writes the same bytes in 1 MiB blocks (the disk's own limit).
 * Prints one line per phase: key=value pairs (rate in samples/s, MB/s of sample bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tw_episode.h"

#define SAMPLE_BYTES 192 /* what both sides store per sample: 3 x 8-byte header fields + 168 */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_stime.tv_sec + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

static void fill(double *p, uint64_t k)
{
    for (int e = 0; e < 21; e++)
        p[e] = 0.001 * (double)(k % 10000) + e; /* smooth, like joint states */
}

static void report(const char *what, uint64_t n, double wall, double cpu_s, uint64_t bytes_on_disk)
{
    printf("%s samples=%llu wall_s=%.3f rate=%.0f MBps=%.1f cpu_us_per_sample=%.3f disk_bytes=%llu\n", what,
           (unsigned long long)n, wall, (double)n / wall, (double)n * SAMPLE_BYTES / wall / 1e6, cpu_s * 1e6 / (double)n,
           (unsigned long long)bytes_on_disk);
    fflush(stdout);
}

static int plain(const char *path, uint64_t n, uint64_t flush_every)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    unsigned char rec[SAMPLE_BYTES];
    double t0 = now(), c0 = cpu();
    for (uint64_t k = 0; k < n; k++) {
        int64_t t = (int64_t)k * 1000000;
        memcpy(rec, &t, 8);
        memcpy(rec + 8, &t, 8);
        memcpy(rec + 16, &k, 8);
        fill((double *)(rec + 24), k);
        if (fwrite(rec, SAMPLE_BYTES, 1, f) != 1)
            return 1;
        if ((k + 1) % flush_every == 0 && (fflush(f) || fdatasync(fileno(f))))
            return 1;
    }
    if (fflush(f) || fdatasync(fileno(f)))
        return 1;
    report("plain_fwrite_fsync", n, now() - t0, cpu() - c0, (uint64_t)ftell(f));
    fclose(f);
    return 0;
}

/* The disk's own limit: the same bytes built in 1 MiB blocks, one write(2) each. */
static int blocks(const char *path, uint64_t n, uint64_t flush_every)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    enum { PER = (1 << 20) / SAMPLE_BYTES };
    unsigned char *buf = malloc((size_t)PER * SAMPLE_BYTES);
    size_t used = 0;
    double t0 = now(), c0 = cpu();
    for (uint64_t k = 0; k < n; k++) {
        unsigned char *rec = buf + used;
        int64_t t = (int64_t)k * 1000000;
        memcpy(rec, &t, 8);
        memcpy(rec + 8, &t, 8);
        memcpy(rec + 16, &k, 8);
        fill((double *)(rec + 24), k);
        used += SAMPLE_BYTES;
        int sync = (k + 1) % flush_every == 0 || k + 1 == n;
        if ((used == (size_t)PER * SAMPLE_BYTES || sync) && write(fileno(f), buf, used) != (ssize_t)used)
            return 1;
        if (used == (size_t)PER * SAMPLE_BYTES || sync)
            used = 0;
        if (sync && fdatasync(fileno(f)))
            return 1;
    }
    report("plain_block_write_fsync", n, now() - t0, cpu() - c0, n * SAMPLE_BYTES);
    free(buf);
    fclose(f);
    return 0;
}

static int episode(const char *dir, uint64_t n, uint64_t flush_every, int compression)
{
    tw_stream_decl d;
    memset(&d, 0, sizeof d);
    d.id = 1;
    snprintf(d.name, sizeof d.name, "arm");
    d.kind = TW_KIND_JOINT_STATE;
    d.dtype = TW_DTYPE_FLOAT64;
    d.ndim = 2, d.shape[0] = 3, d.shape[1] = 7;
    d.rate_hz = 1000;
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "bench";
    info.compression = compression;
    tw_episode_writer *w;
    char msg[512];
    if (tw_episode_create(dir, &info, &d, 1, &w, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    double payload[21];
    tw_frame f = {.stream_id = 1, .payload = (const uint8_t *)payload, .payload_len = sizeof payload};
    double t0 = now(), c0 = cpu();
    for (uint64_t k = 0; k < n; k++) {
        fill(payload, k);
        f.seq = k;
        f.t_src_ns = (int64_t)k * 1000000;
        if (tw_episode_append(w, &f, f.t_src_ns, msg, sizeof msg) ||
            ((k + 1) % flush_every == 0 && tw_episode_flush(w, msg, sizeof msg))) {
            fprintf(stderr, "%s\n", msg);
            return 1;
        }
    }
    if (tw_episode_flush(w, msg, sizeof msg))
        return 1;
    double t1 = now(), c1 = cpu();
    report("episode_append_flush", n, t1 - t0, c1 - c0, tw_episode_bytes_written(w));
    if (tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/episode.h5", dir);
    FILE *h = fopen(p, "rb");
    long sz = 0;
    if (h && fseek(h, 0, SEEK_END) == 0)
        sz = ftell(h);
    if (h)
        fclose(h);
    report("episode_close_build_h5", n, now() - t1, cpu() - c1, (uint64_t)sz);
    report("episode_total", n, now() - t0, cpu() - c0, (uint64_t)sz);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_episode_write DIR [SAMPLES] [FLUSH_EVERY] [COMPRESSION]\n");
        return 2;
    }
    uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000;
    uint64_t fl = argc > 3 ? strtoull(argv[3], NULL, 10) : 500000;
    int z = argc > 4 ? atoi(argv[4]) : 1;
    char path[4096], ep[4096];
    snprintf(path, sizeof path, "%s/plain.bin", argv[1]);
    snprintf(ep, sizeof ep, "%s/episode", argv[1]);
    int rc = plain(path, n, fl ? fl : n) || (unlink(path), blocks(path, n, fl ? fl : n)) ||
             (unlink(path), episode(ep, n, fl ? fl : n, z));
    unlink(path);
    return rc;
}
