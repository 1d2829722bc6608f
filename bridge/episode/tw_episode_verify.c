/* Integrity check of an opened episode (what `tw inspect` runs). Every dataset is read in
 * bounded ranges, so corrupt chunks are found and memory does not grow with the episode. */
#include "tw_episode_int.h"
#include "tw_h5.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RANGE_BYTES (1u << 20)

typedef struct {
    tw_episode_finding_fn cb;
    void *ud;
    size_t nerr;
} findings;

__attribute__((format(printf, 3, 4))) static void say(findings *f, int error, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    f->nerr += error != 0;
    if (f->cb)
        f->cb(f->ud, error, buf);
}

/* Re-runs the writer's tracker (tw_wire.h, "sequence numbers") on the stored samples and compares with the stored
 * counters; reading data too proves it decodes. A stored resend is an integrity failure: the
 * writer never stores one. */
static void scan_range(tw_seqtrack *t, const int64_t *ts, const uint64_t *sq, const double *data, size_t elems,
                       uint64_t n, uint64_t *stored_dups)
{
    for (uint64_t k = 0; k < n; k++) {
        if (tw_seq_track(t, sq[k]) == TW_SEQ_DUP) {
            (*stored_dups)++;
            continue;
        }
        tw_seq_time(t, ts[k]);
        for (size_t e = 0; data && e < elems; e++)
            if (!isfinite(data[k * elems + e])) {
                t->c.nonfinite++;
                break;
            }
    }
}

static void compare(findings *fnd, const tw_rstream *s, const tw_seq_counts *c, uint64_t stored_dups)
{
    const char *nm = s->decl.name;
    const tw_episode_stream_stats *st = &s->st;
    if (c->gaps != st->gaps || c->missing != st->missing || c->out_of_order != st->out_of_order ||
        c->nonmonotonic_t != st->nonmonotonic_t || c->resets != st->resets || c->nonfinite != st->nonfinite)
        say(fnd, 1, "stream %s: stored counters (gaps %llu, missing %llu, out of order %llu, nonmonotonic_t %llu, "
                    "resets %llu, nonfinite %llu) disagree with the data (%llu, %llu, %llu, %llu, %llu, %llu)", nm,
            (unsigned long long)st->gaps, (unsigned long long)st->missing, (unsigned long long)st->out_of_order,
            (unsigned long long)st->nonmonotonic_t, (unsigned long long)st->resets, (unsigned long long)st->nonfinite,
            (unsigned long long)c->gaps, (unsigned long long)c->missing, (unsigned long long)c->out_of_order,
            (unsigned long long)c->nonmonotonic_t, (unsigned long long)c->resets, (unsigned long long)c->nonfinite);
    if (stored_dups)
        say(fnd, 1, "stream %s: %llu samples stored twice (same seq)", nm, (unsigned long long)stored_dups);
    if (c->out_of_order)
        say(fnd, 0, "stream %s: %llu late samples (stored in arrival order)", nm, (unsigned long long)c->out_of_order);
    if (st->duplicates)
        say(fnd, 0, "stream %s: %llu resent samples not stored again", nm, (unsigned long long)st->duplicates);
    if (c->resets)
        say(fnd, 0, "stream %s: seq restarted %llu times", nm, (unsigned long long)c->resets);
    if (c->nonmonotonic_t)
        say(fnd, 0, "stream %s: source time goes back at %llu samples", nm, (unsigned long long)c->nonmonotonic_t);
    if (c->nonfinite)
        say(fnd, 0, "stream %s: %llu samples hold NaN or Inf", nm, (unsigned long long)c->nonfinite);
    if (st->drops)
        say(fnd, 0, "stream %s: %llu samples dropped (%llu seq gaps, %llu by the recorder)", nm,
            (unsigned long long)st->drops, (unsigned long long)st->gaps, (unsigned long long)st->recorder_drops);
}

