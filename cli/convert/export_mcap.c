/* tw export mcap (placeholder until written) */
#include "tw_convert.h"
int tw_export_mcap(int argc, char **argv) { (void)argc; (void)argv; return 1; }
