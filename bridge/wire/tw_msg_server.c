/* Server->client replies (welcome, ack, status, error) and ping/pong, both directions.
 * Replies are read leniently (unknown fields ignored) so a v1.x server may add fields;
 * ping/pong are strict because the server receives them too. */
#include "tw_wire_int.h"

#include <stdio.h>
#include <string.h>

enum { LENIENT = 0, STRICT = 1 };

static int decode_ping(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    static const char *const ping_keys[] = {"type", "id", "t0_ns", NULL};
    static const char *const pong_keys[] = {"type", "id", "t0_ns", "t1_ns", "t2_ns", NULL};
    int pong = m->type == TW_MSG_PONG;
    const char *p = pong ? "pong" : "ping";
    int64_t id = 0;
    int rc;
    if ((rc = tw_j_check_keys(o, p, pong ? pong_keys : ping_keys, STRICT, msg, msgsz)) ||
        (rc = tw_j_int(o, p, "id", TW_J_REQUIRED, 0, INT64_MAX, &id, msg, msgsz)) ||
        (rc = tw_j_int(o, p, "t0_ns", TW_J_REQUIRED, INT64_MIN, INT64_MAX, &m->u.ping.t0_ns, msg, msgsz)))
        return rc;
    m->u.ping.id = (uint64_t)id;
    if (!pong)
        return 0;
    if ((rc = tw_j_int(o, p, "t1_ns", TW_J_REQUIRED, INT64_MIN, INT64_MAX, &m->u.ping.t1_ns, msg, msgsz)))
        return rc;
    return tw_j_int(o, p, "t2_ns", TW_J_REQUIRED, INT64_MIN, INT64_MAX, &m->u.ping.t2_ns, msg, msgsz);
}

static int decode_welcome(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    char proto[TW_MAX_NAME] = TW_SUBPROTOCOL;
    int64_t mb = 0, mt = 0, si = 0;
    int rc;
    if ((rc = tw_j_str(o, "welcome", "protocol", TW_J_OPTIONAL, proto, sizeof proto, msg, msgsz)) ||
        (rc = tw_j_str(o, "welcome", "session_id", TW_J_REQUIRED, m->u.welcome.session_id, TW_MAX_NAME, msg,
                       msgsz)) ||
        (rc = tw_j_int(o, "welcome", "max_binary", TW_J_REQUIRED, 0, UINT32_MAX, &mb, msg, msgsz)) ||
        (rc = tw_j_int(o, "welcome", "max_text", TW_J_REQUIRED, 0, UINT32_MAX, &mt, msg, msgsz)) ||
        (rc = tw_j_int(o, "welcome", "status_interval_ms", TW_J_REQUIRED, 0, UINT32_MAX, &si, msg, msgsz)))
        return rc;
    if (strcmp(proto, TW_SUBPROTOCOL) != 0)
        return tw_errf(msg, msgsz, TW_EVERSION, "welcome.protocol: server speaks '%s', this client '%s'",
                       proto, TW_SUBPROTOCOL);
    m->u.welcome.max_binary = (uint32_t)mb;
    m->u.welcome.max_text = (uint32_t)mt;
    m->u.welcome.status_interval_ms = (uint32_t)si;
    return 0;
}

static int decode_ack(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    int rc;
    if ((rc = tw_j_str(o, "ack", "what", TW_J_REQUIRED, m->u.ack.what, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_str(o, "ack", "episode_id", TW_J_OPTIONAL, m->u.ack.episode_id, TW_MAX_NAME, msg, msgsz)))
        return rc;
    int t = tw_msg_type_from_name(m->u.ack.what);
    if (t < TW_MSG_EPISODE_START || t > TW_MSG_METADATA)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "ack.what: '%s' is not an episode control message",
                       m->u.ack.what);
    return 0;
}

static int decode_stream_status(const json_t *o, const char *path, tw_stream_status *s, char *msg,
                                size_t msgsz)
{
    if (!json_is_object(o))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: expected object, got %s", path, tw_j_typename(o));
    const char *names[] = {"received", "written", "dropped", "gaps", "bytes"};
    uint64_t *dst[] = {&s->received, &s->written, &s->dropped, &s->gaps, &s->bytes};
    int64_t v = 0;
    int rc = tw_j_int(o, path, "id", TW_J_REQUIRED, 1, 65535, &v, msg, msgsz);
    s->id = (uint16_t)v;
    for (int i = 0; i < 5 && !rc; i++) {
        rc = tw_j_int(o, path, names[i], TW_J_REQUIRED, 0, INT64_MAX, &v, msg, msgsz);
        *dst[i] = (uint64_t)v;
    }
    const char *opt[] = {"duplicates", "out_of_order", "resets", "nonmonotonic_t", "nonfinite"};
    uint64_t *odst[] = {&s->duplicates, &s->out_of_order, &s->resets, &s->nonmonotonic_t, &s->nonfinite};
    for (int i = 0; i < 5 && !rc; i++) {
        v = 0;
        rc = tw_j_int(o, path, opt[i], TW_J_OPTIONAL, 0, INT64_MAX, &v, msg, msgsz);
        *odst[i] = (uint64_t)v;
    }
    return rc;
}

