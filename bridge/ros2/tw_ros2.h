/* tw_ros2: ROS 2 messages as they appear in MCAP files and on a foxglove.websocket.v1 bridge.
 *
 * A `ros2msg` schema text (main definition, then `=====` / `MSG: pkg/Type` sections) is compiled
 * once into a tw_ros2_schema (immutable, shareable between threads); a tw_ros2_msg holds one
 * decoded message (CDR, or a JSON object for "json" channels) and answers fields by path:
 * "position", "header.stamp", "points[2].positions", "name[0]".
 *
 * Ownership: a CDR-decoded message points INTO the caller's buffer (zero copy); the buffer and the
 * schema must stay alive and unchanged while the message is read. Pointers returned by the
 * getters stay valid until the next decode into the same tw_ros2_msg (or its close).
 * Every function returns 0 or a negative TW_E... code (tw_err.h); those taking (err, errsz) write
 * what went wrong and where (field path, byte offset) into that buffer (NULL allowed).
 * Memory is bounded by tw_ros2_limits, never by what a message claims. */
#ifndef TW_ROS2_H
#define TW_ROS2_H

#include <stddef.h>
#include <stdint.h>

typedef struct tw_ros2_schema tw_ros2_schema;
typedef struct tw_ros2_msg tw_ros2_msg;

/* ---- schema ---------------------------------------------------------------------------- */

/* Compiles a ros2msg schema text. type_name is the MCAP schema name of the main definition,
 * "pkg/msg/Type" or "pkg/Type"; it gives the package for short type names. `Header` resolves to
 * std_msgs/Header; std_msgs/Header, builtin_interfaces/Time and /Duration are built in when the
 * text does not define them. Constants are skipped, default values ignored; wstring is refused
 * (TW_EUNSUPPORTED). On success *out owns the plan; free with tw_ros2_schema_free(). */
int tw_ros2_schema_parse(const char *text, const char *type_name, tw_ros2_schema **out, char *err, size_t errsz);
void tw_ros2_schema_free(tw_ros2_schema *s);
/* "pkg/Type" of the main definition. */
const char *tw_ros2_schema_type(const tw_ros2_schema *s);

/* ---- decoding -------------------------------------------------------------------------- */

typedef struct {
    size_t max_nodes; /* decoded values per message: each scalar/struct field, string or struct
                         element costs one; primitive arrays cost one whatever their length (65536) */
    size_t max_bytes; /* largest encoded message and largest JSON bytes field (64 MiB) */
} tw_ros2_limits;

void tw_ros2_limits_init(tw_ros2_limits *lim);

/* lim NULL means the defaults. All memory a decode needs is allocated here (plus, for JSON,
 * jansson's tree of an input itself bounded by max_bytes). */
int tw_ros2_msg_open(const tw_ros2_limits *lim, tw_ros2_msg **out);
void tw_ros2_msg_close(tw_ros2_msg *m);

/* Decodes CDR as ROS 2 writes it: a 4-byte encapsulation header (00 00 = CDR big endian,
 * 00 01 = little endian; XCDR2 and parameter lists are refused), then the fields with alignment
 * relative to the end of that header. Trailing padding is allowed. */
int tw_ros2_decode_cdr(tw_ros2_msg *m, const tw_ros2_schema *s, const uint8_t *buf, size_t len, char *err,
                       size_t errsz);
/* Parses one JSON object (message_encoding "json"); no schema needed. Byte fields may be base64
 * strings (Foxglove's JSON) or arrays of 0..255. */
int tw_ros2_decode_json(tw_ros2_msg *m, const char *json, size_t len, char *err, size_t errsz);

/* ---- getters (path syntax: name(.name)* with optional [index] after any name) --------------- */

/* Any numeric or bool scalar, converted. */
int tw_ros2_get_f64(const tw_ros2_msg *m, const char *path, double *out);
/* Integer or bool scalars only; TW_EDTYPE for a float, TW_ETOO_BIG if it does not fit. */
int tw_ros2_get_i64(const tw_ros2_msg *m, const char *path, int64_t *out);
/* Numeric array or sequence, converted. *n receives the length in the message; min(*n, cap)
 * values are copied; TW_ETOO_BIG when *n > cap. */
