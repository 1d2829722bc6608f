/* Episode writer. While recording, everything goes to the append-only journal
 * (tw_episode_journal.c) in per-stream batches, and video to its Matroska file; episode.h5
 * is built from the journal at close (or by recovery after a crash). The hot path,
 * tw_episode_append, copies one sample into preallocated arrays and allocates nothing. */
#include "tw_episode_int.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH_BYTES (1u << 20) /* bound on one stream's buffered data */
#define NO_STREAM 0xFF

typedef struct {
    tw_stream_decl decl;
    int layout;
    size_t sbytes;     /* fixed layout: bytes per sample */
    uint32_t cap, n;   /* samples per batch, samples buffered */
    int64_t *t_src, *t_recv;
    uint64_t *seq;
    uint8_t *data;     /* fixed: cap*sbytes; text: bytes of the buffered texts */
    size_t dlen, dcap;
    uint32_t *lens;    /* text: length of each buffered text */
    int64_t *pts;      /* video index */
    uint32_t *vsize;
    uint8_t *key;
    uint64_t drops, drops_logged;
    uint64_t dups_logged;
    tw_seqtrack trk;   /* resends and order, as the builder and `tw inspect` count them (tw_wire.h, "sequence numbers") */
    tw_video_writer *video;
    struct tw_episode_writer *w; /* for the video callback */
} ep_stream;

struct tw_episode_writer {
    char dir[PATH_MAX];
    size_t n;
    ep_stream *s;
    uint8_t map[65536]; /* stream id -> index, NO_STREAM when undeclared */
    tw_journal j;
    int err;            /* sticky: after a failed write only close is useful */
    char errmsg[256];
};

void tw_episode_info_init(tw_episode_info *info)
{
    memset(info, 0, sizeof *info);
    info->domain = "real";
    info->compression = 1;
    info->chunk_samples = 1024;
}

static int fail(tw_episode_writer *w, int rc, const char *m, char *msg, size_t msgsz)
{
    if (rc == TW_ENOSPACE || rc == TW_EIO || rc == TW_EAV) {
        w->err = rc;
        snprintf(w->errmsg, sizeof w->errmsg, "%s", m);
    }
    return tw_errf(msg, msgsz, rc, "%s", m);
}

/* Writes the buffered samples of s as one journal record. */
static int emit_batch(tw_episode_writer *w, ep_stream *s, char *msg, size_t msgsz)
{
    if (s->n == 0)
        return 0;
    tw_batch_hdr h = {(uint16_t)(s - w->s), (uint16_t)s->layout, s->n};
    size_t n = s->n;
    struct iovec v[8] = {{&h, sizeof h}, {s->t_src, n * 8}, {s->t_recv, n * 8}, {s->seq, n * 8}};
    int k = 4;
    if (s->layout == TW_LAYOUT_FIXED) {
        v[k++] = (struct iovec){s->data, n * s->sbytes};
    } else if (s->layout == TW_LAYOUT_TEXT) {
        v[k++] = (struct iovec){s->lens, n * 4};
        v[k++] = (struct iovec){s->data, s->dlen};
    } else {
        v[k++] = (struct iovec){s->pts, n * 8};
        v[k++] = (struct iovec){s->vsize, n * 4};
        v[k++] = (struct iovec){s->key, n};
    }
    char m[256];
    int rc = tw_journal_write(&w->j, TW_REC_BATCH, v, k, m, sizeof m);
    if (rc)
        return fail(w, rc, m, msg, msgsz);
    s->n = 0;
    s->dlen = 0;
    return 0;
}

static int on_video_frame(void *ud, const tw_video_emit *e)
{
    ep_stream *s = ud;
    if (s->n == s->cap && emit_batch(s->w, s, NULL, 0) != 0)
        return -1;
    uint32_t i = s->n;
    s->t_src[i] = e->t_src_ns;
    s->t_recv[i] = e->t_recv_ns;
    s->seq[i] = e->seq;
    s->pts[i] = e->pts;
    s->vsize[i] = e->size;
    s->key[i] = (uint8_t)e->keyframe;
    s->n++;
    return 0;
}

