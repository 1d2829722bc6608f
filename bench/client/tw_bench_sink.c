/* Bare libwebsockets sink for the client benchmark: accepts teleworld.v1 sessions,
 * answers the first text message (hello) with a fixed welcome so the teleworld client
 * starts streaming, and discards everything else, counting bytes. No codec, no token
 * check: it stands for the physical limit of one lws server core.
 *   tw_bench_sink PORT     (prints "listening PORT", then one line per closed session) */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char welcome[] = "{\"type\":\"welcome\",\"protocol\":\"teleworld.v1\",\"session_id\":\"sink\","
                              "\"max_binary\":16777216,\"max_text\":262144,\"status_interval_ms\":0}";

typedef struct {
    unsigned long long bytes, msgs, texts;
    int need_welcome;
} sess;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int sink_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    sess *s = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof *s);
        break;
    case LWS_CALLBACK_RECEIVE:
        s->bytes += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (lws_frame_is_binary(wsi)) {
                s->msgs++;
            } else if (s->texts++ == 0) {
                s->need_welcome = 1;
                lws_callback_on_writable(wsi);
            }
        }
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (s->need_welcome) {
            unsigned char buf[LWS_PRE + sizeof welcome];
            memcpy(buf + LWS_PRE, welcome, sizeof welcome - 1);
            s->need_welcome = 0;
            if (lws_write(wsi, buf + LWS_PRE, sizeof welcome - 1, LWS_WRITE_TEXT) < 0)
                return -1;
        }
        break;
    case LWS_CALLBACK_CLOSED:
        printf("session bytes=%llu binary_msgs=%llu text_msgs=%llu\n", s->bytes, s->msgs, s->texts);
        fflush(stdout);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"http", lws_callback_http_dummy, 0, 0, 0, NULL, 0},
    {"teleworld.v1", sink_cb, sizeof(sess), 1 << 20, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.gid = -1, info.uid = -1;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "tw_bench_sink: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("listening %d\n", lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")));
    fflush(stdout);
    while (!stop)
        if (lws_service(ctx, 0) < 0)
            break;
    lws_context_destroy(ctx);
    return 0;
}
