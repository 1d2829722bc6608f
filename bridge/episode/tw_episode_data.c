/* Episode reader, data side: sample ranges, texts, events, clock and video index.
 * Separate from tw_episode_read.c (open/metadata) to keep files short; shares its struct. */
#include "tw_episode_int.h"
#include "tw_h5.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int range_ok(const tw_episode *e, size_t i, uint64_t start, uint64_t count, char *msg, size_t msgsz)
{
    if (i >= e->n)
        return tw_errf(msg, msgsz, TW_EINVAL, "stream index %zu of %zu", i, e->n);
    if (start > e->s[i].st.samples || count > e->s[i].st.samples - start)
        return tw_errf(msg, msgsz, TW_EINVAL, "stream %s: samples [%llu, +%llu) outside [0, %llu)", e->s[i].decl.name,
                       (unsigned long long)start, (unsigned long long)count,
                       (unsigned long long)e->s[i].st.samples);
    return 0;
}

/* Dataset k of stream i, kept open for the reader's life: per-call opens would dominate the
 * small range reads replay and fuse make. The reader is not shared between threads. */
static hid_t stream_ds(const tw_episode *e, size_t i, int k)
{
    static const char *names[4] = {"t_src_ns", "t_recv_ns", "seq", "data"};
    tw_rstream *s = (tw_rstream *)&e->s[i];
    if (s->ds[k] <= 0) {
        char p[TW_MAX_NAME + 32];
        snprintf(p, sizeof p, "%s/%s", s->group, names[k]);
        s->ds[k] = H5Dopen2(e->f, p, H5P_DEFAULT);
    }
    return s->ds[k];
}

static int read_samples(const tw_episode *e, size_t i, uint64_t start, uint64_t count, int64_t *t_src_ns,
                        int64_t *t_recv_ns, uint64_t *seq, double *data, char *msg, size_t msgsz)
{
    int rc = range_ok(e, i, start, count, msg, msgsz);
    const tw_rstream *s = i < e->n ? &e->s[i] : NULL;
    if (s && data && (s->decl.kind == TW_KIND_VIDEO || s->decl.kind == TW_KIND_EVENT))
        return tw_errf(msg, msgsz, TW_EKIND, "stream %s: %s samples are not numeric (use the video index or "
                       "tw_episode_read_text)", s->decl.name, tw_kind_name(s->decl.kind));
    if (rc)
        return rc;
    void *out[4] = {t_src_ns, t_recv_ns, seq, data};
    hid_t types[4] = {H5T_NATIVE_INT64, H5T_NATIVE_INT64, H5T_NATIVE_UINT64, H5T_NATIVE_DOUBLE};
    int r = 0;
    for (int k = 0; !r && k < 4; k++)
        if (out[k])
            r = tw_h5_read_ds(stream_ds(e, i, k), types[k], start, count, out[k]);
    return r ? tw_errf(msg, msgsz, TW_EHDF5, "%s: read stream %s (file corrupt?)", e->dir, s->decl.name) : 0;
}

/* Reads rows of a variable-length string dataset into malloc'd copies. */
static int read_strings(hid_t loc, const char *name, uint64_t start, uint64_t count, char **out)
{
    if (count == 0)
        return 0;
    char **tmp = calloc(count, sizeof *tmp);
    hid_t t = tw_h5_vlstr();
    int r = tmp ? tw_h5_read_rows(loc, name, t, start, count, tmp) : -1;
    for (uint64_t k = 0; k < count; k++) {
        out[k] = r == 0 ? strdup(tmp[k] ? tmp[k] : "") : NULL;
        if (r == 0 && !out[k])
            r = -1;
    }
    if (tmp && r != -1) {
        hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
        hsize_t n = count;
        hid_t ms = H5Screate_simple(1, &n, NULL);
        H5Dvlen_reclaim(t, ms, H5P_DEFAULT, tmp);
        H5Sclose(ms);
        H5Dclose(ds);
    }
    H5Tclose(t);
    free(tmp);
    return r;
}

