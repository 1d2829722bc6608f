/* MLP with tanh hidden units, linear output; forward/backward via cblas_sgemm. */
#include "tw_mlp.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tw_mlp {
    tw_mlp_shape shape;
    int nlin;                       /* linear layers */
    int in[TW_MLP_MAX_LAYERS + 1];  /* fan-in per linear layer */
    int out[TW_MLP_MAX_LAYERS + 1]; /* fan-out per linear layer */
    size_t woff[TW_MLP_MAX_LAYERS + 1], boff[TW_MLP_MAX_LAYERS + 1];
    size_t nparams;
    float *p, *g, *m1, *m2; /* params, grads, Adam moments (nparams each) */
    float *act[TW_MLP_MAX_LAYERS + 2]; /* act[0] = input copy, act[l+1] = output of layer l */
    float *delta, *delta2;              /* backprop scratch, max_batch x widest */
    uint64_t step;
};

void tw_adam_init(tw_adam *a)
{
    a->lr = 1e-3f;
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->weight_decay = 0.f;
}

/* splitmix64 (core) is enough for weight init. */
static double uniform01(uint64_t *s) { return (double)(tw_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0); }

static void init_weights(tw_mlp *m, uint64_t seed)
{
    uint64_t s = seed ^ 0x5eedf00dull;
    for (int l = 0; l < m->nlin; l++) {
        /* Glorot-uniform keeps tanh units out of saturation at the start. */
        double a = sqrt(6.0 / (m->in[l] + m->out[l]));
        float *w = m->p + m->woff[l];
        for (int i = 0; i < m->in[l] * m->out[l]; i++)
            w[i] = (float)((2.0 * uniform01(&s) - 1.0) * a);
        memset(m->p + m->boff[l], 0, sizeof(float) * (size_t)m->out[l]);
    }
}

int tw_mlp_new(const tw_mlp_shape *shape, uint64_t seed, tw_mlp **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (shape->nin <= 0 || shape->nout <= 0 || shape->nhidden <= 0 || shape->nlayers < 1 ||
        shape->nlayers > TW_MLP_MAX_LAYERS || shape->max_batch <= 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "mlp: bad shape (in %d, out %d, hidden %d x %d, batch %d)",
                       shape->nin, shape->nout, shape->nhidden, shape->nlayers, shape->max_batch);
    tw_mlp *m = calloc(1, sizeof *m);
    if (!m)
        return tw_errf(msg, msgsz, TW_ENOMEM, "mlp: out of memory");
    openblas_set_num_threads(1);
    m->shape = *shape;
    m->nlin = shape->nlayers + 1;
    int widest = shape->nin > shape->nout ? shape->nin : shape->nout;
    if (shape->nhidden > widest)
        widest = shape->nhidden;
    for (int l = 0; l < m->nlin; l++) {
        m->in[l] = l == 0 ? shape->nin : shape->nhidden;
        m->out[l] = l == m->nlin - 1 ? shape->nout : shape->nhidden;
        m->woff[l] = m->nparams;
        m->nparams += (size_t)m->in[l] * m->out[l];
        m->boff[l] = m->nparams;
        m->nparams += (size_t)m->out[l];
    }
    size_t B = (size_t)shape->max_batch;
    int ok = (m->p = calloc(m->nparams, sizeof(float))) && (m->g = calloc(m->nparams, sizeof(float))) &&
             (m->m1 = calloc(m->nparams, sizeof(float))) && (m->m2 = calloc(m->nparams, sizeof(float))) &&
             (m->delta = calloc(B * widest, sizeof(float))) && (m->delta2 = calloc(B * widest, sizeof(float)));
    for (int l = 0; ok && l <= m->nlin; l++)
        ok = (m->act[l] = calloc(B * (size_t)(l == 0 ? m->in[0] : m->out[l - 1]), sizeof(float))) != NULL;
    if (!ok) {
        tw_mlp_free(m);
        return tw_errf(msg, msgsz, TW_ENOMEM, "mlp: out of memory for %zu parameters", m->nparams);
    }
    init_weights(m, seed);
    *out = m;
    return 0;
}

void tw_mlp_free(tw_mlp *m)
{
    if (!m)
        return;
    free(m->p);
    free(m->g);
    free(m->m1);
    free(m->m2);
    free(m->delta);
    free(m->delta2);
    for (int l = 0; l <= TW_MLP_MAX_LAYERS + 1; l++)
        free(m->act[l]);
    free(m);
}

const tw_mlp_shape *tw_mlp_get_shape(const tw_mlp *m) { return &m->shape; }
size_t tw_mlp_nparams(const tw_mlp *m) { return m->nparams; }
float *tw_mlp_params(tw_mlp *m) { return m->p; }
const float *tw_mlp_grads(const tw_mlp *m) { return m->g; }
const float *tw_mlp_output(const tw_mlp *m) { return m->act[m->nlin]; }

double tw_mlp_train_flops(const tw_mlp *m, int B)
{
    double f = 0;
    for (int l = 0; l < m->nlin; l++)
        f += 2.0 * B * m->in[l] * m->out[l] * 3.0; /* forward, weight grad, input grad */
    return f;
}

