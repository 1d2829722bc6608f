/* Shared fixture of the tw_ros2 tests: golden vectors made at test time by real peers
 * (ros2_vectors.py: rosbags, mcap-ros2-support) in a directory of the build tree. */
#ifndef R2FX_H
#define R2FX_H

#include "tw_ros2.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char dir[1024]; /* this test's vector directory */
    json_t *names;  /* vectors.json: the names of the decode vectors */
} r2fx;

/* Runs `ros2_vectors.py gen` into $TW_ROS2_VECTORS/<test> and loads the vector list. */
int r2fx_gen(r2fx *fx, const char *test);
void r2fx_free(r2fx *fx);
/* Runs `ros2_vectors.py <cmd> <dir>`; returns its exit status. */
int r2fx_python(const r2fx *fx, const char *cmd);
json_t *r2fx_json(const r2fx *fx, const char *file);
uint8_t *r2fx_read(const r2fx *fx, const char *file, size_t *len);
int r2fx_write(const r2fx *fx, const char *file, const void *p, size_t n);
/* Runs a vector's checks ([{path, time|f64|i64|f64s|count|str|hex}]) on a decoded message;
 * prints each mismatch with `what` and returns how many there were. */
int r2fx_checks(const tw_ros2_msg *m, const json_t *checks, const char *what);
/* Decodes a vector's schema; the caller frees it. */
tw_ros2_schema *r2fx_schema(const json_t *vec);

#endif
