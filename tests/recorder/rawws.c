#include "rawws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into w->buf; 1 read, 0 timeout, -1 closed. */
static int fill(rawws *w, int timeout_ms)
{
    struct pollfd p = {w->fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r <= 0)
        return r < 0 && errno != EINTR ? -1 : 0;
    if (w->len + 65536 > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 131072;
        while (cap < w->len + 65536)
            cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb)
            return -1;
        w->buf = nb;
        w->cap = cap;
    }
    ssize_t n = recv(w->fd, w->buf + w->len, 65536, 0);
    if (n <= 0)
        return -1;
    w->len += (size_t)n;
    return 1;
}

static void consume(rawws *w, size_t n)
{
    memmove(w->buf, w->buf + n, w->len - n);
    w->len -= n;
}

static char *read_http_head(rawws *w, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    for (;;) {
        for (size_t i = 3; i < w->len; i++)
            if (!memcmp(w->buf + i - 3, "\r\n\r\n", 4)) {
                char *h = malloc(i + 2);
                memcpy(h, w->buf, i + 1);
                h[i + 1] = 0;
                consume(w, i + 1);
                return h;
            }
        int64_t left = end - mono_ms();
        if (left <= 0 || fill(w, (int)left) < 0)
            return NULL;
    }
}

int rawws_connect(rawws *w, int port, const char *target, const char *auth, const char *subproto,
                  int *http_status)
{
    memset(w, 0, sizeof *w);
    *http_status = 0;
    w->fd = tcp_connect(port);
    if (w->fd < 0)
        return -1;
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n%s%s%s\r\n",
                     target, port, subproto ? subproto : "teleworld.v1", auth ? "Authorization: " : "",
                     auth ? auth : "", auth ? "\r\n" : "");
    if (write_all(w->fd, req, (size_t)n) < 0)
        return -1;
    char *h = read_http_head(w, 5000);
    if (!h)
        return -1;
    sscanf(h, "HTTP/1.%*d %d", http_status);
    free(h);
    return *http_status == 101 ? 0 : -1;
}

int rawws_send_frame(rawws *w, int opcode, const void *data, size_t len, int fin)
{
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        hdr[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(hdr + h, mask, 4);
    h += 4;
    uint8_t *out = malloc(h + len);
    if (!out)
        return -1;
    memcpy(out, hdr, h);
    const uint8_t *src = data;
    for (size_t i = 0; i < len; i++)
        out[h + i] = src[i] ^ mask[i & 3];
    int rc = write_all(w->fd, out, h + len);
    free(out);
    return rc;
}

int rawws_send_text(rawws *w, const char *text)
{
    return rawws_send_frame(w, RAWWS_TEXT, text, strlen(text), 1);
}

int rawws_send_binary(rawws *w, const void *data, size_t len)
{
    return rawws_send_frame(w, RAWWS_BINARY, data, len, 1);
}

/* Parses one complete frame at the head of buf; 1 parsed, 0 need more. */
static int parse_frame(rawws *w, int *op, int *fin, char **data, size_t *dlen)
{
    if (w->len < 2)
        return 0;
    const uint8_t *b = w->buf;
    size_t h = 2;
    uint64_t len = b[1] & 0x7f;
    if (len == 126) {
        if (w->len < 4)
            return 0;
        len = ((uint64_t)b[2] << 8) | b[3];
        h = 4;
    } else if (len == 127) {
        if (w->len < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | b[2 + i];
        h = 10;
    }
    if (w->len < h + len)
        return 0;
    *op = b[0] & 0x0f;
    *fin = (b[0] & 0x80) != 0;
    *data = malloc(len + 1);
    memcpy(*data, b + h, len);
    (*data)[len] = 0;
    *dlen = len;
    consume(w, h + len);
    return 1;
}

int rawws_recv(rawws *w, int *opcode, char **data, size_t *len, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    for (;;) {
        int op, fin;
        char *d;
        size_t n;
        while (parse_frame(w, &op, &fin, &d, &n)) {
            if (op == RAWWS_CLOSE) {
                w->closed = 1;
                w->close_code = n >= 2 ? ((uint8_t)d[0] << 8 | (uint8_t)d[1]) : 0;
                free(d);
                return -1;
            }
            if (op == 9) { /* websocket ping: answer */
                rawws_send_frame(w, 10, d, n, 1);
                free(d);
                continue;
            }
            if (op == 10) {
                free(d);
                continue;
            }
            *opcode = op;
            *data = d;
            *len = n;
            return 1;
        }
        if (w->closed)
            return -1;
        int64_t left = end - mono_ms();
        if (left <= 0)
            return 0;
        int r = fill(w, (int)left);
        if (r < 0) {
            w->closed = 1;
            return -1;
        }
    }
}

json_t *rawws_wait_type(rawws *w, const char *type, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - mono_ms();
        int op;
        char *d;
        size_t n;
        if (left <= 0 || rawws_recv(w, &op, &d, &n, (int)left) != 1)
            return NULL;
        json_t *j = op == RAWWS_TEXT ? json_loads(d, 0, NULL) : NULL;
        free(d);
        const char *t = json_string_value(json_object_get(j, "type"));
        if (t && !strcmp(t, type))
            return j;
        json_decref(j);
    }
}

void rawws_close(rawws *w)
{
    if (w->fd > 0)
        close(w->fd);
    free(w->buf);
    memset(w, 0, sizeof *w);
}

int http_get(int port, const char *target, const char *auth, char **body)
{
    rawws w;
    memset(&w, 0, sizeof w);
    *body = NULL;
    w.fd = tcp_connect(port);
    if (w.fd < 0)
        return -1;
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: close\r\n\r\n",
                     target, auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    int status = 0;
    char *h = NULL;
    if (write_all(w.fd, req, (size_t)n) == 0 && (h = read_http_head(&w, 5000))) {
        sscanf(h, "HTTP/1.%*d %d", &status);
        long clen = -1;
        const char *cl = strcasestr(h, "content-length:");
        if (cl)
            clen = strtol(cl + 15, NULL, 10);
        int64_t end = mono_ms() + 5000;
        while ((clen < 0 || (long)w.len < clen) && mono_ms() < end && fill(&w, 200) >= 0) {
        }
        *body = malloc(w.len + 1);
        memcpy(*body, w.buf, w.len);
        (*body)[w.len] = 0;
    }
    free(h);
    rawws_close(&w);
    return status;
}
