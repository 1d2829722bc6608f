/* tw inspect EPISODE_DIR [--json]: summary and integrity check of one episode. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_cli.h"
#include "tw_episode.h"
#include "tw_media.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tw inspect EPISODE_DIR [--json]\n\n"
            "Prints an episode's summary: metadata, status, the signal's duration (first to last source\n"
            "time of the joint-state stream, else the first signal stream), events (annotations plus\n"
            "samples of event streams), and per stream the kind,\n"
            "sample count, measured and nominal rate, drops and sequence gaps; per camera the\n"
            "frames in the index and in the video file. Then runs the integrity check: format\n"
            "version, dataset shapes, no seq stored twice, stored counters (gaps, missing, late,\n"
            "duplicates, resets, nonmonotonic_t, nonfinite; schemas/episode.md) against the data,\n"
            "video index against the file, status.\n\n"
            "  --json   print one JSON object instead of text\n\n"
            "Exit status: 0 when the integrity check passes, 1 when it fails or the episode\n"
            "cannot be read, 2 on a usage error.\n");
}

typedef struct {
    json_t *list; /* --json: findings collected here */
} sink;

static void on_finding(void *ud, int error, const char *text)
{
    sink *s = ud;
    if (s->list)
        json_array_append_new(s->list, json_pack("{s:s, s:s}", "level", error ? "error" : "note", "text", text));
    else
        printf("  %-5s %s\n", error ? "ERROR" : "note", text);
}

/* Span of source time and measured rate of stream i (two one-row reads). */
static double measured_rate(const tw_episode *e, size_t i, double *span_s)
{
    uint64_t n = tw_episode_nsamples(e, i);
    int64_t a = 0, b = 0;
    *span_s = 0;
    if (n < 2 || tw_episode_read(e, i, 0, 1, &a, NULL, NULL, NULL, NULL, 0) ||
        tw_episode_read(e, i, n - 1, 1, &b, NULL, NULL, NULL, NULL, 0) || b <= a)
        return 0;
    *span_s = (double)(b - a) * 1e-9;
    return (double)(n - 1) / *span_s;
}

static json_t *stream_json(const tw_episode *e, size_t i, double *span)
{
    const tw_stream_decl *d = tw_episode_decl(e, i);
    tw_episode_stream_stats st;
    tw_episode_get_stats(e, i, &st);
    double s = 0, rate = measured_rate(e, i, &s);
    if (s > *span)
        *span = s;
    json_t *o = json_pack("{s:s, s:i, s:s, s:I, s:f, s:f, s:I, s:I, s:I, s:I}", "name", d->name, "id", d->id,
                          "kind", tw_kind_name(d->kind), "samples", (json_int_t)st.samples, "rate_hz", rate,
                          "nominal_rate_hz", d->rate_hz, "drops", (json_int_t)st.drops, "gaps", (json_int_t)st.gaps,
                          "recorder_drops", (json_int_t)st.recorder_drops, "out_of_order", (json_int_t)st.out_of_order);
    json_object_set_new(o, "missing", json_integer((json_int_t)st.missing));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)st.duplicates));
    json_object_set_new(o, "resets", json_integer((json_int_t)st.resets));
    json_object_set_new(o, "nonmonotonic_t", json_integer((json_int_t)st.nonmonotonic_t));
    json_object_set_new(o, "nonfinite", json_integer((json_int_t)st.nonfinite));
    if (d->kind == TW_KIND_VIDEO) {
        tw_video_index_entry *v = NULL;
        size_t n = 0;
        char path[4096], m[256];
        uint64_t frames = 0, keys = 0;
        tw_episode_read_video_index(e, i, &v, &n, path, sizeof path, m, sizeof m);
        free(v);
        int ok = tw_video_count_frames(path, &frames, &keys, m, sizeof m) == 0;
        json_object_set_new(o, "video", json_pack("{s:s, s:s, s:i, s:i, s:I, s:o, s:o}", "file", path,
                                                   "encoding", tw_video_enc_name(d->encoding), "width", d->width,
                                                   "height", d->height, "index_frames", (json_int_t)n,
                                                   "file_frames", ok ? json_integer((json_int_t)frames) : json_null(),
                                                   "keyframes", ok ? json_integer((json_int_t)keys) : json_null()));
    }
    return o;
}

