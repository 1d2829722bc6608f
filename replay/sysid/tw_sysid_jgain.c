/* The actuator part of a per-joint identification: where the episodes have an action stream, the
 * actuators' gain and the actuation delay by the derivative-free fit (tw_sysid_fit on gain alone, with
 * the latency search); episodes without actions have nothing to say about either. */
#include <stdio.h>
#include <string.h>

#include "tw_sysid_int.h"

static int has_actions(const char *dir)
{
    tw_episode *ep = NULL;
    char msg[256];
    if (tw_episode_open(dir, &ep, msg, sizeof msg) < 0)
        return 0;
    int yes = 0;
    for (size_t i = 0; i < tw_episode_nstreams(ep); i++)
        yes |= tw_episode_decl(ep, i)->kind == TW_KIND_ACTION && tw_episode_nsamples(ep, i) > 0;
    tw_episode_close_reader(ep);
    return yes;
}

int tw_sysid_gain_fit(const char *const *dirs, size_t ndirs, const char *model_path, const char *map_path,
                      tw_progress_fn progress, void *progress_user, json_t **out, char *msg, size_t msgsz)
{
    *out = NULL;
    for (size_t i = 0; i < ndirs; i++)
        if (!has_actions(dirs[i]))
            return 0; /* one episode without actions: no actuator block to fit on */
    tw_sysid_opts so;
    tw_sysid_opts_init(&so);
    so.model_path = model_path;
    so.map_path = map_path;
    so.max_samples = 2000;
    so.latency_max_ms = 50; /* a real rig's delay would otherwise be absorbed into a wrong gain */
    so.progress = progress;
    so.progress_user = progress_user;
    tw_sysid_result res;
    int rc = tw_sysid_opts_add(&so, "gain", msg, msgsz);
    if (rc == 0)
        rc = tw_sysid_fit(dirs, ndirs, &so, &res, msg, msgsz);
    if (rc < 0)
        return rc;
    json_t *all = tw_sysid_result_json(&res);
    json_t *gain = json_incref(json_object_get(json_object_get(all, "fit"), "gain"));
    json_object_del(all, "fit");
    *out = json_pack("{s:o, s:f, s:b, s:o}", "gain", gain ? gain : json_null(), "latency_ms", res.latency_ms,
                     "latency_searched", res.latency_searched, "details", all);
    return 0;
}
