/* fuse internals: sources and features, the per-episode sample walker, the plan, the manifest. */
#ifndef TW_FUSE_INT_H
#define TW_FUSE_INT_H

#include <jansson.h>
#include <stdint.h>

#include "tw_dataset_int.h"

enum { TW_DOMAIN_REAL = 0, TW_DOMAIN_SIM = 1 };

/* The feature signature every source must share (after --map renaming). */
typedef struct {
    uint32_t nj;                              /* joints: qpos and qvel dims */
    char jnames[TW_MAX_AXES][TW_MAX_NAME];
    char junits[TW_MAX_NAME];                 /* joint_state units as declared */
    uint32_t na;                              /* action dim */
    uint32_t na_named;                        /* action axes named (0 or na) */
    char anames[TW_MAX_AXES][TW_MAX_NAME];
    char aunits[TW_MAX_NAME];
    double joint_rate_hz;
} tw_fuse_sig;

typedef struct {
    char id[TW_MAX_NAME];
    char dir[4096];
    uint8_t domain, split;
    char *sim_params;                          /* JSON text (malloc'd) or NULL */
    char sha256[65];
    uint64_t steps, samples, skipped;          /* filled by pass 1 */
    int64_t t0_ns;                             /* pass 1's timeline start: pass 2 aligns without a statistics pass */
    int count_rc;                              /* pass 1 failed on this episode: the error, with count_msg */
    char *count_msg;                           /* (malloc'd) */
} tw_fuse_ep;

/* Column layout of state and action (schemas/fused.md "features"). */
typedef struct {
    const char *name, *group, *units;
    uint32_t offset, dim;
} tw_fuse_feature;

typedef struct {
    tw_fuse_opts o;
    tw_map *map;                               /* --map (or NULL) */
    tw_fuse_ep *eps;
    size_t neps;
    tw_fuse_sig sig;
    char sig_from[4096];                       /* episode dir the signature came from */
    tw_robot *robot;                           /* --model, or NULL */
    int ee_map[TW_MAX_AXES];                   /* canonical joint -> robot joint index */
    uint32_t S, A, H;
    tw_fuse_feature sfeat[4], afeat[1];
    size_t nsfeat;
    /* plan */
    size_t *order[3];                          /* per split: episode indices in sample order */
    size_t norder[3];
    uint64_t nsamples[3], ndomain[3][2];
    double weight[3][2];
    tw_stat st_state, st_action, st_delta;     /* train split, merged */
} tw_fuse_ctx;

/* ---- output folder (tw_fuse_out.c) ---- */
/* Creates dir if needed; refuses one that holds a dataset or an interrupted run's shards. */
int tw_fuse_out_prepare(const char *dir, char *msg, size_t msgsz);

/* ---- sources (tw_fuse_source.c) ---- */
/* Lists every episode of --real and --sim; opens this rank's share of them (listing order j % K, plus the
 * first for the feature signature every rank needs), reads ids/domains/sim params, checks the signature,
 * and runs pass 1 on each while it is open (counts, timeline; a failure is kept for pass 1 to report).
 * Local: no collective. */
int tw_fuse_scan(tw_fuse_ctx *c, char *msg, size_t msgsz);
/* After every rank's scan succeeded: all-gathers what the scans found, so every rank knows every episode;
 * sorts the episodes (real first, then by id) and refuses duplicate ids. */
int tw_fuse_scan_share(tw_fuse_ctx *c, char *msg, size_t msgsz);
/* Stream roles and column permutations of an open episode against the signature. */
typedef struct {
    int js, act;                               /* stream indices in the episode */
    uint32_t jperm[TW_MAX_AXES];               /* canonical joint k -> episode joint index */
    uint32_t aperm[TW_MAX_AXES];
} tw_fuse_roles;
int tw_fuse_resolve(const tw_fuse_ctx *c, const tw_episode *e, const char *dir, tw_fuse_roles *r, char *msg,
                    size_t msgsz);
void tw_fuse_free_eps(tw_fuse_ctx *c);

