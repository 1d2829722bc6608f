#include "ep_fixture.h"
#include "tw_media.h"

#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* stream s emits at every div[s]-th joint-state tick (2 ms) */
static const unsigned div_[EP_NSTREAMS] = {1, 1, 5, 50, 2, 10, 16, 16, 16};

void ep_decls(tw_stream_decl *d)
{
    memset(d, 0, sizeof *d * EP_NSTREAMS);
    static const char *names[EP_NSTREAMS] = {"arm", "wrist_ft", "cmd", "marks", "imu", "grid", "cam_h264", "cam_jpeg", "cam_rgb"};
    static const tw_kind kinds[EP_NSTREAMS] = {TW_KIND_JOINT_STATE, TW_KIND_WRENCH, TW_KIND_ACTION, TW_KIND_EVENT, TW_KIND_IMU,
                                               TW_KIND_TENSOR, TW_KIND_VIDEO, TW_KIND_VIDEO, TW_KIND_VIDEO};
    for (int i = 0; i < EP_NSTREAMS; i++) {
        d[i].id = (uint16_t)(i + 1);
        snprintf(d[i].name, sizeof d[i].name, "%s", names[i]);
        d[i].kind = kinds[i];
        d[i].rate_hz = 500.0 / div_[i];
        d[i].dtype = TW_DTYPE_FLOAT64;
    }
    d[EP_JOINTS].ndim = 2, d[EP_JOINTS].shape[0] = 3, d[EP_JOINTS].shape[1] = 7;
    d[EP_JOINTS].naxes = 7;
    for (int j = 0; j < 7; j++)
        snprintf(d[EP_JOINTS].axes[j], TW_MAX_NAME, "joint%d", j + 1);
    snprintf(d[EP_JOINTS].units, TW_MAX_NAME, "rad;rad/s;N*m");
    d[EP_WRENCH].ndim = 1, d[EP_WRENCH].shape[0] = 6, d[EP_WRENCH].dtype = TW_DTYPE_FLOAT32;
    snprintf(d[EP_WRENCH].frame, TW_MAX_NAME, "wrist");
    d[EP_ACTION].ndim = 1, d[EP_ACTION].shape[0] = 8;
    d[EP_EVENT].dtype = TW_DTYPE_BYTES;
    d[EP_IMU].ndim = 1, d[EP_IMU].shape[0] = 10;
    d[EP_TENSOR].ndim = 2, d[EP_TENSOR].shape[0] = 2, d[EP_TENSOR].shape[1] = 3, d[EP_TENSOR].dtype = TW_DTYPE_INT32;
    for (int i = EP_H264; i <= EP_RGB; i++) {
        d[i].dtype = TW_DTYPE_BYTES;
        d[i].width = EP_W;
        d[i].height = EP_H;
    }
    d[EP_H264].encoding = TW_VIDEO_H264;
    d[EP_JPEG].encoding = TW_VIDEO_JPEG;
    d[EP_RGB].encoding = TW_VIDEO_RGB24;
}

double ep_value(int s, uint64_t k, size_t e)
{
    /* integers and quarters below 2^20: exact in float32, float64 and int32 */
    double v = (double)((k * 16 + e) % 1000000) + (s == EP_TENSOR ? 0 : 0.25 * (s % 4));
    return (k + e) % 2 ? -v : v;
}

int64_t ep_t_src(int s, uint64_t k) { return 1000000000LL + (int64_t)(k * div_[s]) * 2000000 + s; }
int64_t ep_t_recv(int s, uint64_t k) { return ep_t_src(s, k) + 250000 + (int64_t)(k % 7) * 1000; }

void ep_event_text(uint64_t k, char *buf, size_t n) { snprintf(buf, n, "{\"mark\":%llu,\"note\":\"grasp \\u00e9\"}", (unsigned long long)k); }

uint64_t ep_count(int s, uint64_t n) { return (n + div_[s] - 1) / div_[s]; }

struct ep_video {
    int s;
    AVCodecContext *c;
    AVFrame *fr;
    AVPacket *pkt;
};

