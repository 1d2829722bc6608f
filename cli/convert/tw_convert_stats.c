/* LeRobot's feature statistics (lerobot/datasets/compute_stats.py), so that an exported meta/stats.json and the
 * per-episode stats/ columns hold what LeRobot itself would compute: per episode, RunningQuantileStats fed the
 * whole episode as one batch (min, max, mean, std from mean of squares, a 5000-bin histogram per element between
 * min - 1e-10 and max + 1e-10, quantiles by linear interpolation inside the bin); over the dataset,
 * aggregate_feature_stats (count-weighted mean and pooled variance; quantiles as count-weighted means). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_convert_episodes.h"

#define NBINS 5000

const double cv_quantiles[CV_NQ] = {0.01, 0.10, 0.50, 0.90, 0.99};
const char *const cv_qnames[CV_NQ] = {"q01", "q10", "q50", "q90", "q99"};

static int stats_alloc(cv_stats *s, size_t dim)
{
    memset(s, 0, sizeof *s);
    double *b = calloc((4 + CV_NQ) * (dim ? dim : 1), sizeof *b);
    if (!b)
        return TW_ENOMEM;
    s->dim = dim;
    s->min = b, s->max = b + dim, s->mean = b + 2 * dim, s->std = b + 3 * dim;
    for (int k = 0; k < CV_NQ; k++)
        s->q[k] = b + (4 + (size_t)k) * dim;
    return 0;
}

void cv_stats_free(cv_stats *s)
{
    if (s && s->min)
        free(s->min);
    if (s)
        memset(s, 0, sizeof *s);
}

/* np.histogram on np.linspace(lo, hi, NBINS + 1) edges: bin by arithmetic, then fix against the edges. */
static void histogram(const double *x, size_t rows, size_t dim, size_t j, double lo, double hi, double *edges,
                      double *hist)
{
    double step = (hi - lo) / NBINS;
    for (int b = 0; b <= NBINS; b++)
        edges[b] = b == NBINS ? hi : lo + b * step;
    memset(hist, 0, NBINS * sizeof *hist);
    for (size_t r = 0; r < rows; r++) {
        double v = x[r * dim + j];
        if (!(v >= lo && v <= hi))
            continue;
        long b = (long)((v - lo) / (hi - lo) * NBINS);
        if (b >= NBINS)
            b = NBINS - 1;
        if (b < 0)
            b = 0;
        if (v < edges[b])
            b--;
        else if (b < NBINS - 1 && v >= edges[b + 1])
            b++;
        hist[b] += 1;
    }
}

static double quantile(const double *hist, const double *edges, double target)
{
    double cum = 0, before = 0;
    int idx = 0;
    for (; idx < NBINS; idx++) { /* np.searchsorted(cumsum, target), side left */
        before = cum;
        cum += hist[idx];
        if (cum >= target)
            break;
    }
    if (idx == 0)
        return edges[0];
    if (idx >= NBINS)
        return edges[NBINS];
    double in_bin = cum - before;
    if (in_bin == 0)
        return edges[idx];
    return edges[idx] + (target - before) / in_bin * (edges[idx + 1] - edges[idx]);
}

int cv_stats_compute(cv_stats *s, const double *x, size_t rows, size_t dim)
{
    int rc = stats_alloc(s, dim);
    if (rc)
        return rc;
    s->count = rows;
    double *edges = malloc((NBINS + 1) * sizeof *edges), *hist = malloc(NBINS * sizeof *hist);
    if (!edges || !hist) {
        free(edges), free(hist), cv_stats_free(s);
        return TW_ENOMEM;
    }
    for (size_t j = 0; j < dim; j++) {
        double mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0;
        for (size_t r = 0; r < rows; r++) {
            double v = x[r * dim + j];
            mn = v < mn ? v : mn, mx = v > mx ? v : mx;
            sum += v, sq += v * v;
        }
        double mean = rows ? sum / (double)rows : 0, var = rows ? sq / (double)rows - mean * mean : 0;
        s->min[j] = mn, s->max[j] = mx, s->mean[j] = mean, s->std[j] = sqrt(var > 0 ? var : 0);
        if (rows < 2) { /* _compute_basic_stats: quantiles are the mean */
            for (int k = 0; k < CV_NQ; k++)
                s->q[k][j] = mean;
            continue;
        }
        histogram(x, rows, dim, j, mn - 1e-10, mx + 1e-10, edges, hist);
        for (int k = 0; k < CV_NQ; k++)
            s->q[k][j] = quantile(hist, edges, cv_quantiles[k] * (double)rows);
    }
    free(edges), free(hist);
    return 0;
}

int cv_stats_aggregate(cv_stats *out, const cv_stats *parts, size_t n)
{
    size_t dim = n ? parts[0].dim : 0;
    int rc = stats_alloc(out, dim);
    if (rc || !n)
        return rc;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].count;
    out->count = total;
    for (size_t j = 0; j < dim; j++) {
        double mn = INFINITY, mx = -INFINITY, mean = 0, var = 0, q[CV_NQ] = {0};
        for (size_t i = 0; i < n; i++) {
            double c = (double)parts[i].count;
            mn = parts[i].min[j] < mn ? parts[i].min[j] : mn;
            mx = parts[i].max[j] > mx ? parts[i].max[j] : mx;
            mean += parts[i].mean[j] * c;
            for (int k = 0; k < CV_NQ; k++)
                q[k] += parts[i].q[k][j] * c;
        }
        mean = total ? mean / (double)total : 0;
        for (size_t i = 0; i < n; i++) {
            double d = parts[i].mean[j] - mean;
            var += (parts[i].std[j] * parts[i].std[j] + d * d) * (double)parts[i].count;
        }
        out->min[j] = mn, out->max[j] = mx, out->mean[j] = mean;
        out->std[j] = total ? sqrt(var / (double)total) : 0;
        for (int k = 0; k < CV_NQ; k++)
            out->q[k][j] = total ? q[k] / (double)total : 0;
    }
    return 0;
}
