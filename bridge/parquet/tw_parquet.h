/* tw_parquet: storage-only Parquet reader and writer (Apache Arrow's Rust `parquet` crate behind a C API).
 *
 * Columns are the file's leaf columns, named by dotted path: struct fields become "a.b", list levels add
 * nothing ("observation.state" of type fixed_size_list<float, 6> is one column with one level). Values of a
 * row range come back flattened into caller buffers, with the number of leaf values per row.
 * Every function returns 0 or a negative TW_E... code (tw_core.h) and, given a buffer, writes what failed and
 * where (file, column, row group) into msg. No function prints, exits or lets a Rust panic cross into C. */
#ifndef TW_PARQUET_H
#define TW_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TW_PARQUET_MAX_LEVELS 4

/* Value types. A reader reports the leaf's type after dictionary decoding; reads convert to BOOL (uint8_t
 * 0/1), INT32, INT64, FLOAT32, FLOAT64 (integers widen to floats; floats never become integers) or UTF8. */
typedef enum {
    TW_PQ_OTHER = 0, /* anything else (decimal, nested beyond the levels below, ...): not readable */
    TW_PQ_BOOL,
    TW_PQ_INT8,
    TW_PQ_INT16,
    TW_PQ_INT32,
    TW_PQ_INT64,
    TW_PQ_UINT8,
    TW_PQ_UINT16,
    TW_PQ_UINT32,
    TW_PQ_UINT64,
    TW_PQ_FLOAT16,
    TW_PQ_FLOAT32,
    TW_PQ_FLOAT64,
    TW_PQ_UTF8,   /* string, large_string, string_view */
    TW_PQ_BINARY, /* binary, large_binary, fixed-size binary: read with TW_PQ_UTF8 (bytes, no validation) */
    TW_PQ_TIME,   /* date, time, timestamp, duration: read as INT64 in the stored unit */
} tw_parquet_type;

/* One list level above a leaf, outermost first. */
typedef struct {
    int32_t size;  /* fixed_size_list: n; list: 0 (reader), or in a writer's field the constant entry count */
    uint8_t fixed; /* 1 = fixed_size_list<T, size>, 0 = list<T> */
} tw_parquet_level;

/* ---- reader ---- */

typedef struct tw_parquet_reader tw_parquet_reader;

typedef struct {
    const char *name;     /* dotted path, e.g. "observation.state", "a.b" */
    tw_parquet_type type; /* leaf value type */
    const char *logical;  /* Arrow type of the whole column, e.g. "FixedSizeList(6 x Float32)" */
    const char *physical; /* Parquet physical type: "FLOAT", "BYTE_ARRAY", ... */
    int nlevels;          /* list levels above the leaf; 0 = scalar */
    tw_parquet_level levels[TW_PARQUET_MAX_LEVELS];
    int nullable;         /* the leaf may hold nulls */
} tw_parquet_column_info;

/* Opens a file (only its footer is read). *out owns the file until tw_parquet_close(). Not a Parquet file:
 * TW_EBAD_MAGIC; cut short: TW_ETRUNCATED; damaged: TW_EINTEGRITY; OS error: TW_EIO / TW_ENOT_FOUND. */
int tw_parquet_open(const char *path, tw_parquet_reader **out, char *msg, size_t msgsz);
/* Same on a copy of len bytes at data (the caller's buffer may be freed right after). */
int tw_parquet_open_memory(const void *data, size_t len, tw_parquet_reader **out, char *msg, size_t msgsz);
void tw_parquet_close(tw_parquet_reader *r); /* NULL: no-op */

int64_t tw_parquet_num_rows(const tw_parquet_reader *r);
size_t tw_parquet_num_row_groups(const tw_parquet_reader *r);
int64_t tw_parquet_row_group_rows(const tw_parquet_reader *r, size_t rg); /* -1 if rg is out of range */
size_t tw_parquet_num_columns(const tw_parquet_reader *r);
/* Pointers in *info stay valid until tw_parquet_close(). */
int tw_parquet_column(const tw_parquet_reader *r, size_t col, tw_parquet_column_info *info);
/* Index of the column named `name` (dotted path); TW_ENOT_FOUND if there is none. */
int tw_parquet_find(const tw_parquet_reader *r, const char *name, size_t *col);

/* File key/value metadata (pyarrow's schema metadata: "huggingface", "pandas", "ARROW:schema", ...).
 * Strings are NUL-terminated and live until tw_parquet_close(); a value with no content is "". */
size_t tw_parquet_metadata_count(const tw_parquet_reader *r);
int tw_parquet_metadata_at(const tw_parquet_reader *r, size_t i, const char **key, const char **value);
const char *tw_parquet_metadata_get(const tw_parquet_reader *r, const char *key); /* NULL if absent */

/* Caller buffers for one read. Inputs: values/values_cap, offsets/offsets_cap (UTF8 only), lengths (optional,
 * nrows entries), valid (optional, values_cap entries). Outputs: nvalues, nbytes. */
