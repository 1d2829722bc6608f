/* tw record --from: the robot's channels -> mapped topics, messages -> samples sent to the recorder
 * session, and the episodes of that session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record_from.h"

static rf_topic *find_topic(rf_state *s, const char *topic)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->tp[i].topic, topic))
            return &s->tp[i];
    return NULL;
}

static void note_unmapped(rf_state *s, const tw_fox_channel *ch, const char *why)
{
    for (size_t i = 0; i < s->nunmapped; i++)
        if (!strncmp(s->unmapped[i], ch->topic, strlen(ch->topic)) && s->unmapped[i][strlen(ch->topic)] == ' ')
            return;
    if (s->nunmapped < sizeof s->unmapped / sizeof s->unmapped[0])
        snprintf(s->unmapped[s->nunmapped++], sizeof s->unmapped[0], "%s (%s): %s", ch->topic, ch->schema_name, why);
}

static void subscribe(rf_state *s, uint32_t chan)
{
    char err[256];
    if (tw_fox_subscribe(s->fox, chan, err, sizeof err) < 0 && !s->quiet)
        fprintf(stderr, "tw record: subscribe: %s\n", err);
}

static void episode_channel(rf_state *s, const tw_fox_channel *ch)
{
    s->ep_chan = ch->id;
    s->ep_chan_set = 1;
    if (!s->ep_msg && tw_ros2_msg_open(NULL, &s->ep_msg) < 0)
        return;
    if (!s->ep_schema && !strcmp(ch->encoding, "cdr")) {
        char *text = strndup((const char *)ch->schema, ch->schema_len);
        if (text)
            tw_ros2_schema_parse(text, ch->schema_name, &s->ep_schema, NULL, 0);
        free(text);
    }
    subscribe(s, ch->id);
}

void rf_on_channel(void *user, const tw_fox_channel *ch)
{
    rf_state *s = user;
    if (s->episode_topic && !strcmp(ch->topic, s->episode_topic)) {
        episode_channel(s, ch);
        return;
    }
    rf_topic *t = find_topic(s, ch->topic);
    if (!t) {
        tw_rostopic_src src = {ch->topic, ch->schema_name, ch->schema_encoding, ch->schema, ch->schema_len,
                               ch->encoding};
        tw_rostopic *rt = NULL;
        char why[512] = "";
        int rc = tw_rostopic_open(s->map, &src, TW_ROSTOPIC_KEEP_JPEG, &rt, why, sizeof why);
        if (rc <= 0 || s->n == TW_MAX_STREAMS) {
            if (rc < 0 && !s->quiet)
                fprintf(stderr, "tw record: %s\n", why);
            note_unmapped(s, ch, rc < 0 ? why : rc == 0 ? why : "too many topics");
            tw_rostopic_close(rt);
            return;
        }
        t = &s->tp[s->n++];
        memset(t, 0, sizeof *t);
        snprintf(t->topic, sizeof t->topic, "%s", ch->topic);
        t->t = rt;
    }
    t->chan = ch->id;
    t->subscribed = 1;
    subscribe(s, ch->id);
}

static void episode_control(rf_state *s, const uint8_t *data, size_t len)
{
    const char *text = NULL;
    size_t n;
    if (!s->ep_msg)
        return;
    int rc = s->ep_schema ? tw_ros2_decode_cdr(s->ep_msg, s->ep_schema, data, len, NULL, 0)
                          : tw_ros2_decode_json(s->ep_msg, (const char *)data, len, NULL, 0);
    if (rc < 0 || tw_ros2_get_string(s->ep_msg, "data", &text, &n) < 0)
        return;
    if (!strcmp(text, "start")) {
        s->want_episode = 1;
        rf_episode_start(s); /* no session yet: it starts when the session opens */
    } else if (!strcmp(text, "stop")) {
        s->want_episode = 0;
        rf_episode_stop(s);
    }
}

