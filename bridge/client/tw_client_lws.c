/* Client library, service side: the libwebsockets context and thread, connect,
 * back-off and failure, and the callback dispatcher. Reading and writing the socket
 * is in tw_client_io.c. Everything here runs on the client's own thread except
 * tw_client_lws_start/stop (caller) and tw_client_wake (any thread). */
#include "tw_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int connect_now(tw_client *c);

static void retry_cb(lws_sorted_usec_list_t *sul)
{
    tw_client *c = lws_container_of(sul, tw_client, sul_retry);
    connect_now(c);
}

static void ping_cb(lws_sorted_usec_list_t *sul)
{
    tw_client *c = lws_container_of(sul, tw_client, sul_ping);
    if (!c->established)
        return;
    pthread_mutex_lock(&c->mu);
    c->ping_due = 1;
    pthread_mutex_unlock(&c->mu);
    lws_callback_on_writable(c->wsi);
    lws_sul_schedule(c->ctx, 0, &c->sul_ping, ping_cb, (lws_usec_t)c->o.ping_interval_ms * 1000);
}

/* The connection (or attempt) is over: decide between retry and failure. */
static void connection_lost(tw_client *c, int err, const char *cause)
{
    if (!c->live)
        return;
    int was_ready = c->welcomed || (c->established && !c->table);
    c->live = c->established = c->welcomed = 0;
    c->wsi = NULL;
    lws_sul_cancel(&c->sul_ping);
    tw_client_deferred d = {0};
    char text[TW_MAX_TEXT];
    pthread_mutex_lock(&c->mu);
    c->sock_open = 0;
    c->tx_partial = 0;
    if (c->stopping || c->closing) {
        pthread_cond_broadcast(&c->cv); /* tw_client_close waits for the clean close */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    /* Controls handed to the dead socket will never be acked; the resumed session
     * re-sends the open episode's start instead. */
    for (int k = 0; k < TW_CTL__COUNT; k++)
        if (c->acked[k] < c->handed[k])
            c->acked[k] = c->handed[k];
    c->npongs = 0, c->ping_due = 0;
    if (was_ready)
        c->attempts = 0;
    else
        c->attempts++, c->st.failed_attempts++;
    int give_up = c->permanent || (!was_ready && c->o.max_retries >= 0 && c->attempts > c->o.max_retries);
    if (give_up) {
        if (c->permanent)
            snprintf(text, sizeof text, "%.*s", (int)sizeof text - 1, cause);
        else
            snprintf(text, sizeof text, "giving up on %s after %d failed attempts: %s", c->url, c->attempts, cause);
        c->fail_err = c->permanent ? c->permanent : TW_ECONNECT;
        snprintf(c->fail_msg, sizeof c->fail_msg, "%s", text);
        tw_client_defer_error(c, &d, c->fail_err, 1, text);
        tw_client_defer_state(c, &d, TW_CLIENT_FAILED);
    } else {
        int shift = c->attempts > 0 ? c->attempts - 1 : 0;
        uint64_t delay = (uint64_t)c->o.backoff_min_ms << (shift > 20 ? 20 : shift);
        if (delay > c->o.backoff_max_ms)
            delay = c->o.backoff_max_ms;
        if (was_ready)
            snprintf(text, sizeof text, "connection to %s lost mid-stream (%s); reconnecting in %llu ms", c->url,
                     cause, (unsigned long long)delay);
        else
            snprintf(text, sizeof text, "connect to %s failed (%s); attempt %d, retrying in %llu ms", c->url, cause,
                     c->attempts, (unsigned long long)delay);
        tw_client_defer_error(c, &d, was_ready ? TW_ECLOSED : err, 0, text);
        tw_client_defer_state(c, &d, TW_CLIENT_BACKOFF);
        lws_sul_schedule(c->ctx, 0, &c->sul_retry, retry_cb, (lws_usec_t)delay * 1000);
    }
    pthread_mutex_unlock(&c->mu);
    tw_client_run_deferred(c, &d);
}

static int connect_now(tw_client *c)
{
    pthread_mutex_lock(&c->mu);
    int closing = c->closing;
    pthread_mutex_unlock(&c->mu);
    if (closing)
        return 0;
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = c->ctx;
    i.address = c->host;
    i.port = c->port;
    i.path = c->path;
    i.host = c->host;
    i.origin = c->host;
    i.protocol = TW_SUBPROTOCOL;
    i.local_protocol_name = TW_SUBPROTOCOL;
    i.pwsi = &c->wsi;
    if (c->ssl)
        i.ssl_connection = LCCSCF_USE_SSL | (c->o.tls_insecure ? LCCSCF_ALLOW_SELFSIGNED |
                                             LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_EXPIRED : 0);
    c->live = 1;
    c->established = c->welcomed = c->hello_sent = 0;
    c->cause[0] = 0;
    if (!lws_client_connect_via_info(&i))
        connection_lost(c, TW_ECONNECT, c->cause[0] ? c->cause : "cannot start the connection");
    return 0;
}

static void on_established(tw_client *c, struct lws *wsi)
{
    tw_client_deferred d = {0};
    c->established = 1;
    pthread_mutex_lock(&c->mu);
    c->sock_open = 1;
    c->st.connects++;
    if (c->st.connects > 1)
        c->st.reconnects++;
    c->resume_pending = c->ep_open_sent;
    if (!c->table) {
        c->attempts = 0;
        tw_client_defer_state(c, &d, TW_CLIENT_READY);
    } else {
        tw_client_defer_state(c, &d, TW_CLIENT_CONNECTING);
    }
    pthread_mutex_unlock(&c->mu);
    tw_client_run_deferred(c, &d);
    if (c->o.ping_interval_ms)
        lws_sul_schedule(c->ctx, 0, &c->sul_ping, ping_cb, (lws_usec_t)c->o.ping_interval_ms * 1000);
    lws_callback_on_writable(wsi);
}

static int add_auth_header(tw_client *c, struct lws *wsi, void *in, size_t len)
{
    unsigned char **p = in, *end = *p + len;
    char v[TW_MAX_TEXT + 16];
    if (!c->token[0])
        return 0;
    int n = snprintf(v, sizeof v, "Bearer %s", c->token);
    return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)v, n, p, end);
}

