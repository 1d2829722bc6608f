/* Camera benchmarks, one figure per invocation so bench/camera/run can put them side by side:
 *   bench_camera push  W H N   teleworld push mode (appsrc -> videoconvert -> x264enc -> appsink)
 *   bench_camera bare  W H N   the same frames through libswscale + libx264 (via libavcodec), in-process
 *   bench_camera read  W H N   framecode reader on decoded frames
 *   bench_camera render W H N  MuJoCo EGL offscreen rendering of a small scene (replay/sim)
 * Each prints "<name> <frames> <seconds> <fps>". Frames are the self-numbering pattern, generated
 * before the clock starts. */
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tw_media.h"
#include "tw_sim.h"

#define NPAT 30 /* distinct frames, cycled */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads): the fair figure on a shared, busy machine. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "<name> <frames> <seconds> <fps> <cpu us/frame>" */
static void report(const char *name, int n, double t0, double c0, const char *extra)
{
    double dt = now_s() - t0, dc = cpu_s() - c0;
    printf("%s %d %.3f %.1f %.0f%s\n", name, n, dt, n / dt, dc * 1e6 / n, extra ? extra : "");
}

static int die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_camera: %s: %s\n", what, msg);
    return 1;
}

static uint8_t *make_frames(int w, int h)
{
    uint8_t *f = malloc((size_t)w * h * 3 * NPAT);
    for (int i = 0; i < NPAT; i++)
        tw_framecode_pattern(f + (size_t)i * w * h * 3, w, h, (size_t)w * 3, (uint32_t)i, NULL, 0);
    return f;
}

typedef struct {
    tw_camera *cam;
    const uint8_t *frames;
    int w, h, n, rc;
    char msg[256];
} pusher;

static void *push_thread(void *arg)
{
    pusher *p = arg;
    for (int i = 0; i < p->n && !p->rc; i++)
        p->rc = tw_camera_push(p->cam, p->frames + (size_t)(i % NPAT) * p->w * p->h * 3, (size_t)p->w * 3,
                               (int64_t)i * 33333333, p->msg, sizeof p->msg);
    if (!p->rc)
        p->rc = tw_camera_end(p->cam, p->msg, sizeof p->msg);
    return NULL;
}

/* Streaming: one thread pushes, this one pulls, as the rig does when it does not wait per frame. */
static int bench_push(int w, int h, int n)
{
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    o.width = w;
    o.height = h;
    char msg[256];
    pusher p = {.frames = make_frames(w, h), .w = w, .h = h, .n = n};
    if (tw_camera_open_push(&o, &p.cam, msg, sizeof msg))
        return die("open", msg);
    double t0 = now_s(), c0 = cpu_s();
    pthread_t th;
    pthread_create(&th, NULL, push_thread, &p);
    tw_camera_au au;
    int got = 0, rc;
    size_t bytes = 0;
    while ((rc = tw_camera_pull(p.cam, 10000, &au, msg, sizeof msg)) == 0) {
        got++;
        bytes += au.size;
    }
    pthread_join(th, NULL);
    if (rc != TW_ECLOSED || p.rc || got != n)
        return die("push", p.rc ? p.msg : msg);
    char extra[64];
    snprintf(extra, sizeof extra, "  (%.1f kB/frame)", bytes / 1024.0 / n);
    report("push", n, t0, c0, extra);
    tw_camera_close(p.cam);
    free((void *)p.frames);
    return 0;
}

/* Lock-step: push one frame, wait for its AU (tw_camera_encode), as a simulated camera does. */
static int bench_lockstep(int w, int h, int n)
{
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    o.width = w;
    o.height = h;
    char msg[256];
    tw_camera *cam;
    uint8_t *frames = make_frames(w, h);
    if (tw_camera_open_push(&o, &cam, msg, sizeof msg))
        return die("open", msg);
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        tw_camera_au au;
        if (tw_camera_encode(cam, frames + (size_t)(i % NPAT) * w * h * 3, (size_t)w * 3, (int64_t)i * 33333333,
                             &au, msg, sizeof msg))
            return die("encode", msg);
    }
    report("lockstep", n, t0, c0, NULL);
    tw_camera_close(cam);
    free(frames);
    return 0;
}

