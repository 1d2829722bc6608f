/* tw fuse: real + sim episodes -> sharded training dataset (schemas/fused.md).
 *
 * Stages (every rank runs all of them; collectives in between keep ranks in step):
 *   scan      list episodes; open episodes j % K (listing order): ids, domains, sim params, one feature
 *             signature, and pass 1 while each is open: count valid samples (timestamps only: no payload
 *             is decompressed), note the timeline; all-gathered; load --model/--map
 *   splits    by episode, seeded, per domain
 *   pass 1    (done in the scan) its failures reported. Content hashes of episodes i % K are made by a
 *             second thread from here on, and exchanged with the shard hashes at the end
 *   weights   from the counts and --ratio
 *   pass 2    shards j % K: walk the episodes with their data, write shard j (tmp + fsync + rename); the
 *             train statistics of an episode are computed by the rank whose shard holds its first sample,
 *             over all its samples in order; all-gathered, merged in episode order (the same for any K)
 *   manifest  rank 0, last, after every rank reported success. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_fuse_int.h"

void tw_fuse_opts_init(tw_fuse_opts *o)
{
    memset(o, 0, sizeof *o);
    o->ratio_real = 1;
    o->ratio_sim = 1;
    o->frac[0] = 0.8;
    o->frac[1] = 0.1;
    o->frac[2] = 0.1;
    o->window = 1;
    o->shard_size = 65536;
    o->nranks = 1;
}

static int check_opts(const tw_fuse_opts *o, char *msg, size_t msgsz)
{
    if (!o->out_dir)
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --out is required");
    if (o->window < 1 || o->window > 4096)
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --window must be 1..4096");
    if (o->shard_size < 1 || o->shard_size > (1u << 26))
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --shard-size must be 1..%u samples", 1u << 26);
    if (!(o->ratio_real >= 0) || !(o->ratio_sim >= 0) || !(o->ratio_real + o->ratio_sim > 0) ||
        !isfinite(o->ratio_real + o->ratio_sim))
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --ratio R:S needs R, S >= 0 and R + S > 0");
    double f = o->frac[0] + o->frac[1] + o->frac[2];
    if (o->frac[0] < 0 || o->frac[1] < 0 || o->frac[2] < 0 || fabs(f - 1) > 1e-6)
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --split TRAIN/VAL/TEST must be >= 0 and sum to 1 (got %g)", f);
    if (o->rate_hz < 0 || o->rate_hz > 1e5)
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: --rate out of range");
    return 0;
}

static int load_map(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    char why[512];
    int rc = tw_map_load(c->o.map_path, &c->map, why, sizeof why);
    return rc ? tw_errf(msg, msgsz, rc, "fuse: %s", why) : 0;
}

/* Column layout and, with --model, the joint correspondence for forward kinematics. */
static int setup_features(tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    uint32_t nj = c->sig.nj;
    c->H = c->o.window;
    c->A = c->sig.na;
    c->sfeat[0] = (tw_fuse_feature){"qpos", "joint_pos", "rad", 0, nj};
    c->sfeat[1] = (tw_fuse_feature){"qvel", "joint_vel", "rad/s", nj, nj};
    c->nsfeat = 2;
    c->S = 2 * nj;
    c->afeat[0] = (tw_fuse_feature){"action", "action", c->sig.aunits[0] ? c->sig.aunits : "1", 0, c->A};
    if (!c->o.model_path)
        return 0;
    tw_mj_init();
    int rc = tw_robot_load(c->o.model_path, &c->robot, msg, msgsz);
    if (rc)
        return rc;
    if (c->robot->ee_site < 0)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: --model %s has no end-effector site for ee_pos/ee_quat",
                       c->o.model_path);
    char have[2048] = "";
    for (uint32_t k = 0; k < nj; k++) {
        c->ee_map[k] = tw_robot_find_joint(c->robot, c->sig.jnames[k]);
        if (c->ee_map[k] < 0 && k < c->sig.nj) {
            for (int i = 0; i < c->robot->njoint; i++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "", c->robot->jname[i]);
            return tw_errf(msg, msgsz, TW_EMISMATCH, "fuse: joint '%s' of %s is not in --model %s (model joints: %s)",
                           c->sig.jnames[k], c->sig_from, c->o.model_path, have);
        }
    }
    c->sfeat[2] = (tw_fuse_feature){"ee_pos", "ee", "m", 2 * nj, 3};
    c->sfeat[3] = (tw_fuse_feature){"ee_quat", "ee", "1", 2 * nj + 3, 4};
    c->nsfeat = 4;
    c->S = 2 * nj + 7;
    return 0;
}

