/* The signal streams a simulated robot produces (tw_sim.h, tw_sim_stream_decls): the virtual rig streams
 * them and simgen writes them straight into episode files, so both have exactly the recorded layout. */
#include <stdio.h>
#include <string.h>

#include "tw_sim.h"

static void sim_axes(tw_stream_decl *d, int n, const char *const *names)
{
    d->naxes = (uint32_t)n;
    for (int i = 0; i < n; i++)
        snprintf(d->axes[i], sizeof d->axes[i], "%s", names[i]);
}

int tw_sim_stream_decls(const tw_robot *r, double js_rate, double ft_rate, double action_rate, tw_stream_decl d[5])
{
    static const char *const wrench_axes[] = {"fx", "fy", "fz", "tx", "ty", "tz"};
    static const char *const object_axes[] = {"x", "y", "z", "qw", "qx", "qy", "qz", "vx", "vy", "vz", "wx", "wy", "wz"};
    const mjModel *m = r->m;
    const char *act[TW_ROBOT_MAX_ACT];
    char actbuf[TW_ROBOT_MAX_ACT][32];
    for (int a = 0; a < m->nu && a < TW_ROBOT_MAX_ACT; a++) {
        const char *nm = m->names + m->name_actuatoradr[a];
        if (!*nm) { /* unnamed actuators get a stable positional name */
            snprintf(actbuf[a], sizeof actbuf[a], "actuator%d", a);
            nm = actbuf[a];
        }
        act[a] = nm;
    }
    memset(d, 0, 5 * sizeof *d);
    d[0] = (tw_stream_decl){.id = TW_SIM_SID_JS, .kind = TW_KIND_JOINT_STATE, .dtype = TW_DTYPE_FLOAT64, .ndim = 2,
                            .shape = {3, (uint32_t)r->njoint}, .rate_hz = js_rate};
    snprintf(d[0].name, sizeof d[0].name, "joint_state");
    snprintf(d[0].units, sizeof d[0].units, "rad|m;rad/s|m/s;N*m|N");
    sim_axes(&d[0], r->njoint, r->jname);
    d[1] = (tw_stream_decl){.id = TW_SIM_SID_WRENCH, .kind = TW_KIND_WRENCH, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {6}, .rate_hz = ft_rate};
    snprintf(d[1].name, sizeof d[1].name, "wrench");
    snprintf(d[1].units, sizeof d[1].units, "N;N*m");
    snprintf(d[1].frame, sizeof d[1].frame, TW_FT_SITE_NAME);
    sim_axes(&d[1], 6, wrench_axes);
    d[2] = (tw_stream_decl){.id = TW_SIM_SID_ACTION, .kind = TW_KIND_ACTION, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {(uint32_t)m->nu}, .rate_hz = action_rate};
    snprintf(d[2].name, sizeof d[2].name, "action");
    snprintf(d[2].units, sizeof d[2].units, "ctrl");
    sim_axes(&d[2], m->nu, act);
    d[3] = (tw_stream_decl){.id = TW_SIM_SID_EVENTS, .kind = TW_KIND_EVENT, .dtype = TW_DTYPE_BYTES, .rate_hz = 1};
    snprintf(d[3].name, sizeof d[3].name, "events");
    if (r->object_body < 0)
        return 4;
    /* the object's free-joint state (motion capture): replay needs it to reconstruct contacts */
    d[4] = (tw_stream_decl){.id = TW_SIM_SID_OBJECT, .kind = TW_KIND_TENSOR, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {13}, .rate_hz = js_rate};
    snprintf(d[4].name, sizeof d[4].name, "object_state");
    snprintf(d[4].units, sizeof d[4].units, "m;1;m/s;rad/s");
    snprintf(d[4].frame, sizeof d[4].frame, "world:%s", r->m->names + r->m->name_bodyadr[r->object_body]);
    sim_axes(&d[4], 13, object_axes);
    return 5;
}
