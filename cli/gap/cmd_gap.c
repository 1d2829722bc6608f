/* tw gap — sim-to-real report: real-test error against mix ratio and real-data budget,
 * next to the physics gap from replay; --fit adds system identification. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_cli.h"
#include "tw_gap.h"

static const char usage[] =
    "usage: tw gap --real DIR... --randomize SPEC.json --model ROBOT.xml --out DIR\n"
    "              [--ratios 0,1,4,16,inf] [--budgets all,1] [--fit] [options]\n"
    "\n"
    "The sim-to-real evaluation: generates a randomized sim corpus (tw simgen), then for every\n"
    "mix ratio fuses it with the real episodes (tw fuse), trains a world model on each real-data\n"
    "budget (tw wm train) and measures its error on the held-out REAL test episodes (tw wm eval).\n"
    "Next to it, the physics gap: every real episode replayed against the nominal model (tw replay).\n"
    "Writes DIR/gap.json (fields: schemas/gap.md) and DIR/gap.html, and keeps the intermediate data\n"
    "under DIR. real_test_error: joint-position rollout RMSE at --horizon on the real test episodes.\n"
    "dynamics_error: the scale-free part, the one-step joint-velocity RMSE over that of a physics-free\n"
    "(zero-acceleration) baseline: 1 = no better than ignoring the dynamics. The transfer gaps divide\n"
    "the sim-only model's error on real by that on sim test episodes: about 1 when the randomisation\n"
    "covers the real robot, well above 1 when it does not.\n"
    "\n"
    "  --real DIR         recorded episodes (an episode folder or a folder of them); repeatable\n"
    "  --randomize FILE   simgen randomisation spec (JSON, see tw simgen --help)\n"
    "  --model FILE       nominal robot model (MJCF)\n"
    "  --out DIR          output folder (must not hold an earlier gap run)\n"
    "  --ratios LIST      sim episodes' sampling mass per real: 0 = real only, inf = sim only\n"
    "                     (default 0,1,4,16,inf)\n"
    "  --budgets LIST     real training episodes to use: numbers or 'all' (default all)\n"
    "  --sim-episodes N   size of the sim corpus (default 16)\n"
    "  --sim-duration S   seconds per sim episode (default 10)\n"
    "  --split T/V/E      split fractions (default 0.6/0.2/0.2)\n"
    "  --epochs E         training epochs per model (default 12)\n"
    "  --epoch-samples N  samples per epoch (default 20000)\n"
    "  --horizon S        horizon of the headline error, seconds (default 0.1)\n"
    "  --seed S           seed for everything (default 1); same seed, same numbers\n"
    "  --seeds K          train every run with K seeds (S..S+K-1, at most 8): the intervals then cover the\n"
    "                     spread between trained models as well as between test episodes, and with\n"
    "                     --closed-loop every trained model plans the same episodes (default 1)\n"
    "  --jobs J           simulation and planning threads (default: all cores)\n"
    "  --fit              also fit damping, friction, payload and gain to the real episodes\n"
    "  --qacc M           auto|sg|discrete, --sg-half H, --gap-ms MS: replay's derivative and gap\n"
    "                     threshold, as tw replay (physics gap and --fit)\n"
    "  --strategies LIST  how sim data is used: mix (the ratios), finetune (the sim-only model\n"
    "                     fine-tuned on the real-only data), residual (nominal physics + a learned\n"
    "                     correction, pre-trained on sim, fine-tuned on real; closed loop only);\n"
    "                     finetune and residual need ratios 0 and inf (default mix)\n"
    "  --dt S             world-model period, s (default one timeline step; 0.04 with --closed-loop)\n"
    "  --rollout-steps R  multi-step world-model training (tw wm train --rollout-steps)\n"
    "  --min-test-episodes N  refuse a split with fewer real test episodes (default 3)\n"
    "  --truth FILE       the rig's truth.json: planted values next to the fitted ones, and the\n"
    "                     real robot of --closed-loop\n"
    "  --closed-loop      plan with every model (nominal and fitted physics, each world model) on the\n"
    "                     robot under the planted perturbation: reach and touch tasks (tw wm plan)\n"
    "  --plan-episodes N  closed-loop episodes per task and model (default 20)\n"
    "  --plan-samples N   CEM samples per iteration in the closed loop (default 32, as tw wm plan)\n"
    "  --quiet            no progress lines\n";

static int parse_ratios(const char *s, tw_gap_opts *o)
{
    o->nratios = 0;
    while (*s) {
        if (o->nratios == TW_GAP_MAX_RATIOS)
            return -1;
        char *end;
        double v;
        if (!strncmp(s, "inf", 3)) {
            v = INFINITY;
            end = (char *)s + 3;
        } else
            v = strtod(s, &end);
        if (end == s || v < 0 || (*end && *end != ','))
            return -1;
        o->ratios[o->nratios++] = v;
        s = *end ? end + 1 : end;
    }
    return o->nratios ? 0 : -1;
}

static int parse_budgets(const char *s, tw_gap_opts *o)
{
    o->nbudgets = 0;
    while (*s) {
        if (o->nbudgets == TW_GAP_MAX_BUDGETS)
            return -1;
        char *end;
        long v;
        if (!strncmp(s, "all", 3)) {
            v = 0;
            end = (char *)s + 3;
        } else {
            v = strtol(s, &end, 10);
            if (v < 1)
                return -1;
        }
        if (end == s || (*end && *end != ','))
            return -1;
        o->budgets[o->nbudgets++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return o->nbudgets ? 0 : -1;
}

static int parse_strategies(const char *s, tw_gap_opts *o)
{
    static const char *const names[] = {"mix", "finetune", "residual"};
    o->strategies = 0;
    while (*s) {
        size_t n = strcspn(s, ","), k;
        for (k = 0; k < 3 && (strlen(names[k]) != n || strncmp(s, names[k], n)); k++)
            ;
        if (k == 3)
            return -1;
        o->strategies |= 1 << k;
        s += n + (s[n] == ',');
    }
    return o->strategies ? 0 : -1;
}

int tw_cmd_gap(int argc, char **argv)
{
    static const struct option opts[] = {
        {"real", 1, 0, 'r'}, {"randomize", 1, 0, 'R'}, {"model", 1, 0, 'm'}, {"out", 1, 0, 'o'},
        {"ratios", 1, 0, 'a'}, {"budgets", 1, 0, 'b'}, {"sim-episodes", 1, 0, 'n'}, {"sim-duration", 1, 0, 'd'},
        {"split", 1, 0, 's'}, {"epochs", 1, 0, 'e'}, {"epoch-samples", 1, 0, 'E'}, {"horizon", 1, 0, 'z'},
        {"seed", 1, 0, 'S'}, {"jobs", 1, 0, 'j'}, {"fit", 0, 0, 'f'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
        {"qacc", 1, 0, 'A'}, {"sg-half", 1, 0, 'H'}, {"gap-ms", 1, 0, 'G'},
        {"strategies", 1, 0, 'g'}, {"dt", 1, 0, 'D'}, {"rollout-steps", 1, 0, 'O'}, {"min-test-episodes", 1, 0, 'M'},
        {"truth", 1, 0, 'T'}, {"closed-loop", 0, 0, 'C'}, {"plan-episodes", 1, 0, 'P'},
        {"plan-samples", 1, 0, 'Q'}, {"seeds", 1, 0, 'K'}, {0, 0, 0, 0}};
    tw_gap_opts o;
    tw_gap_opts_init(&o);
    o.progress = tw_cli_progress;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (o.nreal == TW_GAP_MAX_REAL) {
                fprintf(stderr, "tw gap: at most %d --real folders\n", TW_GAP_MAX_REAL);
                return 2;
            }
            o.real[o.nreal++] = optarg;
            break;
        case 'R': o.randomize_path = optarg; break;
        case 'm': o.model_path = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'a':
            if (parse_ratios(optarg, &o)) {
                fprintf(stderr, "tw gap: --ratios wants non-negative numbers or inf, comma-separated: '%s'\n", optarg);
                return 2;
            }
            break;
        case 'b':
            if (parse_budgets(optarg, &o)) {
                fprintf(stderr, "tw gap: --budgets wants positive integers or 'all', comma-separated: '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'n': o.sim_episodes = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'd': o.sim_duration_s = strtod(optarg, NULL); break;
        case 's':
            if (sscanf(optarg, "%lf/%lf/%lf", &o.split[0], &o.split[1], &o.split[2]) != 3) {
                fprintf(stderr, "tw gap: --split wants TRAIN/VAL/TEST fractions, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'e': o.epochs = atoi(optarg); break;
        case 'E': o.epoch_samples = strtoull(optarg, NULL, 10); break;
        case 'z':
            o.eval_horizon_s = strtod(optarg, NULL);
            if (!(o.eval_horizon_s > 0)) {
                fprintf(stderr, "tw gap: --horizon wants positive seconds, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'S': o.seed = strtoull(optarg, NULL, 10); break;
        case 'j': o.jobs = atoi(optarg); break;
        case 'f': o.fit = 1; break;
        case 'A':
            o.qacc = !strcmp(optarg, "auto") ? 0 : !strcmp(optarg, "sg") ? 1 : !strcmp(optarg, "discrete") ? 2 : -1;
            if (o.qacc < 0) {
                fprintf(stderr, "tw gap: --qacc must be auto, sg or discrete, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'H':
            o.sg_half = (uint32_t)strtoul(optarg, NULL, 10);
            if (o.sg_half > 50) {
                fprintf(stderr, "tw gap: --sg-half must be 0..50, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'G':
            if (!((o.gap_ms = strtod(optarg, NULL)) > 0)) {
                fprintf(stderr, "tw gap: --gap-ms must be a positive number, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'g':
            if (parse_strategies(optarg, &o)) {
                fprintf(stderr, "tw gap: --strategies wants mix, finetune, residual, comma-separated: '%s'\n", optarg);
                return 2;
            }
            break;
        case 'D': o.dt = strtod(optarg, NULL); break;
        case 'O': o.rollout_steps = atoi(optarg); break;
        case 'M': o.min_test_episodes = atoi(optarg); break;
        case 'T': o.truth_path = optarg; break;
        case 'C': o.closed_loop = 1; break;
        case 'P': o.plan_episodes = atoi(optarg); break;
        case 'Q': o.plan_samples = atoi(optarg); break;
        case 'K': o.seeds = atoi(optarg); break;
        case 'q': o.progress = NULL; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (!o.nreal || !o.model_path || !o.out_dir || optind < argc) {
        fprintf(stderr, "tw gap: --real, --model and --out are required\n%s", usage);
        return 2;
    }
    char msg[1024];
    if (tw_gap_run(&o, msg, sizeof msg)) {
        fprintf(stderr, "tw gap: %s\n", msg);
        return 1;
    }
    printf("gap report: %s/gap.html (numbers in %s/gap.json)\n", o.out_dir, o.out_dir);
    return 0;
}
