/* Physics layer of the virtual rig: models load (builtin, and the real Panda/ViperX with an F/T sensor
 * added), the builtin arm is stable and really grasps, the operator is deterministic, and an
 * unperturbed rig is exactly the nominal model (forward replay bit for bit, inverse dynamics to 1e-8). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mujoco/mjxmacro.h>

#include "tw_sim.h"

/* cmocka 1.1 has no assert_double_equal */
#define assert_double_equal(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static char g_msg[512];

static tw_robot *load_or_fail(const char *path)
{
    tw_robot *r = NULL;
    int rc = tw_robot_load(path, &r, g_msg, sizeof g_msg);
    if (rc)
        fail_msg("load %s: %s", path ? path : "builtin", g_msg);
    return r;
}

static void shared_path(char *buf, size_t n, const char *rel)
{
    const char *s = getenv("TW_SHARED");
    snprintf(buf, n, "%s/models/%s", s ? s : "../shared", rel);
}

typedef struct {
    int steps;
    tw_sample *clean, *noisy;
    double *act;      /* nu per step: the action in force as streamed (held between decisions) */
    double *state;    /* full qpos+qvel per step before stepping (for exact checks incl. the object) */
    int ngrasp, nrelease;
    double max_obj_z;
} run_t;

static void run_free(run_t *x)
{
    free(x->clean);
    free(x->noisy);
    free(x->act);
    free(x->state);
}

static tw_perturb parse_or_fail(const char *spec)
{
    tw_perturb p;
    tw_perturb_none(&p);
    if (tw_perturb_parse(spec, &p, g_msg, sizeof g_msg))
        fail_msg("perturbation %s: %s", spec, g_msg);
    return p;
}

/* Rolls s (already reset for its episode) forward for `seconds` and records everything it streams. */
static run_t run_steps(const tw_robot *r, tw_sim *s, double seconds)
{
    run_t x = {0};
    const mjModel *m = r->m;
    x.steps = (int)lround(seconds / tw_sim_timestep(s));
    x.clean = calloc((size_t)x.steps, sizeof *x.clean);
    x.noisy = calloc((size_t)x.steps, sizeof *x.noisy);
    x.act = calloc((size_t)x.steps * (size_t)m->nu, sizeof(double));
    x.state = calloc((size_t)x.steps * (size_t)(m->nq + m->nv), sizeof(double));
    x.max_obj_z = -1e9;
    double act[TW_ROBOT_MAX_ACT] = {0};
    for (int k = 0; k < x.steps; k++) {
        const mjData *d = tw_sim_data(s);
        mju_copy(x.state + (size_t)k * (size_t)(m->nq + m->nv), d->qpos, m->nq);
        mju_copy(x.state + (size_t)k * (size_t)(m->nq + m->nv) + m->nq, d->qvel, m->nv);
        int na;
        tw_op_event ev;
        int rc = tw_sim_step(s, &x.clean[k], &x.noisy[k], &na, act, &ev, g_msg, sizeof g_msg);
        if (rc)
            fail_msg("step %d: %s", k, g_msg);
        mju_copy(x.act + (size_t)k * (size_t)m->nu, act, m->nu);
        x.ngrasp += ev == TW_OP_EV_GRASP;
        x.nrelease += ev == TW_OP_EV_RELEASE;
        if (r->object_body >= 0 && d->qpos[r->object_qadr + 2] > x.max_obj_z)
            x.max_obj_z = d->qpos[r->object_qadr + 2];
    }
    return x;
}

static run_t run_sim(const tw_robot *r, const char *spec, double seconds, uint64_t seed)
{
    tw_perturb p = parse_or_fail(spec);
    tw_sim_opts o;
    tw_sim_opts_init(&o);
    o.seed = seed;
    tw_sim *s;
    assert_int_equal(tw_sim_new(r, &p, &o, &s, g_msg, sizeof g_msg), 0);
    run_t x = run_steps(r, s, seconds);
    tw_sim_free(s);
    return x;
}

