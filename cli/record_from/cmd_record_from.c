/* tw record --from ws://HOST:PORT: record a live ROS 2 robot through its foxglove.websocket.v1 bridge.
 *
 * A thin layer that joins libraries, so the recording keeps every guarantee of `tw record` without a
 * second writer: an in-process recorder (recorder/, on a loopback port with its own token) owns the
 * episodes (crash-safe journal, bounded queue, drop accounting, clock offset), and this file is its
 * rig: bridge/foxglove receives the robot's topics, bridge/rosmap turns each message into a teleworld
 * sample, bridge/client sends it to the recorder. One foxglove connection is one recorder session:
 * when the robot's bridge goes away the session drops and the recorder ends the open episode
 * "interrupted"; we reconnect with back-off and the next episode records. Episodes start when the
 * streams are known and stop on SIGUSR1 (next episode), SIGINT/SIGTERM (finish), --duration, or a
 * std_msgs/String "start"/"stop" on --episode-topic. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record_from.h"

static _Atomic int g_stop, g_next;

static void on_stop(int sig) { (void)sig; g_stop = 1; }
static void on_next(int sig) { (void)sig; g_next = 1; }

static void usage(FILE *f)
{
    fprintf(f, "usage: tw record --from ws://HOST:PORT --out DIR [--topics MAP.json] [--episode-topic TOPIC]\n"
               "                 [--task T] [--robot R] [--settle-ms MS] [--duration S] [--quiet]\n\n"
               "Records a live ROS 2 robot through its foxglove.websocket.v1 server (foxglove_bridge, the\n"
               "Foxglove SDK): subscribes to the topics the map (or their message type, schemas/mcap.md)\n"
               "selects and records them as episodes in DIR with tw record's guarantees. An episode starts\n"
               "once every subscribed topic has sent a message (or after --settle-ms, default 3000), and\n"
               "ends on SIGUSR1 (the next one starts), SIGINT/SIGTERM (exit), --duration S, or \"stop\" on\n"
               "--episode-topic (a std_msgs/String topic: \"start\" starts the next). A lost connection\n"
               "ends the episode \"interrupted\"; tw record reconnects with back-off.\n");
}

static void *recorder_main(void *arg)
{
    rf_state *s = arg;
    char msg[512];
    tw_recorder_run(s->rec, msg, sizeof msg);
    return NULL;
}

static int start_recorder(rf_state *s, char *err, size_t errsz)
{
    tw_recorder_opts o;
    tw_recorder_opts_init(&o);
    int created;
    int rc = tw_recorder_token_ensure(s->out, s->token, sizeof s->token, &created, err, errsz);
    if (rc < 0)
        return rc;
    o.host = "127.0.0.1";
    o.port = 0;
    o.out_dir = s->out;
    o.token = s->token;
    o.log = s->quiet ? NULL : stderr;
    o.log_tty = 0;
    o.status_ms = 5000;
    if ((rc = tw_recorder_open(&o, &s->rec, err, errsz)) < 0)
        return rc;
    if (pthread_create(&s->rec_thr, NULL, recorder_main, s)) {
        tw_recorder_close(s->rec);
        s->rec = NULL;
        return tw_errf(err, errsz, TW_ENOMEM, "cannot start the recorder thread");
    }
    return 0;
}

static void stop_recorder(rf_state *s)
{
    if (!s->rec)
        return;
    tw_recorder_stop(s->rec);
    pthread_join(s->rec_thr, NULL);
    tw_recorder_close(s->rec);
    s->rec = NULL;
}

/* Waits (servicing the robot's connection) until every subscribed topic has a declaration and a few
 * messages to measure its rate. */
static int settle(rf_state *s)
{
    double end = tw_mono_s() + s->settle_ms / 1000.0;
    while (!g_stop && tw_mono_s() < end) {
        if (tw_fox_service(s->fox, 20) == TW_ECLOSED)
            return TW_ECLOSED;
        int all = s->n > 0;
        for (size_t i = 0; i < s->n; i++)
            all &= s->tp[i].subscribed == 0 || (tw_rostopic_decl(s->tp[i].t) != NULL && s->tp[i].received >= 5);
        if (all)
            break;
    }
    return 0;
}

