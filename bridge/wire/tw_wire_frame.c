/* Binary data frames (24-byte little-endian header + payload) and the per-session
 * stream table they are checked against. Layout: schemas/protocol.md "Binary frames". */
#include "tw_wire.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- little-endian helpers (byte by byte: alignment- and host-order-safe) ---- */
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

size_t tw_frame_encode(uint8_t *dst, size_t cap, const tw_frame *f)
{
    if (!dst || !f || (f->payload_len && !f->payload))
        return 0;
    if (cap < TW_FRAME_HEADER_SIZE || f->payload_len > cap - TW_FRAME_HEADER_SIZE)
        return 0;
    put16(dst + 0, f->stream_id);
    put16(dst + 2, f->flags);
    put32(dst + 4, f->payload_len);
    put64(dst + 8, f->seq);
    put64(dst + 16, (uint64_t)f->t_src_ns);
    if (f->payload_len)
        memmove(dst + TW_FRAME_HEADER_SIZE, f->payload, f->payload_len);
    return TW_FRAME_HEADER_SIZE + (size_t)f->payload_len;
}

/* ---- stream table ------------------------------------------------------------ */
struct tw_stream_table {
    size_t n;
    tw_stream_decl *decls[TW_MAX_STREAMS];
    uint8_t slot[65536]; /* id -> index+1; 0 = unknown. 64 KiB buys O(1) lookups. */
};

int tw_stream_table_new(tw_stream_table **out)
{
    if (!out)
        return TW_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TW_ENOMEM;
}

void tw_stream_table_free(tw_stream_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->decls[i]);
    free(t);
}

int tw_stream_table_add(tw_stream_table *t, const tw_stream_decl *d, char *msg, size_t msgsz)
{
    if (!t || !d)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL stream table or declaration");
    int rc = tw_decl_validate(d, msg, msgsz);
    if (rc)
        return rc;
    if (t->n >= TW_MAX_STREAMS)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "stream '%s': more than %d streams", d->name, TW_MAX_STREAMS);
    if (t->slot[d->id])
        return tw_errf(msg, msgsz, TW_EDUP_STREAM, "stream '%s': id %u already used by '%s'", d->name, d->id,
                       t->decls[t->slot[d->id] - 1]->name);
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->decls[i]->name, d->name) == 0)
            return tw_errf(msg, msgsz, TW_EDUP_STREAM, "stream id %u: name '%s' already used by id %u", d->id,
                           d->name, t->decls[i]->id);
    tw_stream_decl *copy = malloc(sizeof *copy);
    if (!copy)
        return tw_errf(msg, msgsz, TW_ENOMEM, "out of memory adding stream '%s'", d->name);
    *copy = *d;
    t->decls[t->n++] = copy;
    t->slot[d->id] = (uint8_t)t->n;
    return 0;
}

const tw_stream_decl *tw_stream_table_get(const tw_stream_table *t, uint16_t id)
{
    if (!t || !t->slot[id])
        return NULL;
    return t->decls[t->slot[id] - 1];
}

size_t tw_stream_table_count(const tw_stream_table *t) { return t ? t->n : 0; }

const tw_stream_decl *tw_stream_table_at(const tw_stream_table *t, size_t i)
{
    return t && i < t->n ? t->decls[i] : NULL;
}

/* ---- frame iterator --------------------------------------------------------------- */
void tw_frame_iter_init(tw_frame_iter *it, const void *buf, size_t len)
{
    it->buf = buf;
    it->len = buf ? len : 0;
    it->off = 0;
    it->index = 0;
}

#define FERR(rc, ...) frame_err(it, msg, msgsz, rc, __VA_ARGS__)
__attribute__((format(printf, 5, 6)))
static int frame_err(const tw_frame_iter *it, char *msg, size_t msgsz, int rc, const char *fmt, ...)
{
    char tail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    return tw_errf(msg, msgsz, rc, "frame %zu at byte %zu: %s", it->index, it->off, tail);
}

