/* World-model training throughput (tw_mlp_train_step) against a bare OpenBLAS sgemm loop doing the
 * same matrix products (per linear layer: forward, weight gradient, input gradient), one thread each.
 * Usage: bench_wm [STEPS] [BATCH] [HIDDEN] [LAYERS] [IN] [OUT] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tw_mlp.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The sgemm calls tw_mlp_train_step makes, with nothing around them. */
static double bare(int steps, int B, int H, int L, int nin, int nout)
{
    int nl = L + 1, in[16], out[16], widest = H > nin ? H : nin;
    for (int l = 0; l < nl; l++) {
        in[l] = l ? H : nin;
        out[l] = l == nl - 1 ? nout : H;
    }
    float *A = calloc((size_t)B * widest, 4), *Z = calloc((size_t)B * widest, 4), *W = calloc((size_t)widest * widest, 4),
          *G = calloc((size_t)widest * widest, 4), *D = calloc((size_t)B * widest, 4);
    double c0 = cpu();
    for (int s = 0; s < steps; s++)
        for (int l = 0; l < nl; l++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out[l], in[l], 1.f, A, in[l], W, in[l], 1.f, Z,
                        out[l]);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out[l], in[l], B, 1.f, D, out[l], A, in[l], 0.f, G,
                        in[l]);
            if (l)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in[l], out[l], 1.f, D, out[l], W, in[l],
                            0.f, Z, in[l]);
        }
    double t = cpu() - c0;
    free(A), free(Z), free(W), free(G), free(D);
    return (double)steps * B / t;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 2000, B = argc > 2 ? atoi(argv[2]) : 256;
    int H = argc > 3 ? atoi(argv[3]) : 128, L = argc > 4 ? atoi(argv[4]) : 2;
    int nin = argc > 5 ? atoi(argv[5]) : 27, nout = argc > 6 ? atoi(argv[6]) : 18;
    openblas_set_num_threads(1);
    tw_mlp_shape sh = {.nin = nin, .nout = nout, .nhidden = H, .nlayers = L, .max_batch = B};
    tw_mlp *m;
    char msg[128];
    if (tw_mlp_new(&sh, 1, &m, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    float *X = malloc((size_t)B * nin * 4), *T = malloc((size_t)B * nout * 4);
    for (int i = 0; i < B * nin; i++)
        X[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    for (int i = 0; i < B * nout; i++)
        T[i] = (float)((i * 104729) % 1000) / 1000.f - 0.5f;
    tw_adam a;
    tw_adam_init(&a);
    double b1 = bare(steps, B, H, L, nin, nout);
    double c0 = cpu(), w0 = now();
    for (int s = 0; s < steps; s++)
        tw_mlp_train_step(m, &a, X, T, NULL, B, NULL);
    double tw = (double)steps * B / (cpu() - c0), wall = now() - w0;
    double b2 = bare(steps, B, H, L, nin, nout);
    double b = (b1 + b2) / 2;
    printf("shape: in %d, hidden %d x %d, out %d, batch %d, %d steps (one thread)\n", nin, L, H, nout, B, steps);
    printf("bare sgemm loop      %10.0f samples/s (CPU time; mean of a run before and after)\n", b);
    printf("tw_mlp_train_step    %10.0f samples/s (CPU time; %.2f s wall), %.2f GFLOP/s\n", tw, wall,
           tw * tw_mlp_train_flops(m, 1) * 1e-9);
    printf("ratio tw / bare      %10.2f   (target >= 0.50)\n", tw / b);
    tw_mlp_free(m);
    free(X);
    free(T);
    return 0;
}
