/* Uncertainty of the fitted parameters.
 *
 * The estimate minimises S(theta) = sum_e (w_e r_e(theta))^2.  Linearised at the optimum
 * (Gauss-Newton), theta_hat - theta_0 ~= -A^-1 g with A = sum_e w_e^2 J_e J_e^T and the score
 * g = sum_i s_i, s_i = sum_{e in step i} w_e^2 r_e J_e, so Cov = A^-1 Var(g) A^-1 (the sandwich:
 * right whatever the weights, which are scales, not inverse noise variances).  The plain
 * sigma^2 (J^T J)^-1 would assume independent residuals, but consecutive timesteps share the
 * smooth trajectory and any unmodelled effect (qacc error, latency): their residuals are strongly
 * correlated, and ignoring it understates the std by about the square root of the correlation
 * length.  Var(g) is therefore the Newey-West (1987) HAC estimate over the time-ordered scores of
 * each segment, Bartlett weights 1 - l/(L+1), with the bandwidth L where the scores' autocorrelation
 * has fallen below 0.1 (at least the usual 4 (n/100)^(2/9)).  The effort noise is common to the
 * actuator and inverse blocks, which is why the score is summed per step before the time average.
 * A block bootstrap would need a refit per replicate (hundreds of evaluations each): too slow here.
 * J comes from central finite differences of the residual (one-sided at a bound). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_sysid_int.h"

#define P TW_SYSID_MAX_PARAMS
#define MAX_LAG 400

/* J[e * p + k] = d r_e / d theta_k */
static int jacobian(tw_sysid_ctx *c, const double *theta, double *J, double *rp, double *rm, char *msg,
                    size_t msgsz)
{
    int p = c->o->nparam;
    size_t ne = c->sd->n * (size_t)c->nch;
    for (int k = 0; k < p; k++) {
        const tw_sysid_param *pa = &c->o->param[k];
        double h = 1e-3 * (pa->hi - pa->lo), tp[P], tm[P];
        if (h <= 0)
            h = 1e-6;
        memcpy(tp, theta, sizeof tp);
        memcpy(tm, theta, sizeof tm);
        tp[k] = theta[k] + h <= pa->hi ? theta[k] + h : theta[k];
        tm[k] = theta[k] - h >= pa->lo ? theta[k] - h : theta[k];
        if (tp[k] == tm[k]) { /* a box thinner than 2h: nothing to differentiate */
            for (size_t e = 0; e < ne; e++)
                J[e * p + k] = 0;
            continue;
        }
        int rc = tw_sysid_residual(c, tp, rp, msg, msgsz);
        if (rc == 0)
            rc = tw_sysid_residual(c, tm, rm, msg, msgsz);
        if (rc < 0)
            return rc;
        for (size_t e = 0; e < ne; e++)
            J[e * p + k] = (rp[e] - rm[e]) / (tp[k] - tm[k]);
    }
    return 0;
}

/* Per-step scores s[i * p + k] and the information A (p x p). */
static void scores(const tw_sysid_ctx *c, const double *r, const double *J, double *s, double *A)
{
    int p = c->o->nparam;
    memset(A, 0, sizeof(double) * P * P);
    for (size_t i = 0; i < c->sd->n; i++) {
        double *si = s + i * p;
        memset(si, 0, sizeof(double) * (size_t)p);
        for (int ch = 0; ch < c->nch; ch++) {
            size_t e = i * (size_t)c->nch + (size_t)ch;
            if (!c->valid[e])
                continue;
            double w2 = c->w[ch] * c->w[ch];
            const double *Je = J + e * p;
            for (int a = 0; a < p; a++) {
                si[a] += w2 * r[e] * Je[a];
                for (int b = 0; b < p; b++)
                    A[a * P + b] += w2 * Je[a] * Je[b];
            }
        }
    }
}

/* sum over pairs (i, i+l) inside one segment of s_i[a] s_{i+l}[b] */
static double lag_sum(const tw_sysid_ctx *c, const double *s, int l, int a, int b)
{
    int p = c->o->nparam;
    double acc = 0;
    for (size_t i = 0; i + (size_t)l < c->sd->n; i++)
        if (c->sd->s[i].segment == c->sd->s[i + (size_t)l].segment)
            acc += s[i * p + a] * s[(i + (size_t)l) * p + b];
    return acc;
}

