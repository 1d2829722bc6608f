/* The client's bounded outgoing buffer: a byte ring of whole records.
 * Records may wrap around the end; readers copy out with tw_ring_peek. */
#include "tw_client_int.h"

#include <stdlib.h>
#include <string.h>

int tw_ring_init(tw_ring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->buf = malloc(cap);
    if (!r->buf)
        return TW_ENOMEM;
    r->cap = cap;
    return 0;
}

void tw_ring_free(tw_ring *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

static void ring_put(tw_ring *r, size_t pos, const uint8_t *src, size_t n)
{
    size_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(r->buf + pos, src, first);
    if (n > first)
        memcpy(r->buf, src + first, n - first);
}

void tw_ring_push(tw_ring *r, const void *a, size_t alen, const void *b, size_t blen)
{
    size_t tail = (r->head + r->used) % r->cap;
    if (alen)
        ring_put(r, tail, a, alen);
    if (blen)
        ring_put(r, (tail + alen) % r->cap, b, blen);
    r->used += alen + blen;
}

void tw_ring_peek(const tw_ring *r, size_t off, void *dst, size_t n)
{
    size_t pos = (r->head + off) % r->cap;
    size_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(dst, r->buf + pos, first);
    if (n > first)
        memcpy((uint8_t *)dst + first, r->buf, n - first);
}

void tw_ring_pop(tw_ring *r, size_t n)
{
    r->head = (r->head + n) % r->cap;
    r->used -= n;
    if (r->used == 0)
        r->head = 0; /* keeps the next records contiguous when the ring drains */
}

uint8_t *tw_ring_tail(tw_ring *r, size_t n)
{
    size_t tail = (r->head + r->used) % r->cap;
    size_t contig = tail < r->head ? r->head - tail : r->cap - tail;
    if (r->used == r->cap)
        contig = 0;
    return contig >= n ? r->buf + tail : NULL;
}

void tw_ring_commit(tw_ring *r, size_t n)
{
    r->used += n;
}
