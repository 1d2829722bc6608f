/* recorder internals shared by its .c files; not installed, not used outside recorder/. */
#ifndef TW_REC_INTERNAL_H
#define TW_REC_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "tw_media.h"
#include "tw_recorder.h"

#define REC_OUTQ_MAX 64             /* queued outgoing text messages per session */
#define REC_CTRL_RESERVE (256u << 10) /* queue bytes only control records may use */
#define REC_MAX_BAD_MSGS 100         /* rejected messages before a session is closed */
#define REC_TICK_MS 100
#define REC_HELLO_TIMEOUT_NS (10 * 1000000000LL)
#define REC_MIN_FREE_BYTES (2u << 20)  /* below this much free space, episode_start is refused (NOSPACE) */
#define REC_STOP_GRACE_NS (10 * 1000000000LL) /* SIGINT: a held message waits at most this for room */
#define REC_CLOCK_KEEP 64               /* clock samples a session keeps for its next episode */

int64_t rec_now_ns(void); /* recorder clock: CLOCK_REALTIME in ns */

/* ---- the one bounded queue (rec_queue.c): single producer (network thread),
 * single consumer (writer thread); records never wrap, are 8-byte aligned. */
typedef enum {
    REC_WRAP = 0, /* consumer skips to offset 0 */
    REC_DATA,     /* one validated binary message; frames appended to ep */
    REC_OPEN,     /* create ep's files */
    REC_CLOSE,    /* a = success, payload = status string; frees ep afterwards */
    REC_EVENT,    /* payload "kind\0label\0data\0", t_ns */
    REC_CLOCK,    /* t_ns server time, a = offset, b = rtt */
    REC_DROPS,    /* a = stream id, b = count */
    REC_META,     /* payload "key\0json\0" */
} rec_rtype;

struct rec_episode;
typedef struct {
    uint32_t type, len; /* len: payload bytes following the header */
    struct rec_episode *ep;
    int64_t t_ns, a, b;
} rec_hdr;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint8_t *buf;
    size_t cap;      /* data_cap + REC_CTRL_RESERVE */
    size_t data_cap; /* data records may fill at most this much */
    size_t head, tail, used, peak;
    size_t res_pos, res_waste, res_need; /* the producer's open reservation */
    int stopping;    /* under mu only: rec_queue_stopping() */
    int waiting;     /* consumer sleeps on cond: only then does commit signal */
    int want_drain;  /* producer is waiting for space: consumer wakes it */
} rec_queue;

int rec_queue_init(rec_queue *q, size_t data_cap);
void rec_queue_destroy(rec_queue *q);
/* Producer: space for a record with len payload bytes, or NULL when full (control may use
 * the reserve). Fill the returned header's fields and payload, then rec_queue_commit(). */
rec_hdr *rec_queue_reserve(rec_queue *q, size_t len, int control);
void rec_queue_commit(rec_queue *q);
/* Consumer: next record or NULL at the deadline (absolute CLOCK_MONOTONIC ns) or when stopped
 * and empty. rec_queue_release() frees it; returns 1 when a waiting producer should be woken. */
rec_hdr *rec_queue_peek(rec_queue *q, int64_t deadline_mono_ns);
int rec_queue_release(rec_queue *q, const rec_hdr *h);
size_t rec_queue_used(rec_queue *q);
void rec_queue_stop(rec_queue *q);
int rec_queue_stopping(rec_queue *q);

/* ---- sessions and episodes ---- */
typedef struct {
    uint64_t received, dropped, bytes, idle;       /* network thread */
    _Atomic uint64_t written;                      /* writer thread */
    /* the writer's tracker counters of the open episode (tw_wire.h, "sequence numbers"): what its file will say */
    _Atomic uint64_t missing, duplicates, out_of_order, resets, nonmonotonic_t, nonfinite;
    uint64_t drops_unsent;                         /* drops+gaps not yet told to the episode */
    uint64_t prev_received, prev_bytes;            /* for rates */
    double rate_hz, rate_bps;
} rec_stream_stats;

