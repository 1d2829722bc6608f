/* fuse pass 2: shard j (owned by rank j % K) takes samples [first, first+count) of its split's sample
 * sequence. The walker stays open across shard boundaries, so one process walks each episode once.
 *
 * Train statistics are made here too, from the rows as they are written, so that pass 1 need not read any
 * sample data: each train episode's statistics belong to the rank whose shard holds its first sample, and
 * that rank adds all of the episode's samples in order (per-episode Welford, exactly what a single walk
 * gives). With one rank the next shard simply continues the episode; with several, the owner walks the
 * rest of the episode (at most one episode per shard) after filling its shard. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_fuse_int.h"

typedef struct {
    tw_fuse_walker *w;
    int st_open;           /* statistics of episode st_ep being accumulated */
    size_t st_ep;
    tw_stat st[3];
    char *buf;             /* finished records (see tw_fuse_write_shards) */
    size_t len;
} cursor;

int tw_fuse_stats_init3(const tw_fuse_ctx *c, tw_stat st[3])
{
    if (tw_stat_init(&st[0], c->S) || tw_stat_init(&st[1], c->A) || tw_stat_init(&st[2], c->S)) {
        tw_fuse_stats_free3(st);
        return TW_ENOMEM;
    }
    return 0;
}

void tw_fuse_stats_free3(tw_stat st[3])
{
    for (int i = 0; i < 3; i++)
        tw_stat_free(&st[i]);
}

size_t tw_fuse_stats_ndoubles(const tw_fuse_ctx *c)
{
    return 3 + 4 * (2 * (size_t)c->S + c->A);
}

static void stats_add_sample(const tw_fuse_ctx *c, tw_stat st[3], const tw_fuse_sample *s)
{
    double delta[4 * TW_MAX_AXES + 8];
    tw_stat_add_f32(&st[0], s->state);
    for (uint32_t k = 0; k < c->H; k++) {
        const float *prev = k ? s->next_state + (k - 1) * c->S : s->state, *nx = s->next_state + k * c->S;
        tw_stat_add_f32(&st[1], s->action + k * c->A);
        for (uint32_t j = 0; j < c->S; j++)
            delta[j] = (double)nx[j] - (double)prev[j];
        tw_stat_add_f64(&st[2], delta);
    }
}

/* Appends the finished episode's record to cur->buf. */
static int stats_finish(const tw_fuse_ctx *c, cursor *cur, char *msg, size_t msgsz)
{
    size_t nd = tw_fuse_stats_ndoubles(c), rec = sizeof(uint64_t) + nd * sizeof(double);
    char *nb = realloc(cur->buf, cur->len + rec);
    if (!nb)
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    cur->buf = nb;
    uint64_t ep = cur->st_ep;
    memcpy(nb + cur->len, &ep, sizeof ep);
    double d[3 + 4 * (2 * (4 * TW_MAX_AXES + 8) + TW_MAX_AXES)], *p = d;
    for (int k = 0; k < 3; k++) {
        tw_stat_pack(&cur->st[k], p);
        p += tw_stat_ndoubles(&cur->st[k]);
    }
    memcpy(nb + cur->len + sizeof ep, d, nd * sizeof(double));
    cur->len += rec;
    cur->st_open = 0;
    return 0;
}

/* Samples of the current episode from the cursor on, for its statistics only (several ranks). */
static int stats_complete(const tw_fuse_ctx *c, cursor *cur, char *msg, size_t msgsz)
{
    tw_fuse_sample s;
    int rc;
    while ((rc = tw_fuse_walker_next(cur->w, &s, msg, msgsz)) == 1)
        stats_add_sample(c, cur->st, &s);
    if (rc < 0)
        return rc;
    if (tw_fuse_walker_ordinal(cur->w) != c->eps[cur->st_ep].samples)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: %s changed while fusing", c->eps[cur->st_ep].dir);
    return stats_finish(c, cur, msg, msgsz);
}

