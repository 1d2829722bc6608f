/* tw import FORMAT ... and tw export FORMAT ...: pick the converter by format name. */
#include <stdio.h>
#include <string.h>

#include "tw_convert.h"

static void usage(FILE *f, const char *verb, const tw_converter *t)
{
    fprintf(f, "usage: tw %s FORMAT ARGS...   ('tw %s FORMAT --help' for a format's options)\n\nformats:\n", verb,
            verb);
    for (; t->format; t++)
        fprintf(f, "  %-10s %s\n", t->format, t->summary);
}

static int dispatch(const char *verb, const tw_converter *table, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout, verb, table);
        return argc < 2 ? 2 : 0;
    }
    for (const tw_converter *t = table; t->format; t++)
        if (!strcmp(argv[1], t->format))
            return t->run(argc - 1, argv + 1);
    fprintf(stderr, "tw %s: unknown format '%s'\n", verb, argv[1]);
    usage(stderr, verb, table);
    return 2;
}

int tw_cmd_import(int argc, char **argv) { return dispatch("import", tw_importers, argc, argv); }
int tw_cmd_export(int argc, char **argv) { return dispatch("export", tw_exporters, argc, argv); }
