/* foxglove.websocket.v1 client on libwebsockets (protocol: github.com/foxglove/ws-protocol,
 * docs/spec.md). Text messages are JSON objects with "op"; binary messages start with an opcode byte:
 * 0x01 message data (u32 subscription id, u64 receive timestamp, payload), 0x02 time (u64), all LE. */
#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_foxglove.h"

#define FOX_MAX_PENDING 256

struct tw_fox {
    tw_fox_opts o;
    struct lws_context *ctx;
    struct lws *wsi;
    char url[1024];
    uint8_t *rx;
    size_t rxlen, rxcap;
    int rx_binary, rx_drop;
    char *pending[FOX_MAX_PENDING]; /* text messages waiting for a writable socket */
    size_t npending;
    int got_info, closed, refused;
    char cause[256];
    tw_fox_stats st;
};

void tw_fox_opts_init(tw_fox_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_message = 16u << 20;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void on_advertise(tw_fox *f, json_t *chans)
{
    size_t i;
    json_t *c;
    json_array_foreach(chans, i, c)
    {
        const char *enc = json_string_value(json_object_get(c, "encoding"));
        const char *senc = json_string_value(json_object_get(c, "schemaEncoding"));
        const char *schema = json_string_value(json_object_get(c, "schema"));
        if (!senc) /* older servers: the schema encoding follows from the message encoding */
            senc = enc && !strcmp(enc, "cdr") ? "ros2msg" : enc && !strcmp(enc, "json") ? "jsonschema" : "";
        tw_fox_channel ch = {(uint32_t)json_integer_value(json_object_get(c, "id")),
                             json_string_value(json_object_get(c, "topic")), enc,
                             json_string_value(json_object_get(c, "schemaName")), senc,
                             (const uint8_t *)(schema ? schema : ""), schema ? strlen(schema) : 0};
        if (!ch.topic || !ch.encoding) {
            f->st.bad++;
            continue;
        }
        if (!ch.schema_name)
            ch.schema_name = "";
        if (f->o.on_channel)
            f->o.on_channel(f->o.user, &ch);
    }
}

static void on_text(tw_fox *f)
{
    json_t *j = json_loadb((const char *)f->rx, f->rxlen, 0, NULL);
    const char *op = json_string_value(json_object_get(j, "op"));
    if (!op) {
        f->st.bad++;
    } else if (!strcmp(op, "serverInfo")) {
        snprintf(f->st.server_name, sizeof f->st.server_name, "%s",
                 json_string_value(json_object_get(j, "name")) ? json_string_value(json_object_get(j, "name")) : "");
        f->got_info = 1;
    } else if (!strcmp(op, "advertise")) {
        on_advertise(f, json_object_get(j, "channels"));
    } else if (!strcmp(op, "unadvertise") && f->o.on_unadvertise) {
        size_t i;
        json_t *id;
        json_array_foreach(json_object_get(j, "channelIds"), i, id) f->o.on_unadvertise(f->o.user,
                                                                                       (uint32_t)json_integer_value(id));
    } /* status, parameter and service messages are not needed for recording */
    json_decref(j);
}

static void on_binary(tw_fox *f)
{
    int64_t now = tw_clock_ns(CLOCK_REALTIME);
    if (f->rxlen >= 13 && f->rx[0] == 0x01) {
        uint32_t sub = (uint32_t)f->rx[1] | (uint32_t)f->rx[2] << 8 | (uint32_t)f->rx[3] << 16 | (uint32_t)f->rx[4] << 24;
        f->st.messages++;
        f->st.bytes += f->rxlen - 13;
        if (f->o.on_message)
            f->o.on_message(f->o.user, sub, le64(f->rx + 5), now, f->rx + 13, f->rxlen - 13);
    } else if (f->rxlen >= 9 && f->rx[0] == 0x02) {
        if (f->o.on_time)
            f->o.on_time(f->o.user, le64(f->rx + 1), now);
    } else
        f->st.bad++;
}

static void receive(tw_fox *f, struct lws *wsi, const void *in, size_t len)
{
    if (lws_is_first_fragment(wsi)) {
        f->rxlen = 0;
        f->rx_drop = 0;
        f->rx_binary = lws_frame_is_binary(wsi);
    }
    if (!f->rx_drop && f->rxlen + len > f->o.max_message) {
        f->rx_drop = 1;
        f->st.oversize++;
    }
    if (!f->rx_drop && f->rxlen + len > f->rxcap) {
        size_t cap = (f->rxlen + len) * 2;
        uint8_t *p = realloc(f->rx, cap);
        if (!p)
            f->rx_drop = 1, f->st.oversize++;
        else
            f->rx = p, f->rxcap = cap;
    }
    if (!f->rx_drop) {
        memcpy(f->rx + f->rxlen, in, len);
        f->rxlen += len;
    }
    if (!lws_is_final_fragment(wsi) || f->rx_drop)
        return;
    if (f->rx_binary)
        on_binary(f);
    else
        on_text(f);
}

static int write_pending(tw_fox *f, struct lws *wsi)
{
    if (!f->npending)
        return 0;
    char *m = f->pending[0];
    size_t n = strlen(m);
    unsigned char *buf = malloc(LWS_PRE + n);
    int rc = buf ? 0 : -1;
    if (buf) {
        memcpy(buf + LWS_PRE, m, n);
        rc = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
        free(buf);
    }
    free(m);
    memmove(f->pending, f->pending + 1, --f->npending * sizeof f->pending[0]);
    if (f->npending)
        lws_callback_on_writable(wsi);
    return rc;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    tw_fox *f = lws_context_user(lws_get_context(wsi));
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        f->st.connected = 1;
        if (f->npending)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(f->cause, sizeof f->cause, "%.*s", in ? (int)len : 0, in ? (const char *)in : "");
        if (!f->cause[0])
            snprintf(f->cause, sizeof f->cause, "connection refused");
        f->refused = f->closed = 1;
        f->wsi = NULL;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: receive(f, wsi, in, len); break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: return write_pending(f, wsi);
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLOSED:
        f->closed = 1;
        f->st.connected = 0;
        f->wsi = NULL;
        break;
    default: break;
    }
    return 0;
}

