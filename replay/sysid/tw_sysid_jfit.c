/* Per-joint least squares (tw_sysid.h, "per-joint identification"): regressors, the moving-average
 * filter, identifiability, bounded least squares, block bootstrap and the residuals before/after. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon.h"
#include "tw_sysid_int.h"

#define VIF_MIN 1e-3 /* a regressor with less than 0.1 % of its norm outside the others' span */
#define MAXP (TW_SJ_NPAR * TW_ROBOT_MAX_JOINTS + 1)

const char *const tw_sysid_jparam_names[TW_SJ_NPAR] = {"armature", "damping", "frictionloss", "effort_offset"};

void tw_sysid_joint_opts_init(tw_sysid_joint_opts *o)
{
    memset(o, 0, sizeof *o);
    o->validate = 0.3;
    o->friction_eps = 0.005;
    o->qacc_discrete = -1;
    o->sg_window_ms = 50;
    o->filter_ms = 50;
    o->bootstrap = 200;
    o->block_s = 1;
    o->seed = 1;
    o->min_qvel_rms = 0.01;
    o->stick_qvel = 0.02;
    o->max_rows = 500000;
}

void tw_sysid_jfit_free(tw_sysid_jfit *f)
{
    if (!f)
        return;
    free(f->seg), free(f->part), free(f->ok), free(f->valid);
    free(f->qpos), free(f->qvel), free(f->qacc), free(f->effort);
    free(f->tau0), free(f->taunom), free(f->gpay), free(f->obj), free(f->obj_ok);
    if (f->d)
        mj_deleteData(f->d);
    tw_robot_close(f->stripped);
    tw_robot_close(f->nominal);
    free(f);
}

