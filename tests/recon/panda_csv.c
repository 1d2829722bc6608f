/* panda_csv.h: the real Panda log as an episode. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_episode.h"
#include "panda_csv.h"

#define NJ 7

int panda_csv_episode_ex(const char *csv, const char *dir, int freeze, double t_max, char *msg, size_t msgsz)
{
    double q0 = NAN;
    FILE *f = fopen(csv, "r");
    if (!f)
        return tw_errf(msg, msgsz, TW_EIO, "cannot open %s", csv);
    tw_stream_decl d;
    memset(&d, 0, sizeof d);
    d.id = 1;
    snprintf(d.name, sizeof d.name, "joint_state");
    d.kind = TW_KIND_JOINT_STATE;
    d.dtype = TW_DTYPE_FLOAT64;
    d.ndim = 2;
    d.shape[0] = 3;
    d.shape[1] = NJ;
    d.naxes = NJ;
    for (int j = 0; j < NJ; j++)
        snprintf(d.axes[j], TW_MAX_NAME, "joint%d", j + 1);
    d.rate_hz = 1000;
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "gaz2019_traj1";
    info.robot = "franka_panda";
    info.domain = "real";
    tw_episode_writer *w = NULL;
    int rc = tw_episode_create(dir, &info, &d, 1, &w, msg, msgsz);
    char line[4096];
    uint64_t seq = 0;
    if (!fgets(line, sizeof line, f)) /* header */
        rc = tw_errf(msg, msgsz, TW_EIO, "%s: empty", csv);
    while (rc == 0 && fgets(line, sizeof line, f)) {
        double v[1 + 3 * NJ];
        char *p = line;
        for (int k = 0; k < 1 + 3 * NJ; k++) {
            v[k] = strtod(p, &p);
            if (*p == ',')
                p++;
        }
        if (t_max > 0 && v[0] >= t_max)
            break;
        if (freeze >= 0 && freeze < NJ) {
            if (isnan(q0))
                q0 = v[1 + freeze];
            v[1 + freeze] = q0;
            v[1 + NJ + freeze] = 0;
        }
        int64_t t = (int64_t)llround(v[0] * 1e9);
        tw_frame fr = {.stream_id = 1, .payload_len = sizeof(double) * 3 * NJ, .seq = seq++, .t_src_ns = t,
                       .payload = (const uint8_t *)(v + 1)};
        rc = tw_episode_append(w, &fr, t, msg, msgsz);
    }
    fclose(f);
    if (w) {
        int rc2 = tw_episode_close(w, TW_EP_COMPLETE, 1, rc == 0 ? msg : NULL, rc == 0 ? msgsz : 0);
        if (rc == 0)
            rc = rc2;
    }
    return rc;
}


int panda_csv_episode(const char *csv, const char *dir, char *msg, size_t msgsz)
{
    return panda_csv_episode_ex(csv, dir, -1, 0, msg, msgsz);
}