/* ---- sample walker (tw_fuse_walk.c) ---- */
typedef struct tw_fuse_walker tw_fuse_walker;
typedef struct {
    const float *state;       /* [S] */
    const float *action;      /* [H x A] */
    const float *next_state;  /* [H x S] */
    uint32_t t;
} tw_fuse_sample;
/* count_only: pass 1's walker, reading timestamps only: next() counts the same samples but fills only s->t
 * (state, action, next_state are NULL). e: episode ep already open (the walker takes it over, closing it even
 * on failure), or NULL to open it here. A full walker (pass 2) reuses pass 1's timeline (eps[ep].t0_ns,
 * steps). */
int tw_fuse_walker_open(const tw_fuse_ctx *c, size_t ep, tw_episode *e, int count_only, tw_fuse_walker **out,
                        char *msg, size_t msgsz);
int64_t tw_fuse_walker_t0(const tw_fuse_walker *w);
/* Next valid sample: 1 (filled; valid until the next call), 0 at the end, or < 0. */
int tw_fuse_walker_next(tw_fuse_walker *w, tw_fuse_sample *s, char *msg, size_t msgsz);
/* The same, writing the sample's rows straight into the given arrays (a shard row: no extra copy). */
int tw_fuse_walker_next_into(tw_fuse_walker *w, float *state, float *action, float *next_state,
                             tw_fuse_sample *s, char *msg, size_t msgsz);
uint64_t tw_fuse_walker_steps(const tw_fuse_walker *w);
uint64_t tw_fuse_walker_skipped(const tw_fuse_walker *w);
uint64_t tw_fuse_walker_ordinal(const tw_fuse_walker *w); /* samples returned so far */
size_t tw_fuse_walker_episode(const tw_fuse_walker *w);
void tw_fuse_walker_close(tw_fuse_walker *w);

/* ---- plan (tw_fuse_plan.c) ---- */
int tw_fuse_plan_splits(tw_fuse_ctx *c, char *msg, size_t msgsz);
/* After pass 1 filled samples: counts and weights; errors for ratios the data cannot meet. */
int tw_fuse_plan_weights(tw_fuse_ctx *c, char *msg, size_t msgsz);
/* Shards, in order: split, first sample in split, count. */
typedef struct {
    uint8_t split;
    uint64_t first, count;
} tw_fuse_shard;
size_t tw_fuse_plan_shards(const tw_fuse_ctx *c, tw_fuse_shard **out);

/* Pass 2 (tw_fuse_write.c): writes this rank's shards (j % K == rank); their hashes go to sha[j]. The train
 * statistics of the episodes whose first sample lies in one of them are appended to *stats (malloc'd):
 * per episode a uint64 index and tw_fuse_stats_ndoubles() doubles (state, action, delta packed). */
int tw_fuse_write_shards(const tw_fuse_ctx *c, const tw_fuse_shard *sh, size_t nsh, char (*sha)[65],
                         char **stats, size_t *stats_len, tw_fuse_result *res, char *msg, size_t msgsz);
/* The three statistics sets (state S, action A, state delta S). */
int tw_fuse_stats_init3(const tw_fuse_ctx *c, tw_stat st[3]);
void tw_fuse_stats_free3(tw_stat st[3]);
size_t tw_fuse_stats_ndoubles(const tw_fuse_ctx *c);
/* All-gathers every rank's records from tw_fuse_write_shards and merges them in episode order into
 * c->st_state, st_action, st_delta: the same bits for any rank count. */
int tw_fuse_merge_stats(tw_fuse_ctx *c, const char *stats, size_t stats_len, char *msg, size_t msgsz);

/* ---- shard writes in two steps (tw_shard.c; tw_shard_write is both) ---- */
/* Writes the temporary file of shard `index` and starts its writeback; nothing under the final name yet. */
int tw_shard_write_begin(const char *dir, uint32_t index, const char *split, const tw_shard_buf *b, char *msg,
                         size_t msgsz);
/* fsync + rename to the final name; *bytes = file size (may be NULL). Removes the temporary on failure. */
int tw_shard_commit(const char *dir, uint32_t index, uint64_t *bytes, char *msg, size_t msgsz);

/* ---- manifest (tw_manifest.c) ---- */
int tw_manifest_write(const tw_fuse_ctx *c, const tw_fuse_shard *sh, size_t nsh, char (*shard_sha)[65],
                      char *msg, size_t msgsz);

#endif
