/* tw export mcap: state shared by export_mcap.c (merge, messages) and export_mcap_streams.c (channels,
 * schemas, video demuxing). */
#ifndef EXPORT_MCAP_H
#define EXPORT_MCAP_H

#include <stdint.h>

#include "tw_episode.h"
#include "tw_mcap.h"
#include "tw_ros2.h"

#define EXP_BLOCK 1024 /* samples read at once per signal stream */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} exp_buf;

typedef struct exp_video exp_video;

typedef struct {
    size_t idx;                  /* stream index in the episode */
    const tw_stream_decl *decl;
    char topic[TW_MAX_NAME + 1];
    uint16_t channel;
    uint64_t total, next, count; /* samples in the episode, next to read, written */
    /* signal streams: one block */
    int64_t *t_src, *t_recv;
    double *data;
    size_t nbuf, pos;
    const char *names[TW_MAX_AXES];
    /* video streams */
    tw_video_index_entry *vidx;
    exp_video *vid;
} exp_stream;

typedef struct {
    const char *dir, *out;
    uint32_t chunk_kb;
    tw_episode *e;
    tw_mcap_writer *w;
    exp_stream s[TW_MAX_STREAMS];
    size_t n;
    char skipped[TW_MAX_STREAMS][TW_MAX_NAME + 64];
    size_t nskip;
    exp_buf buf;
    uint64_t msgs;
} exp_run;

int exp_buf_grow(exp_buf *b, size_t need, char *err, size_t errsz);
/* Channels and schemas for every exportable stream; the others go to x->skipped. */
int exp_streams_open(exp_run *x, char *err, size_t errsz);
/* The episode's attributes as MCAP metadata "teleworld.episode". */
int exp_metadata(exp_run *x, char *err, size_t errsz);
/* The next video packet of s as an Annex-B access unit wrapped in a CompressedVideo message. */
int exp_video_next(exp_stream *s, exp_buf *b, char *err, size_t errsz);
void exp_free(exp_run *x);

#endif