static const struct lws_protocols fox_protocols[] = {
    {TW_FOX_SUBPROTOCOL, callback, 0, 1 << 16, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int start(tw_fox *f, char *err, size_t errsz)
{
    const char *proto, *addr, *path;
    int port;
    char tmp[1024], p2[1040];
    snprintf(tmp, sizeof tmp, "%s", f->o.url);
    if (lws_parse_uri(tmp, &proto, &addr, &port, &path) || strcmp(proto, "ws"))
        return tw_errf(err, errsz, TW_EINVAL, "%s: expected ws://HOST:PORT[/PATH]", f->o.url);
    snprintf(p2, sizeof p2, "%s%s", path[0] == '/' ? "" : "/", path); /* lws gives "/" or "x/y" */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = fox_protocols;
    info.user = f;
    info.gid = -1, info.uid = -1;
    info.fd_limit_per_thread = 16;
    if (!(f->ctx = lws_create_context(&info)))
        return tw_errf(err, errsz, TW_ECONNECT, "cannot create the libwebsockets context");
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = f->ctx;
    i.address = addr;
    i.port = port;
    i.path = p2;
    i.host = addr;
    i.origin = addr;
    i.protocol = TW_FOX_SUBPROTOCOL ", " TW_FOX_SUBPROTOCOL_SDK; /* the server picks the one it speaks */
    i.local_protocol_name = TW_FOX_SUBPROTOCOL;
    i.pwsi = &f->wsi;
    if (!lws_client_connect_via_info(&i))
        return tw_errf(err, errsz, TW_ECONNECT, "%s: cannot start the connection", f->o.url);
    return 0;
}

int tw_fox_connect(const tw_fox_opts *o, int timeout_ms, tw_fox **out, char *err, size_t errsz)
{
    *out = NULL;
    tw_fox *f = calloc(1, sizeof *f);
    if (!f)
        return tw_errf(err, errsz, TW_ENOMEM, "out of memory");
    f->o = *o;
    if (!f->o.max_message)
        f->o.max_message = 16u << 20;
    snprintf(f->url, sizeof f->url, "%s", o->url ? o->url : "");
    f->o.url = f->url;
    *out = f; /* callbacks during the handshake (advertise right after serverInfo) may subscribe */
    int rc = start(f, err, errsz);
    double end = tw_mono_s() + timeout_ms / 1000.0;
    while (rc == 0 && !f->got_info && !f->closed && tw_mono_s() < end)
        lws_service(f->ctx, 50);
    if (rc == 0 && !f->got_info)
        rc = f->closed ? tw_errf(err, errsz, TW_ECONNECT, "%s: %s", f->url,
                                 f->refused ? f->cause : "closed before serverInfo (not a foxglove.websocket.v1 server?)")
                       : tw_errf(err, errsz, TW_ETIMEOUT, "%s: no serverInfo within %d ms", f->url, timeout_ms);
    if (rc < 0) {
        *out = NULL;
        tw_fox_close(f);
        return rc;
    }
    return 0;
}

int tw_fox_subscribe(tw_fox *f, uint32_t channel_id, char *err, size_t errsz)
{
    if (f->npending == FOX_MAX_PENDING)
        return tw_errf(err, errsz, TW_EFULL, "too many requests waiting to be sent");
    char *m = NULL;
    if (asprintf(&m, "{\"op\":\"subscribe\",\"subscriptions\":[{\"id\":%u,\"channelId\":%u}]}", channel_id,
                 channel_id) < 0)
        return tw_errf(err, errsz, TW_ENOMEM, "out of memory");
    f->pending[f->npending++] = m;
    if (f->wsi)
        lws_callback_on_writable(f->wsi);
    return 0;
}

/* Polls without blocking, then sleeps a millisecond: at kHz message rates each poll then finds
 * several frames waiting and reads them in one go, instead of waking per message (which cost most
 * of the CPU: context switches). Adds at most ~1 ms of latency to the recorder's receive times. */
int tw_fox_service(tw_fox *f, int timeout_ms)
{
    double end = tw_mono_s() + timeout_ms / 1000.0;
    for (;;) {
        if (f->closed)
            return TW_ECLOSED;
        lws_service(f->ctx, -1);
        if (f->closed || tw_mono_s() >= end)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return f->closed ? TW_ECLOSED : 0;
}

void tw_fox_stats_get(const tw_fox *f, tw_fox_stats *out) { *out = f->st; }

void tw_fox_close(tw_fox *f)
{
    if (!f)
        return;
    if (f->ctx)
        lws_context_destroy(f->ctx);
    for (size_t i = 0; i < f->npending; i++)
        free(f->pending[i]);
    free(f->rx);
    free(f);
}