static int scan_stream(const tw_episode *e, size_t i, findings *fnd, char *msg, size_t msgsz)
{
    const tw_rstream *s = &e->s[i];
    int fl = s->decl.kind != TW_KIND_VIDEO && s->decl.kind != TW_KIND_EVENT &&
             (s->decl.dtype == TW_DTYPE_FLOAT32 || s->decl.dtype == TW_DTYPE_FLOAT64);
    size_t elems = s->decl.kind == TW_KIND_VIDEO || s->decl.kind == TW_KIND_EVENT ? 0 : tw_decl_elems(&s->decl);
    uint64_t step = elems ? RANGE_BYTES / (elems * 8) : 65536;
    step = step ? step : 1;
    int64_t *ts = malloc(step * 8);
    uint64_t *sq = malloc(step * 8);
    double *data = elems ? malloc(step * elems * 8) : NULL;
    tw_seqtrack *t = malloc(sizeof *t);
    if (!ts || !sq || (elems && !data) || !t) {
        free(ts), free(sq), free(data), free(t);
        return tw_errf(msg, msgsz, TW_ENOMEM, "verify buffers");
    }
    tw_seq_init(t);
    uint64_t stored_dups = 0;
    int rc = 0;
    for (uint64_t at = 0; !rc && at < s->st.samples; at += step) {
        uint64_t n = s->st.samples - at < step ? s->st.samples - at : step;
        rc = tw_episode_read(e, i, at, n, ts, NULL, sq, data, msg, msgsz);
        if (!rc)
            scan_range(t, ts, sq, fl ? data : NULL, elems, n, &stored_dups);
    }
    free(ts), free(sq), free(data);
    if (rc)
        say(fnd, 1, "stream %s: unreadable: %s", s->decl.name, msg);
    else
        compare(fnd, s, &t->c, stored_dups);
    free(t);
    return 0;
}

static void check_video(const tw_episode *e, size_t i, findings *fnd)
{
    tw_video_index_entry *v = NULL;
    size_t n = 0;
    char path[4096], m[512];
    const char *nm = e->s[i].decl.name;
    if (tw_episode_read_video_index(e, i, &v, &n, path, sizeof path, m, sizeof m) != 0) {
        say(fnd, 1, "video %s: index unreadable: %s", nm, m);
        return;
    }
    uint64_t bad_pts = 0;
    for (size_t k = 1; k < n; k++)
        bad_pts += v[k].pts < v[k - 1].pts;
    free(v);
    if (bad_pts)
        say(fnd, 1, "video %s: index pts decrease at %llu frames", nm, (unsigned long long)bad_pts);
    uint64_t frames = 0;
    if (!tw_episode_get_video()) {
        say(fnd, 0, "video %s: file not checked (this program has no video support)", nm);
        return;
    }
    if (tw_epv_count_frames(path, &frames, NULL, m, sizeof m) != 0) {
        struct stat st;
        if (n > 0 || stat(path, &st) == 0) /* a file nobody can play is a failure, indexed or not */
            say(fnd, 1, "video %s: %s", nm, m);
        return;
    }
    if (frames != n)
        say(fnd, 1, "video %s: index has %zu frames, %s holds %llu", nm, n, path, (unsigned long long)frames);
}

static int known_status(const char *s)
{
    return !strcmp(s, TW_EP_COMPLETE) || !strcmp(s, TW_EP_ABORTED) || !strcmp(s, TW_EP_INTERRUPTED) ||
           !strcmp(s, TW_EP_ERROR);
}

static int verify_locked(const tw_episode *e, tw_episode_finding_fn cb, void *ud, size_t *nerrors, char *msg,
                         size_t msgsz)
{
    findings f = {cb, ud, 0};
    if (!known_status(e->meta.status))
        say(&f, 1, "status \"%s\" is not a finished episode's (complete, aborted, interrupted, error)", e->meta.status);
    else if (strcmp(e->meta.status, TW_EP_COMPLETE) != 0)
        say(&f, 0, "status %s", e->meta.status);
    for (size_t i = 0; i < e->n; i++) {
        int rc = scan_stream(e, i, &f, msg, msgsz);
        if (rc)
            return rc;
        if (e->s[i].decl.kind == TW_KIND_VIDEO)
            check_video(e, i, &f);
    }
    tw_clock_sample *c = NULL;
    tw_episode_ev *ev = NULL;
    size_t nc = 0, ne = 0;
    char m[512];
    if (tw_episode_read_clock(e, &c, &nc, m, sizeof m) != 0)
        say(&f, 1, "clock: %s", m);
    if (tw_episode_read_events(e, &ev, &ne, m, sizeof m) != 0)
        say(&f, 1, "events: %s", m);
    free(c);
    free(ev);
    if (nerrors)
        *nerrors = f.nerr;
    return 0;
}

int tw_episode_verify(const tw_episode *e, tw_episode_finding_fn cb, void *ud, size_t *nerrors, char *msg,
                      size_t msgsz)
{
    tw_h5_lock();
    int rc = verify_locked(e, cb, ud, nerrors, msg, msgsz);
    tw_h5_unlock();
    return rc;
}