struct tw_recorder;
typedef struct rec_session rec_session;

typedef struct rec_episode {
    uint64_t serial;
    char id[TW_MAX_NAME];
    char dir[PATH_MAX + TW_MAX_NAME + 2];
    rec_session *s;               /* holds a reference */
    char task[TW_MAX_TEXT], operator_[TW_MAX_NAME], robot[TW_MAX_NAME];
    char *metadata;               /* JSON text or NULL (owned) */
    int64_t started_ns;
    /* writer thread only */
    tw_episode_writer *w;
    int failed;
    uint64_t bytes_seen;
} rec_episode;

struct rec_session {
    struct tw_recorder *r;
    struct lws *wsi;         /* NULL once disconnected */
    atomic_int refs;         /* the connection + each episode */
    uint64_t num;
    char sid[TW_MAX_NAME], rig[TW_MAX_NAME], peer[64];
    int hello_done, closing;
    tw_stream_table *table;
    uint32_t nstreams;
    uint16_t ids[TW_MAX_STREAMS];
    rec_stream_stats st[TW_MAX_STREAMS];
    uint8_t idx[65536];      /* stream id -> index+1; 0 unknown (set once at hello) */
    rec_episode *ep;         /* open episode (network thread view) */
    char last_ep[TW_MAX_NAME];
    /* incoming message assembly, and the one message held back under backpressure */
    uint8_t *rx;
    size_t rxlen, rxcap;
    int rx_binary, pending, rx_discard;
    int64_t pending_t;
    /* outgoing text messages, each with LWS_PRE headroom */
    char *outq[REC_OUTQ_MAX];
    size_t outlen[REC_OUTQ_MAX];
    int out_head, out_n;
    /* control-message rate limit (token bucket) */
    double tokens;
    int64_t tokens_t;
    uint64_t rate_rejects, bad_msgs, errors_sent;
    /* clock sync */
    uint64_t ping_id;
    int64_t ping_t0, next_ping, next_status, connected_ns;
    int64_t last_pong_ns;        /* last pong (any id), or hello: --ping-timeout counts from it */
    int64_t keep_t[REC_CLOCK_KEEP], keep_off[REC_CLOCK_KEEP], keep_rtt[REC_CLOCK_KEEP];
    int keep_n, keep_i;          /* the session's clock samples, for the episodes it opens */
    tw_clock_sync sync;          /* the live estimator (bridge/core): sync.n > 0 once synced */
    int close_code;              /* websocket close status after a fatal error */
    int full_reported;           /* drop-newest: FULL error sent once per session */
    _Atomic uint64_t queued_bytes; /* this session's bytes in the queue */
    rec_session *next;
};

typedef struct rec_note {
    uint64_t session, serial;
    int err;
    char msg[256];
    struct rec_note *next;
} rec_note;

struct tw_recorder {
    tw_recorder_opts o;
    char host[64], out_dir[PATH_MAX], token[128];
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int port;
    lws_sorted_usec_list_t sul;
    atomic_int stop;
    int running;
    rec_queue q;
    pthread_t writer;
    int writer_started;
    pthread_t closer;
    int closer_started;
    int closer_stop; /* under close_mu */
    pthread_mutex_t close_mu;
    pthread_cond_t close_cv;
    struct rec_closing *closing;
    _Atomic uint64_t n_closing; /* episodes being finished */
    /* writer -> network notes (write errors), guarded by note_mu */
    pthread_mutex_t note_mu;
    rec_note *notes;
    atomic_int drain_wanted; /* set by writer when queue space freed for a waiting producer */
    size_t max_binary;       /* advertised and enforced: min(protocol limit, what the queue holds) */
    rec_session *sessions;
    uint32_t nsessions;
    uint64_t session_counter, episode_counter, episode_serial;
    int64_t started_ns, next_line, last_log;
    /* counters: global (network thread unless noted) */
    uint64_t n_sessions_total, n_auth_refused, n_bad_msgs, n_too_big, n_rate_limited, n_full_refused;
    uint64_t n_episodes_open, n_episodes_done, n_episodes_failed, n_recovered;
    _Atomic uint64_t bytes_written;  /* writer thread */
    _Atomic int64_t write_head_t_ns; /* receive time of the data record the writer works on */
    uint64_t n_nospace_refused, n_ping_timeouts;
    uint64_t prev_total_frames, prev_total_bytes;
    double rate_frames, rate_bytes;
};

