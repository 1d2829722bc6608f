/* Shared pieces of the LeRobot and robomimic converters: see tw_convert_episodes.h. */
#define _XOPEN_SOURCE 700
#include "tw_convert_episodes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ files */

static void parent_of(const char *path, char *dir, size_t dirsz)
{
    snprintf(dir, dirsz, "%s", path);
    char *s = strrchr(dir, '/');
    if (!s)
        snprintf(dir, dirsz, ".");
    else if (s == dir)
        dir[1] = 0;
    else
        *s = 0;
}

int cv_commit(const char *tmp, const char *final, char *msg, size_t msgsz)
{
    if (rename(tmp, final) != 0)
        return tw_errf(msg, msgsz, TW_EIO, "rename %s -> %s: %s", tmp, final, strerror(errno));
    char dir[CV_PATH];
    parent_of(final, dir, sizeof dir);
    if (tw_fsync_path(dir) != 0)
        return tw_errf(msg, msgsz, TW_EIO, "fsync %s: %s", dir, strerror(errno));
    return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

void cv_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int cv_mkdirs(const char *path, char *msg, size_t msgsz)
{
    char buf[CV_PATH];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return tw_errf(msg, msgsz, TW_EIO, "mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "mkdir %s: %s", buf, strerror(errno));
    return 0;
}

char *cv_slurp(const char *path, size_t max, char *msg, size_t msgsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tw_errf(msg, msgsz, errno == ENOENT ? TW_ENOT_FOUND : TW_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        if (n == cap) {
            if (cap >= max) {
                tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: larger than %zu bytes", path, max);
                free(b), b = NULL;
                break;
            }
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b), b = NULL;
                break;
            }
            b = nb, cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (b)
        b[n] = 0;
    fclose(f);
    return b;
}

/* ------------------------------------------------------------------ one episode */

int cv_episode_begin(cv_episode *e, const char *out_root, const tw_episode_info *info, const tw_stream_decl *d,
                     size_t n, char *msg, size_t msgsz)
{
    memset(e, 0, sizeof *e);
    if (n > TW_MAX_STREAMS)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: %zu streams (at most %d)", info->episode_id, n,
                       TW_MAX_STREAMS);
    int rc = cv_mkdirs(out_root, msg, msgsz);
    if (rc)
        return rc;
    snprintf(e->final, sizeof e->final, "%s/%s", out_root, info->episode_id);
    snprintf(e->tmp, sizeof e->tmp, "%s/.%s.part", out_root, info->episode_id);
    struct stat st;
    if (stat(e->final, &st) == 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "%s already exists (remove it or choose another --out)", e->final);
    cv_rmtree(e->tmp); /* leftover of an interrupted run */
    tw_stream_decl dd[TW_MAX_STREAMS];
    for (size_t i = 0; i < n; i++) {
        dd[i] = d[i];
        dd[i].id = (uint16_t)(i + 1);
    }
    e->nstreams = n;
    return tw_episode_create(e->tmp, info, dd, n, &e->w, msg, msgsz);
}

int cv_episode_put(cv_episode *e, size_t i, int64_t t_ns, const void *payload, size_t len, int keyframe, char *msg,
                   size_t msgsz)
{
    tw_frame f = {.stream_id = (uint16_t)(i + 1), .flags = keyframe ? TW_FLAG_KEYFRAME : 0,
                  .payload_len = (uint32_t)len, .seq = e->seq[i]++, .t_src_ns = t_ns, .payload = payload};
    return tw_episode_append(e->w, &f, t_ns, msg, msgsz);
}

int cv_episode_commit(cv_episode *e, cv_batch *b, char *msg, size_t msgsz)
{
    int rc = tw_episode_close(e->w, TW_EP_COMPLETE, -1, msg, msgsz);
    e->w = NULL;
    if (rc)
        return rc;
    if (b->n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 16;
        void *t = realloc(b->tmp, nc * sizeof *b->tmp), *f = t ? realloc(b->final, nc * sizeof *b->final) : NULL;
        if (t)
            b->tmp = t;
        if (!t || !f)
            return TW_ENOMEM;
        b->final = f, b->cap = nc;
    }
    memcpy(b->tmp[b->n], e->tmp, CV_PATH);
    memcpy(b->final[b->n++], e->final, CV_PATH);
    e->tmp[0] = 0; /* the batch owns it now */
    return 0;
}

static void batch_free(cv_batch *b)
{
    free(b->tmp), free(b->final);
    memset(b, 0, sizeof *b);
}

int cv_batch_publish(cv_batch *b, char *msg, size_t msgsz)
{
    int rc = 0;
    for (size_t i = 0; i < b->n && !rc; i++)
        if (rename(b->tmp[i], b->final[i]) != 0)
            rc = tw_errf(msg, msgsz, TW_EIO, "rename %s -> %s: %s", b->tmp[i], b->final[i], strerror(errno));
    if (!rc && b->n) {
        char dir[CV_PATH];
        parent_of(b->final[0], dir, sizeof dir);
        if (tw_fsync_path(dir) != 0)
            rc = tw_errf(msg, msgsz, TW_EIO, "fsync %s: %s", dir, strerror(errno));
    }
    batch_free(b);
    return rc;
}

void cv_batch_abort(cv_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        cv_rmtree(b->tmp[i]);
    batch_free(b);
}

void cv_episode_abort(cv_episode *e)
{
    if (e->w) {
        char m[256];
        tw_episode_close(e->w, TW_EP_ERROR, -1, m, sizeof m);
        e->w = NULL;
    }
    if (e->tmp[0])
        cv_rmtree(e->tmp);
}

/* ------------------------------------------------------------------ importer options */

int cv_import_opt(cv_import_opts *io, int o, const char *arg)
{
    if (o == 'o')
        io->out = arg;
    else if (o == 'd')
        io->domain = arg;
    else if (o == 'z')
        io->compression = atoi(arg);
    return o == 'o' || o == 'd' || o == 'z';
}

int cv_import_opts_ok(const cv_import_opts *io)
{
    return io->out && io->domain && (!strcmp(io->domain, "real") || !strcmp(io->domain, "sim")) &&
           io->compression >= 0 && io->compression <= 9;
}

void cv_import_info(const cv_import_opts *io, tw_episode_info *info)
{
    tw_episode_info_init(info);
    info->domain = io->domain;
    info->compression = io->compression;
    info->software_version = TW_VERSION;
}

/* ------------------------------------------------------------------ SRC */

static int is_episode(const char *dir)
{
    char p[CV_PATH + 16];
    struct stat st;
    snprintf(p, sizeof p, "%s/episode.h5", dir);
    return stat(p, &st) == 0;
}

static int cmp_src(const void *a, const void *b)
{
    return strcmp(((const cv_src_episode *)a)->dir, ((const cv_src_episode *)b)->dir);
}

static int push_src(cv_src_episode **out, size_t *n, size_t *cap, const char *dir, const char *split, double w)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        cv_src_episode *r = realloc(*out, nc * sizeof *r);
        if (!r)
            return TW_ENOMEM;
        *out = r, *cap = nc;
    }
    cv_src_episode *s = &(*out)[(*n)++];
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->split, sizeof s->split, "%s", split);
    s->weight = w;
    return 0;
}

