/* Journal records into the datasets of the episode being built (see tw_episode_h5.c). */
#include "tw_episode_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* HDF5 does not keep errno: a failed write on a (nearly) full filesystem is reported as such. */
int tw_build_fail_code(const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize < (4u << 20))
        return TW_ENOSPACE;
    return TW_EHDF5;
}

/* The same bookkeeping the writer did while appending (tw_wire.h, "sequence numbers"); the file's counters come from
 * the stored samples, so a crash that cut the journal leaves counters that match the data. */
static void track(tw_bstream *s, const int64_t *t_src, const uint64_t *seq, const uint8_t *data, uint32_t n)
{
    size_t elems = s->layout == TW_LAYOUT_FIXED ? s->sbytes / tw_dtype_size(s->d->dtype) : 0;
    for (uint32_t i = 0; i < n; i++) {
        tw_seq_track(&s->trk, seq[i]);
        tw_seq_time(&s->trk, t_src[i]);
        if (elems)
            s->trk.c.nonfinite += (uint64_t)tw_seq_nonfinite(s->d->dtype, data + (size_t)i * s->sbytes, elems);
    }
}

static int grow(tw_builder *b, size_t bytes, size_t ptrs)
{
    if (bytes > b->scap) {
        char *p = realloc(b->scratch, bytes);
        if (!p)
            return -1;
        b->scratch = p;
        b->scap = bytes;
    }
    if (ptrs > b->pcap) {
        const char **p = realloc(b->ptrs, ptrs * sizeof *p);
        if (!p)
            return -1;
        b->ptrs = p;
        b->pcap = ptrs;
    }
    return 0;
}

/* Texts of a batch: lengths, then bytes back to back; HDF5 wants NUL-terminated pointers. */
static int append_texts(tw_builder *b, tw_bstream *s, const uint8_t *p, size_t left, uint32_t n)
{
    if (left < (size_t)n * 4 || grow(b, left + n, n) != 0)
        return -1;
    const uint8_t *txt = p + (size_t)n * 4;
    size_t tleft = left - (size_t)n * 4, o = 0;
    char *dst = b->scratch;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l;
        memcpy(&l, p + 4 * (size_t)i, 4);
        if (l > tleft - o)
            return -1;
        memcpy(dst, txt + o, l);
        dst[l] = 0;
        b->ptrs[i] = dst;
        dst += l + 1;
        o += l;
    }
    return o == tleft ? tw_h5col_append(&s->data, n, b->ptrs) : -1;
}

static int apply_batch(tw_builder *b, const uint8_t *p, uint32_t len, char *msg, size_t msgsz)
{
    tw_batch_hdr h;
    if (len < sizeof h)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: short batch");
    memcpy(&h, p, sizeof h);
    if (h.stream >= b->n || h.layout != b->s[h.stream].layout)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: batch for unknown stream %u", h.stream);
    tw_bstream *s = &b->s[h.stream];
    size_t n = h.n, left = len - sizeof h;
    size_t need = n * 24 + (s->layout == TW_LAYOUT_FIXED ? n * s->sbytes : s->layout == TW_LAYOUT_VIDEO ? n * 13 : 0);
    if (n > (1u << 20) || left < need || (s->layout != TW_LAYOUT_TEXT && left != need))
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: batch of stream %s has %zu bytes for %zu samples",
                       s->d->name, left, n);
    /* journal arrays are 8-byte aligned in the record buffer only by luck: copy the timestamps */
    const uint8_t *q = p + sizeof h;
    if (grow(b, n * 24, 0) != 0)
        return tw_errf(msg, msgsz, TW_ENOMEM, "batch scratch");
    int64_t *ts = (int64_t *)b->scratch;
    memcpy(ts, q, n * 24);
    int64_t *tr = ts + n;
    uint64_t *sq = (uint64_t *)(tr + n);
    if (s->layout == TW_LAYOUT_VIDEO && s->t_src.n + n > s->limit)
        n = s->limit > s->t_src.n ? s->limit - s->t_src.n : 0; /* frames the file lost in the crash */
    for (size_t i = 0; i < n; i++)
        if (tr[i] > b->max_recv)
            b->max_recv = tr[i];
    q += h.n * 24;
    track(s, ts, sq, s->layout == TW_LAYOUT_FIXED ? q : NULL, (uint32_t)n);
    int r = tw_h5col_append(&s->t_src, n, ts) | tw_h5col_append(&s->t_recv, n, tr) | tw_h5col_append(&s->seq, n, sq);
    if (!r && s->layout == TW_LAYOUT_FIXED)
        r = tw_h5col_append(&s->data, n, q);
    else if (!r && s->layout == TW_LAYOUT_VIDEO)
        r = tw_h5col_append(&s->vt_src, n, ts) | tw_h5col_append(&s->vt_recv, n, tr) |
            tw_h5col_append(&s->vpts, n, q) | tw_h5col_append(&s->vsize, n, q + h.n * 8) |
            tw_h5col_append(&s->vkey, n, q + h.n * 12);
    else if (!r)
        r = append_texts(b, s, q, left - n * 24, (uint32_t)n);
    return r ? tw_errf(msg, msgsz, tw_build_fail_code(b->dir), "write samples of stream %s", s->d->name) : 0;
}

