/* JSON control messages: the entry points, and the client->server bodies (hello and
 * episode control). Server replies and ping/pong are in tw_msg_server.c.
 * Unknown-field policy (protocol.md "Unknown fields"): messages the server receives are
 * strict (an unknown field is a SCHEMA error, so typos surface at once), messages a
 * client receives tolerate unknown fields (the server may add some in a minor version);
 * fields named "x_..." are ignored everywhere. */
#include "tw_wire_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[TW_MSG__COUNT] = {
    "hello", "episode_start", "episode_stop", "episode_abort", "annotate", "metadata",
    "ping",  "pong",          "welcome",      "ack",           "status",   "error",
};

const char *tw_msg_type_name(tw_msg_type t)
{
    return (unsigned)t < TW_MSG__COUNT ? type_names[t] : "?";
}

int tw_msg_type_from_name(const char *s)
{
    for (int i = 0; s && i < TW_MSG__COUNT; i++)
        if (strcmp(type_names[i], s) == 0)
            return i;
    return -1;
}

void tw_msg_clear(tw_msg *m)
{
    if (!m)
        return;
    if (m->type == TW_MSG_HELLO)
        free(m->u.hello.streams);
    memset(m, 0, sizeof *m);
}

/* ---- decoding ------------------------------------------------------------------------ */
static int decode_hello(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    static const char *const keys[] = {"type", "client", "version", "rig", "streams", NULL};
    json_t *arr;
    int rc;
    if ((rc = tw_j_check_keys(o, "hello", keys, 1, msg, msgsz)) ||
        (rc = tw_j_str(o, "hello", "client", TW_J_REQUIRED, m->u.hello.client, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_str(o, "hello", "version", TW_J_REQUIRED, m->u.hello.version, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_str(o, "hello", "rig", TW_J_OPTIONAL, m->u.hello.rig, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_array(o, "hello", "streams", TW_J_REQUIRED, TW_MAX_STREAMS, &arr, msg, msgsz)))
        return rc;
    size_t n = json_array_size(arr);
    if (n == 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "hello.streams: at least one stream is required");
    /* n <= TW_MAX_STREAMS was checked above, so this allocation is bounded */
    m->u.hello.streams = calloc(n, sizeof *m->u.hello.streams);
    if (!m->u.hello.streams)
        return tw_errf(msg, msgsz, TW_ENOMEM, "hello: out of memory for %zu streams", n);
    tw_stream_table *t;
    if ((rc = tw_stream_table_new(&t)))
        return tw_errf(msg, msgsz, rc, "hello: out of memory");
    char path[48], sub[384];
    for (size_t i = 0; i < n && !rc; i++) {
        snprintf(path, sizeof path, "hello.streams[%zu]", i);
        rc = tw_decl_from_jobj(json_array_get(arr, i), path, &m->u.hello.streams[i], msg, msgsz);
        /* the table finds duplicate ids and names with the same rules a session uses */
        if (!rc && (rc = tw_stream_table_add(t, &m->u.hello.streams[i], sub, sizeof sub)))
            tw_errf(msg, msgsz, rc, "%s: %s", path, sub);
        m->u.hello.nstreams = (uint32_t)(i + 1);
    }
    tw_stream_table_free(t);
    return rc;
}

static int decode_start(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    static const char *const keys[] = {"type", "task", "operator", "robot", "metadata", NULL};
    const char *p = "episode_start";
    int rc;
    if ((rc = tw_j_check_keys(o, p, keys, 1, msg, msgsz)) ||
        (rc = tw_j_str(o, p, "task", TW_J_REQUIRED, m->u.start.task, TW_MAX_TEXT, msg, msgsz)) ||
        (rc = tw_j_str(o, p, "operator", TW_J_OPTIONAL, m->u.start.operator_, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_str(o, p, "robot", TW_J_OPTIONAL, m->u.start.robot, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_obj_text(o, p, "metadata", TW_J_OPTIONAL, m->u.start.metadata, TW_MAX_META, msg, msgsz)))
        return rc;
    return 0;
}

static int decode_client(const json_t *o, tw_msg *m, char *msg, size_t msgsz)
{
    static const char *const stop_keys[] = {"type", "success", NULL};
    static const char *const abort_keys[] = {"type", "reason", NULL};
    static const char *const ann_keys[] = {"type", "t_src_ns", "label", "data", NULL};
    static const char *const meta_keys[] = {"type", "metadata", NULL};
    int rc;
    switch (m->type) {
    case TW_MSG_HELLO:
        return decode_hello(o, m, msg, msgsz);
    case TW_MSG_EPISODE_START:
        return decode_start(o, m, msg, msgsz);
    case TW_MSG_EPISODE_STOP:
        if ((rc = tw_j_check_keys(o, "episode_stop", stop_keys, 1, msg, msgsz)))
            return rc;
        return tw_j_tristate(o, "episode_stop", "success", &m->u.stop.success, msg, msgsz);
    case TW_MSG_EPISODE_ABORT:
        if ((rc = tw_j_check_keys(o, "episode_abort", abort_keys, 1, msg, msgsz)))
            return rc;
        return tw_j_str(o, "episode_abort", "reason", TW_J_OPTIONAL, m->u.abort_.reason, TW_MAX_TEXT, msg, msgsz);
    case TW_MSG_ANNOTATE:
        if ((rc = tw_j_check_keys(o, "annotate", ann_keys, 1, msg, msgsz)) ||
            (rc = tw_j_int(o, "annotate", "t_src_ns", TW_J_REQUIRED, INT64_MIN, INT64_MAX,
                           &m->u.annotate.t_src_ns, msg, msgsz)) ||
            (rc = tw_j_str(o, "annotate", "label", TW_J_REQUIRED, m->u.annotate.label, TW_MAX_TEXT, msg, msgsz)))
            return rc;
        if (!m->u.annotate.label[0])
            return tw_errf(msg, msgsz, TW_ESCHEMA, "annotate.label: must not be empty");
        return tw_j_obj_text(o, "annotate", "data", TW_J_OPTIONAL, m->u.annotate.data, TW_MAX_META, msg, msgsz);
    case TW_MSG_METADATA:
        if ((rc = tw_j_check_keys(o, "metadata", meta_keys, 1, msg, msgsz)))
            return rc;
        return tw_j_obj_text(o, "metadata", "metadata", TW_J_REQUIRED, m->u.metadata.metadata, TW_MAX_META, msg,
                             msgsz);
    default:
        return tw_msg_decode_server(o, m, msg, msgsz);
    }
}

int tw_msg_decode(const char *text, size_t len, tw_msg *out, char *msg, size_t msgsz)
{
    if (!out)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL message");
    memset(out, 0, sizeof *out);
    if (!text)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL text");
    json_t *o;
    int rc = tw_j_parse_object(text, len, "text message", &o, msg, msgsz);
    if (rc)
        return rc;
    char type[TW_MAX_NAME] = "";
    if (!(rc = tw_j_str(o, "message", "type", TW_J_REQUIRED, type, sizeof type, msg, msgsz))) {
        int t = tw_msg_type_from_name(type);
        if (t < 0)
            rc = tw_errf(msg, msgsz, TW_EUNSUPPORTED, "message.type: unknown message type '%s'", type);
        else {
            out->type = (tw_msg_type)t;
            rc = decode_client(o, out, msg, msgsz);
        }
    }
    json_decref(o);
    if (rc)
        tw_msg_clear(out);
    return rc;
}

/* ---- encoding ------------------------------------------------------------------------ */
static int encode_hello(const tw_msg *m, json_t *o, char *msg, size_t msgsz)
{
    int rc;
    if (m->u.hello.nstreams == 0 || m->u.hello.nstreams > TW_MAX_STREAMS || !m->u.hello.streams)
        return tw_errf(msg, msgsz, TW_EINVAL, "hello: %u streams, need 1..%d", m->u.hello.nstreams,
                       TW_MAX_STREAMS);
    if ((rc = tw_j_put_str(o, "client", m->u.hello.client, TW_MAX_NAME, msg, msgsz)) ||
        (rc = tw_j_put_str(o, "version", m->u.hello.version, TW_MAX_NAME, msg, msgsz)) ||
        (m->u.hello.rig[0] && (rc = tw_j_put_str(o, "rig", m->u.hello.rig, TW_MAX_NAME, msg, msgsz))))
        return rc;
    json_t *arr = json_array();
    if ((rc = tw_j_put(o, "streams", arr, msg, msgsz)))
        return rc;
    for (uint32_t i = 0; i < m->u.hello.nstreams; i++) {
        json_t *d;
        if ((rc = tw_decl_to_jobj(&m->u.hello.streams[i], &d, msg, msgsz)))
            return rc;
        if (json_array_append_new(arr, d))
            return tw_errf(msg, msgsz, TW_ENOMEM, "hello: out of memory");
    }
    return 0;
}

static int encode_client(const tw_msg *m, json_t *o, char *msg, size_t msgsz)
{
    int rc = 0;
    switch (m->type) {
    case TW_MSG_HELLO:
        return encode_hello(m, o, msg, msgsz);
    case TW_MSG_EPISODE_START:
        if ((rc = tw_j_put_str(o, "task", m->u.start.task, TW_MAX_TEXT, msg, msgsz)) ||
            (m->u.start.operator_[0] &&
             (rc = tw_j_put_str(o, "operator", m->u.start.operator_, TW_MAX_NAME, msg, msgsz))) ||
            (m->u.start.robot[0] && (rc = tw_j_put_str(o, "robot", m->u.start.robot, TW_MAX_NAME, msg, msgsz))))
            return rc;
        return tw_j_put_obj_text(o, "metadata", m->u.start.metadata, TW_MAX_META, msg, msgsz);
    case TW_MSG_EPISODE_STOP:
        return tw_j_put(o, "success", m->u.stop.success < 0 ? json_null() : json_boolean(m->u.stop.success),
                        msg, msgsz);
    case TW_MSG_EPISODE_ABORT:
        return tw_j_put_str(o, "reason", m->u.abort_.reason, TW_MAX_TEXT, msg, msgsz);
    case TW_MSG_ANNOTATE:
        if (!m->u.annotate.label[0])
            return tw_errf(msg, msgsz, TW_EINVAL, "annotate: empty label");
        if ((rc = tw_j_put_int(o, "t_src_ns", m->u.annotate.t_src_ns, msg, msgsz)) ||
            (rc = tw_j_put_str(o, "label", m->u.annotate.label, TW_MAX_TEXT, msg, msgsz)))
            return rc;
        return tw_j_put_obj_text(o, "data", m->u.annotate.data, TW_MAX_META, msg, msgsz);
    case TW_MSG_METADATA:
        if (!m->u.metadata.metadata[0])
            return tw_errf(msg, msgsz, TW_EINVAL, "metadata: empty metadata object text");
        return tw_j_put_obj_text(o, "metadata", m->u.metadata.metadata, TW_MAX_META, msg, msgsz);
    default:
        return tw_msg_encode_server(m, o, msg, msgsz);
    }
}

int tw_msg_encode(const tw_msg *m, char **out, char *msg, size_t msgsz)
{
    if (!out)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL output");
    *out = NULL;
    if (!m || (unsigned)m->type >= TW_MSG__COUNT)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL message or unknown type %d", m ? (int)m->type : -1);
    json_t *o = json_object();
    int rc = tw_j_put(o, "type", json_string(type_names[m->type]), msg, msgsz);
    if (!rc)
        rc = encode_client(m, o, msg, msgsz);
    if (!rc && !(*out = json_dumps(o, JSON_COMPACT)))
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "%s: out of memory", type_names[m->type]);
    if (!rc && strlen(*out) > TW_MAX_TEXT_MSG) {
        free(*out);
        *out = NULL;
        rc = tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: encoded text exceeds limit %u", type_names[m->type],
                     TW_MAX_TEXT_MSG);
    }
    json_decref(o);
    return rc;
}