/* Content hashes of this rank's episodes (i % K), made on a second thread: file reads and SHA-256 only,
 * no HDF5 or MPI, so it overlaps the passes on another core. */
typedef struct {
    const tw_fuse_ctx *c;
    char (*sha)[65];
    pthread_t th;
    int started, rc;
    char msg[1024];
} ep_hasher;

static void *hash_episodes(void *arg)
{
    ep_hasher *h = arg;
    const tw_fuse_ctx *c = h->c;
    for (size_t i = (size_t)c->o.rank; i < c->neps && !h->rc; i += (size_t)c->o.nranks) {
        char p[4200];
        snprintf(p, sizeof p, "%s/episode.h5", c->eps[i].dir);
        h->rc = tw_sha256_file(p, h->sha[i], h->msg, sizeof h->msg);
    }
    return NULL;
}

static int hasher_start(const tw_fuse_ctx *c, ep_hasher *h, char *msg, size_t msgsz)
{
    memset(h, 0, sizeof *h);
    h->c = c;
    if (!(h->sha = calloc(c->neps ? c->neps : 1, 65)))
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    h->started = pthread_create(&h->th, NULL, hash_episodes, h) == 0;
    return 0;
}

/* Waits for the hashes (makes them here if no thread could be started); frees on failure. */
static int hasher_join(ep_hasher *h, char *msg, size_t msgsz)
{
    if (h->started)
        pthread_join(h->th, NULL);
    else if (h->sha)
        hash_episodes(h);
    h->started = 0;
    if (h->rc) {
        free(h->sha);
        h->sha = NULL;
        return tw_errf(msg, msgsz, h->rc, "%s", h->msg);
    }
    return 0;
}

/* Pass 1 ran inside the scan, on each episode while it was open, and its results were exchanged with the
 * scan's (tw_fuse_scan_share); a failure is reported here, after the checks that precede pass 1, for the
 * first failed episode in episode order: the same on every rank. */
static int pass1(const tw_fuse_ctx *c, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < c->neps; i++)
        if (c->eps[i].count_rc)
            return tw_errf(msg, msgsz, c->eps[i].count_rc, "%s", c->eps[i].count_msg ? c->eps[i].count_msg : "");
    return 0;
}

/* Every rank learns every shard's hash (each rank hashed the shards it wrote). */
static int share_hashes(const tw_fuse_ctx *c, size_t nsh, char (*sha)[65], char *msg, size_t msgsz)
{
    size_t mine = 0;
    for (size_t j = (size_t)c->o.rank; j < nsh; j += (size_t)c->o.nranks)
        mine++;
    char *buf = malloc(mine * 65 + 1), *all = NULL;
    size_t *lens = NULL, k = 0;
    if (!buf)
        return tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    for (size_t j = (size_t)c->o.rank; j < nsh; j += (size_t)c->o.nranks)
        memcpy(buf + 65 * k++, sha[j], 65);
    int rc = tw_mpi_allgather(buf, mine * 65, (void **)&all, &lens, msg, msgsz);
    free(buf);
    if (rc)
        return rc;
    size_t off = 0;
    for (int r = 0; r < c->o.nranks; r++) {
        size_t n = lens[r] / 65;
        for (size_t i = 0; i < n; i++)
            memcpy(sha[(size_t)r + i * (size_t)c->o.nranks], all + off + 65 * i, 65);
        off += lens[r];
    }
    free(all);
    free(lens);
    return 0;
}

