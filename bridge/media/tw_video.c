/* Video writer: one Matroska file per camera stream (see tw_media.h). We own the file
 * descriptor (custom AVIOContext) so that flush can fsync it and a full disk is reported
 * as TW_ENOSPACE rather than a generic FFmpeg failure. */
#include "tw_media.h"

#include "tw_episode.h"

#include <errno.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PENDING_MAX 64 /* frames inside the encoder; zerolatency keeps this at 0 or 1 */

struct tw_video_writer {
    tw_stream_decl decl;
    int fd, werr;
    AVFormatContext *fmt;
    AVStream *st;
    AVCodecContext *enc; /* RGB24 only */
    struct SwsContext *sws;
    AVFrame *frame;
    uint8_t *rgb; /* a padded copy of the caller's RGB frame: swscale's SIMD reads past the last row */
    AVPacket *pkt;
    int header_done;
    int64_t t0_ns, last_pts, enc_pts;
    uint64_t skipped, bytes, nin;
    tw_video_emit pending[PENDING_MAX];
    unsigned npending;
    tw_video_emit_fn emit;
    void *ud;
};

static int av_fail(char *msg, size_t msgsz, tw_video_writer *v, int err, const char *what)
{
    int e = v ? v->werr : 0;
    if (e == ENOSPC || e == EFBIG || e == EDQUOT)
        return tw_errf(msg, msgsz, TW_ENOSPACE, "%s: %s", what, strerror(e));
    if (e)
        return tw_errf(msg, msgsz, TW_EIO, "%s: %s", what, strerror(e));
    char b[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(err, b, sizeof b);
    return tw_errf(msg, msgsz, TW_EAV, "%s: %s", what, b);
}

static int io_write(void *opaque, uint8_t *buf, int n)
{
    tw_video_writer *v = opaque;
    int left = n;
    while (left > 0) {
        ssize_t w = write(v->fd, buf, (size_t)left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            v->werr = w < 0 ? errno : ENOSPC;
            return AVERROR(v->werr);
        }
        buf += w;
        left -= (int)w;
    }
    v->bytes += (uint64_t)n;
    return n;
}

static int64_t io_seek(void *opaque, int64_t off, int whence)
{
    tw_video_writer *v = opaque;
    if (whence == AVSEEK_SIZE) {
        off_t cur = lseek(v->fd, 0, SEEK_CUR), end = lseek(v->fd, 0, SEEK_END);
        lseek(v->fd, cur, SEEK_SET);
        return end;
    }
    off_t r = lseek(v->fd, (off_t)off, whence & ~AVSEEK_FORCE);
    return r < 0 ? AVERROR(errno) : r;
}

/* Annex-B scan: copies SPS (7) and PPS (8) NAL units, with start codes, into extradata. */
static int h264_headers(const uint8_t *p, size_t n, uint8_t **out, size_t *outlen, int *idr)
{
    int sps = 0, pps = 0;
    size_t cap = n, len = 0;
    uint8_t *x = av_mallocz(cap + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!x)
        return TW_ENOMEM;
    *idr = 0;
    for (size_t i = 0; i + 3 <= n;) {
        if (!(p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)) {
            i++;
            continue;
        }
        size_t s = i + 3, e = s;
        while (e + 3 <= n && !(p[e] == 0 && p[e + 1] == 0 && (p[e + 2] == 1 || (p[e + 2] == 0 && e + 3 < n && p[e + 3] == 1))))
            e++;
        if (e + 3 > n)
            e = n;
        int type = s < n ? p[s] & 0x1f : 0;
        *idr |= type == 5;
        if ((type == 7 || type == 8) && e > s) {
            memcpy(x + len, "\0\0\0\1", 4);
            memcpy(x + len + 4, p + s, e - s);
            len += 4 + (e - s);
            sps |= type == 7;
            pps |= type == 8;
        }
        i = e;
    }
    if (!(sps && pps)) {
        av_free(x);
        *out = NULL;
        *outlen = 0;
        return 0;
    }
    *out = x;
    *outlen = len;
    return 0;
}

static int open_encoder(tw_video_writer *v, char *msg, size_t msgsz)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    if (!c)
        c = avcodec_find_encoder(AV_CODEC_ID_MJPEG); /* always built in */
    v->enc = avcodec_alloc_context3(c);
    if (!v->enc)
        return tw_errf(msg, msgsz, TW_ENOMEM, "video encoder");
    int even = v->decl.width % 2 == 0 && v->decl.height % 2 == 0;
    v->enc->width = (int)v->decl.width;
    v->enc->height = (int)v->decl.height;
    v->enc->time_base = (AVRational){1, 1000000};
    v->enc->pix_fmt = c->id == AV_CODEC_ID_MJPEG ? AV_PIX_FMT_YUVJ444P : even ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUV444P;
    v->enc->gop_size = v->decl.rate_hz >= 1 ? (int)(v->decl.rate_hz + 0.5) : 30; /* a keyframe a second */
    v->enc->max_b_frames = 0; /* frames leave in the order they came: the index stays 1:1 */
    v->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    v->enc->thread_count = 1;
    if (c->id == AV_CODEC_ID_H264) {
        av_opt_set(v->enc->priv_data, "preset", "ultrafast", 0);
        av_opt_set(v->enc->priv_data, "tune", "zerolatency", 0);
    }
    int r = avcodec_open2(v->enc, c, NULL);
    if (r < 0)
        return av_fail(msg, msgsz, NULL, r, "open video encoder");
    v->sws = sws_getContext(v->enc->width, v->enc->height, AV_PIX_FMT_RGB24, v->enc->width, v->enc->height,
                            v->enc->pix_fmt, SWS_POINT, NULL, NULL, NULL);
    v->frame = av_frame_alloc();
    if (!v->sws || !v->frame)
        return tw_errf(msg, msgsz, TW_ENOMEM, "video scaler");
    v->frame->format = v->enc->pix_fmt;
    v->frame->width = v->enc->width;
    v->frame->height = v->enc->height;
    r = av_frame_get_buffer(v->frame, 0);
    return r < 0 ? av_fail(msg, msgsz, NULL, r, "video frame") : 0;
}

