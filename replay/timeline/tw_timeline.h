/* replay/timeline: an episode's streams on one timeline, with no physics. Streams samples through a
 * cursor in blocks, so memory is set by the options, not by the episode length; estimates the clock
 * offset model, interpolates, flags gaps and differentiates. Used by `tw replay` (replay/recon), by
 * system identification and by `tw fuse`. Public header of the timeline library. */
#ifndef TW_TIMELINE_H
#define TW_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "tw_episode.h"


#define TW_ALIGN_MAX_STREAMS TW_MAX_STREAMS /* a valid recording always aligns */

/* How a stream's value at a timestep is made from its samples. */
typedef enum {
    TW_INTERP_LINEAR = 0, /* joint_state, wrench, tensor */
    TW_INTERP_SLERP,      /* imu: elements 0..3 (qw qx qy qz) by slerp, the rest linear */
    TW_INTERP_HOLD,       /* action: zero-order hold (last sample at or before t) */
    TW_INTERP_VIDEO,      /* video: index of the frame shown at t (last frame with t_src <= t) */
    TW_INTERP_EVENT,      /* event: sequence number of the last event at or before t (held) */
} tw_interp;

/* Per-stream, per-step quality flags (uint8 bit set; 0 = interpolated between two
 * samples no further apart than the gap threshold). */
#define TW_Q_BEFORE 0x01u /* t before the stream's first sample: value = first sample */
#define TW_Q_AFTER 0x02u  /* t after the stream's last sample: value = last sample */
#define TW_Q_GAP 0x04u    /* t inside a gap > threshold: value held from the sample before */
#define TW_Q_EDGE 0x08u   /* differentiator window cut by a gap or the timeline's end */
#define TW_Q_INVALID (TW_Q_BEFORE | TW_Q_AFTER | TW_Q_GAP)

/* Clock-offset estimators (offset = client clock minus recorder clock). */
typedef enum {
    TW_CLOCK_AUTO = 0, /* FIT when the drift is significant (beyond 3 standard errors), else MINRTT */
    TW_CLOCK_MINRTT,   /* offset of the lowest-RTT quartile (median), constant */
    TW_CLOCK_FIT,      /* least-squares line offset(t) over the lowest-RTT half: drift */
    TW_CLOCK_NONE,     /* offset 0 (source timestamps already on the recorder clock) */
} tw_clock_method;

typedef struct {
    double rate_hz;         /* timeline rate; 0 = nominal rate of the reference stream */
    const char *reference;  /* stream name that spans the timeline; NULL = first joint_state
                               stream, else the first fixed-shape stream */
    double gap_factor;      /* a gap is an inter-sample time > gap_factor / nominal rate (3) */
    double gap_ms;          /* > 0: the gap threshold in ms for every signal stream, set by the user
                               (overrides gap_factor and gap_measured) (0) */
    int gap_measured;       /* 1: a signal stream's threshold is gap_factor x its MEASURED median
                               inter-sample interval (a real logger's nominal rate is often not its
                               actual one); one extra pass over the timestamps.  Only tw_align_open
                               measures: tw_align_open_span keeps the nominal rate (0) */
    uint32_t block_steps;   /* core rows per block (1024) */
    uint32_t halo;          /* extra rows before and after each block, for differentiators (0) */
    uint32_t read_chunk;    /* samples read from the source per call (4096) */
    tw_clock_method clock;
} tw_align_opts;
void tw_align_opts_init(tw_align_opts *o);

/* Where samples come from. tw_align_open_episode() wraps an episode; tests and other
 * producers may supply their own. read() has tw_episode_read() semantics. */
typedef struct {
    size_t (*nstreams)(void *ctx);
    const tw_stream_decl *(*decl)(void *ctx, size_t i);
    uint64_t (*nsamples)(void *ctx, size_t i);
    int (*read)(void *ctx, size_t i, uint64_t start, uint64_t count, int64_t *t_src_ns,
                int64_t *t_recv_ns, uint64_t *seq, double *data, char *msg, size_t msgsz);
    /* Optional (NULL = none). Arrays are malloc'd, caller frees. */
    int (*clock)(void *ctx, tw_clock_sample **out, size_t *n, char *msg, size_t msgsz);
    int (*video_index)(void *ctx, size_t i, tw_video_index_entry **out, size_t *n, char *msg,
                       size_t msgsz);
} tw_align_source;