/* rec_session.c */
rec_session *rec_session_new(struct tw_recorder *r, struct lws *wsi);
void rec_session_ref(rec_session *s);
void rec_session_unref(rec_session *s);
int rec_session_rx(rec_session *s, const void *in, size_t len, int first, int final, int binary,
                   size_t remaining);
int rec_session_retry_pending(rec_session *s); /* 1 = still pending */
void rec_session_drop_pending(rec_session *s);  /* stopping: give up a held message, counted as dropped */
void rec_session_disconnected(rec_session *s);
void rec_session_tick(rec_session *s, int64_t now);
void rec_session_end_episode(rec_session *s, const char *status, int success);
void rec_session_send_error(rec_session *s, int err, int fatal, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rec_session_writeable(rec_session *s);
void rec_session_flush_drops(rec_session *s);
void rec_session_send_msg(rec_session *s, const tw_msg *m, int must);

/* rec_control.c: JSON control messages; TW_EFULL = hold the message (queue full) */
int rec_control_handle(rec_session *s, const char *text, size_t len, int64_t t_recv);

/* rec_keep.c: what a session keeps across its episodes, and checks made before one starts */
void rec_clock_keep(rec_session *s, int64_t t_ns, int64_t off, int64_t rtt); /* a pong's sample */
void rec_clock_replay(rec_session *s);    /* the kept samples into the episode just opened */
int rec_space_ok(struct tw_recorder *r, char *why, size_t whysz); /* 0: refuse with NOSPACE */
void rec_ping_timeout_check(rec_session *s, int64_t now);

/* rec_writer.c */
void *rec_writer_main(void *arg);
void rec_note_post(struct tw_recorder *r, uint64_t session, uint64_t serial, int err, const char *msg);

/* rec_closer.c: finishing an episode (journal -> episode.h5, compression) takes seconds for
 * a long one, so it runs on its own thread and never stalls the writer's other sessions. */
typedef struct rec_closing {
    tw_episode_writer *w;
    char status[16], id[TW_MAX_NAME];
    int success;
    uint64_t session, serial;
    struct rec_closing *next;
} rec_closing;
int rec_closer_start(struct tw_recorder *r);
void rec_closer_submit(struct tw_recorder *r, rec_closing *c); /* takes c */
/* The writer's hand-off: finishing w (with status) is the closer's job, never the writer's, so
 * the writer never waits for the HDF5 lock a long build holds. Falls back to closing in place
 * only when out of memory. */
void rec_closer_hand(struct tw_recorder *r, tw_episode_writer *w, const char *status, int success,
                     const char *id, uint64_t session, uint64_t serial);
void rec_closer_stop(struct tw_recorder *r);                   /* finishes what was submitted */

/* rec_status.c */
char *rec_status_json(struct tw_recorder *r);
void rec_status_line(struct tw_recorder *r, int64_t now);
void rec_status_rates(struct tw_recorder *r, double dt_s);
/* " | name R/s" per stream of each session that said hello (prefixed by "rig:" when there are several);
 * returns the length written (truncated to bufsz - 1). */
/* Age of the oldest sample not yet written (ms; 0 when the queue is empty). */
double rec_write_lag_ms(struct tw_recorder *r);
size_t rec_status_rates_text(const rec_session *sessions, char *buf, size_t bufsz);
void rec_log(struct tw_recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* rec_token.c */
int rec_token_equal(const char *a, const char *b); /* constant time in the length of b */

#endif