static int stream_init(tw_episode_writer *w, ep_stream *s, const tw_stream_decl *d, uint32_t chunk,
                       char *msg, size_t msgsz)
{
    s->decl = *d;
    s->w = w;
    s->layout = d->kind == TW_KIND_VIDEO ? TW_LAYOUT_VIDEO : d->kind == TW_KIND_EVENT ? TW_LAYOUT_TEXT : TW_LAYOUT_FIXED;
    s->sbytes = tw_decl_sample_bytes(d);
    if (s->layout == TW_LAYOUT_FIXED && (s->sbytes == 0 || s->sbytes > BATCH_BYTES))
        return tw_errf(msg, msgsz, TW_ESHAPE, "stream %s: sample size %zu", d->name, s->sbytes);
    s->cap = chunk;
    if (s->layout == TW_LAYOUT_FIXED && (size_t)s->cap * s->sbytes > BATCH_BYTES)
        s->cap = (uint32_t)(BATCH_BYTES / s->sbytes);
    s->t_src = malloc(s->cap * sizeof *s->t_src);
    s->t_recv = malloc(s->cap * sizeof *s->t_recv);
    s->seq = malloc(s->cap * sizeof *s->seq);
    if (s->layout == TW_LAYOUT_FIXED) {
        s->dcap = s->cap * s->sbytes;
        s->data = malloc(s->dcap);
    } else if (s->layout == TW_LAYOUT_TEXT) {
        s->dcap = BATCH_BYTES;
        s->data = malloc(s->dcap);
        s->lens = malloc(s->cap * sizeof *s->lens);
    } else {
        s->data = malloc(1); /* unused; keeps the allocation check uniform */
        s->pts = malloc(s->cap * sizeof *s->pts);
        s->vsize = malloc(s->cap * sizeof *s->vsize);
        s->key = malloc(s->cap);
    }
    if (!s->t_src || !s->t_recv || !s->seq || !s->data || (s->layout == TW_LAYOUT_TEXT && !s->lens) ||
        (s->layout == TW_LAYOUT_VIDEO && (!s->pts || !s->vsize || !s->key)))
        return tw_errf(msg, msgsz, TW_ENOMEM, "stream %s buffers", d->name);
    if (s->layout != TW_LAYOUT_VIDEO)
        return 0;
    char path[PATH_MAX + TW_MAX_NAME + 8];
    snprintf(path, sizeof path, "%s/%s.mkv", w->dir, d->name);
    return tw_epv_open(path, d, on_video_frame, s, &s->video, msg, msgsz);
}

static void stream_free(ep_stream *s)
{
    free(s->t_src);
    free(s->t_recv);
    free(s->seq);
    free(s->data);
    free(s->lens);
    free(s->pts);
    free(s->vsize);
    free(s->key);
    tw_epv_close(s->video, 1, NULL, 0);
}

static void writer_free(tw_episode_writer *w)
{
    for (size_t i = 0; i < w->n; i++)
        stream_free(&w->s[i]);
    free(w->s);
    tw_journal_close(&w->j);
    free(w);
}

static int check_info(const char *dir, const tw_episode_info *info, const tw_stream_decl *decls,
                      size_t n, char *msg, size_t msgsz)
{
    if (!dir || !info || !info->episode_id || !*info->episode_id)
        return tw_errf(msg, msgsz, TW_EINVAL, "episode: directory and episode_id are required");
    if (n > TW_MAX_STREAMS || (n && !decls))
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "episode: %zu streams (max %d)", n, TW_MAX_STREAMS);
    if (strlen(dir) > PATH_MAX - 64)
        return tw_errf(msg, msgsz, TW_EINVAL, "episode: directory name too long");
    for (size_t i = 0; i < n; i++) {
        int rc = tw_decl_validate(&decls[i], msg, msgsz);
        if (rc)
            return rc;
        for (size_t k = 0; k < i; k++)
            if (decls[k].id == decls[i].id || !strcmp(decls[k].name, decls[i].name))
                return tw_errf(msg, msgsz, TW_EDUP_STREAM, "episode: stream %s (id %u) declared twice",
                               decls[i].name, decls[i].id);
    }
    return 0;
}

static int write_head(tw_episode_writer *w, const tw_episode_info *info, const tw_stream_decl *decls,
                      size_t n, char *msg, size_t msgsz)
{
    char *head = NULL;
    int rc = tw_episode_head_encode(info, decls, n, &head, msg, msgsz);
    if (rc)
        return rc;
    struct iovec v = {head, strlen(head)};
    rc = tw_journal_write(&w->j, TW_REC_HEAD, &v, 1, msg, msgsz);
    free(head);
    if (!rc)
        rc = tw_journal_sync(&w->j, msg, msgsz);
    return rc ? rc : tw_fsync_dir(w->dir, msg, msgsz);
}

