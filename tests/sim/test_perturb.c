/* replay/sim perturbations: the spec parses with clear errors, changes exactly the intended model fields, and
 * re-perturbing a model equals perturbing a fresh one. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mujoco/mjxmacro.h>

#include "sim_fixture.h"

static void test_perturb_parse(void **st)
{
    tw_perturb p;
    tw_perturb_none(&p);
    assert_true(tw_perturb_is_none(&p));
    assert_int_equal(tw_perturb_parse("damping=2,friction=1.5,payload_kg=0.5,gain=0.9,latency_ms=20,"
                                      "clock_offset_ms=250,drift_ppm=50", &p, g_msg, sizeof g_msg), 0);
    assert_double_equal(p.damping, 2, 0);
    assert_double_equal(p.friction, 1.5, 0);
    assert_double_equal(p.payload_kg, 0.5, 0);
    assert_double_equal(p.gain, 0.9, 0);
    assert_double_equal(p.latency_ms, 20, 0);
    assert_double_equal(p.clock_offset_ms, 250, 0);
    assert_double_equal(p.drift_ppm, 50, 0);
    assert_double_equal(p.noise, 0, 0);
    tw_perturb keep = p;
    static const char *bad[] = {"", "dampin=2", "damping", "damping=", "damping=abc", "damping=0", "damping=-1",
                                "payload_kg=-0.1", "damping=2,,gain=1", "damping=2x", "gain=nan", "noise=1e9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        g_msg[0] = 0;
        assert_int_equal(tw_perturb_parse(bad[i], &p, g_msg, sizeof g_msg), TW_EINVAL);
        assert_true(strlen(g_msg) > 10);
        assert_memory_equal(&p, &keep, sizeof p); /* untouched on error */
    }
    assert_int_equal(tw_perturb_parse("dampin=2", &p, g_msg, sizeof g_msg), TW_EINVAL);
    assert_non_null(strstr(g_msg, "dampin"));
    assert_int_equal(tw_perturb_parse("none", &p, g_msg, sizeof g_msg), 0);
    assert_true(tw_perturb_is_none(&p));
    /* JSON round trip */
    tw_perturb_parse("damping=2,noise=0.5,clock_offset_ms=-3", &p, g_msg, sizeof g_msg);
    json_t *j = tw_perturb_to_json(&p);
    tw_perturb q;
    assert_int_equal(tw_perturb_from_json(j, &q, g_msg, sizeof g_msg), 0);
    assert_memory_equal(&p, &q, sizeof p);
    json_object_set_new(j, "bogus", json_real(1));
    assert_int_equal(tw_perturb_from_json(j, &q, g_msg, sizeof g_msg), TW_EINVAL);
    json_decref(j);
    double v;
    assert_int_equal(tw_perturb_get(&p, "damping", &v), 0);
    assert_double_equal(v, 2, 0);
    assert_int_equal(tw_perturb_get(&p, "nope", &v), TW_ENOT_FOUND);
}

/* Every byte of the model buffer that differs lies in an allowed field. */
typedef struct { const char *name; ptrdiff_t off; size_t esz; } field_t;

static const char *diff_field(const mjModel *m, ptrdiff_t byte)
{
    MJMODEL_POINTERS_PREAMBLE(m)
    const field_t all[] = {
#define X(type, name, n1, n2) {#name, (const char *)m->name - (const char *)m->buffer, sizeof(type) * (size_t)(m->n1) * (size_t)(n2)},
        MJMODEL_POINTERS
#undef X
    };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (byte >= all[i].off && byte < all[i].off + (ptrdiff_t)all[i].esz)
            return all[i].name;
    return "?";
}

static int changed_fields(const mjModel *a, const mjModel *b, const char **names, int max)
{
    int n = 0;
    assert_int_equal(a->nbuffer, b->nbuffer);
    for (ptrdiff_t i = 0; i < a->nbuffer; i++) {
        if (((const char *)a->buffer)[i] == ((const char *)b->buffer)[i])
            continue;
        const char *f = diff_field(a, i);
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= !strcmp(names[k], f);
        if (!seen && n < max)
            names[n++] = f;
    }
    return n;
}

static int in_list(const char *f, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (!strcmp(f, *allowed))
            return 1;
    return 0;
}

