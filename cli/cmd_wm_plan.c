/* tw wm plan — closed-loop evaluation: the CEM planner drives a perturbed MuJoCo robot (the "real"
 * one) with a world model or a physics model, on a task with a measurable outcome (fusion/plan). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_cli.h"
#include "tw_plan.h"

static const char plan_usage[] =
    "usage: tw wm plan (--wm DIR | --physics SPEC | --residual DIR) --real TRUTH.json|SPEC [--robot MJCF]\n"
    "                  [--task reach|touch] [--episodes N] [--seed S] [--json] [planner options]\n"
    "\n"
    "Model-predictive control with the cross-entropy method (schemas/model.md, Planner): every control\n"
    "period the planner samples joint-target sequences, rolls them out with the dynamics model under\n"
    "test and applies the first action of the best; a MuJoCo robot under the --real perturbation plays\n"
    "the real robot. Reports success rate, final and tracking error (m) with 95 % bootstrap intervals\n"
    "over the episodes, and the planning time per control period.\n"
    "\n"
    "  --wm DIR          a world model (tw wm train --dt PERIOD), or a folder of ensemble members\n"
    "  --physics SPEC    MuJoCo as the model: 'none' (the nominal model) or a --perturb spec (e.g. a fit)\n"
    "  --residual DIR    the nominal physics plus the correction a residual model learned (tw gap\n"
    "                    --strategies residual)\n"
    "  --real X          the real robot: a tw rig --truth file or a --perturb spec\n"
    "  --robot FILE      nominal robot model (default builtin)\n"
    "  --task T          reach (two end-effector targets) or touch (fingertips onto the table; contact)\n"
    "  --episodes N      episodes (default 20)\n"
    "  --seed S          targets and sampling (default 1); same seed, same numbers\n"
    "  --dt S            control period (default 0.04; a world model must predict this period)\n"
    "  --horizon H       periods looked ahead (default 4)\n"
    "  --samples N       CEM samples per iteration (default 32)\n"
    "  --iters K         CEM iterations per plan (default 2)\n"
    "  --elites E        CEM elites (default 5)\n"
    "  --segment S       reach: seconds per target (default 1.0)\n"
    "  --touch-time S    touch: seconds for the target (default 1.6)\n"
    "  --tol M           success tolerance, m (default 0.02)\n"
    "  --max-step R      joint targets within R rad of the measured positions (default 0.04)\n"
    "  --jobs J          threads, episodes in parallel (default: all cores; the numbers do not change)\n"
    "  --json            print the result as JSON\n"
    "  --quiet           no progress lines\n";

static int plan_args(int argc, char **argv, tw_plan_opts *o, const char **wm, const char **phys, const char **real,
                     const char **robot, int *json, int *residual)
{
    static const struct option opts[] = {
        {"wm", 1, 0, 'w'}, {"residual", 1, 0, 'R'}, {"physics", 1, 0, 'p'}, {"real", 1, 0, 'r'}, {"robot", 1, 0, 'm'}, {"task", 1, 0, 't'},
        {"episodes", 1, 0, 'n'}, {"seed", 1, 0, 's'}, {"dt", 1, 0, 'd'}, {"horizon", 1, 0, 'H'},
        {"samples", 1, 0, 'N'}, {"iters", 1, 0, 'I'}, {"elites", 1, 0, 'E'}, {"segment", 1, 0, 'g'}, {"touch-time", 1, 0, 'G'},
        {"tol", 1, 0, 'T'}, {"max-step", 1, 0, 'X'}, {"jobs", 1, 0, 'J'}, {"json", 0, 0, 'j'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': *wm = optarg; break;
        case 'R':
            *wm = optarg;
            *residual = 1;
            break;
        case 'p': *phys = optarg; break;
        case 'r': *real = optarg; break;
        case 'm': *robot = optarg; break;
        case 't':
            if (tw_plan_task_parse(optarg, &o->task)) {
                fprintf(stderr, "tw wm plan: --task is reach or touch, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'n': o->episodes = atoi(optarg); break;
        case 's': o->seed = strtoull(optarg, NULL, 10); break;
        case 'd': o->dt = strtod(optarg, NULL); break;
        case 'H': o->horizon = atoi(optarg); break;
        case 'N': o->samples = atoi(optarg); break;
        case 'I': o->iters = atoi(optarg); break;
        case 'E': o->elites = atoi(optarg); break;
        case 'g': o->segment_s = strtod(optarg, NULL); break;
        case 'G': o->touch_s = strtod(optarg, NULL); break;
        case 'T': o->tol_m = strtod(optarg, NULL); break;
        case 'X': o->max_step = strtod(optarg, NULL); break;
        case 'J': o->jobs = atoi(optarg); break;
        case 'j': *json = 1; break;
        case 'q': o->progress = NULL; break;
        case 'h': fputs(plan_usage, stdout); return 1;
        default: fputs(plan_usage, stderr); return 2;
        }
    }
    if (!*real || !*wm == !*phys || optind < argc) {
        fprintf(stderr, "tw wm plan: --real and exactly one of --wm, --residual, --physics are required\n%s",
                plan_usage);
        return 2;
    }
    return 0;
}

int tw_wm_plan_main(int argc, char **argv)
{
    tw_plan_opts o;
    tw_plan_opts_init(&o);
    o.progress = tw_cli_progress;
    const char *wm = NULL, *phys = NULL, *real = NULL, *robot = "builtin";
    int json = 0, residual = 0, rc = plan_args(argc, argv, &o, &wm, &phys, &real, &robot, &json, &residual);
    if (rc)
        return rc == 1 ? 0 : rc;
    char msg[1024];
    tw_perturb preal, pmodel;
    tw_robot *nominal = NULL;
    tw_plan_model *m = NULL;
    tw_plan_result *res = calloc(1, sizeof *res);
    tw_mj_init();
    if (!res)
        rc = tw_errf(msg, sizeof msg, TW_ENOMEM, "out of memory");
    else if ((rc = tw_plan_perturb_load(real, &preal, msg, sizeof msg)) ||
             (rc = tw_robot_load(robot, &nominal, msg, sizeof msg)))
        ;
    else if (wm && residual)
        rc = tw_plan_model_hybrid(nominal, wm, o.dt, o.samples, &m, msg, sizeof msg);
    else if (wm)
        rc = tw_plan_model_wm(wm, o.samples, &m, msg, sizeof msg);
    else if (!(rc = tw_plan_perturb_load(phys, &pmodel, msg, sizeof msg)))
        rc = tw_plan_model_physics(nominal, &pmodel, o.dt, &m, msg, sizeof msg);
    if (!rc)
        rc = tw_plan_run(nominal, &preal, m, &o, res, msg, sizeof msg);
    if (!rc) {
        json_t *j = tw_plan_result_json(res, 1, &o);
        if (json) {
            char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
            puts(s);
            free(s);
        } else {
            json_t *sr = json_object_get(j, "success_rate"), *fe = json_object_get(j, "final_error_m");
            printf("%s: success %.2f [%.2f, %.2f], final error %.4f m [%.4f, %.4f] over %d episodes; %.2f ms per plan, "
                   "%.3g model evaluations/s\n", tw_plan_task_names[o.task],
                   json_real_value(json_object_get(sr, "mean")), json_real_value(json_object_get(sr, "lo")),
                   json_real_value(json_object_get(sr, "hi")), json_real_value(json_object_get(fe, "mean")),
                   json_real_value(json_object_get(fe, "lo")), json_real_value(json_object_get(fe, "hi")),
                   res->episodes, 1000 * res->plan_s, res->evals_per_s);
        }
        json_decref(j);
    } else
        fprintf(stderr, "tw wm plan: %s\n", msg);
    tw_plan_model_free(m);
    tw_robot_close(nominal);
    free(res);
    return rc ? 1 : 0;
}
