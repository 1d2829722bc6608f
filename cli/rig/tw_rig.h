/* The virtual teleoperation rig (`tw rig`): replay's physics (tw_sim.h) driving bridge's client
 * (tw_client.h) and camera (tw_camera.h), so it behaves on the wire like a real robot.
 *
 * Timelines.  Simulated time g (s) runs continuously across episodes (episodes are separated by a
 * 0.5 s gap).  The "true" time of g is wall0 + g, where wall0 is CLOCK_REALTIME at start; the rig's
 * own clock reads C(true) = true + clock_offset + drift_ppm·1e-6·(true - wall0).  Every source timestamp
 * is C(true time of the sample), and the client library's clock for pings/pongs is C(CLOCK_REALTIME
 * now), so the recorder's offset estimate sees the planted offset and drift.  With --speed 1 the
 * sim is paced so that g tracks wall time; with --speed X it runs X times faster, with 0 as fast as
 * it can (timestamps stay on the simulated timeline; the clock-offset estimate is then meaningless).
 * Latency: every signal sample (joint state, wrench, action, event) is sent latency_ms after its source
 * time (a delay line on the simulated timeline), in addition to the actuation delay inside tw_sim.
 *
 * Streams (ids fixed): 1 joint_state [3,N] float64 (rows position rad|m, velocity, effort N·m|N);
 * 2 wrench [6] float64 (fx fy fz N, tx ty tz N·m, frame tw_ft_site); 3 action [nu] float64 (actuator
 * ctrl, axes = actuator names); 4 events (JSON {"event":"grasp"|"release"}); 5 object_state [13] float64
 * (only when the scene has a free object: its qpos x y z qw qx qy qz and qvel, world frame, at the
 * joint-state rate, noise-free like motion capture; replay needs it to put the object where it was);
 * 10.. cameras (H.264). */
#ifndef TW_RIG_H
#define TW_RIG_H

#include <stddef.h>
#include <stdint.h>

#include "tw_sim.h"
#include "tw_wire.h"

#define TW_RIG_MAX_CAMS 4

typedef struct {
    const char *url;            /* ws://host:port or wss:// */
    const char *token;          /* bearer token (may be NULL) */
    const char *model;          /* MJCF path, NULL: builtin */
    const char *truth_path;     /* ground-truth JSON written apart from the stream (NULL: none) */
    const char *task;           /* episode task text */
    int episodes;               /* >= 1 */
    double duration_s;          /* per episode, > 0 */
    uint64_t seed;
    tw_perturb perturb;         /* includes noise */
    double speed;               /* 1 real time, X faster, 0 as fast as possible */
    double js_rate, action_rate, ft_rate; /* Hz; js/ft at most the physics rate */
    const char *cameras[TW_RIG_MAX_CAMS]; /* "pattern", "sim[:camera]", or a GStreamer source */
    int ncameras;
    int cam_width, cam_height;
    double cam_fps;
    int max_retries;            /* client reconnect attempts before giving up */
    int connect_timeout_ms;     /* first connection */
    tw_progress_fn progress;    /* progress lines (stage "rig", done/total episodes); NULL: quiet */
    void *progress_user;
} tw_rig_opts;

typedef struct {
    uint64_t joint_state, wrench, action, events, object, video[TW_RIG_MAX_CAMS]; /* frames queued */
    uint64_t dropped, lost, reconnects;  /* from the client's counters */
    int episodes_done;
    double sim_s, wall_s;
    char episode_ids[64][64];            /* the first 64 episodes' ids from the recorder's acks */
} tw_rig_result;

void tw_rig_opts_init(tw_rig_opts *o); /* defaults: 1 x 10 s, seed 1, speed 1, 500/100/500 Hz,
                                          one "pattern" camera 640x480@30, default perturbation */
/* The default perturbation `tw rig` runs with when --perturb is not given (stated in --help). */
#define TW_RIG_DEFAULT_PERTURB "damping=1.3,friction=1.2,gain=0.95,payload_kg=0.2,latency_ms=10"
#define TW_RIG_DEFAULT_NOISE 1.0

/* Runs the whole session.  Returns 0 when every episode was streamed and acknowledged and nothing
 * was lost; otherwise the cause (TW_ECONNECT / TW_EAUTH / TW_ECLOSED / ...) with msg saying what. */
int tw_rig_run(const tw_rig_opts *o, tw_rig_result *res, char *msg, size_t msgsz);

/* Writes the ground truth (perturbation, seed, model, noise, rates, episode ids) as JSON, atomically. */
int tw_rig_write_truth(const tw_rig_opts *o, const tw_robot *r, const tw_rig_result *res, char *msg,
                       size_t msgsz);

#endif
