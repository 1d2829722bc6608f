/* Headless MuJoCo rendering (replay/sim) on a small inline scene. Skipped, with the reason,
 * where no EGL/OpenGL context can be made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tw_sim.h"

/* A red box on a grey floor, lit, seen by a fixed camera named "front". */
static const char *scene_xml =
    "<mujoco model='render_test'>"
    "  <worldbody>"
    "    <light pos='0 0 3' dir='0 0 -1'/>"
    "    <geom type='plane' size='2 2 0.1' rgba='0.5 0.5 0.5 1'/>"
    "    <camera name='front' pos='0 -1.5 0.6' xyaxes='1 0 0 0 0.37 0.93'/>"
    "    <body name='box' pos='0 0 0.2'>"
    "      <freejoint/>"
    "      <geom type='box' size='0.2 0.2 0.2' rgba='0.9 0.1 0.1 1'/>"
    "    </body>"
    "  </worldbody>"
    "</mujoco>";

typedef struct {
    mjModel *m;
    mjData *d;
} fixture;

static int setup(void **state)
{
    char path[] = "/tmp/tw_render_test_XXXXXX.xml", msg[256];
    int fd = mkstemps(path, 4);
    if (fd < 0 || write(fd, scene_xml, strlen(scene_xml)) != (ssize_t)strlen(scene_xml))
        return -1;
    close(fd);
    fixture *f = calloc(1, sizeof *f);
    f->m = tw_mj_load_xml(path, NULL, msg, sizeof msg);
    unlink(path);
    if (!f->m) {
        print_error("%s\n", msg);
        return -1;
    }
    f->d = tw_mj_make_data(f->m, msg, sizeof msg);
    mj_forward(f->m, f->d);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mj_deleteData(f->d);
    mj_deleteModel(f->m);
    free(f);
    return 0;
}

/* Opens a renderer or skips the test when this machine has no usable EGL. */
static tw_render *open_or_skip(const fixture *f, int w, int h, const char *cam)
{
    char msg[512] = "";
    tw_render *r = NULL;
    int rc = tw_render_open(f->m, w, h, cam, &r, msg, sizeof msg);
    if (rc == TW_EUNSUPPORTED) {
        print_message("skipping: %s\n", msg);
        skip();
    }
    if (rc)
        print_error("%s\n", msg);
    assert_int_equal(rc, 0);
    return r;
}

static void test_render_fixed_camera_shows_red_box(void **state)
{
    fixture *f = *state;
    const int w = 320, h = 240;
    tw_render *r = open_or_skip(f, w, h, "front");
    uint8_t *rgb = malloc((size_t)w * h * 3);
    char msg[256];
    assert_int_equal(tw_render_frame(r, f->d, rgb, msg, sizeof msg), 0);
    /* The box fills the middle of the view: its centre is red, the top rows (sky) are not. */
    const uint8_t *c = rgb + ((size_t)(h / 2) * w + w / 2) * 3;
    assert_true(c[0] > 100 && c[0] > c[1] + 50 && c[0] > c[2] + 50);
    long red = 0, distinct_rows = 0;
    for (int y = 0; y < h; y++) {
        if (y > 0 && memcmp(rgb + (size_t)y * w * 3, rgb + (size_t)(y - 1) * w * 3, (size_t)w * 3))
            distinct_rows++;
        for (int x = 0; x < w; x++) {
            const uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            red += p[0] > p[1] + 50 && p[0] > p[2] + 50;
        }
    }
    assert_true(red > w * h / 20);              /* the box is a sizeable part of the image */
    assert_true(red < w * h * 9 / 10);          /* but not all of it: the floor and sky show */
    assert_true(distinct_rows > h / 4);         /* not a flat fill */
    const uint8_t *top = rgb + ((size_t)2 * w + w / 2) * 3;
    assert_false(top[0] > top[1] + 50);
    free(rgb);
    tw_render_close(r);
}

static void test_render_follows_state(void **state)
{
    fixture *f = *state;
    const int w = 160, h = 120;
    tw_render *r = open_or_skip(f, w, h, NULL);
    uint8_t *a = malloc((size_t)w * h * 3), *b = malloc((size_t)w * h * 3);
    char msg[256];
    assert_int_equal(tw_render_frame(r, f->d, a, msg, sizeof msg), 0);
    f->d->qpos[0] += 0.5; /* slide the box sideways */
    mj_forward(f->m, f->d);
    assert_int_equal(tw_render_frame(r, f->d, b, msg, sizeof msg), 0);
    f->d->qpos[0] -= 0.5;
    mj_forward(f->m, f->d);
    assert_memory_not_equal(a, b, (size_t)w * h * 3);
    free(a);
    free(b);
    tw_render_close(r);
}

static void test_render_rejects_unknown_camera_and_bad_size(void **state)
{
    fixture *f = *state;
    tw_render *r = (tw_render *)0x1;
    char msg[256] = "";
    assert_int_equal(tw_render_open(f->m, 320, 240, "no_such_cam", &r, msg, sizeof msg), TW_ENOT_FOUND);
    assert_null(r);
    assert_non_null(strstr(msg, "no_such_cam"));
    assert_int_equal(tw_render_open(f->m, 0, 240, NULL, &r, msg, sizeof msg), TW_EINVAL);
    tw_render_close(NULL);
}

/* A real robot with meshes and textures (the Panda of ../shared), through the free camera. */
static void test_render_shared_panda_model(void **state)
{
    const char *shared = getenv("TW_SHARED");
    char path[1024], msg[512] = "";
    snprintf(path, sizeof path, "%s/models/franka_emika_panda/panda.xml", shared ? shared : "");
    if (!shared || access(path, R_OK) != 0) {
        print_message("skipping: no %s (TW_SHARED unset or models absent)\n", path);
        skip();
    }
    fixture panda = {tw_mj_load_xml(path, NULL, msg, sizeof msg), NULL};
    if (!panda.m)
        print_error("%s\n", msg);
    assert_non_null(panda.m);
    panda.d = tw_mj_make_data(panda.m, msg, sizeof msg);
    mj_forward(panda.m, panda.d);
    const int w = 320, h = 240;
    tw_render *r = open_or_skip(&panda, w, h, NULL);
    uint8_t *a = malloc((size_t)w * h * 3), *b = malloc((size_t)w * h * 3);
    assert_int_equal(tw_render_frame(r, panda.d, a, msg, sizeof msg), 0);
    long differ = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        differ += abs(a[3 * i] - a[0]) + abs(a[3 * i + 1] - a[1]) + abs(a[3 * i + 2] - a[2]) > 60;
    assert_true(differ > w * h / 100); /* the robot (about 4% of the view), not an empty frame */
    panda.d->qpos[1] += 0.8;          /* bend the shoulder: the picture must change */
    mj_forward(panda.m, panda.d);
    assert_int_equal(tw_render_frame(r, panda.d, b, msg, sizeof msg), 0);
    assert_memory_not_equal(a, b, (size_t)w * h * 3);
    free(a);
    free(b);
    tw_render_close(r);
    mj_deleteData(panda.d);
    mj_deleteModel(panda.m);
}

int main(void)
{
    tw_mj_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_fixed_camera_shows_red_box),
        cmocka_unit_test(test_render_follows_state),
        cmocka_unit_test(test_render_rejects_unknown_camera_and_bad_size),
        cmocka_unit_test(test_render_shared_panda_model),
    };
    return cmocka_run_group_tests_name("render", tests, setup, teardown);
}