int tw_sysid_jfit_open(const char *const *dirs, size_t ndirs, const tw_sysid_joint_opts *o, tw_sysid_jfit **out,
                       char *msg, size_t msgsz)
{
    *out = NULL;
    if (!ndirs)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: no episode");
    if (!(o->validate >= 0 && o->validate < 1) || !(o->friction_eps > 0) || o->bootstrap < 0 || !(o->block_s > 0))
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: validate must be in [0, 1), friction eps and block > 0");
    tw_mj_init();
    tw_sysid_jfit *f = calloc(1, sizeof *f);
    if (!f)
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid");
    f->o = *o;
    tw_perturb none;
    tw_perturb_none(&none);
    double t0 = tw_mono_s();
    int rc = tw_robot_load(o->model_path, &f->nominal, msg, msgsz);
    f->load_s = tw_mono_s() - t0;
    if (rc == 0)
        rc = tw_robot_perturbed(f->nominal, &none, &f->stripped, msg, msgsz);
    if (rc == 0 && !(f->d = tw_mj_make_data(f->nominal->m, msg, msgsz)))
        rc = TW_EMUJOCO;
    if (rc == 0) {
        f->nj = f->nominal->njoint;
        f->na = f->nominal->narm;
        f->h = f->nominal->m->opt.timestep;
        tw_recon_effort_offset(f->nominal, f->offset_nom);
        mjModel *m = f->stripped->m;
        for (int j = 0; j < f->na; j++) {
            int v = f->stripped->vadr[j];
            m->dof_armature[v] = m->dof_damping[v] = m->dof_frictionloss[v] = 0;
        }
        rc = tw_sysid_jrows_read(f, dirs, ndirs, msg, msgsz);
    }
    if (rc < 0) {
        tw_sysid_jfit_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* ---- regressors ---- */
static int npar(const tw_sysid_jfit *f) { return TW_SJ_NPAR * f->na + (f->o.payload ? 1 : 0); }

/* Equation (row i, joint j): y and the non-zero regressors x[k] of parameters idx[k]; returns their count. */
static int equation(const tw_sysid_jfit *f, size_t i, int j, double *y, double *x, int *idx)
{
    size_t nj = (size_t)f->nj, na = (size_t)f->na;
    double v = f->qvel[i * nj + j], a = f->qacc[i * nj + j];
    int disc_damp = f->discrete && f->nominal->m->opt.integrator != mjINT_RK4;
    *y = f->effort[i * nj + j] - f->tau0[i * na + j];
    int b = TW_SJ_NPAR * j;
    x[0] = a, idx[0] = b + TW_SJ_ARMATURE;
    x[1] = v + (disc_damp ? f->h * a : 0), idx[1] = b + TW_SJ_DAMPING;
    x[2] = tanh(v / f->o.friction_eps), idx[2] = b + TW_SJ_FRICTION;
    x[3] = 1, idx[3] = b + TW_SJ_OFFSET;
    if (!f->gpay)
        return 4;
    x[4] = f->gpay[i * na + j], idx[4] = TW_SJ_NPAR * f->na;
    return 5;
}

/* Moving average of the equation over rows i-F..i+F (all ok, same episode and part); 0 if cut. */
static int filtered(const tw_sysid_jfit *f, size_t i, int j, uint32_t F, double *y, double *x, int *idx)
{
    if (i < F || i + F >= f->n)
        return 0;
    double vmin = f->moving[j] ? f->o.stick_qvel : 0; /* a still joint: its offset alone, from every row */
    for (size_t r = i - F; r <= i + F; r++)
        if (!f->ok[r] || f->seg[r] != f->seg[i] || f->part[r] != f->part[i] ||
            !(fabs(f->qvel[r * f->nj + j]) >= vmin) || (vmin > 0 && f->qvel[r * f->nj + j] * f->qvel[i * f->nj + j] < 0))
            return 0; /* cut, or the joint sticks or reverses inside the window: Coulomb friction is no function
                         of qdot there (stiction), so these equations would bend damping and friction */
    double yy, xx[5];
    int n = equation(f, i, j, y, x, idx);
    for (size_t r = i - F; r <= i + F; r++) {
        if (r == i)
            continue;
        equation(f, r, j, &yy, xx, idx);
        *y += yy;
        for (int k = 0; k < n; k++)
            x[k] += xx[k];
    }
    double w = 1.0 / (2 * F + 1);
    *y *= w;
    for (int k = 0; k < n; k++)
        x[k] *= w;
    return n;
}

/* ---- bounded least squares on normal equations ---- */
static int lower_bounded(const tw_sysid_jfit *f, int p) { return p >= TW_SJ_NPAR * f->na || p % TW_SJ_NPAR != TW_SJ_OFFSET; }

/* Solves A_SS x = b_S on the index set S (n of them) by Cholesky, a tiny relative ridge keeping it
 * definite; x[S] written, the rest untouched. */
static void solve_set(const double *A, const double *b, int P, const int *S, int n, double *x)
{
    double L[MAXP * MAXP], y[MAXP];
    for (int r = 0; r < n; r++)
        for (int c = 0; c <= r; c++) {
            double v = A[S[r] * P + S[c]] + (r == c ? 1e-12 * A[S[r] * P + S[r]] + 1e-300 : 0);
            for (int k = 0; k < c; k++)
                v -= L[r * n + k] * L[c * n + k];
            L[r * n + c] = r == c ? sqrt(v > 0 ? v : 1e-300) : v / L[c * n + c];
        }
    for (int r = 0; r < n; r++) {
        double v = b[S[r]];
        for (int k = 0; k < r; k++)
            v -= L[r * n + k] * y[k];
        y[r] = v / L[r * n + r];
    }
    for (int r = n - 1; r >= 0; r--) {
        double v = y[r];
        for (int k = r + 1; k < n; k++)
            v -= L[k * n + r] * x[S[k]];
        x[S[r]] = v / L[r * n + r];
    }
}

/* min 1/2 t'At - b't over the free parameters, >= 0 where bounded: Lawson-Hanson active set on the
 * normal equations (exact; deterministic; bounded parameters start at 0, unbounded ones free). */
static void solve(const tw_sysid_jfit *f, const double *A, const double *b, const uint8_t *free_, double *t)
{
    int P = npar(f), S[MAXP], n = 0;
    uint8_t in[MAXP] = {0};
    double s[MAXP];
    for (int p = 0; p < P; p++)
        if (free_[p]) {
            t[p] = 0;
            if (!lower_bounded(f, p))
                in[p] = 1;
        }
    for (int outer = 0; outer < 4 * P + 4; outer++) {
        for (int inner = 0; inner <= P; inner++) { /* solve on the passive set, step back to feasibility */
            n = 0;
            for (int p = 0; p < P; p++)
                if (in[p])
                    S[n++] = p;
            memcpy(s, t, sizeof(double) * (size_t)P);
            solve_set(A, b, P, S, n, s);
            double alpha = 1;
            int hit = -1;
            for (int k = 0; k < n; k++)
                if (lower_bounded(f, S[k]) && s[S[k]] <= 0 && t[S[k]] - s[S[k]] > 0 &&
                    t[S[k]] / (t[S[k]] - s[S[k]]) < alpha)
                    alpha = t[S[k]] / (t[S[k]] - s[S[k]]), hit = S[k];
            for (int k = 0; k < n; k++)
                t[S[k]] += alpha * (s[S[k]] - t[S[k]]);
            if (hit < 0)
                break;
            for (int k = 0; k < n; k++)
                if (lower_bounded(f, S[k]) && t[S[k]] <= 1e-15 * (fabs(s[S[k]]) + 1e-300))
                    t[S[k]] = 0, in[S[k]] = 0;
            in[hit] = 0, t[hit] = 0;
        }
        int best = -1; /* the bounded parameter at 0 whose gradient most wants it positive */
        double wbest = 0;
        for (int p = 0; p < P; p++) {
            if (!free_[p] || in[p])
                continue;
            double w = b[p];
            for (int q = 0; q < P; q++)
                if (free_[q])
                    w -= A[p * P + q] * t[q];
            if (w > 1e-10 * sqrt(A[p * P + p] * (fabs(b[p]) + 1e-300)) && w > wbest)
                wbest = w, best = p;
        }
        if (best < 0)
            break;
        in[best] = 1;
    }
}

/* 1 / VIF of parameter p among the free set: 1 / (A_pp (A_FF^-1)_pp) by Gauss-Jordan on a copy. */
static double inv_vif(const double *A, int P, const uint8_t *free_, int p)
{
    int idx[MAXP], n = 0, at = -1;
    for (int q = 0; q < P; q++)
        if (free_[q]) {
            if (q == p)
                at = n;
            idx[n++] = q;
        }
    double M[MAXP * MAXP], I[MAXP * MAXP];
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            M[r * n + c] = A[idx[r] * P + idx[c]] / sqrt(A[idx[r] * P + idx[r]] * A[idx[c] * P + idx[c]]) +
                           (r == c ? 1e-10 : 0); /* a ridge: exactly collinear columns get 1/VIF ~ 1e-10 */
            I[r * n + c] = r == c;
        }
    for (int c = 0; c < n; c++) { /* a correlation matrix plus a ridge is positive definite: no pivoting */
        double piv = M[c * n + c];
        if (!(piv > 0))
            return 0;
        for (int k = 0; k < n; k++)
            M[c * n + k] /= piv, I[c * n + k] /= piv;
        for (int r = 0; r < n; r++) {
            if (r == c)
                continue;
            double g = M[r * n + c];
            for (int k = 0; k < n; k++)
                M[r * n + k] -= g * M[c * n + k], I[r * n + k] -= g * I[c * n + k];
        }
    }
    return at < 0 ? 0 : 1.0 / I[at * n + at];
}

/* ---- normal equations per bootstrap block ---- */
typedef struct {
    int P, nb;
    double *A, *b;         /* [nb x P x P], [nb x P] */
} blocks_t;

static void blocks_free(blocks_t *B) { free(B->A), free(B->b); }

/* Sums the filtered fit equations into blocks of L rows (per episode, in time order). */
static int blocks_build(const tw_sysid_jfit *f, uint32_t F, size_t L, blocks_t *B, char *msg, size_t msgsz)
{
    int P = B->P = npar(f);
    size_t cap = 16;
    B->nb = 0;
    B->A = calloc(cap * (size_t)P * (size_t)P, sizeof(double));
    B->b = calloc(cap * (size_t)P, sizeof(double));
    size_t start = 0;
    int cur_seg = -1, cur_blk = -1;
    for (size_t i = 0; i < f->n && B->A && B->b; i++) {
        if (f->part[i])
            continue;
        if (f->seg[i] != cur_seg) {
            cur_seg = f->seg[i];
            start = i;
            cur_blk = -1;
        }
        int want = (int)((i - start) / L);
        if (want != cur_blk) { /* a new block */
            if ((size_t)B->nb == cap) {
                cap *= 2;
                double *A = realloc(B->A, cap * (size_t)P * (size_t)P * sizeof(double));
                double *b = realloc(B->b, cap * (size_t)P * sizeof(double));
                if (A)
                    B->A = A;
                if (b)
                    B->b = b;
                if (!A || !b) {
                    B->nb = -1;
                    break;
                }
            }
            memset(B->A + (size_t)B->nb * P * P, 0, (size_t)P * P * sizeof(double));
            memset(B->b + (size_t)B->nb * P, 0, (size_t)P * sizeof(double));
            B->nb++;
            cur_blk = want;
        }
        double *A = B->A + (size_t)(B->nb - 1) * P * P, *b = B->b + (size_t)(B->nb - 1) * P;
        for (int j = 0; j < f->na; j++) {
            double y, x[5];
            int idx[5], n = filtered(f, i, j, F, &y, x, idx);
            for (int k = 0; k < n; k++) {
                b[idx[k]] += x[k] * y;
                for (int l = 0; l < n; l++)
                    A[idx[k] * P + idx[l]] += x[k] * x[l];
            }
        }
    }
    if (!B->A || !B->b || B->nb < 0)
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid: normal equations");
    return 0;
}

static void blocks_sum(const blocks_t *B, const int *pick, int n, double *A, double *b)
{
    int P = B->P;
    memset(A, 0, (size_t)P * P * sizeof(double));
    memset(b, 0, (size_t)P * sizeof(double));
    for (int k = 0; k < n; k++) {
        const double *Ak = B->A + (size_t)pick[k] * P * P, *bk = B->b + (size_t)pick[k] * P;
        for (int q = 0; q < P * P; q++)
            A[q] += Ak[q];
        for (int q = 0; q < P; q++)
            b[q] += bk[q];
    }
}

/* The reduced problem: the fixed parameters' contribution moved to the right-hand side. */
static void solve_fixed(const tw_sysid_jfit *f, const double *A, const double *b, const uint8_t *free_,
                        const double *nominal, double *t)
{
    int P = npar(f);
    double bb[MAXP];
    for (int p = 0; p < P; p++) {
        bb[p] = b[p];
        t[p] = free_[p] ? 0 : nominal[p];
    }
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++)
            if (!free_[q])
                bb[p] -= A[p * P + q] * nominal[q];
    solve(f, A, bb, free_, t);
}

