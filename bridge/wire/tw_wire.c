/* Stream declarations: names of enums, sizes, UTF-8 and the validation rules of
 * schemas/protocol.md ("Stream declarations"). Frames live in tw_wire_frame.c. */
#include "tw_wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[TW_KIND__COUNT] = {
    "joint_state", "wrench", "action", "video", "imu", "tensor", "event",
};
static const char *const dtype_names[TW_DTYPE__COUNT] = {
    "float32", "float64", "int32", "int64", "uint8", "bytes",
};
static const char *const enc_names[] = {"none", "h264", "jpeg", "rgb24"};
#define N_ENC (sizeof enc_names / sizeof enc_names[0])

static int index_of(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *tw_kind_name(tw_kind k)
{
    return (unsigned)k < TW_KIND__COUNT ? kind_names[k] : "?";
}

const char *tw_dtype_name(tw_dtype t)
{
    return (unsigned)t < TW_DTYPE__COUNT ? dtype_names[t] : "?";
}

const char *tw_video_enc_name(tw_video_enc e)
{
    return (unsigned)e < N_ENC ? enc_names[e] : "?";
}

int tw_kind_from_name(const char *s) { return index_of(kind_names, TW_KIND__COUNT, s); }
int tw_dtype_from_name(const char *s) { return index_of(dtype_names, TW_DTYPE__COUNT, s); }
int tw_video_enc_from_name(const char *s) { return index_of(enc_names, (int)N_ENC, s); }

size_t tw_dtype_size(tw_dtype t)
{
    static const size_t sz[TW_DTYPE__COUNT] = {4, 8, 4, 8, 1, 0};
    return (unsigned)t < TW_DTYPE__COUNT ? sz[t] : 0;
}

size_t tw_decl_elems(const tw_stream_decl *d)
{
    if (!d || d->ndim == 0 || d->ndim > TW_MAX_DIMS)
        return 0;
    size_t n = 1;
    for (uint32_t i = 0; i < d->ndim; i++) {
        /* saturate instead of overflowing; validation rejects anything > TW_MAX_ELEMS */
        if (d->shape[i] && n > SIZE_MAX / d->shape[i])
            return SIZE_MAX;
        n *= d->shape[i];
    }
    return n;
}

size_t tw_decl_sample_bytes(const tw_stream_decl *d)
{
    if (!d || d->kind == TW_KIND_VIDEO || d->kind == TW_KIND_EVENT)
        return 0;
    size_t n = tw_decl_elems(d), es = tw_dtype_size(d->dtype);
    if (es && n > SIZE_MAX / es)
        return SIZE_MAX;
    return n * es;
}

/* Decodes one code point; returns its length or 0 when malformed. */
static size_t utf8_one(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int tw_utf8_valid(const void *s, size_t len, size_t *bad_off)
{
    const uint8_t *p = s;
    size_t i = 0;
    while (i < len) {
        size_t k = utf8_one(p + i, len - i);
        if (!k) {
            if (bad_off)
                *bad_off = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

size_t tw_utf8_trim(char *s)
{
    size_t n = strlen(s), bad;
    if (!tw_utf8_valid(s, n, &bad)) {
        s[bad] = '\0';
        n = bad;
    }
    return n;
}

/* ---- validation ------------------------------------------------------------ */

/* A C string field of capacity cap: NUL-terminated inside it, UTF-8, no control chars. */
static int check_text(const char *s, size_t cap, int nonempty, const char *what, char *msg, size_t msgsz)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: longer than %zu bytes", what, cap - 1);
    if (nonempty && n == 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: must not be empty", what);
    size_t bad;
    if (!tw_utf8_valid(s, n, &bad))
        return tw_errf(msg, msgsz, TW_EUTF8, "%s: invalid UTF-8 at byte %zu", what, bad);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: control character at byte %zu", what, i);
    return 0;
}

static int name_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int check_name(const tw_stream_decl *d, char *msg, size_t msgsz)
{
    size_t n = strnlen(d->name, TW_MAX_NAME);
    if (n == TW_MAX_NAME)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "stream %u: name longer than %d bytes", d->id,
                       TW_MAX_NAME - 1);
    if (n == 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "stream %u: empty name", d->id);
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(d->name[i]))
            return tw_errf(msg, msgsz, TW_ESCHEMA,
                           "stream %u: name has byte 0x%02x at %zu; allowed are A-Z a-z 0-9 _ . -", d->id,
                           (unsigned char)d->name[i], i);
    return 0;
}

/* Expected shape for kinds that fix it; returns 0 when the kind allows any. */
static int check_shape(const tw_stream_decl *d, char *msg, size_t msgsz)
{
    const char *nm = d->name;
    if (d->ndim < 1 || d->ndim > TW_MAX_DIMS)
        return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': %s needs 1..%d dims, got %u", nm,
                       tw_kind_name(d->kind), TW_MAX_DIMS, d->ndim);
    for (uint32_t i = 0; i < d->ndim; i++)
        if (d->shape[i] == 0)
            return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': shape[%u] is 0", nm, i);
    size_t elems = tw_decl_elems(d);
    if (elems > TW_MAX_ELEMS)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "stream '%s': %zu elements per sample exceeds limit %d", nm,
                       elems, TW_MAX_ELEMS);
    switch (d->kind) {
    case TW_KIND_JOINT_STATE:
        if (d->ndim != 2 || d->shape[0] != 3)
            return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': joint_state shape must be [3, N]", nm);
        break;
    case TW_KIND_WRENCH:
    case TW_KIND_IMU: {
        uint32_t want = d->kind == TW_KIND_WRENCH ? 6 : 10;
        if (d->ndim != 1 || d->shape[0] != want)
            return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': %s shape must be [%u]", nm,
                           tw_kind_name(d->kind), want);
        break;
    }
    case TW_KIND_ACTION:
        if (d->ndim != 1)
            return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': action shape must be [N]", nm);
        break;
    default:
        break;
    }
    /* axes name the last dimension (joints of a joint_state, components of an action) */
    uint32_t last = d->shape[d->ndim - 1];
    if (d->naxes && d->naxes != last)
        return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': %u axis names for last dimension %u", nm,
                       d->naxes, last);
    return 0;
}

