/* Load generator for the recorder benchmark (bench/recorder/run). One libwebsockets client
 * speaking teleworld.v1: token header, hello, episode_start, then data, episode_stop.
 *   small: saturation with 192-byte joint-state frames (7-joint float64 [3,7] + 24-byte
 *          header), many frames per websocket message, as fast as the server takes them.
 *   rig:   a realistic rig, paced to wall clock: two 7-joint arms and two wrist F/T at 1 kHz,
 *          three H.264 cameras at 30 fps (access units from --video, looped), sent every 10 ms.
 * Prints one line of key=value results, including its own CPU use, so a run can show the
 * generator was not the bottleneck.
 *   tw_bench_load --url ws://127.0.0.1:PORT/ --token T --mode small|rig --seconds S
 *                 [--batch-bytes N] [--video FILE.h264] */
#include <getopt.h>
#include <math.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tw_wire.h"

#define ARM_BYTES (3 * 7 * 8)
#define FT_BYTES (6 * 8)
#define MAX_AUS 4096

typedef struct {
    const char *token, *mode, *video;
    double seconds;
    size_t batch_bytes;
    int rig;
    /* state */
    struct lws_context *ctx;
    struct lws *wsi;
    int phase; /* 0 hello, 1 start, 2 data, 3 stop, 4 done */
    int64_t t_start, t_end;
    uint64_t frames, bytes, msgs;
    uint64_t seq[8];
    uint64_t ticks_done; /* rig: 1 ms ticks already sent */
    uint8_t *buf;
    size_t bufcap;
    uint8_t *clip;
    size_t nau, au_off[MAX_AUS], au_len[MAX_AUS];
    int failed, closed;
    lws_sorted_usec_list_t sul;
} load;

static load L;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void decl(tw_stream_decl *d, uint16_t id, const char *name, tw_kind kind, double rate)
{
    memset(d, 0, sizeof *d);
    d->id = id;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->kind = kind;
    d->rate_hz = rate;
    if (kind == TW_KIND_JOINT_STATE) {
        d->dtype = TW_DTYPE_FLOAT64;
        d->ndim = 2;
        d->shape[0] = 3;
        d->shape[1] = 7;
    } else if (kind == TW_KIND_WRENCH) {
        d->dtype = TW_DTYPE_FLOAT64;
        d->ndim = 1;
        d->shape[0] = 6;
    } else {
        d->dtype = TW_DTYPE_BYTES;
        d->encoding = TW_VIDEO_H264;
        d->width = 640;
        d->height = 480;
    }
}

static int write_text(const tw_msg *m)
{
    char *json = NULL, emsg[256];
    if (tw_msg_encode(m, &json, emsg, sizeof emsg) < 0) {
        fprintf(stderr, "tw_bench_load: encode: %s\n", emsg);
        return -1;
    }
    size_t n = strlen(json);
    unsigned char *b = malloc(LWS_PRE + n);
    memcpy(b + LWS_PRE, json, n);
    int w = lws_write(L.wsi, b + LWS_PRE, n, LWS_WRITE_TEXT);
    free(b);
    free(json);
    return w < (int)n ? -1 : 0;
}

static int send_hello(void)
{
    tw_stream_decl d[7];
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_HELLO;
    snprintf(m.u.hello.client, sizeof m.u.hello.client, "tw_bench_load");
    snprintf(m.u.hello.version, sizeof m.u.hello.version, "1");
    snprintf(m.u.hello.rig, sizeof m.u.hello.rig, "bench-%s", L.mode);
    decl(&d[0], 1, "arm_l", TW_KIND_JOINT_STATE, 1000);
    m.u.hello.nstreams = 1;
    if (L.rig) {
        decl(&d[1], 2, "arm_r", TW_KIND_JOINT_STATE, 1000);
        decl(&d[2], 3, "ft_l", TW_KIND_WRENCH, 1000);
        decl(&d[3], 4, "ft_r", TW_KIND_WRENCH, 1000);
        decl(&d[4], 5, "cam0", TW_KIND_VIDEO, 30);
        decl(&d[5], 6, "cam1", TW_KIND_VIDEO, 30);
        decl(&d[6], 7, "cam2", TW_KIND_VIDEO, 30);
        m.u.hello.nstreams = 7;
    }
    m.u.hello.streams = d;
    return write_text(&m);
}

static int send_control(tw_msg_type t)
{
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = t;
    if (t == TW_MSG_EPISODE_START)
        snprintf(m.u.start.task, sizeof m.u.start.task, "benchmark %s", L.mode);
    else
        m.u.stop.success = 1;
    return write_text(&m);
}

static size_t put_frame(size_t off, uint16_t id, uint16_t flags, const void *payload, size_t len, int64_t t)
{
    if (off + TW_FRAME_HEADER_SIZE + len > L.bufcap)
        return off;
    tw_frame f = {id, flags, (uint32_t)len, L.seq[id]++, t, payload};
    L.frames++;
    return off + tw_frame_encode(L.buf + LWS_PRE + off, L.bufcap - off, &f);
}

