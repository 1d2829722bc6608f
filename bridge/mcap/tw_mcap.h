/* tw_mcap: read and write MCAP files (storage only: no ROS, no transport).
 * Implemented in Rust on Foxglove's `mcap` crate (bridge/mcap/src); this header is the whole API.
 *
 * Every function returns 0 or a negative tw_err code (tw_core.h) and, where it takes msg/msgsz,
 * writes what went wrong and where (file, byte offset, record kind) into msg. No function
 * panics across the boundary or crashes on a corrupt file. Handles are opaque; close(NULL) and
 * abort(NULL) do nothing. A handle is used by one thread at a time. */
#ifndef TW_MCAP_H
#define TW_MCAP_H

#include <stddef.h>
#include <stdint.h>

#include "tw_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reading ---- */

typedef struct tw_mcap_reader tw_mcap_reader;

typedef struct {
    uint64_t max_record_bytes; /* largest record (chunk, attachment, ...) read at once; default 256 MiB */
    uint64_t max_buffer_bytes; /* uncompressed chunks held at once for log-time order; default 512 MiB.
                                  Files whose chunks overlap in time beyond it are read in file order. */
} tw_mcap_read_opts;

void tw_mcap_read_opts_init(tw_mcap_read_opts *o);

typedef struct {
    uint64_t file_size;
    uint64_t stop_offset;   /* indexed: where the summary starts; scanned: where the scan stopped */
    uint64_t message_count; /* from the statistics record; 0 when the file has none */
    uint64_t chunk_count;   /* chunks holding messages */
    int indexed;            /* 1: schemas, channels and chunks come from the summary section */
    int recovered;          /* 1: no footer/summary (recorder killed) or cut: read by scanning records;
                               everything before stop_offset is available, see warning */
    int log_time_order;     /* 1: tw_mcap_reader_next yields messages in log-time order; 0: file order
                               (unchunked files, or chunks overlapping beyond max_buffer_bytes) */
    const char *profile;    /* header profile, e.g. "ros2"; "" when none */
    const char *warning;    /* "" or why the file was read partly or in file order (names offset) */
} tw_mcap_info;

typedef struct {
    uint16_t id;
    const char *name;
    const char *encoding;   /* e.g. "ros2msg", "jsonschema" */
    const uint8_t *data;
    size_t data_len;
} tw_mcap_schema;

typedef struct {
    uint16_t id;
    uint16_t schema_id;     /* 0: no schema */
    const char *topic;
    const char *message_encoding; /* e.g. "cdr", "json" */
    size_t n_metadata;
    const char *const *metadata_keys;
    const char *const *metadata_values;
} tw_mcap_channel;

typedef struct {
    const char *name;
    size_t n;
    const char *const *keys;
    const char *const *values;
} tw_mcap_metadata;

typedef struct {
    const char *name;
    const char *media_type;
    uint64_t log_time;
    uint64_t create_time;
    uint64_t data_len;
    uint64_t offset;        /* byte offset of the attachment record */
} tw_mcap_attachment;

typedef struct {
    uint16_t channel_id;
    uint32_t sequence;
    uint64_t log_time;      /* ns */
    uint64_t publish_time;  /* ns */
    const uint8_t *data;
    size_t data_len;
} tw_mcap_message;

/* Opens path (opts may be NULL for defaults). A file with a summary is read through its indexes;
 * one without (crashed recorder) or cut mid-record is scanned and opened with info.recovered=1
 * and a warning: that is not an error. Not an MCAP file: TW_EBAD_MAGIC. A CRC mismatch or corrupt
 * chunk met while scanning: TW_EINTEGRITY (TW_ETRUNCATED, TW_ETOO_BIG, TW_EUNSUPPORTED likewise). */
int tw_mcap_reader_open(const char *path, const tw_mcap_read_opts *opts, tw_mcap_reader **out,
                        char *msg, size_t msgsz);
void tw_mcap_reader_close(tw_mcap_reader *r);

