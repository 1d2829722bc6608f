/* One episode's span of a LeRobot MP4: see tw_convert_video.h (cv_vin). */
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "tw_convert_video.h"
#include "tw_core.h"

struct cv_vin {
    AVFormatContext *fmt;
    int si;
    AVStream *st;
    int copy;
    AVBSFContext *bsf;    /* copy: mp4 (avcC) -> Annex-B */
    AVCodecContext *dec;  /* decode */
    struct SwsContext *sws;
    uint8_t *rgb;
    AVPacket *pkt;
    AVFrame *frm;
};

static int av_fail(char *msg, size_t msgsz, int e, const char *what, const char *path)
{
    char b[128];
    av_strerror(e, b, sizeof b);
    return tw_errf(msg, msgsz, TW_EAV, "%s: %s: %s", path, what, b);
}

int cv_vin_open(const char *path, cv_vin **out, char *msg, size_t msgsz)
{
    *out = NULL;
    cv_vin *v = calloc(1, sizeof *v);
    if (!v)
        return TW_ENOMEM;
    int e = avformat_open_input(&v->fmt, path, NULL, NULL);
    if (e < 0) {
        free(v);
        return e == AVERROR(ENOENT) ? tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: video file missing", path)
                                    : av_fail(msg, msgsz, e, "cannot open", path);
    }
    if ((e = avformat_find_stream_info(v->fmt, NULL)) < 0 ||
        (v->si = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0) {
        cv_vin_close(v);
        return av_fail(msg, msgsz, e < 0 ? e : v->si, "no video stream", path);
    }
    v->st = v->fmt->streams[v->si];
    AVCodecParameters *cp = v->st->codecpar;
    /* An episode's video index is in decode order with non-decreasing pts: B-frames cannot be stored as they are. */
    v->copy = cp->codec_id == AV_CODEC_ID_H264 && cp->video_delay == 0;
    v->pkt = av_packet_alloc(), v->frm = av_frame_alloc();
    if (v->copy) {
        const AVBitStreamFilter *f = av_bsf_get_by_name("h264_mp4toannexb");
        e = f ? av_bsf_alloc(f, &v->bsf) : AVERROR_BSF_NOT_FOUND;
        if (e >= 0 && (e = avcodec_parameters_copy(v->bsf->par_in, cp)) >= 0)
            e = av_bsf_init(v->bsf);
    } else {
        const AVCodec *c = avcodec_find_decoder(cp->codec_id);
        v->dec = c ? avcodec_alloc_context3(c) : NULL;
        e = v->dec ? avcodec_parameters_to_context(v->dec, cp) : AVERROR_DECODER_NOT_FOUND;
        if (e >= 0)
            e = avcodec_open2(v->dec, c, NULL);
        /* + padding: libswscale reads RGB rows with 16-byte loads past the last pixel */
        v->rgb = e >= 0 ? malloc((size_t)cp->width * (size_t)cp->height * 3 + 64) : NULL;
    }
    if (e < 0) {
        cv_vin_close(v);
        return av_fail(msg, msgsz, e, "cannot set up the codec", path);
    }
    *out = v;
    return 0;
}

int cv_vin_passthrough(const cv_vin *v) { return v->copy; }

void cv_vin_info(const cv_vin *v, int *width, int *height, const char **codec)
{
    *width = v->st->codecpar->width, *height = v->st->codecpar->height;
    *codec = avcodec_get_name(v->st->codecpar->codec_id);
}

static double ts_s(const cv_vin *v, int64_t ts) { return ts == AV_NOPTS_VALUE ? -1e300 : ts * av_q2d(v->st->time_base); }

/* Decoded frames to RGB24; 1 when the span is over. */
static int drain_decoder(cv_vin *v, double from, double to, double tol, cv_vframe_fn cb, void *ud, uint64_t *n,
                         char *msg, size_t msgsz)
{
    for (;;) {
        int e = avcodec_receive_frame(v->dec, v->frm);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return 0;
        if (e < 0)
            return av_fail(msg, msgsz, e, "decode", v->fmt->url);
        double t = ts_s(v, v->frm->best_effort_timestamp);
        int w = v->frm->width, h = v->frm->height, rc = 0;
        if (t >= to - tol) {
            av_frame_unref(v->frm);
            return 1;
        }
        if (t >= from - tol) {
            v->sws = sws_getCachedContext(v->sws, w, h, v->frm->format, w, h, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL,
                                          NULL, NULL);
            uint8_t *dst[4] = {v->rgb};
            int ls[4] = {3 * w};
            sws_scale(v->sws, (const uint8_t *const *)v->frm->data, v->frm->linesize, 0, h, dst, ls);
            rc = cb(ud, v->rgb, (size_t)w * (size_t)h * 3, (int64_t)((t - from) * 1e9 + 0.5), 0, msg, msgsz);
            (*n)++;
        }
        av_frame_unref(v->frm);
        if (rc)
            return rc < 0 ? rc : TW_EINVAL;
    }
}

/* Annex-B packets out of the filter; 1 when the span is over. */
static int drain_bsf(cv_vin *v, double from, double to, double tol, cv_vframe_fn cb, void *ud, uint64_t *n,
                     char *msg, size_t msgsz)
{
    for (;;) {
        int e = av_bsf_receive_packet(v->bsf, v->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return 0;
        if (e < 0)
            return av_fail(msg, msgsz, e, "h264_mp4toannexb", v->fmt->url);
        double t = ts_s(v, v->pkt->pts);
        int rc = 0;
        if (t >= to - tol) {
            av_packet_unref(v->pkt);
            return 1;
        }
        if (t >= from - tol) {
            rc = cb(ud, v->pkt->data, (size_t)v->pkt->size, (int64_t)((t - from) * 1e9 + 0.5),
                    !!(v->pkt->flags & AV_PKT_FLAG_KEY), msg, msgsz);
            (*n)++;
        }
        av_packet_unref(v->pkt);
        if (rc)
            return rc < 0 ? rc : TW_EINVAL;
    }
}

int cv_vin_cut(cv_vin *v, double from_s, double to_s, double tol_s, cv_vframe_fn cb, void *ud, uint64_t *nframes,
               char *msg, size_t msgsz)
{
    *nframes = 0;
    int64_t seek = (int64_t)((from_s - tol_s) / av_q2d(v->st->time_base));
    int e = av_seek_frame(v->fmt, v->si, seek < 0 ? 0 : seek, AVSEEK_FLAG_BACKWARD);
    if (e < 0)
        return av_fail(msg, msgsz, e, "seek", v->fmt->url);
    if (v->dec)
        avcodec_flush_buffers(v->dec);
    else
        av_bsf_flush(v->bsf);
    int rc = 0, eof = 0;
    while (!rc) {
        e = av_read_frame(v->fmt, v->pkt);
        if (e == AVERROR_EOF)
            eof = 1;
        else if (e < 0)
            return av_fail(msg, msgsz, e, "read", v->fmt->url);
        else if (v->pkt->stream_index != v->si) {
            av_packet_unref(v->pkt);
            continue;
        }
        if (v->dec) {
            e = avcodec_send_packet(v->dec, eof ? NULL : v->pkt);
            av_packet_unref(v->pkt);
            if (e < 0 && e != AVERROR_EOF && e != AVERROR(EAGAIN))
                return av_fail(msg, msgsz, e, "decode", v->fmt->url);
            rc = drain_decoder(v, from_s, to_s, tol_s, cb, ud, nframes, msg, msgsz);
        } else {
            e = av_bsf_send_packet(v->bsf, eof ? NULL : v->pkt);
            av_packet_unref(v->pkt);
            if (e < 0 && e != AVERROR_EOF)
                return av_fail(msg, msgsz, e, "h264_mp4toannexb", v->fmt->url);
            rc = drain_bsf(v, from_s, to_s, tol_s, cb, ud, nframes, msg, msgsz);
        }
        if (eof)
            break;
    }
    return rc < 0 ? rc : 0;
}

void cv_vin_close(cv_vin *v)
{
    if (!v)
        return;
    av_bsf_free(&v->bsf);
    avcodec_free_context(&v->dec);
    sws_freeContext(v->sws);
    av_packet_free(&v->pkt);
    av_frame_free(&v->frm);
    avformat_close_input(&v->fmt);
    free(v->rgb);
    free(v);
}

void cv_quiet_ffmpeg(void)
{
    av_log_set_level(AV_LOG_ERROR);
    setenv("SVT_LOG", "1", 0); /* SVT-AV1 prints its configuration banner to stderr otherwise */
}

/* ------------------------------------------------------------------ single pictures */

struct cv_still {
    AVCodecContext *dec[2]; /* PNG, MJPEG: opened on first use */
    AVPacket *pkt;
    AVFrame *frm;
    struct SwsContext *sws;
};

int cv_still_open(cv_still **out, char *msg, size_t msgsz)
{
    cv_still *s = calloc(1, sizeof *s);
    if (s)
        s->pkt = av_packet_alloc(), s->frm = av_frame_alloc();
    if (!s || !s->pkt || !s->frm) {
        cv_still_close(s);
        return tw_errf(msg, msgsz, TW_ENOMEM, "picture decoder: out of memory");
    }
    *out = s;
    return 0;
}

int cv_still_decode(cv_still *s, const uint8_t *data, size_t len, int w, int h, uint8_t *rgb, const char *what,
                    char *msg, size_t msgsz)
{
    int jpeg = len >= 2 && data[0] == 0xFF && data[1] == 0xD8, e = 0;
    if (!jpeg) /* FFmpeg's PNG decoder keeps the last row of the previous picture for the first row's Up filter */
        avcodec_free_context(&s->dec[0]);
    if (!s->dec[jpeg]) {
        const AVCodec *c = avcodec_find_decoder(jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_PNG);
        s->dec[jpeg] = c ? avcodec_alloc_context3(c) : NULL;
        e = s->dec[jpeg] ? avcodec_open2(s->dec[jpeg], c, NULL) : AVERROR_DECODER_NOT_FOUND;
    }
    uint8_t *copy = e >= 0 ? av_malloc(len + AV_INPUT_BUFFER_PADDING_SIZE) : NULL;
    if (copy) {
        memcpy(copy, data, len);
        memset(copy + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
        av_packet_from_data(s->pkt, copy, (int)len);
        e = avcodec_send_packet(s->dec[jpeg], s->pkt);
        av_packet_unref(s->pkt);
        if (e >= 0)
            e = avcodec_receive_frame(s->dec[jpeg], s->frm);
    }
    if (e < 0 || !copy)
        return av_fail(msg, msgsz, e < 0 ? e : AVERROR(ENOMEM), "picture cannot be decoded", what);
    int rc = 0;
    if (s->frm->width != w || s->frm->height != h)
        rc = tw_errf(msg, msgsz, TW_ESHAPE, "%s: picture is %dx%d, info.json shape says %dx%d", what, s->frm->width,
                     s->frm->height, w, h);
    if (!rc) {
        s->sws = sws_getCachedContext(s->sws, w, h, s->frm->format, w, h, AV_PIX_FMT_RGB24, SWS_POINT, NULL, NULL,
                                      NULL);
        uint8_t *dst[4] = {rgb};
        int ls[4] = {3 * w};
        sws_scale(s->sws, (const uint8_t *const *)s->frm->data, s->frm->linesize, 0, h, dst, ls);
    }
    av_frame_unref(s->frm);
    return rc;
}

void cv_still_close(cv_still *s)
{
    if (!s)
        return;
    for (int i = 0; i < 2; i++)
        avcodec_free_context(&s->dec[i]);
    av_packet_free(&s->pkt);
    av_frame_free(&s->frm);
    sws_freeContext(s->sws);
    free(s);
}
