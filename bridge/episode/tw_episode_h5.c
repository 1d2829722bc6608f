/* Builds episode.h5 from the journal: the one path by which an episode file comes to exist,
 * whether the writer closed normally or died and is being recovered. One pass over the
 * journal, memory bounded by one record (≤ 64 MiB, in practice one batch of ≤ 1 MiB). */
#include "tw_episode_build.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

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

static int stream_setup(tw_builder *b, tw_bstream *s, hid_t streams, hid_t video, hid_t vls, char *msg, size_t msgsz)
{
    const tw_stream_decl *d = s->d;
    int z = b->info.compression;
    hsize_t chunk = b->info.chunk_samples ? b->info.chunk_samples : 1024;
    s->sbytes = tw_decl_sample_bytes(d);
    if (s->layout == TW_LAYOUT_FIXED && s->sbytes && chunk * s->sbytes > (1u << 20))
        chunk = (1u << 20) / s->sbytes; /* keep a chunk ≤ 1 MiB like the writer's batches */
    if (chunk == 0)
        chunk = 1;
    hid_t g = tw_h5_group(streams, d->name);
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
        hid_t v = tw_h5_group(video, d->name);
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

static int root_setup(tw_builder *b, char *msg, size_t msgsz)
{
    hid_t streams = tw_h5_group(b->f, "streams");
    hid_t video = tw_h5_group(b->f, "video");
    hid_t ev = tw_h5_group(b->f, "events");
    hid_t ck = tw_h5_group(b->f, "clock");
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

static int video_attrs(tw_builder *b, tw_bstream *s, hid_t v, const char *vfile)
{
    int rc = tw_h5_attr_str(v, "file", vfile) | tw_h5_attr_str(v, "encoding", tw_video_enc_name(s->d->encoding)) |
             tw_h5_attr_i64(v, "width", s->d->width) | tw_h5_attr_i64(v, "height", s->d->height);
    /* the writer always muxes with a 1/1000 s stream time base (Matroska's default scale) */
    rc |= tw_h5_attr_i64(v, "time_base_num", 1) | tw_h5_attr_i64(v, "time_base_den", 1000);
    rc |= tw_h5_attr_str(v, "codec", s->d->encoding == TW_VIDEO_JPEG ? "mjpeg" : "h264");
    return rc;
}

static int stream_attrs(tw_builder *b, tw_bstream *s)
{
    char path[TW_MAX_NAME + 16];
    snprintf(path, sizeof path, "streams/%s", s->d->name);
    hid_t g = H5Gopen2(b->f, path, H5P_DEFAULT);
    if (g < 0)
        return -1;
    /* A sample the recorder drops never gets stored, so it is also a hole in seq once a later sample
     * of the stream arrives: the holes already count it. Only drops at the very end of a stream leave
     * no hole, hence the larger of the two, not their sum (which counted recorder drops twice). */
    const tw_seq_counts *c = &s->trk.c;
    uint64_t lost = c->missing > s->recorder_drops ? c->missing : s->recorder_drops;
    int rc = tw_h5_attr_i64(g, "drops", (int64_t)lost) |
             tw_h5_attr_i64(g, "recorder_drops", (int64_t)s->recorder_drops) |
             tw_h5_attr_i64(g, "gaps", (int64_t)c->gaps) | tw_h5_attr_i64(g, "missing", (int64_t)c->missing) |
             tw_h5_attr_i64(g, "out_of_order", (int64_t)c->out_of_order) |
             tw_h5_attr_i64(g, "t_src_backwards", (int64_t)c->nonmonotonic_t) |
             tw_h5_attr_i64(g, "nonmonotonic_t", (int64_t)c->nonmonotonic_t) |
             tw_h5_attr_i64(g, "nonfinite", (int64_t)c->nonfinite) | tw_h5_attr_i64(g, "resets", (int64_t)c->resets) |
             tw_h5_attr_i64(g, "duplicates", (int64_t)s->duplicates);
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

static int root_attrs(tw_builder *b, const char *status_override)
{
    const char *status = status_override ? status_override : b->have_end ? b->status : TW_EP_INTERRUPTED;
    json_t *sim = json_object_get(b->head, "sim_params");
    char *meta = json_dumps(b->meta, JSON_COMPACT | JSON_SORT_KEYS);
    char *simtxt = json_is_object(sim) ? json_dumps(sim, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const tw_episode_info *in = &b->info;
    hid_t f = b->f;
    int rc = tw_h5_attr_str(f, "format", TW_EPISODE_FORMAT) | tw_h5_attr_str(f, "format_version", TW_EPISODE_VERSION_STR) |
             tw_h5_attr_str(f, "episode_id", in->episode_id) | tw_h5_attr_str(f, "session_id", in->session_id) |
             tw_h5_attr_str(f, "task", in->task) | tw_h5_attr_str(f, "operator", in->operator_) |
             tw_h5_attr_str(f, "robot", in->robot) | tw_h5_attr_str(f, "domain", in->domain) |
             tw_h5_attr_str(f, "software_version", in->software_version) |
             tw_h5_attr_str(f, "status", status) | tw_h5_attr_i64(f, "success", b->have_end ? b->success : -1) |
             tw_h5_attr_i64(f, "started_ns", in->started_ns) |
             tw_h5_attr_i64(f, "ended_ns", b->max_recv > in->started_ns ? b->max_recv : in->started_ns) |
             tw_h5_attr_str(f, "metadata", meta ? meta : "{}") | tw_h5_attr_str(f, "sim_params", simtxt ? simtxt : "");
    if (b->have_end && strcmp(in->domain, "sim") != 0) /* sim episodes stay byte-identical per seed */
        rc |= tw_h5_attr_i64(f, "closed_ns", b->ended_ns); /* wall clock at close */
    free(meta);
    free(simtxt);
    for (size_t i = 0; !rc && i < b->n; i++)
        rc = stream_attrs(b, &b->s[i]);
    return rc;
}

/* How many frames each video file holds now (a crash may have cut it). Without a video backend the
 * files cannot be read, so nothing is built: a missing backend must never look like an empty file
 * (fix_videos would delete it). */
static int count_videos(tw_builder *b, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < b->n; i++) {
        tw_bstream *s = &b->s[i];
        if (s->layout != TW_LAYOUT_VIDEO)
            continue;
        if (!tw_episode_get_video())
            return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "%s: camera stream %s needs a program with video support "
                           "(tw recover); the journal is kept", b->dir, s->d->name);
        char path[PATH_MAX + TW_MAX_NAME + 8], m[256];
        snprintf(path, sizeof path, "%s/%s.mkv", b->dir, s->d->name);
        s->file_ok = tw_epv_count_frames(path, &s->limit, NULL, m, sizeof m) == 0;
        if (!s->file_ok)
            s->limit = 0;
    }
    return 0;
}

/* After the index is written: make each video file hold exactly the indexed frames. A file the
 * writer did not finish (no END record: a crash or a write error) is always remuxed, so what is
 * left is a complete Matroska file any player reads; a file with no indexed frame is removed. */
static int fix_videos(tw_builder *b, const char *phase, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < b->n; i++) {
        tw_bstream *s = &b->s[i];
        if (s->layout != TW_LAYOUT_VIDEO)
            continue;
        char path[PATH_MAX + TW_MAX_NAME + 8];
        snprintf(path, sizeof path, "%s/%s.mkv", b->dir, s->d->name);
        if (!s->file_ok || s->t_src.n == 0) {
            unlink(path); /* no frame the index knows: nothing worth keeping */
            continue;
        }
        if (s->limit > s->t_src.n || !b->have_end || strcmp(b->status, TW_EP_ERROR) == 0) {
            int rc = tw_epv_truncate(path, s->t_src.n, msg, msgsz);
            if (rc)
                return rc;
            tw_fault_point(phase);
        }
    }
    return 0;
}

/* Closes every dataset: HDF5 writes a dataset's last chunks and object header when it is closed,
 * so this must happen before H5Fclose, the fsync and the rename (else the renamed file holds only
 * a superblock until the process gets round to it). Idempotent. */
static void close_columns(tw_builder *b)
{
    for (size_t i = 0; b->s && i < b->n; i++) {
        tw_bstream *s = &b->s[i];
        tw_h5col *c[] = {&s->t_src, &s->t_recv, &s->seq, &s->data, &s->vt_src, &s->vt_recv, &s->vpts, &s->vkey, &s->vsize};
        for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
            tw_h5col_close(c[k]);
    }
    tw_h5col *c[] = {&b->ev_t, &b->ev_kind, &b->ev_label, &b->ev_data, &b->ck_t, &b->ck_off, &b->ck_rtt};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
        tw_h5col_close(c[k]);
}

static void builder_free(tw_builder *b)
{
    close_columns(b);
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

static int builder_open(tw_builder *b, tw_journal_reader *r, const char *tmp, char *msg, size_t msgsz)
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
    if ((rc = count_videos(b, msg, msgsz)))
        return rc;
    /* strong close: H5Fclose releases every object of the file, even one whose close failed on a
     * full disk (the columns are closed explicitly before it in any case) */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    b->f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (b->f < 0)
        return tw_errf(msg, msgsz, tw_build_fail_code(b->dir), "create %s", tmp);
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

/* Journal records into tmp, every object closed, then H5Fclose and fsync: after this the
 * bytes of tmp are complete on disk. */
static int build_tmp(tw_builder *b, const char *jpath, const char *tmp, const char *status, const char *phase,
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
        rc = tw_build_apply(b, type, p, len, msg, msgsz);
        records++;
    }
    int torn = r.torn;
    uint64_t valid = r.off;
    tw_journal_close_read(&r);
    tw_fault_point(phase); /* datasets written, nothing closed */
    if (!rc && root_attrs(b, status) != 0)
        rc = tw_errf(msg, msgsz, TW_EHDF5, "write attributes of %s", tmp);
    tw_fault_point(phase);
    close_columns(b);
    herr_t cr = b->f > 0 ? H5Fclose(b->f) : 0;
    b->f = H5I_INVALID_HID;
    if (!rc && cr < 0)
        rc = tw_errf(msg, msgsz, tw_build_fail_code(b->dir), "close %s", tmp);
    tw_fault_point(phase);
    if (!rc)
        rc = sync_file(tmp, msg, msgsz);
    tw_fault_point(phase);
    if (!rc)
        tw_errf(msg, msgsz, 0, "%" PRIu64 " records, %" PRIu64 " journal bytes%s", records, valid,
                torn ? ", torn tail dropped" : "");
    return rc;
}

/* The order a database would use: the new file complete and durable, renamed into place and the
 * rename durable, the videos cut (each by its own durable rename), and only then the journal
 * removed. A kill at any step leaves either the finished episode or the journal to rebuild it. */
static int finish_steps(tw_builder *b, const char *dir, const char *jpath, const char *tmp, const char *final,
                        const char *status, const char *phase, char *msg, size_t msgsz)
{
    int rc = build_tmp(b, jpath, tmp, status, phase, msg, msgsz);
    if (!rc && rename(tmp, final) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "rename %s: %s", tmp, strerror(errno));
    tw_fault_point(phase);
    if (!rc)
        rc = tw_fsync_dir(dir, msg, msgsz);
    tw_fault_point(phase);
    if (!rc)
        rc = fix_videos(b, phase, msg, msgsz);
    if (!rc)
        rc = tw_fsync_dir(dir, msg, msgsz);
    tw_fault_point(phase);
    if (!rc && unlink(jpath) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "remove %s: %s", jpath, strerror(errno));
    tw_fault_point(phase);
    if (!rc)
        rc = tw_fsync_dir(dir, msg, msgsz);
    tw_fault_point(phase);
    return rc;
}

static int finish_locked(const char *dir, const char *status_override, const char *phase, char *msg, size_t msgsz)
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
    tw_fault_point(phase);
    tw_builder b;
    memset(&b, 0, sizeof b);
    b.f = H5I_INVALID_HID;
    snprintf(b.dir, sizeof b.dir, "%s", dir);
    char summary[256] = "";
    int rc = finish_steps(&b, dir, jpath, tmp, final, status_override, phase, summary, sizeof summary);
    if (rc)
        unlink(tmp); /* never episode.h5: it may be the only readable copy */
    builder_free(&b);
    close(lock);
    tw_errf(msg, msgsz, rc, "%s", summary);
    return rc;
}

int tw_episode_finish(const char *dir, const char *status_override, const char *phase, char *msg, size_t msgsz)
{
    tw_h5_lock();
    int rc = finish_locked(dir, status_override, phase ? phase : "close", msg, msgsz);
    tw_h5_unlock();
    return rc;
}