static void test_builtin_loads_stable_and_grasps(void **st)
{
    tw_robot *r = load_or_fail(NULL);
    assert_int_equal(r->njoint, 9);
    assert_int_equal(r->narm, 7);
    assert_int_equal(r->ft_added, 0); /* it ships its own sensor */
    assert_string_equal(r->m->names + r->m->name_bodyadr[r->hand_body], "hand");
    assert_true(r->object_body >= 0);
    assert_double_equal(r->m->opt.timestep, 0.002, 1e-12);
    long w0 = tw_mj_warning_count();
    run_t x = run_sim(r, "none", 10.0, 1);
    assert_int_equal(tw_mj_warning_count(), w0);
    double z0 = r->m->key_qpos[r->object_qadr + 2];
    assert_true(x.max_obj_z > z0 + 0.10); /* lifted by the gripper, not just pushed */
    assert_true(x.ngrasp >= 1);
    assert_true(x.nrelease >= 1);
    for (int k = 0; k < x.steps; k++)
        for (int i = 0; i < r->njoint; i++)
            assert_true(fabs(x.clean[k].qvel[i]) < 10);
    run_free(&x);
    tw_robot_close(r);
}

/* The loaded (F/T-augmented) model has the same dynamics as the file loaded plainly. */
static void check_same_dynamics(const char *path, const tw_robot *r)
{
    char err[512];
    mjModel *raw = mj_loadXML(path, NULL, err, sizeof err);
    assert_non_null(raw);
    assert_int_equal(raw->nq, r->m->nq);
    assert_int_equal(raw->nv, r->m->nv);
    assert_int_equal(raw->nu, r->m->nu);
    assert_int_equal(raw->nbody, r->m->nbody);
    assert_int_equal(raw->nsensor + 2, r->m->nsensor);
    mjData *a = mj_makeData(raw), *b = mj_makeData(r->m);
    for (int i = 0; i < raw->nq; i++)
        a->qpos[i] = b->qpos[i] = raw->qpos0[i] + 0.1 * sin(i + 1.0);
    for (int i = 0; i < raw->nv; i++)
        a->qvel[i] = b->qvel[i] = 0.3 * cos(i + 1.0);
    for (int i = 0; i < raw->nu; i++)
        a->ctrl[i] = b->ctrl[i] = 0.5 * (raw->actuator_ctrlrange[2 * i] + raw->actuator_ctrlrange[2 * i + 1]);
    mj_forward(raw, a);
    mj_forward(r->m, b);
    double worst = 0;
    for (int i = 0; i < raw->nv; i++)
        worst = fmax(worst, fabs(a->qacc[i] - b->qacc[i]) / (1 + fabs(a->qacc[i])));
    print_message("%s: F/T-augmented vs plain model, worst relative qacc difference %.3g\n", path, worst);
    assert_true(worst < 1e-9);
    mj_deleteData(a);
    mj_deleteData(b);
    mj_deleteModel(raw);
}

static void test_shared_models_get_ft_sensor(void **st)
{
    static const char *rel[] = {"franka_emika_panda/scene.xml", "franka_emika_panda/panda.xml",
                                "trossen_vx300s/vx300s.xml", "trossen_vx300s/scene.xml"};
    static const char *hand[] = {"hand", "hand", "gripper_link", "gripper_link"};
    static const int narm[] = {7, 7, 6, 6};
    for (int i = 0; i < 4; i++) {
        char path[1024];
        shared_path(path, sizeof path, rel[i]);
        tw_robot *r = load_or_fail(path);
        assert_int_equal(r->ft_added, 1);
        assert_int_equal(r->narm, narm[i]);
        assert_string_equal(r->m->names + r->m->name_bodyadr[r->hand_body], hand[i]);
        assert_int_equal(r->m->site_bodyid[r->ft_site], r->hand_body);
        assert_true(r->ft_force_adr >= 0 && r->ft_torque_adr >= 0);
        for (int j = 0; j < r->narm; j++)
            assert_true(r->jact[j] >= 0);
        assert_true(r->ngrip_act >= 1);
        check_same_dynamics(path, r);
        /* the hand's weight, held by the operator's servos, shows in the added sensor */
        run_t x = run_sim(r, "none", 2.0, 3);
        double f = 0;
        for (int k = 0; k < x.steps; k++)
            f += mju_norm3(x.clean[k].wrench) / x.steps;
        if (!(f > 1.0))
            fail_msg("%s: mean |F| %.3g N: the hand's weight should show", path, f);
        run_free(&x);
        tw_robot_close(r);
    }
}

