/* rig_minimal: how a real teleop rig streams into a teleworld recorder.
 *   rig_minimal ws://127.0.0.1:8765 TOKEN [SECONDS]
 * Declares a 7-joint joint_state stream and a wrist wrench stream, starts an episode,
 * streams both at 500 Hz (here: a synthetic sine motion in place of the robot's driver),
 * marks an event, stops the episode and prints what was sent and dropped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_client.h"

enum { JOINTS = 1, WRENCH = 2, NJ = 7 };

static void declare_streams(tw_stream_decl d[2])
{
    memset(d, 0, 2 * sizeof *d);
    d[0] = (tw_stream_decl){.id = JOINTS, .kind = TW_KIND_JOINT_STATE, .dtype = TW_DTYPE_FLOAT64, .ndim = 2,
                            .shape = {3, NJ}, .naxes = NJ, .rate_hz = 500};
    strcpy(d[0].name, "arm");
    strcpy(d[0].units, "rad;rad/s;N*m"); /* rows: position, velocity, effort */
    for (int j = 0; j < NJ; j++)
        snprintf(d[0].axes[j], sizeof d[0].axes[j], "joint%d", j + 1);
    d[1] = (tw_stream_decl){.id = WRENCH, .kind = TW_KIND_WRENCH, .dtype = TW_DTYPE_FLOAT64, .ndim = 1,
                            .shape = {6}, .rate_hz = 500};
    strcpy(d[1].name, "wrist_ft");
    strcpy(d[1].units, "N;N*m");
    strcpy(d[1].frame, "wrist");
}

static void on_error(void *user, int err, const char *message, int fatal)
{
    fprintf(stderr, "rig_minimal: %s%s\n", message, fatal ? " (giving up)" : "");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ws://HOST:PORT TOKEN [SECONDS]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 3 ? atof(argv[3]) : 3.0;
    char msg[512];
    tw_client_opts o;
    tw_client_opts_init(&o);
    o.url = argv[1];
    o.token = argv[2];
    o.rig_name = "rig-minimal";
    o.on_error = on_error;
    tw_client *c = NULL;
    tw_stream_decl d[2];
    declare_streams(d);
    if (tw_client_open(&o, &c, msg, sizeof msg) || tw_client_declare(c, d, 2, msg, sizeof msg) ||
        tw_client_wait_ready(c, 10000, msg, sizeof msg) ||
        tw_client_episode_start(c, "wave", "example", "arm7", "{\"example\":true}", msg, sizeof msg)) {
        fprintf(stderr, "rig_minimal: %s\n", msg);
        tw_client_close(c);
        return 1;
    }
    /* The rig paces itself to its own clock; timestamps are when the sample was measured. */
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long steps = (long)(seconds * 500);
    for (long i = 0; i < steps; i++) {
        int64_t t = tw_client_clock_realtime(NULL);
        double js[3][NJ], w[6] = {0, 0, -9.81 * 0.5, 0, 0, 0};
        for (int j = 0; j < NJ; j++) {
            double ph = 2 * M_PI * 0.5 * i / 500.0 + j;
            js[0][j] = 0.3 * sin(ph), js[1][j] = 0.3 * M_PI * cos(ph), js[2][j] = 2.0 * sin(ph);
        }
        /* TW_EFULL means the recorder is not keeping up; the drop is counted, keep going */
        tw_client_send(c, JOINTS, t, 0, js, sizeof js);
        tw_client_send(c, WRENCH, t, 0, w, sizeof w);
        if (i == steps / 2)
            tw_client_annotate(c, t, "halfway", NULL, msg, sizeof msg);
        next.tv_nsec += 2000000;
        if (next.tv_nsec >= 1000000000L)
            next.tv_sec++, next.tv_nsec -= 1000000000L;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    char ep[TW_MAX_NAME] = "";
    int rc = tw_client_episode_stop(c, 1, msg, sizeof msg);
    if (!rc)
        rc = tw_client_flush(c, 10000, msg, sizeof msg);
    if (!rc)
        rc = tw_client_wait_ack(c, "episode_stop", 10000, NULL, 0, msg, sizeof msg);
    tw_client_stats st;
    tw_client_stats_get(c, &st);
    snprintf(ep, sizeof ep, "%s", st.episode_id);
    printf("episode %s: sent %llu frames (%llu bytes), dropped %llu, reconnects %llu, clock offset %.3f ms\n", ep,
           (unsigned long long)st.frames_sent, (unsigned long long)st.bytes_sent, (unsigned long long)st.dropped,
           (unsigned long long)st.reconnects, st.have_offset ? st.clock_offset_ns / 1e6 : 0.0);
    if (rc)
        fprintf(stderr, "rig_minimal: %s\n", msg);
    tw_client_close(c);
    return rc ? 1 : 0;
}
