/* Video read-back with libavformat/libavcodec: a file (mkv/mp4, H.264 or MJPEG) or raw H.264
 * access units in, RGB24 or gray frames out. See tw_media.h. */
#include "tw_media.h"

#include "tw_core.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tw_vdecode {
    AVFormatContext *fmt;   /* file mode only */
    int stream;             /* file mode: index of the video stream */
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame, *out;   /* decoded, and converted to `pixfmt` */
    struct SwsContext *sws;
    tw_pixfmt pixfmt;
    int eof_sent;           /* the decoder has been sent its flush packet */
    uint64_t index;
};

static int av_fail(char *msg, size_t msgsz, int averr, const char *what)
{
    char e[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, e, sizeof e);
    return tw_errf(msg, msgsz, TW_EAV, "vdecode: %s: %s", what, e);
}

/* Shared tail of both open modes: decoder, packet and frames. */
static int open_decoder(tw_vdecode *d, const AVCodec *codec, const AVCodecParameters *par, char *msg, size_t msgsz)
{
    d->dec = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    d->out = av_frame_alloc();
    if (!d->dec || !d->pkt || !d->frame || !d->out)
        return tw_errf(msg, msgsz, TW_ENOMEM, "vdecode: out of memory");
    int rc = par ? avcodec_parameters_to_context(d->dec, par) : 0;
    if (rc < 0)
        return av_fail(msg, msgsz, rc, "codec parameters");
    /* One thread and low delay: a frame comes out for each AU that goes in, in order. */
    d->dec->thread_count = 1;
    d->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
    d->dec->err_recognition |= AV_EF_EXPLODE;
    if ((rc = avcodec_open2(d->dec, codec, NULL)) < 0)
        return av_fail(msg, msgsz, rc, "open decoder");
    return 0;
}

static int check_fmt(tw_pixfmt fmt, tw_vdecode **out, char *msg, size_t msgsz)
{
    if (!out || (fmt != TW_PIX_RGB24 && fmt != TW_PIX_GRAY8))
        return tw_errf(msg, msgsz, TW_EINVAL, "vdecode: NULL out or unknown pixel format %d", (int)fmt);
    *out = NULL;
    return 0;
}

int tw_vdecode_open(const char *path, tw_pixfmt fmt, tw_vdecode **out, char *msg, size_t msgsz)
{
    int rc = check_fmt(fmt, out, msg, msgsz);
    if (rc)
        return rc;
    if (!path)
        return tw_errf(msg, msgsz, TW_EINVAL, "vdecode: NULL path");
    tw_vdecode *d = calloc(1, sizeof *d);
    if (!d)
        return tw_errf(msg, msgsz, TW_ENOMEM, "vdecode: out of memory");
    d->pixfmt = fmt;
    char what[512];
    snprintf(what, sizeof what, "open %s", path);
    if ((rc = avformat_open_input(&d->fmt, path, NULL, NULL)) < 0 ||
        (rc = avformat_find_stream_info(d->fmt, NULL)) < 0) {
        rc = av_fail(msg, msgsz, rc, what);
        goto fail;
    }
    const AVCodec *codec = NULL;
    d->stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (d->stream < 0 || !codec) {
        rc = tw_errf(msg, msgsz, TW_ENOT_FOUND, "vdecode: %s has no decodable video stream", path);
        goto fail;
    }
    if ((rc = open_decoder(d, codec, d->fmt->streams[d->stream]->codecpar, msg, msgsz)))
        goto fail;
    *out = d;
    return 0;
fail:
    tw_vdecode_close(d);
    return rc;
}