int tw_episode_create(const char *dir, const tw_episode_info *info, const tw_stream_decl *decls,
                      size_t ndecls, tw_episode_writer **out, char *msg, size_t msgsz)
{
    *out = NULL;
    int rc = check_info(dir, info, decls, ndecls, msg, msgsz);
    if (rc)
        return rc;
    if (mkdir(dir, 0755) != 0)
        return tw_errf(msg, msgsz, errno == ENOSPC ? TW_ENOSPACE : errno == EEXIST ? TW_ESTATE : TW_EIO,
                       "create episode %s: %s", dir, strerror(errno));
    tw_episode_writer *w = calloc(1, sizeof *w);
    if (!w)
        return tw_errf(msg, msgsz, TW_ENOMEM, "episode writer");
    w->j.fd = -1;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    memset(w->map, NO_STREAM, sizeof w->map);
    w->s = calloc(ndecls ? ndecls : 1, sizeof *w->s);
    if (!w->s) {
        free(w);
        return tw_errf(msg, msgsz, TW_ENOMEM, "episode writer");
    }
    uint32_t chunk = info->chunk_samples ? info->chunk_samples : 1024;
    if (chunk > 65536)
        chunk = 65536;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" TW_JOURNAL_NAME, dir);
    rc = tw_journal_create(&w->j, path, msg, msgsz);
    if (!rc)
        rc = write_head(w, info, decls, ndecls, msg, msgsz);
    for (size_t i = 0; !rc && i < ndecls; i++, w->n++) {
        rc = stream_init(w, &w->s[i], &decls[i], chunk, msg, msgsz);
        w->map[decls[i].id] = (uint8_t)i;
    }
    if (rc) {
        /* nothing was appended yet: remove what was created, so a full disk leaves no trail of
         * empty episode folders (the caller gets the error) */
        for (size_t i = 0; i < w->n; i++) {
            char vp[PATH_MAX + TW_MAX_NAME + 8];
            snprintf(vp, sizeof vp, "%s/%s.mkv", dir, w->s[i].decl.name);
            if (w->s[i].layout == TW_LAYOUT_VIDEO)
                unlink(vp);
        }
        writer_free(w);
        unlink(path);
        rmdir(dir);
        return rc;
    }
    *out = w;
    return 0;
}

static int append_text(tw_episode_writer *w, ep_stream *s, const tw_frame *f, char *msg, size_t msgsz)
{
    if (f->payload_len > TW_MAX_EVENT_BYTES)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "stream %s: event of %u bytes", s->decl.name, f->payload_len);
    if (s->dlen + f->payload_len > s->dcap) {
        int rc = emit_batch(w, s, msg, msgsz);
        if (rc)
            return rc;
    }
    memcpy(s->data + s->dlen, f->payload, f->payload_len);
    s->dlen += f->payload_len;
    s->lens[s->n] = f->payload_len;
    return 0;
}

int tw_episode_append(tw_episode_writer *w, const tw_frame *f, int64_t t_recv_ns, char *msg, size_t msgsz)
{
    if (w->err)
        return tw_errf(msg, msgsz, w->err, "episode %s: %s", w->dir, w->errmsg);
    uint8_t idx = w->map[f->stream_id];
    if (idx == NO_STREAM)
        return tw_errf(msg, msgsz, TW_EUNKNOWN_STREAM, "episode: stream id %u not declared", f->stream_id);
    ep_stream *s = &w->s[idx];
    int rc = 0;
    if (s->layout == TW_LAYOUT_FIXED && f->payload_len != s->sbytes)
        return tw_errf(msg, msgsz, TW_ESHAPE, "stream %s: payload of %u bytes, expected %zu",
                       s->decl.name, f->payload_len, s->sbytes);
    if (tw_seq_track(&s->trk, f->seq) == TW_SEQ_DUP)
        return 0; /* a resend of a stored sample: counted, not stored twice */
    tw_seq_time(&s->trk, f->t_src_ns);
    if (s->layout == TW_LAYOUT_FIXED)
        s->trk.c.nonfinite += (uint64_t)tw_seq_nonfinite(s->decl.dtype, f->payload, s->sbytes / tw_dtype_size(s->decl.dtype));
    if (s->layout == TW_LAYOUT_VIDEO) {
        char m[256];
        rc = tw_epv_write(s->video, f->payload, f->payload_len, f->t_src_ns, t_recv_ns, f->seq,
                                   (f->flags & TW_FLAG_KEYFRAME) != 0, m, sizeof m);
        if (rc)
            return fail(w, rc, m, msg, msgsz);
        return s->n == s->cap ? emit_batch(w, s, msg, msgsz) : 0;
    }
    if (s->layout == TW_LAYOUT_FIXED) {
        memcpy(s->data + (size_t)s->n * s->sbytes, f->payload, s->sbytes);
    } else if ((rc = append_text(w, s, f, msg, msgsz)) != 0) {
        return rc;
    }
    uint32_t i = s->n++;
    s->t_src[i] = f->t_src_ns;
    s->t_recv[i] = t_recv_ns;
    s->seq[i] = f->seq;
    return s->n == s->cap ? emit_batch(w, s, msg, msgsz) : 0;
}

