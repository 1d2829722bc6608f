/* The fuse plan: which episode goes to which split, in which order samples appear, the sampling weights
 * and the shard boundaries. Everything here is a function of the episode ids, the options and the
 * per-episode sample counts, so every rank computes the same plan on its own. */
#include <stdlib.h>
#include <string.h>

#include "tw_fuse_int.h"

int tw_fuse_plan_splits(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    size_t n = c->neps;
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    uint8_t *sp = malloc(n ? n : 1);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    int rc = (!ids || !sp || !idx) ? tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory") : 0;
    /* Each domain is split on its own, so real data always reaches val and test. */
    for (uint8_t dom = 0; dom < 2 && !rc; dom++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (c->eps[i].domain == dom) {
                idx[m] = i;
                ids[m++] = c->eps[i].id;
            }
        if ((rc = tw_split_assign(ids, m, c->o.frac, c->o.seed, sp)))
            break;
        for (size_t k = 0; k < m; k++)
            c->eps[idx[k]].split = sp[k];
    }
    /* Sample order inside a split: the seeded id order across both domains. */
    for (int s = 0; s < 3 && !rc; s++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (c->eps[i].split == s) {
                idx[m] = i;
                ids[m++] = c->eps[i].id;
            }
        c->order[s] = malloc((m ? m : 1) * sizeof(size_t));
        if (!c->order[s]) {
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
            break;
        }
        size_t *o = malloc((m ? m : 1) * sizeof *o);
        if (!o) {
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
            break;
        }
        tw_split_order(ids, m, c->o.seed ^ 0x4f524445ull /* "ORDE" */, o);
        for (size_t k = 0; k < m; k++)
            c->order[s][k] = idx[o[k]];
        c->norder[s] = m;
        free(o);
    }
    free(ids);
    free(sp);
    free(idx);
    return rc;
}

int tw_fuse_plan_weights(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    memset(c->nsamples, 0, sizeof c->nsamples);
    memset(c->ndomain, 0, sizeof c->ndomain);
    for (size_t i = 0; i < c->neps; i++) {
        c->nsamples[c->eps[i].split] += c->eps[i].samples;
        c->ndomain[c->eps[i].split][c->eps[i].domain] += c->eps[i].samples;
    }
    double R = c->o.ratio_real, S = c->o.ratio_sim;
    uint64_t nr = c->ndomain[TW_SPLIT_TRAIN][0], ns = c->ndomain[TW_SPLIT_TRAIN][1];
    size_t neps[2] = {0, 0}; /* train episodes per domain */
    for (size_t i = 0; i < c->neps; i++)
        if (c->eps[i].split == TW_SPLIT_TRAIN)
            neps[c->eps[i].domain]++;
    static const char *const dn[2] = {"real", "sim"};
    for (int d = 0; d < 2; d++) {
        if (!((d ? S : R) > 0) || (d ? ns : nr) > 0)
            continue;
        if (neps[d])
            return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --ratio %g:%g needs %s training samples, but the %zu %s "
                           "train episode(s) have none (shorter than --window %u + 1 valid steps?)", R, S, dn[d],
                           neps[d], dn[d], c->H);
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --ratio %g:%g needs %s training samples, but no %s episode was "
                       "given (add --%s folders or use --ratio %s)", R, S, dn[d], dn[d], dn[d], d ? "1:0" : "0:1");
    }
    for (int s = 0; s < 3; s++) {
        uint64_t a = c->ndomain[s][0], b = c->ndomain[s][1];
        /* A domain absent from a (val/test) split hands its mass to the other: weights still sum to 1. */
        double r = a ? R : 0, q = b ? S : 0;
        double tot = r + q;
        c->weight[s][0] = (a && tot > 0) ? r / tot / (double)a : 0;
        c->weight[s][1] = (b && tot > 0) ? q / tot / (double)b : 0;
    }
    return 0;
}

size_t tw_fuse_plan_shards(const tw_fuse_ctx *c, tw_fuse_shard **out)
{
    size_t n = 0;
    uint64_t sz = c->o.shard_size;
    for (int s = 0; s < 3; s++)
        n += (size_t)((c->nsamples[s] + sz - 1) / sz);
    tw_fuse_shard *sh = malloc((n ? n : 1) * sizeof *sh);
    if (!sh) {
        *out = NULL;
        return 0;
    }
    size_t k = 0;
    for (int s = 0; s < 3; s++)
        for (uint64_t f = 0; f < c->nsamples[s]; f += sz)
            sh[k++] = (tw_fuse_shard){(uint8_t)s, f, c->nsamples[s] - f < sz ? c->nsamples[s] - f : sz};
    *out = sh;
    return n;
}