void rf_on_message(void *user, uint32_t channel_id, uint64_t recv_ns, int64_t t_local_ns, const uint8_t *data,
                   size_t len)
{
    rf_state *s = user;
    (void)recv_ns;
    if (s->ep_chan_set && channel_id == s->ep_chan) {
        episode_control(s, data, len);
        return;
    }
    rf_topic *t = NULL;
    for (size_t i = 0; i < s->n && !t; i++)
        if (s->tp[i].subscribed && s->tp[i].chan == channel_id)
            t = &s->tp[i];
    if (!t)
        return;
    if (!t->received++)
        t->first_ns = t_local_ns;
    t->last_ns = t_local_ns;
    tw_rossample smp;
    char err[512];
    if (tw_rostopic_sample(t->t, data, len, t_local_ns, &smp, err, sizeof err) < 0) {
        if (!t->failed++ && !s->quiet)
            fprintf(stderr, "tw record: %s (counted, further ones silently)\n", err);
        return;
    }
    if (!t->sid || !s->cli || !s->episode_open)
        return;
    int rc = tw_client_send(s->cli, t->sid, smp.t_src_ns, smp.keyframe ? TW_FLAG_KEYFRAME : 0, smp.payload, smp.len);
    if (rc == 0)
        t->sent++;
    else
        t->refused++; /* TW_EFULL: the seq is used up, the recorder sees the gap and counts the drop */
}

void rf_on_time(void *user, uint64_t server_ns, int64_t t_local_ns)
{
    rf_state *s = user;
    s->server_offset_ns = (int64_t)server_ns - t_local_ns;
    s->have_server_time = 1;
}

/* The rig clock the recorder's pings measure: the robot's server time when it sends time messages
 * (simulated time), else ours, which is the clock foxglove_bridge stamps with on the same host. */
static int64_t robot_clock(void *user)
{
    rf_state *s = user;
    int64_t now = tw_clock_ns(CLOCK_REALTIME);
    return s->have_server_time ? now + s->server_offset_ns : now;
}

static int declare_streams(rf_state *s)
{
    if (s->ndecls)
        return 0;
    for (size_t i = 0; i < s->n; i++) { /* first session: the streams known now are the ones recorded */
        const tw_stream_decl *d = tw_rostopic_decl(s->tp[i].t);
        if (!d)
            continue;
        s->decls[s->ndecls] = *d;
        if (s->tp[i].received >= 3 && s->tp[i].last_ns > s->tp[i].first_ns) /* the rate seen while settling */
            s->decls[s->ndecls].rate_hz = (double)(s->tp[i].received - 1) * 1e9 /
                                          (double)(s->tp[i].last_ns - s->tp[i].first_ns);
        s->decls[s->ndecls].id = s->tp[i].sid = (uint16_t)(s->ndecls + 1);
        s->ndecls++;
    }
    return s->ndecls ? 0 : TW_ENOT_FOUND;
}

int rf_session_open(rf_state *s, char *err, size_t errsz)
{
    if (declare_streams(s) < 0)
        return tw_errf(err, errsz, TW_ENOT_FOUND, "%s: no mapped topic sent a message within %d ms", s->url,
                       s->settle_ms);
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", tw_recorder_port(s->rec));
    tw_client_opts o;
    tw_client_opts_init(&o);
    o.url = url;
    o.token = s->token;
    o.client_name = "tw-record-from";
    o.rig_name = s->robot ? s->robot : "ros2";
    o.queue_bytes = 64u << 20;
    o.max_retries = -1;
    o.now_ns = robot_clock;
    o.user = s;
    int rc = tw_client_open(&o, &s->cli, err, errsz);
    if (rc == 0)
        rc = tw_client_declare(s->cli, s->decls, s->ndecls, err, errsz);
    if (rc == 0)
        rc = tw_client_wait_ready(s->cli, 5000, err, errsz);
    if (rc < 0) {
        tw_client_close(s->cli);
        s->cli = NULL;
    }
    return rc;
}