/* Positions *cur at sample `ordinal` of episode `ep` (reusing the open walker when it is already there). */
static int seek(const tw_fuse_ctx *c, cursor *cur, size_t ep, uint64_t ordinal, char *msg, size_t msgsz)
{
    if (cur->w && tw_fuse_walker_episode(cur->w) == ep && tw_fuse_walker_ordinal(cur->w) == ordinal)
        return 0;
    tw_fuse_walker_close(cur->w);
    cur->w = NULL;
    int rc = tw_fuse_walker_open(c, ep, NULL, 0, &cur->w, msg, msgsz);
    tw_fuse_sample s;
    while (!rc && tw_fuse_walker_ordinal(cur->w) < ordinal) /* skip: a shard began inside this episode */
        if ((rc = tw_fuse_walker_next(cur->w, &s, msg, msgsz)) == 0)
            rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: %s changed while fusing (fewer samples)", c->eps[ep].dir);
        else if (rc == 1)
            rc = 0;
    return rc;
}

/* The rest of row b->n, whose state, action and next state the walker wrote in place. */
static void put_row(const tw_fuse_ctx *c, tw_shard_buf *b, size_t ep, const tw_fuse_sample *s)
{
    size_t r = b->n++;
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
        if (!rc && want == pos && c->eps[ep].split == TW_SPLIT_TRAIN) { /* this rank owns ep's statistics */
            for (int i = 0; i < 3; i++)
                tw_stat_reset(&cur->st[i]);
            cur->st_open = 1;
            cur->st_ep = ep;
        }
        int stats = cur->st_open && cur->st_ep == ep;
        tw_fuse_sample s;
        while (!rc && b->n < sh->count && tw_fuse_walker_ordinal(cur->w) < n) {
            size_t r = b->n, S = c->S, A = c->A, H = c->H;
            rc = tw_fuse_walker_next_into(cur->w, b->state + r * S, b->action + r * H * A, b->next_state + r * H * S,
                                          &s, msg, msgsz);
            if (rc == 1) {
                put_row(c, b, ep, &s);
                if (stats)
                    stats_add_sample(c, cur->st, &s);
                rc = 0;
            } else if (rc == 0) {
                rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: %s changed while fusing", c->eps[ep].dir);
            }
        }
        if (!rc && stats && tw_fuse_walker_ordinal(cur->w) == n)
            rc = stats_finish(c, cur, msg, msgsz);
        if (rc)
            return rc;
        pos += n;
    }
    return b->n == sh->count ? 0 : tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: shard short of samples");
}

/* Gathers the per-episode train statistics of pass 2 (records: uint64 episode, packed state, action and
 * delta statistics) and merges them in episode order: identical for any rank count. */
int tw_fuse_merge_stats(tw_fuse_ctx *c, const char *buf, size_t len, char *msg, size_t msgsz)
{
    char *all = NULL;
    size_t *lens = NULL;
    int rc = tw_mpi_allgather(buf, len, (void **)&all, &lens, msg, msgsz);
    if (rc)
        return rc;
    size_t total = 0;
    for (int r = 0; r < c->o.nranks; r++)
        total += lens[r];
    const char **part = calloc(c->neps ? c->neps : 1, sizeof *part);
    tw_stat st[3] = {{0}}, one[3] = {{0}};
    if (!part || tw_fuse_stats_init3(c, st) || tw_fuse_stats_init3(c, one))
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    size_t rec = sizeof(uint64_t) + tw_fuse_stats_ndoubles(c) * sizeof(double);
    for (size_t off = 0; !rc && off + rec <= total; off += rec) {
        uint64_t ep;
        memcpy(&ep, all + off, sizeof ep);
        if (ep < c->neps)
            part[ep] = all + off + sizeof ep;
    }
    for (size_t i = 0; i < c->neps && !rc; i++) {
        if (!part[i])
            continue;
        const char *d = part[i];
        for (int k = 0; k < 3; k++) {
            double tmp[1 + 4 * (4 * TW_MAX_AXES + 8)];
            memcpy(tmp, d, tw_stat_ndoubles(&one[k]) * sizeof(double)); /* gathered bytes are unaligned */
            tw_stat_unpack(&one[k], tmp);
            tw_stat_merge(&st[k], &one[k]);
            d += tw_stat_ndoubles(&one[k]) * sizeof(double);
        }
    }
    if (!rc) {
        c->st_state = st[0];
        c->st_action = st[1];
        c->st_delta = st[2];
    } else {
        tw_fuse_stats_free3(st);
    }
    tw_fuse_stats_free3(one);
    free(part);
    free(all);
    free(lens);
    return rc;
}