ep_video *ep_video_new(int s)
{
    ep_video *v = calloc(1, sizeof *v);
    v->s = s;
    if (s == EP_RGB)
        return v;
    const AVCodec *codec = s == EP_H264 ? avcodec_find_encoder_by_name("libx264") : avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec)
        goto fail;
    v->c = avcodec_alloc_context3(codec);
    v->c->width = EP_W;
    v->c->height = EP_H;
    v->c->time_base = (AVRational){1, 30};
    v->c->pix_fmt = s == EP_H264 ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUVJ420P;
    v->c->gop_size = 8;
    v->c->max_b_frames = 0;
    v->c->thread_count = 1;
    if (s == EP_H264) {
        av_opt_set(v->c->priv_data, "preset", "ultrafast", 0);
        av_opt_set(v->c->priv_data, "tune", "zerolatency", 0);
        av_opt_set(v->c->priv_data, "x264-params", "repeat-headers=1", 0); /* SPS/PPS on every IDR, like a camera */
    }
    if (avcodec_open2(v->c, codec, NULL) < 0)
        goto fail;
    v->fr = av_frame_alloc();
    v->fr->format = v->c->pix_fmt;
    v->fr->width = EP_W;
    v->fr->height = EP_H;
    av_frame_get_buffer(v->fr, 0);
    v->pkt = av_packet_alloc();
    return v;
fail:
    ep_video_free(v);
    return NULL;
}

int ep_video_frame(ep_video *v, uint64_t k, uint8_t **data, size_t *len, int *key)
{
    if (v->s == EP_RGB) {
        *len = EP_W * EP_H * 3;
        *data = malloc(*len);
        for (size_t i = 0; i < *len; i++)
            (*data)[i] = (uint8_t)(i * 3 + k * 11);
        *key = 0;
        return 0;
    }
    av_frame_make_writable(v->fr);
    for (int p = 0; p < 3; p++) {
        int h = p ? EP_H / 2 : EP_H, w = p ? EP_W / 2 : EP_W;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                v->fr->data[p][y * v->fr->linesize[p] + x] = (uint8_t)(x * 2 + y + k * 5 + p * 40);
    }
    v->fr->pts = (int64_t)k;
    if (avcodec_send_frame(v->c, v->fr) < 0 || avcodec_receive_packet(v->c, v->pkt) < 0)
        return -1;
    *len = (size_t)v->pkt->size;
    *data = malloc(*len);
    memcpy(*data, v->pkt->data, *len);
    *key = (v->pkt->flags & AV_PKT_FLAG_KEY) != 0;
    av_packet_unref(v->pkt);
    return 0;
}

void ep_video_free(ep_video *v)
{
    if (!v)
        return;
    avcodec_free_context(&v->c);
    av_frame_free(&v->fr);
    av_packet_free(&v->pkt);
    free(v);
}

int ep_gen_init(ep_gen *g)
{
    tw_media_use_for_episodes(); /* the fixture's episodes have camera streams */
    memset(g, 0, sizeof *g);
    ep_decls(g->d);
    g->cap = 1 << 16;
    g->buf = malloc(g->cap);
    for (int s = EP_H264; s <= EP_RGB; s++)
        if (!(g->video[s] = ep_video_new(s)))
            return -1;
    return 0;
}

void ep_gen_free(ep_gen *g)
{
    for (int s = 0; s < EP_NSTREAMS; s++)
        ep_video_free(g->video[s]);
    free(g->buf);
}

