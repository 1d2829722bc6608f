/* What the operator sees: GET /status JSON, the terminal status line, log lines. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rec_internal.h"

#define LOG_EVERY_NS (10 * 1000000000LL) /* periodic log line when not on a terminal */

void rec_log(struct tw_recorder *r, const char *fmt, ...)
{
    if (!r->o.log)
        return;
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%H:%M:%SZ", &tm);
    if (r->o.log_tty)
        fputs("\r\033[K", r->o.log);
    fprintf(r->o.log, "[%s] tw record: ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->o.log, fmt, ap);
    va_end(ap);
    fputc('\n', r->o.log);
    fflush(r->o.log);
}

void rec_status_rates(struct tw_recorder *r, double dt)
{
    uint64_t frames = 0, bytes = 0;
    for (rec_session *s = r->sessions; s; s = s->next)
        for (uint32_t k = 0; k < s->nstreams; k++) {
            rec_stream_stats *st = &s->st[k];
            st->rate_hz = (double)(st->received - st->prev_received) / dt;
            st->rate_bps = (double)(st->bytes - st->prev_bytes) / dt;
            st->prev_received = st->received;
            st->prev_bytes = st->bytes;
            frames += st->rate_hz * dt + 0.5;
            bytes += st->rate_bps * dt + 0.5;
        }
    r->rate_frames = frames / dt;
    r->rate_bytes = bytes / dt;
}

double rec_write_lag_ms(struct tw_recorder *r)
{
    if (rec_queue_used(&r->q) == 0)
        return 0.0;
    int64_t t = atomic_load_explicit(&r->write_head_t_ns, memory_order_relaxed), lag = rec_now_ns() - t;
    return t > 0 && lag > 0 ? lag / 1e6 : 0.0; /* t = 0: no data record picked up yet */
}

static json_t *session_json(const rec_session *s)
{
    json_t *streams = json_array();
    for (uint32_t k = 0; k < s->nstreams; k++) {
        const tw_stream_decl *d = tw_stream_table_get(s->table, s->ids[k]);
        const rec_stream_stats *st = &s->st[k];
        json_array_append_new(streams, json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
            "id", (json_int_t)s->ids[k], "name", d ? d->name : "", "kind", d ? tw_kind_name(d->kind) : "",
            "received", (json_int_t)st->received,
            "written", (json_int_t)atomic_load_explicit(&st->written, memory_order_relaxed),
            "dropped", (json_int_t)st->dropped, "gaps", (json_int_t)atomic_load(&st->missing), "bytes",
            (json_int_t)st->bytes, "outside_episode", (json_int_t)st->idle, "rate_hz", st->rate_hz, "rate_bytes_s",
            st->rate_bps));
        json_t *o = json_array_get(streams, json_array_size(streams) - 1);
        json_object_set_new(o, "duplicates", json_integer((json_int_t)atomic_load(&st->duplicates)));
        json_object_set_new(o, "out_of_order", json_integer((json_int_t)atomic_load(&st->out_of_order)));
        json_object_set_new(o, "resets", json_integer((json_int_t)atomic_load(&st->resets)));
        json_object_set_new(o, "nonmonotonic_t", json_integer((json_int_t)atomic_load(&st->nonmonotonic_t)));
        json_object_set_new(o, "nonfinite", json_integer((json_int_t)atomic_load(&st->nonfinite)));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:f, s:f, s:I, s:I, s:b, s:o}",
        "session_id", s->sid, "rig", s->rig, "peer", s->peer, "episode_id", s->ep ? s->ep->id : "",
        "last_episode_id", s->last_ep, "clock_synced", s->sync.n > 0, "clock_offset_ms", s->sync.offset_ns / 1e6,
        "rtt_ms", s->sync.rtt_ns / 1e6, "rejected_messages", (json_int_t)s->bad_msgs,
        "rate_limited", (json_int_t)s->rate_rejects, "backpressured", s->pending, "streams", streams);
}

