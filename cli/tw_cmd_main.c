/* main() of one tw-<command> executable (cli/meson.build compiles this file once per command, with
 * TW_CMD_NAME and TW_CMD_FN set). tw execs it with tw's own argv, "tw <command> ARGS", so ps and
 * /proc/PID/cmdline show what the user typed; the process is renamed "tw" for the same reason
 * (pgrep/pkill tw, and the MPI tests find ranks by that name). */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "tw_cli.h"

void tw_cli_progress(void *user, const tw_progress *p)
{
    if (p->line)
        fprintf(stderr, "%s\n", p->line);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], TW_CMD_NAME) != 0) {
        fprintf(stderr, "tw-%s is run by tw: use 'tw %s'\n", TW_CMD_NAME, TW_CMD_NAME);
        return 2;
    }
    prctl(PR_SET_NAME, "tw");
    return TW_CMD_FN(argc - 1, argv + 1);
}
