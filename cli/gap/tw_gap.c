/* tw gap: simgen once, then per ratio fuse, per budget train + evaluate; the physics gap from
 * replay of the real episodes; gap.json and gap.html. */
#include "tw_gap.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw_dataset.h"
#include "tw_gap_int.h"
#include "tw_wm.h"

void tw_gap_opts_init(tw_gap_opts *o)
{
    memset(o, 0, sizeof *o);
    static const double ratios[] = {0, 1, 4, 16, INFINITY};
    memcpy(o->ratios, ratios, sizeof ratios);
    o->nratios = 5;
    o->budgets[0] = 0;
    o->nbudgets = 1;
    o->sim_episodes = 16;
    o->sim_duration_s = 10;
    o->split[0] = 0.6;
    o->split[1] = 0.2;
    o->split[2] = 0.2;
    o->seed = 1;
    o->epochs = 12;
    o->epoch_samples = 20000;
    o->eval_horizon_s = 0.1;
    o->jobs = 0;
    o->strategies = TW_GAP_MIX;
    o->min_test_episodes = TW_GAP_MIN_TEST_EPISODES;
    o->plan_episodes = 20;
    o->seeds = 1;
}

void tw_gap_ratio_label(double r, char *buf, size_t n)
{
    if (r == 0)
        snprintf(buf, n, "real_only");
    else if (isinf(r))
        snprintf(buf, n, "sim_only");
    else
        snprintf(buf, n, "1:%g", r);
}


/* The dynamics error: the relative RMSE (tw_wm.h) of joint velocities one step ahead, i.e. the
 * model's acceleration error over the accelerations themselves. Velocities because their change is
 * what damping, friction, gain and payload set (positions integrate velocities whatever the
 * physics); relative because an absolute error shrinks with how little a (say, heavily damped) robot
 * moves; one step because a rollout also compounds the model's own errors. */
double tw_gap_dynamics(const tw_wm_domain_eval *d)
{
    return d->one_step_rel[TW_GRP_JOINT_VEL];
}

static int make_sim(const tw_gap_opts *o, char *msg, size_t msgsz)
{
    tw_simgen_opts so;
    tw_simgen_opts_init(&so);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/sim", o->out_dir);
    so.model_path = o->model_path;
    so.out_dir = dir;
    so.randomize_path = o->randomize_path;
    so.seed = o->seed;
    so.episodes = o->sim_episodes;
    so.duration_s = o->sim_duration_s;
    so.jobs = o->jobs;
    so.progress = o->progress;
    so.progress_user = o->progress_user;
    tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: simulating %u randomized episodes of %g s into %s",
                    o->sim_episodes, o->sim_duration_s, dir);
    uint64_t steps = 0;
    return tw_simgen_run(&so, &steps, msg, msgsz);
}

static int fuse_ratio(const tw_gap_opts *o, double r, const char *dir, char *msg, size_t msgsz)
{
    tw_fuse_opts fo;
    tw_fuse_opts_init(&fo);
    char sim[1100];
    snprintf(sim, sizeof sim, "%s/sim", o->out_dir);
    for (size_t i = 0; i < o->nreal; i++)
        fo.real[i] = o->real[i];
    fo.nreal = o->nreal;
    fo.sim[0] = sim;
    fo.nsim = 1;
    fo.ratio_real = isinf(r) ? 0 : 1;
    fo.ratio_sim = isinf(r) ? 1 : r;
    memcpy(fo.frac, o->split, sizeof fo.frac);
    fo.seed = o->seed;
    fo.out_dir = dir;
    fo.model_path = o->model_path;
    fo.progress = NULL;
    tw_fuse_result res;
    return tw_fuse_run(&fo, &res, msg, msgsz);
}

double tw_gap_wm_dt(const tw_gap_opts *o) { return o->dt > 0 ? o->dt : o->closed_loop ? 0.04 : 0; }
#define wm_dt tw_gap_wm_dt

void tw_gap_train_opts(const tw_gap_opts *o, int budget, const char *init, tw_wm_train_opts *to)
{
    tw_wm_train_opts_init(to);
    to->seed = o->seed;
    to->epochs = o->epochs;
    to->samples_per_epoch = o->epoch_samples;
    to->real_budget = budget;
    to->dt = wm_dt(o);
    to->rollout_steps = o->rollout_steps;
    to->init_dir = init;
    if (init) /* fine-tuning: more patience, the real validation split picks the epoch count */
        to->patience = o->epochs;
}

