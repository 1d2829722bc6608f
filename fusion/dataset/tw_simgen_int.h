/* simgen internals: one episode's rollout and its episode file. */
#ifndef TW_SIMGEN_INT_H
#define TW_SIMGEN_INT_H

#include <pthread.h>
#include <stdint.h>

#include "tw_dataset.h"

#define TW_SIMGEN_JOINT_HZ 500.0 /* rig default for joint states and wrench */

typedef struct {
    const tw_robot *nominal;
    const tw_perturb *perturb;
    uint64_t seed, episode;
    double duration_s;
    int compression;          /* gzip level of the episode's datasets (tw_episode_info.compression) */
    const char *out_dir, *model_path;
    tw_sim **sim;             /* the calling worker's rollout, kept across its episodes and re-perturbed
                                 in place (*sim NULL: made here); the worker frees it */
} tw_simgen_episode;

/* Episode folder name for (seed, i): "sim-s<seed>-<i:06>". */
void tw_simgen_episode_name(uint64_t seed, uint64_t episode, char *buf, size_t bufsz);
/* A rollout of the nominal model with simgen's options (seed, the rig's operator rate); each episode
 * switches it to its own perturbation (tw_sim_set_perturb). */
int tw_simgen_sim_new(const tw_robot *nominal, uint64_t seed, tw_sim **out, char *msg, size_t msgsz);
/* Rolls out and writes one episode (temporary folder, renamed when complete). */
int tw_simgen_episode_run(const tw_simgen_episode *job, uint64_t *steps, char *msg, size_t msgsz);

#endif