/* One connection to the robot: settle, open a recorder session, record until it drops or we stop. */
static int one_connection(rf_state *s)
{
    char err[1024] = "";
    int rc = settle(s);
    if (rc == 0 && !g_stop)
        rc = rf_session_open(s, err, sizeof err);
    if (rc < 0 && rc != TW_ECLOSED) {
        fprintf(stderr, "tw record: %s\n", err);
        return rc;
    }
    if (rc == 0 && (!s->episode_topic || s->want_episode) && !g_stop)
        rf_episode_start(s);
    while (rc == 0 && !g_stop) {
        if (g_next) {
            g_next = 0;
            rf_episode_stop(s);
            rf_episode_start(s);
        }
        if (s->duration_s > 0 && tw_mono_s() - s->t_start >= s->duration_s)
            g_stop = 1;
        rf_check_rates(s);
        rc = tw_fox_service(s->fox, 50);
    }
    if (rc == TW_ECLOSED) {
        if (!s->quiet)
            fprintf(stderr, "tw record: lost %s%s; reconnecting\n", s->url,
                    s->episode_open ? " (episode interrupted)" : "");
        rf_session_close(s, 1); /* no episode_stop: the recorder ends it "interrupted" */
        return TW_ECLOSED;
    }
    rf_episode_stop(s);
    rf_session_close(s, 0);
    return 0;
}

/* Connects with back-off (100 ms doubling to 5 s) until the robot's server answers or we stop. */
static int connect_robot(rf_state *s)
{
    uint32_t backoff = 100;
    while (!g_stop) {
        char err[1024] = "";
        tw_fox_opts o;
        tw_fox_opts_init(&o);
        o.url = s->url;
        o.user = s;
        o.on_channel = rf_on_channel;
        o.on_message = rf_on_message;
        o.on_time = rf_on_time;
        int rc = tw_fox_connect(&o, 3000, &s->fox, err, sizeof err);
        if (rc == 0) {
            s->connects++;
            return 0;
        }
        if (!s->quiet && backoff == 100)
            fprintf(stderr, "tw record: %s; retrying\n", err);
        usleep(backoff * 1000);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        if (s->duration_s > 0 && tw_mono_s() - s->t_start >= s->duration_s)
            g_stop = 1;
    }
    return TW_ECLOSED;
}

static int parse_args(rf_state *s, int argc, char **argv)
{
    static const struct option lo[] = {
        {"from", 1, 0, 'F'}, {"out", 1, 0, 'o'}, {"topics", 1, 0, 't'}, {"episode-topic", 1, 0, 'e'},
        {"task", 1, 0, 'T'}, {"robot", 1, 0, 'R'}, {"settle-ms", 1, 0, 's'}, {"duration", 1, 0, 'd'},
        {"quiet", 0, 0, 'Q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    s->settle_ms = 3000;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'F': s->url = optarg; break;
        case 'o': s->out = optarg; break;
        case 't': s->topics = optarg; break;
        case 'e': s->episode_topic = optarg; break;
        case 'T': s->task = optarg; break;
        case 'R': s->robot = optarg; break;
        case 's': s->settle_ms = atoi(optarg); break;
        case 'd': s->duration_s = atof(optarg); break;
        case 'Q': s->quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !s->url || !s->out) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int tw_cmd_record_from(int argc, char **argv)
{
    rf_state *s = calloc(1, sizeof *s);
    int st = s ? parse_args(s, argc, argv) : 1;
    if (st >= 0)
        goto done;
    char err[1024] = "";
    st = 1;
    if (tw_rosmap_load(s->topics, &s->map, err, sizeof err) < 0 || start_recorder(s, err, sizeof err) < 0) {
        fprintf(stderr, "tw record: %s\n", err);
        goto done;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGUSR1, on_next);
    s->t_start = tw_mono_s();
    int rc = 0;
    while (!g_stop && rc != TW_EINVAL) {
        if ((rc = connect_robot(s)) < 0)
            break;
        rc = one_connection(s);
        rf_forget_channels(s);
        tw_fox_close(s->fox);
        s->fox = NULL;
        if (rc < 0 && rc != TW_ECLOSED)
            break;
    }
    stop_recorder(s);
    rf_report(s);
    st = rc < 0 && rc != TW_ECLOSED ? 1 : 0;
done:
    if (s) {
        stop_recorder(s);
        rf_free(s);
    }
    return st;
}