static int write_header(tw_video_writer *v, const uint8_t *extra, size_t extralen, char *msg, size_t msgsz)
{
    AVCodecParameters *par = v->st->codecpar;
    if (v->enc) {
        int r = avcodec_parameters_from_context(par, v->enc);
        if (r < 0)
            return av_fail(msg, msgsz, NULL, r, "video parameters");
    } else {
        par->codec_type = AVMEDIA_TYPE_VIDEO;
        par->codec_id = v->decl.encoding == TW_VIDEO_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_MJPEG;
        par->width = (int)v->decl.width;
        par->height = (int)v->decl.height;
        if (extra) {
            par->extradata = av_mallocz(extralen + AV_INPUT_BUFFER_PADDING_SIZE);
            if (!par->extradata)
                return tw_errf(msg, msgsz, TW_ENOMEM, "extradata");
            memcpy(par->extradata, extra, extralen);
            par->extradata_size = (int)extralen;
        }
    }
    v->st->time_base = (AVRational){1, 1000};
    int r = avformat_write_header(v->fmt, NULL);
    if (r < 0)
        return av_fail(msg, msgsz, v, r, "write video header");
    v->header_done = 1;
    return 0;
}

int tw_video_writer_open(const char *path, const tw_stream_decl *d, tw_video_emit_fn emit, void *ud,
                         tw_video_writer **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (d->kind != TW_KIND_VIDEO || d->encoding == TW_VIDEO_NONE || d->encoding > TW_VIDEO_RGB24)
        return tw_errf(msg, msgsz, TW_EINVAL, "stream %s: not a video stream with a known encoding", d->name);
    if (av_log_get_level() == AV_LOG_INFO)
        av_log_set_level(AV_LOG_WARNING); /* libx264 says a page at INFO per encoder; a library stays quiet */
    tw_video_writer *v = calloc(1, sizeof *v);
    if (!v)
        return tw_errf(msg, msgsz, TW_ENOMEM, "video writer");
    v->decl = *d;
    v->emit = emit;
    v->ud = ud;
    v->last_pts = INT64_MIN;
    v->t0_ns = INT64_MIN;
    v->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc;
    if (v->fd < 0) {
        rc = tw_errf(msg, msgsz, errno == ENOSPC ? TW_ENOSPACE : TW_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    uint8_t *iobuf = av_malloc(1 << 16);
    AVIOContext *pb = iobuf ? avio_alloc_context(iobuf, 1 << 16, 1, v, NULL, io_write, io_seek) : NULL;
    v->pkt = av_packet_alloc();
    if (!pb || avformat_alloc_output_context2(&v->fmt, NULL, "matroska", NULL) < 0 || !v->pkt) {
        if (pb)
            avio_context_free(&pb);
        else
            av_free(iobuf);
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "video muxer for %s", path);
        goto fail;
    }
    v->fmt->pb = pb;
    v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    /* every file states its format version (schemas/episode.md §4) */
    av_dict_set(&v->fmt->metadata, "TELEWORLD_FORMAT", TW_EPISODE_FORMAT " " TW_EPISODE_VERSION_STR, 0);
    av_dict_set(&v->fmt->metadata, "TELEWORLD_STREAM", d->name, 0);
    v->st = avformat_new_stream(v->fmt, NULL);
    if (!v->st) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "video stream");
        goto fail;
    }
    if (d->encoding == TW_VIDEO_RGB24 && (rc = open_encoder(v, msg, msgsz)) != 0)
        goto fail;
    /* H.264 waits for its first SPS/PPS; the others know everything now */
    if (d->encoding != TW_VIDEO_H264 && (rc = write_header(v, NULL, 0, msg, msgsz)) != 0)
        goto fail;
    *out = v;
    return 0;
