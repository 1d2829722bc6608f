/* tw gap --fit: which damping, friction, payload and gain make the nominal model replay the real
 * episodes closest to what was recorded (replay/tw_sysid.h: Nelder-Mead over replay's residual). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_gap_int.h"
#include "tw_sysid.h"

static void progress(void *ctx, int iterations, int evaluations, double best, const double *theta, int n)
{
    FILE *f = ctx;
    if (evaluations % 50)
        return;
    fprintf(f, "gap: fit: %d evaluations, objective %.6g, theta", evaluations, best);
    for (int k = 0; k < n; k++)
        fprintf(f, " %.4g", theta[k]);
    fputc('\n', f);
    (void)iterations;
}

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
    if (o->progress) {
        so.progress = progress;
        so.progress_ctx = o->progress;
        fprintf(o->progress, "gap: fitting damping, friction, payload_kg, gain (+ latency) on %zu real episode(s)\n",
                n);
    }
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
    if (o->progress)
        for (int k = 0; k < res.nparam; k++)
            fprintf(o->progress, "gap: fit: %s = %.4g ± %.2g\n", res.p[k].name, res.p[k].value, res.p[k].std);
    return 0;
}
