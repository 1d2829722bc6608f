/* replay/sim robot loading: the builtin arm is stable and really grasps; the real Panda/ViperX load with an
 * F/T sensor added and keep their dynamics; load errors are clear; a motor-driven arm is driven. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim_fixture.h"

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

int main(void)
{
    tw_mj_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_loads_stable_and_grasps),
        cmocka_unit_test(test_shared_models_get_ft_sensor),
        cmocka_unit_test(test_load_errors_are_clear),
        cmocka_unit_test(test_motor_arm_is_driven),
    };
    return cmocka_run_group_tests_name("test_robot", tests, NULL, NULL);
}
