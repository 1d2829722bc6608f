/* tw: the teleworld command-line front end. Each subcommand is its own executable, tw-<command>,
 * linked against only the libraries it uses: one program linking everything (FFmpeg, GStreamer, EGL,
 * libwebsockets, OpenBLAS, MPI: ~180 shared objects) spent ~80 ms of CPU loading them before any
 * command ran. tw itself links none of them; it finds tw-<command> and execs it with tw's own argv,
 * so the process (pid, arguments, stdin/stdout, signals, exit status) is the subcommand's. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tw_core.h"
#include "tw_episode.h"
#include "tw_wire.h"
#include "tw_config.h"

typedef struct {
    const char *name;
    const char *summary;
} tw_subcmd;

static const tw_subcmd subcmds[] = {
    {"record", "run the recorder server that captures teleop sessions into episodes"},
    {"recover", "repair episodes interrupted by a crash"},
    {"inspect", "print an episode's summary and check its integrity"},
    {"rig", "virtual teleoperation rig: simulate a robot and stream it to a recorder"},
    {"replay", "align an episode and reconstruct it in MuJoCo; measure the sim-to-real gap"},
    {"sysid", "fit a robot's per-joint armature, damping, friction and effort offset to recorded episodes"},
    {"simgen", "generate a randomized simulated corpus in the episode layout"},
    {"fuse", "mix real and simulated episodes into training shards"},
    {"wm", "world model: train, evaluate, plan with it on the perturbed robot (tw wm train|eval|plan)"},
    {"gap", "sim-to-real report: mix ratios and strategies, closed loop, intervals, system identification"},
    {"import", "episodes from other formats (tw import --help lists them)"},
    {"export", "episodes or fused datasets to other formats (tw export --help lists them)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tw <command> [options]\n       tw --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcmds / sizeof subcmds[0]; i++)
        fprintf(f, "  %-8s %s\n", subcmds[i].name, subcmds[i].summary);
    fprintf(f, "\n'tw <command> --help' describes a command's options.\n");
}

/* Whether dir[/sub]/tw-<name> is an executable; path gets it. */
static int is_subcmd(const char *dir, const char *sub, const char *name, char *path, size_t pathsz)
{
    int len = snprintf(path, pathsz, "%s%s%s/tw-%s", dir, *sub ? "/" : "", sub, name);
    return len > 0 && (size_t)len < pathsz && access(path, X_OK) == 0;
}

/* Path of tw-<name>, tried in order: next to this executable (the build tree), the libexec dir
 * relative to it (an installed tree, wherever it was moved or staged with DESTDIR), then the
 * configured libexec dir. Returns 0 with path filled, or -1 if none is executable. */
static int find_subcmd(const char *name, char *path, size_t pathsz)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        *strrchr(self, '/') = '\0'; /* the link is an absolute path */
        const char *rel = TW_LIBEXECDIR_FROM_BINDIR; /* absolute when bindir or libexecdir is */
        if (is_subcmd(self, "", name, path, pathsz) || (rel[0] != '/' && is_subcmd(self, rel, name, path, pathsz)))
            return 0;
    }
    return is_subcmd(TW_LIBEXECDIR, "", name, path, pathsz) ? 0 : -1;
}

static int run_subcmd(const char *name, char **argv)
{
    char path[PATH_MAX];
    if (find_subcmd(name, path, sizeof path) != 0) {
        fprintf(stderr, "tw: '%s' is not installed (no tw-%s next to tw or in %s)\n", name, name, TW_LIBEXECDIR);
        return 127;
    }
    execv(path, argv);
    fprintf(stderr, "tw: cannot run %s: %s\n", path, strerror(errno));
    return 126;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("tw %s (protocol %s, episode format %d.%d)\n", TW_VERSION_STRING, TW_SUBPROTOCOL,
               TW_EPISODE_MAJOR, TW_EPISODE_MINOR);
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcmds / sizeof subcmds[0]; i++)
        if (!strcmp(argv[1], subcmds[i].name))
            return run_subcmd(subcmds[i].name, argv);
    fprintf(stderr, "tw: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