int tw_ros2_get_f64_array(const tw_ros2_msg *m, const char *path, double *buf, size_t cap, size_t *n);
/* Length of an array, sequence or string. */
int tw_ros2_get_count(const tw_ros2_msg *m, const char *path, size_t *n);
/* A struct {sec, nanosec|nsec} as nanoseconds since its epoch. */
int tw_ros2_get_time(const tw_ros2_msg *m, const char *path, int64_t *ns);
/* uint8/byte/char/int8 array or sequence (or a JSON base64 string): a pointer into the message. */
int tw_ros2_get_bytes(const tw_ros2_msg *m, const char *path, const uint8_t **ptr, size_t *len);
/* NUL-terminated string and its length (bytes before the NUL the encoding carried). */
int tw_ros2_get_string(const tw_ros2_msg *m, const char *path, const char **s, size_t *len);
/* Whether a path exists in the decoded message (1) or not (0). */
int tw_ros2_has(const tw_ros2_msg *m, const char *path);

/* ---- known messages: matched by field structure, not by package ------------------------- */

typedef enum {
    TW_ROS2_UNKNOWN = 0,
    TW_ROS2_JOINT_STATE,      /* sensor_msgs/msg/JointState */
    TW_ROS2_WRENCH_STAMPED,   /* geometry_msgs/msg/WrenchStamped */
    TW_ROS2_IMU,              /* sensor_msgs/msg/Imu */
    TW_ROS2_COMPRESSED_IMAGE, /* sensor_msgs/msg/CompressedImage (and foxglove CompressedImage) */
    TW_ROS2_IMAGE,            /* sensor_msgs/msg/Image */
    TW_ROS2_COMPRESSED_VIDEO, /* foxglove_msgs/msg/CompressedVideo, foxglove.CompressedVideo */
    TW_ROS2_FLOAT64_ARRAY,    /* std_msgs/msg/Float64MultiArray */
    TW_ROS2_JOINT_TRAJECTORY, /* trajectory_msgs/msg/JointTrajectory */
    TW_ROS2_KIND_COUNT
} tw_ros2_kind;

const char *tw_ros2_kind_name(tw_ros2_kind k);
/* Kind of a compiled schema (computed once by tw_ros2_schema_parse). */
tw_ros2_kind tw_ros2_schema_kind(const tw_ros2_schema *s);
/* Kind of a decoded message: its schema's for CDR; for JSON by the object's structure.
 * type_name (may be NULL) only breaks the tie between foxglove CompressedImage and
 * CompressedVideo, whose fields are the same. */
tw_ros2_kind tw_ros2_msg_kind(const tw_ros2_msg *m, const char *type_name);

typedef struct {
    int64_t stamp_ns;                 /* header.stamp */
    size_t cap;                       /* in: capacity of each array below */
    double *position, *velocity, *effort; /* in: caller's arrays (NULL: not wanted) */
    size_t n_name, n_position, n_velocity, n_effort; /* out: lengths in the message */
} tw_ros2_joint_state;
/* Names: tw_ros2_get_string(m, "name[i]", ...). TW_ETOO_BIG when an array exceeds cap. */
int tw_ros2_read_joint_state(const tw_ros2_msg *m, tw_ros2_joint_state *js, char *err, size_t errsz);

typedef struct {
    int64_t stamp_ns;
    double force[3], torque[3]; /* x, y, z */
} tw_ros2_wrench;
int tw_ros2_read_wrench(const tw_ros2_msg *m, tw_ros2_wrench *w, char *err, size_t errsz);

typedef struct {
    int64_t stamp_ns;
    double orientation[4]; /* x, y, z, w */
    double angular_velocity[3], linear_acceleration[3];
    double orientation_cov[9], angular_velocity_cov[9], linear_acceleration_cov[9];
} tw_ros2_imu;
int tw_ros2_read_imu(const tw_ros2_msg *m, tw_ros2_imu *imu, char *err, size_t errsz);