/* Splits "a\0b\0c\0" into up to 3 strings; -1 when the record is malformed. */
static int split_strs(const uint8_t *p, size_t len, const char **out, int k)
{
    size_t o = 0;
    for (int i = 0; i < k; i++) {
        const void *z = o < len ? memchr(p + o, 0, len - o) : NULL;
        if (!z)
            return -1;
        out[i] = (const char *)p + o;
        o = (size_t)((const uint8_t *)z - p) + 1;
    }
    return 0;
}

int tw_build_apply(tw_builder *b, uint32_t type, const uint8_t *p, uint32_t len, char *msg, size_t msgsz)
{
    const char *s[3];
    int64_t v[3];
    switch (type) {
    case TW_REC_BATCH:
        return apply_batch(b, p, len, msg, msgsz);
    case TW_REC_EVENT:
        if (len < 8 || split_strs(p + 8, len - 8, s, 3))
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed event");
        memcpy(v, p, 8);
        return (tw_h5col_append(&b->ev_t, 1, v) | tw_h5col_append(&b->ev_kind, 1, &s[0]) |
                tw_h5col_append(&b->ev_label, 1, &s[1]) | tw_h5col_append(&b->ev_data, 1, &s[2]))
                   ? tw_errf(msg, msgsz, TW_EHDF5, "write event") : 0;
    case TW_REC_CLOCK:
        if (len != 24)
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed clock sample");
        memcpy(v, p, 24);
        return (tw_h5col_append(&b->ck_t, 1, &v[0]) | tw_h5col_append(&b->ck_off, 1, &v[1]) |
                tw_h5col_append(&b->ck_rtt, 1, &v[2])) ? tw_errf(msg, msgsz, TW_EHDF5, "write clock") : 0;
    case TW_REC_DROPS:
    case TW_REC_DUPS: {
        uint64_t d[2];
        if (len != 16 || (memcpy(d, p, 16), d[0] >= b->n))
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed %s count",
                           type == TW_REC_DROPS ? "drop" : "duplicate");
        /* cumulative: the last one counts */
        *(type == TW_REC_DROPS ? &b->s[d[0]].recorder_drops : &b->s[d[0]].duplicates) = d[1];
        return 0;
    }
    case TW_REC_META: {
        json_t *j = split_strs(p, len, s, 2) ? NULL : json_loads(s[1], JSON_DECODE_ANY, NULL);
        if (!j)
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed metadata");
        json_object_set_new(b->meta, s[0], j);
        return 0;
    }
    case TW_REC_END:
        if (len < 13 || split_strs(p + 12, len - 12, s, 1))
            return tw_errf(msg, msgsz, TW_EINTEGRITY, "journal: malformed end record");
        memcpy(&b->ended_ns, p, 8);
        memcpy(&b->success, p + 8, 4);
        snprintf(b->status, sizeof b->status, "%s", s[0]);
        b->have_end = 1;
        return 0;
    default:
        return 0; /* a newer minor version's record: skipped */
    }
}

