/* Headless MuJoCo rendering (the rig's rendered camera): an EGL context on Mesa's surfaceless
 * platform (no X, no window, no GPU needed: llvmpipe), MuJoCo's offscreen framebuffer, RGB out.
 *
 * Threading: a tw_render owns a GL context that is made current on the calling thread by
 * tw_render_frame; use each renderer from one thread at a time. */
#ifndef TW_RENDER_H
#define TW_RENDER_H

#include <stdint.h>

#include <mujoco/mujoco.h>

#include "tw_err.h"

typedef struct tw_render tw_render;

/* Prepares rendering of `m` at width x height through `camera` (a camera name in the model, or
 * NULL / "" for the free camera looking at the whole model). The renderer keeps its own copy of
 * the model (with the offscreen buffer enlarged to the requested size), so `m` may be freed later.
 * Returns TW_EUNSUPPORTED with the reason when no EGL/OpenGL context can be made here,
 * TW_ENOT_FOUND for an unknown camera, TW_EINVAL for a bad size. */
int tw_render_open(const mjModel *m, int width, int height, const char *camera, tw_render **out,
                   char *msg, size_t msgsz);

/* Renders the state in `d` (positions must be current: after mj_forward or mj_step) into `rgb`,
 * width*height*3 bytes, top row first. */
int tw_render_frame(tw_render *r, const mjData *d, uint8_t *rgb, char *msg, size_t msgsz);

/* Frees the context and the scene; NULL is a no-op. */
void tw_render_close(tw_render *r);

#endif
