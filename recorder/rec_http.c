/* The HTTP side of the recorder's port: token check on every websocket upgrade (HTTP 401
 * before any websocket traffic), and GET /status (same token, same two ways to send it). */
#include <stdlib.h>
#include <string.h>

#include "rec_internal.h"

typedef struct {
    char *body;
    size_t len;
} http_pss;

/* Token from "Authorization: Bearer T" or, for browsers which cannot set headers, "?token=T". */
static int authorized(struct tw_recorder *r, struct lws *wsi)
{
    char buf[512];
    int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0) { /* a header, when present, decides alone (protocol.md section 1) */
        const char *t = buf + 7;
        while (*t == ' ')
            t++;
        return n > 7 && !strncasecmp(buf, "Bearer ", 7) && rec_token_equal(t, r->token);
    }
    const char *q = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf); /* points past "token=" */
    if (q && rec_token_equal(q, r->token))
        return 1;
    return 0;
}

/* The refusal of a websocket upgrade, written by hand: lws answers a request it has not finished
 * parsing with an "HTTP/1.0" status line, which websocket clients (Python's websockets, the
 * protocol's own example) cannot parse, so a rig could not tell a wrong token from a broken
 * server. HTTP/1.1 status line, the reason as a text body, connection closed. */
static int refuse_upgrade(struct lws *wsi, unsigned code, const char *why)
{
    const char *name = code == 401 ? "Unauthorized" : code == 400 ? "Bad Request"
                     : code == 503 ? "Service Unavailable" : "Error";
    unsigned char buf[LWS_PRE + 512];
    char *p = (char *)buf + LWS_PRE;
    int n = snprintf(p, sizeof buf - LWS_PRE,
                     "HTTP/1.1 %u %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
                     "%sConnection: close\r\n\r\n%s\n", code, name, strlen(why) + 1,
                     code == 401 ? "WWW-Authenticate: Bearer realm=\"teleworld\"\r\n" : "", why);
    if (n < 0 || (size_t)n >= sizeof buf - LWS_PRE)
        return -1;
    lws_write(wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_HTTP_HEADERS);
    return -1; /* answered: close the connection */
}

static int refuse(struct lws *wsi, unsigned code, const char *why)
{
    lws_return_http_status(wsi, code, why);
    return 1; /* we answered: lws completes the transaction */
}

static int confirm_upgrade(struct tw_recorder *r, struct lws *wsi)
{
    char proto[128] = "";
    lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL);
    if (!authorized(r, wsi)) {
        r->n_auth_refused++;
        rec_log(r, "refused a websocket upgrade: missing or wrong token");
        return refuse_upgrade(wsi, HTTP_STATUS_UNAUTHORIZED, "missing or wrong token");
    }
    if (!strstr(proto, TW_SUBPROTOCOL))
        return refuse_upgrade(wsi, HTTP_STATUS_BAD_REQUEST, "websocket subprotocol " TW_SUBPROTOCOL " required");
    if (r->nsessions >= r->o.max_sessions || r->stop) {
        r->n_full_refused++;
        return refuse_upgrade(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "too many sessions");
    }
    return 0;
}

static int serve_status(struct tw_recorder *r, struct lws *wsi, http_pss *pss, const char *uri)
{
    if (strcmp(uri, "/status"))
        return refuse(wsi, HTTP_STATUS_NOT_FOUND, "only /status and websocket " TW_SUBPROTOCOL " here");
    if (!authorized(r, wsi)) {
        r->n_auth_refused++;
        return refuse(wsi, HTTP_STATUS_UNAUTHORIZED, "missing or wrong token");
    }
    char *json = rec_status_json(r);
    if (!json)
        return refuse(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    size_t n = strlen(json);
    pss->body = malloc(LWS_PRE + n + 1);
    if (!pss->body) {
        free(json);
        return refuse(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    }
    memcpy(pss->body + LWS_PRE, json, n);
    pss->body[LWS_PRE + n] = '\n';
    pss->len = n + 1;
    free(json);
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", pss->len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

int rec_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct tw_recorder *r = lws_context_user(lws_get_context(wsi));
    http_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(r, wsi);
    case LWS_CALLBACK_HTTP:
        return serve_status(r, wsi, pss, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!pss || !pss->body)
            break;
        if (lws_write(wsi, (unsigned char *)pss->body + LWS_PRE, pss->len, LWS_WRITE_HTTP_FINAL) < (int)pss->len)
            return -1;
        free(pss->body);
        pss->body = NULL;
        if (lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            free(pss->body);
            pss->body = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

size_t rec_http_pss_size(void)
{
    return sizeof(http_pss);
}
