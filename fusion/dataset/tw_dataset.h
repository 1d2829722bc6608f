/* fusion: simulated corpora (simgen) and mixed real+sim training shards (fuse).
 * Formats: sim episodes use schemas/episode.md; fused datasets schemas/fused.md. */
#ifndef TW_FUSION_H
#define TW_FUSION_H

#include <stddef.h>
#include <stdint.h>

#include "tw_sim.h"
#include "tw_timeline.h"

#define TW_FUSED_FORMAT "teleworld.fused"
#define TW_FUSED_VERSION "1.0"
#define TW_FUSED_MAJOR 1

/* ---- domain randomisation spec (names and domains of `tw rig --perturb`, tw_perturb) ---- */
typedef enum { TW_DIST_CONST = 0, TW_DIST_UNIFORM, TW_DIST_NORMAL, TW_DIST_LOGUNIFORM } tw_dist_kind;
typedef struct {
    tw_dist_kind kind;
    double a, b;       /* uniform/loguniform: low, high; normal: mean, std; const: value */
    double lo, hi;     /* normal only: truncation bounds (resampled inside); default the parameter's domain */
} tw_dist;

#define TW_RAND_NPARAMS 6
/* Randomisable parameters in canonical order (sampling never depends on JSON key order). The clock
 * parameters of --perturb (clock_offset_ms, drift_ppm) do not exist in simulation and are refused. */
extern const char *const tw_rand_param_names[TW_RAND_NPARAMS];
typedef struct {
    int present[TW_RAND_NPARAMS];
    tw_dist dist[TW_RAND_NPARAMS];
} tw_rand_spec;

/* Parses the JSON object text; unknown names, bad ranges and bad distributions are errors (msg says which). */
int tw_rand_spec_parse(const char *json_text, tw_rand_spec *out, char *msg, size_t msgsz);
int tw_rand_spec_load(const char *path, tw_rand_spec *out, char *msg, size_t msgsz);
/* Episode i's perturbation: tw_perturb_none() with the spec's parameters drawn from a generator seeded
 * by (seed, i, parameter) only. spec may be NULL (nominal). */
void tw_rand_draw(const tw_rand_spec *spec, uint64_t seed, uint64_t episode, tw_perturb *out);

/* ---- MPI (no-ops, rank 0 of 1, when not built with MPI or not launched by mpirun) ---- */
/* 1 when this process was launched by mpirun (tw_mpi_init then starts MPI). */
int tw_mpi_launched(void);
int tw_mpi_init(int *rank, int *size, char *msg, size_t msgsz);
void tw_mpi_finalize(void);
/* Ranks on this node (1 without mpirun): simgen's default thread count divides the cores among them. */
int tw_mpi_local_size(void);
/* Global AND of ok across ranks (collective); returns 1 when every rank passed ok != 0. */
int tw_mpi_all_ok(int ok);
/* Every rank receives all ranks' bytes concatenated in rank order, and each rank's length (collective).
 * *out and *lens are malloc'd; caller frees. */
int tw_mpi_allgather(const void *buf, size_t len, void **out, size_t **lens, char *msg, size_t msgsz);
/* Root's len bytes of buf to every rank's buf (collective; every rank passes the same len). */
int tw_mpi_bcast(void *buf, size_t len, int root, char *msg, size_t msgsz);
/* tw_robot_load for every rank (collective): only rank 0 compiles the MJCF (about 0.4 s for the Panda, twice
 * when the loader adds the wrist F/T sensor), the others load its compiled bytes (tw_robot_load_buffer).
 * ok = 0: this rank already failed and only takes part (its msg is left alone); rank 0's failure fails
 * every rank. Without MPI or a local group: tw_robot_load. */
