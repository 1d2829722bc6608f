/* Headless MuJoCo rendering through EGL (Mesa surfaceless platform). See tw_render.h. */
#include "tw_sim.h"


#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif
#define TW_GL_VERSION 0x1F02
#define TW_GL_RENDERER 0x1F01

struct tw_render {
    EGLContext ctx;
    mjModel *m;          /* own copy: offscreen buffer sized for us */
    mjvScene scn;
    mjrContext con;
    mjvCamera cam;
    mjvOption opt;
    int width, height;
    int have_scene, have_con;
    uint8_t *flip;       /* readPixels output, bottom row first */
};

/* One EGL display per process, initialised once and never terminated (other renderers may
 * still hold contexts on it). */
static EGLDisplay egl_dpy = EGL_NO_DISPLAY;
static char egl_err[256];

static void egl_init_once(void)
{
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    if (!get_display) {
        snprintf(egl_err, sizeof egl_err, "EGL has no eglGetPlatformDisplayEXT (EGL_EXT_platform_base)");
        return;
    }
    EGLDisplay dpy = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
    EGLint major = 0, minor = 0;
    if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, &major, &minor)) {
        snprintf(egl_err, sizeof egl_err, "no EGL surfaceless display (error 0x%x); is Mesa's libegl-mesa0 installed?",
                 (unsigned)eglGetError());
        return;
    }
    const char *ext = eglQueryString(dpy, EGL_EXTENSIONS);
    if (!ext || !strstr(ext, "EGL_KHR_surfaceless_context")) {
        snprintf(egl_err, sizeof egl_err, "EGL display lacks EGL_KHR_surfaceless_context");
        return;
    }
    egl_dpy = dpy;
}

/* Creates a desktop-OpenGL context (compatibility profile, which MuJoCo's fixed-function
 * renderer needs) and makes it current without any surface. */
static int make_context(tw_render *r, char *msg, size_t msgsz)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, egl_init_once);
    if (egl_dpy == EGL_NO_DISPLAY)
        return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "render: %s", egl_err);
    /* Surfaceless displays only offer pbuffer configs; the default EGL_WINDOW_BIT matches none. */
    const EGLint attr[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
                           EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_DEPTH_SIZE, 24, EGL_NONE};
    EGLConfig cfg;
    EGLint n = 0;
    if (!eglBindAPI(EGL_OPENGL_API) || !eglChooseConfig(egl_dpy, attr, &cfg, 1, &n) || n < 1)
        return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "render: no EGL config for desktop OpenGL (error 0x%x)",
                       (unsigned)eglGetError());
    r->ctx = eglCreateContext(egl_dpy, cfg, EGL_NO_CONTEXT, NULL);
    if (r->ctx == EGL_NO_CONTEXT || !eglMakeCurrent(egl_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, r->ctx))
        return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "render: cannot create/make current an OpenGL context (error 0x%x)",
                       (unsigned)eglGetError());
    /* mjr_makeContext aborts through mju_error on a GL it cannot use; check first. */
    typedef const unsigned char *(*get_string_fn)(unsigned);
    get_string_fn get_string = (get_string_fn)eglGetProcAddress("glGetString");
    const char *ver = get_string ? (const char *)get_string(TW_GL_VERSION) : NULL;
    if (!ver || atoi(ver) < 2)
        return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "render: OpenGL %s too old (MuJoCo needs >= 2 with FBOs)",
                       ver ? ver : "(unknown)");
    return 0;
}

static int setup_camera(tw_render *r, const char *camera, char *msg, size_t msgsz)
{
    mjv_defaultCamera(&r->cam);
    if (!camera || !*camera) {
        mjv_defaultFreeCamera(r->m, &r->cam);
        return 0;
    }
    int id = mj_name2id(r->m, mjOBJ_CAMERA, camera);
    if (id < 0)
        return tw_errf(msg, msgsz, TW_ENOT_FOUND, "render: model has no camera named '%s' (it has %d cameras)",
                       camera, r->m->ncam);
    r->cam.type = mjCAMERA_FIXED;
    r->cam.fixedcamid = id;
    return 0;
}

