/* tw_parquet throughput, for bench/parquet/run.
 *   pq_bench read FILE            every column of every row, one row group at a time, into C buffers
 *   pq_bench write FILE OUT RG    FILE's columns loaded into memory (untimed), then written to OUT with
 *                                 snappy, a row group every RG rows (LeRobot: one per episode)
 * Prints "seconds=S value_bytes=B maxrss_kb=K" (B: the decoded values, what a caller gets; K: peak RSS).
 * Scalars and fixed-size lists of BOOL, INT32, INT64, FLOAT32, FLOAT64 (a LeRobot v3.0 data file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_parquet.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static size_t elem_size(tw_parquet_type t)
{
    return t == TW_PQ_BOOL ? 1 : t == TW_PQ_INT32 || t == TW_PQ_FLOAT32 ? 4 : 8;
}

/* Peak RSS of this program: VmHWM belongs to the address space exec made (ru_maxrss can carry the
 * parent's peak through fork + exec, here a Python process holding the table). */
static long maxrss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void die(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "pq_bench: %s: %d %s\n", what, rc, msg);
    exit(1);
}

typedef struct {
    tw_parquet_field f;
    size_t per_row; /* values per row */
    void *data;     /* all rows (write mode) */
} column;

static column *load_schema(tw_parquet_reader *r, size_t *ncols)
{
    *ncols = tw_parquet_num_columns(r);
    column *c = calloc(*ncols, sizeof *c);
    for (size_t i = 0; i < *ncols; i++) {
        tw_parquet_column_info ci;
        tw_parquet_column(r, i, &ci);
        if (ci.nlevels > 1 || (ci.nlevels == 1 && !ci.levels[0].fixed) || ci.type == TW_PQ_UTF8)
            die(ci.name, -1, "only scalars and fixed_size_list columns");
        c[i].f = (tw_parquet_field){.name = ci.name, .type = ci.type, .nlevels = ci.nlevels};
        c[i].f.levels[0] = ci.levels[0];
        c[i].per_row = ci.nlevels ? (size_t)ci.levels[0].size : 1;
    }
    return c;
}

/* Reads rows [row0, row0 + n) of every column to the start of dst[c]. */
static size_t read_rows(tw_parquet_reader *r, column *c, size_t ncols, int64_t row0, int64_t n, void **dst)
{
    char msg[512];
    size_t bytes = 0;
    for (size_t i = 0; i < ncols; i++) {
        size_t es = elem_size(c[i].f.type), cap = (size_t)n * c[i].per_row;
        tw_parquet_out out = {.values = dst[i], .values_cap = cap};
        int rc = tw_parquet_read(r, i, row0, n, c[i].f.type, &out, msg, sizeof msg);
        if (rc)
            die("read", rc, msg);
        bytes += out.nvalues * es;
    }
    return bytes;
}

static int bench_read(const char *path)
{
    char msg[512];
    double t0 = now();
    tw_parquet_reader *r = NULL;
    int rc = tw_parquet_open(path, &r, msg, sizeof msg);
    if (rc)
        die("open", rc, msg);
    size_t ncols, bytes = 0, maxrg = 0;
    column *c = load_schema(r, &ncols);
    for (size_t g = 0; g < tw_parquet_num_row_groups(r); g++)
        if ((size_t)tw_parquet_row_group_rows(r, g) > maxrg)
            maxrg = (size_t)tw_parquet_row_group_rows(r, g);
    void **buf = calloc(ncols, sizeof *buf);
    for (size_t i = 0; i < ncols; i++)
        buf[i] = malloc(maxrg * c[i].per_row * elem_size(c[i].f.type) + 1);
    int64_t row = 0;
    for (size_t g = 0; g < tw_parquet_num_row_groups(r); g++) {
        int64_t n = tw_parquet_row_group_rows(r, g);
        bytes += read_rows(r, c, ncols, row, n, buf); /* one row group's worth of memory, reused */
        row += n;
    }
    double t = now() - t0;
    printf("seconds=%.4f value_bytes=%zu maxrss_kb=%ld\n", t, bytes, maxrss_kb());
    for (size_t i = 0; i < ncols; i++)
        free(buf[i]);
    free(buf), free(c);
    tw_parquet_close(r);
    return 0;
}

static int bench_write(const char *path, const char *outpath, int64_t rg)
{
    char msg[512];
    tw_parquet_reader *r = NULL;
    int rc = tw_parquet_open(path, &r, msg, sizeof msg);
    if (rc)
        die("open", rc, msg);
    size_t ncols, bytes = 0;
    column *c = load_schema(r, &ncols);
    int64_t rows = tw_parquet_num_rows(r);
    void **all = calloc(ncols, sizeof *all);
    for (size_t i = 0; i < ncols; i++)
        all[i] = c[i].data = malloc((size_t)rows * c[i].per_row * elem_size(c[i].f.type) + 1);
    bytes = read_rows(r, c, ncols, 0, rows, all);
    tw_parquet_field *f = calloc(ncols, sizeof *f);
    for (size_t i = 0; i < ncols; i++)
        f[i] = c[i].f;
    double t0 = now();
    tw_parquet_writer *w = NULL;
    if ((rc = tw_parquet_writer_open(outpath, f, ncols, NULL, &w, msg, sizeof msg)))
        die("writer open", rc, msg);
    tw_parquet_in *in = calloc(ncols, sizeof *in);
    for (int64_t row = 0; row < rows; row += rg) {
        int64_t n = rows - row < rg ? rows - row : rg;
        for (size_t i = 0; i < ncols; i++)
            in[i].values = (char *)c[i].data + (size_t)row * c[i].per_row * elem_size(c[i].f.type);
        if ((rc = tw_parquet_writer_write(w, n, in, msg, sizeof msg)) ||
            (rc = tw_parquet_writer_flush(w, msg, sizeof msg)))
            die("write", rc, msg);
    }
    if ((rc = tw_parquet_writer_close(w, msg, sizeof msg)))
        die("close", rc, msg);
    double t = now() - t0;
    printf("seconds=%.4f value_bytes=%zu maxrss_kb=%ld\n", t, bytes, maxrss_kb());
    for (size_t i = 0; i < ncols; i++)
        free(c[i].data);
    free(all), free(f), free(in), free(c);
    tw_parquet_close(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "read"))
        return bench_read(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "write"))
        return bench_write(argv[2], argv[3], atoll(argv[4]));
    fprintf(stderr, "usage: pq_bench read FILE | write FILE OUT ROWS_PER_GROUP\n");
    return 2;
}
