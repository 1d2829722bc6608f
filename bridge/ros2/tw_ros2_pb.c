/* foxglove.CompressedVideo in protobuf (MCAP message_encoding "protobuf"): the one protobuf
 * message teleworld reads, decoded by a minimal wire-format reader instead of a protobuf
 * library. Fields: 1 timestamp {1 seconds, 2 nanos}, 2 frame_id, 3 data, 4 format. */
#include "tw_ros2_int.h"

#include <string.h>

typedef struct {
    const uint8_t *p, *end, *start;
} r2_pb;

static int r2_pb_varint(r2_pb *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return TW_ETRUNCATED;
        uint8_t b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return TW_EINTEGRITY; /* more than 10 bytes */
}

/* Reads one field header and its value: varints in *v, LEN fields as [*ptr, *ptr + *v). */
static int r2_pb_field(r2_pb *r, uint32_t *num, uint64_t *v, const uint8_t **ptr)
{
    uint64_t key;
    int rc = r2_pb_varint(r, &key);
    if (rc < 0) return rc;
    *num = (uint32_t)(key >> 3);
    switch (key & 7) {
    case 0: return r2_pb_varint(r, v);
    case 1: case 5: {
        size_t n = (key & 7) == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n) return TW_ETRUNCATED;
        r->p += n, *v = 0;
        return 0;
    }
    case 2:
        if ((rc = r2_pb_varint(r, v)) < 0) return rc;
        if (*v > (uint64_t)(r->end - r->p)) return TW_ETRUNCATED;
        *ptr = r->p;
        r->p += *v;
        return 0;
    default: return TW_EUNSUPPORTED; /* groups */
    }
}

static int r2_pb_timestamp(const uint8_t *p, size_t n, int64_t *ns)
{
    r2_pb r = {p, p + n, p};
    int64_t sec = 0, nanos = 0;
    while (r.p < r.end) {
        uint32_t num;
        uint64_t v;
        const uint8_t *ptr;
        int rc = r2_pb_field(&r, &num, &v, &ptr);
        if (rc < 0) return rc;
        if (num == 1) sec = (int64_t)v;
        if (num == 2) nanos = (int32_t)(uint32_t)v;
    }
    if (sec > INT64_MAX / 1000000000 - 1 || sec < INT64_MIN / 1000000000 + 1) return TW_ETOO_BIG;
    *ns = sec * 1000000000 + nanos;
    return 0;
}

static const char *r2_pb_format(const uint8_t *p, size_t n, tw_ros2_format *f)
{
    static const struct {
        const char *s;
        tw_ros2_format f;
    } known[] = {{"h264", TW_ROS2_FMT_H264}, {"h265", TW_ROS2_FMT_H265}, {"jpeg", TW_ROS2_FMT_JPEG},
                 {"png", TW_ROS2_FMT_PNG}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (n == strlen(known[i].s) && memcmp(p, known[i].s, n) == 0) {
            *f = known[i].f;
            return known[i].s;
        }
    *f = TW_ROS2_FMT_OTHER;
    return "";
}

int tw_ros2_decode_pb_video(const uint8_t *buf, size_t len, tw_ros2_frame *f, char *err, size_t errsz)
{
    if (!f || (!buf && len)) return tw_errf(err, errsz, TW_EINVAL, "protobuf CompressedVideo: NULL argument");
    memset(f, 0, sizeof *f);
    f->format_str = "";
    f->data = (const uint8_t *)"";
    r2_pb r = {buf, buf + len, buf};
    while (r.p < r.end) {
        size_t at = (size_t)(r.p - r.start);
        uint32_t num;
        uint64_t v;
        const uint8_t *ptr = NULL;
        int rc = r2_pb_field(&r, &num, &v, &ptr);
        if (rc == 0 && num == 1 && ptr) rc = r2_pb_timestamp(ptr, (size_t)v, &f->stamp_ns);
        if (rc < 0)
            return tw_errf(err, errsz, rc, "protobuf CompressedVideo field %u at byte %zu: %s", num, at, tw_strerror(rc));
        if (num == 3 && ptr) f->data = ptr, f->len = (size_t)v;
        if (num == 4 && ptr) f->format_str = r2_pb_format(ptr, (size_t)v, &f->format);
    }
    return 0;
}