/* Second half of a shard write (fsync, rename) and its hash, on a second thread: no HDF5 and no MPI there,
 * so the disk flush and the hashing overlap the next shard's reading on another core. */
typedef struct {
    const tw_fuse_ctx *c;
    size_t j;
    char *sha;
    uint64_t bytes;
    int rc, running;
    pthread_t th;
    char msg[1024];
} committer;

static void *commit_run(void *arg)
{
    committer *m = arg;
    char path[4200], name[32];
    m->rc = tw_shard_commit(m->c->o.out_dir, (uint32_t)m->j, &m->bytes, m->msg, sizeof m->msg);
    tw_shard_name((uint32_t)m->j, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", m->c->o.out_dir, name);
    if (!m->rc)
        m->rc = tw_sha256_file(path, m->sha, m->msg, sizeof m->msg);
    return NULL;
}

static void commit_start(committer *m, const tw_fuse_ctx *c, size_t j, char *sha)
{
    *m = (committer){.c = c, .j = j, .sha = sha};
    m->running = pthread_create(&m->th, NULL, commit_run, m) == 0;
    if (!m->running) /* no thread: commit here */
        commit_run(m);
    m->running = 1 + m->running; /* 1: done inline, 2: thread to join */
}

/* Waits for the pending commit (if any) and accounts for it. */
static int commit_wait(committer *m, const tw_fuse_shard *sh, tw_fuse_result *res, char *msg, size_t msgsz)
{
    if (!m->running)
        return 0;
    if (m->running == 2)
        pthread_join(m->th, NULL);
    m->running = 0;
    if (m->rc)
        return tw_errf(msg, msgsz, m->rc, "%s", m->msg);
    res->shards++;
    res->bytes_written += m->bytes;
    if (m->c->o.progress) {
        char name[32];
        tw_shard_name((uint32_t)m->j, name, sizeof name);
        tw_progress_say(m->c->o.progress, m->c->o.progress_user, "fuse", res->shards, 0,
                        "fuse[rank %d]: wrote %s (%s, %llu samples)", m->c->o.rank, name,
                tw_split_names[sh[m->j].split], (unsigned long long)sh[m->j].count);
    }
    return 0;
}

int tw_fuse_write_shards(const tw_fuse_ctx *c, const tw_fuse_shard *sh, size_t nsh, char (*sha)[65],
                         char **stats, size_t *stats_len, tw_fuse_result *res, char *msg, size_t msgsz)
{
    *stats = NULL;
    *stats_len = 0;
    tw_shard_buf b;
    uint32_t cap = c->o.shard_size;
    for (size_t j = 0; j < nsh; j++) /* buffers sized by the largest shard, not by the flag alone */
        if (j == 0 || sh[j].count > cap)
            cap = (uint32_t)sh[j].count;
    if (tw_shard_buf_init(&b, cap, c->H, c->S, c->A))
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory for a shard of %u samples", cap);
    cursor cur = {0};
    int rc = 0;
    if (tw_fuse_stats_init3(c, cur.st)) {
        tw_shard_buf_free(&b);
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    }
    /* Shard j is committed (fsync, rename, hash) while shard j + K is being filled. */
    committer cm = {0};
    for (size_t j = (size_t)c->o.rank; j < nsh && !rc; j += (size_t)c->o.nranks) {
        if ((rc = fill_shard(c, &sh[j], &cur, &b, msg, msgsz)) ||
            (cur.st_open && c->o.nranks > 1 && (rc = stats_complete(c, &cur, msg, msgsz))) ||
            (rc = commit_wait(&cm, sh, res, msg, msgsz)) ||
            (rc = tw_shard_write_begin(c->o.out_dir, (uint32_t)j, tw_split_names[sh[j].split], &b, msg, msgsz)))
            break;
        commit_start(&cm, c, j, sha[j]);
    }
    int crc = commit_wait(&cm, sh, res, rc ? NULL : msg, rc ? 0 : msgsz);
    rc = rc ? rc : crc;
    if (!rc && cur.st_open)
        rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "fuse: statistics of %s left incomplete", c->eps[cur.st_ep].dir);
    tw_fuse_walker_close(cur.w);
    tw_shard_buf_free(&b);
    tw_fuse_stats_free3(cur.st);
    if (rc) {
        free(cur.buf);
        return rc;
    }
    *stats = cur.buf;
    *stats_len = cur.len;
    return 0;
}
