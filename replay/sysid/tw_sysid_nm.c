/* Nelder-Mead (Nelder & Mead 1965; coefficients 1, 2, 0.5, 0.5 as in Lagarias et al. 1998) on the
 * unit box, with restarts.  Derivative-free because the residual is not smooth everywhere in the
 * parameters (friction constraints switch, force ranges clamp).  Points outside the box are clamped
 * into it; a simplex that collapses against a bound is rebuilt by the next restart, which also
 * guards against Nelder-Mead's known stalls on non-convex or degenerate valleys.  Deterministic. */
#include <math.h>
#include <string.h>

#include "tw_sysid_int.h"

#define NM_MAX (TW_SYSID_MAX_PARAMS + 1)

typedef struct {
    tw_nm_fn f;
    void *ctx;
    int n;
    const tw_nm_opts *o;
    tw_nm_stats *st;
    double x[NM_MAX][TW_SYSID_MAX_PARAMS], fx[NM_MAX];
} nm_t;

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static double nm_eval(nm_t *N, double *u)
{
    for (int k = 0; k < N->n; k++)
        u[k] = clamp01(u[k]);
    N->st->evaluations++;
    double v = N->f(N->ctx, u);
    return isnan(v) ? INFINITY : v;
}

/* Vertices ordered by value, best first (insertion sort: n <= 5; stable, so ties keep their order). */
static void nm_sort(nm_t *N)
{
    for (int i = 1; i <= N->n; i++)
        for (int j = i; j > 0 && N->fx[j] < N->fx[j - 1]; j--) {
            double t = N->fx[j], tx[TW_SYSID_MAX_PARAMS];
            N->fx[j] = N->fx[j - 1];
            N->fx[j - 1] = t;
            memcpy(tx, N->x[j], sizeof tx);
            memcpy(N->x[j], N->x[j - 1], sizeof tx);
            memcpy(N->x[j - 1], tx, sizeof tx);
        }
}

static int nm_converged(const nm_t *N)
{
    for (int i = 1; i <= N->n; i++)
        for (int k = 0; k < N->n; k++)
            if (fabs(N->x[i][k] - N->x[0][k]) > N->o->xtol)
                return 0;
    return 1;
}

/* p = c + t (c - worst) */
static void nm_line(const nm_t *N, const double *c, double t, double *p)
{
    for (int k = 0; k < N->n; k++)
        p[k] = c[k] + t * (c[k] - N->x[N->n][k]);
}

static void nm_replace_worst(nm_t *N, const double *p, double fp)
{
    memcpy(N->x[N->n], p, sizeof N->x[0]);
    N->fx[N->n] = fp;
}

/* One iteration: reflect, expand, contract or shrink. */
static void nm_iterate(nm_t *N)
{
    int n = N->n;
    double c[TW_SYSID_MAX_PARAMS] = {0}, xr[TW_SYSID_MAX_PARAMS], xt[TW_SYSID_MAX_PARAMS];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            c[k] += N->x[i][k] / n;
    nm_line(N, c, 1.0, xr);
    double fr = nm_eval(N, xr);
    if (fr < N->fx[0]) {
        nm_line(N, c, 2.0, xt);
        double fe = nm_eval(N, xt);
        if (fe < fr)
            nm_replace_worst(N, xt, fe);
        else
            nm_replace_worst(N, xr, fr);
        return;
    }
    if (fr < N->fx[n - 1]) {
        nm_replace_worst(N, xr, fr);
        return;
    }
    nm_line(N, c, fr < N->fx[n] ? 0.5 : -0.5, xt); /* outside or inside contraction */
    double fc = nm_eval(N, xt);
    if (fc < (fr < N->fx[n] ? fr : N->fx[n])) {
        nm_replace_worst(N, xt, fc);
        return;
    }
    for (int i = 1; i <= n; i++) { /* shrink towards the best */
        for (int k = 0; k < n; k++)
            N->x[i][k] = N->x[0][k] + 0.5 * (N->x[i][k] - N->x[0][k]);
        N->fx[i] = nm_eval(N, N->x[i]);
    }
}

/* Simplex around u with edge `step` (stepping inwards at the upper bound). */
static void nm_build(nm_t *N, const double *u, double fu, double step)
{
    memcpy(N->x[0], u, sizeof N->x[0]);
    N->fx[0] = fu;
    for (int i = 1; i <= N->n; i++) {
        memcpy(N->x[i], u, sizeof N->x[0]);
        int k = i - 1;
        N->x[i][k] = u[k] + step <= 1 ? u[k] + step : u[k] - step;
        N->fx[i] = nm_eval(N, N->x[i]);
    }
}

double tw_nm_minimize(tw_nm_fn f, void *ctx, int n, double *u, const tw_nm_opts *o, tw_nm_stats *st)
{
    nm_t N;
    memset(&N, 0, sizeof N);
    memset(st, 0, sizeof *st);
    N.f = f;
    N.ctx = ctx;
    N.n = n;
    N.o = o;
    N.st = st;
    double best[TW_SYSID_MAX_PARAMS] = {0};
    memcpy(best, u, sizeof(double) * (size_t)n);
    double fbest = nm_eval(&N, best);
    for (int r = 0; r <= o->restarts && st->evaluations < o->max_evals; r++) {
        nm_build(&N, best, fbest, o->step / (double)(1 << r));
        while (st->evaluations < o->max_evals) {
            nm_sort(&N);
            if (nm_converged(&N))
                break;
            nm_iterate(&N);
            st->iterations++;
            if (o->on_iter) {
                nm_sort(&N);
                o->on_iter(ctx, st->iterations, st->evaluations, N.fx[0], N.x[0]);
            }
        }
        nm_sort(&N);
        int improved = N.fx[0] < fbest - 1e-12 * fabs(fbest);
        if (N.fx[0] <= fbest) {
            fbest = N.fx[0];
            memcpy(best, N.x[0], sizeof(double) * (size_t)n);
        }
        if (r > 0)
            st->restarts++;
        if (r > 0 && !improved)
            break; /* a restart that finds nothing better: done */
    }
    memcpy(u, best, sizeof(double) * (size_t)n);
    return fbest;
}
