/* Internal to the alignment files (tw_align*.c). */
#ifndef TW_ALIGN_INT_H
#define TW_ALIGN_INT_H

#include "tw_timeline.h"

/* Reads one stream's samples in chunks, cleaned (sorted, de-duplicated) and with times on
 * the recorder clock. Buffer rows [0, n) are kept samples in time order. */
typedef struct {
    const tw_align_source *src;
    void *ctx;
    size_t si, elems;           /* source stream index; doubles per row in data */
    int latency_mode;           /* TW_ALIGN_READ_*: what data holds */
    const tw_clock_model *clock;
    size_t cap;                 /* rows in the buffers */
    int64_t *t, *t_src;         /* recorder clock; raw source clock */
    int64_t *t_recv;            /* scratch for reads */
    uint64_t *seq;
    double *data;
    size_t n;
    uint64_t next, total;       /* next source row, source rows */
    int64_t last_t;
    uint64_t last_seq;
    int have_last;
    uint64_t duplicates, out_of_order;
} tw_align_reader;

/* What a reader's data rows hold: the payload (elems doubles), the latency t_recv - t_src (1 double), or
 * nothing (1 double, zero: for a pass that needs the times alone; t_recv and the payload are not read). */
enum { TW_ALIGN_READ_PAYLOAD = 0, TW_ALIGN_READ_LATENCY = 1, TW_ALIGN_READ_TIMES = 2 };

int tw_align_reader_init(tw_align_reader *r, const tw_align_source *src, void *ctx, size_t si,
                         size_t elems, int latency_mode, const tw_clock_model *clock, size_t chunk,
                         char *msg, size_t msgsz);
void tw_align_reader_free(tw_align_reader *r);
/* Drops rows [0, n-keep), then appends at least one new kept row unless the stream is
 * exhausted. Returns the number of new rows (0 at the end) or a negative TW_E*. */
int tw_align_reader_fill(tw_align_reader *r, size_t keep, char *msg, size_t msgsz);

/* First pass: statistics of every stream and the timeline span (tw_align_stats.c). */
int tw_align_stats_pass(const tw_align_source *src, void *ctx, tw_align_info *info,
                        const tw_align_opts *o, char *msg, size_t msgsz);

/* Gap thresholds from o->gap_ms or, with o->gap_measured, from each signal stream's median
 * inter-sample interval (tw_align_stats.c). Runs before the statistics pass. */
int tw_align_gap_pass(const tw_align_source *src, void *ctx, tw_align_info *info, const tw_align_opts *o,
                      char *msg, size_t msgsz);

/* The span pass alone (tw_align_stats.c): the reference stream's first and last kept sample. */
int tw_align_span_pass(const tw_align_source *src, void *ctx, tw_align_info *info, const tw_align_opts *o,
                       char *msg, size_t msgsz);

#endif