static int bandwidth(const tw_sysid_ctx *c, const double *s)
{
    int p = c->o->nparam, L = (int)ceil(4 * pow((double)c->sd->n / 100.0, 2.0 / 9.0));
    int lmax = (int)(c->sd->n / 4) < MAX_LAG ? (int)(c->sd->n / 4) : MAX_LAG;
    for (int k = 0; k < p; k++) {
        double v0 = lag_sum(c, s, 0, k, k);
        int l = 1;
        while (v0 > 0 && l < lmax && lag_sum(c, s, l, k, k) / v0 >= 0.1)
            l++;
        if (l > L)
            L = l;
    }
    return L < 1 ? 1 : L > lmax && lmax >= 1 ? lmax : L;
}

/* In-place inverse of the symmetric positive definite n x n (stride P) matrix; -1 if singular. */
static int spd_inverse(double *A, int n)
{
    double M[P][2 * P];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2 * n; j++)
            M[i][j] = j < n ? A[i * P + j] : (j - n == i);
    for (int col = 0; col < n; col++) {
        int piv = col;
        for (int i = col + 1; i < n; i++)
            if (fabs(M[i][col]) > fabs(M[piv][col]))
                piv = i;
        if (!(fabs(M[piv][col]) > 1e-300))
            return -1;
        for (int j = 0; j < 2 * n; j++) {
            double t = M[col][j];
            M[col][j] = M[piv][j];
            M[piv][j] = t;
        }
        double d = M[col][col];
        for (int j = 0; j < 2 * n; j++)
            M[col][j] /= d;
        for (int i = 0; i < n; i++)
            if (i != col) {
                double f = M[i][col];
                for (int j = 0; j < 2 * n; j++)
                    M[i][j] -= f * M[col][j];
            }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            A[i * P + j] = M[i][n + j];
    return 0;
}

/* Sandwich on the identifiable parameters (those that move the residual at all). */
static void sandwich(const tw_sysid_ctx *c, const double *s, const double *A, int L, double *std)
{
    int p = c->o->nparam, id[P], m = 0;
    double Ai[P * P] = {0}, B[P * P] = {0};
    for (int k = 0; k < p; k++) {
        std[k] = NAN;
        if (A[k * P + k] > 0)
            id[m++] = k;
    }
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            Ai[a * P + b] = A[id[a] * P + id[b]];
            double v = lag_sum(c, s, 0, id[a], id[b]);
            for (int l = 1; l <= L; l++)
                v += (1.0 - l / (L + 1.0)) * (lag_sum(c, s, l, id[a], id[b]) + lag_sum(c, s, l, id[b], id[a]));
            B[a * P + b] = v;
        }
    if (m == 0 || spd_inverse(Ai, m) < 0)
        return;
    for (int a = 0; a < m; a++) {
        double v = 0;
        for (int x = 0; x < m; x++)
            for (int y = 0; y < m; y++)
                v += Ai[a * P + x] * B[x * P + y] * Ai[y * P + a];
        std[id[a]] = sqrt(v > 0 ? v : 0);
    }
}

int tw_sysid_uncertainty(tw_sysid_ctx *c, const double *theta, double *std, int *lags, char *msg, size_t msgsz)
{
    int p = c->o->nparam;
    size_t ne = c->sd->n * (size_t)c->nch;
    double *r = malloc(ne * sizeof(double)), *rp = malloc(ne * sizeof(double)), *rm = malloc(ne * sizeof(double));
    double *J = malloc(ne * (size_t)p * sizeof(double)), *s = malloc(c->sd->n * (size_t)p * sizeof(double));
    double A[P * P];
    int rc = r && rp && rm && J && s ? 0 : tw_errf(msg, msgsz, TW_ENOMEM, "sysid: no memory for the Jacobian");
    if (rc == 0)
        rc = tw_sysid_residual(c, theta, r, msg, msgsz);
    if (rc == 0)
        rc = jacobian(c, theta, J, rp, rm, msg, msgsz);
    if (rc == 0) {
        scores(c, r, J, s, A);
        *lags = bandwidth(c, s);
        sandwich(c, s, A, *lags, std);
    }
    free(r);
    free(rp);
    free(rm);
    free(J);
    free(s);
    return rc;
}
