/* tw gap --fit: placeholder until replay's system identification lands. */
#include "tw_gap_int.h"

int tw_gap_fit(const tw_gap_opts *o, gap_result *g, char *msg, size_t msgsz)
{
    (void)o;
    (void)g;
    return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "gap --fit: system identification is not built yet");
}
