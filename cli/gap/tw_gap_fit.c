/* tw gap --fit: which damping, friction, payload and gain make the nominal model replay the real
 * episodes closest to what was recorded (replay/sysid/tw_sysid.h: Nelder-Mead over replay's residual). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_gap_int.h"
#include "tw_sysid.h"

int tw_gap_fit(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    json_t *eps, *e;
    int rc = tw_gap_real_episodes(g, &eps, msg, msgsz);
    if (rc)
        return rc;
    size_t n = json_array_size(eps), i;
    const char **dirs = calloc(n ? n : 1, sizeof *dirs);
    if (!dirs) {
        json_decref(eps);
        return tw_errf(msg, msgsz, TW_ENOMEM, "gap: out of memory");
    }
    json_array_foreach(eps, i, e) dirs[i] = json_string_value(json_object_get(e, "dir"));
    tw_sysid_opts so;
    tw_sysid_opts_init(&so);
    so.model_path = o->model_path;
    static const char *const names[] = {"damping", "friction", "payload_kg", "gain"};
    for (int k = 0; k < 4 && !rc; k++)
        rc = tw_sysid_opts_add(&so, names[k], msg, msgsz);
    /* Bounded work per episode; a real rig's actuation delay is searched with gain (it would
     * otherwise be absorbed into a wrong gain). */
    so.max_samples = 2000;
    so.latency_max_ms = 50;
    so.progress = o->progress;
    so.progress_user = o->progress_user;
    tw_progress_say(o->progress, o->progress_user, "gap", 0, 0,
                    "gap: fitting damping, friction, payload_kg, gain (+ latency) on %zu real episode(s)", n);
    tw_sysid_result res;
    if (!rc)
        rc = tw_sysid_fit(dirs, n, &so, &res, msg, msgsz);
    free(dirs);
    json_decref(eps);
    if (rc)
        return rc;
    json_t *all = tw_sysid_result_json(&res);
    g->fit = json_incref(json_object_get(all, "fit"));
    json_object_del(all, "fit");
    g->fit_details = all;
    for (int k = 0; k < res.nparam; k++)
        tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: fit: %s = %.4g ± %.2g", res.p[k].name,
                        res.p[k].value, res.p[k].std);
    return 0;
}
