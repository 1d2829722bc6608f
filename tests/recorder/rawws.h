/* A deliberately raw websocket client for the recorder tests: plain sockets, so a test can
 * send exactly the bytes it wants (malformed frames, oversize messages, floods) and see
 * the HTTP status of a refused handshake. Blocking with timeouts; loopback only. */
#ifndef TW_RAWWS_H
#define TW_RAWWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define RAWWS_TEXT 1
#define RAWWS_BINARY 2
#define RAWWS_CLOSE 8

typedef struct {
    int fd;
    uint8_t *buf;      /* bytes received, not yet parsed */
    size_t len, cap;
    int closed;
    int close_code;
} rawws;

/* Connects to 127.0.0.1:port and performs the upgrade. target is the request target
 * ("/" or "/?token=T"); auth is the Authorization header value or NULL; subproto NULL for
 * "teleworld.v1". Returns 0 on 101 Switching Protocols, else -1 with *http_status set
 * (0 when the connection failed or closed without a status). */
int rawws_connect(rawws *w, int port, const char *target, const char *auth, const char *subproto,
                  int *http_status);
/* One masked websocket frame; fin=0 starts/continues a fragmented message. */
int rawws_send_frame(rawws *w, int opcode, const void *data, size_t len, int fin);
int rawws_send_text(rawws *w, const char *text);
int rawws_send_binary(rawws *w, const void *data, size_t len);
/* Next data message (text NUL-terminated); 1 got one (*data malloc'd), 0 timeout,
 * -1 connection closed (w->closed, w->close_code). */
int rawws_recv(rawws *w, int *opcode, char **data, size_t *len, int timeout_ms);
/* Receives until a JSON text message with "type" == type (others skipped, except that
 * "error" messages are returned when type is "error"); NULL on timeout/close. Caller decrefs. */
json_t *rawws_wait_type(rawws *w, const char *type, int timeout_ms);
void rawws_close(rawws *w);

/* HTTP GET on 127.0.0.1:port; returns the status, body (malloc'd) in *body. */
int http_get(int port, const char *target, const char *auth, char **body);

#endif
