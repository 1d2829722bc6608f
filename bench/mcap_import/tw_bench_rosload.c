/* The live benchmark's load in teleworld's own protocol (bridge/client): the same streams fox_server.py
 * publishes over foxglove.websocket.v1 — a 7-joint joint_state and a wrench at 1 kHz, one JPEG
 * picture at 30 Hz — paced to the wall clock, one episode. Prints "sent N refused R".
 *   tw_bench_rosload --url ws://127.0.0.1:PORT --token T --seconds S --jpeg FILE.jpg */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tw_client.h"

static void decl(tw_stream_decl *d, uint16_t id, const char *name, tw_kind k, uint32_t d0, uint32_t d1)
{
    memset(d, 0, sizeof *d);
    d->id = id;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->kind = k;
    d->dtype = k == TW_KIND_VIDEO ? TW_DTYPE_BYTES : TW_DTYPE_FLOAT64;
    d->ndim = k == TW_KIND_VIDEO ? 0 : d1 ? 2 : 1;
    d->shape[0] = d0;
    d->shape[1] = d1;
    d->rate_hz = k == TW_KIND_VIDEO ? 30 : 1000;
}

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = malloc(1 << 22);
    *len = f && p ? fread(p, 1, 1 << 22, f) : 0;
    if (f)
        fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *token = NULL, *jpeg = NULL;
    double secs = 10;
    int c;
    while ((c = getopt_long(argc, argv, "", (struct option[]){{"url", 1, 0, 'u'}, {"token", 1, 0, 't'},
                                                               {"seconds", 1, 0, 's'}, {"jpeg", 1, 0, 'j'}, {0, 0, 0, 0}},
                            NULL)) != -1)
        c == 'u' ? (void)(url = optarg) : c == 't' ? (void)(token = optarg) : c == 's' ? (void)(secs = atof(optarg))
                                                                                      : (void)(jpeg = optarg);
    size_t jlen = 0;
    uint8_t *pic = jpeg ? load(jpeg, &jlen) : NULL;
    if (!url || !token || !jlen) {
        fprintf(stderr, "usage: tw_bench_rosload --url U --token T --seconds S --jpeg F\n");
        return 2;
    }
    tw_stream_decl d[3];
    decl(&d[0], 1, "joint_states", TW_KIND_JOINT_STATE, 3, 7);
    decl(&d[1], 2, "wrench", TW_KIND_WRENCH, 6, 0);
    decl(&d[2], 3, "camera", TW_KIND_VIDEO, 0, 0);
    d[2].encoding = TW_VIDEO_JPEG, d[2].width = 320, d[2].height = 240;
    tw_client_opts o;
    tw_client_opts_init(&o);
    o.url = url, o.token = token, o.queue_bytes = 64u << 20;
    tw_client *cl;
    char err[512];
    if (tw_client_open(&o, &cl, err, sizeof err) || tw_client_declare(cl, d, 3, err, sizeof err) ||
        tw_client_wait_ready(cl, 10000, err, sizeof err) ||
        tw_client_episode_start(cl, "bench", NULL, "bench", NULL, err, sizeof err)) {
        fprintf(stderr, "tw_bench_rosload: %s\n", err);
        return 1;
    }
    double js[21], w[6] = {1, 2, 3, 0, 0.1, 0.2};
    uint64_t sent = 0, refused = 0, n = (uint64_t)(secs * 1000);
    int64_t t0 = tw_client_clock_realtime(NULL);
    for (uint64_t i = 0; i < n; i++) {
        int64_t due = t0 + (int64_t)i * 1000000;
        while (tw_client_clock_realtime(NULL) < due)
            usleep(200);
        for (int k = 0; k < 21; k++)
            js[k] = 1e-3 * (double)i + k;
        refused += tw_client_send(cl, 1, due, 0, js, sizeof js) != 0;
        refused += tw_client_send(cl, 2, due, 0, w, sizeof w) != 0;
        sent += 2;
        if (i % 33 == 0) {
            refused += tw_client_send(cl, 3, due, TW_FLAG_KEYFRAME, pic, jlen) != 0;
            sent++;
        }
    }
    tw_client_episode_stop(cl, 1, err, sizeof err);
    tw_client_wait_ack(cl, "episode_stop", 30000, NULL, 0, err, sizeof err);
    tw_client_flush(cl, 30000, err, sizeof err);
    tw_client_close(cl);
    printf("sent %llu refused %llu\n", (unsigned long long)sent, (unsigned long long)refused);
    free(pic);
    return 0;
}
