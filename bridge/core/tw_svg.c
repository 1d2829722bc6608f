/* Inline SVG plots shared by the HTML reports. */
#include "tw_core.h"

#include <math.h>

#define W 560
#define H 170
#define PAD 40

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};


static void range(const tw_svg_series *s, int ns, int n, const uint32_t *cnt, double *lo, double *hi)
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
void tw_svg_lines(FILE *f, const char *title, const char *xlabel, double x0, double x1,
                      const tw_svg_series *s, int ns, int n, const uint32_t *cnt)
{
    double lo, hi;
    range(s, ns, n, cnt, &lo, &hi);
    fprintf(f, "<svg width='%d' height='%d' xmlns='http://www.w3.org/2000/svg'>"
               "<rect x='%d' y='10' width='%d' height='%d' fill='none' stroke='#999'/>",
            W, H + 30, PAD, W - PAD - 10, H - 20);
    fprintf(f, "<text x='%d' y='9' font-size='11'>", PAD);
    tw_html_escape(f, title);
    fputs("</text>", f);
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
        fprintf(f, "'/><text x='%d' y='%d' font-size='10' fill='%s'>", PAD + 5 + 150 * k, H + 22, colors[k % 4]);
        tw_html_escape(f, s[k].label);
        fputs("</text>", f);
    }
    fputs("</svg>\n", f);
}

/* Horizontal bars, one per label, with the value printed. */
void tw_svg_bars(FILE *f, const char *title, const char *const *labels, const double *v, int n,
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
    fputs("<text x='4' y='12' font-size='11'>", f);
    tw_html_escape(f, title);
    fputs("</text>", f);
    for (int i = 0; i < n; i++) {
        double bw = isfinite(v[i]) ? (W - 260) * v[i] / hi : 0;
        fprintf(f, "<text x='4' y='%d' font-size='10'>", 30 + 18 * i);
        tw_html_escape(f, labels[i]);
        fputs("</text>", f);
        fprintf(f, "<rect x='140' y='%d' width='%.1f' height='12' fill='%s'/>", 20 + 18 * i, bw < 0 ? 0 : bw,
                colors[0]);
        if (isfinite(v[i]))
            fprintf(f, "<text x='%.1f' y='%d' font-size='10'>%.4g %s</text>", 145 + bw, 30 + 18 * i, v[i], unit);
        else
            fprintf(f, "<text x='145' y='%d' font-size='10'>n/a</text>", 30 + 18 * i);
    }
    fputs("</svg>\n", f);
}

void tw_html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '\'': fputs("&#39;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}
