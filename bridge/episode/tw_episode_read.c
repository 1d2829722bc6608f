/* Episode reader (schemas/episode.md). Opening checks the format, the version and the
 * structure every later read relies on; data is read in caller-chosen ranges so memory
 * stays bounded whatever the episode's length. */
#include "tw_episode_int.h"
#include "tw_h5.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int64_t get_i64_or(hid_t loc, const char *name, int64_t dflt)
{
    int64_t v;
    return tw_h5_get_i64(loc, name, &v) == 0 ? v : dflt;
}

static int read_version(tw_episode *e, char *msg, size_t msgsz)
{
    char fmt[64] = "", ver[32] = "";
    if (tw_h5_get_str(e->f, "format", fmt, sizeof fmt) != 0 || strcmp(fmt, TW_EPISODE_FORMAT) != 0)
        return tw_errf(msg, msgsz, TW_EBAD_MAGIC, "%s/%s: not a %s file (format attribute \"%s\")", e->dir,
                       TW_H5_NAME, TW_EPISODE_FORMAT, fmt);
    int major = -1, minor = -1;
    if (tw_h5_get_str(e->f, "format_version", ver, sizeof ver) != 0 || sscanf(ver, "%d.%d", &major, &minor) != 2)
        return tw_errf(msg, msgsz, TW_EVERSION, "%s: missing or malformed format_version \"%s\"", e->dir, ver);
    if (major != TW_EPISODE_MAJOR)
        return tw_errf(msg, msgsz, TW_EVERSION, "%s: format version %s, this build reads %d.x", e->dir, ver,
                       TW_EPISODE_MAJOR);
    e->meta.format_major = major;
    e->meta.format_minor = minor;
    return 0;
}

static void read_meta(tw_episode *e)
{
    tw_episode_meta *m = &e->meta;
    tw_h5_get_str(e->f, "episode_id", m->episode_id, sizeof m->episode_id);
    tw_h5_get_str(e->f, "session_id", m->session_id, sizeof m->session_id);
    tw_h5_get_str(e->f, "task", m->task, sizeof m->task);
    tw_h5_get_str(e->f, "operator", m->operator_, sizeof m->operator_);
    tw_h5_get_str(e->f, "robot", m->robot, sizeof m->robot);
    tw_h5_get_str(e->f, "domain", m->domain, sizeof m->domain);
    tw_h5_get_str(e->f, "status", m->status, sizeof m->status);
    tw_h5_get_str(e->f, "software_version", m->software_version, sizeof m->software_version);
    m->success = (int)get_i64_or(e->f, "success", -1);
    m->started_ns = get_i64_or(e->f, "started_ns", 0);
    m->ended_ns = get_i64_or(e->f, "ended_ns", 0);
    e->metadata = tw_h5_get_str_alloc(e->f, "metadata");
    e->sim_params = tw_h5_get_str_alloc(e->f, "sim_params");
}

/* Opens column k of a stream (t_src_ns, t_recv_ns, seq, data: the order of tw_rstream.ds) and keeps it open
 * for the reads that follow (tw_episode_data.c opens it only when this did not). Its rank and dims, or -1
 * when absent. */
