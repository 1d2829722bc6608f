/* An episode's video file as a LeRobot MP4: see tw_convert_video.h (cv_vout).
 * Frame times are put on the dataset's frame grid (frame k at k / fps, time base 1/(fps*1000) for integer fps):
 * LeRobot looks frames up by timestamp with a 1e-4 s tolerance, finer than the episode files' millisecond pts. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_convert_episodes.h"
#include "tw_convert_video.h"

struct cv_vout {
    char path[CV_PATH], tmp[CV_PATH + 16];
    AVFormatContext *out;
    AVStream *st;
    AVCodecContext *enc; /* av1 only */
    struct SwsContext *sws;
    AVFrame *yuv;
    AVPacket *pkt;
    double fps;
    int64_t next_frame; /* av1: frames encoded so far */
    int header;
};

static int av_fail(char *msg, size_t msgsz, int e, const char *what, const char *path)
{
    char b[128];
    av_strerror(e, b, sizeof b);
    return tw_errf(msg, msgsz, TW_EAV, "%s: %s: %s", path, what, b);
}

static AVRational grid_tb(double fps)
{
    return fabs(fps - round(fps)) < 1e-9 ? (AVRational){1, (int)round(fps) * 1000} : (AVRational){1, 90000};
}

static int open_input(const char *src, AVFormatContext **in, int *si, char *msg, size_t msgsz)
{
    *in = NULL;
    int e = avformat_open_input(in, src, NULL, NULL);
    if (e >= 0)
        e = avformat_find_stream_info(*in, NULL);
    if (e >= 0)
        e = *si = av_find_best_stream(*in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (e < 0) {
        avformat_close_input(in);
        return av_fail(msg, msgsz, e, "cannot read video", src);
    }
    return 0;
}

static int setup_av1(cv_vout *o, const AVCodecParameters *cp, char *msg, size_t msgsz)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libsvtav1");
    if (!c)
        c = avcodec_find_encoder(AV_CODEC_ID_AV1);
    if (!c)
        return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "this FFmpeg has no AV1 encoder (libsvtav1)");
    o->enc = avcodec_alloc_context3(c);
    o->enc->width = cp->width, o->enc->height = cp->height, o->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    o->enc->time_base = (AVRational){1, (int)round(o->fps)};
    o->enc->framerate = (AVRational){(int)round(o->fps), 1};
    o->enc->gop_size = 2; /* LeRobot's encode_video_frames: g=2, crf=30 */
    o->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(o->enc->priv_data, "crf", "30", 0);
    av_opt_set(o->enc->priv_data, "preset", "8", 0);
    int e = avcodec_open2(o->enc, c, NULL);
    if (e < 0)
        return av_fail(msg, msgsz, e, "open libsvtav1", o->path);
    o->yuv = av_frame_alloc();
    o->yuv->format = AV_PIX_FMT_YUV420P, o->yuv->width = cp->width, o->yuv->height = cp->height;
    e = av_frame_get_buffer(o->yuv, 0);
    if (e >= 0)
        e = avcodec_parameters_from_context(o->st->codecpar, o->enc);
    o->st->time_base = o->enc->time_base;
    return e < 0 ? av_fail(msg, msgsz, e, "AV1 encoder set-up", o->path) : 0;
}