/* Which parameters the data identify: joints that move, regressors not collinear (greedy: drop the
 * least independent one, offsets last, until all pass). */
static void identify(const tw_sysid_jfit *f, const double *A, const double *qvel_rms, uint8_t *free_)
{
    int P = npar(f);
    for (int p = 0; p < P; p++) {
        int j = p / TW_SJ_NPAR, k = p % TW_SJ_NPAR;
        free_[p] = A[p * P + p] > 0;
        if (j < f->na && k != TW_SJ_OFFSET && !(qvel_rms[j] >= f->o.min_qvel_rms))
            free_[p] = 0; /* a joint that does not move excites none of its own terms */
    }
    for (;;) {
        int worst = -1;
        double wv = VIF_MIN;
        for (int pass = 0; pass < 2 && worst < 0; pass++)
            for (int p = 0; p < P; p++) {
                int is_off = p < TW_SJ_NPAR * f->na && p % TW_SJ_NPAR == TW_SJ_OFFSET;
                if (!free_[p] || is_off != pass)
                    continue;
                double v = inv_vif(A, P, free_, p);
                if (v < wv)
                    wv = v, worst = p;
            }
        if (worst < 0)
            break;
        free_[worst] = 0;
    }
}

/* ---- residuals before and after ---- */
typedef struct {
    double e2[3][TW_ROBOT_MAX_JOINTS], nom2[3][TW_ROBOT_MAX_JOINTS], fit2[3][TW_ROBOT_MAX_JOINTS];
    uint64_t n[3];
} sums_t;