static int open_column(hid_t g, tw_rstream *s, int k, hsize_t *dims, int maxrank)
{
    static const char *names[4] = {"t_src_ns", "t_recv_ns", "seq", "data"};
    if (H5Lexists(g, names[k], H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(g, names[k], H5P_DEFAULT);
    if (ds < 0)
        return -1;
    s->ds[k] = ds;
    hid_t sp = H5Dget_space(ds);
    int r = H5Sget_simple_extent_ndims(sp);
    if (r < 1 || r > maxrank || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        r = -1;
    H5Sclose(sp);
    return r;
}

/* Length of a 1-D column opened with open_column; -1 when absent. */
static int64_t column_len(hid_t g, tw_rstream *s, int k)
{
    hsize_t dims[8] = {0};
    return open_column(g, s, k, dims, 8) < 0 ? -1 : (int64_t)dims[0];
}

/* Checks that every column of a stream (and its video index) has the same length and data
 * has the declared shape: what tw_episode_read relies on. */
static int check_stream(tw_episode *e, tw_rstream *s, char *msg, size_t msgsz)
{
    hid_t g = H5Gopen2(e->f, s->group, H5P_DEFAULT);
    if (g < 0)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: cannot open /%s", e->dir, s->group);
    int64_t n = column_len(g, s, 0);
    int rc = 0;
    if (n < 0 || column_len(g, s, 1) != n || column_len(g, s, 2) != n)
        rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: stream %s: t_src_ns, t_recv_ns and seq missing or of different lengths",
                     e->dir, s->decl.name);
    hsize_t dims[TW_MAX_DIMS + 2];
    const tw_stream_decl *d = &s->decl;
    if (!rc && d->kind != TW_KIND_VIDEO) {
        int r = open_column(g, s, 3, dims, TW_MAX_DIMS + 1);
        int want = d->kind == TW_KIND_EVENT ? 1 : (int)d->ndim + 1;
        int ok = r == want && dims[0] == (hsize_t)n;
        for (int k = 1; ok && k < r; k++)
            ok = dims[k] == d->shape[k - 1];
        if (!ok)
            rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: stream %s: data missing or not of shape [%lld, declared shape]",
                         e->dir, d->name, (long long)n);
    }
    if (!rc && d->kind == TW_KIND_VIDEO) {
        char vp[TW_MAX_NAME + 16];
        snprintf(vp, sizeof vp, "video/%s", d->name);
        hid_t v = H5Gopen2(e->f, vp, H5P_DEFAULT);
        const char *cols[] = {"t_src_ns", "t_recv_ns", "pts", "keyframe", "size"};
        for (int k = 0; !rc && k < 5; k++)
            if (v < 0 || tw_h5_len(v, cols[k]) != n)
                rc = tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: video index of %s: %s missing or not %lld long", e->dir,
                             d->name, cols[k], (long long)n);
        if (v >= 0)
            H5Gclose(v);
    }
    s->st.samples = (uint64_t)(n < 0 ? 0 : n);
    s->st.drops = (uint64_t)get_i64_or(g, "drops", 0);
    s->st.recorder_drops = (uint64_t)get_i64_or(g, "recorder_drops", 0);
    s->st.gaps = (uint64_t)get_i64_or(g, "gaps", 0);
    s->st.missing = (uint64_t)get_i64_or(g, "missing", 0);
    s->st.out_of_order = (uint64_t)get_i64_or(g, "out_of_order", 0);
    s->st.t_src_backwards = (uint64_t)get_i64_or(g, "t_src_backwards", 0);
    s->st.nonmonotonic_t = (uint64_t)get_i64_or(g, "nonmonotonic_t", (int64_t)s->st.t_src_backwards);
    s->st.duplicates = (uint64_t)get_i64_or(g, "duplicates", 0);
    s->st.resets = (uint64_t)get_i64_or(g, "resets", 0);
    s->st.nonfinite = (uint64_t)get_i64_or(g, "nonfinite", 0);
    H5Gclose(g);
    return rc;
}

typedef struct {
    tw_episode *e;
    size_t cap;               /* streams e->s has room for */
    int rc;
    char *msg;
    size_t msgsz;
} iter_ctx;

static herr_t on_stream(hid_t grp, const char *name, const H5L_info_t *info, void *ud)
{
    iter_ctx *c = ud;
    tw_episode *e = c->e;
    if (e->n >= TW_MAX_STREAMS || e->n >= c->cap) {
        c->rc = tw_errf(c->msg, c->msgsz, TW_EINTEGRITY, "%s: more than %d streams", e->dir,
                        e->n >= TW_MAX_STREAMS ? TW_MAX_STREAMS : (int)c->cap);
        return 1;
    }
    tw_rstream *s = &e->s[e->n];
    snprintf(s->group, sizeof s->group, "streams/%s", name);
    hid_t g = H5Gopen2(grp, name, H5P_DEFAULT);
    char *json = g >= 0 ? tw_h5_get_str_alloc(g, "declaration") : NULL;
    s->index = g >= 0 ? (int)get_i64_or(g, "index", (int64_t)e->n) : 0;
    if (g >= 0)
        H5Gclose(g);
    if (!json) {
        c->rc = tw_errf(c->msg, c->msgsz, TW_EINTEGRITY, "%s: stream %s has no declaration", e->dir, name);
        return 1;
    }
    char m[256];
    int rc = tw_decl_from_json(json, strlen(json), &s->decl, m, sizeof m);
    free(json);
    if (rc) {
        c->rc = tw_errf(c->msg, c->msgsz, rc, "%s: declaration of stream %s: %s", e->dir, name, m);
        return 1;
    }
    e->n++;
    return 0;
}

static int by_index(const void *a, const void *b)
{
    return ((const tw_rstream *)a)->index - ((const tw_rstream *)b)->index;
}

