/* tw wm train | eval — baseline world model on a fused dataset. */
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_cli.h"
#include "tw_wm.h"

int tw_wm_plan_main(int argc, char **argv); /* cmd_wm_plan.c */

static const char train_usage[] =
    "usage: tw wm train --data FUSED_DIR --out MODEL_DIR [--seed S] [--epochs E] [options]\n"
    "\n"
    "Trains an MLP that predicts the state change from (state, action) on the train split of a\n"
    "fused dataset (tw fuse), drawing real and sim samples by the fused weights, with early\n"
    "stopping on the validation split. Writes MODEL_DIR/model.json and weights.f32 (schemas/model.md).\n"
    "\n"
    "  --data DIR      fused dataset (manifest.json + shards)\n"
    "  --out DIR       model folder to write (created)\n"
    "  --seed S        seed for initialisation and sampling (default 1); same seed, same model\n"
    "  --epochs E      at most E epochs (default 40)\n"
    "  --patience P    stop after P epochs without validation improvement (default 6)\n"
    "  --batch B       minibatch size (default 256)\n"
    "  --hidden N      hidden width (default 128)\n"
    "  --layers L      hidden layers (default 2)\n"
    "  --lr X          Adam learning rate (default 1e-3)\n"
    "  --epoch-samples N  samples per epoch (default: the train split size)\n"
    "  --dt S          seconds per prediction, a whole number of timeline steps (default: one step);\n"
    "                  a control period of several 2 ms steps averages out sensor noise\n"
    "  --rollout-steps R  also train on R-step rollouts of the model's own predictions (default 1)\n"
    "  --init DIR      fine-tune: start from this model's weights and normalisation\n"
    "  --ensemble K    train K members (seeds S..S+K-1) into DIR/member-0 ... member-K-1; tw wm plan\n"
    "                  plans with their mean and reports their spread as the model's uncertainty\n"
    "  --quiet         no progress lines\n";

static const char eval_usage[] =
    "usage: tw wm eval --model MODEL_DIR --data FUSED_DIR [--json] [--horizons S,S,...]\n"
    "\n"
    "Evaluates on the held-out test split, real and sim episodes separately: one-step error and\n"
    "open-loop rollout error (the model's own predictions fed back, recorded actions applied) at\n"
    "each horizon, per feature group (joint positions, velocities, end effector), in original units.\n"
    "In brackets (JSON: relative_rmse), the RMSE over that of a physics-free baseline on the same\n"
    "samples: positions at constant velocity, everything else held (velocities at zero acceleration);\n"
    "1 = no better than ignoring the dynamics, and comparable across robots that move more or less.\n"
    "\n"
    "  --model DIR     model folder from tw wm train\n"
    "  --data DIR      fused dataset\n"
    "  --horizons LIST rollout horizons in seconds (default 0.01,0.1,0.5,1)\n"
    "  --json          print the result as JSON\n";

static int wm_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", 1, 0, 'd'}, {"out", 1, 0, 'o'}, {"seed", 1, 0, 's'}, {"epochs", 1, 0, 'e'},
        {"patience", 1, 0, 'p'}, {"batch", 1, 0, 'b'}, {"hidden", 1, 0, 'H'}, {"layers", 1, 0, 'L'},
        {"lr", 1, 0, 'r'}, {"epoch-samples", 1, 0, 'n'}, {"dt", 1, 0, 't'}, {"rollout-steps", 1, 0, 'R'},
        {"init", 1, 0, 'i'}, {"ensemble", 1, 0, 'K'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    tw_wm_train_opts o;
    tw_wm_train_opts_init(&o);
    o.progress = tw_cli_progress;
    const char *data = NULL, *out = NULL;
    int c, members = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'o': out = optarg; break;
        case 's': o.seed = strtoull(optarg, NULL, 10); break;
        case 'e': o.epochs = atoi(optarg); break;
        case 'p': o.patience = atoi(optarg); break;
        case 'b': o.batch = atoi(optarg); break;
        case 'H': o.hidden = atoi(optarg); break;
        case 'L': o.layers = atoi(optarg); break;
        case 'r': o.lr = strtof(optarg, NULL); break;
        case 'n': o.samples_per_epoch = strtoull(optarg, NULL, 10); break;
        case 't': o.dt = strtod(optarg, NULL); break;
        case 'R': o.rollout_steps = atoi(optarg); break;
        case 'i': o.init_dir = optarg; break;
        case 'K': members = atoi(optarg); break;
        case 'q': o.progress = NULL; break;
        case 'h': fputs(train_usage, stdout); return 0;
        default: fputs(train_usage, stderr); return 2;
        }
    }
    if (!data || !out || optind < argc) {
        fprintf(stderr, "tw wm train: --data and --out are required\n%s", train_usage);
        return 2;
    }
    if (members < 1 || members > 8) {
        fprintf(stderr, "tw wm train: --ensemble wants 1..8 members\n");
        return 2;
    }
    if (members > 1 && mkdir(out, 0777) && errno != EEXIST) {
        fprintf(stderr, "tw wm train: %s: %s\n", out, strerror(errno));
        return 1;
    }
    uint64_t seed0 = o.seed;
    for (int k = 0; k < members; k++) {
        tw_wm_train_result r;
        char msg[512], dir[1100];
        snprintf(dir, sizeof dir, members > 1 ? "%s/member-%d" : "%s", out, k);
        o.seed = seed0 + (uint64_t)k;
        if (tw_wm_train(data, dir, &o, &r, msg, sizeof msg)) {
            fprintf(stderr, "tw wm train: %s\n", msg);
            return 1;
        }
        printf("model: %s (best epoch %d of %d, validation loss %.5g, %.0f samples/s, %.3g s per epoch)\n", dir,
               r.best_epoch, r.epochs_run, r.best_val_loss, r.samples_per_s, r.epoch_s);
    }
    return 0;
}

