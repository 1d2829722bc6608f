/* Shared fixtures for the wire tests: one valid declaration of every kind. */
#ifndef TW_WIRE_FIXTURES_H
#define TW_WIRE_FIXTURES_H

#include <stdio.h>
#include <string.h>

#include "tw_wire.h"

static inline tw_stream_decl fx_decl(uint16_t id, const char *name, tw_kind kind, tw_dtype dt)
{
    tw_stream_decl d;
    memset(&d, 0, sizeof d);
    d.id = id;
    snprintf(d.name, sizeof d.name, "%s", name);
    d.kind = kind;
    d.dtype = dt;
    d.rate_hz = 100;
    return d;
}

static inline tw_stream_decl fx_joint(uint16_t id, const char *name, uint32_t n)
{
    tw_stream_decl d = fx_decl(id, name, TW_KIND_JOINT_STATE, TW_DTYPE_FLOAT64);
    d.ndim = 2;
    d.shape[0] = 3;
    d.shape[1] = n;
    d.naxes = n;
    for (uint32_t i = 0; i < n && i < TW_MAX_AXES; i++)
        snprintf(d.axes[i], sizeof d.axes[i], "joint%u", i + 1);
    snprintf(d.units, sizeof d.units, "rad;rad/s;N*m");
    d.rate_hz = 500;
    return d;
}

static inline tw_stream_decl fx_vec(uint16_t id, const char *name, tw_kind kind, uint32_t n)
{
    tw_stream_decl d = fx_decl(id, name, kind, TW_DTYPE_FLOAT32);
    d.ndim = 1;
    d.shape[0] = n;
    return d;
}

static inline tw_stream_decl fx_video(uint16_t id, const char *name, tw_video_enc enc, uint32_t w, uint32_t h)
{
    tw_stream_decl d = fx_decl(id, name, TW_KIND_VIDEO, TW_DTYPE_BYTES);
    d.encoding = enc;
    d.width = w;
    d.height = h;
    d.rate_hz = 30;
    snprintf(d.frame, sizeof d.frame, "wrist_cam");
    return d;
}

static inline tw_stream_decl fx_event(uint16_t id, const char *name)
{
    return fx_decl(id, name, TW_KIND_EVENT, TW_DTYPE_BYTES);
}

#endif
