/* tw_rosmap: ROS 2 topics -> teleworld streams (schemas/mcap.md "Topic mapping").
 *
 * One map (the --topics JSON, or none: every topic goes by its message type) decides what each
 * topic becomes; one tw_rostopic per mapped topic turns its messages (CDR or JSON, as bridge/ros2
 * decodes them) into teleworld samples: the payload protocol.md §6 defines for the stream kind,
 * and header.stamp as the source time. The declaration is known after the first message
 * (joint count and names, picture size); the same code serves `tw import mcap` and
 * `tw record --from`. JPEG/PNG pictures are decoded to rgb24 (libavcodec) unless the topic keeps
 * JPEG; H.264 passes through. Every function returns 0 or a negative TW_E... code and writes
 * what went wrong (topic, field) into (err, errsz). */
#ifndef TW_ROSMAP_H
#define TW_ROSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "tw_core.h"
#include "tw_ros2.h"
#include "tw_wire.h"

typedef struct tw_rosmap tw_rosmap;
typedef struct tw_rostopic tw_rostopic;

/* Loads a topic map file (NULL: the empty map, every topic by its type). Format:
 *   {"topics": {"/joint_states": "joint_state",
 *               "/ft": {"kind": "wrench", "stream": "ft_wrist"},
 *               "/tf": "ignore"},
 *    "only_mapped": false}
 * kind: joint_state, wrench, imu, video, action, ignore. only_mapped: topics absent from the
 * map are left out instead of mapped by type. */
int tw_rosmap_load(const char *path, tw_rosmap **out, char *err, size_t errsz);
void tw_rosmap_free(tw_rosmap *m);
/* 1 when the map names topic (with any kind, "ignore" included). */
int tw_rosmap_names(const tw_rosmap *m, const char *topic);

/* What a channel offers: MCAP schema + channel, or a foxglove.websocket.v1 advertisement. */
typedef struct {
    const char *topic;
    const char *type_name;       /* schema name, e.g. "sensor_msgs/msg/JointState" ("" none) */
    const char *schema_encoding; /* "ros2msg", "protobuf", "jsonschema", "" */
    const uint8_t *schema;
    size_t schema_len;
    const char *message_encoding; /* "cdr", "json", "protobuf" */
} tw_rostopic_src;

#define TW_ROSTOPIC_KEEP_JPEG 1u /* store JPEG frames as jpeg (the recorder keeps them as MJPEG) */

/* Returns 1 with *out (mapped), 0 with why filled (not mapped: unknown type, "ignore", not in
 * an only_mapped map) or a negative code: TW_ESCHEMA when the schema text does not parse,
 * TW_EMISMATCH when the map names a kind the message type contradicts. */
int tw_rostopic_open(const tw_rosmap *m, const tw_rostopic_src *src, unsigned flags, tw_rostopic **out,
                     char *why, size_t whysz);
void tw_rostopic_close(tw_rostopic *t);
const char *tw_rostopic_topic(const tw_rostopic *t);
tw_ros2_kind tw_rostopic_kind(const tw_rostopic *t);

/* One sample; payload (owned by t) is valid until the next call on t. */
typedef struct {
    int64_t t_src_ns;   /* header.stamp; the caller's receive time when the message has none */
    int has_stamp;
    const uint8_t *payload;
    size_t len;
    int keyframe;       /* video: IDR access unit, or an intra picture (jpeg/rgb24) */
} tw_rossample;

/* Decodes one message (t_recv_ns: used as the source time when the message has no stamp).
 * The first message fixes the declaration (tw_rostopic_decl); a later one that does not fit it
 * (other joint count, picture size) is TW_ESHAPE. Corrupt message: the decoder's code. */
int tw_rostopic_sample(tw_rostopic *t, const uint8_t *msg, size_t len, int64_t t_recv_ns, tw_rossample *s,
                       char *err, size_t errsz);
/* The stream declaration (id 0, name from the map or the topic), NULL before the first sample. */
const tw_stream_decl *tw_rostopic_decl(const tw_rostopic *t);

/* Stream name for a topic: "/arm/joint_states" -> "arm.joint_states" ([A-Za-z0-9_.-]). */
void tw_rosmap_stream_name(const char *topic, char *out, size_t outsz);

/* Decodes one JPEG or PNG picture to rgb24 (libavcodec + swscale). *rgb is malloc'd. */
int tw_rosmap_decode_image(const uint8_t *data, size_t len, tw_ros2_format fmt, uint8_t **rgb, uint32_t *w,
                           uint32_t *h, char *err, size_t errsz);
/* Picture size of an H.264 access unit with SPS (decodes it). */
int tw_rosmap_h264_size(const uint8_t *au, size_t len, uint32_t *w, uint32_t *h, char *err, size_t errsz);
/* 1 when an Annex-B access unit holds an IDR slice. */
int tw_rosmap_h264_idr(const uint8_t *au, size_t len);

#endif
