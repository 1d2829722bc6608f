/* The tw front end: one function per subcommand, each parses its own flags and is the body of its own
 * executable, tw-<command> (tw_cmd_main.c), which tw execs (tw.c). */
#ifndef TW_CLI_H
#define TW_CLI_H

#include "tw_core.h"

/* Each returns the process exit status (0 ok, 1 failure, 2 usage error). argv[0] is the subcommand. */
int tw_cmd_record(int argc, char **argv);
int tw_cmd_recover(int argc, char **argv);
int tw_cmd_inspect(int argc, char **argv);
int tw_cmd_rig(int argc, char **argv);
int tw_cmd_replay(int argc, char **argv);
int tw_cmd_simgen(int argc, char **argv);
int tw_cmd_fuse(int argc, char **argv);
int tw_cmd_wm(int argc, char **argv);
int tw_cmd_gap(int argc, char **argv);
int tw_cmd_sysid(int argc, char **argv);
int tw_cmd_import(int argc, char **argv);
int tw_cmd_export(int argc, char **argv);

/* The front ends' one progress printer (tw_progress_fn, bridge/core): each line on stderr. */
void tw_cli_progress(void *user, const tw_progress *p);

#endif