typedef enum {
    TW_ROS2_FMT_OTHER = 0,
    TW_ROS2_FMT_JPEG,
    TW_ROS2_FMT_PNG,
    TW_ROS2_FMT_H264,
    TW_ROS2_FMT_H265,
    TW_ROS2_FMT_RGB8,
    TW_ROS2_FMT_BGR8,
    TW_ROS2_FMT_MONO8,
} tw_ros2_format;

typedef struct {
    int64_t stamp_ns;       /* header.stamp, or timestamp (foxglove) */
    tw_ros2_format format;  /* from `format` (compressed) or `encoding` (raw Image) */
    const char *format_str; /* the text as sent */
    const uint8_t *data;
    size_t len;
    uint32_t width, height, step; /* raw Image only (0 otherwise) */
} tw_ros2_frame;
/* CompressedImage, CompressedVideo or Image. A raw Image must be rgb8/bgr8/mono8
 * (TW_EUNSUPPORTED otherwise) with step >= width * pixel size and step * height <= len. */
int tw_ros2_read_frame(const tw_ros2_msg *m, tw_ros2_frame *f, char *err, size_t errsz);

/* foxglove.CompressedVideo in protobuf (message_encoding "protobuf"): timestamp, data (pointing
 * into buf) and format; format_str is "h264", "h265", "jpeg", "png" or "" for anything else. */
int tw_ros2_decode_pb_video(const uint8_t *buf, size_t len, tw_ros2_frame *f, char *err, size_t errsz);

typedef struct {
    int64_t time_from_start_ns;
    size_t cap;                  /* in: capacity of each array below */
    double *positions, *velocities, *accelerations, *effort; /* in: caller's arrays or NULL */
    size_t n_positions, n_velocities, n_accelerations, n_effort; /* out */
} tw_ros2_traj_point;
/* Point i of a JointTrajectory (count: tw_ros2_get_count(m, "points")). */
int tw_ros2_read_traj_point(const tw_ros2_msg *m, size_t i, tw_ros2_traj_point *p, char *err, size_t errsz);

/* ---- encoding (CDR little endian) and canonical schemas ---------------------------------- */

/* The ros2msg schema text (as rosbag2 writes it: main definition, then its dependencies) and
 * MCAP schema name ("sensor_msgs/msg/JointState") of a known kind; NULL for TW_ROS2_UNKNOWN. */
const char *tw_ros2_schema_text(tw_ros2_kind k, const char **type_name);

typedef struct {
    int64_t stamp_ns;
    const char *frame_id;       /* NULL means "" */
    size_t n;                   /* joints */
    const char *const *name;    /* n names, or NULL for an empty sequence; likewise below */
    const double *position, *velocity, *effort;
} tw_ros2_enc_joint_state;

typedef struct {
    int64_t stamp_ns;
    const char *frame_id;
    double force[3], torque[3];
} tw_ros2_enc_wrench;

typedef struct {
    size_t n;
    const double *data;
    const char *label; /* non-NULL: one layout dimension {label, n, n}; NULL: no dimension */
} tw_ros2_enc_f64_array;

typedef struct {
    int64_t stamp_ns;
    const char *frame_id;
    const char *format; /* "h264" */
    const uint8_t *data;
    size_t len;
} tw_ros2_enc_video;

/* Each writes the message with its encapsulation header into buf. *len receives the encoded
 * size; with buf NULL only the size is computed. TW_EFULL when cap is too small (nothing
 * useful in buf, *len = size needed); TW_EINVAL for a stamp outside int32 seconds. */
int tw_ros2_encode_joint_state(const tw_ros2_enc_joint_state *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                               size_t errsz);
int tw_ros2_encode_wrench(const tw_ros2_enc_wrench *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                          size_t errsz);
int tw_ros2_encode_f64_array(const tw_ros2_enc_f64_array *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                             size_t errsz);
int tw_ros2_encode_video(const tw_ros2_enc_video *in, uint8_t *buf, size_t cap, size_t *len, char *err,
                         size_t errsz);

#endif
