/* tw recover DIR: finish every interrupted episode under DIR (bridge/episode). */
#include <getopt.h>
#include <stdio.h>

#include "tw_cli.h"
#include "tw_media.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tw recover DIR\n\n"
            "Turns every interrupted episode into a valid one. DIR is an episode directory or a\n"
            "directory of episodes (as written by `tw record --out DIR`). An episode whose writer\n"
            "died (kill -9, power loss) still has its journal; its episode.h5 is rebuilt from the\n"
            "journal up to the last flush, its video files are cut to the indexed frames, and its\n"
            "status becomes \"interrupted\" (an episode.h5 that exists but cannot be read is rebuilt\n"
            "the same way). A journal with no data (the writer died before its first record, e.g. on a\n"
            "full disk) is removed with its directory, or beside a readable episode.h5 alone; both are\n"
            "reported. Finished episodes are never rewritten, only checked; an episode whose journal\n"
            "is still locked by a running recorder is reported as failed.\n\n"
            "Exit status: 0 when every episode opens afterwards, 1 when one could not be recovered or\n"
            "is unreadable (each named on a FAILED line), 2 on a usage error.\n");
}

static void report(void *ud, const char *dir, int rc, int changed, const char *what)
{
    int *counts = ud;
    counts[rc ? 2 : changed ? 0 : 1]++;
    if (rc)
        printf("FAILED     %s: %s (%s)\n", dir, what, tw_err_name(rc));
    else
        printf("%-10s %s: %s\n", changed ? "recovered" : "untouched", dir, what);
}

int tw_cmd_recover(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    tw_media_use_for_episodes(); /* camera streams: their video files are cut to the index */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    int counts[3] = {0, 0, 0};
    char msg[512] = "";
    int rc = tw_episode_recover_tree(argv[optind], report, counts, msg, sizeof msg);
    if (rc && counts[0] + counts[1] + counts[2] == 0) {
        fprintf(stderr, "tw recover: %s\n", msg);
        return 1;
    }
    printf("%d recovered, %d untouched, %d failed\n", counts[0], counts[1], counts[2]);
    return counts[2] ? 1 : 0;
}
