/* Video of the LeRobot converters (libavformat/libavcodec):
 *   cv_vin  - one episode's span [from, to) of a LeRobot MP4 (many episodes per file): H.264 without B-frames is
 *             handed on as Annex-B access units, copied, never re-encoded (what an episode's video stream stores);
 *             anything else (AV1, H.264 with B-frames, ...) is decoded to RGB24 for the episode writer to encode.
 *   cv_vout - an episode's video file written as a LeRobot MP4: packets copied (H.264 stays H.264), or decoded
 *             and encoded with SVT-AV1 when AV1 is asked for (what LeRobot itself encodes). */
#ifndef TW_CONVERT_VIDEO_H
#define TW_CONVERT_VIDEO_H

#include <stddef.h>
#include <stdint.h>

typedef struct cv_vin cv_vin;

/* Called per frame in file order: an Annex-B access unit (passthrough) or width*height*3 RGB24 bytes, at t_ns
 * after the span's start. Non-zero return stops. */
typedef int (*cv_vframe_fn)(void *ud, const uint8_t *data, size_t len, int64_t t_ns, int keyframe, char *msg,
                            size_t msgsz);

int cv_vin_open(const char *path, cv_vin **out, char *msg, size_t msgsz);
int cv_vin_passthrough(const cv_vin *v); /* 1: H.264 AUs copied, 0: RGB24 decoded */
void cv_vin_info(const cv_vin *v, int *width, int *height, const char **codec);
/* Frames whose time lies in [from_s - tol_s, to_s - tol_s). */
int cv_vin_cut(cv_vin *v, double from_s, double to_s, double tol_s, cv_vframe_fn cb, void *ud, uint64_t *nframes,
               char *msg, size_t msgsz);
void cv_vin_close(cv_vin *v);

/* Single pictures (LeRobot `image` features: PNG bytes in parquet; JPEG also taken) decoded to RGB24. */
typedef struct cv_still cv_still;
int cv_still_open(cv_still **out, char *msg, size_t msgsz);
/* Decodes data into w*h*3 bytes at rgb (+64 bytes of slack); another size is TW_ESHAPE naming `what`. */
int cv_still_decode(cv_still *s, const uint8_t *data, size_t len, int w, int h, uint8_t *rgb, const char *what,
                    char *msg, size_t msgsz);
void cv_still_close(cv_still *s);

typedef struct cv_vout cv_vout;
/* Creates an MP4 at path (written as path.tmp.mp4, renamed by cv_vout_close) for frames like those of src (an
 * episode's .mkv). codec "copy" keeps the packets; "av1" decodes and encodes with libsvtav1 at fps. */
int cv_vout_open(const char *path, const char *src, const char *codec, double fps, cv_vout **out, char *msg,
                 size_t msgsz);
/* Appends every frame of src (an episode's video file) at offset_s in the output's timeline; *nframes gets the
 * count and *dur_s the span they cover (frames / fps for AV1, last pts + one frame for copies). */
int cv_vout_append(cv_vout *o, const char *src, double offset_s, uint64_t *nframes, double *dur_s, char *msg,
                   size_t msgsz);
/* Whether src's frames can be appended to o without re-encoding (same codec, size and parameter sets), and o is
 * still below max_bytes (LeRobot's video_files_size_in_mb). AV1 outputs take any source of the same size. */
int cv_vout_fits(const cv_vout *o, const char *src, int64_t max_bytes);
/* Writes the trailer, fsyncs and renames into place (or, abandon != 0, removes the temporary file). */
int cv_vout_close(cv_vout *o, int abandon, char *msg, size_t msgsz);
/* Codec the output holds ("h264", "av1", ...) and pixel format name. */
void cv_vout_info(const cv_vout *o, const char **codec, const char **pix_fmt, int *width, int *height);

/* FFmpeg's own log lines (muxer notes, encoder level warnings) off: the converters report errors themselves. */
void cv_quiet_ffmpeg(void);

#endif
