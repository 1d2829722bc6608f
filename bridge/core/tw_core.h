/* bridge/core: what every teleworld library may use, and nothing else: error codes, the shared
 * limits, clocks and the one clock-offset estimator, the random generator, streaming statistics,
 * the progress convention and the SVG plots of the HTML reports. Depends on libc only.
 * Public header of the core library. */
#ifndef TW_CORE_H
#define TW_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define TW_VERSION "0.1.0"

/* ======================================================================= limits */
/* One home for the limits several libraries must agree on: what the wire accepts, an episode
 * stores, the timeline aligns and replay reconstructs. */
#define TW_MAX_STREAMS 64 /* streams per session (wire), episode, timeline and replay */

/* ======================================================================= errors */
/* One table generates the enum, tw_strerror() and tw_err_name(). */
/* XX(name, value, description) */
#define TW_ERRNO_MAP(XX)                                                     \
    XX(OK, 0, "success")                                                     \
    XX(INVAL, -1, "invalid argument")                                        \
    XX(NOMEM, -2, "out of memory")                                           \
    XX(IO, -3, "input/output error")                                         \
    XX(TRUNCATED, -4, "message truncated")                                   \
    XX(TOO_BIG, -5, "message or field exceeds a size limit")                 \
    XX(BAD_MAGIC, -6, "not a teleworld frame or file")                       \
    XX(VERSION, -7, "unsupported format or protocol version")                \
    XX(JSON, -8, "malformed JSON")                                           \
    XX(SCHEMA, -9, "message does not match the schema")                      \
    XX(UTF8, -10, "invalid UTF-8")                                           \
    XX(UNKNOWN_STREAM, -11, "unknown stream id")                             \
    XX(DUP_STREAM, -12, "duplicate stream id or name")                       \
    XX(DTYPE, -13, "wrong or unknown dtype")                                 \
    XX(SHAPE, -14, "payload size does not match the declared shape")         \
    XX(KIND, -15, "unknown stream kind")                                     \
    XX(STATE, -16, "message not allowed in the current state")               \
    XX(AUTH, -17, "authentication failed")                                   \
    XX(CONNECT, -18, "connection failed")                                    \
    XX(CLOSED, -19, "connection closed")                                     \
    XX(TIMEOUT, -20, "timed out")                                            \
    XX(FULL, -21, "queue or buffer full")                                    \
    XX(NOSPACE, -22, "no space left on device")                              \
    XX(HDF5, -23, "HDF5 error")                                              \
    XX(AV, -24, "FFmpeg error")                                              \
    XX(GST, -25, "GStreamer error")                                          \
    XX(MUJOCO, -26, "MuJoCo error")                                          \
    XX(NOT_FOUND, -27, "not found")                                          \
    XX(MISMATCH, -28, "names or features do not match")                     \
    XX(RATE_LIMIT, -29, "too many messages")                                 \
    XX(INTEGRITY, -30, "integrity check failed")                             \
    XX(UNSUPPORTED, -31, "not supported")                                    \
    XX(MPI, -32, "MPI error")                                                \
    XX(NUMERIC, -33, "numerical failure")

typedef enum {
#define TW_ERR_ENUM(name, val, desc) TW_E##name = (val),
    TW_ERRNO_MAP(TW_ERR_ENUM)
#undef TW_ERR_ENUM
} tw_err;

/* Static description of an error code ("unknown error" for values outside the table). */
const char *tw_strerror(int err);
/* Stable symbolic name, e.g. "TRUNCATED"; also the `code` used on the wire. */
const char *tw_err_name(int err);
/* Inverse of tw_err_name(); returns TW_EINVAL for an unknown name. */
int tw_err_from_name(const char *name);

/* Formats a message into buf (snprintf semantics, never overflows) and returns err,
 * so callers can write `return tw_errf(msg, msgsz, TW_EIO, "open %s: %s", p, strerror(errno));`.
 * A NULL buf is allowed and ignored. */
