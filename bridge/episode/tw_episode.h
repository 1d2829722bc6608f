/* Episode files (schemas/episode.md): writer used by the recorder and simgen,
 * reader used by replay, fuse and `tw inspect`. One directory per episode:
 * episode.h5 for signals, events, clock and video index; one video file per camera. */
#ifndef TW_EPISODE_H
#define TW_EPISODE_H

#include <stddef.h>
#include <stdint.h>

#include "tw_core.h"
#include "tw_wire.h"

#define TW_EPISODE_FORMAT "teleworld.episode"
#define TW_EPISODE_MAJOR 1
#define TW_EPISODE_MINOR 0
#define TW_EPISODE_VERSION_STR "1.0" /* MAJOR.MINOR as stored in the files */

/* Episode status attribute values. */
#define TW_EP_RECORDING "recording"     /* open, or the writer died (recover it) */
#define TW_EP_COMPLETE "complete"
#define TW_EP_ABORTED "aborted"
#define TW_EP_INTERRUPTED "interrupted" /* recovered after a crash */
#define TW_EP_ERROR "error"             /* ended by a write error (e.g. disk full) */

typedef struct {
    const char *episode_id;    /* required; also the directory name under the output root */
    const char *session_id;
    const char *task, *operator_, *robot;
    const char *domain;        /* "real" (recorder) or "sim" (simgen) */
    const char *metadata_json; /* free-form JSON object text or NULL */
    const char *sim_params_json; /* sampled randomisation parameters (sim only) or NULL */
    const char *software_version;
    int64_t started_ns;        /* recorder clock */
    int compression;           /* gzip level 0..9 for signal datasets, default 1 */
    uint32_t chunk_samples;    /* HDF5 chunk length in samples, default 1024 */
} tw_episode_info;
void tw_episode_info_init(tw_episode_info *info);

typedef struct tw_episode_writer tw_episode_writer;

/* ---- video backend ----
 * Camera streams are stored through a backend this library does not link (bridge/media provides one:
 * tw_media_use_for_episodes), so a program that never writes video loads no FFmpeg. Without a backend
 * a camera stream is refused with TW_EUNSUPPORTED, recovery cannot cut a video file, and verify notes
 * that video files were not checked. Set once at start; the pointer must stay valid. */
/* One frame as it landed in the file: what the per-frame index stores. */
typedef struct {
    int64_t t_src_ns, t_recv_ns, pts;
    uint64_t seq;
    uint32_t size; /* bytes of the stored packet */
    int keyframe;
} tw_video_emit;

/* Called once per frame written to the file, in file order. Non-zero return aborts. */
typedef int (*tw_video_emit_fn)(void *ud, const tw_video_emit *e);

typedef struct tw_video_writer tw_video_writer;
typedef struct {
    int (*writer_open)(const char *path, const tw_stream_decl *d, tw_video_emit_fn emit, void *ud,
                       tw_video_writer **out, char *msg, size_t msgsz);
    int (*writer_write)(tw_video_writer *v, const uint8_t *data, size_t len, int64_t t_src_ns, int64_t t_recv_ns,
                        uint64_t seq, int keyflag, char *msg, size_t msgsz);
    int (*writer_flush)(tw_video_writer *v, char *msg, size_t msgsz);
    int (*writer_close)(tw_video_writer *v, int abandon, char *msg, size_t msgsz);
    uint64_t (*writer_bytes)(const tw_video_writer *v);
    int (*count_frames)(const char *path, uint64_t *frames, uint64_t *keyframes, char *msg, size_t msgsz);
    int (*truncate)(const char *path, uint64_t nframes, char *msg, size_t msgsz);
} tw_episode_video;
void tw_episode_set_video(const tw_episode_video *backend);
const tw_episode_video *tw_episode_get_video(void); /* NULL when none was set */

/* Creates DIR (must not exist) and its files. Declarations are copied. */
int tw_episode_create(const char *dir, const tw_episode_info *info, const tw_stream_decl *decls,
                      size_t ndecls, tw_episode_writer **out, char *msg, size_t msgsz);
