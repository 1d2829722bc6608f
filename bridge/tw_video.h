/* Per-camera video files of an episode (schemas/episode.md, "Video files"): Matroska written
 * through libavformat. H.264 access units are muxed as they come, JPEG is kept as MJPEG, raw
 * RGB24 is encoded with libavcodec (libx264 ultrafast/zerolatency). Clusters are closed and
 * fsynced on tw_video_writer_flush(), so the file plays up to the last flush after a crash. */
#ifndef TW_VIDEO_H
#define TW_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "tw_err.h"
#include "tw_wire.h"

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

/* Creates path (must not exist) for a video stream declaration. */
int tw_video_writer_open(const char *path, const tw_stream_decl *d, tw_video_emit_fn emit, void *ud,
                         tw_video_writer **out, char *msg, size_t msgsz);
/* Adds one frame. H.264 frames before the first access unit carrying SPS+PPS cannot be decoded
 * and are skipped (counted in tw_video_writer_skipped). */
int tw_video_writer_write(tw_video_writer *v, const uint8_t *data, size_t len, int64_t t_src_ns,
                          int64_t t_recv_ns, uint64_t seq, int keyflag, char *msg, size_t msgsz);
/* Ends the current cluster and fsyncs: every frame emitted so far is in the file for good. */
int tw_video_writer_flush(tw_video_writer *v, char *msg, size_t msgsz);
/* Drains the encoder, writes the trailer (cues, duration) and frees v. NULL is a no-op.
 * With abandon != 0 (after a write error) nothing more is written. */
int tw_video_writer_close(tw_video_writer *v, int abandon, char *msg, size_t msgsz);
uint64_t tw_video_writer_skipped(const tw_video_writer *v);
uint64_t tw_video_writer_bytes(const tw_video_writer *v);
/* Codec actually stored ("h264", "mjpeg") and the stream time base of pts; valid once a frame
 * was emitted (before that: the codec planned and 1/1000). */
void tw_video_writer_info(const tw_video_writer *v, const char **codec, int *tb_num, int *tb_den);

/* Counts the frames (packets of the first video stream) a demuxer finds in path. */
int tw_video_count_frames(const char *path, uint64_t *frames, uint64_t *keyframes, char *msg, size_t msgsz);
/* Rewrites path keeping only its first nframes packets (no re-encoding); also repairs the
 * missing trailer of a file cut by a crash. */
int tw_video_truncate(const char *path, uint64_t nframes, char *msg, size_t msgsz);

#endif
