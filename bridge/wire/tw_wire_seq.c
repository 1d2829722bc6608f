/* The per-stream sequence tracker (tw_wire.h): resends, late samples, gaps and restarts. */
#include "tw_wire.h"

#include <math.h>
#include <string.h>

#define NWORDS (TW_SEQ_WINDOW / 64)

void tw_seq_init(tw_seqtrack *t) { memset(t, 0, sizeof *t); }

/* The ring is indexed by seq itself (seq mod WINDOW), so moving `last` forward only clears
 * the bits of the seqs that scroll in: O(jump), at most the whole window. */
static int bit_get(const tw_seqtrack *t, uint64_t seq)
{
    uint64_t i = seq % TW_SEQ_WINDOW;
    return (int)((t->win[i / 64] >> (i % 64)) & 1u);
}

static void bit_set(tw_seqtrack *t, uint64_t seq)
{
    uint64_t i = seq % TW_SEQ_WINDOW;
    t->win[i / 64] |= 1ull << (i % 64);
}

static void restart(tw_seqtrack *t, uint64_t seq)
{
    memset(t->win, 0, sizeof t->win);
    t->last = t->base = seq;
    t->have = 1;
    bit_set(t, seq);
}

static void advance(tw_seqtrack *t, uint64_t seq)
{
    uint64_t d = seq - t->last;
    if (d >= TW_SEQ_WINDOW) {
        memset(t->win, 0, sizeof t->win);
    } else {
        for (uint64_t s = t->last + 1; s != seq; s++) /* the skipped seqs: not stored */
            t->win[(s % TW_SEQ_WINDOW) / 64] &= ~(1ull << (s % 64));
        t->win[(seq % TW_SEQ_WINDOW) / 64] &= ~(1ull << (seq % 64));
    }
    if (d > 1) {
        t->c.gaps++;
        t->c.missing += d - 1;
    }
    t->last = seq;
    bit_set(t, seq);
}

int tw_seq_track(tw_seqtrack *t, uint64_t seq)
{
    if (!t->have) {
        restart(t, seq);
        return TW_SEQ_NEW;
    }
    if (seq > t->last) {
        if (seq - t->last > TW_SEQ_MAX_JUMP) {
            t->c.resets++;
            restart(t, seq);
            return TW_SEQ_RESET;
        }
        advance(t, seq);
        return TW_SEQ_NEW;
    }
    uint64_t back = t->last - seq;
    if (back >= TW_SEQ_WINDOW) {
        t->c.resets++;
        restart(t, seq);
        return TW_SEQ_RESET;
    }
    if (bit_get(t, seq)) {
        t->c.duplicates++;
        return TW_SEQ_DUP;
    }
    bit_set(t, seq);
    t->c.out_of_order++;
    if (seq >= t->base && t->c.missing > 0)
        t->c.missing--; /* it fills a hole counted when seq jumped past it */
    else if (seq < t->base)
        t->base = seq;
    return TW_SEQ_LATE;
}

void tw_seq_time(tw_seqtrack *t, int64_t t_src_ns)
{
    if (t->have_t && t_src_ns < t->last_t)
        t->c.nonmonotonic_t++;
    t->last_t = t_src_ns;
    t->have_t = 1;
}

int tw_seq_nonfinite(tw_dtype dtype, const void *payload, size_t elems)
{
    const uint8_t *p = payload;
    if (dtype == TW_DTYPE_FLOAT32) {
        for (size_t i = 0; i < elems; i++) {
            float v;
            memcpy(&v, p + 4 * i, 4);
            if (!isfinite(v))
                return 1;
        }
    } else if (dtype == TW_DTYPE_FLOAT64) {
        for (size_t i = 0; i < elems; i++) {
            double v;
            memcpy(&v, p + 8 * i, 8);
            if (!isfinite(v))
                return 1;
        }
    }
    return 0;
}
