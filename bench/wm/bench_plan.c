/* Planner throughput: world-model rows per second inside the CEM inner loop (tw_plan_model_step: input
 * normalisation, the MLP's batched forward, the delta) against a bare cblas_sgemm loop doing the same
 * matrix products at the same batch; then plans per second of the whole planner (world model and
 * MuJoCo physics) on the reach task: CPU time on one thread; for physics also wall time with the
 * rollouts on every core (--jobs), whose results must be identical.
 * Usage: bench_plan MODEL_DIR [CALLS] */
#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tw_plan.h"

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The forward products of one batch: per linear layer Z[B x out] += A[B x in] W[out x in]^T. */
static double bare(int calls, int B, int nin, int H, int L, int nout)
{
    int widest = H > nin ? H : nin;
    float *A = calloc((size_t)B * widest, 4), *Z = calloc((size_t)B * widest, 4), *W = calloc((size_t)widest * widest, 4);
    double c0 = cpu();
    for (int s = 0; s < calls; s++)
        for (int l = 0; l <= L; l++) {
            int in = l ? H : nin, out = l == L ? nout : H;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.f, A, in, W, in, 1.f, Z, out);
        }
    double t = cpu() - c0;
    free(A), free(Z), free(W);
    return (double)calls * B / t;
}

/* Plans per second (CPU and wall) with `jobs` threads; *final gets the per-episode final errors' sum. */
static int plans_per_s(const tw_robot *r, tw_plan_model *m, const char *what, int jobs, double *final)
{
    tw_plan_opts o;
    tw_plan_opts_init(&o);
    o.episodes = 2;
    o.jobs = jobs;
    tw_perturb none;
    tw_perturb_none(&none);
    tw_plan_result *res = calloc(1, sizeof *res);
    char msg[512];
    double c0 = cpu(), w0 = tw_mono_s();
    int rc = tw_plan_run(r, &none, m, &o, res, msg, sizeof msg);
    double t = cpu() - c0, w = tw_mono_s() - w0, plans = 2.0 * o.segment_s / o.dt * o.episodes;
    if (rc)
        fprintf(stderr, "%s\n", msg);
    else
        printf("plans/s %-10s %-9s %8.1f CPU, %8.1f wall   (horizon %d x %g s, %d samples, %d iterations: "
               "%.0f model rows per plan)\n", what, jobs == 1 ? "1 thread" : "all cores", plans / t, plans / w, o.horizon, o.dt, o.samples, o.iters,
               (double)res->evals / plans);
    *final = res->final_err[0] + res->final_err[1];
    free(res);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_plan MODEL_DIR [CALLS]\n");
        return 2;
    }
    int calls = argc > 2 ? atoi(argv[2]) : 20000;
    char path[1200], msg[512];
    snprintf(path, sizeof path, "%s/model.json", argv[1]);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j) {
        fprintf(stderr, "%s: cannot read\n", path);
        return 1;
    }
    int S = (int)json_integer_value(json_object_get(j, "state_dim")), A = (int)json_integer_value(json_object_get(j, "action_dim"));
    int H = (int)json_integer_value(json_object_get(j, "hidden")), L = (int)json_integer_value(json_object_get(j, "layers"));
    int T = (int)json_array_size(json_object_get(json_object_get(j, "normalization"), "tracking_state_column"));
    json_decref(j);
    tw_plan_opts o;
    tw_plan_opts_init(&o);
    int B = o.samples;
    tw_plan_model *m;
    if (tw_plan_model_wm(argv[1], B, &m, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    float *s = malloc(sizeof(float) * B * S), *a = malloc(sizeof(float) * B * A), *n = malloc(sizeof(float) * B * S);
    for (int i = 0; i < B * S; i++)
        s[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    for (int i = 0; i < B * A; i++)
        a[i] = (float)((i * 104729) % 1000) / 1000.f - 0.5f;
    openblas_set_num_threads(1);
    double b1 = bare(calls, B, S + A + T, H, L, S), c0 = cpu();
    for (int k = 0; k < calls; k++)
        tw_plan_model_step(m, s, a, B, n, NULL);
    double tw = (double)calls * B / (cpu() - c0), b2 = bare(calls, B, S + A + T, H, L, S), b = (b1 + b2) / 2;
    printf("model: in %d, hidden %d x %d, out %d; batch %d (the planner's samples), %d calls\n", S + A + T, L, H, S, B,
           calls);
    printf("bare sgemm loop          %10.0f rows/s (CPU time; mean of a run before and after)\n", b);
    printf("tw_plan_model_step (wm)  %10.0f rows/s\n", tw);
    printf("ratio tw / bare          %10.2f   (target >= 0.70)\n", tw / b);
    tw_mj_init();
    tw_robot *r;
    if (tw_robot_load("builtin", &r, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    tw_plan_model *ph = NULL, *ph2 = NULL;
    double f1 = 0, f2 = 0;
    int rc = plans_per_s(r, m, "wm", 1, &f1);
    if (!rc && !(rc = tw_plan_model_physics(r, NULL, o.dt, &ph, msg, sizeof msg)))
        rc = plans_per_s(r, ph, "physics", 1, &f1);
    if (!rc && !(rc = tw_plan_model_physics(r, NULL, o.dt, &ph2, msg, sizeof msg)))
        rc = plans_per_s(r, ph2, "physics", 0, &f2);
    if (!rc && f1 != f2) {
        fprintf(stderr, "physics: the threaded planner gave other numbers (%.9g vs %.9g)\n", f2, f1);
        rc = 1;
    }
    tw_plan_model_free(ph);
    tw_plan_model_free(ph2);
    tw_robot_close(r);
    tw_plan_model_free(m);
    free(s), free(a), free(n);
    return rc ? 1 : 0;
}
