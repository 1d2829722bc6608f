/* tw_synth_episode DIR [--model M] [--perturb SPEC] [--duration S] [--rename-joint J]
 * [--clock-offset-ms MS] [--video]: writes one synthetic episode (see synth.h) for script tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tw_synth_episode DIR [--model M] [--perturb SPEC] [--duration S] "
                        "[--rename-joint J] [--clock-offset-ms MS] [--video]\n");
        return 2;
    }
    synth_opts o;
    synth_opts_init(&o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--video")) { o.with_video_index = 1; continue; }
        if (!v) { fprintf(stderr, "%s needs a value\n", a); return 2; }
        if (!strcmp(a, "--model")) o.model = strcmp(v, "builtin") ? v : NULL;
        else if (!strcmp(a, "--perturb")) o.perturb = v;
        else if (!strcmp(a, "--duration")) o.duration_s = atof(v);
        else if (!strcmp(a, "--rename-joint")) o.rename_joint = atoi(v);
        else if (!strcmp(a, "--clock-offset-ms")) o.clock_offset_ms = atof(v);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else { fprintf(stderr, "unknown option %s\n", a); return 2; }
        i++;
    }
    char msg[1024];
    if (synth_episode(argv[1], &o, msg, sizeof msg) != 0) {
        fprintf(stderr, "tw_synth_episode: %s\n", msg);
        return 1;
    }
    return 0;
}