/* Smooth motion plus sensor noise, like real joint and force readings. */
static void fill_signal(double *v, int n, uint64_t k)
{
    static uint64_t x = 88172645463325252ull;
    for (int j = 0; j < n; j++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double noise = ((double)(x >> 11) / 9007199254740992.0 - 0.5) * 1e-3;
        v[j] = sin((double)k * 1e-3 * (1 + j % 7) + j) + noise;
    }
}

/* Saturation: one message of as many 192-byte frames as fit in batch_bytes. The frames
 * are encoded once into a template; each message copies it (lws masks the send buffer in
 * place) and renumbers the frames (seq and t_src, little-endian), so the generator costs
 * a few stores per frame plus the kernel's copy. */
static size_t build_small(void)
{
    static size_t len, nf;
    static uint8_t *tmpl;
    size_t fsz = TW_FRAME_HEADER_SIZE + ARM_BYTES;
    if (!tmpl) {
        double q[21];
        tmpl = malloc(L.batch_bytes);
        while (len + fsz <= L.batch_bytes) {
            fill_signal(q, 21, nf); /* distinct, realistic values: compression is not flattered */
            tw_frame f = {1, 0, ARM_BYTES, 0, 0, (const uint8_t *)q};
            len += tw_frame_encode(tmpl + len, L.batch_bytes - len, &f);
            nf++;
        }
    }
    int64_t t = now_ns();
    uint8_t *p = L.buf + LWS_PRE;
    memcpy(p, tmpl, len);
    for (size_t i = 0; i < nf; i++, p += fsz) {
        uint64_t seq = L.seq[1]++;
        memcpy(p + 8, &seq, 8); /* x86-64 and aarch64 Linux are little-endian */
        memcpy(p + 16, &t, 8);
    }
    L.frames += nf;
    return len;
}

/* Realistic rig: everything due since the last message (1 kHz signals, 30 fps cameras). */
static size_t build_rig(void)
{
    double q[21], w[6];
    int64_t el = now_ns() - L.t_start;
    uint64_t due = (uint64_t)(el / 1000000);
    size_t off = 0;
    for (; L.ticks_done < due && off < L.batch_bytes; L.ticks_done++) {
        int64_t t = (int64_t)L.ticks_done * 1000000;
        for (uint16_t id = 1; id <= 2; id++) {
            fill_signal(q, 21, L.ticks_done * 2 + id);
            off = put_frame(off, id, 0, q, ARM_BYTES, t);
        }
        for (uint16_t id = 3; id <= 4; id++) {
            fill_signal(w, 6, L.ticks_done * 2 + id);
            off = put_frame(off, id, 0, w, FT_BYTES, t);
        }
        for (uint16_t c = 0; c < 3 && L.nau; c++) { /* cameras phase-shifted by 11 ms */
            uint64_t k = L.ticks_done + 11 * c;
            if (k * 30 / 1000 != (k + 1) * 30 / 1000) { /* a 30 fps frame boundary in this ms */
                size_t i = L.seq[5 + c] % L.nau;
                const uint8_t *au = L.clip + L.au_off[i];
                int key = L.au_len[i] > 4 && (i % 30) == 0;
                off = put_frame(off, 5 + c, key ? TW_FLAG_KEYFRAME : 0, au, L.au_len[i], t);
            }
        }
    }
    return off;
}

static int on_writeable(void)
{
    switch (L.phase) {
    case 0:
        L.phase = 1;
        if (send_hello())
            return -1;
        break;
    case 1:
        L.phase = 2;
        if (send_control(TW_MSG_EPISODE_START))
            return -1;
        L.t_start = now_ns();
        L.t_end = L.t_start + (int64_t)(L.seconds * 1e9);
        break;
    case 2: {
        if (now_ns() >= L.t_end) {
            L.phase = 3;
            break;
        }
        size_t n = L.rig ? build_rig() : build_small();
        if (n) {
            if (lws_write(L.wsi, L.buf + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n)
                return -1;
            L.bytes += n;
            L.msgs++;
        }
        if (L.rig && !n)
            return 0; /* the 1 ms timer asks again */
        break;
    }
    case 3:
        L.phase = 4;
        if (send_control(TW_MSG_EPISODE_STOP))
            return -1;
        L.t_end = now_ns(); /* data phase over */
        break;
    default:
        return 0;
    }
    lws_callback_on_writable(L.wsi);
    return 0;
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        char v[256];
        snprintf(v, sizeof v, "Bearer %s", L.token);
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)v, (int)strlen(v), p,
                                         end))
            return -1;
        break;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable();
    case LWS_CALLBACK_CLIENT_RECEIVE:
        break; /* welcome, acks, status, pings: not needed for load */
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "tw_bench_load: connection error: %s\n", in ? (const char *)in : "?");
        L.failed = 1;
        L.closed = 1;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        L.closed = 1;
        break;
    default:
        break;
    }
    return 0;
}

