/* Bare MuJoCo baseline for the simgen benchmark: load a model, hold ctrl at zero, call mj_step N times.
 * Prints steps/s. Usage: bench_mjstep MODEL.xml STEPS */
#include <mujoco/mujoco.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void on_error(const char *m)
{
    fprintf(stderr, "mujoco error: %s\n", m);
    exit(1);
}

static void on_warning(const char *m) { (void)m; }

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_mjstep MODEL.xml STEPS\n");
        return 2;
    }
    mju_user_error = on_error;
    mju_user_warning = on_warning;
    char err[1000];
    mjModel *m = mj_loadXML(argv[1], NULL, err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    mjData *d = mj_makeData(m);
    if (m->nkey > 0)
        mj_resetDataKeyframe(m, d, 0);
    long n = atol(argv[2]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (m->nkey > 0 && m->nu == m->nkey * 0 + m->nu)
            for (int k = 0; k < m->nu; k++)
                d->ctrl[k] = m->key_ctrl ? m->key_ctrl[k] : 0; /* hold the home pose like the operator does */
        mj_step(m, d);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    printf("%.0f\n", (double)n / s);
    mj_deleteData(d);
    mj_deleteModel(m);
    return 0;
}
