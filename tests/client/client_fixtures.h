/* Shared pieces of the client tests: stream declarations of each kind, polling. */
#ifndef CLIENT_FIXTURES_H
#define CLIENT_FIXTURES_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tw_wire.h"

enum { ID_JOINTS = 1, ID_WRENCH = 2, ID_ACTION = 3, ID_EVENT = 4, ID_VIDEO = 5, N_DECLS = 5 };

static inline void fx_decls(tw_stream_decl d[N_DECLS])
{
    memset(d, 0, sizeof(tw_stream_decl) * N_DECLS);
    d[0] = (tw_stream_decl){.id = ID_JOINTS, .kind = TW_KIND_JOINT_STATE, .dtype = TW_DTYPE_FLOAT64,
                            .ndim = 2, .shape = {3, 7}, .naxes = 7, .rate_hz = 500};
    snprintf(d[0].name, sizeof d[0].name, "arm");
    snprintf(d[0].units, sizeof d[0].units, "rad;rad/s;N*m");
    for (int j = 0; j < 7; j++)
        snprintf(d[0].axes[j], sizeof d[0].axes[j], "joint%d", j + 1);
    d[1] = (tw_stream_decl){.id = ID_WRENCH, .kind = TW_KIND_WRENCH, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {6}, .rate_hz = 500};
    snprintf(d[1].name, sizeof d[1].name, "wrist_ft");
    d[2] = (tw_stream_decl){.id = ID_ACTION, .kind = TW_KIND_ACTION, .dtype = TW_DTYPE_FLOAT32, .ndim = 1,
                            .shape = {7}, .rate_hz = 100};
    snprintf(d[2].name, sizeof d[2].name, "cmd");
    d[3] = (tw_stream_decl){.id = ID_EVENT, .kind = TW_KIND_EVENT, .dtype = TW_DTYPE_BYTES, .rate_hz = 1};
    snprintf(d[3].name, sizeof d[3].name, "events");
    d[4] = (tw_stream_decl){.id = ID_VIDEO, .kind = TW_KIND_VIDEO, .dtype = TW_DTYPE_BYTES, .rate_hz = 30,
                            .encoding = TW_VIDEO_H264, .width = 640, .height = 480};
    snprintf(d[4].name, sizeof d[4].name, "cam0");
}

static inline void fx_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls cond (an expression) every 5 ms for up to ms milliseconds; yields its last value. */
#define FX_WAIT_FOR(cond, ms)                                                  \
    ({                                                                         \
        int ok_ = 0;                                                           \
        for (int i_ = 0; i_ < (ms) / 5 && !(ok_ = (cond)); i_++)               \
            fx_sleep_ms(5);                                                    \
        ok_ || (cond);                                                         \
    })

#endif
