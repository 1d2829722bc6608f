/* Rig cameras: see tw_rig_cam.h. */
#include <stdlib.h>
#include <string.h>

#include "tw_media.h"
#include "tw_sim.h"
#include "tw_rig_cam.h"

struct tw_rig_cam {
    int live;                 /* GStreamer source on wall time */
    tw_camera *cam;
    tw_render *render;        /* "sim" cameras */
    uint8_t *rgb;
    int width, height;
    double fps;
    uint64_t next;            /* index of the next lock-step frame in this episode */
    double g0;                /* sim time of frame 0 */
    tw_camera_opts opts;
    char spec[256];
};

static int tw_rig_cam_start(tw_rig_cam *c, char *msg, size_t msgsz);

static int tw_rig_cam_send(tw_client *cl, uint16_t id, const tw_camera_au *au, char *msg, size_t msgsz)
{
    int rc = tw_client_send(cl, id, au->ts_ns, au->keyframe ? TW_FLAG_KEYFRAME : 0, au->data, au->size);
    if (rc && rc != TW_EFULL)
        return tw_errf(msg, msgsz, rc, "sending video frame %llu: %s", (unsigned long long)au->index,
                       tw_strerror(rc));
    return 0;
}

int tw_rig_cam_open(const char *spec, const mjModel *m, int width, int height, double fps, tw_rig_cam_clock clk,
                    void *clk_user, tw_rig_cam **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (fps <= 0 || fps > 240)
        return tw_errf(msg, msgsz, TW_EINVAL, "camera rate %g fps out of range (0, 240]", fps);
    tw_rig_cam *c = calloc(1, sizeof *c);
    if (!c)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for a camera");
    snprintf(c->spec, sizeof c->spec, "%s", spec);
    c->width = width;
    c->height = height;
    c->fps = fps;
    tw_camera_opts o;
    tw_camera_opts_init(&o);
    o.clock_fn = clk;
    o.clock_user = clk_user;
    o.width = width;
    o.height = height;
    o.fps_num = (int)(fps * 1000 + 0.5);
    o.fps_den = 1000;
    int rc = 0;
    if (!strcmp(spec, "pattern") || (!strncmp(spec, "sim", 3) && (spec[3] == 0 || spec[3] == ':'))) {
        if (spec[0] == 's')
            rc = tw_render_open(m, width, height, spec[3] ? spec + 4 : NULL, &c->render, msg, msgsz);
        if (!rc && !(c->rgb = malloc((size_t)width * (size_t)height * 3)))
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "no memory for a %dx%d frame", width, height);
    } else {
        c->live = 1;
    }
    c->opts = o;
    if (!rc)
        rc = tw_rig_cam_start(c, msg, msgsz); /* fails early on a bad pipeline */
    if (rc) {
        tw_rig_cam_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void tw_rig_cam_close(tw_rig_cam *c)
{
    if (!c)
        return;
    tw_camera_close(c->cam);
    tw_render_close(c->render);
    free(c->rgb);
    free(c);
}

/* (Re)starts the encoder: every episode's video must begin with a keyframe (the recorder muxes H.264
 * without re-encoding, so frames before the first IDR of an episode would be unusable), and frames a
 * live source captured between episodes belong to no episode. */
static int tw_rig_cam_start(tw_rig_cam *c, char *msg, size_t msgsz)
{
    tw_camera_close(c->cam);
    c->cam = NULL;
    return c->live ? tw_camera_open(c->spec, &c->opts, &c->cam, msg, msgsz)
                   : tw_camera_open_push(&c->opts, &c->cam, msg, msgsz);
}

int tw_rig_cam_reset(tw_rig_cam *c, double g0, char *msg, size_t msgsz)
{
    c->next = 0;
    c->g0 = g0;
    return tw_rig_cam_start(c, msg, msgsz);
}

void tw_rig_cam_decl(const tw_rig_cam *c, uint16_t id, int index, tw_stream_decl *d)
{
    memset(d, 0, sizeof *d);
    d->id = id;
    snprintf(d->name, sizeof d->name, "cam%d", index);
    d->kind = TW_KIND_VIDEO;
    d->dtype = TW_DTYPE_BYTES;
    d->encoding = TW_VIDEO_H264;
    d->width = (uint32_t)c->width;
    d->height = (uint32_t)c->height;
    d->rate_hz = c->fps;
    snprintf(d->frame, sizeof d->frame, "%s", c->live ? "live" : c->render ? "sim" : "pattern");
}

int tw_rig_cam_tick(tw_rig_cam *c, double g, int64_t t_src_ns, const mjData *d, tw_client *cl, uint16_t id,
                    char *msg, size_t msgsz)
{
    tw_camera_au au;
    int rc, n = 0;
    if (c->live) {
        while ((rc = tw_camera_pull(c->cam, 0, &au, msg, msgsz)) == 0) {
            if ((rc = tw_rig_cam_send(cl, id, &au, msg, msgsz)))
                return rc;
            n++;
        }
        return rc == TW_ETIMEOUT || rc == TW_ECLOSED ? n : rc; /* a finite source may end */
    }
    if (g - c->g0 + 1e-9 < (double)c->next / c->fps)
        return 0;
    size_t stride = (size_t)c->width * 3;
    if (c->render) {
        if ((rc = tw_render_frame(c->render, d, c->rgb, msg, msgsz)) ||
            (rc = tw_framecode_draw(c->rgb, c->width, c->height, stride, (uint32_t)c->next, msg, msgsz)))
            return rc;
    } else if ((rc = tw_framecode_pattern(c->rgb, c->width, c->height, stride, (uint32_t)c->next, msg, msgsz))) {
        return rc;
    }
    if ((rc = tw_camera_encode(c->cam, c->rgb, stride, t_src_ns, &au, msg, msgsz)) ||
        (rc = tw_rig_cam_send(cl, id, &au, msg, msgsz)))
        return rc;
    c->next++;
    return 1;
}
