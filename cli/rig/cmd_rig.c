/* tw rig: parse flags, run the virtual rig (cli/rig/tw_rig.h), print what was sent. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_cli.h"
#include "tw_rig.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tw rig --url ws://127.0.0.1:8765 --token-file F [--model ROBOT.xml] [--episodes N]\n"
            "              [--duration SECONDS] [--seed S] [--perturb SPEC] [--noise SCALE] [--truth FILE]\n"
            "              [--speed X] [--camera PIPELINE]... [--js-rate HZ] [--action-rate HZ]\n"
            "              [--ft-rate HZ] [--task TEXT] [--retries N] [--camera-size WxH] [--camera-fps F]\n\n"
            "A virtual teleoperation rig: loads a MuJoCo model, drives it with a scripted operator (IK\n"
            "pick-and-place when the scene has a free object, random joint-space reaches otherwise, plus\n"
            "gripper open/close), steps perturbed physics and streams what a real rig would: joint state\n"
            "[3,N] (position, velocity, effort = actuator torque at the joint), commanded actions, a 6-axis\n"
            "wrist force/torque sensor (added at load time if the model has none), grasp/release events,\n"
            "and cameras, each sample stamped on the rig's own clock.\n\n"
            "  --url URL           recorder websocket URL (required)\n"
            "  --token-file F      file holding the recorder's token (first line)\n"
            "  --model ROBOT.xml   MJCF to run (default: teleworld's builtin 7-joint arm, table and box)\n"
            "  --episodes N        episodes to stream (default 1)\n"
            "  --duration SECONDS  length of each episode (default 10)\n"
            "  --seed S            operator and noise seed; same seed, same data (default 1)\n"
            "  --perturb SPEC      'none' or key=value,... with keys damping, friction, gain (scales),\n"
            "                      payload_kg (on the hand), latency_ms (action->actuator and sample->send),\n"
            "                      noise (scale), clock_offset_ms, drift_ppm (the rig's clock)\n"
            "                      default: " TW_RIG_DEFAULT_PERTURB "\n"
            "  --noise SCALE       sensor noise scale (default %g; 0 = off): sigma = SCALE x {qpos 1e-4 rad,\n"
            "                      qvel 1e-3 rad/s, effort 0.02 N*m, force 0.05 N, torque 0.005 N*m}\n"
            "                      (a --perturb spec without noise= uses this default; 'none' means noise 0\n"
            "                      unless --noise says otherwise)\n"
            "                      '--perturb none --noise 0' streams exactly the nominal model's data\n"
            "  --truth FILE        write the ground truth (perturbation, seed, model, noise) here; the\n"
            "                      recorder never sees it\n"
            "  --speed X           1 = real time (default), X times faster, 0 = as fast as possible\n"
            "                      (timestamps stay on the simulated timeline)\n"
            "  --camera SPEC       repeatable; 'pattern' (default: self-numbering test pattern rendered in\n"
            "                      lock-step with the simulation), 'sim[:CAMERA]' (MuJoCo offscreen render,\n"
            "                      frame number drawn in the top band), 'none', or any GStreamer source\n"
            "                      pipeline such as 'v4l2src device=/dev/video0' (live, on wall time)\n"
            "  --camera-size WxH   camera frame size (default 640x480)   --camera-fps F  (default 30)\n"
            "  --js-rate HZ        joint-state rate (default 500, at most the physics rate)\n"
            "  --action-rate HZ    operator/action rate (default 100)\n"
            "  --ft-rate HZ        force/torque rate (default 500)\n"
            "  --task TEXT         episode task string\n"
            "  --retries N         reconnect attempts before giving up (default 5)\n\n"
            "Exit status: 0 when every episode was streamed and acknowledged, 1 when the recorder is absent,\n"
            "refuses the token, ends the session with a fatal error (NOSPACE, protocol; printed with what was\n"
            "lost, never retried) or goes away for good, 2 for a usage error.\n",
            TW_RIG_DEFAULT_NOISE);
}

static int read_token(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tw rig: cannot read token file %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!fgets(buf, (int)n, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n \t")] = '\0';
    if (!buf[0]) {
        fprintf(stderr, "tw rig: token file %s is empty\n", path);
        return -1;
    }
    return 0;
}

static int parse_num(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "tw rig: %s '%s': expected a number in [%g, %g]\n", flag, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static void on_log(void *user, const tw_progress *p) { fprintf(stderr, "tw rig: %s\n", p->line); }

/* Flags that take numbers, in one table: option letter, name, range, where it goes. */
static int numeric_flag(tw_rig_opts *o, int c, const char *arg, double *noise, int *noise_set)
{
    double v;
    switch (c) {
    case 'e': if (parse_num("--episodes", arg, 1, 100000, &v)) return -1; o->episodes = (int)v; return 0;
    case 'd': if (parse_num("--duration", arg, 1e-3, 86400, &v)) return -1; o->duration_s = v; return 0;
    case 's': if (parse_num("--seed", arg, 0, 9007199254740992.0, &v)) return -1; o->seed = (uint64_t)v; return 0;
    case 'n': if (parse_num("--noise", arg, 0, 1000, noise)) return -1; *noise_set = 1; return 0;
    case 'x': return parse_num("--speed", arg, 0, 1000, &o->speed);
    case 'J': return parse_num("--js-rate", arg, 1e-3, 100000, &o->js_rate);
    case 'A': return parse_num("--action-rate", arg, 1e-3, 100000, &o->action_rate);
    case 'F': return parse_num("--ft-rate", arg, 1e-3, 100000, &o->ft_rate);
    case 'R': if (parse_num("--retries", arg, 0, 1000, &v)) return -1; o->max_retries = (int)v; return 0;
    case 'P': return parse_num("--camera-fps", arg, 1, 240, &o->cam_fps);
    }
    return 1;
}

