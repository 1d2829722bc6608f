/* The builtin MJCF (internal to replay/): tw_robot_load(NULL, ...) loads it. */
#ifndef TW_BUILTIN_MODEL_H
#define TW_BUILTIN_MODEL_H
#include <stddef.h>
extern const char tw_builtin_model_xml[];
extern const size_t tw_builtin_model_len;
#endif
