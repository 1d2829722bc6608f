/* tw wm train: minibatch Adam on the train split, sampled by the fused weights, early stopping on val. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_core.h" /* tw_rng */
#include "tw_wm_int.h"

void tw_wm_train_opts_init(tw_wm_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->epochs = 40;
    o->patience = 6;
    o->batch = 256;
    o->hidden = 128;
    o->layers = 2;
    o->lr = 1e-3f;
    o->samples_per_epoch = 0;
}

typedef struct {
    const tw_fused_info *fi;
    tw_mlp *mlp;
    float *X, *T, *S, *Ac, *N, *W, *P; /* batch scratch; P: the states the model predicted */
    int batch;
} trainer;

static int trainer_init(trainer *t, const tw_fused_info *fi, tw_mlp *mlp, int batch)
{
    t->fi = fi;
    t->mlp = mlp;
    t->batch = batch;
    size_t S = (size_t)fi->S, A = (size_t)fi->A, B = (size_t)batch;
    t->X = malloc(B * (size_t)tw_wm_nin(fi) * sizeof(float));
    t->T = malloc(B * S * sizeof(float));
    t->S = malloc(B * S * sizeof(float));
    t->Ac = malloc(B * A * sizeof(float));
    t->N = malloc(B * S * sizeof(float));
    t->W = malloc(B * sizeof(float));
    t->P = malloc(B * S * sizeof(float));
    return t->X && t->T && t->S && t->Ac && t->N && t->W && t->P ? 0 : TW_ENOMEM;
}

static void trainer_free(trainer *t)
{
    free(t->X);
    free(t->T);
    free(t->S);
    free(t->Ac);
    free(t->N);
    free(t->W);
    free(t->P);
}

/* Multi-step training (--rollout-steps R): after the one-step update on the recorded states of the
 * batch, the batch is stepped on the model's own predictions and, at each of the next R-1 steps,
 * trained toward the recorded state from the predicted one. The gradient does not flow back through
 * the fed-back state (the "pushforward" simplification): the model learns to correct the states its
 * own errors lead to, at the price of one extra forward+backward per step. Rows whose episode ends
 * (or leaves the split) within R steps get weight 0 from there on. Adds the losses into *sum. */
static int rollout_train(trainer *t, const tw_fused_split *d, const tw_adam *adam, const size_t *idx, int B, int R,
                         double *sum, int *nsum)
{
    size_t S = (size_t)t->fi->S, A = (size_t)t->fi->A;
    tw_wm_apply(t->fi, t->S, tw_mlp_output(t->mlp), B, t->P);
    for (int r = 1; r < R; r++) {
        int live = 0;
        for (int b = 0; b < B; b++) {
            size_t i = idx[b] + (size_t)r;
            int ok = i < d->n && d->episode[i] == d->episode[idx[b]] && d->t[i] == d->t[idx[b]] + (uint32_t)r &&
                     (r == 1 || t->W[b] > 0);
            t->W[b] = ok ? 1.f : 0.f;
            live += ok;
            size_t src = ok ? i : idx[b];
            memcpy(t->Ac + b * A, d->action + src * A, A * sizeof(float));
            memcpy(t->N + b * S, d->next_state + src * S, S * sizeof(float));
        }
        if (!live)
            break;
        tw_wm_inputs(t->fi, t->P, t->Ac, B, t->X);
        tw_wm_targets(t->fi, t->P, t->N, B, t->T);
        float loss;
        if (tw_mlp_train_step(t->mlp, adam, t->X, t->T, t->W, B, &loss))
            return TW_ENUMERIC;
        *sum += loss;
        (*nsum)++;
        memcpy(t->S, t->P, (size_t)B * S * sizeof(float));
        tw_wm_apply(t->fi, t->S, tw_mlp_output(t->mlp), B, t->P);
    }
    return 0;
}

/* Gathers rows idx[0..B) of split d into the batch buffers and builds X and T. */
static void gather(trainer *t, const tw_fused_split *d, const size_t *idx, int B)
{
    size_t S = (size_t)t->fi->S, A = (size_t)t->fi->A;
    for (int b = 0; b < B; b++) {
        memcpy(t->S + b * S, d->state + idx[b] * S, S * sizeof(float));
        memcpy(t->N + b * S, d->next_state + idx[b] * S, S * sizeof(float));
        memcpy(t->Ac + b * A, d->action + idx[b] * A, A * sizeof(float));
        t->W[b] = d->weight[idx[b]];
    }
    tw_wm_inputs(t->fi, t->S, t->Ac, B, t->X);
    tw_wm_targets(t->fi, t->S, t->N, B, t->T);
}

