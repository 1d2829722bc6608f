/* A small multilayer perceptron trained with Adam; matrix work through OpenBLAS sgemm.
 * Row-major float32 throughout; batches are [B x n]. Deterministic for a seed
 * (OpenBLAS is pinned to one thread by tw_mlp_new so sums are always taken in one order). */
#ifndef TW_MLP_H
#define TW_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "tw_core.h"

#define TW_MLP_MAX_LAYERS 8

typedef struct {
    int nin, nout;
    int nhidden;   /* width of every hidden layer */
    int nlayers;   /* hidden layers (>= 1); linear layers = nlayers + 1 */
    int max_batch; /* workspace size */
} tw_mlp_shape;

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} tw_adam;
void tw_adam_init(tw_adam *a); /* lr 1e-3, 0.9, 0.999, 1e-8, 0 */

typedef struct tw_mlp tw_mlp;

int tw_mlp_new(const tw_mlp_shape *shape, uint64_t seed, tw_mlp **out, char *msg, size_t msgsz);
void tw_mlp_free(tw_mlp *m); /* NULL is a no-op */
const tw_mlp_shape *tw_mlp_get_shape(const tw_mlp *m);

/* Y[B x nout] = f(X[B x nin]); B <= max_batch. */
int tw_mlp_forward(tw_mlp *m, const float *X, int B, float *Y);
/* One Adam step on the weighted mean squared error sum_b w_b |y_b - t_b|^2 / (sum w * nout);
 * w may be NULL (all ones). Writes the loss before the step into *loss. */
int tw_mlp_train_step(tw_mlp *m, const tw_adam *opt, const float *X, const float *T, const float *w, int B,
                      float *loss);

/* Output [B x nout] of the last forward pass or train step (before its update). */
const float *tw_mlp_output(const tw_mlp *m);

/* Flat parameter access (for saving and loading): count, and pointers to the contiguous array. */
size_t tw_mlp_nparams(const tw_mlp *m);
float *tw_mlp_params(tw_mlp *m);
/* Gradient of the loss from the last tw_mlp_train_step (before its update), nparams values. */
const float *tw_mlp_grads(const tw_mlp *m);
/* Floating-point operations of one forward+backward pass at batch B (for the benchmark). */
double tw_mlp_train_flops(const tw_mlp *m, int B);

#endif
