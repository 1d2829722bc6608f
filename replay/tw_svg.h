/* Inline SVG plots for the self-contained HTML reports (replay's report.html, gap.html). */
#ifndef TW_SVG_H
#define TW_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const double *y; /* n values, `stride` apart */
    size_t stride;
    const char *label;
} tw_svg_series;

/* A line plot of ns series over x in [x0, x1]; points with cnt[i] == 0 (cnt may be NULL) or
 * non-finite values are left out. */
void tw_svg_lines(FILE *f, const char *title, const char *xlabel, double x0, double x1, const tw_svg_series *s,
                  int ns, int n, const uint32_t *cnt);
/* Horizontal bars, one per label, with the value printed ("n/a" for non-finite values). */
void tw_svg_bars(FILE *f, const char *title, const char *const *labels, const double *v, int n, const char *unit);
/* Writes s with &, <, >, ' and " escaped. */
void tw_html_escape(FILE *f, const char *s);

#endif
