/* Pure numerical pieces of alignment: interpolation, slerp, sample cleaning, the P-square
 * streaming quantile and the Savitzky-Golay differentiator. No I/O, no allocation. */
#include <math.h>
#include <string.h>

#include "tw_timeline.h"

void tw_interp_linear(const double *a, const double *b, int64_t ta, int64_t tb, int64_t t,
                      size_t n, double *out)
{
    double u = (double)(t - ta) / (double)(tb - ta);
    for (size_t k = 0; k < n; k++)
        out[k] = a[k] + u * (b[k] - a[k]);
}

void tw_quat_slerp(const double *qa, const double *qb, double u, double *out)
{
    double b[4] = {qb[0], qb[1], qb[2], qb[3]};
    double dot = qa[0] * b[0] + qa[1] * b[1] + qa[2] * b[2] + qa[3] * b[3];
    if (dot < 0) /* q and -q are the same rotation: take the short way round */
        for (int k = 0; k < 4; k++)
            b[k] = -b[k];
    /* angle from the chord lengths: accurate for small angles, where acos(dot) is not */
    double dm = 0, dp = 0;
    for (int k = 0; k < 4; k++) {
        dm += (qa[k] - b[k]) * (qa[k] - b[k]);
        dp += (qa[k] + b[k]) * (qa[k] + b[k]);
    }
    double th = 2 * atan2(sqrt(dm), sqrt(dp)), wa, wb;
    if (th < 1e-12) { /* the same rotation: lerp avoids 0/0 */
        wa = 1 - u;
        wb = u;
    } else {
        double s = sin(th);
        wa = sin((1 - u) * th) / s;
        wb = sin(u * th) / s;
    }
    double nrm = 0;
    for (int k = 0; k < 4; k++) {
        out[k] = wa * qa[k] + wb * b[k];
        nrm += out[k] * out[k];
    }
    nrm = sqrt(nrm);
    if (nrm > 0)
        for (int k = 0; k < 4; k++)
            out[k] /= nrm;
}

/* Moves row i to position j < i, shifting rows j..i-1 up by one. */
static void move_row(int64_t *t, uint64_t *seq, double *data, size_t elems, size_t i, size_t j)
{
    double tmp[TW_MAX_ELEMS];
    int64_t ti = t[i];
    uint64_t si = seq[i];
    memmove(t + j + 1, t + j, (i - j) * sizeof *t);
    memmove(seq + j + 1, seq + j, (i - j) * sizeof *seq);
    t[j] = ti;
    seq[j] = si;
    if (data && elems) {
        memcpy(tmp, data + i * elems, elems * sizeof *data);
        memmove(data + (j + 1) * elems, data + j * elems, (i - j) * elems * sizeof *data);
        memcpy(data + j * elems, tmp, elems * sizeof *data);
    }
}

size_t tw_align_clean(int64_t *t, uint64_t *seq, double *data, size_t elems, size_t n,
                      int64_t *last_t, uint64_t *last_seq, int *have_last, uint64_t *duplicates,
                      uint64_t *out_of_order)
{
    /* Count arrival-order inversions, then insertion sort (stable; O(n) when nearly sorted). */
    int64_t tmax = *have_last ? *last_t : INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < tmax)
            (*out_of_order)++;
        else
            tmax = t[i];
    }
    for (size_t i = 1; i < n; i++) {
        if (t[i] >= t[i - 1])
            continue;
        size_t j = i;
        while (j > 0 && t[j - 1] > t[i])
            j--;
        move_row(t, seq, data, elems, i, j);
    }
    /* Keep only samples strictly later than the last kept one. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (*have_last && (t[i] == *last_t || seq[i] == *last_seq)) {
            (*duplicates)++;
            continue;
        }
        if (*have_last && t[i] < *last_t)
            continue; /* late beyond this chunk: already counted as out of order; dropped */
        if (k != i) {
            t[k] = t[i];
            seq[k] = seq[i];
            if (data && elems)
                memmove(data + k * elems, data + i * elems, elems * sizeof *data);
        }
        *last_t = t[i];
        *last_seq = seq[i];
        *have_last = 1;
        k++;
    }
    return k;
}

/* ---- P-square quantile ---- */
void tw_p2_init(tw_p2 *s, double p)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    double dn[5] = {0, p / 2, p, (1 + p) / 2, 1};
    for (int i = 0; i < 5; i++) {
        s->n[i] = i;
        s->np[i] = 4 * dn[i];
        s->dn[i] = dn[i];
    }
}