/* The reference stream for the signal duration: the first joint-state stream, else the first
 * other signal stream (not video, not events), else none (-1). */
static int reference_stream(const tw_episode *e)
{
    int other = -1;
    for (size_t i = 0; i < tw_episode_nstreams(e); i++) {
        tw_kind k = tw_episode_decl(e, i)->kind;
        if (k == TW_KIND_JOINT_STATE && tw_episode_nsamples(e, i) > 0)
            return (int)i;
        if (other < 0 && k != TW_KIND_VIDEO && k != TW_KIND_EVENT && tw_episode_nsamples(e, i) > 0)
            other = (int)i;
    }
    return other;
}

/* Samples of the event-kind streams (grasp/release and the like): events too, beside /events. */
static uint64_t stream_events(const tw_episode *e)
{
    uint64_t n = 0;
    for (size_t i = 0; i < tw_episode_nstreams(e); i++)
        if (tw_episode_decl(e, i)->kind == TW_KIND_EVENT)
            n += tw_episode_nsamples(e, i);
    return n;
}

static json_t *summary(const tw_episode *e)
{
    const tw_episode_meta *m = tw_episode_get_meta(e);
    json_t *streams = json_array();
    double span = 0;
    for (size_t i = 0; i < tw_episode_nstreams(e); i++)
        json_array_append_new(streams, stream_json(e, i, &span));
    /* the signal's duration: first to last source time of the reference stream (the recorder's wall
     * time of the write, ended - started, says how long recording took, not how long the data is) */
    int ref = reference_stream(e);
    double dur = 0;
    if (ref >= 0)
        measured_rate(e, (size_t)ref, &dur);
    else
        dur = span;
    char ver[16];
    snprintf(ver, sizeof ver, "%d.%d", m->format_major, m->format_minor);
    const char *meta = tw_episode_get_json(e, "metadata");
    tw_episode_ev *ev = NULL;
    tw_clock_sample *ck = NULL;
    size_t nev = 0, nck = 0;
    char m2[256];
    tw_episode_read_events(e, &ev, &nev, m2, sizeof m2); /* failures show up in the integrity check */
    tw_episode_read_clock(e, &ck, &nck, m2, sizeof m2);
    free(ev);
    free(ck);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:f, s:o, s:o}", "dir", tw_episode_path(e),
                     "episode_id", m->episode_id, "format_version", ver, "status", m->status, "domain", m->domain,
                     "task", m->task, "operator", m->operator_, "robot", m->robot, "success", m->success,
                     "software_version", m->software_version, "duration_s", dur, "streams", streams,
                     "metadata", meta ? json_loads(meta, 0, NULL) : json_null());
    json_object_set_new(o, "started_ns", json_integer(m->started_ns));
    json_object_set_new(o, "ended_ns", json_integer(m->ended_ns));
    uint64_t nsev = stream_events(e);
    json_object_set_new(o, "events", json_integer((json_int_t)(nev + nsev)));
    json_object_set_new(o, "annotations", json_integer((json_int_t)nev));
    json_object_set_new(o, "event_stream_samples", json_integer((json_int_t)nsev));
    json_object_set_new(o, "duration_stream", ref >= 0 ? json_string(tw_episode_decl(e, (size_t)ref)->name) : json_null());
    json_object_set_new(o, "recording_s", json_real(m->ended_ns > m->started_ns && m->started_ns > 0
                                                        ? (double)(m->ended_ns - m->started_ns) * 1e-9 : 0));
    json_object_set_new(o, "clock_samples", json_integer((json_int_t)nck));
    return o;
}