/* Weighted mean loss of the split (weights as fused; uniform if they sum to zero). */
static double split_loss(trainer *t, const tw_fused_split *d)
{
    size_t idx[1024];
    double num = 0, den = 0;
    int B = t->batch < 1024 ? t->batch : 1024;
    float *Y = malloc((size_t)B * t->fi->S * sizeof(float));
    double wsum = 0;
    for (size_t i = 0; i < d->n; i++)
        wsum += d->weight[i];
    for (size_t s = 0; Y && s < d->n; s += (size_t)B) {
        int nb = (int)(d->n - s < (size_t)B ? d->n - s : (size_t)B);
        for (int b = 0; b < nb; b++)
            idx[b] = s + (size_t)b;
        gather(t, d, idx, nb);
        tw_mlp_forward(t->mlp, t->X, nb, Y);
        for (int b = 0; b < nb; b++) {
            double w = wsum > 0 ? t->W[b] : 1.0, e2 = 0;
            for (int j = 0; j < t->fi->S; j++) {
                double e = Y[(size_t)b * t->fi->S + j] - t->T[(size_t)b * t->fi->S + j];
                e2 += e * e;
            }
            num += w * e2 / t->fi->S;
            den += w;
        }
    }
    free(Y);
    return den > 0 ? num / den : NAN;
}

/* Keeps only the first `budget` real episodes of the split (in split order) and rescales their
 * weights so the real sampling mass, and with it the real:sim ratio, is unchanged.
 * Returns the number of real episodes kept. */
static int apply_real_budget(tw_fused_split *d, int budget)
{
    double mass = 0, kept_mass = 0;
    uint32_t kept[4096];
    int nkept = 0, seen_new;
    for (size_t i = 0; i < d->n; i++) {
        if (d->domain[i] != 0)
            continue;
        mass += d->weight[i];
        seen_new = 1;
        for (int k = 0; k < nkept; k++)
            seen_new &= kept[k] != d->episode[i];
        if (seen_new && nkept < 4096 && (budget <= 0 || nkept < budget))
            kept[nkept++] = d->episode[i];
        int keep = 0;
        for (int k = 0; k < nkept; k++)
            keep |= kept[k] == d->episode[i];
        if (keep)
            kept_mass += d->weight[i];
        else
            d->weight[i] = 0;
    }
    if (kept_mass > 0)
        for (size_t i = 0; i < d->n; i++)
            if (d->domain[i] == 0)
                d->weight[i] = (float)(d->weight[i] * (mass / kept_mass));
    return nkept;
}

/* Cumulative weights for sampling by weight (uniform when all weights are zero). */
static double *cumulative(const tw_fused_split *d)
{
    double *c = malloc(d->n * sizeof(double)), acc = 0;
    if (!c)
        return NULL;
    for (size_t i = 0; i < d->n; i++)
        acc += d->weight[i] > 0 ? d->weight[i] : 0;
    for (size_t i = 0; i < d->n; i++) {
        c[i] = (i ? c[i - 1] : 0) + (acc > 0 ? (d->weight[i] > 0 ? d->weight[i] : 0) : 1.0);
    }
    return c;
}