static int check_event(const tw_frame_iter *it, const tw_frame *f, char *msg, size_t msgsz)
{
    size_t bad;
    if (!tw_utf8_valid(f->payload, f->payload_len, &bad))
        return FERR(TW_EUTF8, "event payload: invalid UTF-8 at payload byte %zu", bad);
    json_error_t je;
    json_t *j = json_loadb((const char *)f->payload, f->payload_len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return FERR(TW_EJSON, "event payload: %s at payload byte %d", je.text, je.position);
    int is_obj = json_is_object(j);
    json_decref(j);
    return is_obj ? 0 : FERR(TW_ESCHEMA, "event payload must be a JSON object");
}

static int check_video_payload(const tw_frame_iter *it, const tw_stream_decl *d, const tw_frame *f, char *msg,
                               size_t msgsz)
{
    const uint8_t *p = f->payload;
    uint32_t n = f->payload_len;
    switch (d->encoding) {
    case TW_VIDEO_RGB24: {
        uint64_t want = (uint64_t)d->width * d->height * 3;
        if (n != want)
            return FERR(TW_ESHAPE, "stream '%s': rgb24 %ux%u needs %llu bytes, payload_len %u", d->name,
                        d->width, d->height, (unsigned long long)want, n);
        return 0;
    }
    case TW_VIDEO_JPEG:
        if (n < 4 || p[0] != 0xFF || p[1] != 0xD8)
            return FERR(TW_ESCHEMA, "stream '%s': jpeg payload does not start with SOI (FF D8)", d->name);
        return 0;
    case TW_VIDEO_H264:
        if (n < 4 || !(p[0] == 0 && p[1] == 0 && (p[2] == 1 || (p[2] == 0 && p[3] == 1))))
            return FERR(TW_ESCHEMA, "stream '%s': h264 payload does not start with an Annex-B start code",
                        d->name);
        return 0;
    default:
        return FERR(TW_ESCHEMA, "stream '%s': bad video encoding", d->name);
    }
}

/* Per-stream size limit: exact for fixed shapes, an upper bound for variable ones. */
static int check_size(const tw_frame_iter *it, const tw_stream_decl *d, uint32_t len, char *msg, size_t msgsz)
{
    if (d->kind == TW_KIND_VIDEO || d->kind == TW_KIND_EVENT) {
        uint32_t lim = d->kind == TW_KIND_VIDEO ? TW_MAX_VIDEO_BYTES : TW_MAX_EVENT_BYTES;
        if (len > lim)
            return FERR(TW_ETOO_BIG, "stream '%s': payload_len %u exceeds %s limit %u", d->name, len,
                        tw_kind_name(d->kind), lim);
        if (len == 0)
            return FERR(TW_ESHAPE, "stream '%s': empty %s payload", d->name, tw_kind_name(d->kind));
        return 0;
    }
    size_t want = tw_decl_sample_bytes(d);
    if (len != want)
        return FERR(TW_ESHAPE, "stream '%s': payload_len %u, but %s %s x %zu needs %zu bytes", d->name, len,
                    tw_kind_name(d->kind), tw_dtype_name(d->dtype), tw_decl_elems(d), want);
    return 0;
}

static void parse_header(const uint8_t *h, tw_frame *f)
{
    f->stream_id = get16(h);
    f->flags = get16(h + 2);
    f->payload_len = get32(h + 4);
    f->seq = get64(h + 8);
    f->t_src_ns = (int64_t)get64(h + 16);
    f->payload = h + TW_FRAME_HEADER_SIZE;
}

int tw_frame_next(tw_frame_iter *it, const tw_stream_table *t, tw_frame *out, char *msg, size_t msgsz)
{
    if (!it || !out)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL iterator or frame");
    if (it->len > TW_MAX_BINARY_MSG)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "binary message of %zu bytes exceeds limit %u", it->len,
                       TW_MAX_BINARY_MSG);
    if (it->off >= it->len)
        return 0;
    size_t left = it->len - it->off;
    if (left < TW_FRAME_HEADER_SIZE)
        return FERR(TW_ETRUNCATED, "%zu bytes left, header needs %d", left, TW_FRAME_HEADER_SIZE);
    tw_frame f;
    parse_header(it->buf + it->off, &f);
    if (f.flags & ~TW_FLAG__KNOWN)
        return FERR(TW_EINVAL, "unknown flag bits 0x%04x", f.flags & ~TW_FLAG__KNOWN);
    const tw_stream_decl *d = NULL;
    if (t && !(d = tw_stream_table_get(t, f.stream_id)))
        return FERR(TW_EUNKNOWN_STREAM, "stream id %u was not declared in hello", f.stream_id);
    if (!d && f.payload_len > TW_MAX_VIDEO_BYTES)
        return FERR(TW_ETOO_BIG, "payload_len %u exceeds limit %u", f.payload_len, TW_MAX_VIDEO_BYTES);
    int rc;
    if (d && (rc = check_size(it, d, f.payload_len, msg, msgsz)))
        return rc;
    if (f.payload_len > left - TW_FRAME_HEADER_SIZE)
        return FERR(TW_ETRUNCATED, "payload_len %u but only %zu bytes follow the header", f.payload_len,
                    left - TW_FRAME_HEADER_SIZE);
    if (d && d->kind == TW_KIND_VIDEO && (rc = check_video_payload(it, d, &f, msg, msgsz)))
        return rc;
    if (d && d->kind == TW_KIND_EVENT && (rc = check_event(it, &f, msg, msgsz)))
        return rc;
    *out = f;
    it->off += TW_FRAME_HEADER_SIZE + (size_t)f.payload_len;
    it->index++;
    return 1;
}