static int decode_status(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    int64_t qb = 0, qc = 0;
    json_t *arr;
    int rc;
    if ((rc = tw_j_str(o, "status", "episode_id", TW_J_REQUIRED, m->u.status.episode_id, TW_MAX_NAME, msg,
                       msgsz)) ||
        (rc = tw_j_int(o, "status", "queue_bytes", TW_J_REQUIRED, 0, INT64_MAX, &qb, msg, msgsz)) ||
        (rc = tw_j_int(o, "status", "queue_cap_bytes", TW_J_REQUIRED, 0, INT64_MAX, &qc, msg, msgsz)) ||
        (rc = tw_j_num(o, "status", "write_lag_ms", TW_J_REQUIRED, &m->u.status.write_lag_ms, msg, msgsz)) ||
        (rc = tw_j_int(o, "status", "clock_offset_ns", TW_J_REQUIRED, INT64_MIN, INT64_MAX,
                       &m->u.status.clock_offset_ns, msg, msgsz)) ||
        (rc = tw_j_array(o, "status", "streams", TW_J_REQUIRED, TW_MAX_STREAMS, &arr, msg, msgsz)))
        return rc;
    m->u.status.queue_bytes = (uint64_t)qb;
    m->u.status.queue_cap_bytes = (uint64_t)qc;
    m->u.status.nstreams = (uint32_t)json_array_size(arr);
    char path[40];
    for (uint32_t i = 0; i < m->u.status.nstreams && !rc; i++) {
        snprintf(path, sizeof path, "status.streams[%u]", i);
        rc = decode_stream_status(json_array_get(arr, i), path, &m->u.status.streams[i], msg, msgsz);
    }
    return rc;
}

/* Codes are upper-case identifiers; unknown ones are allowed (a newer server may add some). */
static int check_code(const char *code, char *msg, size_t msgsz)
{
    size_t n = strnlen(code, TW_MAX_NAME);
    if (n == 0 || n == TW_MAX_NAME || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "error.code: '%.63s' is not an upper-case identifier", code);
    return 0;
}

static int decode_error(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    int rc;
    json_t *f = json_object_get(o, "fatal");
    if ((rc = tw_j_str(o, "error", "code", TW_J_REQUIRED, m->u.error.code, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_str(o, "error", "message", TW_J_REQUIRED, m->u.error.message, TW_MAX_TEXT, msg, msgsz)))
        return rc;
    if (!f || !json_is_boolean(f))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "error.fatal: expected boolean, got %s",
                       f ? tw_j_typename(f) : "nothing");
    m->u.error.fatal = json_is_true(f);
    return check_code(m->u.error.code, msg, msgsz);
}

int tw_msg_decode_server(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    switch (m->type) {
    case TW_MSG_PING:
    case TW_MSG_PONG: return decode_ping(o, m, msg, msgsz);
    case TW_MSG_WELCOME: return decode_welcome(o, m, msg, msgsz);
    case TW_MSG_ACK: return decode_ack(o, m, msg, msgsz);
    case TW_MSG_STATUS: return decode_status(o, m, msg, msgsz);
    case TW_MSG_ERROR: return decode_error(o, m, msg, msgsz);
    default: return tw_errf(msg, msgsz, TW_EINVAL, "message type %d", (int)m->type);
    }
}

