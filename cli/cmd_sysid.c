/* tw sysid EPISODE_DIR... --model ROBOT.xml --out DIR: per-joint system identification of a robot from
 * recorded joint states and efforts (replay/sysid/tw_sysid.h, "per-joint identification"). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_cli.h"
#include "tw_sysid.h"

static const char usage[] =
    "usage: tw sysid EPISODE_DIR... --model ROBOT.xml --out DIR [--validate F] [--payload] [options]\n"
    "\n"
    "Fits, per arm joint and in the model's units, the armature, viscous damping, Coulomb friction\n"
    "(smooth sign tanh(qdot/eps)) and an effort offset (optionally a payload mass at the flange) that make\n"
    "the model's inverse dynamics explain the recorded effort. Needs joint states with effort; actions,\n"
    "F/T and objects are not required (with actions, the actuators' gain and delay are fitted too). Linear least squares with physical bounds; standard deviations\n"
    "from a block bootstrap over time segments; a parameter the data do not excite is reported as\n"
    "unidentified and keeps its nominal value. Writes DIR/sysid.json (schemas/sysid.md), DIR/fitted.xml\n"
    "(the model with the fitted values: tw replay against it shows the fitted residual) and DIR/sysid.html.\n"
    "\n"
    "  --model FILE       nominal robot MJCF ('builtin' = teleworld's arm)\n"
    "  --out DIR          output folder\n"
    "  --map FILE         joint/stream map, as tw replay\n"
    "  --validate F       hold back the last fraction F of every episode (default 0.3; 0 = fit on all)\n"
    "  --payload          also fit a mass at the flange body's centre of mass\n"
    "  --qacc M           auto|sg|discrete, as tw replay (default auto)\n"
    "  --sg-half H        Savitzky-Golay half window in steps (default 0 = the 50 ms window)\n"
    "  --gap-ms MS        gap threshold (default 3 x the measured median interval)\n"
    "  --filter-ms MS     moving average of every regression signal (default 50; 0 = none)\n"
    "  --friction-eps V   tanh smoothing velocity, rad/s (default 0.005)\n"
    "  --bootstrap N      bootstrap replicates (default 200; 0 = no standard deviations)\n"
    "  --block-s S        bootstrap block length in seconds (default 1)\n"
    "  --seed S           bootstrap seed (default 1); same data and seed, same numbers\n"
    "  --max-rows N       timesteps kept over all episodes (default 500000, about 0.5 KB each)\n"
    "  --quiet            no progress lines\n"
    "Exit status: 0 ok, 1 failure, 2 usage error.\n";

static int num_arg(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end;
    *out = strtod(s, &end);
    if (*end || end == s || !(*out >= lo && *out <= hi)) {
        fprintf(stderr, "tw sysid: %s must be a number in [%g, %g], got '%s'\n", name, lo, hi, s);
        return -1;
    }
    return 0;
}

static int parse(int argc, char **argv, tw_sysid_joint_opts *o, const char **out)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'}, {"out", 1, 0, 'o'}, {"map", 1, 0, 'p'}, {"validate", 1, 0, 'v'},
        {"payload", 0, 0, 'P'}, {"qacc", 1, 0, 'a'}, {"sg-half", 1, 0, 'g'}, {"gap-ms", 1, 0, 'G'},
        {"filter-ms", 1, 0, 'f'}, {"friction-eps", 1, 0, 'e'}, {"bootstrap", 1, 0, 'b'}, {"block-s", 1, 0, 'B'},
        {"seed", 1, 0, 's'}, {"max-rows", 1, 0, 'R'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': o->model_path = strcmp(optarg, "builtin") ? optarg : NULL; break;
        case 'o': *out = optarg; break;
        case 'p': o->map_path = optarg; break;
        case 'v': bad = num_arg("--validate", optarg, 0, 0.9, &o->validate); break;
        case 'P': o->payload = 1; break;
        case 'a':
            if (strcmp(optarg, "auto") && strcmp(optarg, "sg") && strcmp(optarg, "discrete")) {
                fprintf(stderr, "tw sysid: --qacc must be auto, sg or discrete, got '%s'\n", optarg);
                return 2;
            }
            o->qacc_discrete = !strcmp(optarg, "auto") ? -1 : !strcmp(optarg, "discrete");
            break;
        case 'g': bad = num_arg("--sg-half", optarg, 0, 50, &v), o->sg_half = (uint32_t)v; break;
        case 'G': bad = num_arg("--gap-ms", optarg, 1e-6, 1e9, &o->gap_ms); break;
        case 'f': bad = num_arg("--filter-ms", optarg, 0, 10000, &o->filter_ms); break;
        case 'e': bad = num_arg("--friction-eps", optarg, 1e-6, 100, &o->friction_eps); break;
        case 'b': bad = num_arg("--bootstrap", optarg, 0, 100000, &v), o->bootstrap = (int)v; break;
        case 'B': bad = num_arg("--block-s", optarg, 1e-3, 1e6, &o->block_s); break;
        case 's': bad = num_arg("--seed", optarg, 0, 1.8e19, &v), o->seed = (uint64_t)v; break;
        case 'R': bad = num_arg("--max-rows", optarg, 100, 1e10, &v), o->max_rows = (uint64_t)v; break;
        case 'q': o->progress = NULL; break;
        case 'h': fputs(usage, stdout); return 1;
        default: fputs(usage, stderr); return 2;
        }
        if (bad)
            return 2;
    }
    if (optind >= argc || !*out) {
        fprintf(stderr, "tw sysid: need EPISODE_DIR... and --out DIR\n%s", usage);
        return 2;
    }
    return 0;
}

static void report(const tw_sysid_joint_result *r, const json_t *act)
{
    printf("joint        armature          damping           frictionloss      effort_offset     held-back RMSE "
           "nominal -> fitted.xml\n");
    for (int j = 0; j < r->nj; j++) {
        const tw_sysid_jjoint *J = &r->j[j];
        printf("%-12s", J->name);
        for (int k = 0; k < TW_SJ_NPAR; k++) {
            char cell[48];
            if (J->p[k].identified)
                snprintf(cell, sizeof cell, "%.4g±%.2g", J->p[k].value, J->p[k].std);
            else
                snprintf(cell, sizeof cell, "unidentified");
            printf(" %-17s", cell);
        }
        printf(" %.3f -> %.3f\n", J->rmse_nominal[1], J->rmse_mjcf[1]);
    }
    if (r->payload)
        printf("payload_kg %.4g±%.2g%s\n", r->payload_kg.value, r->payload_kg.std,
               r->payload_kg.identified ? "" : " (unidentified)");
    printf("relative RMSE (all arm joints): held back %.4f -> %.4f (fitted.xml), fit part %.4f -> %.4f\n",
           r->rel_nominal[1], r->rel_mjcf[1], r->rel_nominal[0], r->rel_mjcf[0]);
    if (act)
        printf("actuators: gain %.4g ± %.2g, latency %.3g ms\n",
               json_number_value(json_object_get(json_object_get(act, "gain"), "value")),
               json_number_value(json_object_get(json_object_get(act, "gain"), "std")),
               json_number_value(json_object_get(act, "latency_ms")));
    printf("%d inverse-dynamics passes of %.3f s; sysid %.2f s (%.1f passes' worth)\n", r->inverse_passes,
           r->inverse_pass_s, r->wall_s, r->inverse_pass_s > 0 ? r->wall_s / r->inverse_pass_s : NAN);
}

int tw_cmd_sysid(int argc, char **argv)
{
    tw_sysid_joint_opts o;
    tw_sysid_joint_opts_init(&o);
    o.progress = tw_cli_progress;
    const char *out = NULL;
    int prc = parse(argc, argv, &o, &out);
    if (prc)
        return prc == 1 ? 0 : prc;
    char msg[2048];
    tw_sysid_jfit *f = NULL;
    tw_sysid_joint_result r;
    int rc = tw_sysid_jfit_open((const char *const *)argv + optind, (size_t)(argc - optind), &o, &f, msg, sizeof msg);
    if (rc == 0)
        rc = tw_sysid_jfit_run(f, &r, msg, sizeof msg);
    json_t *extra = json_object(), *eps = json_array();
    for (int i = optind; i < argc; i++)
        json_array_append_new(eps, json_string(argv[i]));
    json_object_set_new(extra, "episode_dirs", eps);
    json_object_set_new(extra, "model", json_string(o.model_path ? o.model_path : "builtin"));
    json_t *gain = NULL; /* gain and delay where the episodes have actions */
    if (rc == 0)
        rc = tw_sysid_gain_fit((const char *const *)argv + optind, (size_t)(argc - optind), o.model_path, o.map_path,
                               o.progress, NULL, &gain, msg, sizeof msg);
    json_object_set_new(extra, "actuators", gain ? json_incref(gain) : json_null());
    if (rc == 0)
        rc = tw_sysid_jfit_write_outputs(f, &r, out, extra, msg, sizeof msg);
    json_decref(extra);
    tw_sysid_jfit_free(f);
    if (rc < 0) {
        json_decref(gain);
        fprintf(stderr, "tw sysid: %s\n", msg);
        return 1;
    }
    report(&r, gain);
    json_decref(gain);
    printf("%s/sysid.json\n%s/fitted.xml\n%s/sysid.html\n", out, out, out);
    return 0;
}