static size_t draw(const double *c, size_t n, tw_rng *r)
{
    double u = tw_rng_uniform(r) * c[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void loss_chart(const tw_wm_train_opts *o, const double *v, int n)
{
    static const char *bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    char line[1024];
    size_t len = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (v[i] > 0) {
            lo = fmin(lo, log(v[i]));
            hi = fmax(hi, log(v[i]));
        }
    len += (size_t)snprintf(line, sizeof line, "wm: validation loss by epoch (log scale) ");
    for (int i = 0; i < n && len + 8 < sizeof line; i++) {
        int k = hi > lo && v[i] > 0 ? (int)(7.999 * (log(v[i]) - lo) / (hi - lo)) : 0;
        len += (size_t)snprintf(line + len, sizeof line - len, "%s", bars[k]);
    }
    tw_progress_say(o->progress, o->progress_user, "wm", (uint64_t)n, (uint64_t)n, "%s  %.3g .. %.3g", line, exp(hi),
                    exp(lo));
}

typedef struct {
    tw_fused_info fi;
    tw_fused_split train, val;
    trainer tr;
    tw_mlp *mlp;
    double *cum;
    float *best;
} train_ctx;

static int train_loop(train_ctx *c, const tw_wm_train_opts *o, tw_wm_train_result *res)
{
    tw_adam adam;
    tw_adam_init(&adam);
    adam.lr = o->lr;
    tw_rng rng;
    tw_rng_seed2(&rng, o->seed, 0x77a1);
    size_t idx[4096], np = tw_mlp_nparams(c->mlp);
    uint64_t per_epoch = o->samples_per_epoch ? o->samples_per_epoch : c->train.n;
    int steps = (int)((per_epoch + (uint64_t)o->batch - 1) / (uint64_t)o->batch), since_best = 0;
    double t0 = tw_mono_s(), curve[1024];
    res->best_val_loss = INFINITY;
    for (int ep = 1; ep <= o->epochs && ep <= 1024; ep++) {
        double sum = 0, rsum = 0;
        int nr = 0;
        for (int s = 0; s < steps; s++) {
            for (int b = 0; b < o->batch; b++)
                idx[b] = draw(c->cum, c->train.n, &rng);
            gather(&c->tr, &c->train, idx, o->batch);
            float loss;
            /* Samples are already drawn in proportion to their weight: train unweighted. */
            if (tw_mlp_train_step(c->mlp, &adam, c->tr.X, c->tr.T, NULL, o->batch, &loss))
                return TW_ENUMERIC;
            sum += loss;
            res->samples_seen += (uint64_t)o->batch;
            if (o->rollout_steps > 1 &&
                rollout_train(&c->tr, &c->train, &adam, idx, o->batch, o->rollout_steps, &rsum, &nr))
                return TW_ENUMERIC;
        }
        double vl = c->val.n ? split_loss(&c->tr, &c->val) : sum / steps;
        curve[ep - 1] = vl;
        res->epochs_run = ep;
        res->final_train_loss = sum / steps;
        int improved = vl < res->best_val_loss;
        if (improved) {
            res->best_val_loss = vl;
            res->best_epoch = ep;
            memcpy(c->best, tw_mlp_params(c->mlp), np * sizeof(float));
            since_best = 0;
        } else
            since_best++;
        tw_progress_say(o->progress, o->progress_user, "wm", (uint64_t)ep, (uint64_t)o->epochs,
                        "wm: epoch %3d/%d  train %.5f  val %.5f%s  %.0f samples/s", ep, o->epochs,
                    sum / steps, vl, improved ? "  *" : "", res->samples_seen / (tw_mono_s() - t0));
        if (since_best >= o->patience)
            break;
    }
    res->samples_per_s = res->samples_seen / (tw_mono_s() - t0);
    res->epoch_s = (tw_mono_s() - t0) / res->epochs_run;
    memcpy(tw_mlp_params(c->mlp), c->best, np * sizeof(float));
    if (o->progress)
        loss_chart(o, curve, res->epochs_run);
    return 0;
}

/* Fine-tuning (--init): the normalisation of the starting model, so its weights mean what they meant;
 * shape and period must match. Copies its parameters into c->mlp when c->mlp is set. */
static int load_init(train_ctx *c, const char *dir, int k, tw_wm_model *im, char *msg, size_t msgsz)
{
    int rc = tw_wm_model_load(dir, 1, im, msg, msgsz);
    if (rc)
        return rc;
    if (im->fi.S != c->fi.S || im->fi.A != c->fi.A || im->steps != k)
        return tw_errf(msg, msgsz, TW_EMISMATCH,
                       "wm train: --init %s has state %d, action %d, %d steps per prediction; the data and --dt "
                       "give %d, %d, %d", dir, im->fi.S, im->fi.A, im->steps, c->fi.S, c->fi.A, k);
    tw_fused_info keep = c->fi;
    c->fi = im->fi;
    memcpy(c->fi.dir, keep.dir, sizeof c->fi.dir);
    c->fi.rate_hz = keep.rate_hz;
    c->fi.H = keep.H;
    c->fi.seed = keep.seed;
    return 0;
}

/* Loads the splits cut to the prediction period; returns timeline steps per prediction in *k. */
static int load_data(train_ctx *c, const char *data_dir, const tw_wm_train_opts *o, int *k, char *msg,
                     size_t msgsz)
{
    int rc;
    if ((rc = tw_fused_info_load(data_dir, &c->fi, msg, msgsz)) ||
        (rc = tw_fused_split_load(&c->fi, "train", &c->train, msg, msgsz)) ||
        (rc = tw_fused_split_load(&c->fi, "val", &c->val, msg, msgsz)))
        return rc;
    *k = o->dt > 0 ? (int)lround(o->dt * c->fi.rate_hz) : 1;
    if (*k < 1 || *k > 10000)
        return tw_errf(msg, msgsz, TW_EINVAL, "wm train: --dt %g s is not 1..10000 steps of the %g Hz timeline", o->dt,
                       c->fi.rate_hz);
    if (tw_fused_split_stride(&c->train, &c->fi, *k) || tw_fused_split_stride(&c->val, &c->fi, *k))
        return tw_errf(msg, msgsz, TW_ENOMEM, "wm train: out of memory cutting %d-step periods", *k);
    if (o->residual && ((rc = o->residual(o->residual_user, &c->fi, &c->train, *k, msg, msgsz)) ||
                        (rc = o->residual(o->residual_user, &c->fi, &c->val, *k, msg, msgsz))))
        return rc;
    return 0;
}

int tw_wm_train(const char *data_dir, const char *out_dir, const tw_wm_train_opts *o, tw_wm_train_result *res,
                char *msg, size_t msgsz)
{
    memset(res, 0, sizeof *res);
    if (o->batch < 1 || o->batch > 4096 || o->epochs < 1 || o->hidden < 1 || o->layers < 1 || o->rollout_steps < 0 ||
        o->rollout_steps > 64)
        return tw_errf(msg, msgsz, TW_EINVAL,
                       "wm train: batch must be 1..4096, epochs/hidden/layers >= 1, rollout steps 0..64");
    train_ctx c;
    memset(&c, 0, sizeof c);
    tw_wm_model im = {0};
    int rc, k = 1, hidden = o->hidden, layers = o->layers;
    if ((rc = load_data(&c, data_dir, o, &k, msg, msgsz)))
        goto out;
    res->steps = k;
    res->real_episodes = apply_real_budget(&c.train, o->real_budget);
    if (c.train.n == 0) {
        rc = tw_errf(msg, msgsz, TW_EINVAL, "%s: the train split has no samples (at --dt %g)", data_dir, o->dt);
        goto out;
    }
    if (o->init_dir) {
        if ((rc = load_init(&c, o->init_dir, k, &im, msg, msgsz)))
            goto out;
        hidden = im.hidden;
        layers = im.layers;
    } else {
        tw_wm_tracking_pairs(&c.fi);
        tw_wm_tracking_stats(&c.fi, c.train.state, c.train.action, c.train.n);
        if (k > 1 || o->residual) /* the manifest describes one-step deltas of the recorded states only */
            tw_wm_delta_stats(&c.fi, c.train.state, c.train.next_state, c.train.n);
    }
    tw_mlp_shape sh = {.nin = tw_wm_nin(&c.fi), .nout = c.fi.S, .nhidden = hidden, .nlayers = layers,
                       .max_batch = o->batch > 1024 ? o->batch : 1024};
    if ((rc = tw_mlp_new(&sh, o->seed, &c.mlp, msg, msgsz)))
        goto out;
    if (im.mlp)
        memcpy(tw_mlp_params(c.mlp), tw_mlp_params(im.mlp), tw_mlp_nparams(c.mlp) * sizeof(float));
    c.cum = cumulative(&c.train);
    c.best = malloc(tw_mlp_nparams(c.mlp) * sizeof(float));
    if (!c.cum || !c.best || trainer_init(&c.tr, &c.fi, c.mlp, sh.max_batch)) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "wm train: out of memory");
        goto out;
    }
    tw_progress_say(o->progress, o->progress_user, "wm", 0, 0,
                    "wm: %zu train / %zu val samples of %d step(s), state %d, action %d, MLP %d x %d tanh%s",
                    c.train.n, c.val.n, k, c.fi.S, c.fi.A, layers, hidden, o->init_dir ? ", fine-tuning" : "");
    if ((rc = train_loop(&c, o, res))) {
        tw_errf(msg, msgsz, rc, "wm train: loss became non-finite (lower --lr?)");
        goto out;
    }
    char tj[1600];
    snprintf(tj, sizeof tj,
             "{\"seed\": %llu, \"epochs_run\": %d, \"best_epoch\": %d, \"best_val_loss\": %.17g, "
             "\"batch\": %d, \"lr\": %.9g, \"train_samples\": %zu, \"val_samples\": %zu, "
             "\"real_train_episodes\": %d, \"rollout_steps\": %d, \"init\": \"%s\", \"residual_of\": \"%s\"}",
             (unsigned long long)o->seed, res->epochs_run, res->best_epoch, res->best_val_loss, o->batch, o->lr,
             c.train.n, c.val.n, res->real_episodes, o->rollout_steps > 1 ? o->rollout_steps : 1,
             o->init_dir && !strpbrk(o->init_dir, "\"\\") ? o->init_dir : "",
             o->residual_of && !strpbrk(o->residual_of, "\"\\") ? o->residual_of : "");
    tw_wm_model m = {.fi = c.fi, .mlp = c.mlp, .hidden = hidden, .layers = layers, .steps = k};
    rc = tw_wm_model_save(&m, out_dir, tj, msg, msgsz);
out:
    tw_wm_model_free(&im);
    trainer_free(&c.tr);
    free(c.cum);
    free(c.best);
    tw_mlp_free(c.mlp);
    tw_fused_split_free(&c.train);
    tw_fused_split_free(&c.val);
    return rc;
}
