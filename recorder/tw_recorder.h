/* recorder: a libwebsockets server that captures teleop sessions from many rigs into
 * crash-safe episodes (schemas/protocol.md in, schemas/episode.md out).
 *
 * Threads: tw_recorder_run() services the network on the calling thread; one writer
 * thread owns every episode file. Between them sits ONE bounded byte queue
 * (queue_bytes): received binary messages are copied into it once and never grow it
 * past the cap, so memory is set by configuration, not by how fast clients send. */
#ifndef TW_RECORDER_H
#define TW_RECORDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tw_core.h"
#include "tw_episode.h"
#include "tw_wire.h"

typedef enum {
    TW_POLICY_BACKPRESSURE = 0, /* queue full: stop reading that client's socket until it drains */
    TW_POLICY_DROP_NEWEST,      /* queue full: drop the incoming message, count its frames per stream */
} tw_rec_policy;

typedef struct {
    const char *host;          /* bind address; default "127.0.0.1" (loopback) */
    int port;                  /* 0 picks a free port, see tw_recorder_port() */
    const char *out_dir;       /* required: episodes go to out_dir/<episode-id>/ */
    const char *token;         /* required: shared secret clients must present */
    const char *cert, *key;    /* both set: serve wss:// and https:// */
    uint32_t flush_ms;         /* writer makes data durable this often (default 1000) */
    size_t queue_bytes;        /* cap on queued received data (default 256 MiB) */
    tw_rec_policy policy;      /* default backpressure */
    uint32_t status_ms;        /* status message / operator line period (default 1000) */
    uint32_t ping_ms;          /* clock-sync ping period (default 1000) */
    uint32_t ping_timeout_ms;  /* a session that answers no ping this long is dropped, its open
                                * episode closed "interrupted" (default 15000) */
    uint32_t max_sessions;     /* concurrent websocket sessions (default 32) */
    uint32_t ctrl_rate;        /* control messages per second per session (default 200) */
    int compression;           /* gzip level for signal datasets (default 1; applied when an episode closes) */
    FILE *log;                 /* operator output (status line / log lines); NULL = silent */
    int log_tty;               /* 1: redraw one status line; 0: one log line per period */
    int64_t id_time_s;         /* > 0: the UTC time (Unix seconds) in every episode id instead of the
                                * episode's start, for reproducible ids (the data keeps real times) */
} tw_recorder_opts;

void tw_recorder_opts_init(tw_recorder_opts *o);

typedef struct tw_recorder tw_recorder;

/* Recovers episodes left "recording" under out_dir, binds the port and starts the writer.
 * *out is owned by the caller and released with tw_recorder_close(). */
int tw_recorder_open(const tw_recorder_opts *o, tw_recorder **out, char *msg, size_t msgsz);
/* The bound TCP port (useful with port 0). */
int tw_recorder_port(const tw_recorder *r);
/* Serves until tw_recorder_stop(); then closes open episodes as "interrupted" and drains
 * the queue to disk. Returns 0 or a negative tw_err. */
int tw_recorder_run(tw_recorder *r, char *msg, size_t msgsz);
/* Asks run() to finish. Async-signal-safe and callable from any thread. */
void tw_recorder_stop(tw_recorder *r);
void tw_recorder_close(tw_recorder *r); /* NULL is a no-op */

/* Current state as a JSON object text (what GET /status returns); malloc'd, caller frees.
 * Only safe from the run() thread or when run() is not running. */
char *tw_recorder_status_json(tw_recorder *r);

/* Token helpers for the front end. Reads the first line of path (whitespace trimmed). */
int tw_recorder_token_load(const char *path, char *tok, size_t toksz, char *msg, size_t msgsz);
/* Loads dir/.token, or creates it (mode 0600) with 32 random hex bytes; *created says which. */
int tw_recorder_token_ensure(const char *dir, char *tok, size_t toksz, int *created, char *msg,
                             size_t msgsz);

#endif