int tw_vdecode_open_h264(tw_pixfmt fmt, tw_vdecode **out, char *msg, size_t msgsz)
{
    int rc = check_fmt(fmt, out, msg, msgsz);
    if (rc)
        return rc;
    tw_vdecode *d = calloc(1, sizeof *d);
    if (!d)
        return tw_errf(msg, msgsz, TW_ENOMEM, "vdecode: out of memory");
    d->pixfmt = fmt;
    d->stream = -1;
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    if (!codec)
        rc = tw_errf(msg, msgsz, TW_EUNSUPPORTED, "vdecode: FFmpeg has no H.264 decoder");
    else
        rc = open_decoder(d, codec, NULL, msg, msgsz);
    if (rc) {
        tw_vdecode_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

int tw_vdecode_send(tw_vdecode *d, const uint8_t *au, size_t size, int64_t pts, char *msg, size_t msgsz)
{
    if (!d || d->fmt || (size && !au) || size > INT32_MAX)
        return tw_errf(msg, msgsz, TW_EINVAL, "vdecode: send needs an AU-mode decoder and an AU");
    if (d->eof_sent)
        return tw_errf(msg, msgsz, TW_ESTATE, "vdecode: send after flush");
    int rc;
    if (size == 0) {
        d->eof_sent = 1;
        rc = avcodec_send_packet(d->dec, NULL);
    } else {
        /* The packet borrows the caller's bytes only for this call; the decoder copies what it keeps. */
        av_packet_unref(d->pkt);
        if ((rc = av_new_packet(d->pkt, (int)size)) < 0)
            return av_fail(msg, msgsz, rc, "packet");
        memcpy(d->pkt->data, au, size);
        d->pkt->pts = pts;
        rc = avcodec_send_packet(d->dec, d->pkt);
        av_packet_unref(d->pkt);
    }
    return rc < 0 && rc != AVERROR_EOF ? av_fail(msg, msgsz, rc, "decode access unit") : 0;
}

/* File mode: feeds the decoder the next packet of our stream, or its flush at end of file. */
static int feed_file(tw_vdecode *d, char *msg, size_t msgsz)
{
    for (;;) {
        int rc = av_read_frame(d->fmt, d->pkt);
        if (rc == AVERROR_EOF) {
            d->eof_sent = 1;
            avcodec_send_packet(d->dec, NULL);
            return 0;
        }
        if (rc < 0)
            return av_fail(msg, msgsz, rc, "read packet");
        if (d->pkt->stream_index != d->stream) {
            av_packet_unref(d->pkt);
            continue;
        }
        rc = avcodec_send_packet(d->dec, d->pkt);
        av_packet_unref(d->pkt);
        return rc < 0 ? av_fail(msg, msgsz, rc, "decode packet") : 0;
    }
}

/* Converts d->frame into d->out in the requested pixel format. */
static int convert(tw_vdecode *d, char *msg, size_t msgsz)
{
    enum AVPixelFormat dst = d->pixfmt == TW_PIX_GRAY8 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
    AVFrame *in = d->frame;
    enum AVPixelFormat src = (enum AVPixelFormat)in->format;
    int full = in->color_range == AVCOL_RANGE_JPEG;
    /* MJPEG decodes to the deprecated "J" formats; name the plain format and the full range instead. */
    if (src == AV_PIX_FMT_YUVJ420P || src == AV_PIX_FMT_YUVJ422P || src == AV_PIX_FMT_YUVJ444P) {
        src = src == AV_PIX_FMT_YUVJ420P ? AV_PIX_FMT_YUV420P
              : src == AV_PIX_FMT_YUVJ422P ? AV_PIX_FMT_YUV422P : AV_PIX_FMT_YUV444P;
        full = 1;
    }
    d->sws = sws_getCachedContext(d->sws, in->width, in->height, src, in->width, in->height, dst, SWS_BILINEAR,
                                  NULL, NULL, NULL);
    if (!d->sws)
        return tw_errf(msg, msgsz, TW_EAV, "vdecode: cannot convert %dx%d %s frames", in->width, in->height,
                       av_get_pix_fmt_name(src));
    const int *coef = sws_getCoefficients(SWS_CS_DEFAULT);
    sws_setColorspaceDetails(d->sws, coef, full, coef, 1, 0, 1 << 16, 1 << 16);
    if (d->out->width != in->width || d->out->height != in->height || d->out->format != dst) {
        av_frame_unref(d->out);
        d->out->width = in->width;
        d->out->height = in->height;
        d->out->format = dst;
        if (av_frame_get_buffer(d->out, 0) < 0)
            return tw_errf(msg, msgsz, TW_ENOMEM, "vdecode: out of memory for a %dx%d frame", in->width, in->height);
    }
    sws_scale(d->sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height, d->out->data, d->out->linesize);
    return 0;
}

int tw_vdecode_next(tw_vdecode *d, tw_vframe *f, char *msg, size_t msgsz)
{
    if (!d || !f)
        return tw_errf(msg, msgsz, TW_EINVAL, "vdecode: NULL argument to next");
    for (;;) {
        int rc = avcodec_receive_frame(d->dec, d->frame);
        if (rc == AVERROR_EOF)
            return TW_VDECODE_END;
        if (rc == AVERROR(EAGAIN)) {
            if (!d->fmt)
                return TW_VDECODE_AGAIN;
            if ((rc = feed_file(d, msg, msgsz)))
                return rc;
            continue;
        }
        if (rc < 0)
            return av_fail(msg, msgsz, rc, "decode");
        if ((rc = convert(d, msg, msgsz)))
            return rc;
        f->data = d->out->data[0];
        f->stride = (size_t)d->out->linesize[0];
        f->width = d->out->width;
        f->height = d->out->height;
        f->fmt = d->pixfmt;
        f->pts = d->frame->best_effort_timestamp;
        f->pts_ns = f->pts;
        if (d->fmt && f->pts != AV_NOPTS_VALUE)
            f->pts_ns = av_rescale_q(f->pts, d->fmt->streams[d->stream]->time_base, (AVRational){1, 1000000000});
        f->keyframe = d->frame->key_frame != 0;
        f->index = d->index++;
        av_frame_unref(d->frame);
        return 0;
    }
}

int64_t tw_vdecode_nb_frames(const tw_vdecode *d)
{
    return d && d->fmt ? d->fmt->streams[d->stream]->nb_frames : 0;
}

void tw_vdecode_close(tw_vdecode *d)
{
    if (!d)
        return;
    sws_freeContext(d->sws);
    av_frame_free(&d->frame);
    av_frame_free(&d->out);
    av_packet_free(&d->pkt);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
    free(d);
}
