/* tw replay EPISODE_DIR --model ROBOT.xml [--map joints.json] [--rate HZ] [--threads N] --out OUTDIR */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_cli.h"
#include "tw_recon.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tw replay EPISODE_DIR --model ROBOT.xml [--map joints.json] [--rate HZ]\n"
            "                 [--threads N] [--windows W] [--qacc auto|sg|discrete] [--sg-half H] [--gap-ms MS]\n"
            "                 [--no-video] --out OUTDIR\n\n"
            "Aligns every stream of a recorded episode onto one timeline (recorder clock, using the\n"
            "client's estimated clock offset), reconstructs it in MuJoCo (mj_forward stages +\n"
            "mj_inverse per step) and measures the sim-to-real gap: torque residual (recorded effort\n"
            "minus inverse-dynamics torque), wrist wrench residual, open-loop divergence of the\n"
            "nominal model under the recorded actions, and video sync from self-numbered frames.\n\n"
            "  --model ROBOT.xml   robot MJCF (nominal model); 'builtin' = teleworld's own arm\n"
            "  --map FILE          {\"streams\": {\"NAME\": \"joint_state\"|\"action\"}, \"axes\": {\"recorded\": \"model\"}}\n"
            "                      (the one map of replay, fuse and gap; a flat {\"recorded\": \"model\"} is axes)\n"
            "  --rate HZ           timeline rate (default: the joint-state stream's nominal rate)\n"
            "  --threads N         threads for the reconstruction and the divergence rollouts, each with its own\n"
            "                      mjData (default: the online cores; the results do not depend on N)\n"
            "  --windows W         open-loop windows for the 0.1-2 s horizons (default 8; 0 = off)\n"
            "  --qacc sg           qacc by a Savitzky-Golay derivative of qvel (real data)\n"
            "  --qacc discrete     qacc = (qvel[k+1]-qvel[k])/h corrected for the model's integrator:\n"
            "                      exact for simulated episodes sampled every physics step (tw rig)\n"
            "  --qacc auto         discrete when the joint states have zero jitter at exactly the\n"
            "                      model's timestep (a simulation), else sg (default)\n"
            "  --sg-half H         Savitzky-Golay half window for qacc, in steps (default 0 = auto: the\n"
            "                      window spanning 50 ms at the timeline rate, 25 at 1 kHz; the choice and\n"
            "                      why are in summary.json: qacc_sg_half, qacc_reason)\n"
            "  --gap-ms MS         an interval longer than MS is a gap: its steps are not measurements\n"
            "                      (default 3 x the joint states' measured median interval)\n"
            "  --no-video          skip decoding video for the sync check\n"
            "  --quiet             no progress on stderr\n"
            "  --out OUTDIR        writes OUTDIR/aligned.h5, OUTDIR/summary.json, OUTDIR/report.html\n\n"
            "A truncated or interrupted episode, gaps or missing video give a flagged, partial\n"
            "result (see \"flags\" in summary.json). Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

typedef struct {
    double last;
    int tty;
} progress_t;

/* A percentage line (rewritten in place on a terminal) rather than tw_cli_progress's lines. */
static void on_progress(void *ctx, const tw_progress *pg)
{
    progress_t *p = ctx;
    uint64_t done = pg->done, total = pg->total;
    double frac = total ? (double)done / (double)total : 1;
    if (frac - p->last < 0.05 && done != total)
        return;
    p->last = frac;
    fprintf(stderr, p->tty ? "\rtw replay: %3.0f%% (%llu/%llu steps)" : "tw replay: %3.0f%% (%llu/%llu steps)\n",
            frac * 100, (unsigned long long)done, (unsigned long long)total);
    if (p->tty && done == total)
        fputc('\n', stderr);
}

int tw_cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"map", required_argument, 0, 'p'},
        {"rate", required_argument, 0, 'r'},  {"threads", required_argument, 0, 't'},
        {"windows", required_argument, 0, 'w'}, {"sg-half", required_argument, 0, 'g'},
        {"no-video", no_argument, 0, 'V'},    {"quiet", no_argument, 0, 'q'},
        {"qacc", required_argument, 0, 'a'}, {"gap-ms", required_argument, 0, 'G'},
        {"out", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    tw_replay_opts o;
    tw_replay_opts_init(&o);
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* the numbers do not depend on the thread count */
    o.threads = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    int quiet = 0, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:p:r:t:w:g:G:Vqo:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model_path = optarg; break;
        case 'p': o.map_path = optarg; break;
        case 'r':
            o.rate_hz = strtod(optarg, &end);
            if (*end || !(o.rate_hz > 0)) {
                fprintf(stderr, "tw replay: --rate must be a positive number, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            o.threads = (int)strtol(optarg, &end, 10);
            if (*end || o.threads < 1 || o.threads > 64) {
                fprintf(stderr, "tw replay: --threads must be 1..64, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'w':
            o.div_windows = (int)strtol(optarg, &end, 10);
            if (*end || o.div_windows < 0 || o.div_windows > 32) {
                fprintf(stderr, "tw replay: --windows must be 0..32, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'g':
            o.sg_half = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || o.sg_half > 50) {
                fprintf(stderr, "tw replay: --sg-half must be 0..50, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'G':
            o.gap_ms = strtod(optarg, &end);
            if (*end || !(o.gap_ms > 0)) {
                fprintf(stderr, "tw replay: --gap-ms must be a positive number, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'V': o.video = 0; break;
        case 'a':
            if (strcmp(optarg, "sg") && strcmp(optarg, "discrete") && strcmp(optarg, "auto")) {
                fprintf(stderr, "tw replay: --qacc must be auto, sg or discrete, got '%s'\n", optarg);
                return 2;
            }
            o.qacc_discrete = !strcmp(optarg, "auto") ? -1 : !strcmp(optarg, "discrete");
            break;
        case 'q': quiet = 1; break;
        case 'o': o.out_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !o.out_dir) {
        fprintf(stderr, "tw replay: need exactly one EPISODE_DIR and --out OUTDIR\n\n");
        usage(stderr);
        return 2;
    }
    progress_t pr = {0, isatty(2)};
    if (!quiet) {
        o.progress = on_progress;
        o.progress_user = &pr;
    }
    char msg[4096];
    tw_replay_summary *s = NULL;
    int rc = tw_replay_run(argv[optind], &o, &s, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "tw replay: %s: %s\n", argv[optind], msg);
        return 1;
    }
    tw_replay_summary_free(s);
    printf("%s/aligned.h5\n%s/summary.json\n%s/report.html\n", o.out_dir, o.out_dir, o.out_dir);
    return 0;
}