/* Strings and arrays filled in below belong to the reader and stay valid until close. */
int tw_mcap_reader_info(const tw_mcap_reader *r, tw_mcap_info *out);
size_t tw_mcap_reader_schema_count(const tw_mcap_reader *r);
int tw_mcap_reader_schema(const tw_mcap_reader *r, size_t i, tw_mcap_schema *out);   /* by index, id order */
int tw_mcap_reader_schema_by_id(const tw_mcap_reader *r, uint16_t id, tw_mcap_schema *out);
size_t tw_mcap_reader_channel_count(const tw_mcap_reader *r);
int tw_mcap_reader_channel(const tw_mcap_reader *r, size_t i, tw_mcap_channel *out); /* by index, id order */
int tw_mcap_reader_channel_by_id(const tw_mcap_reader *r, uint16_t id, tw_mcap_channel *out);
size_t tw_mcap_reader_metadata_count(const tw_mcap_reader *r);
int tw_mcap_reader_metadata(const tw_mcap_reader *r, size_t i, tw_mcap_metadata *out);
size_t tw_mcap_reader_attachment_count(const tw_mcap_reader *r);
int tw_mcap_reader_attachment(const tw_mcap_reader *r, size_t i, tw_mcap_attachment *out);
/* Reads attachment i (CRC checked); *data is valid until the next call on r. */
int tw_mcap_reader_attachment_data(tw_mcap_reader *r, size_t i, const uint8_t **data, size_t *len,
                                   char *msg, size_t msgsz);

/* Next message: returns 1 and fills out (out->data valid until the next call on r), 0 at the
 * end, or a negative code (then every later call returns it too). Streams: holds only the
 * chunks that overlap in log time, never the whole file. */
int tw_mcap_reader_next(tw_mcap_reader *r, tw_mcap_message *out, char *msg, size_t msgsz);

/* ---- writing ---- */

typedef struct tw_mcap_writer tw_mcap_writer;

typedef enum { TW_MCAP_ZSTD = 0, TW_MCAP_LZ4 = 1, TW_MCAP_UNCOMPRESSED = 2 } tw_mcap_compression;

typedef struct {
    tw_mcap_compression compression; /* default TW_MCAP_ZSTD */
    uint64_t chunk_size;             /* uncompressed bytes per chunk; default 4 MiB */
    int use_chunks;                  /* default 1; 0 writes messages outside chunks (no message index) */
    const char *profile;             /* header profile, e.g. "ros2"; default "" */
} tw_mcap_write_opts;

void tw_mcap_write_opts_init(tw_mcap_write_opts *o);

/* Creates "<path>.tmp"; nothing appears under path until tw_mcap_writer_close succeeds. */
int tw_mcap_writer_open(const char *path, const tw_mcap_write_opts *opts, tw_mcap_writer **out,
                        char *msg, size_t msgsz);
int tw_mcap_writer_add_schema(tw_mcap_writer *w, const char *name, const char *encoding,
                              const uint8_t *data, size_t len, uint16_t *id, char *msg, size_t msgsz);
/* keys/values: n_metadata pairs (may be NULL when 0). schema_id 0 means no schema. */
int tw_mcap_writer_add_channel(tw_mcap_writer *w, uint16_t schema_id, const char *topic,
                               const char *message_encoding, const char *const *keys,
                               const char *const *values, size_t n_metadata, uint16_t *id,
                               char *msg, size_t msgsz);
int tw_mcap_writer_write(tw_mcap_writer *w, const tw_mcap_message *m, char *msg, size_t msgsz);
int tw_mcap_writer_add_metadata(tw_mcap_writer *w, const char *name, const char *const *keys,
                                const char *const *values, size_t n, char *msg, size_t msgsz);
int tw_mcap_writer_add_attachment(tw_mcap_writer *w, const char *name, const char *media_type,
                                  uint64_t log_time, uint64_t create_time, const uint8_t *data,
                                  size_t len, char *msg, size_t msgsz);
/* Writes summary and indexes, fsyncs, renames "<path>.tmp" to path, fsyncs the directory, and
 * frees w. On error the temporary file is removed (and w freed all the same). After any failed
 * write, close fails with TW_ESTATE: a half-written file is never renamed into place. */
int tw_mcap_writer_close(tw_mcap_writer *w, char *msg, size_t msgsz);
/* Stops without finishing: removes "<path>.tmp" and frees w. */
void tw_mcap_writer_abort(tw_mcap_writer *w);

#ifdef __cplusplus
}
#endif
#endif