int tw_cmd_rig(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, 0, 'u'},      {"token-file", required_argument, 0, 'k'},
        {"model", required_argument, 0, 'm'},    {"episodes", required_argument, 0, 'e'},
        {"duration", required_argument, 0, 'd'}, {"seed", required_argument, 0, 's'},
        {"perturb", required_argument, 0, 'p'},  {"noise", required_argument, 0, 'n'},
        {"truth", required_argument, 0, 't'},    {"speed", required_argument, 0, 'x'},
        {"camera", required_argument, 0, 'c'},   {"js-rate", required_argument, 0, 'J'},
        {"action-rate", required_argument, 0, 'A'}, {"ft-rate", required_argument, 0, 'F'},
        {"task", required_argument, 0, 'T'},     {"retries", required_argument, 0, 'R'},
        {"camera-size", required_argument, 0, 'S'}, {"camera-fps", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    tw_rig_opts o;
    tw_rig_opts_init(&o);
    o.progress = on_log;
    const char *token_file = NULL, *perturb = NULL;
    double noise = 0;
    int noise_set = 0, ncam = 0, c;
    char msg[1024], token[512];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = numeric_flag(&o, c, optarg, &noise, &noise_set);
        if (r < 0)
            return 2;
        if (r == 0)
            continue;
        switch (c) {
        case 'u': o.url = optarg; break;
        case 'k': token_file = optarg; break;
        case 'm': o.model = optarg; break;
        case 'p': perturb = optarg; break;
        case 't': o.truth_path = optarg; break;
        case 'T': o.task = optarg; break;
        case 'c':
            if (ncam == TW_RIG_MAX_CAMS) {
                fprintf(stderr, "tw rig: at most %d --camera\n", TW_RIG_MAX_CAMS);
                return 2;
            }
            if (strcmp(optarg, "none"))
                o.cameras[ncam++] = optarg;
            o.ncameras = ncam;
            break;
        case 'S':
            if (sscanf(optarg, "%dx%d", &o.cam_width, &o.cam_height) != 2 || o.cam_width < 160 || o.cam_height < 120 ||
                o.cam_width > 4096 || o.cam_height > 4096) {
                fprintf(stderr, "tw rig: --camera-size '%s': expected WxH between 160x120 and 4096x4096\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tw rig: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o.url) {
        fprintf(stderr, "tw rig: --url is required (e.g. --url ws://127.0.0.1:8765)\n");
        return 2;
    }
    if (perturb) {
        tw_perturb_none(&o.perturb);
        if (tw_perturb_parse(perturb, &o.perturb, msg, sizeof msg)) {
            fprintf(stderr, "tw rig: --perturb: %s\n", msg);
            return 2;
        }
        if (!strstr(perturb, "noise=") && !noise_set)
            o.perturb.noise = !strcmp(perturb, "none") ? 0 : TW_RIG_DEFAULT_NOISE;
    }
    if (noise_set)
        o.perturb.noise = noise;
    if (token_file && read_token(token_file, token, sizeof token))
        return 2;
    o.token = token_file ? token : NULL;
    tw_rig_result res;
    int rc = tw_rig_run(&o, &res, msg, sizeof msg);
    if (rc) {
        fprintf(stderr, "tw rig: %s (%s)\n", msg, tw_err_name(rc));
        fprintf(stderr, "tw rig: stopped after %d of %d episode(s) acknowledged; %llu frames never sent (lost), "
                        "%llu dropped, %llu reconnects\n", res.episodes_done, o.episodes,
                (unsigned long long)res.lost, (unsigned long long)res.dropped, (unsigned long long)res.reconnects);
        return 1;
    }
    printf("tw rig: %d episode(s), %.1f s simulated in %.1f s: %llu joint states, %llu wrenches, %llu actions, "
           "%llu events, %llu video frames; dropped %llu, lost %llu, reconnects %llu\n",
           res.episodes_done, res.sim_s, res.wall_s, (unsigned long long)res.joint_state,
           (unsigned long long)res.wrench, (unsigned long long)res.action, (unsigned long long)res.events,
           (unsigned long long)(res.video[0] + res.video[1] + res.video[2] + res.video[3]),
           (unsigned long long)res.dropped, (unsigned long long)res.lost, (unsigned long long)res.reconnects);
    if (o.truth_path)
        printf("tw rig: ground truth in %s\n", o.truth_path);
    return res.dropped || res.lost ? 1 : 0;
}
