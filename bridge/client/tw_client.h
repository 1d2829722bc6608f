/* teleworld.v1 client library for teleop rigs (issue 3).
 *
 * One tw_client is one rig's connection to a recorder. It owns a libwebsockets
 * context and a service thread; the caller's thread only copies samples into a
 * bounded outgoing buffer (tw_client_send never blocks and never does I/O).
 *
 * Ordering: data frames and episode control messages leave in the order they
 * were queued, so an episode_stop is never overtaken by the frames before it.
 * Reconnect: when the connection drops the client reconnects with exponential
 * back-off, re-sends hello and (if an episode is open) its episode_start, then the
 * frames still buffered, with their seq numbers unchanged. The server makes that a new
 * episode; its metadata gains "resumed_from": <previous episode id> so readers can
 * stitch the two. Frames already handed to the socket when it broke are lost (the
 * per-stream seq shows the gap). Frames refused because the buffer
 * was full are counted in tw_client_stats.dropped and make tw_client_send
 * return TW_EFULL; the next accepted frame of that stream carries TW_FLAG_DISCONT.
 * Clock: every timestamp the library produces (pong t1/t2, ping t0) comes from
 * opts.now_ns, so a virtual rig can inject offset and drift.
 * Callbacks run on the service thread; they may call tw_client_send and the
 * episode functions, but must not call tw_client_close, _flush or _wait_*. */
#ifndef TW_CLIENT_H
#define TW_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "tw_wire.h"

typedef struct tw_client tw_client;

typedef enum {
    TW_CLIENT_CONNECTING = 0, /* first connect attempt or handshake in progress */
    TW_CLIENT_READY,          /* websocket open and (if streams declared) welcome received */
    TW_CLIENT_BACKOFF,        /* connection lost; waiting to retry */
    TW_CLIENT_FAILED,         /* gave up: auth refused, or max_retries exhausted */
    TW_CLIENT_CLOSED,         /* tw_client_close in progress */
} tw_client_state;

typedef struct {
    const char *url;          /* ws://host:port[/path] or wss://...; required, copied */
    const char *token;        /* sent as "Authorization: Bearer <token>"; NULL/"" for none; copied */
    const char *client_name;  /* hello.client; default "teleworld-client" */
    const char *rig_name;     /* hello.rig; default "" */
    size_t queue_bytes;       /* bound of buffered data frames (headers+payloads); default 8 MiB */
    size_t batch_bytes;       /* max bytes of frames per websocket binary message; default 64 KiB */
    uint32_t backoff_min_ms;  /* first retry delay; doubles per failed attempt; default 100 */
    uint32_t backoff_max_ms;  /* cap of the retry delay; default 5000 */
    int max_retries;          /* consecutive failed attempts before TW_CLIENT_FAILED; default 10;
                               * <0 forever. A refused token (HTTP 401/403) or any fatal server
                               * error but TIMEOUT (AUTH, VERSION, NOSPACE, IO, protocol errors)
                               * fails at once: retrying cannot fix it. */
    uint32_t ping_interval_ms; /* client-initiated clock pings; 0 disables; default 1000 */
    int tls_insecure;         /* wss: accept self-signed / mismatching certificates */
    /* Clock for timestamps in clock sync (ns). Default: CLOCK_REALTIME. */
    int64_t (*now_ns)(void *user);
    void *user;               /* passed to now_ns and every callback */
    /* Optional callbacks (service thread). msg points into a decoded message valid only
     * during the call. */
    void (*on_state)(void *user, tw_client_state st);
    void (*on_status)(void *user, const tw_msg *status);
    void (*on_ack)(void *user, const char *what, const char *episode_id);
    /* err: negative TW_E* (server's code mapped with tw_err_from_name, or a local cause such
     * as TW_ECONNECT, TW_EAUTH, TW_ECLOSED, TW_EJSON for a malformed server reply). */
    void (*on_error)(void *user, int err, const char *message, int fatal);
} tw_client_opts;

