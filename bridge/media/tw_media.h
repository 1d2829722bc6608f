/* bridge/media: an episode's pictures. Video files of episodes (Matroska through libavformat),
 * decoding them back, the GStreamer camera source, and self-numbering frames for sync tests.
 * Depends on core, wire and episode [FFmpeg, GStreamer]; storage and pixels only, no sockets, no physics.
 * Public header of the media library. */
#ifndef TW_MEDIA_H
#define TW_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "tw_core.h"
#include "tw_episode.h"

/* ======================================================================= framecode */
/* Self-numbering video frames: a machine-readable frame number drawn into the pixels.
 *
 * Layout (all sizes derive from the frame width W, so a reader needs only the frame):
 *   cell size c = W / 20 pixels (16 px at 320x240, 32 px at 640x480); the code band is the
 *   top 3*c rows, three rows of 20 square cells each:
 *       [white][black][16 data cells][black][white]
 *   Data cells are white for 1, black for 0, most significant bit first; rows 0-1 carry the
 *   32-bit frame number, row 2 its CRC-16/CCITT-FALSE (over the 4 big-endian bytes).
 *   The white/black marker cells at both ends of every row give the reader its per-row
 *   threshold, so brightness shifts and H.264 ringing do not flip bits; the CRC rejects
 *   anything else (a frame without a code, a torn frame, a misread cell).
 * Everything below the band is free for a moving test pattern (tw_framecode_pattern).
 * Limit: an encoder starved far below its rate (x264 at ~64 kbps for 30 fps 320x240 of this
 * pattern) may skip the band's macroblocks, so a frame shows the previous frame's code, which
 * reads as a valid number one behind. Tests prove reliable reading down to 256 kbps (default
 * camera bitrate: 2048 kbps). */
#define TW_FRAMECODE_CELLS_PER_ROW 20
#define TW_FRAMECODE_ROWS 3
#define TW_FRAMECODE_MIN_WIDTH 160 /* c >= 8 px: below that H.264 blurs the cells away */

typedef enum {
    TW_PIX_RGB24 = 0, /* 3 bytes per pixel, R G B */
    TW_PIX_GRAY8 = 1, /* 1 byte per pixel, luma (e.g. the Y plane of a decoded frame) */
} tw_pixfmt;

/* Cell size in pixels for a frame of this size, or 0 if the frame cannot hold a code
 * (width below TW_FRAMECODE_MIN_WIDTH or height below the band). */
int tw_framecode_cell(int width, int height);

/* Draws the code for `number` into the top band of an RGB24 frame (stride in bytes).
 * Returns TW_EINVAL (with a message) if the frame is too small to hold the code. */
int tw_framecode_draw(uint8_t *rgb, int width, int height, size_t stride, uint32_t number,
                      char *msg, size_t msgsz);

/* Fills a whole RGB24 frame: a test pattern that moves with `number` (scrolling colour
 * bars and a bouncing square, so the encoder sees real motion), plus the code band. */
int tw_framecode_pattern(uint8_t *rgb, int width, int height, size_t stride, uint32_t number,
                         char *msg, size_t msgsz);

/* Reads the frame number from a decoded frame (RGB24 or GRAY8, stride in bytes).
 * Returns 0 and sets *number, or TW_EINTEGRITY with a message saying which row/cell or
 * check failed when the code is missing or unreadable, TW_EINVAL for bad arguments. */
int tw_framecode_read(const uint8_t *pix, int width, int height, size_t stride, tw_pixfmt fmt,
                      uint32_t *number, char *msg, size_t msgsz);

/* ======================================================================= video */
/* Per-camera video files of an episode (schemas/episode.md, "Video files"): Matroska written
 * through libavformat. H.264 access units are muxed as they come, JPEG is kept as MJPEG, raw
 * RGB24 is encoded with libavcodec (libx264 ultrafast/zerolatency). Clusters are closed and
 * fsynced on tw_video_writer_flush(), so the file plays up to the last flush after a crash. */

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