/* Linear model of the clock offset: offset(t_server) = offset_ns + drift * (t - t_ref_ns). */
typedef struct {
    tw_clock_method method; /* the one actually used */
    int64_t offset_ns, t_ref_ns;
    double drift;           /* dimensionless (1e-6 = 1 ppm) */
    size_t nsamples, nused; /* clock samples available / used by the estimator */
    int64_t min_rtt_ns;
} tw_clock_model;

/* Per-stream statistics from the first pass over timestamps (source clock unless said). */
typedef struct {
    uint64_t samples;     /* rows in the episode */
    uint64_t used;        /* after removing duplicates and out-of-order samples */
    uint64_t duplicates;  /* same seq or same t_src as the sample before */
    uint64_t out_of_order;/* arrived after a later sample: re-sorted within a read chunk, dropped
                             when older than a sample already used */
    uint64_t gaps;        /* inter-sample intervals > threshold */
    uint64_t drops;       /* drops the recorder counted for this stream */
    double gap_s;         /* total time inside gaps */
    double period_mean_ms, jitter_ms; /* mean and std of inter-arrival on the source clock */
    double period_median_ms;  /* median inter-arrival, recorder clock (P-square estimate; gap_measured only, else 0) */
    double latency_mean_ms, latency_p95_ms; /* t_recv - corrected t_src */
    double coverage;      /* fraction of the timeline with a valid (not flagged) value */
    double t_first_s, t_last_s; /* corrected, relative to the timeline start */
} tw_align_stream_stats;

typedef struct {
    size_t src_index;        /* stream index in the source */
    const tw_stream_decl *decl;
    tw_interp interp;
    size_t elems;            /* values per row (0 for video and event streams) */
    double gap_threshold_s;
    tw_align_stream_stats stats;
} tw_align_stream;

typedef struct {
    double rate_hz;
    int64_t t0_ns;           /* recorder clock of step 0 */
    uint64_t nsteps;
    size_t nstreams;
    size_t reference;        /* index into streams[] */
    tw_clock_model clock;
    tw_align_stream streams[TW_ALIGN_MAX_STREAMS];
} tw_align_info;

/* One block of rows. Row r is timeline step first + r; rows [halo_lo, halo_lo + ncore)
 * are the block's own, the others are halo shared with the neighbours. Owned by the cursor;
 * valid until the next call. */
typedef struct {
    uint64_t first;
    uint32_t nrows, halo_lo, ncore;
    const int64_t *t_ns;                     /* [nrows] recorder clock */
    const double *values[TW_ALIGN_MAX_STREAMS];   /* [nrows x elems], NULL for video, event */
    const int64_t *frame[TW_ALIGN_MAX_STREAMS];   /* video: [nrows] frame index; event: [nrows] seq of
                                                     the last event; -1 = none yet */
    const uint8_t *quality[TW_ALIGN_MAX_STREAMS]; /* [nrows] TW_Q_* */
} tw_align_block;

typedef struct tw_align tw_align;

/* Opens an alignment over a source: estimates the clock, makes one pass over every stream's
 * timestamps for statistics and the timeline span. ctx must outlive the alignment. */
int tw_align_open(const tw_align_source *src, void *ctx, const tw_align_opts *o, tw_align **out,
                  char *msg, size_t msgsz);
/* Same over an open episode (e must outlive the alignment). */
int tw_align_open_episode(const tw_episode *e, const tw_align_opts *o, tw_align **out, char *msg,
                          size_t msgsz);
void tw_align_close(tw_align *a); /* NULL is a no-op */
const tw_align_info *tw_align_get_info(const tw_align *a);
/* The timeline's span, as tw_align_get_info gives it. */
typedef struct {
    int64_t t0_ns;
    uint64_t nsteps;
} tw_align_span;

/* tw_align_open without the statistics pass, for callers that use only the blocks (fuse): the span is
 * `given` (from an earlier open of the same source with the same options), or, when given is NULL, found
 * from the reference stream alone exactly as tw_align_open finds it. The per-stream statistics in
 * tw_align_get_info stay zero. */