/* Bare peer: RGB -> I420 with libswscale, libx264 ultrafast/zerolatency through libavcodec. */
static int bench_bare(int w, int h, int n)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    if (!c)
        return die("bare", "FFmpeg has no libx264 encoder");
    AVCodecContext *e = avcodec_alloc_context3(c);
    e->width = w;
    e->height = h;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->time_base = (AVRational){1, 30};
    e->gop_size = 30;
    e->bit_rate = 2048000;
    av_opt_set(e->priv_data, "preset", "ultrafast", 0);
    av_opt_set(e->priv_data, "tune", "zerolatency", 0);
    if (avcodec_open2(e, c, NULL) < 0)
        return die("bare", "cannot open libx264");
    AVFrame *yuv = av_frame_alloc();
    yuv->width = w;
    yuv->height = h;
    yuv->format = AV_PIX_FMT_YUV420P;
    av_frame_get_buffer(yuv, 0);
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    uint8_t *frames = make_frames(w, h);
    int got = 0;
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i <= n; i++) {
        if (i < n) {
            const uint8_t *src[1] = {frames + (size_t)(i % NPAT) * w * h * 3};
            int stride[1] = {w * 3};
            av_frame_make_writable(yuv);
            sws_scale(sws, src, stride, 0, h, yuv->data, yuv->linesize);
            yuv->pts = i;
            avcodec_send_frame(e, yuv);
        } else {
            avcodec_send_frame(e, NULL);
        }
        while (avcodec_receive_packet(e, pkt) == 0) {
            got++;
            av_packet_unref(pkt);
        }
    }
    report("bare", got, t0, c0, NULL);
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&yuv);
    avcodec_free_context(&e);
    free(frames);
    return got == n ? 0 : die("bare", "frame count mismatch");
}

static int bench_read(int w, int h, int n)
{
    uint8_t *frames = make_frames(w, h);
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        uint32_t num;
        char msg[256];
        if (tw_framecode_read(frames + (size_t)(i % NPAT) * w * h * 3, w, h, (size_t)w * 3, TW_PIX_RGB24, &num, msg,
                              sizeof msg) || num != (uint32_t)(i % NPAT))
            return die("read", msg);
    }
    report("read", n, t0, c0, NULL);
    free(frames);
    return 0;
}

/* A table, a box and a small chain of capsules: roughly what the rig's default scene shows. */
static const char *scene_xml =
    "<mujoco><worldbody><light pos='0 0 3' dir='0 0 -1'/><geom type='plane' size='2 2 .1' rgba='.6 .6 .6 1'/>"
    "<geom type='box' pos='.5 0 .2' size='.3 .4 .2' rgba='.5 .35 .2 1'/>"
    "<body pos='.5 .1 .45'><freejoint/><geom type='box' size='.03 .03 .05' rgba='.9 .1 .1 1'/></body>"
    "<body pos='0 0 0'><joint type='hinge' axis='0 0 1'/><geom type='capsule' fromto='0 0 0 0 0 .4' size='.05'/>"
    "<body pos='0 0 .4'><joint type='hinge' axis='0 1 0'/><geom type='capsule' fromto='0 0 0 .3 0 0' size='.04'/>"
    "<body pos='.3 0 0'><joint type='hinge' axis='0 1 0'/><geom type='capsule' fromto='0 0 0 .25 0 0' size='.035'/>"
    "</body></body></body></worldbody></mujoco>";

static int bench_render(int w, int h, int n)
{
    char path[] = "/tmp/tw_bench_scene_XXXXXX.xml", msg[512];
    int fd = mkstemps(path, 4);
    if (fd < 0 || write(fd, scene_xml, strlen(scene_xml)) < 0)
        return die("render", "cannot write scene");
    close(fd);
    tw_mj_init();
    mjModel *m = tw_mj_load_xml(path, NULL, msg, sizeof msg);
    unlink(path);
    if (!m)
        return die("render", msg);
    mjData *d = mj_makeData(m);
    tw_render *r;
    if (tw_render_open(m, w, h, NULL, &r, msg, sizeof msg))
        return die("render", msg);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        d->qpos[7] = 0.01 * i; /* move the arm so every frame differs */
        mj_forward(m, d);
        if (tw_render_frame(r, d, rgb, msg, sizeof msg))
            return die("render", msg);
    }
    report("render", n, t0, c0, NULL);
    free(rgb);
    tw_render_close(r);
    mj_deleteData(d);
    mj_deleteModel(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_camera push|lockstep|bare|read|render WIDTH HEIGHT FRAMES\n");
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), n = atoi(argv[4]);
    if (!strcmp(argv[1], "push"))
        return bench_push(w, h, n);
    if (!strcmp(argv[1], "lockstep"))
        return bench_lockstep(w, h, n);
    if (!strcmp(argv[1], "bare"))
        return bench_bare(w, h, n);
    if (!strcmp(argv[1], "read"))
        return bench_read(w, h, n);
    if (!strcmp(argv[1], "render"))
        return bench_render(w, h, n);
    fprintf(stderr, "bench_camera: unknown mode %s\n", argv[1]);
    return 2;
}