/* ======================================================================= vdecode */
/* Reading video back (libavformat/libavcodec): decoded frames as RGB24 or gray with their pts.
 * Two sources behind one iterator:
 *   file mode  tw_vdecode_open(path)   - a recorded mkv/mp4 (H.264, MJPEG, anything FFmpeg reads)
 *   AU mode    tw_vdecode_open_h264()  - H.264 access units handed in with tw_vdecode_send(). */
#define TW_VDECODE_END 1   /* tw_vdecode_next(): no more frames (file end, or flushed AU stream) */
#define TW_VDECODE_AGAIN 2 /* tw_vdecode_next() in AU mode: send more input first */

typedef struct tw_vdecode tw_vdecode;

typedef struct {
    const uint8_t *data; /* pixels, valid until the next tw_vdecode_next() or close */
    size_t stride;       /* bytes per row */
    int width, height;
    tw_pixfmt fmt;
    int64_t pts;         /* in the stream's time base (file mode) or as sent (AU mode) */
    int64_t pts_ns;      /* file mode: pts in ns from the stream's time base; AU mode: = pts */
    uint64_t index;      /* 0, 1, 2... in presentation order of output */
    int keyframe;
} tw_vframe;

int tw_vdecode_open(const char *path, tw_pixfmt fmt, tw_vdecode **out, char *msg, size_t msgsz);
int tw_vdecode_open_h264(tw_pixfmt fmt, tw_vdecode **out, char *msg, size_t msgsz);

/* AU mode: decodes one access unit (pts is returned with its frame). size 0 flushes: after it,
 * tw_vdecode_next() returns what the decoder still holds, then TW_VDECODE_END. */
int tw_vdecode_send(tw_vdecode *d, const uint8_t *au, size_t size, int64_t pts, char *msg, size_t msgsz);

/* Next decoded frame: 0 (frame filled), TW_VDECODE_END, TW_VDECODE_AGAIN (AU mode only), or a
 * negative TW_E* (TW_EAV with FFmpeg's reason for corrupt input). Frames the decoder rejects
 * are errors, not silently skipped. */
int tw_vdecode_next(tw_vdecode *d, tw_vframe *f, char *msg, size_t msgsz);

/* Number of frames the container declares for the video stream (0 if it does not say). */
int64_t tw_vdecode_nb_frames(const tw_vdecode *d);

void tw_vdecode_close(tw_vdecode *d);

/* ======================================================================= camera */
/* GStreamer camera source (issue 3): any source pipeline, or raw RGB frames the caller
 * pushes, encoded to H.264 (x264, zerolatency) and handed back one access unit at a time.
 *
 *   pull mode: tw_camera_open("videotestsrc pattern=ball", &o, &cam, ...) appends
 *     ! videoconvert ! videoscale ! videorate ! video/x-raw,width=W,height=H,framerate=F
 *     ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=K
 *     ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink
 *   push mode: tw_camera_open_push(&o, &cam, ...) takes RGB24 frames stamped by the caller (e.g.
 *     on a simulated timeline, so pacing is the caller's business), converts them to I420 and
 *     feeds  appsrc ! x264enc (same settings) ! appsink.
 * Either way tw_camera_pull() returns Annex-B access units (SPS/PPS repeated on keyframes)
 * with a capture timestamp and keyframe flag. Memory is bounded by opts.queue_max frames. */
typedef struct tw_camera tw_camera;

/* Maps a capture time on CLOCK_MONOTONIC (ns) to the caller's clock. */
typedef int64_t (*tw_camera_clock_fn)(int64_t monotonic_ns, void *user);