typedef struct {
    void *values;        /* nvalues elements of the requested type; UTF8: the bytes of all strings back to back */
    size_t values_cap;   /* capacity in elements (UTF8: bytes) */
    int64_t *offsets;    /* UTF8: string i is values[offsets[i], offsets[i+1]); needs nvalues + 1 entries */
    size_t offsets_cap;
    int64_t *lengths;    /* optional [nrows]: leaf values per row (scalar 1; null list 0; null fixed list n) */
    uint8_t *valid;      /* optional [values_cap] (UTF8: [offsets_cap - 1]): 1 = present, 0 = null (0, NaN, "") */
    size_t nvalues;      /* out: values written; with TW_EFULL the count needed */
    size_t nbytes;       /* out, UTF8: bytes written; with TW_EFULL the bytes needed */
} tw_parquet_out;

/* Reads rows [row0, row0 + nrows) of column col as type `as`, one row group at a time: memory holds at most
 * one decoded row group per column, whatever the file's size. One thread at a time per reader. Buffers too
 * small: TW_EFULL with the needed sizes in out (call with zero capacities to ask). Type not convertible:
 * TW_EDTYPE. */
int tw_parquet_read(tw_parquet_reader *r, size_t col, int64_t row0, int64_t nrows, tw_parquet_type as,
                    tw_parquet_out *out, char *msg, size_t msgsz);

/* ---- writer ---- */

typedef struct tw_parquet_writer tw_parquet_writer;

typedef enum { TW_PQ_SNAPPY = 0, TW_PQ_ZSTD, TW_PQ_GZIP, TW_PQ_UNCOMPRESSED } tw_parquet_codec;

typedef struct {
    tw_parquet_codec codec;   /* default TW_PQ_SNAPPY (what LeRobot and HF datasets write) */
    int level;                /* codec level, 0 = codec default */
    int64_t row_group_rows;   /* rows per row group before an automatic flush; default 1048576 (pyarrow's) */
    int dictionary;           /* dictionary encoding; default 1 (pyarrow's use_dictionary=True) */
    int page_v2;              /* data page v2 (Parquet 2.0 writer); default 0: v1 like pyarrow */
} tw_parquet_write_options;

void tw_parquet_write_options_init(tw_parquet_write_options *o);

/* One column to write. Zero-initialised fields give pyarrow's defaults: nullable, scalar. Types: BOOL,
 * INT32, INT64, FLOAT32, FLOAT64, UTF8. A vector feature as LeRobot/HF datasets store it
 * (fixed_size_list<float, 6>): nlevels 1, levels[0] = {6, 1}. list<double>: levels[0] = {0, 0}, rows
 * sized by `lengths`. Levels below the first need a size > 0 (LeRobot's image stats are
 * list<list<list<double>>> with levels {3,0},{1,0},{1,0}). */
typedef struct {
    const char *name;
    tw_parquet_type type;
    int nlevels;
    tw_parquet_level levels[TW_PARQUET_MAX_LEVELS];
    int required; /* 1: no nulls allowed (non-nullable field) */
} tw_parquet_field;

/* One column's values for tw_parquet_writer_write(). Only the pointers the field's shape needs are read. */
typedef struct {
    const void *values;       /* flattened leaf values (BOOL: uint8_t); UTF8: bytes indexed by offsets */
    const int64_t *offsets;   /* UTF8 with values: nvalues + 1 byte offsets */
    const char *const *strs;  /* UTF8 alternative: nvalues NUL-terminated strings */
    const int64_t *lengths;   /* [nrows] leaf values per row, needed when levels[0].size == 0 */
    const uint8_t *valid;     /* optional [nvalues]: 0 = null leaf value */
} tw_parquet_in;

/* Creates path.tmp; nothing appears at path before tw_parquet_writer_close() succeeds. Memory: the encoded
 * pages of the current row group (bounded by row_group_rows). */
int tw_parquet_writer_open(const char *path, const tw_parquet_field *fields, size_t nfields,
                           const tw_parquet_write_options *opt, tw_parquet_writer **out, char *msg, size_t msgsz);
/* File key/value metadata (e.g. "huggingface" with the HF datasets features JSON); before the first write. */
int tw_parquet_writer_set_metadata(tw_parquet_writer *w, const char *key, const char *value, char *msg,
                                   size_t msgsz);
/* Appends nrows rows; cols has one entry per field, in field order. */
int tw_parquet_writer_write(tw_parquet_writer *w, int64_t nrows, const tw_parquet_in *cols, char *msg,
                            size_t msgsz);
/* Ends the current row group now (LeRobot writes one row group per episode). */
int tw_parquet_writer_flush(tw_parquet_writer *w, char *msg, size_t msgsz);
/* Writes the footer, fsyncs, renames path.tmp to path, fsyncs the directory, frees w (also on error, after
 * removing path.tmp). */
int tw_parquet_writer_close(tw_parquet_writer *w, char *msg, size_t msgsz);
/* Stops without finishing: deletes path.tmp, frees w. NULL: no-op. */
void tw_parquet_writer_abort(tw_parquet_writer *w);

#ifdef __cplusplus
}
#endif
#endif
