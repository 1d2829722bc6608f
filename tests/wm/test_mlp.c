/* The world model's MLP: gradients match finite differences, training fits a smooth map,
 * and the same seed gives the same weights bit for bit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tw_mlp.h"

static tw_mlp *make(int nin, int nout, int hidden, int layers, int batch, uint64_t seed)
{
    tw_mlp_shape s = {.nin = nin, .nout = nout, .nhidden = hidden, .nlayers = layers, .max_batch = batch};
    tw_mlp *m = NULL;
    char msg[128];
    assert_int_equal(tw_mlp_new(&s, seed, &m, msg, sizeof msg), 0);
    return m;
}

static double loss_at(tw_mlp *m, const float *X, const float *T, int B, int nout)
{
    float Y[64];
    assert_int_equal(tw_mlp_forward(m, X, B, Y), 0);
    double l = 0;
    for (int i = 0; i < B * nout; i++)
        l += (double)(Y[i] - T[i]) * (Y[i] - T[i]);
    return l / (B * nout);
}

static void test_mlp_gradient_matches_finite_differences(void **state)
{
    (void)state;
    enum { B = 4, NIN = 3, NOUT = 2 };
    tw_mlp *m = make(NIN, NOUT, 5, 2, B, 7);
    float X[B * NIN], T[B * NOUT];
    for (int i = 0; i < B * NIN; i++)
        X[i] = (float)sin(i * 1.3);
    for (int i = 0; i < B * NOUT; i++)
        T[i] = (float)cos(i * 0.7);
    /* A step with lr 0 computes the analytic gradient at these weights and leaves them be. */
    tw_adam a;
    tw_adam_init(&a);
    a.lr = 0.f;
    float loss;
    assert_int_equal(tw_mlp_train_step(m, &a, X, T, NULL, B, &loss), 0);
    assert_true(fabs(loss - loss_at(m, X, T, B, NOUT)) < 1e-6);
    size_t n = tw_mlp_nparams(m);
    float *p = tw_mlp_params(m);
    const float *g = tw_mlp_grads(m);
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        float w = p[i], h = 1e-2f;
        p[i] = w + h;
        double lp = loss_at(m, X, T, B, NOUT);
        p[i] = w - h;
        double lm = loss_at(m, X, T, B, NOUT);
        p[i] = w;
        double num = (lp - lm) / (2 * h);
        assert_true(fabs(num - g[i]) <= 1e-3 + 2e-2 * fabs(num));
        checked++;
    }
    assert_int_equal(checked, (int)n);
    tw_mlp_free(m);
}

static void test_mlp_learns_a_smooth_map(void **state)
{
    (void)state;
    enum { B = 64 };
    tw_mlp *m = make(1, 1, 32, 2, B, 1);
    tw_adam a;
    tw_adam_init(&a);
    a.lr = 3e-3f;
    float X[B], T[B], loss = 1e9f;
    for (int i = 0; i < B; i++) {
        X[i] = -2.f + 4.f * i / (B - 1);
        T[i] = sinf(2.f * X[i]);
    }
    float first = 0;
    for (int it = 0; it < 3000; it++) {
        assert_int_equal(tw_mlp_train_step(m, &a, X, T, NULL, B, &loss), 0);
        if (it == 0)
            first = loss;
    }
    assert_true(loss < 0.01f * first);
    tw_mlp_free(m);
}

static void test_mlp_same_seed_same_weights(void **state)
{
    (void)state;
    tw_mlp *a = make(4, 3, 16, 2, 8, 42), *b = make(4, 3, 16, 2, 8, 42), *c = make(4, 3, 16, 2, 8, 43);
    float X[32], T[24];
    for (int i = 0; i < 32; i++)
        X[i] = (float)i / 10;
    for (int i = 0; i < 24; i++)
        T[i] = (float)i / 7;
    tw_adam o;
    tw_adam_init(&o);
    for (int it = 0; it < 20; it++) {
        assert_int_equal(tw_mlp_train_step(a, &o, X, T, NULL, 8, NULL), 0);
        assert_int_equal(tw_mlp_train_step(b, &o, X, T, NULL, 8, NULL), 0);
    }
    assert_memory_equal(tw_mlp_params(a), tw_mlp_params(b), tw_mlp_nparams(a) * sizeof(float));
    assert_memory_not_equal(tw_mlp_params(a), tw_mlp_params(c), tw_mlp_nparams(a) * sizeof(float));
    tw_mlp_free(a);
    tw_mlp_free(b);
    tw_mlp_free(c);
}

static void test_mlp_rejects_bad_shape_and_batch(void **state)
{
    (void)state;
    tw_mlp_shape s = {.nin = 0, .nout = 1, .nhidden = 4, .nlayers = 1, .max_batch = 4};
    tw_mlp *m = NULL;
    char msg[128] = "";
    assert_int_equal(tw_mlp_new(&s, 1, &m, msg, sizeof msg), TW_EINVAL);
    assert_null(m);
    assert_non_null(strstr(msg, "bad shape"));
    m = make(2, 1, 4, 1, 4, 1);
    float X[10] = {0}, Y[5];
    assert_int_equal(tw_mlp_forward(m, X, 5, Y), TW_EINVAL);
    tw_mlp_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_gradient_matches_finite_differences),
        cmocka_unit_test(test_mlp_learns_a_smooth_map),
        cmocka_unit_test(test_mlp_same_seed_same_weights),
        cmocka_unit_test(test_mlp_rejects_bad_shape_and_batch),
    };
    return cmocka_run_group_tests_name("mlp", tests, NULL, NULL);
}