static int parse_horizons(const char *s, double *h)
{
    int n = 0;
    char *end;
    while (*s && n < TW_WM_MAX_HORIZONS) {
        h[n] = strtod(s, &end);
        if (end == s || !(h[n] > 0))
            return -1;
        n++;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return *s ? -1 : n;
}

/* One table row: per present group, the RMSE and, in brackets, the relative RMSE. */
static void print_row(const tw_wm_domain_eval *d, const double *rmse, const double *rel)
{
    for (int k = 0; k < TW_GRP__COUNT; k++)
        if (isfinite(d->one_step_rmse[k]))
            printf(" %12.5g (%5.3f)", rmse[k], rel[k]);
}

static void print_domain(const char *name, const tw_wm_domain_eval *d)
{
    printf("%s test: %zu samples\n", name, d->samples);
    if (!d->samples)
        return;
    printf("  %-10s", "horizon");
    for (int k = 0; k < TW_GRP__COUNT; k++)
        if (isfinite(d->one_step_rmse[k]))
            printf(" %20s", tw_wm_group_names[k]);
    printf("\n  %-10s", "one step");
    print_row(d, d->one_step_rmse, d->one_step_rel);
    printf("\n");
    for (int h = 0; h < d->nhorizons; h++) {
        printf("  %-8gs ", d->horizon_s[h]);
        print_row(d, d->rollout_rmse[h], d->rollout_rel[h]);
        printf("   (%zu rollouts)\n", d->rollouts[h]);
    }
}

static int wm_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"data", 1, 0, 'd'}, {"json", 0, 0, 'j'},
                                         {"horizons", 1, 0, 'z'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *model = NULL, *data = NULL;
    int json = 0, c, nh = 4;
    double h[TW_WM_MAX_HORIZONS] = {0.01, 0.1, 0.5, 1.0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'j': json = 1; break;
        case 'z':
            if ((nh = parse_horizons(optarg, h)) < 0) {
                fprintf(stderr, "tw wm eval: --horizons wants positive seconds separated by commas, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': fputs(eval_usage, stdout); return 0;
        default: fputs(eval_usage, stderr); return 2;
        }
    }
    if (!model || !data || optind < argc) {
        fprintf(stderr, "tw wm eval: --model and --data are required\n%s", eval_usage);
        return 2;
    }
    tw_wm_eval_result r;
    char msg[512];
    if (tw_wm_eval(model, data, h, nh, NULL, &r, msg, sizeof msg)) {
        fprintf(stderr, "tw wm eval: %s\n", msg);
        return 1;
    }
    if (json) {
        char *s = tw_wm_eval_to_json(&r);
        puts(s);
        free(s);
    } else {
        print_domain("real", &r.real);
        print_domain("sim", &r.sim);
    }
    return 0;
}

int tw_cmd_wm(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: tw wm train|eval|plan [options]   ('tw wm train --help', 'tw wm plan --help', ...)\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train"))
        return wm_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval"))
        return wm_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "plan"))
        return tw_wm_plan_main(argc - 1, argv + 1);
    fprintf(stderr, "tw wm: unknown action '%s' (train, eval or plan)\n", argv[1]);
    return 2;
}