int tw_episode_add_drops(tw_episode_writer *w, uint16_t stream_id, uint64_t n)
{
    uint8_t idx = w->map[stream_id];
    if (idx == NO_STREAM)
        return TW_EUNKNOWN_STREAM;
    w->s[idx].drops += n;
    return 0;
}

static int write_rec(tw_episode_writer *w, uint32_t type, const struct iovec *v, int k, char *msg, size_t msgsz)
{
    if (w->err)
        return tw_errf(msg, msgsz, w->err, "episode %s: %s", w->dir, w->errmsg);
    char m[256];
    int rc = tw_journal_write(&w->j, type, v, k, m, sizeof m);
    return rc ? fail(w, rc, m, msg, msgsz) : 0;
}

int tw_episode_event(tw_episode_writer *w, int64_t t_ns, const char *kind, const char *label,
                     const char *data_json, char *msg, size_t msgsz)
{
    kind = kind ? kind : "";
    label = label ? label : "";
    data_json = data_json ? data_json : "";
    if (strlen(kind) >= TW_MAX_NAME || strlen(label) >= TW_MAX_TEXT || strlen(data_json) >= TW_MAX_META)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "episode event: kind, label or data too long");
    struct iovec v[4] = {{&t_ns, 8}, {(void *)kind, strlen(kind) + 1}, {(void *)label, strlen(label) + 1},
                         {(void *)data_json, strlen(data_json) + 1}};
    return write_rec(w, TW_REC_EVENT, v, 4, msg, msgsz);
}

int tw_episode_clock(tw_episode_writer *w, int64_t t_server_ns, int64_t offset_ns, int64_t rtt_ns)
{
    int64_t c[3] = {t_server_ns, offset_ns, rtt_ns};
    struct iovec v = {c, sizeof c};
    return write_rec(w, TW_REC_CLOCK, &v, 1, NULL, 0);
}

int tw_episode_set_meta(tw_episode_writer *w, const char *key, const char *json_value)
{
    if (!key || !*key || !json_value || strlen(key) >= TW_MAX_NAME || strlen(json_value) >= TW_MAX_META)
        return TW_EINVAL;
    json_t *j = json_loads(json_value, JSON_DECODE_ANY, NULL);
    if (!j)
        return TW_EJSON;
    json_decref(j);
    struct iovec v[2] = {{(void *)key, strlen(key) + 1}, {(void *)json_value, strlen(json_value) + 1}};
    return write_rec(w, TW_REC_META, v, 2, NULL, 0);
}

