/* tw export mcap: one channel per exportable stream, the episode as metadata, and H.264 packets read
 * back from the episode's Matroska files as Annex-B access units (libavformat + h264_mp4toannexb). */
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_mcap.h"

struct exp_video {
    AVFormatContext *fmt;
    AVBSFContext *bsf;
    AVPacket *pkt;
    int stream;
    const char *frame_id;
};

static void video_free(exp_video *v)
{
    if (!v)
        return;
    av_bsf_free(&v->bsf);
    avformat_close_input(&v->fmt);
    av_packet_free(&v->pkt);
    free(v);
}

int exp_buf_grow(exp_buf *b, size_t need, char *err, size_t errsz)
{
    if (need <= b->cap)
        return 0;
    size_t cap = need + need / 2 + 256;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return tw_errf(err, errsz, TW_ENOMEM, "out of memory (%zu bytes)", cap);
    b->p = p, b->cap = cap;
    return 0;
}

static int av_fail(int av, const char *what, const char *path, char *err, size_t errsz)
{
    char e[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(av, e, sizeof e);
    return tw_errf(err, errsz, TW_EAV, "%s %s: %s", what, path, e);
}

static int video_open(exp_stream *s, const char *path, char *err, size_t errsz)
{
    exp_video *v = s->vid = calloc(1, sizeof *v);
    if (!v || !(v->pkt = av_packet_alloc()))
        return tw_errf(err, errsz, TW_ENOMEM, "out of memory");
    v->frame_id = s->decl->frame;
    int av = avformat_open_input(&v->fmt, path, NULL, NULL);
    if (av < 0 || (av = avformat_find_stream_info(v->fmt, NULL)) < 0)
        return av_fail(av, "open", path, err, errsz);
    if ((v->stream = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0)
        return tw_errf(err, errsz, TW_EAV, "%s: no video stream", path);
    AVStream *st = v->fmt->streams[v->stream];
    if (st->codecpar->codec_id != AV_CODEC_ID_H264)
        return tw_errf(err, errsz, TW_EUNSUPPORTED, "%s: not H.264", path);
    const AVBitStreamFilter *f = av_bsf_get_by_name("h264_mp4toannexb");
    if (!f || (av = av_bsf_alloc(f, &v->bsf)) < 0)
        return tw_errf(err, errsz, TW_EAV, "libavcodec lacks h264_mp4toannexb");
    avcodec_parameters_copy(v->bsf->par_in, st->codecpar);
    v->bsf->time_base_in = st->time_base;
    if ((av = av_bsf_init(v->bsf)) < 0)
        return av_fail(av, "h264_mp4toannexb for", path, err, errsz);
    return 0;
}

int exp_video_next(exp_stream *s, exp_buf *b, char *err, size_t errsz)
{
    exp_video *v = s->vid;
    int av;
    for (;;) {
        if ((av = av_bsf_receive_packet(v->bsf, v->pkt)) == 0)
            break;
        if (av != AVERROR(EAGAIN))
            return av_fail(av, "annex-b conversion of", s->decl->name, err, errsz);
        do {
            if ((av = av_read_frame(v->fmt, v->pkt)) < 0)
                return av == AVERROR_EOF ? tw_errf(err, errsz, TW_EINTEGRITY,
                                                   "the file ends before frame %llu of the index",
                                                   (unsigned long long)s->next)
                                         : av_fail(av, "read", s->decl->name, err, errsz);
            if (v->pkt->stream_index != v->stream)
                av_packet_unref(v->pkt);
        } while (!v->pkt->data);
        if ((av = av_bsf_send_packet(v->bsf, v->pkt)) < 0)
            return av_fail(av, "annex-b conversion of", s->decl->name, err, errsz);
    }
    tw_ros2_enc_video m = {s->vidx[s->next].t_src_ns, v->frame_id, "h264", v->pkt->data, (size_t)v->pkt->size};
    size_t len = 0;
    int rc = tw_ros2_encode_video(&m, NULL, 0, &len, err, errsz);
    if ((rc < 0 && rc != TW_EFULL) || (rc = exp_buf_grow(b, len, err, errsz)) < 0)
        goto out;
    rc = tw_ros2_encode_video(&m, b->p, b->cap, &b->len, err, errsz);
out:
    av_packet_unref(v->pkt);
    return rc;
}

static int add_channel(exp_run *x, exp_stream *s, tw_ros2_kind k, char *err, size_t errsz)
{
    const char *type = NULL, *text = tw_ros2_schema_text(k, &type);
    uint16_t sid;
    char m[1024] = "";
    int rc = tw_mcap_writer_add_schema(x->w, type, "ros2msg", (const uint8_t *)text, strlen(text), &sid, m, sizeof m);
    snprintf(s->topic, sizeof s->topic, "/%s", s->decl->name);
    const char *keys[] = {"teleworld.stream", "teleworld.kind"};
    const char *vals[] = {s->decl->name, tw_kind_name(s->decl->kind)};
    if (rc >= 0)
        rc = tw_mcap_writer_add_channel(x->w, sid, s->topic, "cdr", keys, vals, 2, &s->channel, m, sizeof m);
    return rc < 0 ? tw_errf(err, errsz, rc, "%s: %s", x->out, m) : 0;
}

static int open_signal(exp_run *x, exp_stream *s, char *err, size_t errsz)
{
    size_t el = tw_decl_elems(s->decl);
    s->t_src = malloc(EXP_BLOCK * sizeof(int64_t));
    s->t_recv = malloc(EXP_BLOCK * sizeof(int64_t));
    s->data = malloc(EXP_BLOCK * el * sizeof(double));
    if (!s->t_src || !s->t_recv || !s->data)
        return tw_errf(err, errsz, TW_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < s->decl->naxes; i++)
        s->names[i] = s->decl->axes[i];
    s->total = tw_episode_nsamples(x->e, s->idx);
    tw_ros2_kind k = s->decl->kind == TW_KIND_JOINT_STATE ? TW_ROS2_JOINT_STATE
                     : s->decl->kind == TW_KIND_WRENCH    ? TW_ROS2_WRENCH_STAMPED
                                                          : TW_ROS2_FLOAT64_ARRAY;
    return add_channel(x, s, k, err, errsz);
}

static int open_video(exp_run *x, exp_stream *s, int *skip, char *err, size_t errsz)
{
    char path[4096], m[1024] = "";
    size_t n = 0;
    int rc = tw_episode_read_video_index(x->e, s->idx, &s->vidx, &n, path, sizeof path, m, sizeof m);
    if (rc < 0)
        return tw_errf(err, errsz, rc, "%s: video %s: %s", x->dir, s->decl->name, m);
    s->total = n;
    if ((rc = video_open(s, path, m, sizeof m)) == TW_EUNSUPPORTED) {
        *skip = 1;
        return 0;
    }
    if (rc < 0)
        return tw_errf(err, errsz, rc, "%s: video %s: %s", x->dir, s->decl->name, m);
    return add_channel(x, s, TW_ROS2_COMPRESSED_VIDEO, err, errsz);
}

int exp_streams_open(exp_run *x, char *err, size_t errsz)
{
    size_t n = tw_episode_nstreams(x->e);
    for (size_t i = 0; i < n && i < TW_MAX_STREAMS; i++) {
        exp_stream *s = &x->s[x->n];
        memset(s, 0, sizeof *s);
        s->idx = i;
        s->decl = tw_episode_decl(x->e, i);
        tw_kind k = s->decl->kind;
        int rc = 0, skip = !(k == TW_KIND_JOINT_STATE || k == TW_KIND_WRENCH || k == TW_KIND_ACTION ||
                             k == TW_KIND_VIDEO);
        if (!skip && k == TW_KIND_VIDEO)
            rc = open_video(x, s, &skip, err, errsz);
        else if (!skip)
            rc = open_signal(x, s, err, errsz);
        if (skip) {
            snprintf(x->skipped[x->nskip++], sizeof x->skipped[0], "%s (%s%s: no ROS 2 message for it)",
                     s->decl->name, tw_kind_name(k), k == TW_KIND_VIDEO ? ", not H.264" : "");
            free(s->vidx);
            video_free(s->vid);
            memset(s, 0, sizeof *s);
            continue;
        }
        x->n++;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int exp_metadata(exp_run *x, char *err, size_t errsz)
{
    const tw_episode_meta *m = tw_episode_get_meta(x->e);
    char started[32], ended[32], succ[8];
    snprintf(started, sizeof started, "%lld", (long long)m->started_ns);
    snprintf(ended, sizeof ended, "%lld", (long long)m->ended_ns);
    snprintf(succ, sizeof succ, "%d", m->success);
    const char *keys[] = {"episode_id", "session_id", "task", "operator", "robot", "domain", "status", "success",
                          "started_ns", "ended_ns", "format_version"};
    const char *vals[] = {m->episode_id, m->session_id, m->task, m->operator_, m->robot, m->domain, m->status, succ,
                          started, ended, TW_EPISODE_VERSION_STR};
    char msg[1024] = "";
    int rc = tw_mcap_writer_add_metadata(x->w, "teleworld.episode", keys, vals, sizeof keys / sizeof keys[0], msg,
                                         sizeof msg);
    return rc < 0 ? tw_errf(err, errsz, rc, "%s: %s", x->out, msg) : 0;
}

void exp_free(exp_run *x)
{
    for (size_t i = 0; i < x->n; i++) {
        exp_stream *s = &x->s[i];
        free(s->t_src);
        free(s->t_recv);
        free(s->data);
        free(s->vidx);
        video_free(s->vid);
    }
    tw_mcap_writer_abort(x->w);
    tw_episode_close_reader(x->e);
    free(x->buf.p);
    free(x);
}