static void test_load_errors_are_clear(void **st)
{
    tw_robot *r = (tw_robot *)1;
    assert_int_equal(tw_robot_load("/nonexistent/robot.xml", &r, g_msg, sizeof g_msg), TW_EMUJOCO);
    assert_null(r);
    assert_non_null(strstr(g_msg, "/nonexistent/robot.xml"));
    FILE *f = fopen("tw_test_bad.xml", "w");
    fputs("<mujoco><worldbody><body><geom size=\"0.1\"/></body></worldbody></mujoco>", f);
    fclose(f);
    assert_int_equal(tw_robot_load("tw_test_bad.xml", &r, g_msg, sizeof g_msg), TW_EINVAL);
    assert_non_null(strstr(g_msg, "no hinge joints"));
    f = fopen("tw_test_bad.xml", "w");
    fputs("<mujoco><worldbody><body><joint/><geom size=</worldbody></mujoco>", f);
    fclose(f);
    assert_int_equal(tw_robot_load("tw_test_bad.xml", &r, g_msg, sizeof g_msg), TW_EMUJOCO);
    remove("tw_test_bad.xml");
    tw_robot_close(NULL);
}

/* A motor-driven arm (torque actuators, no servo): the operator's PD + gravity torques hold and move it,
 * and the F/T sensor goes on the last arm body when there are no fingers. */
static void test_motor_arm_is_driven(void **st)
{
    FILE *f = fopen("tw_test_motor.xml", "w");
    fputs("<mujoco><compiler angle=\"radian\" autolimits=\"true\"/><option timestep=\"0.002\"/><worldbody>"
          "<body name=\"l1\"><joint name=\"a\" axis=\"0 1 0\" range=\"-1.5 1.5\" damping=\"0.5\"/>"
          "<geom type=\"capsule\" fromto=\"0 0 0 0.3 0 0\" size=\"0.03\"/>"
          "<body name=\"l2\" pos=\"0.3 0 0\"><joint name=\"b\" axis=\"0 1 0\" range=\"-1.5 1.5\" damping=\"0.5\"/>"
          "<geom type=\"capsule\" fromto=\"0 0 0 0.3 0 0\" size=\"0.03\"/>"
          "<body name=\"tool\" pos=\"0.3 0 0\"/></body></body></worldbody>"
          "<actuator><motor joint=\"a\" ctrlrange=\"-60 60\"/><motor joint=\"b\" ctrlrange=\"-60 60\"/></actuator>"
          "</mujoco>", f);
    fclose(f);
    tw_robot *r = load_or_fail("tw_test_motor.xml");
    remove("tw_test_motor.xml");
    assert_int_equal(r->ft_added, 1);
    assert_int_equal(r->narm, 2);
    assert_string_equal(r->m->names + r->m->name_bodyadr[r->hand_body], "l2");
    run_t x = run_sim(r, "none", 4.0, 11);
    double lo = 1e9, hi = -1e9, worst_sag = 0;
    for (int k = 0; k < x.steps; k++) {
        lo = fmin(lo, x.clean[k].qpos[0]);
        hi = fmax(hi, x.clean[k].qpos[0]);
        worst_sag = fmax(worst_sag, fabs(x.clean[k].qpos[1]));
        assert_true(fabs(x.clean[k].qvel[0]) < 20);
    }
    assert_true(hi - lo > 0.1);   /* it moves between waypoints */
    assert_true(worst_sag < 1.5); /* and is not simply hanging at a joint limit */
    run_free(&x);
    tw_robot_close(r);
}

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

