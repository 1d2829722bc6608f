/* CDR (XCDR1, as ROS 2's rmw layers write it) into the node tree of tw_ros2_int.h.
 * Nothing is copied: nodes hold offsets into the caller's buffer. Every length a message claims
 * is checked against the bytes left (times the fewest bytes one element can take) before a
 * node is reserved, and nodes come from the array sized once by tw_ros2_limits. */
#include "tw_ros2_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R2_STACK (R2_MAX_DEPTH * 2 + 4)

typedef struct {
    tw_ros2_msg *m;
    const tw_ros2_schema *s;
    size_t pos; /* absolute offset in m->buf */
    struct {
        const r2_field *f;
        int64_t idx;
    } stack[R2_STACK];
    int depth;
    char *err;
    size_t errsz;
} r2_dec;

static void r2_fmt_path(const r2_dec *d, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < d->depth && n < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? "." : "", d->stack[i].f->name);
        if (w > 0) n += (size_t)w;
        if (d->stack[i].idx >= 0 && n < cap) {
            w = snprintf(out + n, cap - n, "[%lld]", (long long)d->stack[i].idx);
            if (w > 0) n += (size_t)w;
        }
    }
    if (!out[0]) snprintf(out, cap, "(message)");
}

/* Formats "cdr <Type> field '<path>' at byte <pos>: <what>". */
static int r2_fail(const r2_dec *d, int code, const char *what, unsigned long long a, unsigned long long b)
{
    char path[256], text[160];
    r2_fmt_path(d, path, sizeof path);
    snprintf(text, sizeof text, what, a, b);
    return tw_errf(d->err, d->errsz, code, "cdr %s field '%s' at byte %zu: %s", d->s->types[d->s->root].name, path,
                   d->pos, text);
}

static uint16_t r2_rd16(const tw_ros2_msg *m, size_t off)
{
    uint16_t v;
    memcpy(&v, m->buf + off, 2);
    bool host_be = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
    return host_be != m->big_endian ? __builtin_bswap16(v) : v;
}

static uint32_t r2_rd32(const tw_ros2_msg *m, size_t off)
{
    uint32_t v;
    memcpy(&v, m->buf + off, 4);
    bool host_be = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
    return host_be != m->big_endian ? __builtin_bswap32(v) : v;
}

static uint64_t r2_rd64(const tw_ros2_msg *m, size_t off)
{
    uint64_t v;
    memcpy(&v, m->buf + off, 8);
    bool host_be = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
    return host_be != m->big_endian ? __builtin_bswap64(v) : v;
}

