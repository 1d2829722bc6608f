/* Internals shared by tw_client.c (caller-side API), tw_client_ring.c (the bounded
 * buffer) and tw_client_lws.c (the service thread). Not a public header. */
#ifndef TW_CLIENT_INT_H
#define TW_CLIENT_INT_H

#include <pthread.h>
#include <libwebsockets.h>

#include "tw_client.h"

/* Byte ring of records: a tw_rec header, then either one wire-encoded data frame
 * (made by tw_frame_encode) or the JSON text of a control message. Keeping control and
 * data in one ring is what preserves their relative order on the wire. */
typedef struct {
    uint32_t len;  /* bytes after this header */
    uint16_t ctl;  /* tw_client_ctl kind, or TW_REC_DATA */
    uint16_t pad;
} tw_rec;
#define TW_REC_DATA 0xffffu

typedef struct {
    uint8_t *buf;
    size_t cap, head, used; /* head: offset of the oldest byte */
} tw_ring;

int tw_ring_init(tw_ring *r, size_t cap);
void tw_ring_free(tw_ring *r);
/* Appends a then b (either may be empty); caller has checked the room. */
void tw_ring_push(tw_ring *r, const void *a, size_t alen, const void *b, size_t blen);
/* Copies n bytes starting off bytes after head. */
void tw_ring_peek(const tw_ring *r, size_t off, void *dst, size_t n);
void tw_ring_pop(tw_ring *r, size_t n);
/* Pointer to n contiguous free bytes at the tail, or NULL when they would wrap;
 * tw_ring_commit then accounts for them. */
uint8_t *tw_ring_tail(tw_ring *r, size_t n);
void tw_ring_commit(tw_ring *r, size_t n);

/* Control kinds that the server acknowledges, indexes of per-kind counters. */
typedef enum {
    TW_CTL_START = 0,
    TW_CTL_STOP,
    TW_CTL_ABORT,
    TW_CTL_ANNOTATE,
    TW_CTL_METADATA,
    TW_CTL__COUNT
} tw_client_ctl;

#define TW_CLIENT_CTL_RESERVE (64u << 10) /* ring room only control records may use */
#define TW_CLIENT_MAX_PONGS 16

struct tw_client {
    tw_client_opts o;            /* string members point at the copies below */
    char *url, *token, *client_name, *rig_name;
    char host[256], path[512];
    int port, ssl;

    pthread_mutex_t mu;          /* guards everything below except the lws-only part */
    pthread_cond_t cv;           /* broadcast on state change, ack, error, ring drained */

    /* streams (set once by declare; read-only afterwards) */
    tw_stream_table *table;
    char *hello_json;
    uint8_t idx_of[65536];       /* stream id -> index+1 into seq/discont, 0 unknown */
    uint64_t seq[TW_MAX_STREAMS];
    uint8_t discont[TW_MAX_STREAMS];

    tw_ring ring;
    uint8_t *scratch;            /* encodes a frame whose record would wrap the ring */
    size_t scratch_cap;
    size_t data_bytes;           /* bytes of data records in the ring */
    uint64_t data_records;
    int wake_pending;            /* lws_cancel_service already requested */

    /* episode state as far as the socket has seen it, for resume after reconnect */
    int ep_open_sent;
    char *resume_json;
    int ep_open_queued;          /* as far as the caller has queued */

    uint64_t requested[TW_CTL__COUNT], handed[TW_CTL__COUNT], acked[TW_CTL__COUNT];
    uint64_t err_at_req[TW_CTL__COUNT]; /* st.server_errors when each kind was last queued */
    uint64_t err_gen;            /* any error noted (local or server) */
    int srv_err;                 /* last server error message, as a TW_E* code */
    char srv_msg[TW_MAX_TEXT];

    struct { uint64_t id; int64_t t0, t1; } pongs[TW_CLIENT_MAX_PONGS];
    int npongs;
    int ping_due;
    uint64_t ping_id;
    int64_t ping_t0;
    tw_clock_sync sync; /* live clock-offset estimate (bridge/core) */

    tw_client_stats st;          /* counters; state mirrors `state` */
    tw_client_state state;
    int fail_err;
    char fail_msg[TW_MAX_TEXT];
    int stopping;                /* the service thread must exit now */
    int closing;                 /* tw_client_close: close the websocket cleanly first */
    int tx_partial;              /* lws still holds bytes the socket did not take */
    int sock_open;               /* a websocket is established (mirror of `established`) */

    /* service thread only */
    pthread_t thr;
    struct lws_context *ctx;
    struct lws *wsi;
    int live;                    /* a connection attempt or session exists */
    int established, hello_sent, welcomed, resume_pending;
    int permanent;               /* 0, or TW_EAUTH / TW_EVERSION: do not retry */
    int attempts;                /* consecutive failed attempts */
    char cause[TW_MAX_TEXT];     /* why the last connection ended */
    lws_sorted_usec_list_t sul_retry, sul_ping;
    uint8_t *tx;                 /* LWS_PRE + batch */
    size_t txcap;
    char *rx;                    /* text reassembly */
    size_t rxlen;
    int rx_overflow;
};

/* tw_client_io.c */
/* Callback work collected under the lock and run after it is released, so user
 * callbacks may call back into the client. */
typedef struct {
    int state_changed;
    tw_client_state st;
    int err, fatal;
    char errmsg[TW_MAX_TEXT + 128];
} tw_client_deferred;
void tw_client_run_deferred(tw_client *c, tw_client_deferred *d);
void tw_client_defer_error(tw_client *c, tw_client_deferred *d, int err, int fatal, const char *text);
void tw_client_defer_state(tw_client *c, tw_client_deferred *d, tw_client_state st);
int tw_client_io_write(tw_client *c, struct lws *wsi);        /* on CLIENT_WRITEABLE */
void tw_client_io_receive(tw_client *c, struct lws *wsi, const void *in, size_t len);
/* Handles one complete server text message (any bytes); returns 1 when a reply is due. */
int tw_client_io_text(tw_client *c, const char *text, size_t len);

/* tw_client_lws.c */
int tw_client_lws_start(tw_client *c, char *msg, size_t msgsz);
void tw_client_lws_stop(tw_client *c);
void tw_client_wake(tw_client *c); /* caller thread: ask the service thread to write */

/* tw_client.c: control kind of an ack's `what` ("episode_start", ...), or -1. */
int tw_client_ctl_of(const char *what);
/* State change under c->mu; returns 1 when the callback must be called. */
int tw_client_set_state_locked(tw_client *c, tw_client_state st);
void tw_client_note_error_locked(tw_client *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