static int read_text(const tw_episode *e, size_t i, uint64_t start, uint64_t count, char **texts, char *msg,
                     size_t msgsz)
{
    int rc = range_ok(e, i, start, count, msg, msgsz);
    if (rc)
        return rc;
    if (e->s[i].decl.kind != TW_KIND_EVENT)
        return tw_errf(msg, msgsz, TW_EKIND, "stream %s is not an event stream", e->s[i].decl.name);
    hid_t g = H5Gopen2(e->f, e->s[i].group, H5P_DEFAULT);
    int r = g < 0 ? -1 : read_strings(g, "data", start, count, texts);
    if (g >= 0)
        H5Gclose(g);
    if (r) {
        for (uint64_t k = 0; k < count; k++) {
            free(texts[k]);
            texts[k] = NULL;
        }
        return tw_errf(msg, msgsz, TW_EHDF5, "%s: read texts of %s", e->dir, e->s[i].decl.name);
    }
    return 0;
}

static int read_clock(const tw_episode *e, tw_clock_sample **out, size_t *n, char *msg, size_t msgsz)
{
    *out = NULL;
    *n = 0;
    hid_t g = H5Gopen2(e->f, "clock", H5P_DEFAULT);
    if (g < 0)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: no /clock group", e->dir);
    int64_t len = tw_h5_len(g, "t_server_ns");
    int rc = len < 0 || tw_h5_len(g, "offset_ns") != len || tw_h5_len(g, "rtt_ns") != len
                 ? tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: /clock columns missing or of different lengths", e->dir) : 0;
    int64_t *buf = rc || len == 0 ? NULL : malloc((size_t)len * 3 * sizeof *buf);
    if (!rc && len > 0 && !buf)
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "clock samples");
    if (!rc && len > 0 &&
        (tw_h5_read_rows(g, "t_server_ns", H5T_NATIVE_INT64, 0, (uint64_t)len, buf) |
         tw_h5_read_rows(g, "offset_ns", H5T_NATIVE_INT64, 0, (uint64_t)len, buf + len) |
         tw_h5_read_rows(g, "rtt_ns", H5T_NATIVE_INT64, 0, (uint64_t)len, buf + 2 * len)))
        rc = tw_errf(msg, msgsz, TW_EHDF5, "%s: read /clock", e->dir);
    tw_clock_sample *c = !rc && len > 0 ? malloc((size_t)len * sizeof *c) : NULL;
    if (!rc && len > 0 && !c)
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "clock samples");
    for (int64_t k = 0; !rc && k < len; k++)
        c[k] = (tw_clock_sample){buf[k], buf[len + k], buf[2 * len + k]};
    free(buf);
    H5Gclose(g);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    *n = (size_t)(len > 0 ? len : 0);
    return 0;
}

static int read_events(const tw_episode *e, tw_episode_ev **out, size_t *n, char *msg, size_t msgsz)
{
    *out = NULL;
    *n = 0;
    hid_t g = H5Gopen2(e->f, "events", H5P_DEFAULT);
    if (g < 0)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: no /events group", e->dir);
    int64_t len = tw_h5_len(g, "t_ns");
    int rc = len < 0 || tw_h5_len(g, "kind") != len || tw_h5_len(g, "label") != len || tw_h5_len(g, "data") != len
                 ? tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: /events columns missing or of different lengths", e->dir) : 0;
    tw_episode_ev *ev = !rc && len > 0 ? calloc((size_t)len, sizeof *ev) : NULL;
    int64_t *t = !rc && len > 0 ? malloc((size_t)len * 8) : NULL;
    char **s = !rc && len > 0 ? calloc((size_t)len * 3, sizeof *s) : NULL;
    if (!rc && len > 0 && (!ev || !t || !s))
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "events");
    if (!rc && len > 0 &&
        (tw_h5_read_rows(g, "t_ns", H5T_NATIVE_INT64, 0, (uint64_t)len, t) |
         read_strings(g, "kind", 0, (uint64_t)len, s) | read_strings(g, "label", 0, (uint64_t)len, s + len) |
         read_strings(g, "data", 0, (uint64_t)len, s + 2 * len)))
        rc = tw_errf(msg, msgsz, TW_EHDF5, "%s: read /events", e->dir);
    for (int64_t k = 0; !rc && k < len; k++) {
        ev[k].t_ns = t[k];
        snprintf(ev[k].kind, sizeof ev[k].kind, "%s", s[k] ? s[k] : "");
        snprintf(ev[k].label, sizeof ev[k].label, "%s", s[len + k] ? s[len + k] : "");
        snprintf(ev[k].data, sizeof ev[k].data, "%s", s[2 * len + k] ? s[2 * len + k] : "");
    }
    for (int64_t k = 0; s && k < 3 * len; k++)
        free(s[k]);
    free(s);
    free(t);
    H5Gclose(g);
    if (rc) {
        free(ev);
        return rc;
    }
    *out = ev;
    *n = (size_t)(len > 0 ? len : 0);
    return 0;
}