static void test_operator_deterministic(void **st)
{
    tw_robot *r = load_or_fail(NULL);
    run_t a = run_sim(r, "damping=1.5,noise=1", 3.0, 42), b = run_sim(r, "damping=1.5,noise=1", 3.0, 42),
          c = run_sim(r, "damping=1.5,noise=1", 3.0, 43);
    assert_memory_equal(a.noisy, b.noisy, sizeof *a.noisy * (size_t)a.steps);
    assert_memory_equal(a.act, b.act, sizeof(double) * (size_t)a.steps * (size_t)r->m->nu);
    int differ = memcmp(a.act, c.act, sizeof(double) * (size_t)a.steps * (size_t)r->m->nu) != 0;
    assert_true(differ); /* another seed, another plan */
    /* noise is on the streamed copy only, with the stated size */
    double ss = 0;
    for (int k = 0; k < a.steps; k++)
        ss += pow(a.noisy[k].qpos[0] - a.clean[k].qpos[0], 2);
    double sd = sqrt(ss / a.steps);
    assert_true(sd > 0.7e-4 && sd < 1.3e-4);
    /* same operator under different physics still produces the same first action (plan is nominal) */
    run_free(&a);
    run_free(&b);
    run_free(&c);
    /* the operator alone, driven with the same state, is a pure function of seed */
    tw_operator *o1, *o2;
    assert_int_equal(tw_operator_new(r, 7, &o1, g_msg, sizeof g_msg), 0);
    assert_int_equal(tw_operator_new(r, 7, &o2, g_msg, sizeof g_msg), 0);
    mjData *d = mj_makeData(r->m);
    tw_robot_home(r, d);
    double c1[TW_ROBOT_MAX_ACT], c2[TW_ROBOT_MAX_ACT];
    tw_op_event e1, e2;
    for (int k = 0; k < 500; k++) {
        tw_operator_act(o1, d, k * 0.01, c1, &e1);
        tw_operator_act(o2, d, k * 0.01, c2, &e2);
        assert_memory_equal(c1, c2, sizeof(double) * (size_t)r->m->nu);
        assert_int_equal(e1, e2);
    }
    mj_deleteData(d);
    tw_operator_free(o1);
    tw_operator_free(o2);
    tw_robot_close(r);
}

/* Inverse dynamics of the nominal model at the exact state: qfrc_inverse minus the streamed effort. */
static void residuals(const tw_robot *r, const run_t *x, int k, mjData *d, double *res)
{
    const mjModel *m = r->m;
    const double *s = x->state + (size_t)k * (size_t)(m->nq + m->nv);
    mju_copy(d->qpos, s, m->nq);
    mju_copy(d->qvel, s + m->nq, m->nv);
    mju_copy(d->ctrl, x->act + (size_t)k * (size_t)m->nu, m->nu);
    mj_forward(m, d); /* full qacc incl. the object, as the rig computed it */
    mj_inverse(m, d);
    for (int i = 0; i < r->njoint; i++)
        res[i] = x->clean[k].effort[i] - d->qfrc_inverse[r->vadr[i]];
}

