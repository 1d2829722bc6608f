/* report.html: one self-contained page with inline SVG plots (no scripts, no external files).
 * Per joint: measured effort vs inverse-dynamics torque and the residual over time;
 * divergence vs horizon; per-stream jitter and latency. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"
#include "tw_core.h"


static void headline(FILE *f, const tw_replay_summary *s)
{
    /* names come from files: escaped */
    fputs("<h1>teleworld replay: ", f);
    tw_html_escape(f, s->episode_id);
    fputs("</h1><p>model <code>", f);
    tw_html_escape(f, s->model);
    fputs("</code>; status ", f);
    tw_html_escape(f, s->status);
    fprintf(f, "%s; %llu steps at %g Hz "
               "(%.2f s), %llu valid; gaps %llu; clock offset %.3f ms (%s samples); %d thread(s), %.0f steps/s</p>",
            s->partial ? " (partial)" : "", (unsigned long long)s->steps,
            s->align.rate_hz, s->duration_s, (unsigned long long)s->valid_steps, (unsigned long long)s->gaps,
            (double)s->align.clock.offset_ns * 1e-6,
            s->align.clock.nsamples ? "from clock" : "no", s->threads, s->steps_per_s);
    if (s->nflags) {
        fputs("<p>flags:", f);
        for (int i = 0; i < s->nflags; i++)
            fprintf(f, " <b>%s</b>", s->flags[i]);
        fputs("</p>", f);
    }
    fputs("<table border='1' cellpadding='3'><tr><th>joint</th><th>residual RMSE (N·m)</th>"
          "<th>bias (N·m)</th><th>effort RMS</th></tr>", f);
    for (int j = 0; j < s->nj; j++) {
        fputs("<tr><td>", f);
        tw_html_escape(f, s->joints[j]);
        fprintf(f, "</td><td>%.4g</td><td>%.4g</td><td>%.4g</td></tr>", s->rmse[j], s->bias[j], s->effort_rms[j]);
    }
    fputs("</table>", f);
    if (s->have_wrench)
        fprintf(f, "<p>wrench residual RMSE: F %.4g %.4g %.4g N, T %.4g %.4g %.4g N·m</p>", s->wrench_rmse[0],
                s->wrench_rmse[1], s->wrench_rmse[2], s->wrench_rmse[3], s->wrench_rmse[4], s->wrench_rmse[5]);
    for (int c = 0; c < s->ncam; c++) {
        fputs("<p>video ", f);
        tw_html_escape(f, s->vsync[c].name);
        fprintf(f, ": offset %s%.0f frames (%d checked, %d unreadable) ", s->vsync[c].ok ? "" : "n/a ",
                s->vsync[c].ok ? s->vsync[c].offset_frames : 0, s->vsync[c].checked, s->vsync[c].unreadable);
        tw_html_escape(f, s->vsync[c].note);
        fputs("</p>", f);
    }
}

int tw_report_html_write(const tw_replay_summary *s, const char *path, char *msg, size_t msgsz)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return tw_errf(msg, msgsz, TW_EIO, "cannot write %s", path);
    fputs("<!DOCTYPE html><html><head><meta charset='utf-8'><title>teleworld replay</title></head>"
          "<body style='font-family:sans-serif'>\n", f);
    headline(f, s);
    const tw_residual *rs = &s->series;
    double t1 = s->duration_s;
    fputs("<h2>Torque: measured vs inverse dynamics, and residual</h2>\n", f);
    for (int j = 0; j < s->nj; j++) {
        char t[128];
        tw_svg_series a[2] = {{rs->s_eff + j, (size_t)s->nj, "measured effort"},
                       {rs->s_tau + j, (size_t)s->nj, "inverse dynamics"}};
        snprintf(t, sizeof t, "%s (N·m)", s->joints[j]);
        tw_svg_lines(f, t, "s", 0, t1, a, 2, (int)rs->nbins, rs->s_cnt);
        tw_svg_series r[1] = {{rs->s_res + j, (size_t)s->nj, "residual = effort - inverse"}};
        snprintf(t, sizeof t, "%s residual (N·m)", s->joints[j]);
        tw_svg_lines(f, t, "s", 0, t1, r, 1, (int)rs->nbins, rs->s_cnt);
    }
    static const char *const hl[TW_REPLAY_NHORIZONS] = {"0.1 s", "0.5 s", "1 s", "2 s", "episode"};
    fputs("<h2>Open-loop divergence vs horizon</h2>\n", f);
    tw_svg_bars(f, "joint position RMSE", hl, s->div_q, TW_REPLAY_NHORIZONS, "rad");
    tw_svg_bars(f, "end-effector position RMSE", hl, s->div_ee, TW_REPLAY_NHORIZONS, "m");
    fputs("<h2>Streams</h2>\n", f);
    const char *names[TW_ALIGN_MAX_STREAMS];
    double jit[TW_ALIGN_MAX_STREAMS], lat[TW_ALIGN_MAX_STREAMS], cov[TW_ALIGN_MAX_STREAMS];
    int n = (int)s->align.nstreams;
    for (int k = 0; k < n; k++) {
        names[k] = s->stream_names[k];
        jit[k] = s->align.streams[k].stats.jitter_ms;
        lat[k] = s->align.streams[k].stats.latency_p95_ms;
        cov[k] = s->align.streams[k].stats.coverage * 100;
    }
    tw_svg_bars(f, "jitter (std of inter-arrival, source clock)", names, jit, n, "ms");
    tw_svg_bars(f, "latency p95 (receive - corrected source time)", names, lat, n, "ms");
    tw_svg_bars(f, "coverage of the timeline", names, cov, n, "%");
    fputs("</body></html>\n", f);
    if (fclose(f) != 0)
        return tw_errf(msg, msgsz, TW_EIO, "cannot write %s", path);
    return 0;
}