typedef struct {
    int width, height;        /* output size in pixels; default 640x480 */
    int fps_num, fps_den;     /* output frame rate; default 30/1 */
    int key_int_max;          /* frames between keyframes; default 30 */
    int bitrate_kbps;         /* x264 target bitrate; default 2048 */
    int queue_max;            /* encoded AUs (pull) and raw frames (push) held at most; default 8 */
    int sync;                 /* pull mode: 1 (default) paces non-live sources to real time,
                                 0 runs them as fast as they go (tests, bulk data) */
    /* Pull mode capture timestamps, in order of precedence:
     *   clock_fn set:  ts = clock_fn(capture time on CLOCK_MONOTONIC, clock_user);
     *   base_ns_set:   ts = base_ns + buffer running time (0 at the first frame);
     *   otherwise:     ts = capture time on CLOCK_MONOTONIC.
     * Push mode stamps each AU with the timestamp given to tw_camera_push(). */
    tw_camera_clock_fn clock_fn;
    void *clock_user;
    int64_t base_ns;
    int base_ns_set;
} tw_camera_opts;

/* One encoded access unit; data stays valid until the next tw_camera_pull() or close. */
typedef struct {
    const uint8_t *data; /* H.264 Annex-B bytes */
    size_t size;
    int64_t ts_ns;       /* capture timestamp (see tw_camera_opts) */
    uint64_t index;      /* 0, 1, 2... in output order */
    int keyframe;        /* 1 for an IDR access unit (decodable on its own) */
} tw_camera_au;

void tw_camera_opts_init(tw_camera_opts *o);

/* Parses `pipeline_desc` (a GStreamer source description), builds the encoder chain and starts
 * it. A bad description, an element that will not start (missing device, unsupported caps) or
 * a source error gives TW_EGST with GStreamer's own explanation in msg. */
int tw_camera_open(const char *pipeline_desc, const tw_camera_opts *o, tw_camera **out, char *msg, size_t msgsz);

/* Push mode: the caller supplies RGB24 frames of o->width x o->height. */
int tw_camera_open_push(const tw_camera_opts *o, tw_camera **out, char *msg, size_t msgsz);

/* Push mode: converts one RGB24 frame (stride in bytes, >= width*3) to I420 into a pooled buffer
 * (the caller's pixels are not kept), stamped ts_ns; timestamps must strictly increase. Blocks
 * while opts.queue_max frames wait to be encoded, and the encoder waits while opts.queue_max AUs
 * wait to be pulled: a single-threaded caller pulls after each push (tw_camera_encode does both). */
int tw_camera_push(tw_camera *cam, const uint8_t *rgb, size_t stride, int64_t ts_ns, char *msg, size_t msgsz);

/* Push mode: no more frames; tw_camera_pull() drains what is left, then returns TW_ECLOSED. */
int tw_camera_end(tw_camera *cam, char *msg, size_t msgsz);

/* Waits up to timeout_ms (-1: forever) for the next AU. Returns 0, TW_ETIMEOUT, TW_ECLOSED at
 * end of stream, or TW_EGST when the pipeline failed (msg says which element and why). */
int tw_camera_pull(tw_camera *cam, int timeout_ms, tw_camera_au *au, char *msg, size_t msgsz);

/* Push + pull in one call for lock-step producers (the rig): encodes one frame and returns its
 * AU. x264 with tune=zerolatency emits exactly one AU per input frame, without delay. */
int tw_camera_encode(tw_camera *cam, const uint8_t *rgb, size_t stride, int64_t ts_ns, tw_camera_au *au,
                     char *msg, size_t msgsz);

/* Makes the next frame the encoder takes an IDR keyframe (with SPS/PPS), e.g. at the start of an
 * episode so its video file is decodable from its first frame. In push mode, called between
 * tw_camera_encode() calls, it applies to exactly the next frame pushed; in pull mode to the next
 * frame the source delivers. */
int tw_camera_force_keyframe(tw_camera *cam, char *msg, size_t msgsz);

/* Stops the pipeline and frees everything; NULL is a no-op. */
void tw_camera_close(tw_camera *cam);


/* ======================================================================= episode backend */
/* The video backend of episode files (tw_episode.h): the functions above. Programs that write, recover
 * or check episodes with camera streams call this once at start (idempotent, thread-safe). */
void tw_media_use_for_episodes(void);

#endif
