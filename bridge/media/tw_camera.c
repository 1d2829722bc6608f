/* GStreamer camera source: a parsed source pipeline (pull mode) or an appsrc fed by the caller
 * (push mode), encoded by x264 and drained through an appsink. See tw_media.h. */
#include "tw_media.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <libswscale/swscale.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUS_POLL_MS 100   /* pull waits in slices this long so a pipeline error is noticed */
#define START_WAIT_S 5    /* how long open() waits for a source to reach PLAYING */

struct tw_camera {
    GstElement *pipeline, *appsrc, *appsink;
    GstBufferPool *pool;   /* push mode: I420 frame buffers, recycled */
    GstVideoInfo vinfo;    /* push mode: their layout */
    struct SwsContext *sws; /* push mode: RGB24 -> I420 (BT.601), done on the caller's thread */
    GstSample *sample;     /* the AU handed out by the last pull, mapped */
    GstMapInfo map;
    tw_camera_opts o;
    int push;
    size_t frame_bytes;
    int64_t first_ts, last_ts; /* push mode: caller timestamps; PTS = ts - first_ts */
    int have_ts;
    uint64_t next_index;
};

static gboolean gst_ok;
static char gst_init_err[256];

static void gst_init_once(void)
{
    GError *err = NULL;
    gst_ok = gst_init_check(NULL, NULL, &err);
    if (!gst_ok)
        snprintf(gst_init_err, sizeof gst_init_err, "%s", err ? err->message : "unknown reason");
    if (err)
        g_error_free(err);
}

static int ensure_gst(char *msg, size_t msgsz)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, gst_init_once);
    return gst_ok ? 0 : tw_errf(msg, msgsz, TW_EGST, "camera: GStreamer init failed: %s", gst_init_err);
}

void tw_camera_opts_init(tw_camera_opts *o)
{
    memset(o, 0, sizeof *o);
    o->width = 640;
    o->height = 480;
    o->fps_num = 30;
    o->fps_den = 1;
    o->key_int_max = 30;
    o->bitrate_kbps = 2048;
    o->queue_max = 8;
    o->sync = 1;
}

static int check_opts(const tw_camera_opts *o, char *msg, size_t msgsz)
{
    if (!o || o->width < 16 || o->height < 16 || o->width > 8192 || o->height > 8192 || (o->width | o->height) & 1)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: size %dx%d invalid (even, 16..8192)",
                       o ? o->width : 0, o ? o->height : 0);
    if (o->fps_num <= 0 || o->fps_den <= 0 || o->key_int_max <= 0 || o->bitrate_kbps <= 0 || o->queue_max <= 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: fps %d/%d, key_int_max %d, bitrate %d, queue_max %d must be > 0",
                       o->fps_num, o->fps_den, o->key_int_max, o->bitrate_kbps, o->queue_max);
    return 0;
}

/* Takes the first error (or warning, if no error) off the bus into msg; TW_EGST if one was there. */
static int bus_error(GstElement *pipeline, const char *what, char *msg, size_t msgsz)
{
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    if (!m)
        return 0;
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error(m, &err, &dbg);
    tw_errf(msg, msgsz, TW_EGST, "camera: %s: element '%s': %s%s%s", what, GST_OBJECT_NAME(m->src),
            err ? err->message : "error", dbg ? " | " : "", dbg ? dbg : "");
    for (char *p = msg; p && *p; p++) /* GStreamer's debug text spans lines; keep ours to one */
        if (*p == '\n')
            *p = ' ';
    g_clear_error(&err);
    g_free(dbg);
    gst_message_unref(m);
    return TW_EGST;
}

static void encoder_chain(char *buf, size_t n, const tw_camera_opts *o)
{
    snprintf(buf, n,
             "x264enc name=twenc tune=zerolatency speed-preset=ultrafast key-int-max=%d bitrate=%d "
             "! video/x-h264,stream-format=byte-stream,alignment=au "
             "! appsink name=twsink max-buffers=%d drop=false sync=%s enable-last-sample=false",
             o->key_int_max, o->bitrate_kbps, o->queue_max, o->sync ? "true" : "false");
}