int tw_align_open_span(const tw_align_source *src, void *ctx, const tw_align_opts *o, const tw_align_span *given,
                       tw_align **out, char *msg, size_t msgsz);

/* Index into info->streams of the first stream of that kind or name, or -1. */
int tw_align_find(const tw_align *a, tw_kind kind, const char *name);
/* Next block: returns 1 with *blk filled, 0 at the end, or a negative TW_E*. */
int tw_align_next(tw_align *a, tw_align_block *blk, char *msg, size_t msgsz);

/* ---- pure pieces (exposed for tests and for fuse) ---- */
/* Estimates the offset model from clock samples (n may be 0: offset 0, method NONE). */
void tw_clock_estimate(const tw_clock_sample *s, size_t n, tw_clock_method m, tw_clock_model *out);
/* Client (source) time to recorder time. */
int64_t tw_clock_to_server(const tw_clock_model *c, int64_t t_src_ns);
/* out = value at t between samples (ta, a) and (tb, b), ta < tb, n elements. */
void tw_interp_linear(const double *a, const double *b, int64_t ta, int64_t tb, int64_t t,
                      size_t n, double *out);
/* Shortest-path slerp of unit quaternions (w x y z), u in [0,1]; result normalised. */
void tw_quat_slerp(const double *qa, const double *qb, double u, double *out);
/* Sorts samples by time in place (stable, cheap when nearly sorted) and removes those not
 * strictly later than *last_t (updated) or with the same seq as the sample before; returns
 * the kept count. Counts duplicates and out-of-order samples into the counters. */
size_t tw_align_clean(int64_t *t, uint64_t *seq, double *data, size_t elems, size_t n,
                      int64_t *last_t, uint64_t *last_seq, int *have_last, uint64_t *duplicates,
                      uint64_t *out_of_order);

/* Streaming quantile (P-square, Jain & Chlamtac 1985): O(1) memory. */
typedef struct {
    double p, q[5], np[5], dn[5];
    int n[5];
    uint64_t count;
} tw_p2;
void tw_p2_init(tw_p2 *s, double p);
void tw_p2_add(tw_p2 *s, double x);
double tw_p2_get(const tw_p2 *s);

/* Savitzky-Golay first derivative (quadratic fit) of n values per row at row r of an array of
 * nrows rows, `stride` doubles apart, step dt, window half-width h, skipping rows whose quality
 * has TW_Q_INVALID: the window shrinks to the widest symmetric one whose rows are valid (down to
 * the central difference), else one-sided. Returns 0, or TW_Q_EDGE when the window was cut. */
unsigned tw_sg_derivative(const double *x, size_t stride, const uint8_t *q, uint32_t nrows, size_t n,
                          uint32_t r, uint32_t h, double dt, double *out);

/* ======================================================================= the map and stream roles */
/* The one --map of every command that reads episodes (schemas/episode.md, "Maps"):
 *   {"streams": {"NAME": "joint_state" | "action"}, "axes": {"recorded axis": "model joint"}}
 * The flat form {"recorded axis": "model joint", ...} (string values only) is read as "axes". */
typedef struct tw_map tw_map;
/* path NULL: *out = NULL (no map), 0. A malformed file is TW_EJSON / TW_ESCHEMA naming the key. */
int tw_map_load(const char *path, tw_map **out, char *msg, size_t msgsz);
void tw_map_free(tw_map *m); /* NULL is a no-op */
/* The name a recorded axis goes by (renamed by the map, else itself); m may be NULL. */
const char *tw_map_axis(const tw_map *m, const char *recorded);
int tw_map_has_axis(const tw_map *m, const char *recorded);
/* The stream playing the role of kind (TW_KIND_JOINT_STATE or TW_KIND_ACTION): named by the map, else the
 * one stream of that kind (*out -1 when none); several of that kind and no name is TW_EMISMATCH. */
int tw_map_find_role(const tw_map *m, const tw_stream_decl *const *decls, size_t n, tw_kind kind, int *out,
                     char *msg, size_t msgsz);

/* Indices into an alignment's streams of what replay and sysid use; -1 = none. */
typedef struct {
    int js, act, wr, obj, ev;
} tw_roles;
int tw_timeline_roles(const tw_align *a, const tw_map *m, tw_roles *r, char *msg, size_t msgsz);

#endif
