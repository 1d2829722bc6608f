/* teleworld error codes: one table generates the enum, tw_strerror() and tw_err_name(). */
#ifndef TW_ERR_H
#define TW_ERR_H

#include <stddef.h>

/* XX(name, value, description) */
#define TW_ERRNO_MAP(XX)                                                     \
    XX(OK, 0, "success")                                                     \
    XX(INVAL, -1, "invalid argument")                                        \
    XX(NOMEM, -2, "out of memory")                                           \
    XX(IO, -3, "input/output error")                                         \
    XX(TRUNCATED, -4, "message truncated")                                   \
    XX(TOO_BIG, -5, "message or field exceeds a size limit")                 \
    XX(BAD_MAGIC, -6, "not a teleworld frame or file")                       \
    XX(VERSION, -7, "unsupported format or protocol version")                \
    XX(JSON, -8, "malformed JSON")                                           \
    XX(SCHEMA, -9, "message does not match the schema")                      \
    XX(UTF8, -10, "invalid UTF-8")                                           \
    XX(UNKNOWN_STREAM, -11, "unknown stream id")                             \
    XX(DUP_STREAM, -12, "duplicate stream id or name")                       \
    XX(DTYPE, -13, "wrong or unknown dtype")                                 \
    XX(SHAPE, -14, "payload size does not match the declared shape")         \
    XX(KIND, -15, "unknown stream kind")                                     \
    XX(STATE, -16, "message not allowed in the current state")               \
    XX(AUTH, -17, "authentication failed")                                   \
    XX(CONNECT, -18, "connection failed")                                    \
    XX(CLOSED, -19, "connection closed")                                     \
    XX(TIMEOUT, -20, "timed out")                                            \
    XX(FULL, -21, "queue or buffer full")                                    \
    XX(NOSPACE, -22, "no space left on device")                              \
    XX(HDF5, -23, "HDF5 error")                                              \
    XX(AV, -24, "FFmpeg error")                                              \
    XX(GST, -25, "GStreamer error")                                          \
    XX(MUJOCO, -26, "MuJoCo error")                                          \
    XX(NOT_FOUND, -27, "not found")                                          \
    XX(MISMATCH, -28, "names or features do not match")                     \
    XX(RATE_LIMIT, -29, "too many messages")                                 \
    XX(INTEGRITY, -30, "integrity check failed")                             \
    XX(UNSUPPORTED, -31, "not supported")                                    \
    XX(MPI, -32, "MPI error")                                                \
    XX(NUMERIC, -33, "numerical failure")

typedef enum {
#define TW_ERR_ENUM(name, val, desc) TW_E##name = (val),
    TW_ERRNO_MAP(TW_ERR_ENUM)
#undef TW_ERR_ENUM
} tw_err;

/* Static description of an error code ("unknown error" for values outside the table). */
const char *tw_strerror(int err);
/* Stable symbolic name, e.g. "TRUNCATED"; also the `code` used on the wire. */
const char *tw_err_name(int err);
/* Inverse of tw_err_name(); returns TW_EINVAL for an unknown name. */
int tw_err_from_name(const char *name);

/* Formats a message into buf (snprintf semantics, never overflows) and returns err,
 * so callers can write `return tw_errf(msg, msgsz, TW_EIO, "open %s: %s", p, strerror(errno));`.
 * A NULL buf is allowed and ignored. */
int tw_errf(char *buf, size_t bufsz, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