/* Parses and starts a full pipeline description; on failure everything is freed. */
static int start(tw_camera *cam, const char *desc, const char *what, char *msg, size_t msgsz)
{
    GError *err = NULL;
    cam->pipeline = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
    if (!cam->pipeline) {
        int rc = tw_errf(msg, msgsz, TW_EGST, "camera: pipeline '%s': %s", what, err ? err->message : "parse failed");
        g_clear_error(&err);
        return rc;
    }
    g_clear_error(&err);
    cam->appsink = gst_bin_get_by_name(GST_BIN(cam->pipeline), "twsink");
    cam->appsrc = gst_bin_get_by_name(GST_BIN(cam->pipeline), "twsrc");
    if (!cam->appsink || (cam->push && !cam->appsrc))
        return tw_errf(msg, msgsz, TW_EGST, "camera: pipeline '%s': must be a source only (no sink of its own)", what);
    GstStateChangeReturn sc = gst_element_set_state(cam->pipeline, GST_STATE_PLAYING);
    if (sc != GST_STATE_CHANGE_FAILURE && !cam->push)
        sc = gst_element_get_state(cam->pipeline, NULL, NULL, (GstClockTime)START_WAIT_S * GST_SECOND);
    if (sc == GST_STATE_CHANGE_FAILURE) {
        if (!bus_error(cam->pipeline, what, msg, msgsz))
            tw_errf(msg, msgsz, TW_EGST, "camera: pipeline '%s' failed to start", what);
        return TW_EGST;
    }
    return bus_error(cam->pipeline, what, msg, msgsz);
}

static int cam_new(const tw_camera_opts *o, int push, tw_camera **out, char *msg, size_t msgsz)
{
    int rc = ensure_gst(msg, msgsz);
    if (rc || (rc = check_opts(o, msg, msgsz)))
        return rc;
    tw_camera *cam = calloc(1, sizeof *cam);
    if (!cam)
        return tw_errf(msg, msgsz, TW_ENOMEM, "camera: out of memory");
    cam->o = *o;
    cam->push = push;
    cam->frame_bytes = (size_t)o->width * (size_t)o->height * 3;
    *out = cam;
    return 0;
}

int tw_camera_open(const char *pipeline_desc, const tw_camera_opts *o, tw_camera **out, char *msg, size_t msgsz)
{
    if (out)
        *out = NULL;
    if (!out || !pipeline_desc || !*pipeline_desc)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: empty pipeline description");
    tw_camera *cam;
    int rc = cam_new(o, 0, &cam, msg, msgsz);
    if (rc)
        return rc;
    char enc[512], *desc;
    encoder_chain(enc, sizeof enc, o);
    /* videorate lets sources that cannot produce the target rate themselves still negotiate. */
    if (asprintf(&desc, "%s ! videoconvert ! videoscale ! videorate "
                        "! video/x-raw,width=%d,height=%d,framerate=%d/%d ! %s",
                 pipeline_desc, o->width, o->height, o->fps_num, o->fps_den, enc) < 0) {
        tw_camera_close(cam);
        return tw_errf(msg, msgsz, TW_ENOMEM, "camera: out of memory");
    }
    rc = start(cam, desc, pipeline_desc, msg, msgsz);
    free(desc);
    if (rc) {
        tw_camera_close(cam);
        return rc;
    }
    *out = cam;
    return 0;
}

static int make_pool(tw_camera *cam, char *msg, size_t msgsz)
{
    cam->pool = gst_buffer_pool_new();
    GstStructure *cfg = gst_buffer_pool_get_config(cam->pool);
    gst_buffer_pool_config_set_params(cfg, NULL, (guint)cam->frame_bytes, 2, 0);
    if (!gst_buffer_pool_set_config(cam->pool, cfg) || !gst_buffer_pool_set_active(cam->pool, TRUE))
        return tw_errf(msg, msgsz, TW_EGST, "camera: cannot set up a %zu-byte buffer pool", cam->frame_bytes);
    return 0;
}

