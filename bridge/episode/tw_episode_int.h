/* Internal to the episode files (not a public header): the journal record format shared by
 * the writer (tw_episode_write.c), the HDF5 builder (tw_episode_h5.c) and recovery.
 * Layout in schemas/episode.md, section "The journal". */
#ifndef TW_EPISODE_INT_H
#define TW_EPISODE_INT_H

#include <hdf5.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "tw_episode.h"

#define TW_JOURNAL_NAME "episode.journal"
#define TW_H5_NAME "episode.h5"
#define TW_JOURNAL_MAGIC "TWEPJNL" /* + one byte: journal major version */
#define TW_JOURNAL_MAJOR 1
#define TW_REC_MAGIC 0x4A525754u   /* "TWRJ" little-endian, starts every record */
#define TW_REC_HEADER 16           /* u32 magic, u32 type, u32 len, u32 crc32(payload) */
#define TW_REC_MAX (64u << 20)     /* no valid record is larger; a bigger len means garbage */

typedef enum {
    TW_REC_HEAD = 1,  /* JSON: episode info + declarations; always the first record */
    TW_REC_BATCH = 2, /* samples of one stream, see tw_batch_hdr */
    TW_REC_EVENT = 3, /* i64 t_ns, then kind\0label\0data\0 */
    TW_REC_CLOCK = 4, /* i64 t_server_ns, offset_ns, rtt_ns */
    TW_REC_DROPS = 5, /* u16 stream index, u16 0, u32 0, u64 n */
    TW_REC_META = 6,  /* key\0json_value\0 */
    TW_REC_END = 7,   /* i64 ended_ns, i32 success, then status\0 */
    TW_REC_VIDEO = 8, /* video stream facts known once the muxer opened: JSON */
    TW_REC_DUPS = 9,  /* u64 stream index, u64 duplicates so far (resends not stored again) */
} tw_rec_type;

/* Batch payload: this header, then i64 t_src[n], i64 t_recv[n], u64 seq[n], then
 *   fixed shape: data[n * sample_bytes]
 *   event:       u32 len[n], then the texts back to back
 *   video:       i64 pts[n], u32 size[n], u8 keyframe[n] */
typedef struct {
    uint16_t stream; /* index in the declaration order */
    uint16_t layout; /* TW_LAYOUT_* */
    uint32_t n;
} tw_batch_hdr;

enum { TW_LAYOUT_FIXED = 0, TW_LAYOUT_TEXT = 1, TW_LAYOUT_VIDEO = 2 };

/* ---- journal writer ---- */
typedef struct {
    int fd;
    uint64_t off;      /* bytes written so far (all complete records) */
    uint64_t synced;   /* offset known durable */
    int failed;        /* a write failed: the file ends at `off` (truncated back) */
} tw_journal;

int tw_journal_create(tw_journal *j, const char *path, char *msg, size_t msgsz);
/* Writes one record from scattered payload pieces; all-or-nothing (a partial write is cut off). */
int tw_journal_write(tw_journal *j, uint32_t type, const struct iovec *iov, int iovcnt, char *msg,
                     size_t msgsz);
int tw_journal_sync(tw_journal *j, char *msg, size_t msgsz);
void tw_journal_close(tw_journal *j);

/* ---- journal reader: returns 1 with a record, 0 at the end of valid data, <0 on I/O error.
 * A torn or corrupt tail (bad magic, short, CRC mismatch) is the end: *torn says so. ---- */
typedef struct {
    FILE *f;
    uint64_t off;
    uint8_t *buf;
    size_t cap;
    int torn;
} tw_journal_reader;

int tw_journal_open_read(tw_journal_reader *r, const char *path, char *msg, size_t msgsz);
int tw_journal_next(tw_journal_reader *r, uint32_t *type, const uint8_t **payload, uint32_t *len,
                    char *msg, size_t msgsz);
void tw_journal_close_read(tw_journal_reader *r);

/* ---- HDF5 builder (tw_episode_h5.c) ---- */
/* Turns DIR/episode.journal into DIR/episode.h5 (temporary name, fsync, rename), cuts each
 * video file to the frames its index holds (or the index to the frames the file holds), then
 * removes the journal. status_override: NULL takes the END record's status, or "interrupted"
 * when the journal has none (the writer died). Used by tw_episode_close and recovery. */
int tw_episode_finish(const char *dir, const char *status_override, const char *phase, char *msg, size_t msgsz);

/* Fault injection (tw_fault.c): with TW_FAULT_STEP=PHASE:N in the environment, the Nth call
 * with that phase ("close", "recover") kills the process. Each durable step of closing and
 * recovering an episode calls it once. */
void tw_fault_point(const char *phase);

/* The JSON head record: info and declarations <-> text. */
int tw_episode_head_encode(const tw_episode_info *info, const tw_stream_decl *decls, size_t n,
                           char **out, char *msg, size_t msgsz);
/* Parses a head record; *decls malloc'd; string fields of info point into *json_keep (free with
 * json_decref). */
int tw_episode_head_decode(const uint8_t *p, size_t len, tw_episode_info *info, tw_stream_decl **decls,
                           size_t *n, void **json_keep, char *msg, size_t msgsz);

/* ---- reader's private state (tw_episode_read.c, tw_episode_data.c, tw_episode_verify.c) ---- */
typedef struct {
    tw_stream_decl decl;
    int index;                    /* declaration order */
    char group[TW_MAX_NAME + 16]; /* "streams/<name>" */
    tw_episode_stream_stats st;
    hid_t ds[4];                  /* t_src_ns, t_recv_ns, seq, data: opened on first read (0: not yet) */
} tw_rstream;

struct tw_episode {
    char dir[PATH_MAX];
    hid_t f;
    tw_episode_meta meta;
    char *metadata, *sim_params;
    size_t n;
    tw_rstream *s;
};

/* ---- the video seam (tw_episode_video.c): the registered backend, or TW_EUNSUPPORTED ---- */
int tw_epv_open(const char *path, const tw_stream_decl *d, tw_video_emit_fn emit, void *ud, tw_video_writer **out,
                char *msg, size_t msgsz);
int tw_epv_write(tw_video_writer *v, const uint8_t *data, size_t len, int64_t t_src_ns, int64_t t_recv_ns,
                 uint64_t seq, int keyflag, char *msg, size_t msgsz);
int tw_epv_flush(tw_video_writer *v, char *msg, size_t msgsz);
int tw_epv_close(tw_video_writer *v, int abandon, char *msg, size_t msgsz);
uint64_t tw_epv_bytes(const tw_video_writer *v);
int tw_epv_count_frames(const char *path, uint64_t *frames, uint64_t *keyframes, char *msg, size_t msgsz);
int tw_epv_truncate(const char *path, uint64_t nframes, char *msg, size_t msgsz);


#endif
