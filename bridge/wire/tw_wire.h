/* teleworld.v1 wire codec: binary data frames and JSON control messages.
 * The byte-level contract is schemas/protocol.md; this header is its C face.
 * Everything here is pure (no I/O, no globals) and safe on untrusted bytes. */
#ifndef TW_WIRE_H
#define TW_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "tw_core.h"

#define TW_SUBPROTOCOL "teleworld.v1"
#define TW_PROTOCOL_MAJOR 1
#define TW_PROTOCOL_MINOR 0

/* Limits (also in protocol.md; a peer exceeding them gets TW_ETOO_BIG). */
#define TW_MAX_NAME 64                 /* bytes incl. NUL for names, units, frames */
#define TW_MAX_DIMS 4
#define TW_MAX_AXES 64                 /* joint / axis names per stream */
#define TW_MAX_ELEMS 4096              /* elements per fixed-shape sample */
#define TW_MAX_EVENT_BYTES 4096        /* event payload (UTF-8 JSON text) */
#define TW_MAX_VIDEO_BYTES (8u << 20)  /* one encoded access unit or raw frame */
#define TW_MAX_BINARY_MSG (16u << 20)  /* one websocket binary message */
#define TW_MAX_TEXT_MSG (256u << 10)   /* one websocket text (JSON) message */
#define TW_MAX_META 4096               /* bytes of free-form metadata JSON */
#define TW_MAX_TEXT 1024               /* task, operator, labels, messages */
#define TW_FRAME_HEADER_SIZE 24

typedef enum {
    TW_KIND_JOINT_STATE = 0, /* shape [3, N]: rows position, velocity, effort */
    TW_KIND_WRENCH,          /* shape [6]: fx fy fz tx ty tz */
    TW_KIND_ACTION,          /* shape [N] */
    TW_KIND_VIDEO,           /* variable-length payload, see tw_video_enc */
    TW_KIND_IMU,             /* shape [10]: qw qx qy qz, gx gy gz, ax ay az */
    TW_KIND_TENSOR,          /* any fixed shape */
    TW_KIND_EVENT,           /* variable-length UTF-8 JSON object payload */
    TW_KIND__COUNT
} tw_kind;

typedef enum {
    TW_DTYPE_FLOAT32 = 0,
    TW_DTYPE_FLOAT64,
    TW_DTYPE_INT32,
    TW_DTYPE_INT64,
    TW_DTYPE_UINT8,
    TW_DTYPE_BYTES, /* variable length; only for video and event streams */
    TW_DTYPE__COUNT
} tw_dtype;

typedef enum {
    TW_VIDEO_NONE = 0,
    TW_VIDEO_H264,  /* one Annex-B access unit per frame */
    TW_VIDEO_JPEG,  /* one baseline JPEG per frame */
    TW_VIDEO_RGB24, /* width*height*3 bytes, row-major, encoded by the recorder */
} tw_video_enc;

/* Frame flags (u16). Unknown bits must be zero. */
#define TW_FLAG_KEYFRAME 0x0001u
#define TW_FLAG_DISCONT 0x0002u /* sender knows it dropped samples before this one */
#define TW_FLAG__KNOWN 0x0003u

typedef struct {
    uint16_t id;                         /* 1..65535, unique in the session */
    char name[TW_MAX_NAME];              /* [A-Za-z0-9_.-]+, unique in the session */
    tw_kind kind;
    tw_dtype dtype;
    uint32_t ndim;                       /* 0 for variable-length kinds */
    uint32_t shape[TW_MAX_DIMS];
    uint32_t naxes;                      /* joint or axis names (0 allowed) */
    char axes[TW_MAX_AXES][TW_MAX_NAME];
    char units[TW_MAX_NAME];             /* free text, e.g. "rad;rad/s;N*m" */
    char frame[TW_MAX_NAME];             /* coordinate frame, may be empty */
    double rate_hz;                      /* nominal rate, > 0 */
    tw_video_enc encoding;               /* video only */
    uint32_t width, height;              /* video only */
} tw_stream_decl;

/* Number of elements and bytes of one sample; 0 bytes for variable-length kinds. */
size_t tw_decl_elems(const tw_stream_decl *d);
size_t tw_decl_sample_bytes(const tw_stream_decl *d);
size_t tw_dtype_size(tw_dtype t);
const char *tw_kind_name(tw_kind k);
const char *tw_dtype_name(tw_dtype t);
const char *tw_video_enc_name(tw_video_enc e);
/* Inverses of the *_name() functions; return the value or -1 for an unknown name. */
int tw_kind_from_name(const char *s);
int tw_dtype_from_name(const char *s);
int tw_video_enc_from_name(const char *s);
/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF);
 * otherwise 0 with *bad_off (may be NULL) set to the offset of the first bad byte. */