int tw_camera_open_push(const tw_camera_opts *o, tw_camera **out, char *msg, size_t msgsz)
{
    if (!out)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: NULL out");
    *out = NULL;
    tw_camera *cam;
    int rc = cam_new(o, 1, &cam, msg, msgsz);
    if (rc)
        return rc;
    tw_camera_opts po = *o;
    po.sync = 0; /* frames are paced by whoever pushes them */
    /* RGB to I420 happens in tw_camera_push with libswscale, on the pushing thread, so it runs in
     * parallel with encoding, with the BT.601 coefficients tw_vdecode uses to convert back. */
    gst_video_info_set_format(&cam->vinfo, GST_VIDEO_FORMAT_I420, (guint)o->width, (guint)o->height);
    cam->frame_bytes = GST_VIDEO_INFO_SIZE(&cam->vinfo);
    cam->sws = sws_getContext(o->width, o->height, AV_PIX_FMT_RGB24, o->width, o->height, AV_PIX_FMT_YUV420P,
                              SWS_BILINEAR, NULL, NULL, NULL);
    if (!cam->sws) {
        tw_camera_close(cam);
        return tw_errf(msg, msgsz, TW_ENOMEM, "camera: cannot set up RGB to I420 conversion");
    }
    char enc[512], desc[1024];
    encoder_chain(enc, sizeof enc, &po);
    snprintf(desc, sizeof desc,
             "appsrc name=twsrc format=time is-live=false block=true max-bytes=%zu "
             "caps=video/x-raw,format=I420,width=%d,height=%d,framerate=%d/%d,colorimetry=bt601 ! %s",
             cam->frame_bytes * (size_t)o->queue_max, o->width, o->height, o->fps_num, o->fps_den, enc);
    if ((rc = make_pool(cam, msg, msgsz)) || (rc = start(cam, desc, "appsrc (push mode)", msg, msgsz))) {
        tw_camera_close(cam);
        return rc;
    }
    *out = cam;
    return 0;
}

int tw_camera_push(tw_camera *cam, const uint8_t *rgb, size_t stride, int64_t ts_ns, char *msg, size_t msgsz)
{
    if (!cam || !cam->push || !rgb || stride < (size_t)cam->o.width * 3 || stride > INT_MAX)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: push needs a push-mode camera and an RGB frame (stride %zu)", stride);
    if (cam->have_ts && ts_ns <= cam->last_ts)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: push timestamp %lld ns not after the previous %lld ns",
                       (long long)ts_ns, (long long)cam->last_ts);
    if (!cam->have_ts) {
        cam->first_ts = ts_ns;
        cam->have_ts = 1;
    }
    cam->last_ts = ts_ns;
    GstBuffer *buf = NULL;
    if (gst_buffer_pool_acquire_buffer(cam->pool, &buf, NULL) != GST_FLOW_OK)
        return tw_errf(msg, msgsz, TW_EGST, "camera: no frame buffer available");
    GstVideoFrame vf;
    if (!gst_video_frame_map(&vf, &cam->vinfo, buf, GST_MAP_WRITE)) {
        gst_buffer_unref(buf);
        return tw_errf(msg, msgsz, TW_EGST, "camera: cannot map a frame buffer");
    }
    const uint8_t *src[1] = {rgb};
    const int src_stride[1] = {(int)stride};
    uint8_t *dst[3];
    int dst_stride[3];
    for (int i = 0; i < 3; i++) {
        dst[i] = GST_VIDEO_FRAME_PLANE_DATA(&vf, i);
        dst_stride[i] = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, i);
    }
    sws_scale(cam->sws, src, src_stride, 0, cam->o.height, dst, dst_stride);
    gst_video_frame_unmap(&vf);
    GST_BUFFER_PTS(buf) = (GstClockTime)(ts_ns - cam->first_ts);
    GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale_int(GST_SECOND, cam->o.fps_den, cam->o.fps_num);
    GstFlowReturn fr = gst_app_src_push_buffer(GST_APP_SRC(cam->appsrc), buf); /* takes buf */
    if (fr != GST_FLOW_OK) {
        if (!bus_error(cam->pipeline, "push", msg, msgsz))
            tw_errf(msg, msgsz, TW_EGST, "camera: push refused (%s)", gst_flow_get_name(fr));
        return TW_EGST;
    }
    return 0;
}

int tw_camera_end(tw_camera *cam, char *msg, size_t msgsz)
{
    if (!cam || !cam->push)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: end needs a push-mode camera");
    return gst_app_src_end_of_stream(GST_APP_SRC(cam->appsrc)) == GST_FLOW_OK
               ? 0 : tw_errf(msg, msgsz, TW_EGST, "camera: end of stream refused");
}

static void release_sample(tw_camera *cam)
{
    if (!cam->sample)
        return;
    gst_buffer_unmap(gst_sample_get_buffer(cam->sample), &cam->map);
    gst_sample_unref(cam->sample);
    cam->sample = NULL;
}

