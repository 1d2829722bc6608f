/* Shared pieces of the LeRobot and robomimic converters (cli/convert):
 *   cv_episode  - one imported episode written through bridge/episode under a temporary directory name,
 *                 renamed into place only when complete (what `tw record` writes, nothing half-done);
 *   cv_src      - the episodes of an export's SRC: a folder of episodes, one episode, or a `tw fuse` output
 *                 (its manifest gives each episode's split and sampling weight);
 *   cv_commit   - temporary name + fsync + rename + fsync of the directory, for whole output trees;
 *   cv_stats    - LeRobot's per-feature statistics (min/max/mean/std/count and its histogram quantiles). */
#ifndef TW_CONVERT_EPISODES_H
#define TW_CONVERT_EPISODES_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "tw_episode.h"

#define CV_PATH 4096

/* ---- writing one episode ---- */
typedef struct {
    char final[CV_PATH], tmp[CV_PATH];
    tw_episode_writer *w;
    size_t nstreams;
    uint64_t seq[TW_MAX_STREAMS];
} cv_episode;

/* Creates OUT/.ID.part (a leftover of an earlier run is removed); stream i gets id i + 1. Refuses when
 * OUT/ID already exists. */
int cv_episode_begin(cv_episode *e, const char *out_root, const tw_episode_info *info, const tw_stream_decl *d,
                     size_t n, char *msg, size_t msgsz);
/* One sample of stream i at source time t_ns (also used as the receive time). */
int cv_episode_put(cv_episode *e, size_t i, int64_t t_ns, const void *payload, size_t len, int keyframe, char *msg,
                   size_t msgsz);
/* A whole import is published at once: episodes stay under their .part names until every one is complete. */
typedef struct {
    char (*tmp)[CV_PATH], (*final)[CV_PATH];
    size_t n, cap;
} cv_batch;
/* Closes (status complete) and adds the episode to b. */
int cv_episode_commit(cv_episode *e, cv_batch *b, char *msg, size_t msgsz);
/* Renames every OUT/.ID.part of b to OUT/ID, fsyncs OUT; then frees b. */
int cv_batch_publish(cv_batch *b, char *msg, size_t msgsz);
/* Removes every episode of b (a later one failed); frees b. */
void cv_batch_abort(cv_batch *b);
/* Drops everything written (safe after a failed begin or commit). */
void cv_episode_abort(cv_episode *e);

/* ---- the options every importer takes: --out, --domain real|sim, --compression 0..9 ---- */
typedef struct {
    const char *out, *domain;
    int compression; /* gzip level of episode.h5 signals: 0 like tw simgen (the source is compressed already) */
} cv_import_opts;
#define CV_IMPORT_LONGOPTS {"out", 1, 0, 'o'}, {"domain", 1, 0, 'd'}, {"compression", 1, 0, 'z'}, {"help", 0, 0, 'h'}
#define CV_IMPORT_SHORTOPTS "o:d:z:h"
/* Takes option o (getopt's return) when it is one of these: 1, else 0. */
int cv_import_opt(cv_import_opts *io, int o, const char *arg);
/* Whether the options are complete and valid (--out given, a known domain, a gzip level). */
int cv_import_opts_ok(const cv_import_opts *io);
/* Fills what every importer's episode info shares (domain, compression, software version). */
void cv_import_info(const cv_import_opts *io, tw_episode_info *info);

/* ---- what an export reads ---- */
typedef struct {
    char dir[CV_PATH];
    char split[16];  /* "train" / "val" / "test" from a fused manifest, "" otherwise */
    double weight;   /* sampling weight from a fused manifest, NAN otherwise */
} cv_src_episode;

/* Lists SRC's episodes sorted by directory name (or in the manifest's order). *out is malloc'd. */
int cv_src_list(const char *src, cv_src_episode **out, size_t *n, char *msg, size_t msgsz);

/* rename(tmp, final) then fsync final's parent directory. */
int cv_commit(const char *tmp, const char *final, char *msg, size_t msgsz);
void cv_rmtree(const char *path); /* rm -rf; missing is fine */
int cv_mkdirs(const char *path, char *msg, size_t msgsz);   /* mkdir -p */
/* A malloc'd copy of a whole small file (metadata: JSON, lines); NULL with a message. */
char *cv_slurp(const char *path, size_t max, char *msg, size_t msgsz);

/* ---- LeRobot's statistics of one feature over one episode (compute_stats.py, RunningQuantileStats on one
 * batch: 5000-bin histogram between min - 1e-10 and max + 1e-10, quantiles by linear interpolation) ---- */
#define CV_NQ 5
extern const double cv_quantiles[CV_NQ];   /* 0.01 0.10 0.50 0.90 0.99 */
extern const char *const cv_qnames[CV_NQ]; /* "q01" ... "q99" */
typedef struct {
    size_t dim;
    uint64_t count;
    double *min, *max, *mean, *std, *q[CV_NQ]; /* [dim] each, one allocation */
} cv_stats;
/* x: rows x dim values, row-major. */
int cv_stats_compute(cv_stats *s, const double *x, size_t rows, size_t dim);
/* Merges per-episode stats as LeRobot's aggregate_feature_stats does (count-weighted means, quantiles included). */
int cv_stats_aggregate(cv_stats *out, const cv_stats *parts, size_t n);
void cv_stats_free(cv_stats *s);

#endif
