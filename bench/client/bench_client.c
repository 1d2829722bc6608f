/* Client throughput benchmark: joint-state samples per second pushed over loopback to a
 * discarding sink, by the teleworld client library or by a bare libwebsockets client
 * sending the same frames (same frame size, same bytes per websocket message).
 *   bench_client tw|bare URL SECONDS [BATCH_BYTES]
 * Prints one line: mode, samples, seconds, samples/s, MB/s, client CPU us/sample. */
#include <libwebsockets.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tw_client.h"

enum { NJ = 7, SAMPLE_BYTES = 3 * NJ * 8, FRAME_BYTES = TW_FRAME_HEADER_SIZE + SAMPLE_BYTES };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(const char *mode, unsigned long long n, double secs, double cpu, unsigned long long dropped)
{
    printf("mode=%s samples=%llu seconds=%.3f rate=%.0f MBps=%.1f cpu_us_per_sample=%.3f refused_full=%llu\n", mode, n,
           secs, n / secs, n * (double)FRAME_BYTES / secs / 1e6, cpu * 1e6 / (double)n, dropped);
}

static void joint_decl(tw_stream_decl *d)
{
    memset(d, 0, sizeof *d);
    *d = (tw_stream_decl){.id = 1, .kind = TW_KIND_JOINT_STATE, .dtype = TW_DTYPE_FLOAT64, .ndim = 2,
                          .shape = {3, NJ}, .naxes = NJ, .rate_hz = 500};
    strcpy(d->name, "arm");
    for (int j = 0; j < NJ; j++)
        snprintf(d->axes[j], sizeof d->axes[j], "j%d", j);
}

/* ---- teleworld client ---------------------------------------------------------- */
static int run_tw(const char *url, double secs, size_t batch)
{
    char msg[512];
    tw_client_opts o;
    tw_client_opts_init(&o);
    o.url = url;
    o.token = "bench";
    o.batch_bytes = batch;
    tw_client *c = NULL;
    tw_stream_decl d;
    joint_decl(&d);
    if (tw_client_open(&o, &c, msg, sizeof msg) || tw_client_declare(c, &d, 1, msg, sizeof msg) ||
        tw_client_wait_ready(c, 5000, msg, sizeof msg)) {
        fprintf(stderr, "bench_client tw: %s\n", msg);
        tw_client_close(c);
        return 1;
    }
    double q[3 * NJ] = {0};
    unsigned long long n = 0, refused = 0;
    double c0 = cpu_s(), t0 = now_s(), t1 = t0, p0 = thread_cpu_s();
    /* A rig that must not drop: push, and back off briefly when the buffer is nearly full. */
    while (t1 - t0 < secs) {
        for (int k = 0; k < 4096; k++) {
            q[0] = (double)n;
            int rc = tw_client_send(c, 1, (int64_t)n * 2000000, 0, q, sizeof q);
            if (rc == TW_EFULL) {
                refused++;
                sched_yield();
                continue;
            }
            if (rc) {
                fprintf(stderr, "bench_client tw: send: %s\n", tw_strerror(rc));
                tw_client_close(c);
                return 1;
            }
            n++;
        }
        t1 = now_s();
    }
    double producer = thread_cpu_s() - p0;
    int rc = tw_client_flush(c, 60000, msg, sizeof msg);
    double secs_done = now_s() - t0, cpu = cpu_s() - c0;
    tw_client_stats st;
    tw_client_stats_get(c, &st);
    tw_client_close(c);
    if (rc) {
        fprintf(stderr, "bench_client tw: flush: %s\n", msg);
        return 1;
    }
    report("tw", st.frames_sent, secs_done, cpu, refused);
    printf("# tw: the caller's thread spent %.3f us CPU per tw_client_send (incl. back-off yields)\n",
           producer * 1e6 / (double)n);
    return 0;
}

/* ---- bare libwebsockets client ------------------------------------------------- */
typedef struct {
    double secs, t0, t_end;
    size_t per_msg;
    unsigned long long n;
    uint8_t *buf;
    int done, failed;
} bare;

static int bare_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    bare *b = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        b->t0 = now_s();
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (now_s() - b->t0 >= b->secs) {
            b->t_end = now_s();
            b->done = 1;
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        double q[3 * NJ] = {0};
        uint8_t *p = b->buf + LWS_PRE;
        for (size_t i = 0; i < b->per_msg; i++, b->n++) { /* the same encoding work per frame */
            q[0] = (double)b->n;
            tw_frame f = {.stream_id = 1, .payload_len = SAMPLE_BYTES, .seq = b->n,
                          .t_src_ns = (int64_t)b->n * 2000000, .payload = (const uint8_t *)q};
            tw_frame_encode(p + i * FRAME_BYTES, FRAME_BYTES, &f);
        }
        if (lws_write(wsi, p, b->per_msg * FRAME_BYTES, LWS_WRITE_BINARY) < 0)
            return -1;
        lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench_client bare: %s\n", in ? (const char *)in : "connect failed");
        b->failed = b->done = 1;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        b->done = 1;
        break;
    default:
        break;
    }
    return 0;
}

static int run_bare(const char *url, double secs, size_t batch)
{
    bare b = {.secs = secs, .per_msg = batch / FRAME_BYTES ? batch / FRAME_BYTES : 1};
    b.buf = malloc(LWS_PRE + b.per_msg * FRAME_BYTES);
    static const struct lws_protocols protos[] = {{"teleworld.v1", bare_cb, 0, 65536, 0, NULL, 0}, /* as the library */
                                                  {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protos;
    info.user = &b;
    info.gid = -1, info.uid = -1;
    struct lws_context *ctx = lws_create_context(&info);
    char tmp[256];
    const char *prot, *ads, *path;
    int port;
    snprintf(tmp, sizeof tmp, "%s", url);
    if (!ctx || !b.buf || lws_parse_uri(tmp, &prot, &ads, &port, &path)) {
        fprintf(stderr, "bench_client bare: setup failed\n");
        return 1;
    }
    char fullpath[256];
    snprintf(fullpath, sizeof fullpath, "/%s", path);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = ads, ci.port = port, ci.path = fullpath, ci.host = ads, ci.origin = ads;
    ci.protocol = "teleworld.v1";
    double c0 = cpu_s();
    if (!lws_client_connect_via_info(&ci))
        b.failed = b.done = 1;
    while (!b.done)
        lws_service(ctx, 0);
    double cpu = cpu_s() - c0;
    lws_context_destroy(ctx);
    free(b.buf);
    if (b.failed)
        return 1;
    report("bare", b.n, b.t_end - b.t0, cpu, 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s tw|bare ws://HOST:PORT/ SECONDS [BATCH_BYTES]\n", argv[0]);
        return 2;
    }
    lws_set_log_level(LLL_ERR, NULL);
    double secs = atof(argv[3]);
    size_t batch = argc > 4 ? (size_t)atol(argv[4]) : 64 * 1024;
    if (!strcmp(argv[1], "tw"))
        return run_tw(argv[2], secs, batch);
    if (!strcmp(argv[1], "bare"))
        return run_bare(argv[2], secs, batch);
    fprintf(stderr, "bench_client: mode must be tw or bare\n");
    return 2;
}
