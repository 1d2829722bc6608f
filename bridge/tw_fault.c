/* Fault injection for the crash tests: TW_FAULT_STEP=PHASE:N kills the process (SIGKILL, as
 * kill -9 or a crash would) at the Nth step of PHASE ("close" or "recover"), so a test can stop
 * an episode's close or recovery at every step in turn. Unset: one getenv per process. */
#include "tw_episode_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int parsed;
static char want_phase[16];
static long want_n;
static _Atomic long counts[2];

static void parse(void)
{
    const char *e = getenv("TW_FAULT_STEP");
    const char *c = e ? strchr(e, ':') : NULL;
    if (c && (size_t)(c - e) < sizeof want_phase) {
        memcpy(want_phase, e, (size_t)(c - e));
        want_phase[c - e] = 0;
        want_n = strtol(c + 1, NULL, 10);
    }
    parsed = 1;
}

void tw_fault_point(const char *phase)
{
    if (!parsed)
        parse();
    if (!want_n || strcmp(phase, want_phase) != 0)
        return;
    long n = ++counts[strcmp(phase, "close") == 0 ? 0 : 1];
    if (n == want_n)
        raise(SIGKILL);
}
