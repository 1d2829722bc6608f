/* replay/sim rollouts: the operator is deterministic, an unperturbed rig is exactly the nominal model (forward
 * replay bit for bit, inverse dynamics to 1e-8), and planted damping shows with the right sign. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim_fixture.h"

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
        cmocka_unit_test(test_operator_deterministic),
        cmocka_unit_test(test_none_reproduces_nominal_exactly),
        cmocka_unit_test(test_damping_residual_exact_on_panda),
        cmocka_unit_test(test_damping_shows_with_the_right_sign),
    };
    return cmocka_run_group_tests_name("test_rollout", tests, NULL, NULL);
}
