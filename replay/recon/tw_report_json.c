/* summary.json: every headline number of a replay (field list: schemas/aligned.md). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recon_int.h"

void tw_summary_flag(tw_replay_summary *s, const char *flag)
{
    for (int i = 0; i < s->nflags; i++)
        if (!strcmp(s->flags[i], flag))
            return;
    if (s->nflags < 16)
        snprintf(s->flags[s->nflags++], sizeof s->flags[0], "%s", flag);
}

void tw_replay_summary_free(tw_replay_summary *s)
{
    if (!s)
        return;
    tw_residual_free(&s->series);
    free(s);
}

const tw_replay_numbers *tw_replay_summary_numbers(const tw_replay_summary *s) { return &s->num; }

/* A number, or null when it is not finite (no measurement). */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *arr(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, num(v[i]));
    return a;
}

static const char *clock_name(tw_clock_method m)
{
    switch (m) {
    case TW_CLOCK_MINRTT: return "min_rtt";
    case TW_CLOCK_FIT: return "linear_fit";
    case TW_CLOCK_NONE: return "none";
    default: return "auto";
    }
}

static json_t *streams_json(const tw_replay_summary *s)
{
    json_t *a = json_array();
    for (size_t k = 0; k < s->align.nstreams; k++) {
        const tw_align_stream_stats *st = &s->align.streams[k].stats;
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name", s->stream_names[k],
                              "kind", s->stream_kinds[k], "samples", (json_int_t)st->samples,
                              "used", (json_int_t)st->used, "duplicates", (json_int_t)st->duplicates,
                              "out_of_order", (json_int_t)st->out_of_order, "gaps", (json_int_t)st->gaps,
                              "drops", (json_int_t)st->drops);
        json_object_set_new(o, "gap_s", num(st->gap_s));
        json_object_set_new(o, "period_ms", num(st->period_mean_ms));
        json_object_set_new(o, "jitter_ms", num(st->jitter_ms));
        json_object_set_new(o, "latency_mean_ms", num(st->latency_mean_ms));
        json_object_set_new(o, "latency_p95_ms", num(st->latency_p95_ms));
        json_object_set_new(o, "coverage", num(st->coverage));
        json_array_append_new(a, o);
    }
    return a;
}

const char *const tw_replay_horizon_names[TW_REPLAY_NHORIZONS] = {"0.1", "0.5", "1", "2", "episode"};

static json_t *divergence_json(const double *v)
{
    json_t *o = json_object();
    for (int h = 0; h < TW_REPLAY_NHORIZONS; h++)
        json_object_set_new(o, tw_replay_horizon_names[h], num(v[h]));
    return o;
}

static json_t *video_json(const tw_replay_summary *s)
{
    json_t *a = json_array();
    for (int c = 0; c < s->ncam; c++) {
        const tw_vsync *v = &s->vsync[c];
        json_t *o = json_pack("{s:s, s:i, s:i, s:s}", "name", v->name, "checked", v->checked,
                              "unreadable", v->unreadable, "note", v->note);
        json_object_set_new(o, "offset_frames", v->ok ? json_real(v->offset_frames) : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

char *tw_replay_summary_json(const tw_replay_summary *s)
{
    json_t *o = json_object();
    json_t *joints = json_array(), *flags = json_array();
    for (int j = 0; j < s->nj; j++)
        json_array_append_new(joints, json_string(s->joints[j]));
    for (int i = 0; i < s->nflags; i++)
        json_array_append_new(flags, json_string(s->flags[i]));
    json_object_set_new(o, "format", json_string(TW_REPLAY_FORMAT));
    json_object_set_new(o, "format_version", json_sprintf("%d.%d", TW_REPLAY_MAJOR, TW_REPLAY_MINOR));
    json_object_set_new(o, "episode_id", json_string(s->episode_id));
    json_object_set_new(o, "episode_status", json_string(s->status));
    json_object_set_new(o, "domain", json_string(s->domain));
    json_object_set_new(o, "model", json_string(s->model));
    json_object_set_new(o, "partial", json_boolean(s->partial));
    json_object_set_new(o, "flags", flags);
    json_object_set_new(o, "joints", joints);
    json_object_set_new(o, "torque_residual_rmse", arr(s->rmse, s->nj));
    json_object_set_new(o, "torque_residual_bias", arr(s->bias, s->nj));
    json_object_set_new(o, "effort_rms", arr(s->effort_rms, s->nj));
    json_object_set_new(o, "torque_residual_vs_qvel", arr(s->damping, s->nj));
    json_object_set_new(o, "wrench_residual_rmse", s->have_wrench ? arr(s->wrench_rmse, 6) : json_null());
    json_object_set_new(o, "wrench_residual_bias", s->have_wrench ? arr(s->wrench_bias, 6) : json_null());
    json_object_set_new(o, "divergence", divergence_json(s->div_q));
    json_object_set_new(o, "divergence_ee_m", divergence_json(s->div_ee));
    json_object_set_new(o, "divergence_windows", json_integer(s->div_windows));
    json_object_set_new(o, "clock_offset_ms", num((double)s->align.clock.offset_ns * 1e-6));
    json_object_set_new(o, "clock", json_pack("{s:s, s:f, s:I, s:I, s:f}", "method",
                                              clock_name(s->align.clock.method), "drift_ppm",
                                              s->align.clock.drift * 1e6, "samples",
                                              (json_int_t)s->align.clock.nsamples, "used",
                                              (json_int_t)s->align.clock.nused, "min_rtt_ms",
                                              (double)s->align.clock.min_rtt_ns * 1e-6));
    json_object_set_new(o, "video_sync_offset_frames",
                        s->ncam && s->vsync[0].ok ? json_real(s->vsync[0].offset_frames) : json_null());
    json_object_set_new(o, "video", video_json(s));
    json_object_set_new(o, "steps", json_integer((json_int_t)s->steps));
    json_object_set_new(o, "valid_steps", json_integer((json_int_t)s->valid_steps));
    json_object_set_new(o, "gaps", json_integer((json_int_t)s->gaps));
    json_object_set_new(o, "rate_hz", json_real(s->align.rate_hz));
    json_object_set_new(o, "duration_s", json_real(s->duration_s));
    json_object_set_new(o, "streams", streams_json(s));
    json_object_set_new(o, "qacc_method", json_string(s->qacc_discrete ? "discrete" : "savitzky_golay"));
    json_object_set_new(o, "qacc_sg_half", json_integer(s->num.sg_half));
    json_object_set_new(o, "qacc_reason", json_string(s->num.qacc_reason));
    json_object_set_new(o, "torque_residual_rel", arr(s->num.rel_rmse, s->nj));
    json_object_set_new(o, "torque_residual_rel_all", num(s->num.rel_rmse_all));
    json_object_set_new(o, "arm_joints", json_integer(s->num.narm));
    json_object_set_new(o, "gap_threshold_ms", num(s->num.gap_threshold_ms));
    json_object_set_new(o, "period_median_ms", num(s->num.period_median_ms));
    json_object_set_new(o, "effort_offset_applied", json_boolean(s->num.effort_offset));
    json_object_set_new(o, "threads", json_integer(s->threads));
    json_object_set_new(o, "wall_s", json_real(s->wall_s));
    json_object_set_new(o, "model_load_s", json_real(s->model_load_s));
    json_object_set_new(o, "steps_per_s", json_real(s->steps_per_s));
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(o);
    return txt;
}