fail:
    tw_video_writer_close(v, 1, NULL, 0);
    return rc;
}

/* Muxes pkt with a pts from the frame's source time and reports the frame. */
static int mux(tw_video_writer *v, AVPacket *pkt, const tw_video_emit *tag, int key, char *msg, size_t msgsz)
{
    if (v->t0_ns == INT64_MIN)
        v->t0_ns = tag->t_src_ns; /* pts count from the first frame stored */
    int64_t rel = tag->t_src_ns > v->t0_ns ? tag->t_src_ns - v->t0_ns : 0;
    int64_t pts = av_rescale_q_rnd(rel, (AVRational){1, 1000000000}, v->st->time_base, AV_ROUND_DOWN);
    if (pts < v->last_pts)
        pts = v->last_pts; /* out-of-order source times: the file needs non-decreasing pts */
    v->last_pts = pts;
    pkt->pts = pkt->dts = pts;
    pkt->stream_index = 0;
    pkt->duration = 0;
    if (key)
        pkt->flags |= AV_PKT_FLAG_KEY;
    tw_video_emit e = *tag;
    e.pts = pts;
    e.size = (uint32_t)pkt->size;
    e.keyframe = key;
    int r = av_write_frame(v->fmt, pkt);
    if (r < 0)
        return av_fail(msg, msgsz, v, r, "write video frame");
    return v->emit && v->emit(v->ud, &e) ? tw_errf(msg, msgsz, TW_EIO, "video index") : 0;
}