/* One model of a run: trained with `seed` into dir (fine-tuned from init when given), then evaluated. */
static int train_one(const tw_gap_opts *o, gap_result *g, const char *fused, const char *init, int budget,
                     uint64_t seed, const char *dir, tw_wm_train_result *tr, tw_wm_eval_result *ev, char *msg,
                     size_t msgsz)
{
    tw_wm_train_opts to;
    tw_gap_train_opts(o, budget, init, &to);
    to.seed = seed;
    int rc = tw_wm_train(fused, dir, &to, tr, msg, msgsz);
    double h[3] = {0.01, o->eval_horizon_s, 0.5};
    return rc ? rc : tw_wm_eval(dir, fused, h, 3, g->slide, ev, msg, msgsz);
}

/* A run's model, and with --seeds K its seeds 1..K-1 into MODEL_DIR-seedK (fine-tuning starts from the
 * pre-trained model of the same seed), evaluated the same way: for the intervals over seeds. */
static int train_eval(const tw_gap_opts *o, gap_result *g, const char *fused, const char *init, gap_cell *c,
                      char *msg, size_t msgsz)
{
    tw_wm_train_result tr;
    int rc = train_one(o, g, fused, init, c->budget, o->seed, c->model_dir, &tr, &c->ev, msg, msgsz);
    if (rc)
        return rc;
    c->real_episodes = tr.real_episodes;
    c->train_samples_per_s = tr.samples_per_s;
    if (o->seeds > 1 && !(c->seed_ev = calloc((size_t)o->seeds - 1, sizeof *c->seed_ev)))
        return tw_errf(msg, msgsz, TW_ENOMEM, "gap: out of memory");
    for (int k = 1; k < o->seeds && !rc; k++) {
        char dir[1300], from[1300];
        snprintf(dir, sizeof dir, "%s-seed%d", c->model_dir, k);
        snprintf(from, sizeof from, "%s-seed%d", init ? init : "", k);
        rc = train_one(o, g, fused, init ? from : NULL, c->budget, o->seed + (uint64_t)k, dir, &tr,
                       &c->seed_ev[k - 1], msg, msgsz);
        c->nseed = rc ? c->nseed : k + 1;
    }
    return rc;
}

static void cell_done(const tw_gap_opts *o, gap_cell *c)
{
    c->headline = c->ev.real.rollout_rmse[1][TW_GRP_JOINT_POS];
    tw_progress_say(o->progress, o->progress_user, "gap", 0, 0,
                    "gap: %s: real-test hinge-position error at %g s: %.4g rad; dynamics error %.3f", c->label,
                    o->eval_horizon_s, c->headline, tw_gap_dynamics(&c->ev.real));
}

/* Fine-tuning: the sim-only model of each budget trained further on the real-only data. */
static int run_finetune(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    int nmix = g->ncells;
    for (int b = 0; b < o->nbudgets; b++) {
        const gap_cell *pre = NULL, *real = NULL;
        for (int i = 0; i < nmix; i++)
            if (g->cells[i].budget == o->budgets[b]) {
                if (isinf(g->cells[i].ratio))
                    pre = &g->cells[i];
                if (g->cells[i].ratio == 0)
                    real = &g->cells[i];
            }
        if (!pre || !real)
            return tw_errf(msg, msgsz, TW_EINVAL, "gap: --strategies finetune needs the ratios 0 and inf");
        gap_cell *c = &g->cells[g->ncells++];
        c->ratio = INFINITY;
        c->strategy = TW_GAP_FINETUNE;
        c->budget = o->budgets[b];
        snprintf(c->label, sizeof c->label, "finetune");
        char fused[1200];
        snprintf(fused, sizeof fused, "%.1100s", real->model_dir);
        *strrchr(fused, '/') = 0;
        snprintf(c->model_dir, sizeof c->model_dir, "%.1100s/model-finetune-b%d", fused, c->budget);
        tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: finetune: the sim-only model on real data");
        int rc = train_eval(o, g, fused, pre->model_dir, c, msg, msgsz);
        if (rc)
            return rc;
        cell_done(o, c);
    }
    return 0;
}

