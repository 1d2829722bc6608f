/* CDR little-endian encoder for the messages `tw export mcap` writes. One writer walks the
 * fields in schema order (the texts in tw_ros2_defs.c); with no buffer it only counts, so a
 * caller can size its buffer with the same code path that fills it. */
#include "tw_ros2_int.h"

#include <string.h>

typedef struct {
    uint8_t *buf; /* NULL: count only */
    size_t cap, pos;
    bool bad_stamp;
} r2_w;

static void r2_w_put(r2_w *w, const void *p, size_t n)
{
    if (w->buf && w->pos <= w->cap && w->cap - w->pos >= n) memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

/* Pads with zeros to a multiple of a relative to the end of the encapsulation header. */
static void r2_w_align(r2_w *w, size_t a)
{
    static const uint8_t zero[8];
    size_t rel = (w->pos - 4) % a;
    if (rel) r2_w_put(w, zero, a - rel);
}

static void r2_w_u32(r2_w *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    r2_w_align(w, 4);
    r2_w_put(w, b, 4);
}

static void r2_w_f64(r2_w *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    r2_w_align(w, 8);
    r2_w_put(w, b, 8);
}

static void r2_w_string(r2_w *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    r2_w_u32(w, (uint32_t)(n + 1)); /* the length counts the NUL */
    r2_w_put(w, s ? s : "", n);
    r2_w_put(w, "", 1);
}

static void r2_w_f64_seq(r2_w *w, size_t n, const double *v)
{
    if (!v) n = 0;
    r2_w_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) r2_w_f64(w, v[i]);
}

/* builtin_interfaces/Time: floor seconds and a non-negative nanosecond remainder. */
static void r2_w_time(r2_w *w, int64_t ns)
{
    int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
    if (nsec < 0) sec--, nsec += 1000000000;
    if (sec < INT32_MIN || sec > INT32_MAX) w->bad_stamp = true;
    r2_w_u32(w, (uint32_t)(int32_t)sec);
    r2_w_u32(w, (uint32_t)nsec);
}

static void r2_w_begin(r2_w *w, uint8_t *buf, size_t cap)
{
    static const uint8_t hdr[4] = {0x00, 0x01, 0x00, 0x00}; /* CDR little endian */
    *w = (r2_w){.buf = buf, .cap = buf ? cap : 0};
    r2_w_put(w, hdr, 4);
}

static int r2_w_end(const r2_w *w, size_t *len, const char *what, char *err, size_t errsz)
{
    if (len) *len = w->pos;
    if (w->bad_stamp) return tw_errf(err, errsz, TW_EINVAL, "encode %s: stamp outside int32 seconds", what);
    if (w->buf && w->pos > w->cap)
        return tw_errf(err, errsz, TW_EFULL, "encode %s: needs %zu bytes, buffer holds %zu", what, w->pos, w->cap);
    if (w->pos > UINT32_MAX) return tw_errf(err, errsz, TW_ETOO_BIG, "encode %s: %zu bytes", what, w->pos);
    return 0;
}

int tw_ros2_encode_joint_state(const tw_ros2_enc_joint_state *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                               size_t errsz)
{
    if (!in) return tw_errf(err, errsz, TW_EINVAL, "encode JointState: NULL argument");
    r2_w w;
    r2_w_begin(&w, buf, cap);
    r2_w_time(&w, in->stamp_ns);
    r2_w_string(&w, in->frame_id);
    size_t nn = in->name ? in->n : 0;
    r2_w_u32(&w, (uint32_t)nn);
    for (size_t i = 0; i < nn; i++) r2_w_string(&w, in->name[i]);
    r2_w_f64_seq(&w, in->n, in->position);
    r2_w_f64_seq(&w, in->n, in->velocity);
    r2_w_f64_seq(&w, in->n, in->effort);
    return r2_w_end(&w, len, "JointState", err, errsz);
}

int tw_ros2_encode_wrench(const tw_ros2_enc_wrench *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                          size_t errsz)
{
    if (!in) return tw_errf(err, errsz, TW_EINVAL, "encode WrenchStamped: NULL argument");
    r2_w w;
    r2_w_begin(&w, buf, cap);
    r2_w_time(&w, in->stamp_ns);
    r2_w_string(&w, in->frame_id);
    for (int i = 0; i < 3; i++) r2_w_f64(&w, in->force[i]);
    for (int i = 0; i < 3; i++) r2_w_f64(&w, in->torque[i]);
    return r2_w_end(&w, len, "WrenchStamped", err, errsz);
}

int tw_ros2_encode_f64_array(const tw_ros2_enc_f64_array *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                             size_t errsz)
{
    if (!in) return tw_errf(err, errsz, TW_EINVAL, "encode Float64MultiArray: NULL argument");
    if (in->n > UINT32_MAX) return tw_errf(err, errsz, TW_ETOO_BIG, "encode Float64MultiArray: %zu values", in->n);
    r2_w w;
    r2_w_begin(&w, buf, cap);
    r2_w_u32(&w, in->label ? 1 : 0); /* layout.dim */
    if (in->label) {
        r2_w_string(&w, in->label);
        r2_w_u32(&w, (uint32_t)in->n); /* size */
        r2_w_u32(&w, (uint32_t)in->n); /* stride */
    }
    r2_w_u32(&w, 0); /* layout.data_offset */
    r2_w_f64_seq(&w, in->n, in->data);
    return r2_w_end(&w, len, "Float64MultiArray", err, errsz);
}

int tw_ros2_encode_video(const tw_ros2_enc_video *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                         size_t errsz)
{
    if (!in || (!in->data && in->len)) return tw_errf(err, errsz, TW_EINVAL, "encode CompressedVideo: NULL argument");
    if (in->len > UINT32_MAX) return tw_errf(err, errsz, TW_ETOO_BIG, "encode CompressedVideo: %zu bytes", in->len);
    r2_w w;
    r2_w_begin(&w, buf, cap);
    r2_w_time(&w, in->stamp_ns);
    r2_w_string(&w, in->frame_id);
    r2_w_u32(&w, (uint32_t)in->len);
    r2_w_put(&w, in->data, in->len);
    r2_w_string(&w, in->format);
    return r2_w_end(&w, len, "CompressedVideo", err, errsz);
}
