/* Sysid (tw gap --fit) on episodes of the builtin model whose physics was perturbed by a known
 * amount: the physics layer's rollout (tw_sim) written with the episode writer as the rig streams it
 * (tests/replay/synth.c), read back through the replay library's alignment, fitted against the
 * nominal model.  Episodes are 3.5 s (the scripted operator reaches the object at about 4 s) and at
 * most 600 timesteps per episode are kept, so each fit takes a few seconds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "synth.h"
#include "tw_sysid.h"

static char root[512];
static int counter;

/* Writes a synthetic episode with perturbation `spec` and returns its directory (static buffer). */
static const char *episode(const char *spec, uint64_t seed)
{
    static char dir[4][700];
    char *d = dir[counter % 4], msg[512];
    snprintf(d, sizeof dir[0], "%s/ep%d", root, counter++);
    synth_opts so;
    synth_opts_init(&so);
    so.perturb = spec;
    so.duration_s = 3.5;
    so.seed = seed;
    if (synth_episode(d, &so, msg, sizeof msg) != 0)
        fail_msg("synth %s: %s", spec, msg);
    return d;
}

static void opts(tw_sysid_opts *o, const char *params)
{
    char msg[256], list[128];
    tw_sysid_opts_init(o);
    o->max_samples = 600;
    snprintf(list, sizeof list, "%s", params);
    for (char *save, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (tw_sysid_opts_add(o, t, msg, sizeof msg) != 0)
            fail_msg("%s", msg);
}

static const tw_sysid_estimate *est(const tw_sysid_result *r, const char *name)
{
    for (int k = 0; k < r->nparam; k++)
        if (!strcmp(r->p[k].name, name))
            return &r->p[k];
    fail_msg("no estimate for %s", name);
    return NULL;
}

static void fit(const char *const *dirs, size_t n, const tw_sysid_opts *o, tw_sysid_result *r, const char *what)
{
    char msg[512];
    int rc = tw_sysid_fit(dirs, n, o, r, msg, sizeof msg);
    if (rc != 0)
        fail_msg("fit %s: rc %d: %s", what, rc, msg);
    fprintf(stderr, "# %-44s", what);
    for (int k = 0; k < r->nparam; k++)
        fprintf(stderr, " %s=%.4f±%.2g", r->p[k].name, r->p[k].value, r->p[k].std);
    fprintf(stderr, "\n#   objective %.3g (nominal %.3g), %d evals, %d iters, %llu samples, qacc %s, %.1f s\n",
            r->objective, r->objective_nominal, r->evaluations, r->iterations, (unsigned long long)r->samples,
            r->qacc_discrete ? "discrete" : "smoothed", r->wall_s);
}

/* |value - want| <= rel * want (or <= abs when want is 0) */
static void near(const tw_sysid_result *r, const char *name, double want, double tol)
{
    const tw_sysid_estimate *e = est(r, name);
    if (!(fabs(e->value - want) <= tol))
        fail_msg("%s fitted %.4f, planted %.4f (tolerance %.3g)", name, e->value, want, tol);
    if (!(isfinite(e->std) && e->std >= 0))
        fail_msg("%s: std %g is not a finite number", name, e->std);
}

/* Unperturbed, noise-free rig: every parameter lands on the nominal value with a tiny std, and the
 * objective there is at the numerical floor (the discrete qacc is exact for an Euler rollout). */
static void test_nominal_fits_nominal(void **state)
{
    (void)state;
    const char *d = episode("none", 7);
    tw_sysid_opts o;
    opts(&o, "damping,friction,gain,payload_kg");
    o.param[0].start = 1.5; /* start away from the answer */
    o.param[2].start = 0.7;
    o.param[3].start = 0.4;
    tw_sysid_result r;
    fit(&d, 1, &o, &r, "none: all four");
    near(&r, "damping", 1, 1e-3);
    near(&r, "friction", 1, 1e-2);
    near(&r, "gain", 1, 1e-3);
    near(&r, "payload_kg", 0, 1e-3);
    for (int k = 0; k < r.nparam; k++)
        assert_true(r.p[k].std < 1e-3);
    assert_true(r.objective <= 1e-8);
    assert_true(r.objective_start > 1e3 * r.objective); /* the search did move */
    assert_int_equal(r.qacc_discrete, 1);
    assert_true(r.samples > 500 && r.samples <= 600);
}

/* Issue 7's check: rig damping x2 -> fitted damping within 10% of 2 (friction fitted alongside). */
static void test_damping_x2(void **state)
{
    (void)state;
    const char *d = episode("damping=2", 8);
    tw_sysid_opts o;
    opts(&o, "damping,friction");
    tw_sysid_result r;
    fit(&d, 1, &o, &r, "damping=2: damping, friction");
    near(&r, "damping", 2, 0.2);
    near(&r, "friction", 1, 0.1);
    assert_true(r.objective < 1e-3 * r.objective_nominal);
}

static void test_payload(void **state)
{
    (void)state;
    const char *d = episode("payload_kg=0.5", 9);
    tw_sysid_opts o;
    opts(&o, "payload_kg,damping");
    tw_sysid_result r;
    fit(&d, 1, &o, &r, "payload_kg=0.5: payload, damping");
    near(&r, "payload_kg", 0.5, 0.1);
    near(&r, "damping", 1, 0.1);
}

typedef struct {
    int calls;
    uint64_t last_evals;
    double last_best;
} progress_t;

/* The one progress convention: a line per 50 evaluations, evaluations never going back, best never worse. */
static void on_progress(void *ctx, const tw_progress *pg)
{
    progress_t *p = ctx;
    double best = INFINITY;
    assert_string_equal(pg->stage, "sysid");
    assert_non_null(strstr(pg->line, "objective"));
    assert_int_equal(sscanf(strstr(pg->line, "objective"), "objective %lf", &best), 1);
    assert_true(pg->done > p->last_evals && best <= p->last_best);
    p->calls++;
    p->last_evals = pg->done;
    p->last_best = best;
}

static void test_gain(void **state)
{
    (void)state;
    const char *d = episode("gain=0.8", 10);
    tw_sysid_opts o;
    opts(&o, "gain");
    progress_t pr = {0, 0, INFINITY};
    o.progress = on_progress;
    o.progress_user = &pr;
    tw_sysid_result r, again;
    fit(&d, 1, &o, &r, "gain=0.8: gain");
    assert_true(pr.calls >= 1 && pr.calls <= r.evaluations / 50); /* about one per 50 evaluations */
    o.progress = NULL;
    near(&r, "gain", 0.8, 0.08);
    fit(&d, 1, &o, &again, "gain=0.8: gain, again");
    /* deterministic: same inputs, same numbers */
    assert_memory_equal(&r.p[0].value, &again.p[0].value, sizeof(double));
    assert_memory_equal(&r.p[0].std, &again.p[0].std, sizeof(double));
    assert_int_equal(r.evaluations, again.evaluations);
    json_t *j = tw_sysid_result_json(&r);
    json_t *g = json_object_get(json_object_get(j, "fit"), "gain");
    assert_non_null(g);
    assert_true(json_real_value(json_object_get(g, "value")) == r.p[0].value);
    assert_true(json_is_number(json_object_get(g, "std")));
    json_decref(j);
}

/* Sensor noise on (the rig's sigmas), two episodes, three parameters at once: still within the
 * tolerances; the noise is seen (AUTO smooths qacc) and shows in a larger std. */
static void test_noisy_two_episodes(void **state)
{
    (void)state;
    const char *spec = "damping=2,payload_kg=0.5,gain=0.8,noise=1";
    char d0[700];
    snprintf(d0, sizeof d0, "%s", episode(spec, 11));
    const char *dirs[2] = {d0, episode(spec, 12)};
    tw_sysid_opts o;
    opts(&o, "damping,payload_kg,gain");
    o.max_samples = 400;
    tw_sysid_result r;
    fit(dirs, 2, &o, &r, "noise=1, 2 episodes: damping, payload, gain");
    near(&r, "damping", 2, 0.2);
    near(&r, "payload_kg", 0.5, 0.1);
    near(&r, "gain", 0.8, 0.08);
    assert_int_equal(r.episodes, 2);
    assert_int_equal(r.qacc_sg, 2);
    assert_true(est(&r, "damping")->std > 1e-4);
}

/* An actuation delay (the rig's latency_ms) decides which action the servos were applying: left at
 * 0 it biases gain, searched it is found on the timeline grid and gain comes out right. */
static void test_latency_search(void **state)
{
    (void)state;
    const char *d = episode("gain=0.8,latency_ms=10", 13);
    tw_sysid_opts o;
    opts(&o, "gain");
    o.latency_max_ms = 30;
    tw_sysid_result r;
    fit(&d, 1, &o, &r, "gain=0.8 latency 10 ms: gain, latency search");
    fprintf(stderr, "#   latency found %.1f ms (grid %.1f ms)\n", r.latency_ms, r.latency_step_ms);
    assert_true(r.latency_searched);
    assert_true(fabs(r.latency_ms - 10) <= r.latency_step_ms);
    near(&r, "gain", 0.8, 0.08);
}

static void test_bad_input(void **state)
{
    (void)state;
    char msg[512];
    tw_sysid_opts o;
    tw_sysid_opts_init(&o);
    assert_int_equal(tw_sysid_opts_add(&o, "stiffness", msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, "stiffness"));
    assert_int_equal(o.nparam, 0);
    tw_sysid_result r;
    const char *none[] = {"/nonexistent/episode"};
    assert_int_equal(tw_sysid_fit(none, 1, &o, &r, msg, sizeof msg), TW_EINVAL); /* no parameter */
    assert_int_equal(tw_sysid_opts_add(&o, "damping", msg, sizeof msg), 0);
    assert_int_equal(tw_sysid_opts_add(&o, "damping", msg, sizeof msg), 0);
    assert_int_equal(tw_sysid_fit(none, 1, &o, &r, msg, sizeof msg), TW_EINVAL); /* twice */
    assert_non_null(strstr(msg, "twice"));
    o.nparam = 1;
    o.param[0].lo = 3; /* start 1 below lo */
    assert_int_equal(tw_sysid_fit(none, 1, &o, &r, msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, "damping"));
    o.param[0].lo = 0.1;
    int rc = tw_sysid_fit(none, 1, &o, &r, msg, sizeof msg);
    assert_true(rc < 0);
    assert_non_null(strstr(msg, "/nonexistent/episode"));
}

/* Samples fed directly (no episode): a non-finite value is refused, naming the joint. */
static void test_direct_samples(void **state)
{
    (void)state;
    char msg[512];
    tw_robot *rob;
    assert_int_equal(tw_robot_load(NULL, &rob, msg, sizeof msg), 0);
    tw_sysid_data *sd;
    assert_int_equal(tw_sysid_data_new(rob, 1, &sd, msg, sizeof msg), 0);
    tw_sysid_sample s;
    memset(&s, 0, sizeof s);
    s.qvel[1] = NAN;
    assert_int_equal(tw_sysid_data_add(sd, &s, msg, sizeof msg), TW_EINVAL);
    assert_non_null(strstr(msg, rob->jname[1]));
    s.qvel[1] = 0;
    assert_int_equal(tw_sysid_data_add(sd, &s, msg, sizeof msg), 0);
    assert_int_equal(tw_sysid_data_count(sd), 1);
    tw_sysid_data_free(sd);
    tw_robot_close(rob);
}

static int setup(void **state)
{
    (void)state;
    tw_mj_init();
    snprintf(root, sizeof root, "/tmp/tw_test_sysid_XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_direct_samples),
        cmocka_unit_test(test_nominal_fits_nominal),
        cmocka_unit_test(test_damping_x2),
        cmocka_unit_test(test_payload),
        cmocka_unit_test(test_gain),
        cmocka_unit_test(test_noisy_two_episodes),
        cmocka_unit_test(test_latency_search),
    };
    return cmocka_run_group_tests_name("sysid", tests, setup, teardown);
}