static void test_none_reproduces_nominal_exactly(void **st)
{
    tw_robot *r = load_or_fail(NULL);
    const mjModel *m = r->m;
    run_t x = run_sim(r, "none", 4.0, 5);
    assert_memory_equal(x.clean, x.noisy, sizeof *x.clean * (size_t)x.steps); /* noise 0: nothing added */
    /* forward: the streamed actions on the nominal model with mj_step give the same states, bit for bit */
    mjData *d = mj_makeData(m);
    tw_robot_home(r, d);
    for (int k = 0; k < x.steps; k++) {
        for (int i = 0; i < r->njoint; i++) {
            assert_true(d->qpos[r->qadr[i]] == x.clean[k].qpos[i]);
            assert_true(d->qvel[r->vadr[i]] == x.clean[k].qvel[i]);
        }
        mju_copy(d->ctrl, x.act + (size_t)k * (size_t)m->nu, m->nu);
        mj_step(m, d);
    }
    /* inverse: effort is what the nominal model's inverse dynamics needs; F/T equals the model's sensor */
    double res[TW_ROBOT_MAX_JOINTS], worst = 0;
    for (int k = 0; k < x.steps; k += 7) {
        residuals(r, &x, k, d, res);
        for (int i = 0; i < r->narm; i++)
            worst = fmax(worst, fabs(res[i]));
        for (int i = 0; i < r->narm; i++)
            if (fabs(d->qacc[r->vadr[i]] - x.clean[k].qacc[i]) > 1e-6 * (1 + fabs(x.clean[k].qacc[i])))
                fail_msg("k=%d joint %d qacc %.9g vs sample %.9g", k, i, d->qacc[r->vadr[i]], x.clean[k].qacc[i]);
        mj_forward(m, d);
        for (int a = 0; a < 3; a++) {
            /* equal up to the contact solver's tolerance (its warm start differs in a fresh mjData) */
            assert_double_equal(d->sensordata[r->ft_force_adr + a], x.clean[k].wrench[a], 1e-6);
            assert_double_equal(d->sensordata[r->ft_torque_adr + a], x.clean[k].wrench[3 + a], 1e-6);
        }
    }
    /* replay's route: finite-difference qacc, undo the integrator's implicit damping, inverse dynamics */
    double worst_fd = 0;
    for (int k = 0; k + 1 < x.steps; k += 5) {
        const double *s0 = x.state + (size_t)k * (size_t)(m->nq + m->nv), *s1 = s0 + m->nq + m->nv;
        double qacc[64];
        mju_copy(d->qpos, s0, m->nq);
        mju_copy(d->qvel, s0 + m->nq, m->nv);
        mj_fwdPosition(m, d);
        for (int v = 0; v < m->nv; v++)
            qacc[v] = (s1[m->nq + v] - s0[m->nq + v]) / m->opt.timestep;
        tw_physics_forward_qacc(m, d, qacc, qacc);
        mju_copy(d->qacc, qacc, m->nv);
        mj_inverse(m, d);
        for (int i = 0; i < r->narm; i++)
            worst_fd = fmax(worst_fd, fabs(x.clean[k].effort[i] - d->qfrc_inverse[r->vadr[i]]));
    }
    print_message("none/0: finite-difference route worst residual = %.3g N·m\n", worst_fd);
    assert_true(worst_fd < 1e-4); /* the contact solver's tolerance, not the model, sets this floor */
    print_message("none/0: worst |effort - qfrc_inverse| on arm joints = %.3g N·m\n", worst);
    assert_true(worst < 1e-6);
    mj_deleteData(d);
    run_free(&x);
    tw_robot_close(r);
}