/* A failed run takes back the shards this rank finished, so nothing of it looks like a dataset. */
static void remove_own_shards(const tw_fuse_ctx *c, size_t nsh)
{
    for (size_t j = (size_t)c->o.rank; j < nsh; j += (size_t)c->o.nranks) {
        char name[32], path[4200];
        tw_shard_name((uint32_t)j, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", c->o.out_dir, name);
        remove(path);
    }
}

static void ctx_free(tw_fuse_ctx *c)
{
    tw_fuse_free_eps(c);
    tw_map_free(c->map);
    tw_robot_close(c->robot);
    for (int s = 0; s < 3; s++)
        free(c->order[s]);
    tw_stat_free(&c->st_state);
    tw_stat_free(&c->st_action);
    tw_stat_free(&c->st_delta);
}

static int write_and_finish(tw_fuse_ctx *c, ep_hasher *h, int rc, tw_fuse_result *res, char *msg, size_t msgsz);

/* Stages every rank runs alike; a failure on any rank fails all of them before the next collective. */
static int run_stages(tw_fuse_ctx *c, tw_fuse_result *res, char *msg, size_t msgsz)
{
    int rc;
    if ((rc = check_opts(&c->o, msg, msgsz)) || (rc = tw_fuse_out_prepare(c->o.out_dir, msg, msgsz)) ||
        (rc = load_map(c, msg, msgsz)) || (rc = tw_fuse_scan(c, msg, msgsz))) {
        tw_mpi_all_ok(0);
        return rc;
    }
    if (!tw_mpi_all_ok(1))
        return tw_errf(msg, msgsz, TW_EMPI, "fuse: another rank failed while scanning the sources");
    if ((rc = tw_fuse_scan_share(c, msg, msgsz)) || (rc = setup_features(c, msg, msgsz)) ||
        (rc = tw_fuse_plan_splits(c, msg, msgsz))) {
        tw_mpi_all_ok(0);
        return rc;
    }
    if (!tw_mpi_all_ok(1))
        return tw_errf(msg, msgsz, TW_EMPI, "fuse: another rank failed while scanning the sources");
    /* pass 1's outcome and the weights: the same on every rank (no collective until pass 2) */
    if (!(rc = pass1(c, msg, msgsz)) && !(rc = tw_fuse_plan_weights(c, msg, msgsz)) &&
        c->nsamples[0] + c->nsamples[1] + c->nsamples[2] == 0)
        rc = tw_errf(msg, msgsz, TW_EINVAL, "fuse: no samples: every episode is shorter than --window %u + 1 "
                     "valid steps", c->H);
    ep_hasher h = {0};
    if (!rc) /* from here a failure may be this rank's alone: it still makes pass 2's collectives */
        rc = write_and_finish(c, &h, hasher_start(c, &h, msg, msgsz), res, msg, msgsz);
    if (h.started)
        hasher_join(&h, NULL, 0);
    free(h.sha);
    for (int s = 0; s < 3; s++)
        res->samples[s] = c->nsamples[s];
    res->episodes = (uint32_t)c->neps;
    return rc;
}

/* Pass 2, the hash and statistics exchanges, the manifest; on failure this rank's shards are taken back.
 * rc: this rank already failed (it writes nothing, but takes part in the collectives, so no rank waits). */
static int write_and_finish(tw_fuse_ctx *c, ep_hasher *h, int rc, tw_fuse_result *res, char *msg, size_t msgsz)
{
    tw_fuse_shard *sh = NULL;
    size_t nsh = rc ? 0 : tw_fuse_plan_shards(c, &sh);
    char (*sha)[65] = rc ? NULL : calloc(nsh ? nsh : 1, 65);
    if (!rc && (!sh || !sha))
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "fuse: out of memory");
    char *stbuf = NULL;
    size_t stlen = 0;
    if (!rc)
        rc = tw_fuse_write_shards(c, sh, nsh, sha, &stbuf, &stlen, res, msg, msgsz);
    int hrc = hasher_join(h, rc ? NULL : msg, rc ? 0 : msgsz);
    rc = rc ? rc : hrc;
    if (!tw_mpi_all_ok(rc == 0)) {
        rc = rc ? rc : tw_errf(msg, msgsz, TW_EMPI, "fuse: another rank failed writing shards; no manifest written");
    } else if (!(rc = share_hashes(c, nsh, sha, msg, msgsz)) && !(rc = share_hashes(c, c->neps, h->sha, msg, msgsz)) &&
               !(rc = tw_fuse_merge_stats(c, stbuf, stlen, msg, msgsz))) {
        for (size_t i = 0; i < c->neps; i++)
            memcpy(c->eps[i].sha256, h->sha[i], sizeof c->eps[i].sha256);
        if (c->o.rank == 0)
            rc = tw_manifest_write(c, sh, nsh, sha, msg, msgsz);
    }
    free(stbuf);
    if (!tw_mpi_all_ok(rc == 0) && !rc)
        rc = tw_errf(msg, msgsz, TW_EMPI, "fuse: rank 0 failed writing the manifest");
    if (rc)
        remove_own_shards(c, nsh);
    free(sh);
    free(sha);
    return rc;
}

int tw_fuse_run(const tw_fuse_opts *o, tw_fuse_result *res, char *msg, size_t msgsz)
{
    tw_fuse_ctx c;
    memset(&c, 0, sizeof c);
    c.o = *o;
    memset(res, 0, sizeof *res);
    int rc = run_stages(&c, res, msg, msgsz);
    ctx_free(&c);
    return rc;
}
