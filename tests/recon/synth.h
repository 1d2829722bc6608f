/* Synthetic episodes for replay tests and the replay benchmark: the physics layer's rollout
 * (tw_sim: perturbed physics + scripted operator + noise) written with the episode writer the
 * way the rig streams it: joint_state [3, N] and wrench [6] every physics step, the commanded
 * action when the operator decides, clock-offset samples every 0.5 s. */
#ifndef TW_TEST_SYNTH_H
#define TW_TEST_SYNTH_H

#include <stdint.h>

typedef struct {
    const char *model;        /* MJCF path, NULL = builtin */
    const char *perturb;      /* tw_perturb_parse spec ("none", "damping=2", ...) */
    double duration_s;
    double clock_offset_ms;   /* client clock minus recorder clock */
    double latency_ms;        /* receive minus send, recorder clock */
    uint64_t seed;
    const char *status;       /* episode status to close with: "complete", or "interrupted"
                                 as `tw recover` marks what a crash left */
    int rename_joint;         /* >= 0: stream this joint under the name "bogus_joint" */
    double stop_at_s;         /* > 0: stop writing samples here (truncated episode) */
    int with_video_index;     /* a self-numbering RGB camera at 30 fps (encoded by the writer) */
    double object_gap_s[2];   /* object_state samples with t in [a, b) are not written (a gap) */
} synth_opts;

void synth_opts_init(synth_opts *o);
/* Writes the episode directory `dir` (must not exist). Returns 0 or a negative TW_E*. */
int synth_episode(const char *dir, const synth_opts *o, char *msg, size_t msgsz);

#endif
