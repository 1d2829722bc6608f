/* tw import / tw export: converters between teleworld episodes and the formats labs already use.
 * A thin layer that joins libraries (bridge/episode, bridge/media, bridge/parquet, bridge/mcap, bridge/ros2):
 * one file per format and direction; each entry point parses its own flags (argv[0] is the format name)
 * and returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef TW_CONVERT_H
#define TW_CONVERT_H

#include "tw_cli.h"

typedef int (*tw_convert_fn)(int argc, char **argv);

typedef struct {
    const char *format;  /* "lerobot", "robomimic", "mcap" */
    const char *summary; /* one line for `tw import --help` */
    tw_convert_fn run;
} tw_converter;

/* The converters built in (tw_convert_table.c); a format not yet built is simply absent. */
extern const tw_converter tw_importers[];
extern const tw_converter tw_exporters[];

/* mcap (import_mcap.c, export_mcap.c) */
int tw_import_mcap(int argc, char **argv);
int tw_export_mcap(int argc, char **argv);

#endif