/* ---- encoding ------------------------------------------------------------------------ */
static int encode_status(const tw_msg *m, json_t *o, char *msg, size_t msgsz)
{
    int rc;
    if (m->u.status.nstreams > TW_MAX_STREAMS)
        return tw_errf(msg, msgsz, TW_EINVAL, "status: %u streams exceeds %d", m->u.status.nstreams,
                       TW_MAX_STREAMS);
    if ((rc = tw_j_put_str(o, "episode_id", m->u.status.episode_id, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_put_int(o, "queue_bytes", (int64_t)m->u.status.queue_bytes, msg, msgsz)) ||
        (rc = tw_j_put_int(o, "queue_cap_bytes", (int64_t)m->u.status.queue_cap_bytes, msg, msgsz)) ||
        (rc = tw_j_put_num(o, "write_lag_ms", m->u.status.write_lag_ms, msg, msgsz)) ||
        (rc = tw_j_put_int(o, "clock_offset_ns", m->u.status.clock_offset_ns, msg, msgsz)))
        return rc;
    json_t *arr = json_array();
    if ((rc = tw_j_put(o, "streams", arr, msg, msgsz)))
        return rc;
    for (uint32_t i = 0; i < m->u.status.nstreams; i++) {
        const tw_stream_status *s = &m->u.status.streams[i];
        json_t *e = json_pack("{sIsIsIsIsIsIsIsIsIsIsI}", "id", (json_int_t)s->id, "received", (json_int_t)s->received,
                              "written", (json_int_t)s->written, "dropped", (json_int_t)s->dropped, "gaps",
                              (json_int_t)s->gaps, "bytes", (json_int_t)s->bytes, "duplicates",
                              (json_int_t)s->duplicates, "out_of_order", (json_int_t)s->out_of_order, "resets",
                              (json_int_t)s->resets, "nonmonotonic_t", (json_int_t)s->nonmonotonic_t, "nonfinite",
                              (json_int_t)s->nonfinite);
        if (!e || json_array_append_new(arr, e))
            return tw_errf(msg, msgsz, TW_ENOMEM, "status: out of memory");
    }
    return 0;
}

static int encode_error(const tw_msg *m, json_t *o, char *msg, size_t msgsz)
{
    /* the text is often a decoder message that snprintf may have cut mid-character */
    char text[TW_MAX_TEXT];
    size_t n = strnlen(m->u.error.message, sizeof text);
    if (n == sizeof text)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "error: message not NUL-terminated within %d bytes", TW_MAX_TEXT);
    memcpy(text, m->u.error.message, n + 1);
    tw_utf8_trim(text);
    int rc;
    if ((rc = check_code(m->u.error.code, msg, msgsz)) ||
        (rc = tw_j_put_str(o, "code", m->u.error.code, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_put_str(o, "message", text, sizeof text, msg, msgsz)))
        return rc;
    return tw_j_put(o, "fatal", json_boolean(m->u.error.fatal), msg, msgsz);
}

int tw_msg_encode_server(const tw_msg *m, json_t *o, char *msg, size_t msgsz)
{
    int rc;
    switch (m->type) {
    case TW_MSG_PING:
    case TW_MSG_PONG:
        if (m->u.ping.id > INT64_MAX)
            return tw_errf(msg, msgsz, TW_EINVAL, "%s: id exceeds 2^63-1", tw_msg_type_name(m->type));
        if ((rc = tw_j_put_int(o, "id", (int64_t)m->u.ping.id, msg, msgsz)) ||
            (rc = tw_j_put_int(o, "t0_ns", m->u.ping.t0_ns, msg, msgsz)) || m->type == TW_MSG_PING)
            return rc;
        if ((rc = tw_j_put_int(o, "t1_ns", m->u.ping.t1_ns, msg, msgsz)))
            return rc;
        return tw_j_put_int(o, "t2_ns", m->u.ping.t2_ns, msg, msgsz);
    case TW_MSG_WELCOME:
        if ((rc = tw_j_put(o, "protocol", json_string(TW_SUBPROTOCOL), msg, msgsz)) ||
            (rc = tw_j_put_str(o, "session_id", m->u.welcome.session_id, TW_MAX_NAME, msg, msgsz)) ||
            (rc = tw_j_put_int(o, "max_binary", m->u.welcome.max_binary, msg, msgsz)) ||
            (rc = tw_j_put_int(o, "max_text", m->u.welcome.max_text, msg, msgsz)))
            return rc;
        return tw_j_put_int(o, "status_interval_ms", m->u.welcome.status_interval_ms, msg, msgsz);
    case TW_MSG_ACK:
        if ((rc = tw_j_put_str(o, "what", m->u.ack.what, TW_MAX_NAME, msg, msgsz)))
            return rc;
        return tw_j_put_str(o, "episode_id", m->u.ack.episode_id, TW_MAX_NAME, msg, msgsz);
    case TW_MSG_STATUS:
        return encode_status(m, o, msg, msgsz);
    case TW_MSG_ERROR:
        return encode_error(m, o, msg, msgsz);
    default:
        return tw_errf(msg, msgsz, TW_EINVAL, "message type %d", (int)m->type);
    }
}
