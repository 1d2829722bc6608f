/* Pictures of ROS 2 image topics as teleworld video samples: JPEG/PNG decoded to rgb24 (libavcodec,
 * swscale), raw rgb8/bgr8/mono8 repacked, H.264 access units passed through. */
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "tw_rosmap_int.h"

/* Decodes one packet with a fresh decoder of codec id; *out receives the frame (caller frees). */
static int decode_one(enum AVCodecID id, const uint8_t *data, size_t len, AVFrame **out, char *err, size_t errsz)
{
    *out = NULL;
    const AVCodec *c = avcodec_find_decoder(id);
    if (!c)
        return tw_errf(err, errsz, TW_EAV, "libavcodec has no %s decoder", avcodec_get_name(id));
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    uint8_t *buf = len <= INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE ? av_malloc(len + AV_INPUT_BUFFER_PADDING_SIZE)
                                                                    : NULL;
    int rc = TW_ENOMEM;
    if (!ctx || !pkt || !fr || !buf)
        goto done;
    memcpy(buf, data, len);
    memset(buf + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    pkt->data = buf;
    pkt->size = (int)len;
    ctx->thread_count = 1;
    int av = avcodec_open2(ctx, c, NULL);
    if (av >= 0 && (av = avcodec_send_packet(ctx, pkt)) >= 0 && (av = avcodec_receive_frame(ctx, fr)) == AVERROR(EAGAIN)) {
        avcodec_send_packet(ctx, NULL); /* flush: a decoder with delay gives the frame now */
        av = avcodec_receive_frame(ctx, fr);
    }
    if (av < 0) {
        char e[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(av, e, sizeof e);
        rc = tw_errf(err, errsz, TW_EAV, "%s picture of %zu bytes does not decode: %s", avcodec_get_name(id), len, e);
        goto done;
    }
    *out = fr;
    fr = NULL;
    rc = 0;
done:
    if (rc == TW_ENOMEM && !err[0])
        tw_errf(err, errsz, TW_ENOMEM, "out of memory decoding a picture");
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    av_free(buf);
    return rc;
}

static enum AVPixelFormat unjpeg(enum AVPixelFormat f)
{
    switch (f) { /* the full-range "J" formats swscale calls deprecated: same planes */
    case AV_PIX_FMT_YUVJ420P: return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: return AV_PIX_FMT_YUV440P;
    default: return f;
    }
}

int tw_rosmap_decode_image(const uint8_t *data, size_t len, tw_ros2_format fmt, uint8_t **rgb, uint32_t *w,
                           uint32_t *h, char *err, size_t errsz)
{
    *rgb = NULL;
    if (err && errsz)
        err[0] = 0;
    if (fmt != TW_ROS2_FMT_JPEG && fmt != TW_ROS2_FMT_PNG)
        return tw_errf(err, errsz, TW_EUNSUPPORTED, "only JPEG and PNG pictures are decoded");
    AVFrame *fr;
    int rc = decode_one(fmt == TW_ROS2_FMT_PNG ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG, data, len, &fr, err, errsz);
    if (rc < 0)
        return rc;
    enum AVPixelFormat src = unjpeg((enum AVPixelFormat)fr->format);
    struct SwsContext *sws = sws_getContext(fr->width, fr->height, src, fr->width, fr->height, AV_PIX_FMT_RGB24,
                                            SWS_BILINEAR, NULL, NULL, NULL);
    uint8_t *out = malloc((size_t)fr->width * fr->height * 3 + 64); /* swscale may write a little past */
    if (!sws || !out) {
        rc = tw_errf(err, errsz, sws ? TW_ENOMEM : TW_EAV, "cannot convert a %dx%d %s picture to rgb24", fr->width,
                     fr->height, av_get_pix_fmt_name(src));
        free(out);
    } else {
        if (src != fr->format) /* full-range input: say so, since the J format said it */
            sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, sws_getCoefficients(SWS_CS_DEFAULT),
                                     1, 0, 1 << 16, 1 << 16);
        uint8_t *dst[4] = {out};
        int dstride[4] = {fr->width * 3};
        sws_scale(sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dstride);
        *rgb = out;
        *w = (uint32_t)fr->width;
        *h = (uint32_t)fr->height;
    }
    sws_freeContext(sws);
    av_frame_free(&fr);
    return rc;
}

int tw_rosmap_h264_size(const uint8_t *au, size_t len, uint32_t *w, uint32_t *h, char *err, size_t errsz)
{
    AVFrame *fr;
    if (err && errsz)
        err[0] = 0;
    int rc = decode_one(AV_CODEC_ID_H264, au, len, &fr, err, errsz);
    if (rc < 0)
        return rc;
    *w = (uint32_t)fr->width;
    *h = (uint32_t)fr->height;
    av_frame_free(&fr);
    return 0;
}

int tw_rosmap_h264_idr(const uint8_t *au, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 && (au[i + 3] & 0x1f) == 5)
            return 1;
    return 0;
}

/* rgb24 pictures go to swscale (the episode's H.264 encoder), whose SIMD reads up to 16 bytes past
 * the last row: the scratch buffer carries that slack. */
#define RM_PIX_SLACK 64