static void test_perturb_changes_exactly_intended_fields(void **st)
{
    tw_robot *r = load_or_fail(NULL), *q;
    tw_perturb p;
    const char *names[64];
    tw_perturb_none(&p);
    assert_int_equal(tw_robot_perturbed(r, &p, &q, g_msg, sizeof g_msg), 0);
    assert_int_equal(changed_fields(r->m, q->m, names, 64), 0); /* none: identical model */
    tw_robot_close(q);

    tw_perturb_parse("damping=2,friction=3,gain=0.5,latency_ms=30,noise=2,clock_offset_ms=9", &p, g_msg, sizeof g_msg);
    assert_int_equal(tw_robot_perturbed(r, &p, &q, g_msg, sizeof g_msg), 0);
    int n = changed_fields(r->m, q->m, names, 64);
    static const char *const allowed[] = {"dof_damping", "dof_frictionloss", "actuator_gainprm", "actuator_biasprm", NULL};
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_true(in_list(names[i], allowed));
    for (int i = 0; i < r->njoint; i++) {
        int v = r->vadr[i];
        assert_double_equal(q->m->dof_damping[v], 2 * r->m->dof_damping[v], 1e-12);
        assert_double_equal(q->m->dof_frictionloss[v], 3 * r->m->dof_frictionloss[v], 1e-12);
    }
    for (int a = 0; a < r->m->nu; a++) {
        assert_double_equal(q->m->actuator_gainprm[a * mjNGAIN], 0.5 * r->m->actuator_gainprm[a * mjNGAIN], 1e-12);
        assert_double_equal(q->m->actuator_biasprm[a * mjNBIAS + 1], 0.5 * r->m->actuator_biasprm[a * mjNBIAS + 1], 1e-12);
        /* the servo target for a given ctrl is unchanged: gain/bias ratio kept */
        assert_double_equal(q->m->actuator_biasprm[a * mjNBIAS + 0], r->m->actuator_biasprm[a * mjNBIAS + 0], 0);
    }
    int obj_dof = r->m->jnt_dofadr[r->m->body_jntadr[r->object_body]];
    assert_double_equal(q->m->dof_damping[obj_dof], r->m->dof_damping[obj_dof], 0);
    tw_robot_close(q);

    tw_perturb_none(&p);
    p.payload_kg = 0.5;
    assert_int_equal(tw_robot_perturbed(r, &p, &q, g_msg, sizeof g_msg), 0);
    n = changed_fields(r->m, q->m, names, 64);
    static const char *const allowed_payload[] = {"body_mass", "body_inertia", "body_subtreemass", "body_invweight0",
                                                  "dof_M0", "dof_invweight0", "tendon_invweight0", "actuator_acc0",
                                                  "cam_pos0", "cam_poscom0", "cam_mat0", "light_pos0",
                                                  "light_poscom0", "light_dir0", NULL};
    for (int i = 0; i < n; i++)
        if (!in_list(names[i], allowed_payload))
            fail_msg("payload changed unexpected field %s", names[i]);
    assert_double_equal(q->m->body_mass[r->hand_body], r->m->body_mass[r->hand_body] + 0.5, 1e-12);
    for (int b = 0; b < r->m->nbody; b++)
        if (b != r->hand_body)
            assert_double_equal(q->m->body_mass[b], r->m->body_mass[b], 0);
    tw_robot_close(q);
    tw_robot_close(r);
}

/* Same model arrays (every byte of the buffer) and the same statistics and options. */
static void assert_same_model(const mjModel *a, const mjModel *b, const char *what)
{
    const char *names[64];
    int n = changed_fields(a, b, names, 64);
    if (n)
        fail_msg("%s: field %s differs (%d fields)", what, names[0], n);
    assert_memory_equal(&a->stat, &b->stat, sizeof a->stat);
    assert_memory_equal(&a->opt, &b->opt, sizeof a->opt);
}

static void assert_same_run(const run_t *a, const run_t *b, const mjModel *m, const char *what)
{
    assert_int_equal(a->steps, b->steps);
    size_t n = (size_t)a->steps;
    if (memcmp(a->clean, b->clean, sizeof *a->clean * n) || memcmp(a->noisy, b->noisy, sizeof *a->noisy * n) ||
        memcmp(a->act, b->act, sizeof(double) * n * (size_t)m->nu) ||
        memcmp(a->state, b->state, sizeof(double) * n * (size_t)(m->nq + m->nv)))
        fail_msg("%s: re-perturbed rollout differs from a fresh tw_sim_new", what);
}

/* simgen keeps one tw_sim per thread and switches its perturbation per episode: that must be
 * indistinguishable from building the sim afresh — model and rollout, bit for bit, in any order,
 * including back to nominal and to a longer action delay line. */
