/* Torque and wrench residual statistics, and the binned series the report plots. Steps
 * flagged invalid (gap, before/after a stream) or edge (differentiator window cut) are left
 * out of every statistic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"

int tw_residual_init(tw_residual *rs, int nj, int have_wrench, uint64_t nsteps)
{
    memset(rs, 0, sizeof *rs);
    rs->nj = nj;
    rs->have_wrench = have_wrench;
    rs->nbins = nsteps < TW_SERIES_BINS ? (uint32_t)(nsteps ? nsteps : 1) : TW_SERIES_BINS;
    rs->per = (nsteps + rs->nbins - 1) / rs->nbins;
    if (rs->per == 0)
        rs->per = 1;
    size_t n = (size_t)rs->nbins * (nj ? nj : 1);
    rs->s_eff = calloc(n, sizeof(double));
    rs->s_tau = calloc(n, sizeof(double));
    rs->s_res = calloc(n, sizeof(double));
    rs->s_cnt = calloc(rs->nbins, sizeof(uint32_t));
    if (!rs->s_eff || !rs->s_tau || !rs->s_res || !rs->s_cnt) {
        tw_residual_free(rs);
        return TW_ENOMEM;
    }
    return 0;
}

void tw_residual_free(tw_residual *rs)
{
    if (!rs)
        return;
    free(rs->s_eff);
    free(rs->s_tau);
    free(rs->s_res);
    free(rs->s_cnt);
    rs->s_eff = rs->s_tau = rs->s_res = NULL;
    rs->s_cnt = NULL;
}

void tw_residual_add(tw_residual *rs, const tw_recon_rows *rw, uint64_t first)
{
    int nj = rs->nj;
    for (uint32_t i = 0; i < rw->n; i++) {
        if (rw->q[i] & (TW_Q_INVALID | TW_Q_EDGE))
            continue; /* no value, or a differentiator cut short: not a measurement */
        uint64_t b = (first + i) / rs->per;
        if (b >= rs->nbins)
            b = rs->nbins - 1;
        uint32_t c = ++rs->s_cnt[b];
        for (int j = 0; j < nj; j++) {
            size_t k = (size_t)i * nj + j, s = (size_t)b * nj + j;
            double e = rw->effort[k], r = rw->res[k];
            rs->sum_res[j] += r;
            rs->sum_res2[j] += r * r;
            rs->sum_eff2[j] += e * e;
            rs->sum_rv[j] += r * rw->qvel[k];
            rs->sum_v2[j] += rw->qvel[k] * rw->qvel[k];
            /* running means per bin */
            rs->s_eff[s] += (e - rs->s_eff[s]) / c;
            rs->s_tau[s] += (rw->tau[k] - rs->s_tau[s]) / c;
            rs->s_res[s] += (r - rs->s_res[s]) / c;
        }
        rs->n++;
        if (rs->have_wrench && !(rw->q[i] & TW_Q_WRENCH_INVALID)) {
            for (int a = 0; a < 6; a++) {
                double r = rw->wrench_res[(size_t)i * 6 + a];
                rs->wsum[a] += r;
                rs->wsum2[a] += r * r;
            }
            rs->wn++;
        }
    }
}
