/* fuse pass 2: shard j (owned by rank j % K) takes samples [first, first+count) of its split's sample
 * sequence. The walker stays open across shard boundaries, so one process walks each episode once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_fuse_int.h"

typedef struct {
    tw_fuse_walker *w;
} cursor;

/* Positions *cur at sample `ordinal` of episode `ep` (reusing the open walker when it is already there). */
static int seek(const tw_fuse_ctx *c, cursor *cur, size_t ep, uint64_t ordinal, char *msg, size_t msgsz)
{
    if (cur->w && tw_fuse_walker_episode(cur->w) == ep && tw_fuse_walker_ordinal(cur->w) == ordinal)
        return 0;
    tw_fuse_walker_close(cur->w);
    cur->w = NULL;
    int rc = tw_fuse_walker_open(c, ep, &cur->w, msg, msgsz);
    tw_fuse_sample s;
    while (!rc && tw_fuse_walker_ordinal(cur->w) < ordinal) /* skip: a shard began inside this episode */
        if ((rc = tw_fuse_walker_next(cur->w, &s, msg, msgsz)) == 0)
            rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: %s changed while fusing (fewer samples)", c->eps[ep].dir);
        else if (rc == 1)
            rc = 0;
    return rc;
}

static void put_row(const tw_fuse_ctx *c, tw_shard_buf *b, size_t ep, const tw_fuse_sample *s)
{
    size_t r = b->n++, S = c->S, A = c->A, H = c->H;
    memcpy(b->state + r * S, s->state, S * sizeof(float));
    memcpy(b->action + r * H * A, s->action, H * A * sizeof(float));
    memcpy(b->next_state + r * H * S, s->next_state, H * S * sizeof(float));
    const tw_fuse_ep *e = &c->eps[ep];
    b->domain[r] = e->domain;
    b->split[r] = e->split;
    b->episode[r] = (uint32_t)ep;
    b->t[r] = s->t;
    b->weight[r] = (float)c->weight[e->split][e->domain];
}

static int fill_shard(const tw_fuse_ctx *c, const tw_fuse_shard *sh, cursor *cur, tw_shard_buf *b, char *msg,
                      size_t msgsz)
{
    b->n = 0;
    uint64_t pos = 0; /* first sample of the current episode in the split's sequence */
    for (size_t k = 0; k < c->norder[sh->split] && b->n < sh->count; k++) {
        size_t ep = c->order[sh->split][k];
        uint64_t n = c->eps[ep].samples;
        uint64_t want = sh->first + b->n;
        if (want >= pos + n) {
            pos += n;
            continue;
        }
        int rc = seek(c, cur, ep, want - pos, msg, msgsz);
        tw_fuse_sample s;
        while (!rc && b->n < sh->count && tw_fuse_walker_ordinal(cur->w) < n) {
            rc = tw_fuse_walker_next(cur->w, &s, msg, msgsz);
            if (rc == 1) {
                put_row(c, b, ep, &s);
                rc = 0;
            } else if (rc == 0) {
                rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: %s changed while fusing", c->eps[ep].dir);
            }
        }
        if (rc)
            return rc;
        pos += n;
    }
    return b->n == sh->count ? 0 : tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: shard short of samples");
}

int tw_fuse_write_shards(const tw_fuse_ctx *c, const tw_fuse_shard *sh, size_t nsh, char (*sha)[65],
                         tw_fuse_result *res, char *msg, size_t msgsz)
{
    tw_shard_buf b;
    uint32_t cap = c->o.shard_size;
    for (size_t j = 0; j < nsh; j++) /* buffers sized by the largest shard, not by the flag alone */
        if (j == 0 || sh[j].count > cap)
            cap = (uint32_t)sh[j].count;
    if (tw_shard_buf_init(&b, cap, c->H, c->S, c->A))
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory for a shard of %u samples", cap);
    cursor cur = {0};
    int rc = 0;
    for (size_t j = (size_t)c->o.rank; j < nsh && !rc; j += (size_t)c->o.nranks) {
        uint64_t bytes = 0;
        char path[4200], name[32];
        if ((rc = fill_shard(c, &sh[j], &cur, &b, msg, msgsz)) ||
            (rc = tw_shard_write(c->o.out_dir, (uint32_t)j, tw_split_names[sh[j].split], &b, &bytes, msg, msgsz)))
            break;
        tw_shard_name((uint32_t)j, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", c->o.out_dir, name);
        rc = tw_sha256_file(path, sha[j], msg, msgsz);
        res->shards++;
        res->bytes_written += bytes;
        if (c->o.progress)
            fprintf(stderr, "fuse[rank %d]: wrote %s (%s, %u samples)\n", c->o.rank, name,
                    tw_split_names[sh[j].split], b.n);
    }
    tw_fuse_walker_close(cur.w);
    tw_shard_buf_free(&b);
    return rc;
}
