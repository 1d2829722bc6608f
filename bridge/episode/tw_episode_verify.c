/* Integrity check of an opened episode (what `tw inspect` runs). Every dataset is read in
 * bounded ranges, so corrupt chunks are found and memory does not grow with the episode. */
#include "tw_episode_int.h"
#include "tw_h5.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Recomputes the stored counters from seq and t_src; reading data too proves it decodes. */
static int scan_stream(const tw_episode *e, size_t i, findings *fnd, char *msg, size_t msgsz)
{
    const tw_rstream *s = &e->s[i];
    size_t elems = s->decl.kind == TW_KIND_VIDEO || s->decl.kind == TW_KIND_EVENT ? 0 : tw_decl_elems(&s->decl);
    uint64_t step = elems ? RANGE_BYTES / (elems * 8) : 65536;
    step = step ? step : 1;
    int64_t *ts = malloc(step * 8);
    uint64_t *sq = malloc(step * 8);
    double *data = elems ? malloc(step * elems * 8) : NULL;
    if (!ts || !sq || (elems && !data)) {
        free(ts), free(sq), free(data);
        return tw_errf(msg, msgsz, TW_ENOMEM, "verify buffers");
    }
    tw_episode_stream_stats c = {0};
    uint64_t last_seq = 0;
    int64_t last_t = 0;
    int rc = 0;
    for (uint64_t at = 0; !rc && at < s->st.samples; at += step) {
        uint64_t n = s->st.samples - at < step ? s->st.samples - at : step;
        rc = tw_episode_read(e, i, at, n, ts, NULL, sq, data, msg, msgsz);
        for (uint64_t k = 0; !rc && k < n; k++) {
            if (at + k > 0) {
                if (sq[k] > last_seq + 1)
                    c.gaps++, c.missing += sq[k] - last_seq - 1;
                else if (sq[k] <= last_seq)
                    c.out_of_order++;
                c.t_src_backwards += ts[k] < last_t;
            }
            if (at + k == 0 || sq[k] > last_seq)
                last_seq = sq[k];
            last_t = ts[k];
        }
    }
    free(ts), free(sq), free(data);
    if (rc) {
        say(fnd, 1, "stream %s: unreadable: %s", s->decl.name, msg);
        return 0;
    }
    const char *nm = s->decl.name;
    if (c.gaps != s->st.gaps || c.missing != s->st.missing || c.out_of_order != s->st.out_of_order ||
        c.t_src_backwards != s->st.t_src_backwards)
        say(fnd, 1, "stream %s: stored counters (gaps %llu, missing %llu, out of order %llu) disagree with the data "
                    "(%llu, %llu, %llu)", nm, (unsigned long long)s->st.gaps, (unsigned long long)s->st.missing,
            (unsigned long long)s->st.out_of_order, (unsigned long long)c.gaps, (unsigned long long)c.missing,
            (unsigned long long)c.out_of_order);
    if (c.out_of_order)
        say(fnd, 1, "stream %s: seq not strictly increasing at %llu samples", nm, (unsigned long long)c.out_of_order);
    if (c.t_src_backwards)
        say(fnd, 0, "stream %s: source time goes back at %llu samples", nm, (unsigned long long)c.t_src_backwards);
    if (s->st.drops)
        say(fnd, 0, "stream %s: %llu samples dropped (%llu seq gaps, %llu by the recorder)", nm,
            (unsigned long long)s->st.drops, (unsigned long long)s->st.gaps, (unsigned long long)s->st.recorder_drops);
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
        if (n > 0)
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