/* Panda (no object, no frictionloss): the residual is exactly (k-1)·D·qvel = D·qvel at every step. */
static void test_damping_residual_exact_on_panda(void **st)
{
    char path[1024];
    shared_path(path, sizeof path, "franka_emika_panda/scene.xml");
    tw_robot *r = load_or_fail(path);
    const mjModel *m = r->m;
    assert_int_equal(r->njoint, m->nv); /* every dof is streamed: the sample holds the full state */
    run_t x = run_sim(r, "damping=2", 3.0, 5);
    mjData *d = mj_makeData(m);
    for (int k = 0; k < x.steps; k++) {
        for (int i = 0; i < r->njoint; i++) {
            d->qpos[r->qadr[i]] = x.clean[k].qpos[i];
            d->qvel[r->vadr[i]] = x.clean[k].qvel[i];
            d->qacc[r->vadr[i]] = x.clean[k].qacc[i];
        }
        mj_inverse(m, d);
        for (int i = 0; i < r->narm; i++) {
            double res = x.clean[k].effort[i] - d->qfrc_inverse[r->vadr[i]];
            double expect = m->dof_damping[r->vadr[i]] * x.clean[k].qvel[i];
            if (fabs(res - expect) > 1e-6 + 1e-6 * fabs(expect))
                fail_msg("k=%d joint %d residual %.9g expected %.9g", k, i, res, expect);
        }
    }
    mj_deleteData(d);
    run_free(&x);
    tw_robot_close(r);
}

/* Builtin arm, replay's route (finite-difference qacc, integrator correction, nominal inverse dynamics):
 * the damping shows with the right sign and about the right size on every arm joint. */
static void test_damping_shows_with_the_right_sign(void **st)
{
    tw_robot *r = load_or_fail(NULL);
    const mjModel *m = r->m;
    run_t x = run_sim(r, "damping=2", 4.0, 5);
    mjData *d = mj_makeData(m);
    double num[TW_ROBOT_MAX_JOINTS] = {0}, den[TW_ROBOT_MAX_JOINTS] = {0}, qacc[64];
    for (int k = 0; k + 1 < x.steps; k++) {
        const double *s0 = x.state + (size_t)k * (size_t)(m->nq + m->nv), *s1 = s0 + m->nq + m->nv;
        mju_copy(d->qpos, s0, m->nq);
        mju_copy(d->qvel, s0 + m->nq, m->nv);
        mj_fwdPosition(m, d);
        for (int v = 0; v < m->nv; v++)
            qacc[v] = (s1[m->nq + v] - s0[m->nq + v]) / m->opt.timestep;
        tw_physics_forward_qacc(m, d, qacc, qacc);
        mju_copy(d->qacc, qacc, m->nv);
        mj_inverse(m, d);
        for (int i = 0; i < r->narm; i++) {
            double res = x.clean[k].effort[i] - d->qfrc_inverse[r->vadr[i]], qv = x.clean[k].qvel[i];
            num[i] += res * qv;
            den[i] += m->dof_damping[r->vadr[i]] * qv * qv;
        }
    }
    for (int i = 0; i < r->narm; i++) {
        double slope = num[i] / den[i]; /* fitted extra damping in units of the nominal: expect 1 */
        print_message("joint %s: fitted extra damping %.4f x nominal\n", r->jname[i], slope);
        assert_true(den[i] > 0);
        if (!(slope > 0.8 && slope < 1.2))
            fail_msg("joint %s: damping x2 should show as 1x nominal extra damping, got %.3f", r->jname[i], slope);
    }
    mj_deleteData(d);
    run_free(&x);
    tw_robot_close(r);
}

int main(void)
{
    tw_mj_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_loads_stable_and_grasps),
        cmocka_unit_test(test_shared_models_get_ft_sensor),
        cmocka_unit_test(test_load_errors_are_clear),
        cmocka_unit_test(test_motor_arm_is_driven),
        cmocka_unit_test(test_perturb_parse),
        cmocka_unit_test(test_perturb_changes_exactly_intended_fields),
        cmocka_unit_test(test_reperturb_equals_fresh),
        cmocka_unit_test(test_operator_deterministic),
        cmocka_unit_test(test_none_reproduces_nominal_exactly),
        cmocka_unit_test(test_damping_residual_exact_on_panda),
        cmocka_unit_test(test_damping_shows_with_the_right_sign),
    };
    return cmocka_run_group_tests_name("rig physics", tests, NULL, NULL);
}