int tw_errf(char *buf, size_t bufsz, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ======================================================================= clocks */
/* clock_gettime(id) in nanoseconds. */
int64_t tw_clock_ns(clockid_t id);
/* CLOCK_MONOTONIC in seconds, for measuring durations. */
double tw_mono_s(void);

/* The live clock-offset estimate of a ping/pong exchange (NTP's four timestamps: t0 sent and t3
 * received on our clock, t1 received and t2 sent on the peer's): each exchange gives
 * offset = ((t1 - t0) + (t2 - t3)) / 2 (peer minus us) and rtt = (t3 - t0) - (t2 - t1); the estimate
 * is the sample with the smallest rtt of the last TW_CLOCK_SYNC_WINDOW, whose offset error is at
 * most rtt / 2. Used by the rig-side client and by the recorder. */
#define TW_CLOCK_SYNC_WINDOW 8
typedef struct {
    int64_t offset[TW_CLOCK_SYNC_WINDOW], rtt[TW_CLOCK_SYNC_WINDOW];
    int n, next;
    int64_t offset_ns, rtt_ns; /* the current estimate, valid once n > 0 */
} tw_clock_sync;
/* Adds one exchange; returns 0, or TW_EINVAL (nothing added) when rtt < 0 (the clocks moved).
 * *offset_ns / *rtt_ns (may be NULL) get this one exchange's values. */
int tw_clock_sync_add(tw_clock_sync *s, int64_t t0, int64_t t1, int64_t t2, int64_t t3, int64_t *offset_ns,
                      int64_t *rtt_ns);

/* ======================================================================= durable files */
/* fsync of a file or directory by path (a new file is durable once it and its directory entry are). */
int tw_fsync_path(const char *path);                            /* 0, or -1 with errno */
int tw_fsync_dir(const char *dir, char *msg, size_t msgsz);     /* 0, TW_EIO or TW_ENOSPACE naming dir */

/* ======================================================================= random numbers */
/* splitmix64: advances *state and returns the next output (also a good 64-bit mixer). */
uint64_t tw_splitmix64(uint64_t *state);
/* xoshiro256** seeded by splitmix64: the same sequence on every platform and libc. */
typedef struct { uint64_t s[4]; } tw_rng;
void tw_rng_seed(tw_rng *r, uint64_t seed);                   /* splitmix64 expansion of seed */
void tw_rng_seed2(tw_rng *r, uint64_t seed, uint64_t stream); /* independent stream, e.g. per episode */
uint64_t tw_rng_u64(tw_rng *r);
double tw_rng_uniform(tw_rng *r);                             /* [0, 1) */
double tw_rng_normal(tw_rng *r);                              /* N(0,1), Box-Muller, no cached state */

/* ======================================================================= statistics */
/* Streaming per-element statistics: count/mean/M2 (Welford per row, Chan et al. to merge, exact in
 * real arithmetic for any order) plus min/max. */
/* One Welford step: mean and m2 (sum of squared deviations) of n values, n already counting x. */
static inline void tw_welford_step(double *mean, double *m2, double n, double x)
{
    double d = x - *mean;
    *mean += d / n;
    *m2 += d * (x - *mean);
}
typedef struct {
    size_t dim;
    uint64_t count;
    double *mean, *m2, *min, *max; /* dim each, one allocation */
} tw_stat;
int tw_stat_init(tw_stat *s, size_t dim);
void tw_stat_free(tw_stat *s);
void tw_stat_reset(tw_stat *s);
void tw_stat_add_f32(tw_stat *s, const float *row);
void tw_stat_add_f64(tw_stat *s, const double *row);
void tw_stat_merge(tw_stat *into, const tw_stat *from); /* exact pairwise combination */
double tw_stat_std(const tw_stat *s, size_t j);         /* population std */
/* Flat serialisation (for MPI): (1 + 4*dim) doubles. */
size_t tw_stat_ndoubles(const tw_stat *s);
void tw_stat_pack(const tw_stat *s, double *out);
void tw_stat_unpack(tw_stat *s, const double *in);

/* ======================================================================= progress */
/* The one progress convention of every library: long work calls the caller's function now and then
 * (never from a signal handler), and never prints. stage names the step ("simgen", "fuse",
 * "replay"...); done/total count its units (total 0: unknown); line is a readable sentence or NULL.
 * The callback must be quick and must not call back into the library. */
typedef struct {
    const char *stage;
    uint64_t done, total;
    const char *line;
} tw_progress;
typedef void (*tw_progress_fn)(void *user, const tw_progress *p);
/* Calls fn (if not NULL) with a printf-formatted line (at most 1023 bytes). */
void tw_progress_say(tw_progress_fn fn, void *user, const char *stage, uint64_t done, uint64_t total,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void tw_progress_vsay(tw_progress_fn fn, void *user, const char *stage, uint64_t done, uint64_t total,
                      const char *fmt, va_list ap);

/* ======================================================================= report plots */
/* Inline SVG plots for the self-contained HTML reports (replay's report.html, gap.html). */
typedef struct {
    const double *y; /* n values, `stride` apart */
    size_t stride;
    const char *label;
} tw_svg_series;

/* A line plot of ns series over x in [x0, x1]; points with cnt[i] == 0 (cnt may be NULL) or
 * non-finite values are left out. */
void tw_svg_lines(FILE *f, const char *title, const char *xlabel, double x0, double x1, const tw_svg_series *s,
                  int ns, int n, const uint32_t *cnt);
/* Horizontal bars, one per label, with the value printed ("n/a" for non-finite values). */
void tw_svg_bars(FILE *f, const char *title, const char *const *labels, const double *v, int n, const char *unit);
/* Writes s with &, <, >, ' and " escaped. */
void tw_html_escape(FILE *f, const char *s);

#endif