/* Per-row residuals: nominal model, least-squares model; parts 0/1 on ok rows, 2 on every valid row. */
static void residual_sums(const tw_sysid_jfit *f, const double *t, sums_t *S)
{
    memset(S, 0, sizeof *S);
    size_t nj = (size_t)f->nj, na = (size_t)f->na;
    for (size_t i = 0; i < f->n; i++) {
        if (!f->valid[i])
            continue;
        int parts[2] = {f->ok[i] ? f->part[i] : -1, 2};
        for (int j = 0; j < f->na; j++) {
            double y, x[5];
            int idx[5], n = equation(f, i, j, &y, x, idx);
            double fit = y, e = f->effort[i * nj + j];
            for (int k = 0; k < n; k++)
                fit -= t[idx[k]] * x[k];
            double nom = e - f->offset_nom[j] - f->taunom[i * na + j];
            for (int q = 0; q < 2; q++) {
                if (parts[q] < 0)
                    continue;
                S->e2[parts[q]][j] += e * e;
                S->nom2[parts[q]][j] += nom * nom;
                S->fit2[parts[q]][j] += fit * fit;
            }
        }
        for (int q = 0; q < 2; q++)
            if (parts[q] >= 0)
                S->n[parts[q]]++;
    }
}

static double rel_all(const double *r2, const double *e2, int na)
{
    double a = 0, b = 0;
    for (int j = 0; j < na; j++)
        a += r2[j], b += e2[j];
    return b > 0 ? sqrt(a / b) : NAN;
}