/* Appends one validated frame (of any kind, video included) received at t_recv_ns. */
int tw_episode_append(tw_episode_writer *w, const tw_frame *f, int64_t t_recv_ns, char *msg, size_t msgsz);
int tw_episode_add_drops(tw_episode_writer *w, uint16_t stream_id, uint64_t n);
int tw_episode_event(tw_episode_writer *w, int64_t t_ns, const char *kind, const char *label,
                     const char *data_json, char *msg, size_t msgsz);
int tw_episode_clock(tw_episode_writer *w, int64_t t_server_ns, int64_t offset_ns, int64_t rtt_ns);
int tw_episode_set_meta(tw_episode_writer *w, const char *key, const char *json_value);
/* Makes everything appended so far durable (what survives a kill -9). */
int tw_episode_flush(tw_episode_writer *w, char *msg, size_t msgsz);
/* Finalises with a status (TW_EP_*) and success (-1 unknown, 0, 1), then frees w. */
int tw_episode_close(tw_episode_writer *w, const char *status, int success, char *msg, size_t msgsz);
uint64_t tw_episode_bytes_written(const tw_episode_writer *w);
/* The writer's counters of one stream so far (tw_wire.h, "sequence numbers"): what the file will say for the samples
 * appended until now. The recorder reports them live. TW_EUNKNOWN_STREAM for an undeclared id. */
int tw_episode_writer_counts(const tw_episode_writer *w, uint16_t stream_id, tw_seq_counts *out);

/* Turns an interrupted episode directory into a valid one marked "interrupted".
 * Finished episodes are left untouched (*changed = 0). */
int tw_episode_recover(const char *dir, int *changed, char *msg, size_t msgsz);

/* ---- reader ---- */
typedef struct tw_episode tw_episode;

typedef struct {
    char episode_id[TW_MAX_NAME], session_id[TW_MAX_NAME];
    char task[TW_MAX_TEXT], operator_[TW_MAX_NAME], robot[TW_MAX_NAME];
    char domain[16], status[16], software_version[TW_MAX_NAME];
    int success;
    int format_major, format_minor;
    int64_t started_ns, ended_ns;
} tw_episode_meta;

/* Opens for reading; refuses an unknown major version (TW_EVERSION). */
int tw_episode_open(const char *dir, tw_episode **out, char *msg, size_t msgsz);
void tw_episode_close_reader(tw_episode *e); /* NULL is a no-op */
const tw_episode_meta *tw_episode_get_meta(const tw_episode *e);
/* Free-form JSON attributes (metadata, sim_params); NULL when absent. Owned by e. */
const char *tw_episode_get_json(const tw_episode *e, const char *key);
size_t tw_episode_nstreams(const tw_episode *e);
const tw_stream_decl *tw_episode_decl(const tw_episode *e, size_t i);
int tw_episode_find_stream(const tw_episode *e, const char *name); /* index or -1 */
uint64_t tw_episode_nsamples(const tw_episode *e, size_t i);
uint64_t tw_episode_drops(const tw_episode *e, size_t i);
/* Reads samples [start, start+count) of a fixed-shape stream; any of the outputs may be NULL.
 * data is converted to double, count*elems values. */
int tw_episode_read(const tw_episode *e, size_t i, uint64_t start, uint64_t count, int64_t *t_src_ns,
                    int64_t *t_recv_ns, uint64_t *seq, double *data, char *msg, size_t msgsz);

typedef struct {
    int64_t t_server_ns, offset_ns, rtt_ns;
} tw_clock_sample;
/* Clock-offset estimates (client clock minus recorder clock); *out is malloc'd. */
int tw_episode_read_clock(const tw_episode *e, tw_clock_sample **out, size_t *n, char *msg, size_t msgsz);

