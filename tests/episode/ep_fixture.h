/* Shared by the episode tests: a stream set with every kind, deterministic sample values,
 * real encoded video frames (H.264 from libx264, JPEG from the mjpeg encoder), and a writer
 * loop. Values are exactly representable in every dtype so reads compare with ==. */
#ifndef EP_FIXTURE_H
#define EP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "tw_episode.h"

enum { EP_JOINTS = 0, EP_WRENCH, EP_ACTION, EP_EVENT, EP_IMU, EP_TENSOR, EP_H264, EP_JPEG, EP_RGB, EP_NSTREAMS };

#define EP_W 64
#define EP_H 48

/* Fills d[EP_NSTREAMS]; stream i has id i+1. */
void ep_decls(tw_stream_decl *d);
/* Value of element e of sample k of stream s. */
double ep_value(int s, uint64_t k, size_t e);
/* Source time of sample k of stream s (ns), and its receive time. */
int64_t ep_t_src(int s, uint64_t k);
int64_t ep_t_recv(int s, uint64_t k);
/* Text of event k. */
void ep_event_text(uint64_t k, char *buf, size_t n);

/* Produces frame k of a video stream (encoded as declared) into a malloc'd buffer. */
typedef struct ep_video ep_video;
ep_video *ep_video_new(int s);
int ep_video_frame(ep_video *v, uint64_t k, uint8_t **data, size_t *len, int *key);
void ep_video_free(ep_video *v);

/* Sample k of stream s as a frame (payload in buf, cap bytes). Returns 0 or -1. */
typedef struct {
    ep_video *video[EP_NSTREAMS];
    uint8_t *buf;
    size_t cap;
    tw_stream_decl d[EP_NSTREAMS];
} ep_gen;
int ep_gen_init(ep_gen *g);
int ep_gen_frame(ep_gen *g, int s, uint64_t k, tw_frame *f);
void ep_gen_free(ep_gen *g);

/* Samples of stream s written when the signal streams get n samples (video and events are slower). */
uint64_t ep_count(int s, uint64_t n);

/* Writes an episode with n joint-state samples (others proportionally) in time order, flushing
 * every flush_every signal samples (0: never). Returns the writer's first error. */
typedef void (*ep_flush_fn)(uint64_t ticks_done);
int ep_write(const char *dir, uint64_t n, uint64_t flush_every, int close, tw_episode_writer **keep,
             ep_flush_fn on_flush);
/* An ep_flush_fn for a child process that writes while its parent watches: each flush writes the ticks
 * done as a text line to ep_progress_fd (the child exits with 3 if the pipe is gone). */
extern int ep_progress_fd;
void ep_report_flush(uint64_t ticks_done);

/* mkdtemp under $TMPDIR or /tmp; returns buf. */
char *ep_tmpdir(char *buf, size_t n);
/* rm -rf */
void ep_rmtree(const char *dir);
/* Runs a shell command, returns its exit status. */
int ep_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