static int grow_pix(tw_rostopic *t, size_t n, char *err, size_t errsz)
{
    if (n <= t->pix_cap)
        return 0;
    uint8_t *p = realloc(t->pix, n + RM_PIX_SLACK);
    if (!p)
        return tw_errf(err, errsz, TW_ENOMEM, "topic %s: out of memory for a %zu-byte picture", t->topic, n);
    t->pix = p;
    t->pix_cap = n;
    return 0;
}

/* Raw rgb8/bgr8/mono8 rows (step may pad them) -> tight rgb24 in t->pix. */
static int repack_raw(tw_rostopic *t, const tw_ros2_frame *f, char *err, size_t errsz)
{
    int rc = grow_pix(t, (size_t)f->width * f->height * 3, err, errsz);
    if (rc < 0)
        return rc;
    for (uint32_t y = 0; y < f->height; y++) {
        const uint8_t *s = f->data + (size_t)y * f->step;
        uint8_t *d = t->pix + (size_t)y * f->width * 3;
        for (uint32_t x = 0; x < f->width; x++, d += 3) {
            if (f->format == TW_ROS2_FMT_MONO8)
                d[0] = d[1] = d[2] = s[x];
            else if (f->format == TW_ROS2_FMT_BGR8)
                d[0] = s[3 * x + 2], d[1] = s[3 * x + 1], d[2] = s[3 * x];
            else
                memcpy(d, s + 3 * x, 3);
        }
    }
    return 0;
}

/* Fixes the video declaration on the first picture; later pictures must have the same size. */
static int fix_video(tw_rostopic *t, tw_video_enc enc, uint32_t w, uint32_t h, char *err, size_t errsz)
{
    tw_stream_decl *d = &t->decl;
    if (t->have_decl) {
        if (d->width != w || d->height != h)
            return tw_errf(err, errsz, TW_ESHAPE, "topic %s: a %ux%u picture where the first was %ux%u", t->topic, w,
                           h, d->width, d->height);
        return 0;
    }
    d->kind = TW_KIND_VIDEO;
    d->dtype = TW_DTYPE_BYTES;
    d->encoding = enc;
    d->width = w;
    d->height = h;
    if (d->rate_hz <= 0)
        d->rate_hz = 30;
    t->have_decl = 1;
    return 0;
}

/* Decodes the picture into t->pix (rgb24), or only measures it when keep (payload stays JPEG). */
static int decoded(tw_rostopic *t, const tw_ros2_frame *f, int keep, uint32_t *w, uint32_t *h, char *err,
                   size_t errsz)
{
    uint8_t *rgb;
    char e[256] = "";
    int rc = tw_rosmap_decode_image(f->data, f->len, f->format, &rgb, w, h, e, sizeof e);
    if (rc < 0)
        return tw_errf(err, errsz, rc, "topic %s: %s", t->topic, e);
    if (!keep && (rc = grow_pix(t, (size_t)*w * *h * 3, err, errsz)) == 0)
        memcpy(t->pix, rgb, (size_t)*w * *h * 3);
    free(rgb);
    return rc;
}

int rm_convert_frame(tw_rostopic *t, const tw_ros2_frame *f, int64_t t_recv_ns, tw_rossample *s, char *err,
                     size_t errsz)
{
    uint32_t w = t->decl.width, h = t->decl.height;
    int rc = 0, keep = f->format == TW_ROS2_FMT_JPEG && (t->flags & TW_ROSTOPIC_KEEP_JPEG);
    tw_video_enc enc = keep ? TW_VIDEO_JPEG : TW_VIDEO_RGB24;
    s->t_src_ns = f->stamp_ns ? f->stamp_ns : t_recv_ns;
    s->has_stamp = f->stamp_ns != 0;
    s->keyframe = 1;
    switch (f->format) {
    case TW_ROS2_FMT_JPEG:
    case TW_ROS2_FMT_PNG:
        if (!keep || !t->have_decl)
            rc = decoded(t, f, keep, &w, &h, err, errsz);
        break;
    case TW_ROS2_FMT_RGB8:
    case TW_ROS2_FMT_BGR8:
    case TW_ROS2_FMT_MONO8:
        w = f->width, h = f->height;
        rc = repack_raw(t, f, err, errsz);
        break;
    case TW_ROS2_FMT_H264:
        enc = TW_VIDEO_H264;
        s->keyframe = tw_rosmap_h264_idr(f->data, f->len);
        if (!t->have_decl) {
            char e[256] = "";
            if ((rc = tw_rosmap_h264_size(f->data, f->len, &w, &h, e, sizeof e)) < 0)
                rc = tw_errf(err, errsz, rc, "topic %s: first H.264 frame: %s", t->topic, e);
        }
        break;
    default:
        return tw_errf(err, errsz, TW_EUNSUPPORTED, "topic %s: picture format '%s' (jpeg, png, h264, rgb8, bgr8, mono8)",
                       t->topic, f->format_str ? f->format_str : "");
    }
    if (rc < 0 || (rc = fix_video(t, enc, w, h, err, errsz)) < 0)
        return rc;
    if (t->decl.encoding != enc)
        return tw_errf(err, errsz, TW_ESHAPE, "topic %s: picture format changed to %s", t->topic, f->format_str);
    if (enc == TW_VIDEO_RGB24) {
        s->payload = t->pix;
        s->len = (size_t)w * h * 3;
    } else {
        s->payload = f->data;
        s->len = f->len;
    }
    return 0;
}
