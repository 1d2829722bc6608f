/* Fault injection for the crash tests: TW_FAULT_STEP=PHASE:N kills the process (SIGKILL, as
 * kill -9 or a crash would) at the Nth step of PHASE ("close" or "recover"), so a test can stop
 * an episode's close or recovery at every step in turn. */
#include "tw_episode_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long counts[2];

void tw_fault_point(const char *phase)
{
    /* read every time (a dozen calls per close): a test sets it in a forked child */
    const char *e = getenv("TW_FAULT_STEP");
    size_t l = strlen(phase);
    if (!e || strncmp(e, phase, l) != 0 || e[l] != ':')
        return;
    long n = ++counts[strcmp(phase, "close") == 0 ? 0 : 1];
    if (n == strtol(e + l + 1, NULL, 10))
        raise(SIGKILL);
}