int tw_utf8_valid(const void *s, size_t len, size_t *bad_off);
/* Cuts NUL-terminated s at its first invalid UTF-8 byte (e.g. a character that snprintf
 * truncated in half) and returns the new length. tw_msg_encode applies it to
 * error.message, so decoder messages can be forwarded to a peer as they are. */
size_t tw_utf8_trim(char *s);
/* Validates one declaration by itself (names, kind/dtype/shape consistency, limits). */
int tw_decl_validate(const tw_stream_decl *d, char *msg, size_t msgsz);

/* ---- binary data frames ----------------------------------------------------
 * A websocket binary message carries one or more frames back to back:
 *   off 0  u16 stream_id | off 2 u16 flags | off 4 u32 payload_len |
 *   off 8  u64 seq       | off 16 i64 t_src_ns | off 24 payload[payload_len]
 * all little-endian. */
typedef struct {
    uint16_t stream_id;
    uint16_t flags;
    uint32_t payload_len;
    uint64_t seq;
    int64_t t_src_ns;
    const uint8_t *payload; /* points into the decoded buffer; not owned */
} tw_frame;

/* Writes header+payload into dst; returns bytes written or 0 when cap is too small. */
size_t tw_frame_encode(uint8_t *dst, size_t cap, const tw_frame *f);

/* A session's validated stream set; lookup by id is O(1). Heap object. */
typedef struct tw_stream_table tw_stream_table;
int tw_stream_table_new(tw_stream_table **out);
void tw_stream_table_free(tw_stream_table *t); /* NULL is a no-op */
/* Copies d in after validation; rejects duplicate ids/names and more than TW_MAX_STREAMS. */
int tw_stream_table_add(tw_stream_table *t, const tw_stream_decl *d, char *msg, size_t msgsz);
const tw_stream_decl *tw_stream_table_get(const tw_stream_table *t, uint16_t id); /* NULL if unknown */
size_t tw_stream_table_count(const tw_stream_table *t);
const tw_stream_decl *tw_stream_table_at(const tw_stream_table *t, size_t i);

/* Iterates the frames of one binary message. With a table, each frame is also checked
 * against its stream (known id, payload size for the dtype/shape, video/event limits).
 * Returns 1 with *out filled, 0 at the clean end, or a negative tw_err with msg saying
 * what and at which byte offset. After an error the iterator stays at the error. */
typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t off;
    size_t index; /* number of frames returned so far (for error messages) */
} tw_frame_iter;
void tw_frame_iter_init(tw_frame_iter *it, const void *buf, size_t len);
int tw_frame_next(tw_frame_iter *it, const tw_stream_table *t, tw_frame *out, char *msg, size_t msgsz);

/* ---- JSON control messages ------------------------------------------------ */
typedef enum {
    /* client -> server */
    TW_MSG_HELLO = 0,     /* declares client + streams; first message of a session */
    TW_MSG_EPISODE_START, /* task, operator, robot, metadata */
    TW_MSG_EPISODE_STOP,  /* success flag */
    TW_MSG_EPISODE_ABORT, /* reason */
    TW_MSG_ANNOTATE,      /* label + optional data at a source time */
    TW_MSG_METADATA,      /* merge metadata into the current episode */
    /* either direction */
    TW_MSG_PING,
    TW_MSG_PONG,
    /* server -> client */
    TW_MSG_WELCOME, /* answer to hello: session id, limits */
    TW_MSG_ACK,     /* answer to episode control: what, episode id */
    TW_MSG_STATUS,  /* periodic counters */
    TW_MSG_ERROR,   /* stable code + human message */
    TW_MSG__COUNT
} tw_msg_type;

typedef struct {
    uint16_t id;
    uint64_t received, written, dropped, gaps, bytes;
    /* the open episode's counters as its file will store them (tw_wire.h, "sequence numbers"); gaps = its "missing".
     * Optional on the wire (absent: 0). */
    uint64_t duplicates, out_of_order, resets, nonmonotonic_t, nonfinite;
} tw_stream_status;

typedef struct {
    tw_msg_type type;
    union {
        struct {
            char client[TW_MAX_NAME];  /* software name */
            char version[TW_MAX_NAME];
            char rig[TW_MAX_NAME];     /* rig / robot instance id */
            uint32_t nstreams;
            tw_stream_decl *streams;   /* owned: freed by tw_msg_clear() */
        } hello;
        struct {
            char task[TW_MAX_TEXT];
            char operator_[TW_MAX_NAME];
            char robot[TW_MAX_NAME];
            char metadata[TW_MAX_META]; /* JSON object text, "" if none */
        } start;
        struct { int success; /* -1 unknown, 0 no, 1 yes */ } stop;
        struct { char reason[TW_MAX_TEXT]; } abort_;
        struct {
            int64_t t_src_ns;
            char label[TW_MAX_TEXT];
            char data[TW_MAX_META]; /* JSON text, "" if none */
        } annotate;
        struct { char metadata[TW_MAX_META]; } metadata;
        struct {
            uint64_t id;
            int64_t t0_ns; /* ping: sender's clock at send */
            int64_t t1_ns; /* pong: responder's clock at receive */
            int64_t t2_ns; /* pong: responder's clock at send */
        } ping; /* used by both PING and PONG */
        struct {
            char session_id[TW_MAX_NAME];
            uint32_t max_binary, max_text;
            uint32_t status_interval_ms;
        } welcome;
        struct {
            char what[TW_MAX_NAME]; /* "episode_start", "episode_stop", ... */
            char episode_id[TW_MAX_NAME];
        } ack;
        struct {
            char episode_id[TW_MAX_NAME]; /* "" when none is open */
            uint64_t queue_bytes, queue_cap_bytes;
            double write_lag_ms;
            int64_t clock_offset_ns;
            uint32_t nstreams;
            tw_stream_status streams[TW_MAX_STREAMS];
        } status;
        struct {
            char code[TW_MAX_NAME]; /* tw_err_name() of the cause */
            char message[TW_MAX_TEXT];
            int fatal;              /* the server closes after a fatal error */
        } error;
    } u;
} tw_msg;

