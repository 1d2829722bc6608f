/* A minimal teleworld.v1 server for the client tests: checks the bearer token, answers
 * hello with welcome and episode control with ack, decodes every data frame with the
 * codec and counts per stream, and can misbehave on command (drop the connection,
 * send raw or malformed messages, ping). Runs on its own thread, one session at a
 * time. Deliberately small: the real recorder replaces it in integration tests. */
#ifndef TW_TEST_SERVER_H
#define TW_TEST_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "tw_wire.h"

typedef struct tts tts;

typedef struct {
    uint64_t frames, bytes;
    uint64_t first_seq, last_seq;
    uint64_t gaps;        /* sum of skipped seq numbers */
    uint64_t disorder;    /* seq not greater than the previous one (duplicates, reordering) */
    uint64_t discont;     /* frames flagged TW_FLAG_DISCONT */
} tts_stream;

typedef struct {
    uint64_t connections, auth_refused, hellos;
    uint64_t starts, stops, aborts, annotates, metadatas;
    uint64_t bad_text, bad_frames, frames;
    uint64_t pongs;
    uint64_t clean_closes;     /* close frames with status 1000 from the client */
    uint64_t pong_id;
    int64_t pong_t0, pong_t1, pong_t2;
    char last_task[TW_MAX_TEXT];
    char last_start_metadata[TW_MAX_META];
    tts_stream streams[65536 / 1024]; /* indexed by stream id (tests use ids < 64) */
} tts_counts;

typedef struct {
    const char *token;
    int port;                  /* 0: any free port */
    const char *cert, *key;    /* PEM files: serve wss instead of ws */
    int refuse_in_hello;       /* accept the upgrade, then answer hello with a fatal AUTH error */
} tts_opts;

int tts_start_opts(const tts_opts *o, tts **out);
int tts_start(const char *token, int port, tts **out); /* plain ws, token checked at the upgrade */
int tts_port(const tts *s);
void tts_stop(tts *s);
void tts_counts_get(tts *s, tts_counts *out);
/* Closes the current connection abruptly once the server has counted n data frames
 * in total (0: at once). One-shot. */
void tts_drop_after(tts *s, uint64_t n);
/* Queues a raw websocket message for the current session. */
void tts_send_raw(tts *s, const void *data, size_t len, int binary);
/* Sends ping {id, t0_ns} to the current session. */
void tts_send_ping(tts *s, uint64_t id, int64_t t0_ns);
/* Reject the next episode_start with a non-fatal error of this code (e.g. "STATE"). */
void tts_refuse_next_start(tts *s, const char *code);

#endif