double r2_cdr_f64(const tw_ros2_msg *m, int prim, size_t off)
{
    if (prim == R2_FLOAT32) {
        uint32_t u = r2_rd32(m, off);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    if (prim == R2_FLOAT64) {
        uint64_t u = r2_rd64(m, off);
        double f;
        memcpy(&f, &u, 8);
        return f;
    }
    if (prim == R2_UINT64) return (double)r2_rd64(m, off);
    bool ovf;
    return (double)r2_cdr_i64(m, prim, off, &ovf);
}

int64_t r2_cdr_i64(const tw_ros2_msg *m, int prim, size_t off, bool *overflow)
{
    *overflow = false;
    switch (prim) {
    case R2_BOOL: return m->buf[off] != 0;
    case R2_INT8: return (int8_t)m->buf[off];
    case R2_BYTE: case R2_CHAR: case R2_UINT8: return m->buf[off];
    case R2_INT16: return (int16_t)r2_rd16(m, off);
    case R2_UINT16: return r2_rd16(m, off);
    case R2_INT32: return (int32_t)r2_rd32(m, off);
    case R2_UINT32: return r2_rd32(m, off);
    case R2_INT64: return (int64_t)r2_rd64(m, off);
    case R2_UINT64: {
        uint64_t u = r2_rd64(m, off);
        if (u > INT64_MAX) *overflow = true;
        return (int64_t)u;
    }
    default: *overflow = true; return 0;
    }
}

/* Alignment is relative to the end of the 4-byte encapsulation header. */
static void r2_align(r2_dec *d, size_t a)
{
    size_t rel = d->pos - 4;
    d->pos = 4 + (rel + a - 1) / a * a;
}

static int r2_need(r2_dec *d, size_t n, const char *what)
{
    if (d->pos > d->m->len || d->m->len - d->pos < n)
        return r2_fail(d, TW_ETRUNCATED, what, n, d->pos > d->m->len ? 0 : d->m->len - d->pos);
    return 0;
}

static int r2_alloc(r2_dec *d, uint64_t n, uint32_t *first)
{
    tw_ros2_msg *m = d->m;
    if (n > m->lim.max_nodes - m->nnodes)
        return r2_fail(d, TW_ETOO_BIG, "%llu more values exceed the limit of %llu per message", n,
                       (unsigned long long)m->lim.max_nodes);
    *first = (uint32_t)m->nnodes;
    memset(m->nodes + m->nnodes, 0, (size_t)n * sizeof *m->nodes);
    m->nnodes += (size_t)n;
    return 0;
}

static int r2_dec_struct(r2_dec *d, int ti, uint32_t ni);

/* One value of field f (a scalar, or one element of an array) into node ni. */
static int r2_dec_value(r2_dec *d, const r2_field *f, uint32_t ni)
{
    r2_node *node = &d->m->nodes[ni];
    size_t sz = r2_prim_size(f->prim);
    int rc;
    if (sz) {
        r2_align(d, sz);
        if ((rc = r2_need(d, sz, "needs %llu bytes, %llu left")) < 0) return rc;
        node->off = (uint32_t)d->pos, node->count = 1;
        d->pos += sz;
        return 0;
    }
    if (f->prim == R2_STRUCT) return r2_dec_struct(d, f->sub, ni);
    r2_align(d, 4);
    if ((rc = r2_need(d, 4, "string length needs %llu bytes, %llu left")) < 0) return rc;
    uint32_t len = r2_rd32(d->m, d->pos);
    d->pos += 4;
    if ((rc = r2_need(d, len, "string of %llu bytes runs past the end (%llu left)")) < 0) return rc;
    if (len && d->m->buf[d->pos + len - 1] != '\0')
        return r2_fail(d, TW_ESCHEMA, "string of %llu bytes is not NUL-terminated", len, 0);
    node->off = (uint32_t)d->pos;
    node->count = len ? len - 1 : 0;
    if (f->str_bound && node->count > f->str_bound)
        return r2_fail(d, TW_ESCHEMA, "string of %llu bytes exceeds its bound %llu", node->count, f->str_bound);
    d->pos += len;
    return 0;
}

static int r2_dec_array(r2_dec *d, const r2_field *f, uint32_t ni)
{
    uint64_t count = f->count;
    int rc;
    if (f->arr == R2_SEQ) {
        r2_align(d, 4);
        if ((rc = r2_need(d, 4, "sequence length needs %llu bytes, %llu left")) < 0) return rc;
        count = r2_rd32(d->m, d->pos);
        d->pos += 4;
        if (f->count && count > f->count)
            return r2_fail(d, TW_ESCHEMA, "sequence length %llu exceeds its bound %llu", count, f->count);
    }
    size_t sz = r2_prim_size(f->prim);
    uint64_t min = sz ? sz : f->prim == R2_STRING ? 4 : d->s->types[f->sub].min_size;
    uint64_t left = d->pos <= d->m->len ? d->m->len - d->pos : 0;
    if (count && count > left / min)
        return r2_fail(d, TW_ETRUNCATED, "%llu elements cannot fit in the %llu bytes left", count, left);
    r2_node *node = &d->m->nodes[ni];
    node->count = (uint32_t)count;
    if (sz) { /* primitive array: one node, elements read in place */
        if (count) r2_align(d, sz);
        if ((rc = r2_need(d, count * sz, "array needs %llu bytes, %llu left")) < 0) return rc;
        node->off = (uint32_t)d->pos;
        d->pos += count * sz;
        return 0;
    }
    uint32_t first;
    if ((rc = r2_alloc(d, count, &first)) < 0) return rc;
    d->m->nodes[ni].child = first;
    for (uint64_t i = 0; i < count; i++) {
        d->stack[d->depth - 1].idx = (int64_t)i;
        if ((rc = r2_dec_value(d, f, first + (uint32_t)i)) < 0) return rc;
    }
    d->stack[d->depth - 1].idx = -1;
    return 0;
}

static int r2_dec_struct(r2_dec *d, int ti, uint32_t ni)
{
    const r2_type *t = &d->s->types[ti];
    int rc;
    if (t->nfields == 0) { /* ROS 2 gives an empty message one placeholder uint8 */
        if ((rc = r2_need(d, 1, "empty message needs %llu byte, %llu left")) < 0) return rc;
        d->pos++;
        return 0;
    }
    uint32_t first;
    if ((rc = r2_alloc(d, (uint64_t)t->nfields, &first)) < 0) return rc;
    d->m->nodes[ni].child = first;
    if (d->depth >= R2_STACK) return r2_fail(d, TW_ESCHEMA, "nesting deeper than %llu levels", R2_STACK, 0);
    for (int k = 0; k < t->nfields; k++) {
        const r2_field *f = &d->s->fields[t->first + k];
        d->stack[d->depth].f = f, d->stack[d->depth].idx = -1;
        d->depth++;
        rc = f->arr == R2_SCALAR ? r2_dec_value(d, f, first + (uint32_t)k) : r2_dec_array(d, f, first + (uint32_t)k);
        d->depth--;
        if (rc < 0) return rc;
    }
    return 0;
}

int tw_ros2_decode_cdr(tw_ros2_msg *m, const tw_ros2_schema *s, const uint8_t *buf, size_t len, char *err,
                       size_t errsz)
{
    if (!m || !s || (!buf && len)) return tw_errf(err, errsz, TW_EINVAL, "cdr: NULL argument");
    json_decref(m->json);
    m->json = NULL, m->schema = NULL, m->nnodes = 0;
    const char *tn = s->types[s->root].name;
    if (len > m->lim.max_bytes)
        return tw_errf(err, errsz, TW_ETOO_BIG, "cdr %s: message of %zu bytes exceeds the limit %zu", tn, len,
                       m->lim.max_bytes);
    if (len < 4) return tw_errf(err, errsz, TW_ETRUNCATED, "cdr %s: %zu bytes, shorter than the encapsulation header", tn, len);
    if (buf[0] != 0 || buf[1] > 0x0b)
        return tw_errf(err, errsz, TW_EBAD_MAGIC, "cdr %s at byte 0: bad encapsulation %02x %02x", tn, buf[0], buf[1]);
    if (buf[1] > 1)
        return tw_errf(err, errsz, TW_EUNSUPPORTED, "cdr %s at byte 0: encapsulation %02x %02x (%s) not supported, only plain CDR",
                       tn, buf[0], buf[1], buf[1] < 4 ? "parameter list" : "XCDR2");
    m->buf = buf, m->len = len, m->big_endian = buf[1] == 0;
    r2_dec d = {.m = m, .s = s, .pos = 4, .err = err, .errsz = errsz};
    uint32_t root;
    int rc = r2_alloc(&d, 1, &root);
    if (rc == 0) rc = r2_dec_struct(&d, s->root, root);
    if (rc < 0) {
        m->nnodes = 0;
        return rc;
    }
    m->schema = s;
    return 0;
}

/* ---- path resolution ---------------------------------------------------------------------- */

int r2_path_next(r2_path *it)
{
    const char *p = it->p;
    if (!*p) return 0;
    size_t n = 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_') {
        if (n + 1 >= sizeof it->name) return TW_EINVAL;
        it->name[n++] = *p++;
    }
    if (!n) return TW_EINVAL;
    it->name[n] = '\0';
    it->index = -1;
    if (*p == '[') {
        char *e;
        if (p[1] < '0' || p[1] > '9') return TW_EINVAL;
        unsigned long long v = strtoull(p + 1, &e, 10);
        if (*e != ']' || v > INT64_MAX / 2) return TW_EINVAL;
        it->index = (int64_t)v;
        p = e + 1;
    }
    if (*p == '.') {
        if (!p[1]) return TW_EINVAL;
        p++;
    } else if (*p) return TW_EINVAL;
    it->p = p;
    return 1;
}

