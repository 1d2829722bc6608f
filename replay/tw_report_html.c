/* report.html: one self-contained page with inline SVG plots (no scripts, no external files).
 * Per joint: measured effort vs inverse-dynamics torque and the residual over time;
 * divergence vs horizon; per-stream jitter and latency. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"

#define W 560
#define H 170
#define PAD 40

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

typedef struct {
    const double *y; /* n values, `stride` apart */
    size_t stride;
    const char *label;
} series;

static void range(const series *s, int ns, int n, const uint32_t *cnt, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < n; i++) {
            double v = s[k].y[(size_t)i * s[k].stride];
            if ((cnt && !cnt[i]) || !isfinite(v))
                continue;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    if (!(*lo <= *hi))
        *lo = *hi = 0;
    if (*hi - *lo < 1e-12) {
        *lo -= 1;
        *hi += 1;
    }
}

/* A line plot of ns series over x in [x0, x1]; points with cnt[i] == 0 are left out. */
static void svg_lines(FILE *f, const char *title, const char *xlabel, double x0, double x1,
                      const series *s, int ns, int n, const uint32_t *cnt)
{
    double lo, hi;
    range(s, ns, n, cnt, &lo, &hi);
    fprintf(f, "<svg width='%d' height='%d' xmlns='http://www.w3.org/2000/svg'>"
               "<rect x='%d' y='10' width='%d' height='%d' fill='none' stroke='#999'/>",
            W, H + 30, PAD, W - PAD - 10, H - 20);
    fprintf(f, "<text x='%d' y='9' font-size='11'>%s</text>", PAD, title);
    fprintf(f, "<text x='2' y='20' font-size='9'>%.3g</text><text x='2' y='%d' font-size='9'>%.3g</text>",
            hi, H - 10, lo);
    fprintf(f, "<text x='%d' y='%d' font-size='9'>%.3g</text><text x='%d' y='%d' font-size='9'>%.3g %s</text>",
            PAD, H + 2, x0, W - 90, H + 2, x1, xlabel);
    if (lo < 0 && hi > 0) {
        double yz = 10 + (H - 20) * (hi - 0) / (hi - lo);
        fprintf(f, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#ccc'/>", PAD, W - 10, yz, yz);
    }
    for (int k = 0; k < ns; k++) {
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.2' points='", colors[k % 4]);
        for (int i = 0; i < n; i++) {
            double v = s[k].y[(size_t)i * s[k].stride];
            if ((cnt && !cnt[i]) || !isfinite(v))
                continue;
            double px = PAD + (W - PAD - 10) * (n > 1 ? (double)i / (n - 1) : 0.5);
            double py = 10 + (H - 20) * (hi - v) / (hi - lo);
            fprintf(f, "%.1f,%.1f ", px, py);
        }
        fprintf(f, "'/><text x='%d' y='%d' font-size='10' fill='%s'>%s</text>", PAD + 5 + 150 * k, H + 22,
                colors[k % 4], s[k].label);
    }
    fputs("</svg>\n", f);
}

/* Horizontal bars, one per label, with the value printed. */
static void svg_bars(FILE *f, const char *title, const char *const *labels, const double *v, int n,
                     const char *unit)
{
    double hi = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] > hi)
            hi = v[i];
    if (hi <= 0)
        hi = 1;
    int h = 24 + 18 * n;
    fprintf(f, "<svg width='%d' height='%d' xmlns='http://www.w3.org/2000/svg'>", W, h);
    fprintf(f, "<text x='4' y='12' font-size='11'>%s</text>", title);
    for (int i = 0; i < n; i++) {
        double bw = isfinite(v[i]) ? (W - 260) * v[i] / hi : 0;
        fprintf(f, "<text x='4' y='%d' font-size='10'>%s</text>", 30 + 18 * i, labels[i]);
        fprintf(f, "<rect x='140' y='%d' width='%.1f' height='12' fill='%s'/>", 20 + 18 * i, bw < 0 ? 0 : bw,
                colors[0]);
        if (isfinite(v[i]))
            fprintf(f, "<text x='%.1f' y='%d' font-size='10'>%.4g %s</text>", 145 + bw, 30 + 18 * i, v[i], unit);
        else
            fprintf(f, "<text x='145' y='%d' font-size='10'>n/a</text>", 30 + 18 * i);
    }
    fputs("</svg>\n", f);
}

static void headline(FILE *f, const tw_replay_summary *s)
{
    fprintf(f, "<h1>teleworld replay: %s</h1><p>model <code>%s</code>; status %s%s; %llu steps at %g Hz "
               "(%.2f s), %llu valid; gaps %llu; clock offset %.3f ms (%s samples); %d thread(s), %.0f steps/s</p>",
            s->episode_id, s->model, s->status, s->partial ? " (partial)" : "", (unsigned long long)s->steps,
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
    for (int j = 0; j < s->nj; j++)
        fprintf(f, "<tr><td>%s</td><td>%.4g</td><td>%.4g</td><td>%.4g</td></tr>", s->joints[j], s->rmse[j],
                s->bias[j], s->effort_rms[j]);
    fputs("</table>", f);
    if (s->have_wrench)
        fprintf(f, "<p>wrench residual RMSE: F %.4g %.4g %.4g N, T %.4g %.4g %.4g N·m</p>", s->wrench_rmse[0],
                s->wrench_rmse[1], s->wrench_rmse[2], s->wrench_rmse[3], s->wrench_rmse[4], s->wrench_rmse[5]);
    for (int c = 0; c < s->ncam; c++)
        fprintf(f, "<p>video %s: offset %s%.0f frames (%d checked, %d unreadable) %s</p>", s->vsync[c].name,
                s->vsync[c].ok ? "" : "n/a ", s->vsync[c].ok ? s->vsync[c].offset_frames : 0,
                s->vsync[c].checked, s->vsync[c].unreadable, s->vsync[c].note);
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
        series a[2] = {{rs->s_eff + j, (size_t)s->nj, "measured effort"},
                       {rs->s_tau + j, (size_t)s->nj, "inverse dynamics"}};
        snprintf(t, sizeof t, "%s (N·m)", s->joints[j]);
        svg_lines(f, t, "s", 0, t1, a, 2, (int)rs->nbins, rs->s_cnt);
        series r[1] = {{rs->s_res + j, (size_t)s->nj, "residual = effort - inverse"}};
        snprintf(t, sizeof t, "%s residual (N·m)", s->joints[j]);
        svg_lines(f, t, "s", 0, t1, r, 1, (int)rs->nbins, rs->s_cnt);
    }
    static const char *const hl[TW_REPLAY_NHORIZONS] = {"0.1 s", "0.5 s", "1 s", "2 s", "episode"};
    fputs("<h2>Open-loop divergence vs horizon</h2>\n", f);
    svg_bars(f, "joint position RMSE", hl, s->div_q, TW_REPLAY_NHORIZONS, "rad");
    svg_bars(f, "end-effector position RMSE", hl, s->div_ee, TW_REPLAY_NHORIZONS, "m");
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
    svg_bars(f, "jitter (std of inter-arrival, source clock)", names, jit, n, "ms");
    svg_bars(f, "latency p95 (receive - corrected source time)", names, lat, n, "ms");
    svg_bars(f, "coverage of the timeline", names, cov, n, "%");
    fputs("</body></html>\n", f);
    if (fclose(f) != 0)
        return tw_errf(msg, msgsz, TW_EIO, "cannot write %s", path);
    return 0;
}
