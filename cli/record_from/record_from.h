/* tw record --from: state shared by cmd_record_from.c (connections, recorder) and record_from_topics.c
 * (channels, messages, the recorder session and its episodes). */
#ifndef RECORD_FROM_H
#define RECORD_FROM_H

#include <pthread.h>
#include <stdint.h>

#include "tw_cli.h"
#include "tw_client.h"
#include "tw_foxglove.h"
#include "tw_recorder.h"
#include "tw_rosmap.h"

typedef struct {
    char topic[256];
    tw_rostopic *t;
    uint32_t chan;       /* channel id on the current connection */
    int subscribed;      /* on the current connection */
    uint16_t sid;        /* stream id once declared (0: not recorded) */
    uint64_t received, sent, refused, failed;
    int64_t first_ns, last_ns; /* arrival of the first and latest message (the stream's nominal rate) */
    uint64_t window_start;     /* received count at the start of the current 1-s rate window */
    int collapsed;             /* the receive rate is below half the nominal one (marked once) */
} rf_topic;

typedef struct {
    const char *url, *out, *topics, *episode_topic, *task, *robot;
    int settle_ms, quiet;
    double duration_s, t_start;
    tw_rosmap *map;
    rf_topic tp[TW_MAX_STREAMS];
    size_t n;
    char unmapped[32][320];
    size_t nunmapped;
    uint32_t ep_chan;    /* channel id of --episode-topic, 0: none */
    int ep_chan_set;
    tw_ros2_schema *ep_schema;
    tw_ros2_msg *ep_msg;
    tw_recorder *rec;
    pthread_t rec_thr;
    char token[128];
    tw_client *cli;
    tw_stream_decl decls[TW_MAX_STREAMS];
    size_t ndecls;
    int episode_open;
    int want_episode;    /* --episode-topic said "start" (kept across a session that is not open yet) */
    uint64_t episodes, interrupted, connects, collapses;
    double window_t;      /* tw_mono_s() at the start of the rate window */
    _Atomic int64_t server_offset_ns; /* foxglove time messages: server clock minus ours */
    _Atomic int have_server_time;
    tw_fox *fox;
} rf_state;

/* tw record --from ...: the whole command (cmd_record.c hands over when it sees --from). */
int tw_cmd_record_from(int argc, char **argv);

void rf_on_channel(void *user, const tw_fox_channel *ch);
void rf_on_message(void *user, uint32_t channel_id, uint64_t recv_ns, int64_t t_local_ns, const uint8_t *data,
                   size_t len);
void rf_on_time(void *user, uint64_t server_ns, int64_t t_local_ns);
/* Opens a recorder session (tw_client on the recorder's loopback port) with the known streams. */
int rf_session_open(rf_state *s, char *err, size_t errsz);
/* Ends the session; lost = 1 leaves an open episode to the recorder ("interrupted"). */
void rf_session_close(rf_state *s, int lost);
void rf_episode_start(rf_state *s);
void rf_episode_stop(rf_state *s);
/* Once a second: a topic whose receive rate fell below half its nominal rate while the episode
 * records is marked with an annotation "receive_rate_collapse" (the foxglove protocol reports no
 * sequence numbers: a server dropping for a slow link is only visible as a rate collapse). */
void rf_check_rates(rf_state *s);
void rf_forget_channels(rf_state *s); /* a new connection numbers channels anew */
void rf_report(const rf_state *s);
void rf_free(rf_state *s);

#endif