/* Unknown-field policy (protocol.md section 3): messages a server receives (hello,
 * episode control, ping, pong) reject unknown fields with TW_ESCHEMA; server replies
 * (welcome, ack, status, error) ignore them; "x_*" fields are ignored everywhere.
 * An unknown "type" gives TW_EUNSUPPORTED.
 * Decodes one text message (need not be NUL-terminated). On success the caller owns
 * *out's heap parts and releases them with tw_msg_clear(). Rejects invalid UTF-8,
 * malformed JSON, unknown types, missing/extra-typed fields, limits exceeded. */
int tw_msg_decode(const char *text, size_t len, tw_msg *out, char *msg, size_t msgsz);
/* Encodes to a malloc'd NUL-terminated JSON string (*out, caller frees). */
int tw_msg_encode(const tw_msg *m, char **out, char *msg, size_t msgsz);
void tw_msg_clear(tw_msg *m);
const char *tw_msg_type_name(tw_msg_type t);
int tw_msg_type_from_name(const char *s); /* -1 for an unknown name */

/* Declaration <-> JSON object text (used by the episode files too). */
int tw_decl_to_json(const tw_stream_decl *d, char **out);
int tw_decl_from_json(const char *text, size_t len, tw_stream_decl *out, char *msg, size_t msgsz);

/* ======================================================================= sequence numbers */
/* One meaning for per-stream sequence numbers and source times (schemas/protocol.md section 8,
 * schemas/episode.md "Counters"): the recorder's live counters, the episode writer, the HDF5
 * builder and `tw inspect` all run this same tracker, so their counters agree by construction.
 *
 * For each frame of a stream, against the newest seq seen so far (`last`):
 *   seq > last, jump <= TW_SEQ_MAX_JUMP   NEW: stored; a jump > 1 adds a gap and jump-1 missing
 *   seq > last, jump >  TW_SEQ_MAX_JUMP   RESET: stored; the stream restarted, nothing missing
 *   last-seq < TW_SEQ_WINDOW, seen        DUP: not stored again, counted in duplicates
 *   last-seq < TW_SEQ_WINDOW, not seen    LATE: stored in arrival order, counted in out_of_order,
 *                                         and the hole it fills is no longer missing
 *   last-seq >= TW_SEQ_WINDOW             RESET (too far back to be a resend)
 * Source time: a stored sample whose t_src is below the previous stored one's counts in
 * nonmonotonic_t; NaN/Inf elements of a float sample count once per sample in nonfinite. */
#define TW_SEQ_WINDOW 65536u            /* resends recognised up to this far behind the newest seq */
#define TW_SEQ_MAX_JUMP (1ull << 24)    /* a bigger forward jump is a restart, not 2^24 lost samples */

enum { TW_SEQ_NEW = 0, TW_SEQ_LATE, TW_SEQ_DUP, TW_SEQ_RESET };

typedef struct {
    uint64_t gaps, missing, duplicates, out_of_order, resets, nonmonotonic_t, nonfinite;
} tw_seq_counts;

typedef struct {
    tw_seq_counts c;
    uint64_t last, base; /* newest seq; first seq since the start or the last reset */
    int64_t last_t;      /* source time of the previous stored sample */
    int have, have_t;
    uint64_t win[TW_SEQ_WINDOW / 64]; /* bit i of the ring: seq (last - i) was stored */
} tw_seqtrack;

void tw_seq_init(tw_seqtrack *t);
/* Classifies one frame (TW_SEQ_*) and updates the counters; a DUP changes nothing else. */
int tw_seq_track(tw_seqtrack *t, uint64_t seq);
/* For a sample that is stored: source-time order. */
void tw_seq_time(tw_seqtrack *t, int64_t t_src_ns);
/* 1 when a float sample (payload of the declared dtype) holds a NaN or an infinity. */
int tw_seq_nonfinite(tw_dtype dtype, const void *payload, size_t elems);

#endif
