/* libFuzzer target for the tw_parquet reader: the input as a whole Parquet file (footer, schema, every
 * column of the first row groups, as numbers and as strings, with buffers too small and large enough).
 * Oracle beyond the sanitizers: every call returns (a Rust panic would come back as TW_EINTEGRITY, never
 * as an abort), and a read that succeeds reports no more values than the buffer holds. */
#include <stdint.h>
#include <stdlib.h>

#include "tw_parquet.h"

#define ROWS 64
#define CAP 4096

static void read_column(tw_parquet_reader *r, size_t c, int64_t nrows)
{
    static double num[CAP];
    static char bytes[CAP];
    static int64_t off[CAP + 1], len[ROWS];
    static uint8_t valid[CAP];
    char msg[256];
    tw_parquet_out out = {.values = num, .values_cap = CAP, .lengths = len, .valid = valid};
    if (tw_parquet_read(r, c, 0, nrows, TW_PQ_FLOAT64, &out, msg, sizeof msg) == 0 && out.nvalues > CAP)
        abort();
    out = (tw_parquet_out){.values = num, .values_cap = CAP, .lengths = len};
    tw_parquet_read(r, c, 0, nrows, TW_PQ_INT64, &out, msg, sizeof msg);
    out = (tw_parquet_out){.values = bytes, .values_cap = CAP, .offsets = off, .offsets_cap = CAP + 1,
                           .lengths = len, .valid = valid};
    if (tw_parquet_read(r, c, 0, nrows, TW_PQ_UTF8, &out, msg, sizeof msg) == 0 && out.nbytes > CAP)
        abort();
    out = (tw_parquet_out){0};
    tw_parquet_read(r, c, 0, nrows, TW_PQ_UTF8, &out, msg, sizeof msg); /* size query */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tw_parquet_reader *r = NULL;
    char msg[256];
    if (tw_parquet_open_memory(data, size, &r, msg, sizeof msg) != 0)
        return 0;
    int64_t rows = tw_parquet_num_rows(r);
    size_t ncols = tw_parquet_num_columns(r);
    for (size_t c = 0; c < ncols && c < 32; c++) {
        tw_parquet_column_info ci;
        if (tw_parquet_column(r, c, &ci) != 0)
            abort();
        read_column(r, c, rows < ROWS ? rows : ROWS);
    }
    for (size_t i = 0; i < tw_parquet_metadata_count(r); i++) {
        const char *k, *v;
        if (tw_parquet_metadata_at(r, i, &k, &v) != 0 || !k || !v)
            abort();
    }
    tw_parquet_close(r);
    return 0;
}
