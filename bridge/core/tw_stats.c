/* Streaming per-element statistics. Rows are added with Welford's update; partials (one per shard)
 * are merged with Chan et al.'s pairwise formula, which is exact in real arithmetic for any order;
 * fuse merges in shard order so the floating-point result is also the same for any rank count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_core.h"

int tw_stat_init(tw_stat *s, size_t dim)
{
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->mean = calloc(4 * (dim ? dim : 1), sizeof(double));
    if (!s->mean)
        return TW_ENOMEM;
    s->m2 = s->mean + dim;
    s->min = s->m2 + dim;
    s->max = s->min + dim;
    tw_stat_reset(s);
    return 0;
}

void tw_stat_free(tw_stat *s)
{
    if (s) {
        free(s->mean);
        memset(s, 0, sizeof *s);
    }
}

void tw_stat_reset(tw_stat *s)
{
    s->count = 0;
    for (size_t j = 0; j < s->dim; j++) {
        s->mean[j] = s->m2[j] = 0;
        s->min[j] = INFINITY;
        s->max[j] = -INFINITY;
    }
}

/* Welford update of element j with the row count n already advanced. */
static inline void update(tw_stat *s, size_t j, double x, double n)
{
    tw_welford_step(&s->mean[j], &s->m2[j], n, x);
    if (x < s->min[j])
        s->min[j] = x;
    if (x > s->max[j])
        s->max[j] = x;
}

void tw_stat_add_f64(tw_stat *s, const double *x)
{
    double n = (double)++s->count;
    for (size_t j = 0; j < s->dim; j++)
        update(s, j, x[j], n);
}

void tw_stat_add_f32(tw_stat *s, const float *x)
{
    double n = (double)++s->count;
    for (size_t j = 0; j < s->dim; j++)
        update(s, j, (double)x[j], n);
}

void tw_stat_merge(tw_stat *a, const tw_stat *b)
{
    if (b->count == 0)
        return;
    if (a->count == 0) {
        a->count = b->count;
        memcpy(a->mean, b->mean, 4 * a->dim * sizeof(double));
        return;
    }
    double na = (double)a->count, nb = (double)b->count, n = na + nb;
    for (size_t j = 0; j < a->dim; j++) {
        double d = b->mean[j] - a->mean[j];
        a->mean[j] += d * (nb / n);
        a->m2[j] += b->m2[j] + d * d * (na * nb / n);
        if (b->min[j] < a->min[j])
            a->min[j] = b->min[j];
        if (b->max[j] > a->max[j])
            a->max[j] = b->max[j];
    }
    a->count += b->count;
}

double tw_stat_std(const tw_stat *s, size_t j)
{
    return s->count ? sqrt(s->m2[j] / (double)s->count) : 0.0;
}

size_t tw_stat_ndoubles(const tw_stat *s)
{
    return 1 + 4 * s->dim;
}

void tw_stat_pack(const tw_stat *s, double *out)
{
    out[0] = (double)s->count;
    memcpy(out + 1, s->mean, 4 * s->dim * sizeof(double));
}

void tw_stat_unpack(tw_stat *s, const double *in)
{
    s->count = (uint64_t)in[0];
    memcpy(s->mean, in + 1, 4 * s->dim * sizeof(double));
}
