/* One meaning for per-stream sequence numbers and source times (schemas/protocol.md section 8,
 * schemas/episode.md "Counters"): the recorder's live counters, the episode writer, the HDF5
 * builder and `tw inspect` all run this same tracker, so their counters agree by construction.
 *
 * For each frame of a stream, against the newest seq seen so far (`last`):
 *   seq > last, jump <= TW_SEQ_MAX_JUMP   NEW: stored; a jump > 1 adds a gap and jump-1 missing
 *   seq > last, jump >  TW_SEQ_MAX_JUMP   RESET: stored; the stream restarted, nothing missing
 *   last-seq < TW_SEQ_WINDOW, seen        DUP: not stored again, counted in duplicates
 *   last-seq < TW_SEQ_WINDOW, not seen    LATE: stored in arrival order, counted in out_of_order,
 *                                         and the hole it fills is no longer missing
 *   last-seq >= TW_SEQ_WINDOW             RESET (too far back to be a resend)
 * Source time: a stored sample whose t_src is below the previous stored one's counts in
 * nonmonotonic_t; NaN/Inf elements of a float sample count once per sample in nonfinite. */
#ifndef TW_SEQ_H
#define TW_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "tw_wire.h"

#define TW_SEQ_WINDOW 65536u            /* resends recognised up to this far behind the newest seq */
#define TW_SEQ_MAX_JUMP (1ull << 24)    /* a bigger forward jump is a restart, not 2^24 lost samples */

enum { TW_SEQ_NEW = 0, TW_SEQ_LATE, TW_SEQ_DUP, TW_SEQ_RESET };

typedef struct {
    uint64_t gaps, missing, duplicates, out_of_order, resets, nonmonotonic_t, nonfinite;
} tw_seq_counts;

typedef struct {
    tw_seq_counts c;
    uint64_t last, base; /* newest seq; first seq since the start or the last reset */
    int64_t last_t;      /* source time of the previous stored sample */
    int have, have_t;
    uint64_t win[TW_SEQ_WINDOW / 64]; /* bit i of the ring: seq (last - i) was stored */
} tw_seqtrack;

void tw_seq_init(tw_seqtrack *t);
/* Classifies one frame (TW_SEQ_*) and updates the counters; a DUP changes nothing else. */
int tw_seq_track(tw_seqtrack *t, uint64_t seq);
/* For a sample that is stored: source-time order. */
void tw_seq_time(tw_seqtrack *t, int64_t t_src_ns);
/* 1 when a float sample (payload of the declared dtype) holds a NaN or an infinity. */
int tw_seq_nonfinite(tw_dtype dtype, const void *payload, size_t elems);

#endif
