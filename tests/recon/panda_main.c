/* tw_panda_episode CSV DIR: the real Panda log as an episode (for CLI tests and bench/sysid). */
#include <stdio.h>

#include "panda_csv.h"

int main(int argc, char **argv)
{
    char msg[1024] = "";
    if (argc != 3) {
        fprintf(stderr, "usage: tw_panda_episode CSV EPISODE_DIR\n");
        return 2;
    }
    if (panda_csv_episode(argv[1], argv[2], msg, sizeof msg)) {
        fprintf(stderr, "tw_panda_episode: %s\n", msg);
        return 1;
    }
    return 0;
}