/* An episode of a fused manifest: its `dir` as written (relative to where `tw fuse` ran), else relative to
 * the manifest's folder. */
static int fused_dir(const char *src, const char *dir, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s", dir);
    if (is_episode(out))
        return 0;
    snprintf(out, outsz, "%s/%s", src, dir);
    if (is_episode(out))
        return 0;
    snprintf(out, outsz, "%s/../%s", src, dir);
    return is_episode(out) ? 0 : -1;
}

static int list_fused(const char *src, const char *mpath, cv_src_episode **out, size_t *n, char *msg, size_t msgsz)
{
    json_error_t je;
    json_t *m = json_load_file(mpath, 0, &je);
    if (!m)
        return tw_errf(msg, msgsz, TW_EJSON, "%s: line %d: %s", mpath, je.line, je.text);
    json_t *eps = json_object_get(m, "episodes"), *weights = json_object_get(m, "weights");
    int rc = json_is_array(eps) ? 0 : tw_errf(msg, msgsz, TW_ESCHEMA, "%s: field 'episodes' missing", mpath);
    size_t cap = 0, i;
    json_t *ep;
    json_array_foreach(eps, i, ep)
    {
        if (rc)
            break;
        const char *dir = json_string_value(json_object_get(ep, "dir"));
        const char *split = json_string_value(json_object_get(ep, "split"));
        const char *dom = json_string_value(json_object_get(ep, "domain"));
        if (!dir || !split || !dom) {
            rc = tw_errf(msg, msgsz, TW_ESCHEMA, "%s: episodes[%zu]: field 'dir', 'split' or 'domain' missing",
                         mpath, i);
            break;
        }
        char path[CV_PATH];
        if (fused_dir(src, dir, path, sizeof path) != 0) {
            rc = tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: episodes[%zu].dir: episode %s not found", mpath, i, dir);
            break;
        }
        json_t *wv = json_object_get(json_object_get(weights, split), dom);
        rc = push_src(out, n, &cap, path, split, json_is_number(wv) ? json_number_value(wv) : NAN);
    }
    json_decref(m);
    return rc;
}

int cv_src_list(const char *src, cv_src_episode **out, size_t *n, char *msg, size_t msgsz)
{
    *out = NULL, *n = 0;
    char p[CV_PATH];
    struct stat st;
    snprintf(p, sizeof p, "%s/manifest.json", src);
    if (stat(p, &st) == 0)
        return list_fused(src, p, out, n, msg, msgsz);
    size_t cap = 0;
    if (is_episode(src))
        return push_src(out, n, &cap, src, "", NAN);
    DIR *d = opendir(src);
    if (!d)
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: %s", src, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", src, de->d_name);
        if (is_episode(p))
            rc = push_src(out, n, &cap, p, "", NAN);
    }
    closedir(d);
    if (!rc && *n == 0)
        rc = tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: no episode (a folder holding episode.h5) and no manifest.json",
                     src);
    if (!rc)
        qsort(*out, *n, sizeof **out, cmp_src);
    return rc;
}