static void check_reperturb(const tw_robot *r, double seconds)
{
    static const char *const seq[] = {
        "damping=2,friction=3,gain=0.5,payload_kg=0.7,latency_ms=30,noise=1",
        "damping=0.6,gain=1.3,payload_kg=0.2,latency_ms=5",
        "none",
        "friction=0.5,payload_kg=1.5,latency_ms=80,noise=2",
        "damping=2,friction=3,gain=0.5,payload_kg=0.7,latency_ms=30,noise=1",
    };
    tw_sim_opts o;
    tw_sim_opts_init(&o);
    o.seed = 9;
    tw_perturb p = parse_or_fail(seq[0]);
    tw_sim *s;
    assert_int_equal(tw_sim_new(r, &p, &o, &s, g_msg, sizeof g_msg), 0);
    run_t warm = run_steps(r, s, seconds); /* leave the mjData mid-episode, contacts and all */
    run_free(&warm);
    for (size_t i = 1; i < sizeof seq / sizeof *seq; i++) {
        uint64_t ep = 100 + i;
        p = parse_or_fail(seq[i]);
        if (tw_sim_set_perturb(s, &p, g_msg, sizeof g_msg))
            fail_msg("set_perturb %s: %s", seq[i], g_msg);
        tw_robot *fresh;
        assert_int_equal(tw_robot_perturbed(r, &p, &fresh, g_msg, sizeof g_msg), 0);
        assert_same_model(fresh->m, tw_sim_robot(s)->m, seq[i]);
        if (tw_perturb_is_none(&p))
            assert_same_model(r->m, tw_sim_robot(s)->m, "back to nominal");
        tw_robot_close(fresh);
        tw_sim *f;
        assert_int_equal(tw_sim_new(r, &p, &o, &f, g_msg, sizeof g_msg), 0);
        tw_sim_reset(s, ep);
        tw_sim_reset(f, ep);
        run_t a = run_steps(r, s, seconds), b = run_steps(r, f, seconds);
        assert_same_run(&a, &b, r->m, seq[i]);
        run_free(&a);
        run_free(&b);
        tw_sim_free(f);
    }
    tw_sim_free(s);
}

static void test_reperturb_equals_fresh(void **st)
{
    tw_robot *r = load_or_fail(NULL); /* grasps an object: contacts and solver warm start matter */
    check_reperturb(r, 1.5);
    char path[1024];
    shared_path(path, sizeof path, "franka_emika_panda/panda.xml");
    tw_robot *panda = load_or_fail(path);
    check_reperturb(panda, 0.3);

    /* the low-level call, without a scratch mjData */
    tw_perturb p = parse_or_fail("damping=3,payload_kg=0.4"), none = parse_or_fail("none");
    tw_robot *q, *fresh;
    assert_int_equal(tw_robot_perturbed(r, &none, &q, g_msg, sizeof g_msg), 0);
    assert_int_equal(tw_robot_reperturb(r, &p, q, NULL, g_msg, sizeof g_msg), 0);
    assert_int_equal(tw_robot_perturbed(r, &p, &fresh, g_msg, sizeof g_msg), 0);
    assert_same_model(fresh->m, q->m, "reperturb without scratch");
    tw_robot_close(fresh);

    /* not a copy of this nominal: clear error, nothing changed */
    assert_int_equal(tw_robot_reperturb(r, &p, r, NULL, g_msg, sizeof g_msg), TW_EINVAL);
    assert_non_null(strstr(g_msg, "not a perturbed copy"));
    assert_int_equal(tw_robot_reperturb(panda, &none, q, NULL, g_msg, sizeof g_msg), TW_EINVAL);
    assert_int_equal(tw_robot_perturbed(r, &p, &fresh, g_msg, sizeof g_msg), 0);
    assert_same_model(fresh->m, q->m, "after a refused reperturb");
    tw_robot_close(fresh);
    tw_robot_close(q);

    /* a delay line too deep for the action rate is refused and the sim keeps its perturbation */
    tw_sim_opts o;
    tw_sim_opts_init(&o);
    o.action_rate_hz = 1000;
    tw_sim *s;
    assert_int_equal(tw_sim_new(r, &p, &o, &s, g_msg, sizeof g_msg), 0);
    tw_perturb deep = parse_or_fail("latency_ms=5000");
    assert_int_equal(tw_sim_set_perturb(s, &deep, g_msg, sizeof g_msg), TW_EINVAL);
    assert_non_null(strstr(g_msg, "latency"));
    assert_int_equal(tw_robot_perturbed(r, &p, &fresh, g_msg, sizeof g_msg), 0);
    assert_same_model(fresh->m, tw_sim_robot(s)->m, "after a refused set_perturb");
    tw_robot_close(fresh);
    tw_sim_free(s);
    tw_robot_close(panda);
    tw_robot_close(r);
}

int main(void)
{
    tw_mj_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perturb_parse),
        cmocka_unit_test(test_perturb_changes_exactly_intended_fields),
        cmocka_unit_test(test_reperturb_equals_fresh),
    };
    return cmocka_run_group_tests_name("test_perturb", tests, NULL, NULL);
}