static void on_connection_error(tw_client *c, struct lws *wsi, const char *in, size_t len)
{
    unsigned status = wsi ? lws_http_client_http_response(wsi) : 0;
    char why[256];
    snprintf(why, sizeof why, "%.*s", (int)(in ? len : 0), in ? in : "");
    if (!why[0])
        snprintf(why, sizeof why, "no reply");
    if (status == 401 || status == 403) {
        c->permanent = TW_EAUTH;
        snprintf(c->cause, sizeof c->cause, "recorder at %s refused the token (HTTP %u)", c->url, status);
        connection_lost(c, TW_EAUTH, c->cause);
        return;
    }
    if (status && status != 101)
        snprintf(c->cause, sizeof c->cause, "HTTP %u from server: %s", status, why);
    else if (c->ssl && !c->o.tls_insecure && strstr(why, "SSL"))
        snprintf(c->cause, sizeof c->cause, "TLS handshake failed (%s); an untrusted or self-signed "
                 "certificate needs tls_insecure", why);
    else
        snprintf(c->cause, sizeof c->cause, "%s", why);
    connection_lost(c, TW_ECONNECT, c->cause);
}

static void on_peer_close(tw_client *c, const uint8_t *in, size_t len)
{
    if (c->permanent)
        return; /* keep the server's own reason (its error message) */
    unsigned code = len >= 2 ? (unsigned)in[0] << 8 | in[1] : 0;
    snprintf(c->cause, sizeof c->cause, "server closed the connection (code %u%s%.*s)", code, len > 2 ? ": " : "",
             len > 2 ? (int)(len - 2) : 0, len > 2 ? (const char *)in + 2 : "");
}

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    tw_client *c = ctx ? lws_context_user(ctx) : NULL;
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return add_auth_header(c, wsi, in, len) ? -1 : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        on_connection_error(c, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        on_established(c, wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        tw_client_io_receive(c, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return tw_client_io_write(c, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        on_peer_close(c, in, len);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (wsi == c->wsi || c->live)
            connection_lost(c, c->permanent ? c->permanent : TW_ECLOSED,
                            c->cause[0] ? c->cause : "connection closed");
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        pthread_mutex_lock(&c->mu);
        c->wake_pending = 0;
        pthread_mutex_unlock(&c->mu);
        if (c->wsi && c->established)
            lws_callback_on_writable(c->wsi);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols client_protocols[] = {
    {TW_SUBPROTOCOL, client_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service_main(void *arg)
{
    tw_client *c = arg;
    connect_now(c);
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int stop = c->stopping;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        lws_service(c->ctx, 0);
    }
    return NULL; /* the context outlives the thread: tw_client_lws_stop may still wake it */
}

int tw_client_lws_start(tw_client *c, char *msg, size_t msgsz)
{
    if (strlen(c->token) > TW_MAX_TEXT)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "client: token longer than %d bytes", TW_MAX_TEXT);
    c->rx = malloc(TW_MAX_TEXT_MSG);
    c->txcap = LWS_PRE + c->o.batch_bytes;
    c->tx = malloc(c->txcap);
    if (!c->rx || !c->tx)
        goto nomem;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.user = c;
    info.gid = -1, info.uid = -1;
    info.fd_limit_per_thread = 16; /* one socket plus lws' own pipes */
    if (c->ssl)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    c->ctx = lws_create_context(&info);
    if (!c->ctx) {
        free(c->rx), free(c->tx);
        return tw_errf(msg, msgsz, TW_ECONNECT, "client: cannot create the libwebsockets context");
    }
    if (pthread_create(&c->thr, NULL, service_main, c)) {
        lws_context_destroy(c->ctx);
        free(c->rx), free(c->tx);
        return tw_errf(msg, msgsz, TW_ENOMEM, "client: cannot start the service thread");
    }
    return 0;
nomem:
    free(c->rx), free(c->tx);
    return tw_errf(msg, msgsz, TW_ENOMEM, "client: out of memory");
}

void tw_client_lws_stop(tw_client *c)
{
    /* First a clean websocket close (up to 1 s) so the recorder sees a goodbye, not a crash. */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    pthread_mutex_lock(&c->mu);
    c->closing = 1;
    pthread_mutex_unlock(&c->mu);
    lws_cancel_service(c->ctx);
    pthread_mutex_lock(&c->mu);
    while (c->sock_open && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
        ;
    c->stopping = 1;
    c->st.lost += c->data_records;
    tw_client_set_state_locked(c, TW_CLIENT_CLOSED);
    pthread_mutex_unlock(&c->mu);
    lws_cancel_service(c->ctx);
    pthread_join(c->thr, NULL);
    lws_context_destroy(c->ctx); /* closes the socket; connection_lost sees stopping */
    c->ctx = NULL;
    free(c->rx), free(c->tx);
    c->rx = NULL, c->tx = NULL;
}

void tw_client_wake(tw_client *c)
{
    lws_cancel_service(c->ctx);
}