int tw_render_open(const mjModel *m, int width, int height, const char *camera, tw_render **out,
                   char *msg, size_t msgsz)
{
    if (!out || !m || width < 1 || height < 1 || width > 8192 || height > 8192)
        return tw_errf(msg, msgsz, TW_EINVAL, "render: need a model and a size in 1..8192 (got %dx%d)", width, height);
    *out = NULL;
    tw_render *r = calloc(1, sizeof *r);
    if (!r || !(r->flip = malloc((size_t)width * (size_t)height * 3))) {
        free(r);
        return tw_errf(msg, msgsz, TW_ENOMEM, "render: out of memory");
    }
    r->width = width;
    r->height = height;
    r->ctx = EGL_NO_CONTEXT;
    int rc;
    if (!(r->m = tw_mj_copy_model(m, msg, msgsz))) {
        rc = TW_EMUJOCO;
        goto fail;
    }
    /* The offscreen framebuffer is sized from the model. Multisampling is off and the shadow map
     * is capped at 1024 (MuJoCo's default 4096 costs llvmpipe ~10 ms of CPU a frame whatever
     * the image size): camera frames are small and go through H.264 anyway. */
    if (r->m->vis.global.offwidth < width)
        r->m->vis.global.offwidth = width;
    if (r->m->vis.global.offheight < height)
        r->m->vis.global.offheight = height;
    r->m->vis.quality.offsamples = 0;
    if (r->m->vis.quality.shadowsize > 1024)
        r->m->vis.quality.shadowsize = 1024;
    if ((rc = setup_camera(r, camera, msg, msgsz)) || (rc = make_context(r, msg, msgsz)))
        goto fail;
    mjv_defaultOption(&r->opt);
    mjv_defaultScene(&r->scn);
    mjr_defaultContext(&r->con);
    mjv_makeScene(r->m, &r->scn, 2000);
    r->have_scene = 1;
    mjr_makeContext(r->m, &r->con, mjFONTSCALE_100);
    r->have_con = 1;
    mjr_setBuffer(mjFB_OFFSCREEN, &r->con);
    if (r->con.currentBuffer != mjFB_OFFSCREEN) {
        rc = tw_errf(msg, msgsz, TW_EUNSUPPORTED, "render: MuJoCo offscreen framebuffer unavailable");
        goto fail;
    }
    *out = r;
    return 0;
fail:
    tw_render_close(r);
    return rc;
}

int tw_render_frame(tw_render *r, const mjData *d, uint8_t *rgb, char *msg, size_t msgsz)
{
    if (!r || !d || !rgb)
        return tw_errf(msg, msgsz, TW_EINVAL, "render: NULL argument");
    if (eglGetCurrentContext() != r->ctx && !eglMakeCurrent(egl_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, r->ctx))
        return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "render: cannot make the context current (error 0x%x)",
                       (unsigned)eglGetError());
    mjrRect vp = {0, 0, r->width, r->height};
    /* mjv_updateScene only reads d; MuJoCo's signature predates const-correctness there. */
    mjv_updateScene(r->m, (mjData *)d, &r->opt, NULL, &r->cam, mjCAT_ALL, &r->scn);
    mjr_render(vp, &r->scn, &r->con);
    mjr_readPixels(r->flip, NULL, vp, &r->con);
    size_t row = (size_t)r->width * 3;
    for (int y = 0; y < r->height; y++)
        memcpy(rgb + (size_t)y * row, r->flip + (size_t)(r->height - 1 - y) * row, row);
    return 0;
}

void tw_render_close(tw_render *r)
{
    if (!r)
        return;
    if (r->ctx != EGL_NO_CONTEXT)
        eglMakeCurrent(egl_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, r->ctx);
    if (r->have_con)
        mjr_freeContext(&r->con);
    if (r->have_scene)
        mjv_freeScene(&r->scn);
    if (r->ctx != EGL_NO_CONTEXT) {
        eglMakeCurrent(egl_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
        eglDestroyContext(egl_dpy, r->ctx);
    }
    mj_deleteModel(r->m);
    free(r->flip);
    free(r);
}
