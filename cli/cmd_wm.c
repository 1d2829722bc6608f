/* tw wm — placeholder until its issue lands. */
#include <stdio.h>
#include <string.h>

#include "tw_cli.h"

int tw_cmd_wm(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: tw wm [options]\n\nNot implemented in this build yet.\n");
        return 0;
    }
    return tw_cli_unavailable("wm", "planned");
}