/* Writes every buffered batch and the drop counters that changed. */
static int emit_all(tw_episode_writer *w, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < w->n; i++) {
        ep_stream *s = &w->s[i];
        int rc = emit_batch(w, s, msg, msgsz);
        if (!rc && s->drops != s->drops_logged) {
            uint64_t rec[2] = {(uint64_t)i, s->drops};
            struct iovec v = {rec, sizeof rec};
            rc = write_rec(w, TW_REC_DROPS, &v, 1, msg, msgsz);
            s->drops_logged = s->drops;
        }
        if (!rc && s->trk.c.duplicates != s->dups_logged) {
            uint64_t rec[2] = {(uint64_t)i, s->trk.c.duplicates};
            struct iovec v = {rec, sizeof rec};
            rc = write_rec(w, TW_REC_DUPS, &v, 1, msg, msgsz);
            s->dups_logged = s->trk.c.duplicates;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int tw_episode_flush(tw_episode_writer *w, char *msg, size_t msgsz)
{
    if (w->err)
        return tw_errf(msg, msgsz, w->err, "episode %s: %s", w->dir, w->errmsg);
    char m[256];
    /* video first: an index entry must never reach the journal before its frame is on disk */
    for (size_t i = 0; i < w->n; i++) {
        int rc = w->s[i].video ? tw_epv_flush(w->s[i].video, m, sizeof m) : 0;
        if (rc)
            return fail(w, rc, m, msg, msgsz);
    }
    int rc = emit_all(w, msg, msgsz);
    if (rc)
        return rc;
    rc = tw_journal_sync(&w->j, m, sizeof m);
    return rc ? fail(w, rc, m, msg, msgsz) : 0;
}

static int write_end(tw_episode_writer *w, const char *status, int success, char *msg, size_t msgsz)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ended = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int32_t ok = success;
    struct iovec v[3] = {{&ended, 8}, {&ok, 4}, {(void *)status, strlen(status) + 1}};
    int rc = write_rec(w, TW_REC_END, v, 3, msg, msgsz);
    char m[256];
    if (!rc && (rc = tw_journal_sync(&w->j, m, sizeof m)) != 0)
        fail(w, rc, m, msg, msgsz);
    return rc;
}

int tw_episode_end(tw_episode_writer *w, const char *status, int success, char *msg, size_t msgsz)
{
    if (!w)
        return 0;
    status = status ? status : TW_EP_COMPLETE;
    if (strcmp(status, TW_EP_COMPLETE) && strcmp(status, TW_EP_ABORTED) && strcmp(status, TW_EP_ERROR) &&
        strcmp(status, TW_EP_INTERRUPTED))
        status = TW_EP_ERROR;
    char m[256] = "";
    int rc = 0;
    /* videos end first so the encoder's last frames still get index entries */
    tw_fault_point("close");
    for (size_t i = 0; i < w->n; i++) {
        int r = tw_epv_close(w->s[i].video, w->err != 0, m, sizeof m);
        w->s[i].video = NULL;
        if (r && !rc)
            rc = fail(w, r, m, msg, msgsz);
    }
    tw_fault_point("close");
    if (!w->err && (rc = emit_all(w, msg, msgsz)) == 0) {
        tw_fault_point("close");
        rc = write_end(w, status, success, msg, msgsz);
    }
    tw_fault_point("close");
    if (w->err && !rc)
        rc = tw_errf(msg, msgsz, w->err, "episode %s: %s", w->dir, w->errmsg);
    writer_free(w);
    return rc;
}

int tw_episode_build(const char *dir, const char *status, char *msg, size_t msgsz)
{
    char m[512];
    int rc = tw_episode_finish(dir, status, "close", m, sizeof m);
    if (rc)
        return tw_errf(msg, msgsz, rc, "%s (the journal is kept: `tw recover` can finish it later)", m);
    return 0;
}

int tw_episode_close(tw_episode_writer *w, const char *status, int success, char *msg, size_t msgsz)
{
    if (!w)
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", w->dir);
    char m[512] = "";
    int rc = tw_episode_end(w, status, success, m, sizeof m);
    /* after a write error the journal is a clean prefix (torn records are cut): build from it */
    int brc = tw_episode_build(dir, rc ? TW_EP_ERROR : NULL, msg, msgsz);
    if (!brc && rc && (rc == TW_ENOSPACE || rc == TW_EIO || rc == TW_EAV))
        return 0; /* the write error is recorded as status "error"; the file is valid */
    if (!brc && rc)
        return tw_errf(msg, msgsz, rc, "%s", m);
    return brc;
}

int tw_episode_writer_counts(const tw_episode_writer *w, uint16_t stream_id, tw_seq_counts *out)
{
    uint8_t idx = w->map[stream_id];
    if (idx == NO_STREAM)
        return TW_EUNKNOWN_STREAM;
    *out = w->s[idx].trk.c;
    return 0;
}

uint64_t tw_episode_bytes_written(const tw_episode_writer *w)
{
    uint64_t b = w->j.off;
    for (size_t i = 0; i < w->n; i++)
        b += tw_epv_bytes(w->s[i].video);
    return b;
}
