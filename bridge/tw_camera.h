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
#ifndef TW_CAMERA_H
#define TW_CAMERA_H

#include "tw_err.h"
#include "tw_framecode.h"
#include "tw_vdecode.h"

#include <stddef.h>
#include <stdint.h>

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

#endif