static int read_streams(tw_episode *e, char *msg, size_t msgsz)
{
    hid_t g = H5Gopen2(e->f, "streams", H5P_DEFAULT);
    if (g < 0)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: no /streams group", e->dir);
    /* room for the streams there are (one more past the limit, to say so): a declaration is 4 KB, and
     * zeroing TW_MAX_STREAMS of them was a good part of an open */
    H5G_info_t gi;
    size_t cap = H5Gget_info(g, &gi) < 0 ? TW_MAX_STREAMS : gi.nlinks < TW_MAX_STREAMS ? gi.nlinks : TW_MAX_STREAMS;
    e->s = calloc(cap ? cap : 1, sizeof *e->s);
    if (!e->s) {
        H5Gclose(g);
        return tw_errf(msg, msgsz, TW_ENOMEM, "episode reader");
    }
    iter_ctx c = {e, cap, 0, msg, msgsz};
    herr_t r = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, on_stream, &c);
    H5Gclose(g);
    if (c.rc)
        return c.rc;
    if (r < 0)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: cannot list /streams", e->dir);
    qsort(e->s, e->n, sizeof *e->s, by_index);
    for (size_t i = 0; i < e->n; i++) {
        int rc = check_stream(e, &e->s[i], msg, msgsz);
        if (rc)
            return rc;
    }
    return 0;
}

static void close_locked(tw_episode *e);

static int open_locked(const char *dir, tw_episode **out, char *msg, size_t msgsz)
{
    *out = NULL;
    char p[PATH_MAX + 32];
    struct stat st;
    snprintf(p, sizeof p, "%s/" TW_H5_NAME, dir);
    if (stat(p, &st) != 0) {
        snprintf(p, sizeof p, "%s/" TW_JOURNAL_NAME, dir);
        if (stat(p, &st) == 0)
            return tw_errf(msg, msgsz, TW_ESTATE, "%s: episode is being recorded or was interrupted (run `tw recover %s`)",
                           dir, dir);
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: no %s", dir, TW_H5_NAME);
    }
    tw_h5_quiet();
    tw_episode *e = calloc(1, sizeof *e);
    if (!e)
        return tw_errf(msg, msgsz, TW_ENOMEM, "episode reader");
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    e->f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rc = e->f < 0 ? tw_errf(msg, msgsz, TW_EHDF5, "%s: not a readable HDF5 file (truncated or corrupt?)", p) : 0;
    if (!rc)
        rc = read_version(e, msg, msgsz);
    if (!rc) {
        read_meta(e);
        rc = read_streams(e, msg, msgsz);
    }
    if (rc) {
        close_locked(e);
        return rc;
    }
    *out = e;
    return 0;
}

static void close_locked(tw_episode *e)
{
    if (!e)
        return;
    for (size_t i = 0; e->s && i < e->n; i++)
        for (int k = 0; k < 4; k++)
            if (e->s[i].ds[k] > 0) {
                tw_h5_forget(e->s[i].ds[k]);
                H5Dclose(e->s[i].ds[k]);
            }
    if (e->f > 0)
        H5Fclose(e->f);
    free(e->metadata);
    free(e->sim_params);
    free(e->s);
    free(e);
}

const tw_episode_meta *tw_episode_get_meta(const tw_episode *e) { return &e->meta; }
const char *tw_episode_path(const tw_episode *e) { return e->dir; }
size_t tw_episode_nstreams(const tw_episode *e) { return e->n; }

const char *tw_episode_get_json(const tw_episode *e, const char *key)
{
    const char *v = !strcmp(key, "metadata") ? e->metadata : !strcmp(key, "sim_params") ? e->sim_params : NULL;
    return v && *v ? v : NULL;
}

const tw_stream_decl *tw_episode_decl(const tw_episode *e, size_t i) { return i < e->n ? &e->s[i].decl : NULL; }

int tw_episode_find_stream(const tw_episode *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->s[i].decl.name, name))
            return (int)i;
    return -1;
}

uint64_t tw_episode_nsamples(const tw_episode *e, size_t i) { return i < e->n ? e->s[i].st.samples : 0; }
uint64_t tw_episode_drops(const tw_episode *e, size_t i) { return i < e->n ? e->s[i].st.drops : 0; }

int tw_episode_get_stats(const tw_episode *e, size_t i, tw_episode_stream_stats *out)
{
    if (i >= e->n)
        return TW_EINVAL;
    *out = e->s[i].st;
    return 0;
}

int tw_episode_open(const char *dir, tw_episode **out, char *msg, size_t msgsz)
{
    tw_h5_lock();
    int rc = open_locked(dir, out, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

void tw_episode_close_reader(tw_episode *e)
{
    tw_h5_lock();
    close_locked(e);
    tw_h5_unlock();
}
