/* tw fuse: mix real and simulated episodes into training shards (fusion library). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_cli.h"
#include "tw_dataset.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tw fuse --real DIR... --sim DIR... --ratio R:S --split TRAIN/VAL/TEST --seed S --out DIR\n"
        "               [--model ROBOT.xml] [--window H] [--shard-size N] [--map MAP.json] [--rate HZ] [--jobs J]\n"
        "               [--quiet]\n"
        "       mpirun -np K tw fuse ...   (shard j is written by rank j %% K; same bytes as one process)\n\n"
        "Aligns every episode with the replay library, cuts (state, action, next state) transitions or H-step\n"
        "windows, splits by episode, weights real:sim sampling mass R:S, computes normalisation statistics on\n"
        "the train split and writes DIR/shard-NNNNN.h5 plus DIR/manifest.json (schemas/fused.md).\n\n"
        "  --real DIR...      recorded episode folders, or folders of them (several after one flag, or repeat)\n"
        "  --sim DIR...       simulated episodes (tw simgen output)\n"
        "  --ratio R:S        real:sim sampling mass (default 1:1); 1:0 = real only, 0:1 = sim only\n"
        "  --split T/V/E      episode fractions for train/val/test (default 0.8/0.1/0.1), per domain\n"
        "  --seed S           split and order seed (default 0)\n"
        "  --out DIR          output folder (must not hold a dataset)\n"
        "  --model FILE       MJCF: adds end-effector position and orientation (ee_pos, ee_quat) to the state\n"
        "  --window H         samples are H-step windows (default 1: transitions)\n"
        "  --shard-size N     samples per shard (default 65536; memory is about N x row size)\n"
        "  --map FILE         {\"streams\": {\"NAME\": \"joint_state\"|\"action\"}, \"axes\": {\"recorded\": \"model\"}}\n"
        "                     (the one map of replay, fuse and gap; a flat {\"recorded\": \"model\"} is axes)\n"
        "  --rate HZ          aligned timeline rate (default the joint-state rate)\n"
        "  --jobs J           J worker processes on this machine, the ranks of an mpirun -np J run (default:\n"
        "                     the online cores, at most one per 16 episodes; 1 = one process). Same bytes for\n"
        "                     any J. Memory is about J x shard size x row size. Under mpirun, ranks come\n"
        "                     from -np: J > 1 is refused\n"
        "  --quiet            no progress on stderr\n");
}

static int parse_pair(const char *s, char sep, double *a, double *b)
{
    char *end;
    *a = strtod(s, &end);
    if (end == s || *end != sep)
        return -1;
    const char *t = end + 1;
    *b = strtod(t, &end);
    return (end == t || *end) ? -1 : 0;
}

static int parse_split(const char *s, double f[3])
{
    char *end;
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        f[i] = strtod(p, &end);
        if (end == p || (i < 2 && *end != '/') || (i == 2 && *end))
            return -1;
        p = end + 1;
    }
    return 0;
}

/* Ranks: mpirun's (then --jobs must be 1), or J local worker processes supervised by this one. Returns -1 in
 * a rank, which goes on to fuse; else the supervisor's exit code once its workers have ended. */
static int start_ranks(tw_fuse_opts *o, long jobs, char *msg, size_t msgsz)
{
    if (tw_mpi_launched()) {
        if (jobs > 1) {
            fprintf(stderr, "tw fuse: --jobs %ld under mpirun: the ranks are mpirun's (-np K); drop --jobs\n", jobs);
            return 2;
        }
        if (tw_mpi_init(&o->rank, &o->nranks, msg, msgsz)) {
            fprintf(stderr, "tw fuse: %s\n", msg);
            return 1;
        }
        return -1;
    }
    if (jobs <= 0) { /* a worker per core, but one per 16 episodes at most: one with no shard only adds a scan */
        size_t per = tw_fuse_count_episodes(o) / 16 + 1;
        jobs = sysconf(_SC_NPROCESSORS_ONLN);
        if ((size_t)jobs > per)
            jobs = (long)per;
    }
    if (jobs > 1024)
        jobs = 1024;
    int worker, clean = !tw_fuse_out_holds_dataset(o->out_dir);
    int rc = tw_mpi_local_start((int)jobs, &worker, &o->rank, &o->nranks, msg, msgsz);
    if (worker) {
        if (o->rank != 0)
            o->progress = NULL; /* one voice: rank 0's */
        return -1;
    }
    if (rc && clean)
        tw_fuse_out_remove(o->out_dir); /* what killed workers could not take back */
    if (rc) /* TW_EMPI: a worker died (its own errors are the workers' messages) */
        fprintf(stderr, "tw %s%s%s\n", strncmp(msg, "fuse: ", 6) ? "fuse: " : "", msg,
                rc == TW_EMPI && clean ? "; the run's shards were removed, no dataset written" : "");
    return rc ? 1 : 0;
}