char *rec_status_json(struct tw_recorder *r)
{
    json_t *sessions = json_array();
    for (rec_session *s = r->sessions; s; s = s->next)
        if (s->hello_done)
            json_array_append_new(sessions, session_json(s));
    size_t used = rec_queue_used(&r->q);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:f, s:o, s:{s:I, s:I, s:I, s:f}, s:I, s:f, s:f, s:{s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I}}",
        "protocol", TW_SUBPROTOCOL, "version", TW_VERSION, "listen", r->host, "port", r->port,
        "policy", r->o.policy == TW_POLICY_DROP_NEWEST ? "drop-newest" : "backpressure",
        "uptime_s", (rec_now_ns() - r->started_ns) / 1e9, "sessions", sessions,
        "queue", "bytes", (json_int_t)used, "cap_bytes", (json_int_t)r->q.data_cap,
        "peak_bytes", (json_int_t)r->q.peak,
        "write_lag_ms", rec_write_lag_ms(r),
        "bytes_written", (json_int_t)atomic_load_explicit(&r->bytes_written, memory_order_relaxed),
        "rate_frames_s", r->rate_frames, "rate_bytes_s", r->rate_bytes,
        "episodes", "open", (json_int_t)r->n_episodes_open, "closed", (json_int_t)r->n_episodes_done,
        "write_errors", (json_int_t)r->n_episodes_failed,
        "finishing", (json_int_t)atomic_load_explicit(&r->n_closing, memory_order_relaxed),
        "recovered_at_start", (json_int_t)r->n_recovered,
        "counters", "sessions_total", (json_int_t)r->n_sessions_total, "auth_refused", (json_int_t)r->n_auth_refused,
        "rejected_messages", (json_int_t)r->n_bad_msgs, "oversize_messages", (json_int_t)r->n_too_big,
        "rate_limited", (json_int_t)r->n_rate_limited);
    if (!o)
        return NULL;
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return txt;
}

size_t rec_status_rates_text(const rec_session *sessions, char *buf, size_t bufsz)
{
    size_t n = 0;
    int several = sessions && sessions->next;
    buf[0] = 0;
    for (const rec_session *s = sessions; s && n < bufsz; s = s->next) {
        if (!s->hello_done)
            continue;
        /* with several rigs each segment says whose streams follow */
        if (several)
            n += (size_t)snprintf(buf + n, bufsz - n, " | %s:", s->rig[0] ? s->rig : s->sid);
        for (uint32_t k = 0; k < s->nstreams && n < bufsz; k++) {
            const tw_stream_decl *d = tw_stream_table_get(s->table, s->ids[k]);
            n += (size_t)snprintf(buf + n, bufsz - n, "%s%s %.0f/s", several && k ? ", " : several ? " " : " | ",
                                  d ? d->name : "?", s->st[k].rate_hz);
        }
    }
    return n < bufsz ? n : bufsz - 1;
}

static void print_line(struct tw_recorder *r)
{
    uint64_t drops = 0;
    const char *ep = "-";
    for (rec_session *s = r->sessions; s; s = s->next) {
        for (uint32_t k = 0; k < s->nstreams; k++)
            drops += s->st[k].dropped;
        if (s->ep)
            ep = s->ep->id;
    }
    char line[4096], rates[3072];
    snprintf(line, sizeof line, "%u sess | %.0f fr/s %.2f MB/s | drops %llu | queue %.1f/%.0f MiB | "
             "written %.1f MB | ep %s", r->nsessions, r->rate_frames, r->rate_bytes / 1e6,
             (unsigned long long)drops, rec_queue_used(&r->q) / 1048576.0, r->q.data_cap / 1048576.0,
             atomic_load_explicit(&r->bytes_written, memory_order_relaxed) / 1e6, ep);
    rec_status_rates_text(r->sessions, rates, sizeof rates);
    if (r->o.log_tty) {
        /* one redrawn line: the per-stream rates of every session, as far as a terminal line has room */
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, "%.*s", n < 200 ? (int)(200 - n) : 0, rates);
        fprintf(r->o.log, "\r\033[K%s", line);
        fflush(r->o.log);
    } else {
        rec_log(r, "%s%s", line, rates); /* a log line has no width limit: every session, every stream */
    }
}

void rec_status_line(struct tw_recorder *r, int64_t now)
{
    static const int64_t ns_ms = 1000000;
    if (now == 0) { /* final: end the redrawn line */
        if (r->o.log && r->o.log_tty)
            fputc('\n', r->o.log);
        return;
    }
    if (!r->next_line) {
        r->next_line = now + (int64_t)r->o.status_ms * ns_ms;
        return;
    }
    if (now < r->next_line)
        return;
    double dt = (now - r->next_line) / 1e9 + r->o.status_ms / 1e3;
    rec_status_rates(r, dt);
    r->next_line = now + (int64_t)r->o.status_ms * ns_ms;
    if (!r->o.log)
        return;
    if (!r->o.log_tty) {
        if (now - r->last_log < LOG_EVERY_NS)
            return;
        r->last_log = now;
    }
    print_line(r);
}
