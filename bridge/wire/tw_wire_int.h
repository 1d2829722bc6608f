/* Internal: strict typed access to jansson objects for the control-message codec.
 * Every getter names the JSON path in its error ("hello.streams[2].rate_hz: expected
 * number, got string") so a peer learns exactly what it sent wrong. */
#ifndef TW_MSG_JSON_H
#define TW_MSG_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "tw_wire.h"

enum { TW_J_OPTIONAL = 0, TW_J_REQUIRED = 1 };

const char *tw_j_typename(const json_t *v);
/* Checks size (TW_MAX_TEXT_MSG), UTF-8 and JSON syntax (duplicate keys refused) of untrusted text and
 * returns its top-level object (new reference) in *out; `what` names the text in messages. */
int tw_j_parse_object(const char *text, size_t len, const char *what, json_t **out, char *msg, size_t msgsz);
/* Rejects keys not in the NULL-terminated list `allowed` when strict; keys that start
 * with "x_" (extensions) are always ignored. */
int tw_j_check_keys(const json_t *o, const char *path, const char *const *allowed, int strict, char *msg,
                    size_t msgsz);
/* Each getter leaves *dst untouched when the key is absent and optional, and returns 0. */
int tw_j_str(const json_t *o, const char *path, const char *key, int required, char *dst, size_t cap,
             char *msg, size_t msgsz);
int tw_j_int(const json_t *o, const char *path, const char *key, int required, int64_t lo, int64_t hi,
             int64_t *dst, char *msg, size_t msgsz);
int tw_j_num(const json_t *o, const char *path, const char *key, int required, double *dst, char *msg,
             size_t msgsz);
/* true -> 1, false -> 0, null or absent -> -1 */
int tw_j_tristate(const json_t *o, const char *path, const char *key, int *dst, char *msg, size_t msgsz);
/* A JSON object value, re-serialised compactly into dst (capacity cap incl. NUL). */
int tw_j_obj_text(const json_t *o, const char *path, const char *key, int required, char *dst, size_t cap,
                  char *msg, size_t msgsz);
/* The array at key (NULL when absent and optional) with its size checked against max. */
int tw_j_array(const json_t *o, const char *path, const char *key, int required, size_t max,
               json_t **arr, char *msg, size_t msgsz);

/* Encoding side. Strings must be NUL-terminated within cap and valid UTF-8. */
int tw_j_put_str(json_t *o, const char *key, const char *s, size_t cap, char *msg, size_t msgsz);
int tw_j_put_int(json_t *o, const char *key, int64_t v, char *msg, size_t msgsz);
int tw_j_put_num(json_t *o, const char *key, double v, char *msg, size_t msgsz);
/* Embeds JSON object text (skipped when empty). */
int tw_j_put_obj_text(json_t *o, const char *key, const char *text, size_t cap, char *msg, size_t msgsz);
/* Takes ownership of v (NULL means allocation failed). */
int tw_j_put(json_t *o, const char *key, json_t *v, char *msg, size_t msgsz);

/* Stream declarations as jansson objects (tw_msg_decl.c). */
int tw_decl_from_jobj(const json_t *o, const char *path, tw_stream_decl *d, char *msg, size_t msgsz);
int tw_decl_to_jobj(const tw_stream_decl *d, json_t **out, char *msg, size_t msgsz);

/* Server->client and ping/pong message bodies (tw_msg_server.c). */
int tw_msg_decode_server(const json_t *o, tw_msg *m, char *msg, size_t msgsz);
int tw_msg_encode_server(const tw_msg *m, json_t *o, char *msg, size_t msgsz);

#endif
