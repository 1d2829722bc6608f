/* tw_foxglove: a client of the foxglove.websocket.v1 protocol (what foxglove_bridge and the Foxglove
 * SDK serve): serverInfo, advertise / unadvertise, subscribe, binary message data with the server's
 * receive timestamp, time messages. Transport only: it hands channels and message bytes to the
 * caller, who decodes them (bridge/ros2, bridge/rosmap).
 *
 * Single-threaded: every callback runs inside tw_fox_service() on the caller's thread. One tw_fox is
 * one connection; after it drops (tw_fox_service returns TW_ECLOSED) close it and connect a new one.
 * Functions return 0 or a negative TW_E... code and say what went wrong in (err, errsz). */
#ifndef TW_FOXGLOVE_H
#define TW_FOXGLOVE_H

#include <stddef.h>
#include <stdint.h>

#include "tw_core.h"

#define TW_FOX_SUBPROTOCOL "foxglove.websocket.v1"
/* The same protocol under the name the Foxglove SDK (0.x) and newer foxglove_bridge releases serve. */
#define TW_FOX_SUBPROTOCOL_SDK "foxglove.sdk.v1"

typedef struct tw_fox tw_fox;

typedef struct {
    uint32_t id;
    const char *topic, *encoding;  /* message encoding: "cdr", "json", "protobuf" */
    const char *schema_name;
    const char *schema_encoding;   /* as advertised, or inferred: cdr -> ros2msg, json -> jsonschema */
    const uint8_t *schema;         /* the schema text (base64 for binary schema encodings, as sent) */
    size_t schema_len;
} tw_fox_channel;

typedef struct {
    const char *url;               /* ws://host:port[/path] */
    size_t max_message;            /* largest message accepted (default 16 MiB); larger: dropped, counted */
    void *user;
    /* Called for each advertised channel (strings valid during the call). */
    void (*on_channel)(void *user, const tw_fox_channel *ch);
    void (*on_unadvertise)(void *user, uint32_t channel_id);
    /* A message on a subscribed channel; recv_ns: the server's receive (log) time; t_local_ns: our
     * CLOCK_REALTIME at arrival. data valid during the call. */
    void (*on_message)(void *user, uint32_t channel_id, uint64_t recv_ns, int64_t t_local_ns, const uint8_t *data,
                       size_t len);
    void (*on_time)(void *user, uint64_t server_ns, int64_t t_local_ns);
} tw_fox_opts;

typedef struct {
    uint64_t messages, bytes, oversize, bad; /* received, too large, unparsable server messages */
    char server_name[128];
    int connected;
} tw_fox_stats;

void tw_fox_opts_init(tw_fox_opts *o);
/* Connects and waits up to timeout_ms for the server's serverInfo. *out is set at once, so callbacks
 * run meanwhile (channels advertised with serverInfo) may call tw_fox_subscribe; NULL on failure. TW_ECONNECT when refused or not a
 * foxglove.websocket.v1 server, TW_ETIMEOUT. */
int tw_fox_connect(const tw_fox_opts *o, int timeout_ms, tw_fox **out, char *err, size_t errsz);
/* Subscribes to a channel (subscription id = channel id). */
int tw_fox_subscribe(tw_fox *f, uint32_t channel_id, char *err, size_t errsz);
/* Services the connection for up to timeout_ms: 0, or TW_ECLOSED once the connection is gone. */
int tw_fox_service(tw_fox *f, int timeout_ms);
void tw_fox_stats_get(const tw_fox *f, tw_fox_stats *out);
void tw_fox_close(tw_fox *f); /* NULL is a no-op */

#endif
