/* Reading video back (libavformat/libavcodec): decoded frames as RGB24 or gray with their pts.
 * Two sources behind one iterator:
 *   file mode  tw_vdecode_open(path)   - a recorded mkv/mp4 (H.264, MJPEG, anything FFmpeg reads)
 *   AU mode    tw_vdecode_open_h264()  - H.264 access units handed in with tw_vdecode_send(). */
#ifndef TW_VDECODE_H
#define TW_VDECODE_H

#include "tw_framecode.h"

#include <stddef.h>
#include <stdint.h>

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

#endif