int ep_gen_frame(ep_gen *g, int s, uint64_t k, tw_frame *f)
{
    memset(f, 0, sizeof *f);
    f->stream_id = (uint16_t)(s + 1);
    f->seq = k;
    f->t_src_ns = ep_t_src(s, k);
    f->payload = g->buf;
    const tw_stream_decl *d = &g->d[s];
    if (d->kind == TW_KIND_EVENT) {
        ep_event_text(k, (char *)g->buf, g->cap);
        f->payload_len = (uint32_t)strlen((char *)g->buf);
    } else if (d->kind == TW_KIND_VIDEO) {
        uint8_t *p;
        size_t n;
        int key;
        if (ep_video_frame(g->video[s], k, &p, &n, &key) != 0 || n > g->cap)
            return -1;
        memcpy(g->buf, p, n);
        free(p);
        f->payload_len = (uint32_t)n;
        f->flags = key ? TW_FLAG_KEYFRAME : 0;
    } else {
        size_t n = tw_decl_elems(d);
        for (size_t e = 0; e < n; e++) {
            double v = ep_value(s, k, e);
            if (d->dtype == TW_DTYPE_FLOAT32)
                ((float *)g->buf)[e] = (float)v;
            else if (d->dtype == TW_DTYPE_INT32)
                ((int32_t *)g->buf)[e] = (int32_t)v;
            else
                ((double *)g->buf)[e] = v;
        }
        f->payload_len = (uint32_t)tw_decl_sample_bytes(d);
    }
    return 0;
}

int ep_write(const char *dir, uint64_t n, uint64_t flush_every, int close, tw_episode_writer **keep,
             ep_flush_fn on_flush)
{
    ep_gen g;
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = "ep-test";
    info.session_id = "sess-1";
    info.task = "pick the red cube";
    info.operator_ = "alice";
    info.robot = "panda-01";
    info.software_version = "teleworld test";
    info.metadata_json = "{\"site\":\"lab\"}";
    info.started_ns = 1000000000LL;
    info.chunk_samples = 256;
    tw_episode_writer *w = NULL;
    char msg[512];
    int rc = ep_gen_init(&g);
    if (!rc)
        rc = tw_episode_create(dir, &info, g.d, EP_NSTREAMS, &w, msg, sizeof msg);
    if (rc)
        fprintf(stderr, "ep_write create: %s\n", msg);
    for (uint64_t j = 0; !rc && j < n; j++) {
        for (int s = 0; !rc && s < EP_NSTREAMS; s++) {
            if (j % div_[s])
                continue;
            uint64_t k = j / div_[s];
            tw_frame f;
            rc = ep_gen_frame(&g, s, k, &f);
            if (!rc)
                rc = tw_episode_append(w, &f, ep_t_recv(s, k), msg, sizeof msg);
        }
        if (!rc && j % 500 == 0)
            rc = tw_episode_clock(w, ep_t_src(0, j), 250000000 + (int64_t)j, 40000);
        if (!rc && j % 1000 == 0) {
            char label[64];
            snprintf(label, sizeof label, "label %llu", (unsigned long long)j);
            rc = tw_episode_event(w, ep_t_src(0, j), "annotate", label, "{\"by\":\"test\"}", msg, sizeof msg);
        }
        if (!rc && flush_every && j % flush_every == flush_every - 1)
            rc = tw_episode_flush(w, msg, sizeof msg);
        if (!rc && flush_every && j % flush_every == flush_every - 1 && on_flush)
            on_flush(j + 1);
        if (rc)
            fprintf(stderr, "ep_write at %llu: %s\n", (unsigned long long)j, msg);
    }
    if (!rc)
        rc = tw_episode_set_meta(w, "success_note", "\"ok\"");
    ep_gen_free(&g);
    if (close && w) {
        int crc = tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg);
        if (crc)
            fprintf(stderr, "ep_write close: %s\n", msg);
        return rc ? rc : crc;
    }
    if (keep)
        *keep = w;
    return rc;
}

char *ep_tmpdir(char *buf, size_t n)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, n, "%s/tw-episode-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(buf);
}

int ep_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int r = system(cmd);
    return r == -1 ? -1 : WEXITSTATUS(r);
}

void ep_rmtree(const char *dir)
{
    if (dir && strncmp(dir, "/", 1) == 0 && strstr(dir, "tw-episode-"))
        ep_sh("rm -rf '%s'", dir);
}

int ep_progress_fd = -1;

void ep_report_flush(uint64_t ticks)
{
    char line[32];
    int n = snprintf(line, sizeof line, "%llu\n", (unsigned long long)ticks);
    if (write(ep_progress_fd, line, (size_t)n) != n)
        _exit(3);
}