static void fill_residuals(const tw_sysid_jfit *f, const double *t, tw_sysid_joint_result *r)
{
    sums_t S;
    residual_sums(f, t, &S);
    for (int p = 0; p < 3; p++) {
        double n = S.n[p] ? (double)S.n[p] : NAN;
        r->rows[p] = S.n[p];
        r->rel_nominal[p] = rel_all(S.nom2[p], S.e2[p], f->na);
        r->rel_fitted[p] = rel_all(S.fit2[p], S.e2[p], f->na);
        r->rel_mjcf[p] = NAN;
        for (int j = 0; j < f->na && p < 2; j++) {
            tw_sysid_jjoint *J = &r->j[j];
            J->effort_rms[p] = sqrt(S.e2[p][j] / n);
            J->rmse_nominal[p] = sqrt(S.nom2[p][j] / n);
            J->rmse_fitted[p] = sqrt(S.fit2[p][j] / n);
            J->rmse_mjcf[p] = NAN;
        }
    }
    r->rows_excluded = 0;
    for (size_t i = 0; i < f->n; i++)
        r->rows_excluded += f->valid[i] && !f->ok[i];
}

/* The nominal model's values in parameter order (offsets: the model's own, else 0; payload 0). */
static void nominal_values(const tw_sysid_jfit *f, double *nom)
{
    const mjModel *m = f->nominal->m;
    for (int j = 0; j < f->na; j++) {
        int v = f->nominal->vadr[j], b = TW_SJ_NPAR * j;
        nom[b + TW_SJ_ARMATURE] = m->dof_armature[v];
        nom[b + TW_SJ_DAMPING] = m->dof_damping[v];
        nom[b + TW_SJ_FRICTION] = m->dof_frictionloss[v];
        nom[b + TW_SJ_OFFSET] = f->offset_nom[j];
    }
    if (f->o.payload)
        nom[TW_SJ_NPAR * f->na] = 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Block bootstrap: nb blocks drawn with replacement, the same free set, R replicates.  std is the
 * replicates' interquartile range / 1.349 (the standard deviation for a normal spread): a replicate
 * that happens to miss a joint's reversals makes friction and offset nearly collinear and its values
 * wild, which would dominate a plain standard deviation. */
static void bootstrap(const tw_sysid_jfit *f, const blocks_t *B, const uint8_t *free_, const double *nom,
                      double *std)
{
    int P = B->P, R = f->o.bootstrap;
    double t[MAXP], b[MAXP], *A = malloc((size_t)P * P * sizeof(double));
    double *rep = malloc((size_t)(R > 0 ? R : 1) * (size_t)P * sizeof(double)), *col = malloc((size_t)(R > 0 ? R : 1) * sizeof(double));
    int *pick = malloc((size_t)(B->nb > 0 ? B->nb : 1) * sizeof(int));
    for (int p = 0; p < P; p++)
        std[p] = NAN;
    if (A && rep && col && pick && R >= 4 && B->nb >= 2) {
        tw_rng rng;
        tw_rng_seed(&rng, f->o.seed);
        for (int r = 0; r < R; r++) {
            for (int k = 0; k < B->nb; k++)
                pick[k] = (int)(tw_rng_u64(&rng) % (uint64_t)B->nb);
            blocks_sum(B, pick, B->nb, A, b);
            solve_fixed(f, A, b, free_, nom, t);
            memcpy(rep + (size_t)r * P, t, (size_t)P * sizeof(double));
        }
        for (int p = 0; p < P; p++) {
            if (!free_[p])
                continue;
            for (int r = 0; r < R; r++)
                col[r] = rep[(size_t)r * P + p];
            qsort(col, (size_t)R, sizeof *col, cmp_dbl);
            double q1 = col[(R - 1) / 4], q3 = col[(3 * (R - 1)) / 4];
            std[p] = (q3 - q1) / 1.349;
        }
    }
    free(A), free(rep), free(col), free(pick);
}

static void fill_params(const tw_sysid_jfit *f, const double *t, const double *std, const uint8_t *free_,
                        const double *nom, const double *qvel_rms, tw_sysid_joint_result *r)
{
    for (int p = 0; p < npar(f); p++) {
        tw_sysid_jparam *q = p < TW_SJ_NPAR * f->na ? &r->j[p / TW_SJ_NPAR].p[p % TW_SJ_NPAR] : &r->payload_kg;
        q->value = t[p];
        q->std = free_[p] ? std[p] : NAN;
        q->nominal = nom[p];
        q->identified = free_[p];
        q->at_bound = free_[p] && lower_bounded(f, p) && t[p] == 0;
    }
    for (int j = 0; j < f->na; j++) {
        snprintf(r->j[j].name, sizeof r->j[j].name, "%s", f->nominal->jname[j]);
        r->j[j].qvel_rms = qvel_rms[j];
    }
}

int tw_sysid_jfit_run(tw_sysid_jfit *f, tw_sysid_joint_result *r, char *msg, size_t msgsz)
{
    double t0 = tw_mono_s();
    memset(r, 0, sizeof *r);
    int P = npar(f);
    uint32_t F = f->o.filter_ms > 0 ? (uint32_t)floor(0.5 * (f->o.filter_ms * 1e-3 * f->rate_hz - 1) + 0.5) : 0;
    size_t L = (size_t)fmax(1, floor(f->o.block_s * f->rate_hz));
    double qvel_rms[TW_ROBOT_MAX_JOINTS] = {0}, nom[MAXP], t[MAXP], std[MAXP];
    uint64_t nfit = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->ok[i] && !f->part[i]) {
            nfit++;
            for (int j = 0; j < f->na; j++)
                qvel_rms[j] += f->qvel[i * f->nj + j] * f->qvel[i * f->nj + j];
        }
    for (int j = 0; j < f->na; j++) {
        qvel_rms[j] = nfit ? sqrt(qvel_rms[j] / (double)nfit) : 0;
        f->moving[j] = qvel_rms[j] >= f->o.min_qvel_rms;
    }
    if (nfit < 10)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid: %llu usable timesteps to fit on (gaps, contacts or limits)",
                       (unsigned long long)nfit);
    blocks_t B;
    int rc = blocks_build(f, F, L, &B, msg, msgsz);
    if (rc < 0) {
        blocks_free(&B);
        return rc;
    }
    int *all = malloc((size_t)(B.nb > 0 ? B.nb : 1) * sizeof(int));
    double *A = malloc((size_t)P * P * sizeof(double)), b[MAXP];
    uint8_t free_[MAXP];
    if (!A || !all) {
        free(A), free(all);
        blocks_free(&B);
        return tw_errf(msg, msgsz, TW_ENOMEM, "sysid");
    }
    for (int k = 0; k < B.nb; k++)
        all[k] = k;
    blocks_sum(&B, all, B.nb, A, b);
    free(all);
    nominal_values(f, nom);
    identify(f, A, qvel_rms, free_);
    solve_fixed(f, A, b, free_, nom, t);
    bootstrap(f, &B, free_, nom, std);
    fill_params(f, t, std, free_, nom, qvel_rms, r);
    fill_residuals(f, t, r);
    r->nj = f->na;
    r->payload = f->o.payload;
    r->episodes = f->n ? f->seg[f->n - 1] + 1 : 0;
    r->blocks = B.nb;
    r->bootstrap = B.nb >= 2 ? f->o.bootstrap : 0;
    r->qacc_discrete = f->discrete;
    r->sg_half = f->discrete ? 0 : f->sg_half;
    r->filter_half = F;
    r->rate_hz = f->rate_hz;
    r->friction_eps = f->o.friction_eps;
    r->validate = f->o.validate;
    r->inverse_passes = f->passes;
    r->inverse_pass_s = f->pass_s;
    r->load_s = f->load_s;
    r->read_s = f->read_s;
    r->fit_s = tw_mono_s() - t0;
    r->wall_s = r->load_s + r->read_s + r->fit_s;
    free(A);
    blocks_free(&B);
    return 0;
}