int cv_vout_open(const char *path, const char *src, const char *codec, double fps, cv_vout **out, char *msg,
                 size_t msgsz)
{
    *out = NULL;
    cv_vout *o = calloc(1, sizeof *o);
    if (!o)
        return TW_ENOMEM;
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.mp4", path);
    o->fps = fps;
    o->pkt = av_packet_alloc();
    AVFormatContext *in;
    int si, rc = open_input(src, &in, &si, msg, msgsz), e = 0;
    if (!rc && (e = avformat_alloc_output_context2(&o->out, NULL, "mp4", o->tmp)) < 0)
        rc = av_fail(msg, msgsz, e, "mp4 muxer", o->tmp);
    if (!rc) {
        o->st = avformat_new_stream(o->out, NULL);
        if (!strcmp(codec, "av1"))
            rc = setup_av1(o, in->streams[si]->codecpar, msg, msgsz);
        else {
            avcodec_parameters_copy(o->st->codecpar, in->streams[si]->codecpar);
            o->st->codecpar->codec_tag = 0;
            o->st->time_base = grid_tb(fps);
        }
    }
    if (in)
        avformat_close_input(&in);
    if (!rc && (e = avio_open(&o->out->pb, o->tmp, AVIO_FLAG_WRITE)) < 0)
        rc = av_fail(msg, msgsz, e, "create", o->tmp);
    if (!rc) {
        AVDictionary *opt = NULL;
        av_dict_set(&opt, "movflags", "+faststart", 0); /* as LeRobot's files: moov first */
        e = avformat_write_header(o->out, &opt);
        av_dict_free(&opt);
        rc = e < 0 ? av_fail(msg, msgsz, e, "mp4 header", o->tmp) : 0;
        o->header = !rc;
    }
    if (rc) {
        cv_vout_close(o, 1, NULL, 0);
        return rc;
    }
    *out = o;
    return 0;
}