int tw_mpi_robot_load(const char *path, int rank, int nranks, int ok, tw_robot **out, char *msg, size_t msgsz);
/* Local group, the single-machine stand-in for mpirun (never under it): forks `jobs` worker processes that
 * are ranks 0..jobs-1; their tw_mpi_all_ok / allgather / bcast go through this process, their supervisor,
 * over socketpairs. Call it before HDF5, MuJoCo or threads are used (it forks).
 * jobs <= 1: returns 0 at once, *worker = 1, rank 0 of 1 (no fork).
 * In each worker: returns 0 with *worker = 1 and its rank; it must end with tw_mpi_local_finish.
 * In the supervisor (*worker = 0): returns once every worker has ended: 0 when all succeeded; else the
 * lowest rank's own error (echoes of another rank's failure, TW_EMPI, only if nothing better), or, when a
 * worker died or exited without finishing, TW_EMPI naming its rank, pid and signal or exit status. Then
 * the remaining workers have been killed at once and every worker is reaped: none is writing any more. */
int tw_mpi_local_start(int jobs, int *worker, int *rank, int *size, char *msg, size_t msgsz);
/* A worker's result (msg: its error text when rc != 0) to the supervisor; no-op outside a local group. */
void tw_mpi_local_finish(int rc, const char *msg);

/* ---- simgen ---- */
typedef struct {
    const char *model_path;      /* MJCF of the robot (nominal model) */
    const char *out_dir;         /* created if absent; episodes go to out_dir/sim-s<seed>-<i:06> */
    const char *randomize_path;  /* JSON spec, or NULL for the nominal model */
    uint64_t seed;
    uint32_t episodes;
    double duration_s;
    int jobs;                    /* threads per process; <= 0 means this node's cores / ranks on the node */
    int rank, nranks;            /* episode i is made by rank i % nranks */
    tw_progress_fn progress;     /* progress lines (rank, episodes, steps/s); NULL: quiet */
    void *progress_user;
    int compression;             /* gzip level 0..9 of the episode files; default 0 (see tw simgen --help) */
} tw_simgen_opts;
void tw_simgen_opts_init(tw_simgen_opts *o);
/* Makes this rank's episodes. Collective under MPI only through the caller. */
int tw_simgen_run(const tw_simgen_opts *o, uint64_t *steps_done, char *msg, size_t msgsz);

/* ---- fuse ---- */
#define TW_FUSE_MAX_SOURCES 64
typedef struct {
    const char *real[TW_FUSE_MAX_SOURCES];
    size_t nreal;
    const char *sim[TW_FUSE_MAX_SOURCES];
    size_t nsim;
    double ratio_real, ratio_sim;
    double frac[3];              /* train, val, test */
    uint64_t seed;
    const char *out_dir;
    const char *model_path;      /* optional: adds ee_pos/ee_quat */
    const char *map_path;        /* optional stream/axis mapping */
    uint32_t window;             /* H >= 1 */
    uint32_t shard_size;         /* samples per shard */
    double rate_hz;              /* aligned timeline rate; 0 = joint-state rate */
    int rank, nranks;
    tw_progress_fn progress;     /* a line per episode scanned and shard written; NULL: quiet */
    void *progress_user;
} tw_fuse_opts;
void tw_fuse_opts_init(tw_fuse_opts *o);
/* Episodes the sources hold (a listing: no file is opened; 0 when none or on error). */
size_t tw_fuse_count_episodes(const tw_fuse_opts *o);
/* The output folder: 1 when it already holds a dataset or a failed run's shards (a new run is refused). */
int tw_fuse_out_holds_dataset(const char *dir);
/* Removes what a fuse run writes there (manifest, shards, temporaries; files only): after a failed run
 * into a folder that held none of it. */
void tw_fuse_out_remove(const char *dir);
typedef struct {
    uint64_t samples[3];
    uint64_t shards, bytes_written;  /* this rank */
    uint32_t episodes;
} tw_fuse_result;
/* Collective under MPI: every rank calls it with the same options. */
int tw_fuse_run(const tw_fuse_opts *o, tw_fuse_result *res, char *msg, size_t msgsz);

#endif