static int read_video_index(const tw_episode *e, size_t i, tw_video_index_entry **out, size_t *n, char *path,
                            size_t pathsz, char *msg, size_t msgsz)
{
    *out = NULL;
    *n = 0;
    if (i >= e->n || e->s[i].decl.kind != TW_KIND_VIDEO)
        return tw_errf(msg, msgsz, TW_EKIND, "stream %zu is not a video stream", i);
    char gp[TW_MAX_NAME + 16];
    snprintf(gp, sizeof gp, "video/%s", e->s[i].decl.name);
    hid_t g = H5Gopen2(e->f, gp, H5P_DEFAULT);
    if (g < 0)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: no /%s", e->dir, gp);
    char file[TW_MAX_NAME + 16] = "";
    tw_h5_get_str(g, "file", file, sizeof file);
    if (path)
        snprintf(path, pathsz, "%s/%s", e->dir, file);
    uint64_t len = e->s[i].st.samples;
    tw_video_index_entry *v = len ? calloc(len, sizeof *v) : NULL;
    int64_t *a = len ? malloc(len * 8 * 3) : NULL;
    uint32_t *sz = len ? malloc(len * 4) : NULL;
    uint8_t *key = len ? malloc(len) : NULL;
    int rc = len && (!v || !a || !sz || !key) ? tw_errf(msg, msgsz, TW_ENOMEM, "video index") : 0;
    if (!rc && len &&
        (tw_h5_read_rows(g, "t_src_ns", H5T_NATIVE_INT64, 0, len, a) |
         tw_h5_read_rows(g, "t_recv_ns", H5T_NATIVE_INT64, 0, len, a + len) |
         tw_h5_read_rows(g, "pts", H5T_NATIVE_INT64, 0, len, a + 2 * len) |
         tw_h5_read_rows(g, "size", H5T_NATIVE_UINT32, 0, len, sz) |
         tw_h5_read_rows(g, "keyframe", H5T_NATIVE_UINT8, 0, len, key)))
        rc = tw_errf(msg, msgsz, TW_EHDF5, "%s: read /%s", e->dir, gp);
    for (uint64_t k = 0; !rc && k < len; k++)
        v[k] = (tw_video_index_entry){a[k], a[len + k], a[2 * len + k], key[k], sz[k]};
    free(a);
    free(sz);
    free(key);
    H5Gclose(g);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return 0;
}

/* ---- public entry points: the same, holding the HDF5 lock ---- */

int tw_episode_read(const tw_episode *e, size_t i, uint64_t start, uint64_t count, int64_t *t_src_ns,
                    int64_t *t_recv_ns, uint64_t *seq, double *data, char *msg, size_t msgsz)
{
    tw_h5_lock();
    int rc = read_samples(e, i, start, count, t_src_ns, t_recv_ns, seq, data, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

int tw_episode_read_text(const tw_episode *e, size_t i, uint64_t start, uint64_t count, char **texts,
                         char *msg, size_t msgsz)
{
    tw_h5_lock();
    int rc = read_text(e, i, start, count, texts, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

int tw_episode_read_clock(const tw_episode *e, tw_clock_sample **out, size_t *n, char *msg, size_t msgsz)
{
    tw_h5_lock();
    int rc = read_clock(e, out, n, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

int tw_episode_read_events(const tw_episode *e, tw_episode_ev **out, size_t *n, char *msg, size_t msgsz)
{
    tw_h5_lock();
    int rc = read_events(e, out, n, msg, msgsz);
    tw_h5_unlock();
    return rc;
}

int tw_episode_read_video_index(const tw_episode *e, size_t i, tw_video_index_entry **out, size_t *n,
                                char *path, size_t pathsz, char *msg, size_t msgsz)
{
    tw_h5_lock();
    int rc = read_video_index(e, i, out, n, path, pathsz, msg, msgsz);
    tw_h5_unlock();
    return rc;
}