typedef struct {
    tw_client_state state;
    uint64_t frames_sent, bytes_sent;   /* data frames / bytes handed to the socket */
    uint64_t frames_queued;             /* accepted by tw_client_send */
    uint64_t dropped;                   /* refused by tw_client_send because the buffer was full */
    uint64_t lost;                      /* never sent: discarded at close/failure */
    size_t queued_bytes, queue_cap;     /* buffer use now */
    uint64_t connects, reconnects;      /* successful sessions; those after the first */
    uint64_t failed_attempts;           /* connect attempts that failed (all time) */
    uint64_t bad_replies;               /* server messages that failed to decode */
    uint64_t server_errors;             /* error messages received */
    uint64_t pings_answered;            /* pongs sent for server pings */
    int have_status;
    tw_msg last_status;                 /* last TW_MSG_STATUS from the server (have_status) */
    int have_offset;
    int64_t clock_offset_ns;            /* server clock minus client clock (min-RTT estimate) */
    int64_t rtt_ns;                     /* round trip of that estimate */
    char episode_id[TW_MAX_NAME];       /* from the last episode_start ack, "" if none */
    int last_error;                     /* 0 or TW_E* of the last error seen */
    char last_error_msg[TW_MAX_TEXT];
} tw_client_stats;

void tw_client_opts_init(tw_client_opts *o);

/* Validates opts, starts the service thread and the first connect attempt, and returns
 * at once (use tw_client_wait_ready to wait for the session). */
int tw_client_open(const tw_client_opts *opts, tw_client **out, char *msg, size_t msgsz);
/* Closes the websocket cleanly (close status 1000; what is still buffered gets up to 1 s
 * to go out first), stops the thread and frees everything. Frames still unsent then are
 * counted as lost. Call tw_client_flush first to be sure everything was sent. NULL: no-op. */
void tw_client_close(tw_client *c);

/* Declares the session's streams (copied; validated with the codec) and sends hello on
 * every (re)connect. Once per client, before the first tw_client_send. */
int tw_client_declare(tw_client *c, const tw_stream_decl *decls, size_t n, char *msg, size_t msgsz);

/* Queues one sample: assigns the stream's next seq and encodes header+payload into the
 * buffer. Never blocks. Returns 0; TW_EFULL (counted as dropped; the seq is used up so
 * the receiver sees the gap) when the buffer lacks room; TW_EUNKNOWN_STREAM, TW_ESHAPE,
 * TW_ETOO_BIG or TW_ESCHEMA (video/event payload the codec rejects) for a frame the server
 * would refuse, with the reason in stats.last_error_msg and no seq used; TW_EINVAL for
 * unknown flag bits; TW_ECONNECT / TW_EAUTH once the client has FAILED.
 * flags: TW_FLAG_KEYFRAME (video), TW_FLAG_DISCONT (set by the library after a drop). */
int tw_client_send(tw_client *c, uint16_t stream_id, int64_t t_src_ns, uint16_t flags,
                   const void *payload, size_t len);

/* Episode control: queued in order with the data; answered by the server with an ack
 * (see tw_client_wait_ack). JSON arguments may be NULL or "" (none); they must be a JSON
 * object text. */
int tw_client_episode_start(tw_client *c, const char *task, const char *operator_, const char *robot,
                            const char *metadata_json, char *msg, size_t msgsz);
int tw_client_episode_stop(tw_client *c, int success, char *msg, size_t msgsz); /* -1 unknown, 0, 1 */
int tw_client_episode_abort(tw_client *c, const char *reason, char *msg, size_t msgsz);
int tw_client_annotate(tw_client *c, int64_t t_src_ns, const char *label, const char *data_json,
                       char *msg, size_t msgsz);
int tw_client_metadata(tw_client *c, const char *metadata_json, char *msg, size_t msgsz);

/* Waits until the session is READY. Returns 0, TW_ETIMEOUT, or the failure (TW_EAUTH,
 * TW_ECONNECT) with msg saying what happened. timeout_ms < 0 waits forever. */
int tw_client_wait_ready(tw_client *c, int timeout_ms, char *msg, size_t msgsz);
/* Waits until the last queued control message of kind `what` ("episode_start",
 * "episode_stop", "episode_abort", "annotate", "metadata") is acknowledged. Returns 0
 * (episode_id filled when given), the server's error code if it answered with an error,
 * TW_ETIMEOUT, or the failure cause. */
int tw_client_wait_ack(tw_client *c, const char *what, int timeout_ms, char *episode_id, size_t idsz,
                       char *msg, size_t msgsz);
/* Waits until the buffer is empty and the socket has taken every byte. 0, TW_ETIMEOUT, or
 * the failure cause. */
int tw_client_flush(tw_client *c, int timeout_ms, char *msg, size_t msgsz);

tw_client_state tw_client_get_state(tw_client *c);
void tw_client_stats_get(tw_client *c, tw_client_stats *out);
const char *tw_client_state_name(tw_client_state st);

/* CLOCK_REALTIME in ns: the default now_ns (user unused). */
int64_t tw_client_clock_realtime(void *user);

#endif