static int drain_encoder(tw_video_writer *v, char *msg, size_t msgsz)
{
    for (;;) {
        int r = avcodec_receive_packet(v->enc, v->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return 0;
        if (r < 0)
            return av_fail(msg, msgsz, NULL, r, "encode video");
        if (v->npending == 0) {
            av_packet_unref(v->pkt);
            return tw_errf(msg, msgsz, TW_EAV, "encoder produced more packets than frames");
        }
        tw_video_emit tag = v->pending[0];
        memmove(v->pending, v->pending + 1, --v->npending * sizeof tag);
        int rc = mux(v, v->pkt, &tag, (v->pkt->flags & AV_PKT_FLAG_KEY) != 0, msg, msgsz);
        av_packet_unref(v->pkt);
        if (rc)
            return rc;
    }
}

static int write_rgb(tw_video_writer *v, const uint8_t *data, size_t len, const tw_video_emit *tag,
                     char *msg, size_t msgsz)
{
    size_t want = (size_t)v->decl.width * v->decl.height * 3;
    if (len != want)
        return tw_errf(msg, msgsz, TW_ESHAPE, "stream %s: RGB24 frame of %zu bytes, %ux%u needs %zu",
                       v->decl.name, len, v->decl.width, v->decl.height, want);
    if (v->npending == PENDING_MAX)
        return tw_errf(msg, msgsz, TW_EAV, "video encoder holds too many frames");
    int r = av_frame_make_writable(v->frame);
    if (r < 0)
        return av_fail(msg, msgsz, NULL, r, "video frame");
    if (!v->rgb && !(v->rgb = av_mallocz(want + AV_INPUT_BUFFER_PADDING_SIZE)))
        return tw_errf(msg, msgsz, TW_ENOMEM, "stream %s: RGB frame buffer", v->decl.name);
    memcpy(v->rgb, data, want);
    const uint8_t *src[1] = {v->rgb};
    int stride[1] = {(int)v->decl.width * 3};
    sws_scale(v->sws, src, stride, 0, (int)v->decl.height, v->frame->data, v->frame->linesize);
    v->frame->pts = v->enc_pts++;
    v->pending[v->npending++] = *tag;
    r = avcodec_send_frame(v->enc, v->frame);
    if (r < 0)
        return av_fail(msg, msgsz, NULL, r, "encode video");
    return drain_encoder(v, msg, msgsz);
}

int tw_video_writer_write(tw_video_writer *v, const uint8_t *data, size_t len, int64_t t_src_ns,
                          int64_t t_recv_ns, uint64_t seq, int keyflag, char *msg, size_t msgsz)
{
    if (v->werr)
        return av_fail(msg, msgsz, v, 0, "video file");
    tw_video_emit tag = {.t_src_ns = t_src_ns, .t_recv_ns = t_recv_ns, .seq = seq};
    v->nin++;
    if (v->decl.encoding == TW_VIDEO_RGB24)
        return write_rgb(v, data, len, &tag, msg, msgsz);
    int key = keyflag || v->decl.encoding == TW_VIDEO_JPEG;
    if (v->decl.encoding == TW_VIDEO_H264) {
        uint8_t *extra = NULL;
        size_t extralen = 0;
        int idr = 0;
        if (h264_headers(data, len, &extra, &extralen, &idr) != 0)
            return tw_errf(msg, msgsz, TW_ENOMEM, "h264 scan");
        key |= idr;
        if (!v->header_done) {
            if (!extra || !key) {
                av_free(extra);
                v->skipped++; /* undecodable without SPS/PPS and an IDR */
                return 0;
            }
            int rc = write_header(v, extra, extralen, msg, msgsz);
            av_free(extra);
            if (rc)
                return rc;
        } else {
            av_free(extra);
        }
    }
    /* av_write_frame copies non-refcounted data, so the caller's buffer is not kept */
    v->pkt->data = (uint8_t *)data;
    v->pkt->size = (int)len;
    v->pkt->flags = 0;
    int rc = mux(v, v->pkt, &tag, key, msg, msgsz);
    v->pkt->data = NULL;
    v->pkt->size = 0;
    return rc;
}

int tw_video_writer_flush(tw_video_writer *v, char *msg, size_t msgsz)
{
    if (v->werr)
        return av_fail(msg, msgsz, v, 0, "video file");
    if (!v->header_done)
        return 0;
    int r = av_write_frame(v->fmt, NULL); /* Matroska: ends the cluster and writes it out */
    if (r < 0)
        return av_fail(msg, msgsz, v, r, "flush video");
    avio_flush(v->fmt->pb);
    if (v->werr)
        return av_fail(msg, msgsz, v, 0, "flush video");
    if (fdatasync(v->fd) != 0) {
        v->werr = errno;
        return av_fail(msg, msgsz, v, 0, "fsync video");
    }
    return 0;
}

int tw_video_writer_close(tw_video_writer *v, int abandon, char *msg, size_t msgsz)
{
    if (!v)
        return 0;
    int rc = 0;
    if (!abandon && !v->werr && v->enc) {
        if (avcodec_send_frame(v->enc, NULL) >= 0)
            rc = drain_encoder(v, msg, msgsz);
    }
    if (!abandon && !v->werr && v->header_done && rc == 0) {
        int r = av_write_trailer(v->fmt);
        avio_flush(v->fmt->pb);
        if (r < 0 || v->werr)
            rc = av_fail(msg, msgsz, v, r, "write video trailer");
        else if (fdatasync(v->fd) != 0)
            rc = tw_errf(msg, msgsz, TW_EIO, "fsync video: %s", strerror(errno));
    }
    if (v->fmt) {
        if (v->fmt->pb) {
            av_freep(&v->fmt->pb->buffer);
            avio_context_free(&v->fmt->pb);
        }
        avformat_free_context(v->fmt);
    }
    avcodec_free_context(&v->enc);
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_free(v->rgb);
    av_packet_free(&v->pkt);
    if (v->fd >= 0)
        close(v->fd);
    free(v);
    return rc;
}

uint64_t tw_video_writer_skipped(const tw_video_writer *v) { return v ? v->skipped : 0; }
uint64_t tw_video_writer_bytes(const tw_video_writer *v) { return v ? v->bytes : 0; }

void tw_video_writer_info(const tw_video_writer *v, const char **codec, int *tb_num, int *tb_den)
{
    int h264 = v->decl.encoding == TW_VIDEO_H264 || (v->enc && v->enc->codec_id == AV_CODEC_ID_H264);
    *codec = h264 ? "h264" : "mjpeg";
    *tb_num = v->header_done ? v->st->time_base.num : 1;
    *tb_den = v->header_done ? v->st->time_base.den : 1000;
}