/* Capture timestamp of a buffer on the caller's clock (see tw_camera_opts). */
static int64_t au_time(const tw_camera *cam, GstSample *s, GstBuffer *b)
{
    /* Through the segment: x264enc shifts its output PTS (by 1000 h, to keep DTS positive) and
     * says so in the segment, so only the running time is comparable to what went in. */
    const GstSegment *seg = gst_sample_get_segment(s);
    guint64 rt = seg ? gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(b)) : GST_BUFFER_PTS(b);
    if (rt == GST_CLOCK_TIME_NONE)
        rt = 0;
    if (cam->push)
        return cam->first_ts + (int64_t)rt;
    if (cam->o.base_ns_set && !cam->o.clock_fn)
        return cam->o.base_ns + (int64_t)rt;
    /* The pipeline runs on the system clock, CLOCK_MONOTONIC by default: base time + running time. */
    int64_t mono = (int64_t)gst_element_get_base_time(cam->pipeline) + (int64_t)rt;
    return cam->o.clock_fn ? cam->o.clock_fn(mono, cam->o.clock_user) : mono;
}

int tw_camera_pull(tw_camera *cam, int timeout_ms, tw_camera_au *au, char *msg, size_t msgsz)
{
    if (!cam || !au)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: NULL argument to pull");
    release_sample(cam);
    GstAppSink *sink = GST_APP_SINK(cam->appsink);
    for (int waited = 0;; waited += BUS_POLL_MS) {
        int slice = timeout_ms >= 0 && timeout_ms - waited < BUS_POLL_MS ? timeout_ms - waited : BUS_POLL_MS;
        GstSample *s = gst_app_sink_try_pull_sample(sink, (GstClockTime)(slice > 0 ? slice : 0) * GST_MSECOND);
        if (s) {
            GstBuffer *b = gst_sample_get_buffer(s);
            if (!b || !gst_buffer_map(b, &cam->map, GST_MAP_READ)) {
                gst_sample_unref(s);
                return tw_errf(msg, msgsz, TW_EGST, "camera: encoder produced an unreadable sample");
            }
            cam->sample = s;
            au->data = cam->map.data;
            au->size = cam->map.size;
            au->keyframe = !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
            au->ts_ns = au_time(cam, s, b);
            au->index = cam->next_index++;
            return 0;
        }
        if (bus_error(cam->pipeline, "running", msg, msgsz))
            return TW_EGST;
        if (gst_app_sink_is_eos(sink))
            return tw_errf(msg, msgsz, TW_ECLOSED, "camera: end of stream after %llu AUs",
                           (unsigned long long)cam->next_index);
        if (timeout_ms >= 0 && waited + slice >= timeout_ms)
            return tw_errf(msg, msgsz, TW_ETIMEOUT, "camera: no frame within %d ms", timeout_ms);
    }
}

int tw_camera_encode(tw_camera *cam, const uint8_t *rgb, size_t stride, int64_t ts_ns, tw_camera_au *au,
                     char *msg, size_t msgsz)
{
    int rc = tw_camera_push(cam, rgb, stride, ts_ns, msg, msgsz);
    return rc ? rc : tw_camera_pull(cam, 10000, au, msg, msgsz);
}

int tw_camera_force_keyframe(tw_camera *cam, char *msg, size_t msgsz)
{
    if (!cam)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera: NULL camera");
    /* An upstream force-key-unit event from the sink reaches x264enc, which keys its next input frame. */
    GstEvent *ev = gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0);
    return gst_element_send_event(cam->appsink, ev) ? 0
                                                    : tw_errf(msg, msgsz, TW_EGST, "camera: encoder refused a keyframe request");
}

void tw_camera_close(tw_camera *cam)
{
    if (!cam)
        return;
    release_sample(cam);
    if (cam->pipeline)
        gst_element_set_state(cam->pipeline, GST_STATE_NULL);
    if (cam->appsrc)
        gst_object_unref(cam->appsrc);
    if (cam->appsink)
        gst_object_unref(cam->appsink);
    if (cam->pipeline)
        gst_object_unref(cam->pipeline);
    if (cam->pool) {
        gst_buffer_pool_set_active(cam->pool, FALSE);
        gst_object_unref(cam->pool);
    }
    sws_freeContext(cam->sws);
    free(cam);
}