int tw_cmd_fuse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"real", required_argument, 0, 'R'}, {"sim", required_argument, 0, 'S'},
        {"ratio", required_argument, 0, 'r'}, {"split", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'}, {"out", required_argument, 0, 'o'},
        {"model", required_argument, 0, 'm'}, {"window", required_argument, 0, 'w'},
        {"shard-size", required_argument, 0, 'z'}, {"map", required_argument, 0, 'M'},
        {"rate", required_argument, 0, 'a'}, {"jobs", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    tw_fuse_opts o;
    tw_fuse_opts_init(&o);
    o.progress = tw_cli_progress;
    int c, mode = 0; /* 'R' or 'S': where bare arguments go */
    long jobs = 0;   /* 0: the default */
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
        case 'R':
        case 'S':
            if (c != 1)
                mode = c;
            if (!mode) {
                fprintf(stderr, "tw fuse: unexpected argument '%s'\n", optarg);
                return 2;
            }
            if ((mode == 'R' ? o.nreal : o.nsim) >= TW_FUSE_MAX_SOURCES) {
                fprintf(stderr, "tw fuse: at most %d --real and %d --sim folders\n", TW_FUSE_MAX_SOURCES,
                        TW_FUSE_MAX_SOURCES);
                return 2;
            }
            if (mode == 'R')
                o.real[o.nreal++] = optarg;
            else
                o.sim[o.nsim++] = optarg;
            break;
        case 'r': if (parse_pair(optarg, ':', &o.ratio_real, &o.ratio_sim)) goto bad; mode = 0; break;
        case 'p': if (parse_split(optarg, o.frac)) goto bad; mode = 0; break;
        case 's': o.seed = strtoull(optarg, &end, 10); if (*end || !*optarg) goto bad; mode = 0; break;
        case 'o': o.out_dir = optarg; mode = 0; break;
        case 'm': o.model_path = optarg; mode = 0; break;
        case 'w': o.window = (uint32_t)strtoul(optarg, &end, 10); if (*end || !*optarg) goto bad; mode = 0; break;
        case 'z': o.shard_size = (uint32_t)strtoul(optarg, &end, 10); if (*end || !*optarg) goto bad; mode = 0; break;
        case 'M': o.map_path = optarg; mode = 0; break;
        case 'a': o.rate_hz = strtod(optarg, &end); if (*end || !*optarg) goto bad; mode = 0; break;
        case 'j': jobs = strtol(optarg, &end, 10); if (*end || !*optarg || jobs < 1) goto bad; mode = 0; break;
        case 'q': o.progress = NULL; mode = 0; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o.out_dir) {
        fprintf(stderr, "tw fuse: --out is required\n");
        usage(stderr);
        return 2;
    }
    char msg[1024];
    int rc = start_ranks(&o, jobs, msg, sizeof msg);
    if (rc >= 0)
        return rc;
    tw_fuse_result res;
    rc = tw_fuse_run(&o, &res, msg, sizeof msg);
    int local = o.nranks > 1 && !tw_mpi_launched(); /* its error is the supervisor's to report */
    tw_mpi_local_finish(rc, msg);
    if (rc && !local)
        fprintf(stderr, "tw %s%s\n", strncmp(msg, "fuse: ", 6) ? "fuse: " : "", msg);
    else if (!rc && o.rank == 0 && o.progress)
        fprintf(stderr, "tw fuse: %u episodes -> %llu train / %llu val / %llu test samples in %s\n", res.episodes,
                (unsigned long long)res.samples[0], (unsigned long long)res.samples[1],
                (unsigned long long)res.samples[2], o.out_dir);
    tw_mpi_finalize();
    return rc ? 1 : 0;
bad:
    fprintf(stderr, "tw fuse: bad value '%s'\n", optarg);
    return 2;
}
