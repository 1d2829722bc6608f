/* Builds episode.h5 from the journal: the one path by which an episode file comes to exist,
 * whether the writer closed normally or died and is being recovered. One pass over the
 * journal, memory bounded by one record (≤ 64 MiB, in practice one batch of ≤ 1 MiB). */
#include "tw_episode_int.h"
#include "tw_h5util.h"
#include "tw_video.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

typedef struct {
    const tw_stream_decl *d;
    int layout;
    size_t sbytes;
    tw_h5col t_src, t_recv, seq, data;           /* /streams/<name> */
    tw_h5col vt_src, vt_recv, vpts, vkey, vsize; /* /video/<name> */
    uint64_t limit;     /* video: frames the file holds */
    int file_ok;        /* video: the file opened */
    int have_last;
    uint64_t last_seq;
    int64_t last_tsrc;
    uint64_t gaps, missing, out_of_order, tsrc_backwards, recorder_drops;
} bstream;

typedef struct {
    char dir[PATH_MAX];
    hid_t f;
    tw_episode_info info;
    tw_stream_decl *decls;
    json_t *head;
    bstream *s;
    size_t n;
    tw_h5col ev_t, ev_kind, ev_label, ev_data, ck_t, ck_off, ck_rtt;
    json_t *meta;
    int have_end, success;
    char status[32];
    int64_t ended_ns, max_recv;
    char *scratch;
    size_t scap;
    const char **ptrs;
    size_t pcap;
} builder;

/* HDF5 does not keep errno: a failed write on a (nearly) full filesystem is reported as such. */
static int h5_fail_code(const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize < (4u << 20))
        return TW_ENOSPACE;
    return TW_EHDF5;
}

static hid_t dtype_file(tw_dtype t)
{
    switch (t) {
    case TW_DTYPE_FLOAT32: return H5T_IEEE_F32LE;
    case TW_DTYPE_FLOAT64: return H5T_IEEE_F64LE;
    case TW_DTYPE_INT32: return H5T_STD_I32LE;
    case TW_DTYPE_INT64: return H5T_STD_I64LE;
    default: return H5T_STD_U8LE;
    }
}

static hid_t dtype_mem(tw_dtype t)
{
    switch (t) {
    case TW_DTYPE_FLOAT32: return H5T_NATIVE_FLOAT;
    case TW_DTYPE_FLOAT64: return H5T_NATIVE_DOUBLE;
    case TW_DTYPE_INT32: return H5T_NATIVE_INT32;
    case TW_DTYPE_INT64: return H5T_NATIVE_INT64;
    default: return H5T_NATIVE_UINT8;
    }
}

