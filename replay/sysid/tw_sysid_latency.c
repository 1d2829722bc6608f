/* Actuation-latency search.  The delay decides which recorded action the actuators were applying,
 * so it is a property of the data set, not of the model: each candidate on the timeline grid
 * re-reads the episodes with that delay and scores the actuator block alone.  For a fixed delay
 * the actuator force is (up to force-range clamping) linear in gain, qfrc_actuator = gain * F1, so
 * the best gain has a closed form and one evaluation at gain 1 per candidate is enough.  The score
 * is the unexplained fraction sum w^2 (e - g F1)^2 / sum w^2 e^2, comparable across candidates
 * whose channel weights differ slightly.  The grid step (one timeline step) is the resolution. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_sysid_int.h"

#define TW_SYSID_LATENCY_SAMPLES 1000 /* per episode for the search: the actuator block is cheap */

/* Unexplained fraction of the actuator block for data sd, gain at its closed-form best. */
static int score(const tw_robot *r, const tw_sysid_data *sd, const tw_sysid_opts *og, double *f, char *msg,
                 size_t msgsz)
{
    tw_sysid_ctx c;
    double *res = NULL, theta = 1;
    int rc = tw_sysid_ctx_init(&c, r, sd, og, msg, msgsz);
    if (rc == 0 && !(res = malloc(sd->n * (size_t)c.nch * sizeof(double))))
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "sysid: latency search buffers");
    if (rc == 0)
        rc = tw_sysid_residual(&c, &theta, res, msg, msgsz);
    if (rc == 0) {
        double ef = 0, ff = 0, ee = 0;
        for (size_t i = 0; i < sd->n; i++)
            for (int j = 0; j < c.nj; j++) {
                size_t e = i * (size_t)c.nch + (size_t)j;
                if (!c.valid[e])
                    continue;
                double w2 = c.w[j] * c.w[j], y = sd->s[i].effort[j], F1 = y - res[e];
                ef += w2 * y * F1;
                ff += w2 * F1 * F1;
                ee += w2 * y * y;
            }
        double g = ff > 0 ? ef / ff : 0;
        *f = ee > 0 ? (ee - 2 * g * ef + g * g * ff) / ee : INFINITY;
    }
    free(res);
    tw_sysid_ctx_free(&c);
    return rc;
}

int tw_sysid_latency_search(const tw_robot *r, const char *const *dirs, size_t ndirs, const tw_sysid_opts *o,
                            double *latency_ms, double *step_ms, char *msg, size_t msgsz)
{
    int gk = -1;
    for (int k = 0; k < o->nparam; k++)
        if (!strcmp(o->param[k].name, "gain"))
            gk = k;
    if (gk < 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: the latency search works through the actuator block: "
                       "fit gain too");
    double rate;
    int rc = tw_sysid_episode_rate(dirs[0], o, &rate, msg, msgsz);
    if (rc < 0)
        return rc;
    tw_sysid_opts og = *o;
    og.nparam = 1;
    og.param[0] = o->param[gk];
    og.progress = NULL;
    if (og.max_samples == 0 || og.max_samples > TW_SYSID_LATENCY_SAMPLES)
        og.max_samples = TW_SYSID_LATENCY_SAMPLES;
    *step_ms = 1000.0 / rate;
    *latency_ms = 0;
    double best = INFINITY;
    int n = (int)floor(o->latency_max_ms / *step_ms + 1e-9);
    for (int L = 0; rc == 0 && L <= n; L++) {
        tw_sysid_data *sd = NULL;
        double f = INFINITY;
        og.latency_ms = L * *step_ms;
        rc = tw_sysid_data_new(r, og.sim_integrator, &sd, msg, msgsz);
        for (size_t i = 0; rc == 0 && i < ndirs; i++)
            rc = tw_sysid_data_add_episode(sd, dirs[i], &og, (int)i, msg, msgsz);
        if (rc == 0)
            rc = score(r, sd, &og, &f, msg, msgsz);
        tw_sysid_data_free(sd);
        if (rc == 0 && f < best) {
            best = f;
            *latency_ms = og.latency_ms;
        }
    }
    return rc;
}