typedef struct {
    int64_t t_ns;
    char kind[TW_MAX_NAME];
    char label[TW_MAX_TEXT];
    char data[TW_MAX_META]; /* JSON text or "" */
} tw_episode_ev;
int tw_episode_read_events(const tw_episode *e, tw_episode_ev **out, size_t *n, char *msg, size_t msgsz);

typedef struct {
    int64_t t_src_ns, t_recv_ns, pts;
    int keyframe;
    uint32_t size;
} tw_video_index_entry;
/* Per-frame index of video stream i; *out is malloc'd. Video file path into path. */
int tw_episode_read_video_index(const tw_episode *e, size_t i, tw_video_index_entry **out, size_t *n,
                                char *path, size_t pathsz, char *msg, size_t msgsz);

/* ---- additions (episode helper) ---- */

/* Per-stream counters stored with each stream (schemas/episode.md, /streams attributes). */
typedef struct {
    uint64_t samples;
    uint64_t drops;           /* recorder_drops + missing */
    uint64_t recorder_drops;  /* samples the recorder itself could not keep (tw_episode_add_drops) */
    uint64_t gaps;            /* places where seq jumped forward by more than 1 (tw_wire.h, "sequence numbers") */
    uint64_t missing;         /* samples those jumps skipped and no late sample filled */
    uint64_t out_of_order;    /* late samples: stored in arrival order below the newest seq */
    uint64_t t_src_backwards; /* samples whose source time went back (= nonmonotonic_t) */
    uint64_t duplicates;      /* resends of stored samples: counted, not stored */
    uint64_t resets;          /* seq jumps beyond the tracker's bounds: a restart */
    uint64_t nonmonotonic_t;  /* samples whose source time is below the previous sample's */
    uint64_t nonfinite;       /* float samples holding a NaN or an infinity */
} tw_episode_stream_stats;
int tw_episode_get_stats(const tw_episode *e, size_t i, tw_episode_stream_stats *out);

/* Payloads of samples [start, start+count) of an event-kind stream: texts[k] is malloc'd
 * (caller frees each). */
int tw_episode_read_text(const tw_episode *e, size_t i, uint64_t start, uint64_t count, char **texts,
                         char *msg, size_t msgsz);
const char *tw_episode_path(const tw_episode *e); /* the directory it was opened from */

/* Integrity check (what `tw inspect` reports): dataset lengths and shapes, strictly increasing
 * seq, source-time order, stored counters against the data, video index against the frames
 * the video file holds, status. Each finding goes to cb (error=1: integrity failure, 0: note).
 * *nerrors counts failures. Reads in bounded ranges. */
typedef void (*tw_episode_finding_fn)(void *ud, int error, const char *text);
int tw_episode_verify(const tw_episode *e, tw_episode_finding_fn cb, void *ud, size_t *nerrors, char *msg,
                      size_t msgsz);

/* tw_episode_close in two steps, so a recorder can end an episode on its writer thread and
 * build episode.h5 (deflate: ~50 MB/s of signal data) elsewhere:
 * tw_episode_end finishes the video files and the journal (END record, fsync) and frees w;
 * it returns the writer's first write error, if any (the journal is then a valid prefix).
 * tw_episode_build turns DIR's journal into episode.h5 (status NULL: the END record's, or
 * "interrupted"; pass TW_EP_ERROR after a failed end) and removes the journal. HDF5 is not
 * thread-safe: run builds and readers of one process one at a time. */
int tw_episode_end(tw_episode_writer *w, const char *status, int success, char *msg, size_t msgsz);
int tw_episode_build(const char *dir, const char *status, char *msg, size_t msgsz);

/* Recovers every episode directory directly under root (and root itself if it is one).
 * cb gets each episode directory looked at, the result code, whether it changed, and a line
 * saying what was done. Returns the first failure (all are attempted) or 0. */
typedef void (*tw_episode_recover_fn)(void *ud, const char *dir, int rc, int changed, const char *what);
int tw_episode_recover_tree(const char *root, tw_episode_recover_fn cb, void *ud, char *msg, size_t msgsz);

#endif
