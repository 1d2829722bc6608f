/* Internals of the virtual rig shared by tw_rig.c, tw_rig_out.c and tw_rig_cam.c. */
#ifndef TW_RIG_INT_H
#define TW_RIG_INT_H

#include "tw_client.h"
#include "tw_rig.h"


#define TW_RIG_ITEM_MAX 1024 /* payload bytes of one delayed signal sample (3 x 32 x 8 = 768 max) */

typedef struct {
    double release_g;        /* sim time at which it may be sent */
    int64_t t_src_ns;
    uint16_t sid;
    uint16_t len;
    uint8_t payload[TW_RIG_ITEM_MAX];
} tw_rig_item;

/* Delay line: a ring of items, released in order once sim time passes their release time. */
typedef struct {
    tw_rig_item *items;
    size_t cap, head, len;
} tw_rig_delay;

int tw_rig_delay_init(tw_rig_delay *q, double latency_s, double rate_sum_hz, char *msg, size_t msgsz);
void tw_rig_delay_free(tw_rig_delay *q);
/* Queues one sample (copied); TW_EFULL only if the line was sized wrong (a bug). */
int tw_rig_delay_push(tw_rig_delay *q, double release_g, uint16_t sid, int64_t t_src_ns, const void *p, size_t len);
/* Sends every item due at sim time g (all of them if g is +inf) through the client, counting per stream.
 * Returns 0 or the client's error. */
int tw_rig_delay_release(tw_rig_delay *q, double g, tw_client *c, tw_rig_result *res, char *msg, size_t msgsz);

/* The rig's declarations for options o (see tw_sim_stream_decls in tw_rig.h); 4 or 5 entries. */
static inline int tw_rig_decls(const tw_robot *r, const tw_rig_opts *o, tw_stream_decl d[5])
{
    return tw_sim_stream_decls(r, o->js_rate, o->ft_rate, o->action_rate, d);
}
#endif