/* Rig mode sends what is due every 10 ms (10 samples per 1 kHz stream per message, like a
 * batching client). A 1 ms timer would make lws poll with a 0 ms timeout most of the time,
 * and the generator would spin. */
#define TICK_US 10000
static void tick(lws_sorted_usec_list_t *s)
{
    if (L.wsi && L.phase == 2)
        lws_callback_on_writable(L.wsi);
    lws_sul_schedule(L.ctx, 0, &L.sul, tick, TICK_US);
}

static void load_clip(void)
{
    FILE *f = L.video ? fopen(L.video, "rb") : NULL;
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    L.clip = malloc((size_t)n);
    if (fread(L.clip, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    fclose(f);
    for (long i = 0; i + 5 <= n && L.nau < MAX_AUS; i++) /* access units start at AUD NALs */
        if (!memcmp(L.clip + i, "\0\0\0\1", 4) && (L.clip[i + 4] & 0x1f) == 9) {
            if (L.nau)
                L.au_len[L.nau - 1] = (size_t)i - L.au_off[L.nau - 1];
            L.au_off[L.nau++] = (size_t)i;
        }
    if (L.nau)
        L.au_len[L.nau - 1] = (size_t)n - L.au_off[L.nau - 1];
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"url", 1, 0, 'u'}, {"token", 1, 0, 't'}, {"mode", 1, 0, 'm'},
                                       {"seconds", 1, 0, 's'}, {"batch-bytes", 1, 0, 'b'},
                                       {"video", 1, 0, 'v'}, {0, 0, 0, 0}};
    const char *url = "ws://127.0.0.1:8765/";
    L.token = "";
    L.mode = "small";
    L.seconds = 5;
    L.batch_bytes = 65536;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 't': L.token = optarg; break;
        case 'm': L.mode = optarg; break;
        case 's': L.seconds = atof(optarg); break;
        case 'b': L.batch_bytes = (size_t)atol(optarg); break;
        case 'v': L.video = optarg; break;
        default: fprintf(stderr, "usage: see the comment at the top of tw_bench_load.c\n"); return 2;
        }
    }
    L.rig = !strcmp(L.mode, "rig");
    if (L.rig) {
        load_clip();
        if (!L.nau) {
            fprintf(stderr, "tw_bench_load: rig mode needs --video FILE.h264 with AUD NALs\n");
            return 2;
        }
        L.batch_bytes = 4u << 20; /* room for a burst of catch-up plus camera frames */
    }
    L.bufcap = L.batch_bytes + (1u << 20);
    L.buf = malloc(LWS_PRE + L.bufcap);
    lws_set_log_level(LLL_ERR, NULL);
    static const struct lws_protocols protos[] = {{"teleworld.v1", cb, 0, 65536, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protos;
    L.ctx = lws_create_context(&info);
    char host[128] = "127.0.0.1", path[256] = "/";
    int port = 8765;
    if (sscanf(url, "ws://%127[^:]:%d%255s", host, &port, path) < 2) {
        fprintf(stderr, "tw_bench_load: --url must be ws://HOST:PORT/\n");
        return 2;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = L.ctx;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = "teleworld.v1";
    ci.pwsi = &L.wsi;
    double cpu0 = cpu_s();
    if (!lws_client_connect_via_info(&ci)) {
        fprintf(stderr, "tw_bench_load: cannot connect\n");
        return 1;
    }
    lws_sul_schedule(L.ctx, 0, &L.sul, tick, TICK_US);
    while (!L.closed && L.phase < 4)
        lws_service(L.ctx, 0);
    /* let the stop message and buffered data leave, then close */
    int64_t drain_end = now_ns() + 5000000000LL;
    while (!L.closed && lws_send_pipe_choked(L.wsi) && now_ns() < drain_end)
        lws_service(L.ctx, 10);
    double cpu = cpu_s() - cpu0;
    double secs = (L.t_end - L.t_start) / 1e9;
    lws_context_destroy(L.ctx);
    if (L.failed || secs <= 0) {
        fprintf(stderr, "tw_bench_load: run failed\n");
        return 1;
    }
    printf("mode=%s frames=%llu msgs=%llu bytes=%llu secs=%.3f rate=%.0f MBps=%.2f gen_cpu_pct=%.1f "
           "gen_us_per_frame=%.3f\n", L.mode, (unsigned long long)L.frames, (unsigned long long)L.msgs,
           (unsigned long long)L.bytes, secs, L.frames / secs, L.bytes / secs / 1e6, 100 * cpu / secs,
           1e6 * cpu / (double)(L.frames ? L.frames : 1));
    return 0;
}