static int run_cells(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    for (int i = 0; i < o->nratios; i++) {
        char label[32], fused[1100];
        tw_gap_ratio_label(o->ratios[i], label, sizeof label);
        snprintf(fused, sizeof fused, "%s/fused-%s", o->out_dir, label);
        for (char *p = fused + strlen(o->out_dir); *p; p++)
            if (*p == ':')
                *p = '_';
        tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: ratio %s: fusing", label);
        int rc = fuse_ratio(o, o->ratios[i], fused, msg, msgsz);
        if (rc)
            return rc;
        if (i == 0) {
            snprintf(g->first_fused, sizeof g->first_fused, "%s", fused);
            if ((rc = tw_gap_check_split(o, g, msg, msgsz)) || (rc = tw_gap_slide_mask(o, g, msg, msgsz)))
                return rc;
        }
        for (int b = 0; b < o->nbudgets; b++) {
            gap_cell *c = &g->cells[g->ncells++];
            c->ratio = o->ratios[i];
            c->strategy = TW_GAP_MIX;
            c->budget = o->budgets[b];
            snprintf(c->label, sizeof c->label, "%s", label);
            snprintf(c->model_dir, sizeof c->model_dir, "%.1100s/model-b%d", fused, c->budget);
            tw_progress_say(o->progress, o->progress_user, "gap", 0, 0, "gap: ratio %s, real budget %s: training",
                            label, c->budget ? "limited" : "all");
            if ((rc = train_eval(o, g, fused, NULL, c, msg, msgsz)))
                return rc;
            cell_done(o, c);
        }
    }
    int rc = (o->strategies & TW_GAP_FINETUNE) ? run_finetune(o, g, msg, msgsz) : 0;
    return !rc && (o->strategies & TW_GAP_RESIDUAL) ? tw_gap_residual(o, g, msg, msgsz) : rc;
}

static int check_out(const char *dir, char *msg, size_t msgsz)
{
    char p[1100];
    struct stat st;
    if (mkdir(dir, 0777) && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "%s: cannot create: %s", dir, strerror(errno));
    snprintf(p, sizeof p, "%s/sim", dir);
    if (!stat(p, &st))
        return tw_errf(msg, msgsz, TW_EINVAL, "%s already holds a gap run (sim/); choose a new --out", dir);
    return 0;
}

int tw_gap_run(const tw_gap_opts *o, char *msg, size_t msgsz)
{
    if (!o->nreal || !o->model_path || !o->out_dir || o->nratios < 1 || o->nbudgets < 1)
        return tw_errf(msg, msgsz, TW_EINVAL, "gap: --real, --model and --out are required");
    if (o->seeds < 1 || o->seeds > TW_GAP_MAX_SEEDS)
        return tw_errf(msg, msgsz, TW_EINVAL, "gap: --seeds must be 1..%d, got %d", TW_GAP_MAX_SEEDS, o->seeds);
    if ((o->strategies & TW_GAP_RESIDUAL) && !o->closed_loop)
        return tw_errf(msg, msgsz, TW_EINVAL, "gap: the residual strategy is measured in the closed loop only: add "
                       "--closed-loop (its open-loop evaluation would need the physics inside tw wm eval)");
    if (o->closed_loop && !o->truth_path)
        return tw_errf(msg, msgsz, TW_EINVAL, "gap: --closed-loop needs --truth (the real robot's perturbation)");
    gap_result *g = calloc(1, sizeof *g);
    if (!g)
        return tw_errf(msg, msgsz, TW_ENOMEM, "gap: out of memory");
    int rc;
    if ((rc = check_out(o->out_dir, msg, msgsz)) || (rc = make_sim(o, msg, msgsz)) ||
        (rc = run_cells(o, g, msg, msgsz)) || (rc = tw_gap_physics(o, g, msg, msgsz)))
        goto out;
    if (o->truth_path) { /* before the fit: its planted values come from here when given */
        tw_perturb t;
        if ((rc = tw_plan_perturb_load(o->truth_path, &t, msg, msgsz)))
            goto out;
        g->truth = tw_perturb_to_json(&t);
    }
    if (o->fit && (rc = tw_gap_fit(o, g, msg, msgsz)))
        goto out;
    if (o->closed_loop && (rc = tw_gap_closed_loop(o, g, msg, msgsz)))
        goto out;
    if ((rc = tw_gap_write_json(o, g, msg, msgsz)) || (rc = tw_gap_write_html(o, g, msg, msgsz)))
        goto out;
out:
    tw_gap_result_free(g);
    return rc;
}