static int write_encoded(cv_vout *o, AVFrame *f, char *msg, size_t msgsz)
{
    int e = avcodec_send_frame(o->enc, f);
    while (e >= 0) {
        e = avcodec_receive_packet(o->enc, o->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return 0;
        if (e < 0)
            break;
        if (o->pkt->duration <= 0) /* else the MP4 edit list leaves the last frame out */
            o->pkt->duration = 1;
        av_packet_rescale_ts(o->pkt, o->enc->time_base, o->st->time_base);
        o->pkt->stream_index = o->st->index;
        e = av_interleaved_write_frame(o->out, o->pkt);
    }
    return av_fail(msg, msgsz, e, "AV1 encode", o->tmp);
}

/* Decodes src and encodes every frame (av1). */
static int append_encoded(cv_vout *o, AVFormatContext *in, int si, uint64_t *n, char *msg, size_t msgsz)
{
    const AVCodec *c = avcodec_find_decoder(in->streams[si]->codecpar->codec_id);
    AVCodecContext *dec = c ? avcodec_alloc_context3(c) : NULL;
    int e = dec ? avcodec_parameters_to_context(dec, in->streams[si]->codecpar) : AVERROR_DECODER_NOT_FOUND;
    if (e >= 0)
        e = avcodec_open2(dec, c, NULL);
    AVFrame *f = av_frame_alloc();
    int rc = e < 0 ? av_fail(msg, msgsz, e, "decoder", in->url) : 0, eof = 0;
    while (!rc && !eof) {
        e = av_read_frame(in, o->pkt);
        eof = e == AVERROR_EOF;
        if (e < 0 && !eof)
            break;
        if (!eof && o->pkt->stream_index != si) {
            av_packet_unref(o->pkt);
            continue;
        }
        avcodec_send_packet(dec, eof ? NULL : o->pkt);
        av_packet_unref(o->pkt);
        while (!rc && avcodec_receive_frame(dec, f) >= 0) {
            o->sws = sws_getCachedContext(o->sws, f->width, f->height, f->format, o->yuv->width, o->yuv->height,
                                          AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
            av_frame_make_writable(o->yuv);
            sws_scale(o->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, o->yuv->data,
                      o->yuv->linesize);
            o->yuv->pts = o->next_frame++;
            rc = write_encoded(o, o->yuv, msg, msgsz);
            (*n)++;
            av_frame_unref(f);
        }
    }
    av_frame_free(&f);
    avcodec_free_context(&dec);
    return rc;
}

int cv_vout_append(cv_vout *o, const char *src, double offset_s, uint64_t *nframes, double *dur_s, char *msg,
                   size_t msgsz)
{
    *nframes = 0, *dur_s = 0;
    AVFormatContext *in;
    int si, rc = open_input(src, &in, &si, msg, msgsz), e;
    if (rc)
        return rc;
    if (o->enc) {
        rc = append_encoded(o, in, si, nframes, msg, msgsz);
        *dur_s = (double)*nframes / o->fps;
        avformat_close_input(&in);
        return rc;
    }
    AVRational itb = in->streams[si]->time_base;
    double last = -1;
    while (!rc && (e = av_read_frame(in, o->pkt)) >= 0) {
        if (o->pkt->stream_index != si) {
            av_packet_unref(o->pkt);
            continue;
        }
        /* Snap to the frame grid (frames recorded at the dataset's rate land exactly on k / fps). */
        double t = o->pkt->pts * av_q2d(itb), k = round(t * o->fps);
        int64_t pts = av_rescale_q(llround(k * 1000.0), (AVRational){1, (int)llround(o->fps * 1000)}, o->st->time_base);
        pts += av_rescale_q(llround(offset_s * o->fps) * 1000, (AVRational){1, (int)llround(o->fps * 1000)},
                            o->st->time_base); /* the episode's offset in the file, whole frames */
        o->pkt->pts = o->pkt->dts = pts;
        o->pkt->duration = av_rescale_q(1000, (AVRational){1, (int)llround(o->fps * 1000)}, o->st->time_base);
        o->pkt->stream_index = o->st->index;
        o->pkt->pos = -1;
        last = k;
        (*nframes)++;
        e = av_interleaved_write_frame(o->out, o->pkt);
        if (e < 0)
            rc = av_fail(msg, msgsz, e, "write", o->tmp);
    }
    *dur_s = last < 0 ? 0 : (last + 1) / o->fps;
    avformat_close_input(&in);
    return rc;
}

int cv_vout_fits(const cv_vout *o, const char *src, int64_t max_bytes)
{
    AVFormatContext *in;
    int si;
    if (open_input(src, &in, &si, NULL, 0) != 0)
        return 0;
    const AVCodecParameters *a = in->streams[si]->codecpar, *b = o->st->codecpar;
    int fits = a->width == b->width && a->height == b->height && avio_tell(o->out->pb) < max_bytes;
    if (fits && !o->enc) /* copies: the decoder configuration must be the same bytes */
        fits = a->codec_id == b->codec_id && a->extradata_size == b->extradata_size &&
               (!a->extradata_size || !memcmp(a->extradata, b->extradata, (size_t)a->extradata_size));
    avformat_close_input(&in);
    return fits;
}

int cv_vout_close(cv_vout *o, int abandon, char *msg, size_t msgsz)
{
    if (!o)
        return 0;
    int rc = 0;
    if (!abandon && o->enc)
        rc = write_encoded(o, NULL, msg, msgsz);
    if (o->header && !abandon && !rc) {
        int e = av_write_trailer(o->out);
        rc = e < 0 ? av_fail(msg, msgsz, e, "mp4 trailer", o->tmp) : 0;
    }
    if (o->out && o->out->pb)
        avio_closep(&o->out->pb);
    avformat_free_context(o->out);
    avcodec_free_context(&o->enc);
    av_frame_free(&o->yuv);
    av_packet_free(&o->pkt);
    sws_freeContext(o->sws);
    if (!abandon && !rc) {
        if (tw_fsync_path(o->tmp) != 0)
            rc = tw_errf(msg, msgsz, TW_EIO, "fsync %s", o->tmp);
        else
            rc = cv_commit(o->tmp, o->path, msg, msgsz);
    }
    if (abandon || rc)
        remove(o->tmp);
    free(o);
    return rc;
}

void cv_vout_info(const cv_vout *o, const char **codec, const char **pix_fmt, int *width, int *height)
{
    *codec = avcodec_get_name(o->st->codecpar->codec_id);
    *pix_fmt = av_get_pix_fmt_name((enum AVPixelFormat)o->st->codecpar->format);
    *width = o->st->codecpar->width, *height = o->st->codecpar->height;
}