static int check_kind_dtype(const tw_stream_decl *d, char *msg, size_t msgsz)
{
    const char *nm = d->name;
    if ((unsigned)d->kind >= TW_KIND__COUNT)
        return tw_errf(msg, msgsz, TW_EKIND, "stream '%s': unknown kind %d", nm, (int)d->kind);
    if ((unsigned)d->dtype >= TW_DTYPE__COUNT)
        return tw_errf(msg, msgsz, TW_EDTYPE, "stream '%s': unknown dtype %d", nm, (int)d->dtype);
    int variable = d->kind == TW_KIND_VIDEO || d->kind == TW_KIND_EVENT;
    if (variable) {
        if (d->dtype != TW_DTYPE_BYTES)
            return tw_errf(msg, msgsz, TW_EDTYPE, "stream '%s': %s needs dtype bytes, got %s", nm,
                           tw_kind_name(d->kind), tw_dtype_name(d->dtype));
        if (d->ndim != 0)
            return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': %s has no shape (ndim 0), got ndim %u", nm,
                           tw_kind_name(d->kind), d->ndim);
        if (d->naxes)
            return tw_errf(msg, msgsz, TW_ESHAPE, "stream '%s': %s has no axes, got %u", nm,
                           tw_kind_name(d->kind), d->naxes);
        return 0;
    }
    if (d->dtype == TW_DTYPE_BYTES)
        return tw_errf(msg, msgsz, TW_EDTYPE, "stream '%s': dtype bytes is only for video and event", nm);
    int physical = d->kind == TW_KIND_JOINT_STATE || d->kind == TW_KIND_WRENCH || d->kind == TW_KIND_IMU;
    if (physical && d->dtype != TW_DTYPE_FLOAT32 && d->dtype != TW_DTYPE_FLOAT64)
        return tw_errf(msg, msgsz, TW_EDTYPE, "stream '%s': %s needs float32 or float64, got %s", nm,
                       tw_kind_name(d->kind), tw_dtype_name(d->dtype));
    return check_shape(d, msg, msgsz);
}

static int check_video(const tw_stream_decl *d, char *msg, size_t msgsz)
{
    const char *nm = d->name;
    if (d->kind != TW_KIND_VIDEO) {
        if (d->encoding != TW_VIDEO_NONE || d->width || d->height)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "stream '%s': encoding/width/height are only for video",
                           nm);
        return 0;
    }
    if (d->encoding <= TW_VIDEO_NONE || d->encoding > TW_VIDEO_RGB24)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "stream '%s': video needs encoding h264, jpeg or rgb24", nm);
    if (d->width < 1 || d->height < 1 || d->width > 16384 || d->height > 16384)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "stream '%s': video size %ux%u outside 1..16384", nm,
                       d->width, d->height);
    if (d->encoding == TW_VIDEO_RGB24 && (uint64_t)d->width * d->height * 3 > TW_MAX_VIDEO_BYTES)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "stream '%s': rgb24 %ux%u frame exceeds limit %u bytes", nm,
                       d->width, d->height, TW_MAX_VIDEO_BYTES);
    return 0;
}

static int check_strings(const tw_stream_decl *d, char *msg, size_t msgsz)
{
    char what[TW_MAX_NAME + 48];
    int rc;
    snprintf(what, sizeof what, "stream '%s': units", d->name);
    if ((rc = check_text(d->units, sizeof d->units, 0, what, msg, msgsz)))
        return rc;
    snprintf(what, sizeof what, "stream '%s': frame", d->name);
    if ((rc = check_text(d->frame, sizeof d->frame, 0, what, msg, msgsz)))
        return rc;
    if (d->naxes > TW_MAX_AXES)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "stream '%s': %u axis names exceeds limit %d", d->name,
                       d->naxes, TW_MAX_AXES);
    for (uint32_t i = 0; i < d->naxes; i++) {
        snprintf(what, sizeof what, "stream '%s': axes[%u]", d->name, i);
        if ((rc = check_text(d->axes[i], sizeof d->axes[i], 1, what, msg, msgsz)))
            return rc;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(d->axes[i], d->axes[j]) == 0)
                return tw_errf(msg, msgsz, TW_ESCHEMA, "stream '%s': axes[%u] repeats '%s'", d->name, i,
                               d->axes[i]);
    }
    return 0;
}

int tw_decl_validate(const tw_stream_decl *d, char *msg, size_t msgsz)
{
    if (!d)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL declaration");
    if (d->id == 0)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "stream id 0 is reserved; use 1..65535");
    int rc;
    if ((rc = check_name(d, msg, msgsz)) || (rc = check_kind_dtype(d, msg, msgsz)) ||
        (rc = check_video(d, msg, msgsz)) || (rc = check_strings(d, msg, msgsz)))
        return rc;
    if (!(d->rate_hz > 0) || !isfinite(d->rate_hz) || d->rate_hz > 1e6)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "stream '%s': rate_hz %g outside (0, 1e6]", d->name,
                       d->rate_hz);
    return 0;
}