/* t_src_ns, t_recv_ns and a third int64-sized column: seq (streams) or pts (video index) */
static int cols_3(hid_t g, tw_h5col *a, tw_h5col *b, tw_h5col *c, const char *third, hsize_t chunk, int z)
{
    int seq = strcmp(third, "seq") == 0;
    return tw_h5col_create(a, g, "t_src_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, chunk, z) |
           tw_h5col_create(b, g, "t_recv_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, chunk, z) |
           tw_h5col_create(c, g, third, seq ? H5T_STD_U64LE : H5T_STD_I64LE, seq ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64,
                           0, NULL, chunk, z);
}

static int stream_setup(builder *b, bstream *s, hid_t streams, hid_t video, hid_t vls, char *msg, size_t msgsz)
{
    const tw_stream_decl *d = s->d;
    int z = b->info.compression;
    hsize_t chunk = b->info.chunk_samples ? b->info.chunk_samples : 1024;
    s->sbytes = tw_decl_sample_bytes(d);
    if (s->layout == TW_LAYOUT_FIXED && s->sbytes && chunk * s->sbytes > (1u << 20))
        chunk = (1u << 20) / s->sbytes; /* keep a chunk ≤ 1 MiB like the writer's batches */
    if (chunk == 0)
        chunk = 1;
    hid_t g = H5Gcreate2(streams, d->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = g < 0 ? -1 : cols_3(g, &s->t_src, &s->t_recv, &s->seq, "seq", chunk, z);
    if (!rc && s->layout == TW_LAYOUT_FIXED) {
        hsize_t tail[TW_MAX_DIMS];
        for (uint32_t i = 0; i < d->ndim; i++)
            tail[i] = d->shape[i];
        rc = tw_h5col_create(&s->data, g, "data", dtype_file(d->dtype), dtype_mem(d->dtype), (int)d->ndim, tail,
                             chunk, z);
    } else if (!rc && s->layout == TW_LAYOUT_TEXT) {
        rc = tw_h5col_create(&s->data, g, "data", vls, vls, 0, NULL, chunk, z);
    }
    char *json = NULL;
    if (!rc && tw_decl_to_json(d, &json) == 0) {
        rc = tw_h5_attr_i64(g, "id", d->id) | tw_h5_attr_str(g, "kind", tw_kind_name(d->kind)) |
             tw_h5_attr_i64(g, "index", s - b->s) | tw_h5_attr_str(g, "declaration", json);
    }
    free(json);
    if (g >= 0)
        H5Gclose(g);
    if (!rc && s->layout == TW_LAYOUT_VIDEO) {
        hid_t v = H5Gcreate2(video, d->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        rc = v < 0 ? -1 : cols_3(v, &s->vt_src, &s->vt_recv, &s->vpts, "pts", chunk, z);
        if (!rc) {
            rc = tw_h5col_create(&s->vkey, v, "keyframe", H5T_STD_U8LE, H5T_NATIVE_UINT8, 0, NULL, chunk, z) |
                 tw_h5col_create(&s->vsize, v, "size", H5T_STD_U32LE, H5T_NATIVE_UINT32, 0, NULL, chunk, z);
        }
        if (v >= 0)
            H5Gclose(v);
    }
    return rc ? tw_errf(msg, msgsz, TW_EHDF5, "create datasets of stream %s", d->name) : 0;
}

/* Sequence and time-order bookkeeping; seq gaps are drops the sender or network caused. */
static void track(bstream *s, const int64_t *t_src, const uint64_t *seq, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (s->have_last) {
            if (seq[i] > s->last_seq + 1) {
                s->gaps++;
                s->missing += seq[i] - s->last_seq - 1;
            } else if (seq[i] <= s->last_seq) {
                s->out_of_order++;
            }
            if (t_src[i] < s->last_tsrc)
                s->tsrc_backwards++;
        }
        if (!s->have_last || seq[i] > s->last_seq)
            s->last_seq = seq[i];
        s->last_tsrc = t_src[i];
        s->have_last = 1;
    }
}

static int grow(builder *b, size_t bytes, size_t ptrs)
{
    if (bytes > b->scap) {
        char *p = realloc(b->scratch, bytes);
        if (!p)
            return -1;
        b->scratch = p;
        b->scap = bytes;
    }
    if (ptrs > b->pcap) {
        const char **p = realloc(b->ptrs, ptrs * sizeof *p);
        if (!p)
            return -1;
        b->ptrs = p;
        b->pcap = ptrs;
    }
    return 0;
}

/* Texts of a batch: lengths, then bytes back to back; HDF5 wants NUL-terminated pointers. */
static int append_texts(builder *b, bstream *s, const uint8_t *p, size_t left, uint32_t n)
{
    if (left < (size_t)n * 4 || grow(b, left + n, n) != 0)
        return -1;
    const uint8_t *txt = p + (size_t)n * 4;
    size_t tleft = left - (size_t)n * 4, o = 0;
    char *dst = b->scratch;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l;
        memcpy(&l, p + 4 * (size_t)i, 4);
        if (l > tleft - o)
            return -1;
        memcpy(dst, txt + o, l);
        dst[l] = 0;
        b->ptrs[i] = dst;
        dst += l + 1;
        o += l;
    }
    return o == tleft ? tw_h5col_append(&s->data, n, b->ptrs) : -1;
}

static int apply_batch(builder *b, const uint8_t *p, uint32_t len, char *msg, size_t msgsz)
{
    tw_batch_hdr h;
    if (len < sizeof h)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: short batch");
    memcpy(&h, p, sizeof h);
    if (h.stream >= b->n || h.layout != b->s[h.stream].layout)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: batch for unknown stream %u", h.stream);
    bstream *s = &b->s[h.stream];
    size_t n = h.n, left = len - sizeof h;
    size_t need = n * 24 + (s->layout == TW_LAYOUT_FIXED ? n * s->sbytes : s->layout == TW_LAYOUT_VIDEO ? n * 13 : 0);
    if (n > (1u << 20) || left < need || (s->layout != TW_LAYOUT_TEXT && left != need))
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: batch of stream %s has %zu bytes for %zu samples",
                       s->d->name, left, n);
    /* journal arrays are 8-byte aligned in the record buffer only by luck: copy the timestamps */
    const uint8_t *q = p + sizeof h;
    if (grow(b, n * 24, 0) != 0)
        return tw_errf(msg, msgsz, TW_ENOMEM, "batch scratch");
    int64_t *ts = (int64_t *)b->scratch;
    memcpy(ts, q, n * 24);
    int64_t *tr = ts + n;
    uint64_t *sq = (uint64_t *)(tr + n);
    if (s->layout == TW_LAYOUT_VIDEO && s->t_src.n + n > s->limit)
        n = s->limit > s->t_src.n ? s->limit - s->t_src.n : 0; /* frames the file lost in the crash */
    for (size_t i = 0; i < n; i++)
        if (tr[i] > b->max_recv)
            b->max_recv = tr[i];
    track(s, ts, sq, (uint32_t)n);
    int r = tw_h5col_append(&s->t_src, n, ts) | tw_h5col_append(&s->t_recv, n, tr) | tw_h5col_append(&s->seq, n, sq);
    q += h.n * 24;
    if (!r && s->layout == TW_LAYOUT_FIXED)
        r = tw_h5col_append(&s->data, n, q);
    else if (!r && s->layout == TW_LAYOUT_VIDEO)
        r = tw_h5col_append(&s->vt_src, n, ts) | tw_h5col_append(&s->vt_recv, n, tr) |
            tw_h5col_append(&s->vpts, n, q) | tw_h5col_append(&s->vsize, n, q + h.n * 8) |
            tw_h5col_append(&s->vkey, n, q + h.n * 12);
    else if (!r)
        r = append_texts(b, s, q, left - n * 24, (uint32_t)n);
    return r ? tw_errf(msg, msgsz, h5_fail_code(b->dir), "write samples of stream %s", s->d->name) : 0;
}

/* Splits "a\0b\0c\0" into up to 3 strings; -1 when the record is malformed. */
static int split_strs(const uint8_t *p, size_t len, const char **out, int k)
{
    size_t o = 0;
    for (int i = 0; i < k; i++) {
        const void *z = o < len ? memchr(p + o, 0, len - o) : NULL;
        if (!z)
            return -1;
        out[i] = (const char *)p + o;
        o = (size_t)((const uint8_t *)z - p) + 1;
    }
    return 0;
}

static int apply_record(builder *b, uint32_t type, const uint8_t *p, uint32_t len, char *msg, size_t msgsz)
{
    const char *s[3];
    int64_t v[3];
    switch (type) {
    case TW_REC_BATCH:
        return apply_batch(b, p, len, msg, msgsz);
    case TW_REC_EVENT:
        if (len < 8 || split_strs(p + 8, len - 8, s, 3))
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed event");
        memcpy(v, p, 8);
        return (tw_h5col_append(&b->ev_t, 1, v) | tw_h5col_append(&b->ev_kind, 1, &s[0]) |
                tw_h5col_append(&b->ev_label, 1, &s[1]) | tw_h5col_append(&b->ev_data, 1, &s[2]))
                   ? tw_errf(msg, msgsz, TW_EHDF5, "write event") : 0;
    case TW_REC_CLOCK:
        if (len != 24)
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed clock sample");
        memcpy(v, p, 24);
        return (tw_h5col_append(&b->ck_t, 1, &v[0]) | tw_h5col_append(&b->ck_off, 1, &v[1]) |
                tw_h5col_append(&b->ck_rtt, 1, &v[2])) ? tw_errf(msg, msgsz, TW_EHDF5, "write clock") : 0;
    case TW_REC_DROPS: {
        uint64_t d[2];
        if (len != 16 || (memcpy(d, p, 16), d[0] >= b->n))
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed drop count");
        b->s[d[0]].recorder_drops = d[1]; /* cumulative: the last one counts */
        return 0;
    }
    case TW_REC_META: {
        json_t *j = split_strs(p, len, s, 2) ? NULL : json_loads(s[1], JSON_DECODE_ANY, NULL);
        if (!j)
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed metadata");
        json_object_set_new(b->meta, s[0], j);
        return 0;
    }
    case TW_REC_END:
        if (len < 13 || split_strs(p + 12, len - 12, s, 1))
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed end record");
        memcpy(&b->ended_ns, p, 8);
        memcpy(&b->success, p + 8, 4);
        snprintf(b->status, sizeof b->status, "%s", s[0]);
        b->have_end = 1;
        return 0;
    default:
        return 0; /* a newer minor version's record: skipped */
    }
}

static int root_setup(builder *b, char *msg, size_t msgsz)
{
    hid_t streams = H5Gcreate2(b->f, "streams", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t video = H5Gcreate2(b->f, "video", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ev = H5Gcreate2(b->f, "events", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ck = H5Gcreate2(b->f, "clock", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t vls = tw_h5_vlstr();
    int rc = (streams < 0 || video < 0 || ev < 0 || ck < 0) ? tw_errf(msg, msgsz, TW_EHDF5, "create groups") : 0;
    if (!rc && (tw_h5col_create(&b->ev_t, ev, "t_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, 256, 1) |
                tw_h5col_create(&b->ev_kind, ev, "kind", vls, vls, 0, NULL, 256, 1) |
                tw_h5col_create(&b->ev_label, ev, "label", vls, vls, 0, NULL, 256, 1) |
                tw_h5col_create(&b->ev_data, ev, "data", vls, vls, 0, NULL, 256, 1) |
                tw_h5col_create(&b->ck_t, ck, "t_server_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, 256, 1) |
                tw_h5col_create(&b->ck_off, ck, "offset_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, 256, 1) |
                tw_h5col_create(&b->ck_rtt, ck, "rtt_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, 256, 1)))
        rc = tw_errf(msg, msgsz, TW_EHDF5, "create event and clock datasets");
    for (size_t i = 0; !rc && i < b->n; i++)
        rc = stream_setup(b, &b->s[i], streams, video, vls, msg, msgsz);
    H5Tclose(vls);
    for (hid_t g, *gs = (hid_t[]){streams, video, ev, ck, -1}; (g = *gs) != -1; gs++)
        if (g >= 0)
            H5Gclose(g);
    return rc;
}

static int video_attrs(builder *b, bstream *s, hid_t v, const char *vfile)
{
    int rc = tw_h5_attr_str(v, "file", vfile) | tw_h5_attr_str(v, "encoding", tw_video_enc_name(s->d->encoding)) |
             tw_h5_attr_i64(v, "width", s->d->width) | tw_h5_attr_i64(v, "height", s->d->height);
    /* the writer always muxes with a 1/1000 s stream time base (Matroska's default scale) */
    rc |= tw_h5_attr_i64(v, "time_base_num", 1) | tw_h5_attr_i64(v, "time_base_den", 1000);
    rc |= tw_h5_attr_str(v, "codec", s->d->encoding == TW_VIDEO_JPEG ? "mjpeg" : "h264");
    return rc;
}

static int stream_attrs(builder *b, bstream *s)
{
    char path[TW_MAX_NAME + 16];
    snprintf(path, sizeof path, "streams/%s", s->d->name);
    hid_t g = H5Gopen2(b->f, path, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc = tw_h5_attr_i64(g, "drops", (int64_t)(s->recorder_drops + s->missing)) |
             tw_h5_attr_i64(g, "recorder_drops", (int64_t)s->recorder_drops) |
             tw_h5_attr_i64(g, "gaps", (int64_t)s->gaps) | tw_h5_attr_i64(g, "missing", (int64_t)s->missing) |
             tw_h5_attr_i64(g, "out_of_order", (int64_t)s->out_of_order) |
             tw_h5_attr_i64(g, "t_src_backwards", (int64_t)s->tsrc_backwards);
    H5Gclose(g);
    if (rc || s->layout != TW_LAYOUT_VIDEO)
        return rc;
    snprintf(path, sizeof path, "video/%s", s->d->name);
    char file[TW_MAX_NAME + 8];
    snprintf(file, sizeof file, "%s.mkv", s->d->name);
    hid_t v = H5Gopen2(b->f, path, H5P_DEFAULT);
    rc = v < 0 ? -1 : video_attrs(b, s, v, file);
    if (v >= 0)
        H5Gclose(v);
    return rc;
}

static int root_attrs(builder *b, const char *status_override)
{
    const char *status = status_override ? status_override : b->have_end ? b->status : TW_EP_INTERRUPTED;
    json_t *sim = json_object_get(b->head, "sim_params");
    char *meta = json_dumps(b->meta, JSON_COMPACT | JSON_SORT_KEYS);
    char *simtxt = json_is_object(sim) ? json_dumps(sim, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const tw_episode_info *in = &b->info;
    hid_t f = b->f;
    int rc = tw_h5_attr_str(f, "format", TW_EPISODE_FORMAT) | tw_h5_attr_str(f, "format_version", "1.0") |
             tw_h5_attr_str(f, "episode_id", in->episode_id) | tw_h5_attr_str(f, "session_id", in->session_id) |
             tw_h5_attr_str(f, "task", in->task) | tw_h5_attr_str(f, "operator", in->operator_) |
             tw_h5_attr_str(f, "robot", in->robot) | tw_h5_attr_str(f, "domain", in->domain) |
             tw_h5_attr_str(f, "software_version", in->software_version) |
             tw_h5_attr_str(f, "status", status) | tw_h5_attr_i64(f, "success", b->have_end ? b->success : -1) |
             tw_h5_attr_i64(f, "started_ns", in->started_ns) |
             tw_h5_attr_i64(f, "ended_ns", b->max_recv > in->started_ns ? b->max_recv : in->started_ns) |
             tw_h5_attr_str(f, "metadata", meta ? meta : "{}") | tw_h5_attr_str(f, "sim_params", simtxt ? simtxt : "");
    if (b->have_end)
        rc |= tw_h5_attr_i64(f, "closed_ns", b->ended_ns); /* wall clock at close */
    free(meta);
    free(simtxt);
    for (size_t i = 0; !rc && i < b->n; i++)
        rc = stream_attrs(b, &b->s[i]);
    return rc;
}

/* How many frames each video file holds now (a crash may have cut it). */
static void count_videos(builder *b)
{
    for (size_t i = 0; i < b->n; i++) {
        bstream *s = &b->s[i];
        if (s->layout != TW_LAYOUT_VIDEO)
            continue;
        char path[PATH_MAX + TW_MAX_NAME + 8], m[256];
        snprintf(path, sizeof path, "%s/%s.mkv", b->dir, s->d->name);
        s->file_ok = tw_video_count_frames(path, &s->limit, NULL, m, sizeof m) == 0;
        if (!s->file_ok)
            s->limit = 0;
    }
}

/* After the index is written: make each video file hold exactly the indexed frames. */
static int fix_videos(builder *b, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < b->n; i++) {
        bstream *s = &b->s[i];
        if (s->layout != TW_LAYOUT_VIDEO)
            continue;
        char path[PATH_MAX + TW_MAX_NAME + 8];
        snprintf(path, sizeof path, "%s/%s.mkv", b->dir, s->d->name);
        if (!s->file_ok) {
            unlink(path); /* no header reached the disk: it held no frame */
            continue;
        }
        if (s->limit > s->t_src.n) {
            int rc = tw_video_truncate(path, s->t_src.n, msg, msgsz);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void builder_free(builder *b)
{
    for (size_t i = 0; b->s && i < b->n; i++) {
        bstream *s = &b->s[i];
        tw_h5col *c[] = {&s->t_src, &s->t_recv, &s->seq, &s->data, &s->vt_src, &s->vt_recv, &s->vpts, &s->vkey, &s->vsize};
        for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
            tw_h5col_close(c[k]);
    }
    tw_h5col *c[] = {&b->ev_t, &b->ev_kind, &b->ev_label, &b->ev_data, &b->ck_t, &b->ck_off, &b->ck_rtt};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
        tw_h5col_close(c[k]);
    if (b->f > 0)
        H5Fclose(b->f);
    b->f = H5I_INVALID_HID;
    free(b->s);
    free(b->decls);
    json_decref(b->head);
    json_decref(b->meta);
    free(b->scratch);
    free(b->ptrs);
}

static int builder_open(builder *b, tw_journal_reader *r, const char *tmp, char *msg, size_t msgsz)
{
    uint32_t type, len;
    const uint8_t *p;
    int rc = tw_journal_next(r, &type, &p, &len, msg, msgsz);
    if (rc < 0)
        return rc;
    if (rc == 0 || type != TW_REC_HEAD)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: journal has no valid head record", b->dir);
    void *keep;
    rc = tw_episode_head_decode(p, len, &b->info, &b->decls, &b->n, &keep, msg, msgsz);
    if (rc)
        return rc;
    b->head = keep;
    json_t *m = json_object_get(b->head, "metadata");
    b->meta = json_is_object(m) ? json_deep_copy(m) : json_object();
    b->s = calloc(b->n ? b->n : 1, sizeof *b->s);
    if (!b->s || !b->meta)
        return tw_errf(msg, msgsz, TW_ENOMEM, "episode builder");
    for (size_t i = 0; i < b->n; i++) {
        tw_kind k = b->decls[i].kind;
        b->s[i].d = &b->decls[i];
        b->s[i].layout = k == TW_KIND_VIDEO ? TW_LAYOUT_VIDEO : k == TW_KIND_EVENT ? TW_LAYOUT_TEXT : TW_LAYOUT_FIXED;
    }
    count_videos(b);
    b->f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (b->f < 0)
        return tw_errf(msg, msgsz, h5_fail_code(b->dir), "create %s", tmp);
    return root_setup(b, msg, msgsz);
}

static int sync_file(const char *path, char *msg, size_t msgsz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : fsync(fd);
    int e = errno;
    if (fd >= 0)
        close(fd);
    return rc ? tw_errf(msg, msgsz, e == ENOSPC ? TW_ENOSPACE : TW_EIO, "fsync %s: %s", path, strerror(e)) : 0;
}

static int build(builder *b, const char *jpath, const char *tmp, const char *final, const char *status,
                 char *msg, size_t msgsz)
{
    tw_journal_reader r;
    int rc = tw_journal_open_read(&r, jpath, msg, msgsz);
    if (rc)
        return rc;
    rc = builder_open(b, &r, tmp, msg, msgsz);
    uint32_t type, len;
    const uint8_t *p;
    uint64_t records = 0;
    while (!rc && (rc = tw_journal_next(&r, &type, &p, &len, msg, msgsz)) == 1) {
        rc = apply_record(b, type, p, len, msg, msgsz);
        records++;
    }
    int torn = r.torn;
    uint64_t valid = r.off;
    tw_journal_close_read(&r);
    if (!rc && root_attrs(b, status) != 0)
        rc = tw_errf(msg, msgsz, TW_EHDF5, "write attributes of %s", tmp);
    herr_t cr = b->f > 0 ? H5Fclose(b->f) : 0;
    b->f = H5I_INVALID_HID;
    if (!rc && cr < 0)
        rc = tw_errf(msg, msgsz, h5_fail_code(b->dir), "close %s", tmp);
    if (!rc)
        rc = sync_file(tmp, msg, msgsz);
    if (!rc && rename(tmp, final) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "rename %s: %s", tmp, strerror(errno));
    if (!rc)
        tw_errf(msg, msgsz, 0, "%" PRIu64 " records, %" PRIu64 " journal bytes%s", records, valid,
                torn ? ", torn tail dropped" : "");
    return rc;
}

int tw_episode_finish(const char *dir, const char *status_override, char *msg, size_t msgsz)
{
    tw_h5_quiet();
    char jpath[PATH_MAX + 32], tmp[PATH_MAX + 32], final[PATH_MAX + 32];
    snprintf(jpath, sizeof jpath, "%s/" TW_JOURNAL_NAME, dir);
    snprintf(tmp, sizeof tmp, "%s/" TW_H5_NAME ".tmp", dir);
    snprintf(final, sizeof final, "%s/" TW_H5_NAME, dir);
    int lock = open(jpath, O_RDONLY | O_CLOEXEC);
    if (lock < 0)
        return tw_errf(msg, msgsz, errno == ENOENT ? TW_ENOT_FOUND : TW_EIO, "%s: %s", jpath, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
        close(lock);
        return tw_errf(msg, msgsz, TW_ESTATE, "%s: a running writer holds it", jpath);
    }
    builder b;
    memset(&b, 0, sizeof b);
    b.f = H5I_INVALID_HID;
    snprintf(b.dir, sizeof b.dir, "%s", dir);
    char summary[256] = "";
    int rc = build(&b, jpath, tmp, final, status_override, summary, sizeof summary);
    if (!rc)
        rc = fix_videos(&b, summary, sizeof summary);
    if (!rc && unlink(jpath) != 0)
        rc = tw_errf(summary, sizeof summary, TW_EIO, "remove %s: %s", jpath, strerror(errno));
    if (!rc)
        rc = tw_fsync_dir(dir, summary, sizeof summary);
    if (rc)
        unlink(tmp);
    builder_free(&b);
    close(lock);
    tw_errf(msg, msgsz, rc, "%s", summary);
    return rc;
}