/* tanh as a rational function (the minimax approximation Eigen uses for float, clamped where float
 * tanh is +-1 to within rounding): within 4e-7 of tanh, no libm call, so the compiler vectorises the
 * loop; glibc's tanhf (or one expf per unit) costs as much as a layer's sgemm at the planner's batch. */
static void tanh_inplace(float *z, size_t n)
{
    const float c = 7.90531110763549805f;
    for (size_t i = 0; i < n; i++) {
        float x = z[i] > c ? c : (z[i] < -c ? -c : z[i]), x2 = x * x;
        float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
        p = x2 * p + -8.60467152213735e-11f;
        p = x2 * p + 5.12229709037114e-08f;
        p = x2 * p + 1.48572235717979e-05f;
        p = x2 * p + 6.37261928875436e-04f;
        p = x2 * p + 4.89352455891786e-03f;
        float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
        q = x2 * q + 2.26843463243900e-03f;
        q = x2 * q + 4.89352518554385e-03f;
        z[i] = x * p / q;
    }
}

/* Runs the layers, keeping every activation for the backward pass. */
static void forward_keep(tw_mlp *m, const float *X, int B)
{
    memcpy(m->act[0], X, sizeof(float) * (size_t)B * m->in[0]);
    for (int l = 0; l < m->nlin; l++) {
        const float *A = m->act[l], *W = m->p + m->woff[l], *b = m->p + m->boff[l];
        float *Z = m->act[l + 1];
        int o = m->out[l];
        for (int r = 0; r < B; r++)
            memcpy(Z + (size_t)r * o, b, sizeof(float) * (size_t)o);
        /* Z[B x o] += A[B x in] * W[o x in]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, o, m->in[l], 1.f, A, m->in[l], W, m->in[l], 1.f,
                    Z, o);
        if (l < m->nlin - 1)
            tanh_inplace(Z, (size_t)B * o);
    }
}

int tw_mlp_forward(tw_mlp *m, const float *X, int B, float *Y)
{
    if (B <= 0 || B > m->shape.max_batch)
        return TW_EINVAL;
    forward_keep(m, X, B);
    memcpy(Y, m->act[m->nlin], sizeof(float) * (size_t)B * m->shape.nout);
    return 0;
}

/* Output-layer delta of the weighted MSE; returns the loss. */
static float output_delta(tw_mlp *m, const float *T, const float *w, int B)
{
    int o = m->shape.nout;
    const float *Y = m->act[m->nlin];
    double wsum = 0, loss = 0;
    for (int r = 0; r < B; r++)
        wsum += w ? w[r] : 1.0;
    if (wsum <= 0)
        wsum = 1;
    float scale = (float)(2.0 / (wsum * o));
    for (int r = 0; r < B; r++) {
        float wr = w ? w[r] : 1.f;
        for (int j = 0; j < o; j++) {
            float e = Y[(size_t)r * o + j] - T[(size_t)r * o + j];
            loss += (double)wr * e * e;
            m->delta[(size_t)r * o + j] = scale * wr * e;
        }
    }
    return (float)(loss / (wsum * o));
}

static void backward(tw_mlp *m, int B)
{
    for (int l = m->nlin - 1; l >= 0; l--) {
        int in = m->in[l], o = m->out[l];
        float *gW = m->g + m->woff[l], *gb = m->g + m->boff[l];
        /* gW[o x in] = delta^T[o x B] * A[B x in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, in, B, 1.f, m->delta, o, m->act[l], in, 0.f, gW,
                    in);
        memset(gb, 0, sizeof(float) * (size_t)o);
        for (int r = 0; r < B; r++)
            for (int j = 0; j < o; j++)
                gb[j] += m->delta[(size_t)r * o + j];
        if (l == 0)
            break;
        /* delta2[B x in] = delta[B x o] * W[o x in], then through tanh' = 1 - a^2 */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, o, 1.f, m->delta, o, m->p + m->woff[l], in,
                    0.f, m->delta2, in);
        const float *A = m->act[l];
        for (size_t i = 0; i < (size_t)B * in; i++)
            m->delta2[i] *= 1.f - A[i] * A[i];
        float *t = m->delta;
        m->delta = m->delta2;
        m->delta2 = t;
    }
}

static void adam_update(tw_mlp *m, const tw_adam *a)
{
    m->step++;
    double c1 = 1.0 - pow(a->beta1, (double)m->step), c2 = 1.0 - pow(a->beta2, (double)m->step);
    float lr = (float)(a->lr * sqrt(c2) / c1);
    for (size_t i = 0; i < m->nparams; i++) {
        float g = m->g[i] + a->weight_decay * m->p[i];
        m->m1[i] = a->beta1 * m->m1[i] + (1.f - a->beta1) * g;
        m->m2[i] = a->beta2 * m->m2[i] + (1.f - a->beta2) * g * g;
        m->p[i] -= lr * m->m1[i] / (sqrtf(m->m2[i]) + a->eps);
    }
}

int tw_mlp_train_step(tw_mlp *m, const tw_adam *opt, const float *X, const float *T, const float *w, int B,
                      float *loss)
{
    if (B <= 0 || B > m->shape.max_batch)
        return TW_EINVAL;
    forward_keep(m, X, B);
    float l = output_delta(m, T, w, B);
    if (!isfinite(l))
        return TW_ENUMERIC;
    backward(m, B);
    adam_update(m, opt);
    if (loss)
        *loss = l;
    return 0;
}