static double p2_parabolic(const tw_p2 *s, int i, double d)
{
    const double *q = s->q;
    const int *n = s->n;
    return q[i] + d / (n[i + 1] - n[i - 1]) *
                      ((n[i] - n[i - 1] + d) * (q[i + 1] - q[i]) / (n[i + 1] - n[i]) +
                       (n[i + 1] - n[i] - d) * (q[i] - q[i - 1]) / (n[i] - n[i - 1]));
}

void tw_p2_add(tw_p2 *s, double x)
{
    if (s->count < 5) {
        s->q[s->count++] = x;
        if (s->count == 5) /* sort the first five */
            for (int i = 1; i < 5; i++)
                for (int j = i; j > 0 && s->q[j - 1] > s->q[j]; j--) {
                    double t = s->q[j];
                    s->q[j] = s->q[j - 1];
                    s->q[j - 1] = t;
                }
        return;
    }
    s->count++;
    int k;
    if (x < s->q[0]) {
        s->q[0] = x;
        k = 0;
    } else if (x >= s->q[4]) {
        s->q[4] = x;
        k = 3;
    } else {
        for (k = 0; k < 3 && x >= s->q[k + 1]; k++)
            ;
    }
    for (int i = k + 1; i < 5; i++)
        s->n[i]++;
    for (int i = 0; i < 5; i++)
        s->np[i] += s->dn[i];
    for (int i = 1; i < 4; i++) {
        double d = s->np[i] - s->n[i];
        if ((d >= 1 && s->n[i + 1] - s->n[i] > 1) || (d <= -1 && s->n[i - 1] - s->n[i] < -1)) {
            int ds = d > 0 ? 1 : -1;
            double qn = p2_parabolic(s, i, ds);
            if (!(s->q[i - 1] < qn && qn < s->q[i + 1])) /* fall back to linear */
                qn = s->q[i] + ds * (s->q[i + ds] - s->q[i]) / (s->n[i + ds] - s->n[i]);
            s->q[i] = qn;
            s->n[i] += ds;
        }
    }
}

double tw_p2_get(const tw_p2 *s)
{
    if (s->count == 0)
        return 0;
    if (s->count < 5) { /* exact on the few values seen (nearest rank) */
        double v[5];
        int c = (int)s->count;
        memcpy(v, s->q, sizeof v);
        for (int i = 1; i < c; i++)
            for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
                double t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        int r = (int)ceil(s->p * c) - 1;
        return v[r < 0 ? 0 : r];
    }
    return s->q[2];
}

/* ---- Savitzky-Golay derivative ---- */
static int row_ok(const uint8_t *q, uint32_t nrows, int64_t r)
{
    return r >= 0 && r < (int64_t)nrows && !(q && (q[r] & TW_Q_INVALID));
}

unsigned tw_sg_derivative(const double *x, size_t stride, const uint8_t *q, uint32_t nrows, size_t n,
                          uint32_t r, uint32_t h, double dt, double *out)
{
    uint32_t w = 0; /* widest symmetric window whose rows are all valid */
    while (w < h && row_ok(q, nrows, (int64_t)r - w - 1) && row_ok(q, nrows, (int64_t)r + w + 1))
        w++;
    if (w > 0) {
        /* quadratic SG first derivative: c_j = 3 j / (w (w+1) (2w+1)) / dt */
        double norm = 3.0 / ((double)w * (w + 1) * (2 * w + 1) * dt);
        for (size_t k = 0; k < n; k++) {
            double acc = 0;
            for (uint32_t j = 1; j <= w; j++)
                acc += j * (x[(r + j) * stride + k] - x[(r - j) * stride + k]);
            out[k] = acc * norm;
        }
        return w < h ? TW_Q_EDGE : 0;
    }
    int64_t a = r, b = r; /* one-sided difference with whichever neighbour is valid */
    if (row_ok(q, nrows, (int64_t)r + 1))
        b = r + 1;
    else if (row_ok(q, nrows, (int64_t)r - 1))
        a = (int64_t)r - 1;
    for (size_t k = 0; k < n; k++)
        out[k] = a == b ? 0 : (x[b * stride + k] - x[a * stride + k]) / dt;
    return TW_Q_EDGE;
}
