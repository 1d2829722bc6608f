/* tw: the teleworld command-line front end. Dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "tw_bridge.h"
#include "tw_cli.h"
#include "tw_config.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} tw_subcmd;

static const tw_subcmd subcmds[] = {
    {"record", tw_cmd_record, "run the recorder server that captures teleop sessions into episodes"},
    {"recover", tw_cmd_recover, "repair episodes interrupted by a crash"},
    {"inspect", tw_cmd_inspect, "print an episode's summary and check its integrity"},
    {"rig", tw_cmd_rig, "virtual teleoperation rig: simulate a robot and stream it to a recorder"},
    {"replay", tw_cmd_replay, "align an episode and reconstruct it in MuJoCo; measure the sim-to-real gap"},
    {"simgen", tw_cmd_simgen, "generate a randomized simulated corpus in the episode layout"},
    {"fuse", tw_cmd_fuse, "mix real and simulated episodes into training shards"},
    {"wm", tw_cmd_wm, "train and evaluate a baseline world model (tw wm train|eval)"},
    {"gap", tw_cmd_gap, "sim-to-real report: error versus mix ratio, and system identification"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tw <command> [options]\n       tw --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcmds / sizeof subcmds[0]; i++)
        fprintf(f, "  %-8s %s\n", subcmds[i].name, subcmds[i].summary);
    fprintf(f, "\n'tw <command> --help' describes a command's options.\n");
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
            return subcmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tw: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
