/* The rig's cameras (internal to replay/): lock-step cameras rendered on the simulated timeline
 * ("pattern": the self-numbering test pattern; "sim[:name]": MuJoCo's offscreen render of the scene
 * with the frame code drawn in its top band) and live GStreamer sources (any other text), which run on
 * wall time and are stamped through the rig's clock. */
#ifndef TW_RIG_CAM_H
#define TW_RIG_CAM_H

#include <stdint.h>

#include "tw_client.h"
#include "tw_sim.h"

typedef struct tw_rig_cam tw_rig_cam;

/* Maps CLOCK_MONOTONIC ns to the rig's source clock (live cameras only). */
typedef int64_t (*tw_rig_cam_clock)(int64_t mono_ns, void *user);

int tw_rig_cam_open(const char *spec, const mjModel *m, int width, int height, double fps, tw_rig_cam_clock clk,
                    void *clk_user, tw_rig_cam **out, char *msg, size_t msgsz);
void tw_rig_cam_close(tw_rig_cam *c);
/* Starts frame numbering (the code drawn in the pixels) and timing afresh at sim time g0: frame k of
 * an episode carries number k and is due at g0 + k/fps.  The encoder restarts so the episode's video
 * begins with a keyframe; a live source restarts too. */
int tw_rig_cam_reset(tw_rig_cam *c, double g0, char *msg, size_t msgsz);
/* Fills a video stream declaration (id, name "camN", H.264, size, rate). */
void tw_rig_cam_decl(const tw_rig_cam *c, uint16_t id, int index, tw_stream_decl *d);
/* Called once per physics step: a lock-step camera renders and sends a frame when sim time g (s) reaches
 * its next frame time, stamped t_src_ns (the rig clock at g); a live camera sends whatever AUs are ready.
 * Returns the number of frames sent (>= 0) or a negative TW_E*. */
int tw_rig_cam_tick(tw_rig_cam *c, double g, int64_t t_src_ns, const mjData *d, tw_client *cl, uint16_t id,
                    char *msg, size_t msgsz);
#endif