static void print_text(json_t *s)
{
    printf("episode   %s (%s)\n", json_string_value(json_object_get(s, "episode_id")),
           json_string_value(json_object_get(s, "dir")));
    printf("format    teleworld.episode %s   status %s   success %d   domain %s\n",
           json_string_value(json_object_get(s, "format_version")), json_string_value(json_object_get(s, "status")),
           (int)json_integer_value(json_object_get(s, "success")), json_string_value(json_object_get(s, "domain")));
    printf("task      %s   operator %s   robot %s\n", json_string_value(json_object_get(s, "task")),
           json_string_value(json_object_get(s, "operator")), json_string_value(json_object_get(s, "robot")));
    printf("events    %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " annotations, %" JSON_INTEGER_FORMAT
           " in event streams)   clock samples %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(s, "events")), json_integer_value(json_object_get(s, "annotations")),
           json_integer_value(json_object_get(s, "event_stream_samples")),
           json_integer_value(json_object_get(s, "clock_samples")));
    json_t *ds = json_object_get(s, "duration_stream");
    printf("duration  %.3f s of signal (%s source time)   recording %.3f s\n\n%-20s %-12s %10s %10s %10s %8s %6s\n", json_real_value(json_object_get(s, "duration_s")),
           json_is_string(ds) ? json_string_value(ds) : "no signal stream:",
           json_real_value(json_object_get(s, "recording_s")), "stream", "kind", "samples", "rate Hz", "nominal", "drops", "gaps");
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(s, "streams"), i, st) {
        printf("%-20s %-12s %10" JSON_INTEGER_FORMAT " %10.2f %10.2f %8" JSON_INTEGER_FORMAT " %6" JSON_INTEGER_FORMAT "\n",
               json_string_value(json_object_get(st, "name")), json_string_value(json_object_get(st, "kind")),
               json_integer_value(json_object_get(st, "samples")), json_real_value(json_object_get(st, "rate_hz")),
               json_real_value(json_object_get(st, "nominal_rate_hz")), json_integer_value(json_object_get(st, "drops")),
               json_integer_value(json_object_get(st, "gaps")));
        json_t *v = json_object_get(st, "video");
        if (v)
            printf("%-20s video %s %dx%d: %" JSON_INTEGER_FORMAT " frames indexed, %" JSON_INTEGER_FORMAT
                   " in %s (%" JSON_INTEGER_FORMAT " keyframes)\n", "",
                   json_string_value(json_object_get(v, "encoding")), (int)json_integer_value(json_object_get(v, "width")),
                   (int)json_integer_value(json_object_get(v, "height")), json_integer_value(json_object_get(v, "index_frames")),
                   json_integer_value(json_object_get(v, "file_frames")), json_string_value(json_object_get(v, "file")),
                   json_integer_value(json_object_get(v, "keyframes")));
    }
    printf("\nintegrity\n");
}

int tw_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, as_json = 0;
    tw_media_use_for_episodes(); /* camera streams: check their video files */
    optind = 1;
    while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c != 'j') {
            usage(stderr);
            return 2;
        }
        as_json = 1;
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    tw_episode *e = NULL;
    char msg[1024];
    int rc = tw_episode_open(argv[optind], &e, msg, sizeof msg);
    if (rc) {
        fprintf(stderr, "tw inspect: %s (%s)\n", msg, tw_err_name(rc));
        return 1;
    }
    json_t *s = summary(e);
    sink k = {as_json ? json_array() : NULL};
    if (!as_json)
        print_text(s);
    size_t nerr = 0;
    rc = tw_episode_verify(e, on_finding, &k, &nerr, msg, sizeof msg);
    if (rc)
        fprintf(stderr, "tw inspect: %s\n", msg);
    if (as_json) {
        json_object_set_new(s, "integrity", json_pack("{s:b, s:o}", "ok", !rc && nerr == 0, "findings", k.list));
        json_dumpf(s, stdout, JSON_INDENT(2));
        printf("\n");
    } else {
        printf("  %s (%zu errors)\n", !rc && nerr == 0 ? "OK" : "FAILED", nerr);
    }
    json_decref(s);
    tw_episode_close_reader(e);
    return rc || nerr ? 1 : 0;
}