int r2_cdr_resolve(const tw_ros2_msg *m, const char *path, r2_ref *ref)
{
    const tw_ros2_schema *s = m->schema;
    *ref = (r2_ref){.node = &m->nodes[0], .elem = -1, .type = s->root};
    r2_path it = {.p = path};
    int rc;
    while ((rc = r2_path_next(&it)) == 1) {
        if (ref->type < 0) return TW_ENOT_FOUND;
        const r2_type *t = &s->types[ref->type];
        int k = 0;
        while (k < t->nfields && strcmp(s->fields[t->first + k].name, it.name) != 0) k++;
        if (k == t->nfields) return TW_ENOT_FOUND;
        const r2_field *f = &s->fields[t->first + k];
        ref->f = f, ref->node = &m->nodes[ref->node->child + (uint32_t)k], ref->elem = -1, ref->element = false;
        ref->type = f->prim == R2_STRUCT && f->arr == R2_SCALAR ? f->sub : -1;
        if (it.index < 0) continue;
        if (f->arr == R2_SCALAR || (uint64_t)it.index >= ref->node->count) return TW_ENOT_FOUND;
        if (r2_prim_size(f->prim)) {
            ref->elem = it.index;
            continue;
        }
        ref->node = &m->nodes[ref->node->child + (uint32_t)it.index];
        ref->element = true;
        ref->type = f->prim == R2_STRUCT ? f->sub : -1;
    }
    return rc;
}