void rf_session_close(rf_state *s, int lost)
{
    if (!s->cli)
        return;
    if (lost && s->episode_open)
        s->interrupted++;
    if (!lost)
        tw_client_flush(s->cli, 5000, NULL, 0);
    tw_client_close(s->cli);
    s->cli = NULL;
    s->episode_open = 0;
}

void rf_episode_start(rf_state *s)
{
    char meta[512], err[256];
    if (!s->cli || s->episode_open)
        return;
    snprintf(meta, sizeof meta, "{\"source\":\"foxglove.websocket.v1\",\"url\":\"%s\"}", s->url);
    if (tw_client_episode_start(s->cli, s->task, NULL, s->robot, meta, err, sizeof err) == 0) {
        s->episode_open = 1;
        s->window_t = 0;
        s->episodes++;
    } else if (!s->quiet)
        fprintf(stderr, "tw record: episode_start: %s\n", err);
}

void rf_episode_stop(rf_state *s)
{
    char err[256];
    if (!s->cli || !s->episode_open)
        return;
    s->episode_open = 0;
    if ((tw_client_episode_stop(s->cli, -1, err, sizeof err) < 0 ||
         tw_client_wait_ack(s->cli, "episode_stop", 10000, NULL, 0, err, sizeof err) < 0) && !s->quiet)
        fprintf(stderr, "tw record: episode_stop: %s\n", err);
}

void rf_check_rates(rf_state *s)
{
    double now = tw_mono_s(), dt = now - s->window_t;
    if (s->window_t == 0 || dt < 1.0) { /* a window opens with each episode */
        for (size_t i = 0; s->window_t == 0 && i < s->n; i++)
            s->tp[i].window_start = s->tp[i].received;
        s->window_t = s->window_t == 0 ? now : s->window_t;
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        rf_topic *t = &s->tp[i];
        double got = (double)(t->received - t->window_start) / dt;
        double want = t->sid ? s->decls[t->sid - 1].rate_hz : 0;
        int low = s->episode_open && t->subscribed && want >= 5 && got < 0.5 * want;
        if (low && !t->collapsed) {
            char data[512], err[256];
            snprintf(data, sizeof data, "{\"topic\":\"%s\",\"nominal_hz\":%.1f,\"received_hz\":%.1f}", t->topic,
                     want, got);
            if (tw_client_annotate(s->cli, tw_clock_ns(CLOCK_REALTIME), "receive_rate_collapse", data, err,
                                   sizeof err) == 0)
                s->collapses++;
        }
        t->collapsed = low;
        t->window_start = t->received;
    }
    s->window_t = now;
}

void rf_forget_channels(rf_state *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->tp[i].subscribed = 0;
    s->ep_chan_set = 0;
}

void rf_report(const rf_state *s)
{
    if (s->quiet)
        return;
    fprintf(stderr, "tw record: %llu episode(s) (%llu interrupted), %llu connection(s) to %s, %llu rate collapse(s)\n",
            (unsigned long long)s->episodes, (unsigned long long)s->interrupted, (unsigned long long)s->connects,
            s->url, (unsigned long long)s->collapses);
    for (size_t i = 0; i < s->n; i++)
        fprintf(stderr, "  %-28s -> stream %-3u received %llu, sent %llu, refused %llu, undecodable %llu\n",
                s->tp[i].topic, s->tp[i].sid, (unsigned long long)s->tp[i].received,
                (unsigned long long)s->tp[i].sent, (unsigned long long)s->tp[i].refused,
                (unsigned long long)s->tp[i].failed);
    for (size_t i = 0; i < s->nunmapped; i++)
        fprintf(stderr, "  not recorded: %s\n", s->unmapped[i]);
}

void rf_free(rf_state *s)
{
    for (size_t i = 0; i < s->n; i++)
        tw_rostopic_close(s->tp[i].t);
    tw_ros2_schema_free(s->ep_schema);
    tw_ros2_msg_close(s->ep_msg);
    tw_client_close(s->cli);
    tw_fox_close(s->fox);
    tw_rosmap_free(s->map);
    free(s);
}
