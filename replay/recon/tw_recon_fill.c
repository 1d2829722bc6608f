/* Aligned block -> reconstruction rows: joints from recorded to robot order, wrench, held
 * actions as controls, object state, video frames, events, and accelerations. */
#include <string.h>

#include "tw_recon_int.h"

/* Derivative of n values per row (rows `stride` apart) at row r. Discrete: the integrator's own
 * forward difference qvel[k+1] = qvel[k] + h qacc_d (exact for simulated data sampled every
 * physics step); otherwise, or at the last row, Savitzky-Golay. Returns TW_Q_* flags. */
static unsigned derivative(const tw_recon_fill_ctx *c, const double *v, size_t stride, const uint8_t *q,
                           uint32_t nrows, size_t n, uint32_t r, double *out)
{
    if (c->qacc_discrete && r + 1 < nrows && !(q[r + 1] & TW_Q_INVALID)) {
        for (size_t k = 0; k < n; k++)
            out[k] = (v[(size_t)(r + 1) * stride + k] - v[(size_t)r * stride + k]) / c->dt;
        return 0;
    }
    unsigned fl = tw_sg_derivative(v, stride, q, nrows, n, r, c->sg_half, c->dt, out);
    return c->qacc_discrete ? fl | TW_Q_EDGE : fl;
}

static void fill_object(tw_recon_fill_ctx *c, const tw_align_block *b, uint32_t r, tw_recon_rows *rw, uint32_t i)
{
    const double *v = b->values[c->obj];
    const uint8_t *q = b->quality[c->obj];
    double *o = rw->obj + (size_t)i * 13, *acc = rw->obj_acc + (size_t)i * 6;
    if (q[r] & TW_Q_INVALID) { /* a gap: the object stays where it was last seen, at rest */
        rw->obj_ok[i] = 2;
        memcpy(o, c->obj_hold, sizeof c->obj_hold);
        memset(acc, 0, 6 * sizeof(double));
        return;
    }
    rw->obj_ok[i] = 1;
    memcpy(o, v + (size_t)r * 13, 13 * sizeof(double));
    memcpy(c->obj_hold, o, sizeof c->obj_hold);
    derivative(c, v + 7, 13, q, b->nrows, 6, r, acc); /* velocities at 7..12 */
}

void tw_recon_fill(tw_recon_fill_ctx *c, const tw_align_block *b, tw_recon_rows *rw)
{
    const tw_recon_map *mp = c->map;
    int N = mp->nrec, nj = mp->nj, nu = rw->nu;
    double acc[TW_ROBOT_MAX_JOINTS];
    const double *jv = b->values[c->js];
    const uint8_t *jq = b->quality[c->js];
    rw->n = b->ncore;
    for (uint32_t i = 0; i < b->ncore; i++) {
        uint32_t r = b->halo_lo + i;
        const double *row = jv + (size_t)r * 3 * N; /* [3, N]: positions, velocities, efforts */
        unsigned q = jq[r] | derivative(c, jv + N, (size_t)3 * N, jq, b->nrows, (size_t)N, r, acc);
        for (int j = 0; j < nj; j++) {
            int col = mp->col[j];
            size_t k = (size_t)i * nj + j;
            rw->qpos[k] = row[col];
            rw->qvel[k] = row[N + col];
            rw->effort[k] = row[2 * N + col];
            rw->qacc[k] = acc[col];
        }
        if (c->wr >= 0) {
            memcpy(rw->wrench + (size_t)i * 6, b->values[c->wr] + (size_t)r * 6, 6 * sizeof(double));
            if (b->quality[c->wr][r] & TW_Q_INVALID)
                q |= TW_Q_WRENCH_INVALID;
        }
        for (int a = 0; a < nu; a++) {
            int col = c->act >= 0 && a < TW_ROBOT_MAX_ACT ? mp->act_col[a] : -1;
            rw->ctrl[(size_t)i * nu + a] = col >= 0 ? b->values[c->act][(size_t)r * mp->nact + col] : c->home_ctrl[a];
        }
        for (int k = 0; k < rw->ncam; k++)
            rw->frame[(size_t)i * rw->ncam + k] = b->frame[c->cam[k]][r];
        if (c->obj >= 0)
            fill_object(c, b, r, rw, i);
        if (c->ev >= 0)
            rw->event[i] = b->frame[c->ev][r];
        rw->t_ns[i] = b->t_ns[r];
        rw->q[i] = (uint8_t)q;
    }
}
