/* tw_ros2 internals shared by its .c files: the compiled schema (types and fields in flat
 * tables), the decoded-message node tree, and the path walker. */
#ifndef TW_ROS2_INT_H
#define TW_ROS2_INT_H

#include "tw_ros2.h"
#include "tw_core.h"

#include <jansson.h>
#include <stdbool.h>

#define R2_NAME_MAX 64   /* field names */
#define R2_TYPE_MAX 128  /* "pkg/Type" */
#define R2_MAX_TYPES 256
#define R2_MAX_FIELDS 4096
#define R2_MAX_DEPTH 32  /* struct nesting */
#define R2_MAX_TEXT (1u << 20)

typedef enum {
    R2_BOOL = 1, R2_BYTE, R2_CHAR, R2_INT8, R2_UINT8, R2_INT16, R2_UINT16, R2_INT32, R2_UINT32,
    R2_INT64, R2_UINT64, R2_FLOAT32, R2_FLOAT64, R2_STRING, R2_STRUCT
} r2_prim;

typedef enum { R2_SCALAR = 0, R2_FIXED, R2_SEQ } r2_arr;

typedef struct {
    char name[R2_NAME_MAX];
    uint8_t prim;       /* r2_prim */
    uint8_t arr;        /* r2_arr */
    uint32_t count;     /* R2_FIXED: length; R2_SEQ: bound (0 = unbounded) */
    uint32_t str_bound; /* string<=N (0 = unbounded) */
    int32_t sub;        /* R2_STRUCT: index into types */
} r2_field;

typedef struct {
    char name[R2_TYPE_MAX]; /* "pkg/Type" */
    int32_t first, nfields; /* slice of fields */
    uint64_t min_size;      /* fewest wire bytes one instance can take (saturating) */
} r2_type;

struct tw_ros2_schema {
    r2_type *types;
    r2_field *fields;
    int ntypes, nfields;
    int root;
    tw_ros2_kind kind;
};

/* One decoded value. Scalar: off = byte offset. Primitive array: off of element 0, count.
 * String: off of its bytes, count = length without NUL. String/struct array: count elements,
 * child = first of `count` nodes. Struct: child = first of its nfields nodes. */
typedef struct {
    uint32_t off, count, child;
} r2_node;

struct tw_ros2_msg {
    tw_ros2_limits lim;
    /* CDR */
    const tw_ros2_schema *schema; /* NULL when nothing decoded or JSON */
    const uint8_t *buf;
    size_t len;
    bool big_endian;
    r2_node *nodes;
    size_t nnodes;
    /* JSON */
    json_t *json;
    uint8_t *scratch; /* decoded base64 / byte arrays, grown up to lim.max_bytes */
    size_t scratch_cap;
};

/* Width in bytes of a primitive on the wire (0 for string and struct). */
size_t r2_prim_size(int prim);
const char *r2_prim_name(int prim);
bool r2_prim_is_int(int prim);

/* A resolved path in a CDR message: the field, the node, and for a single element of a
 * primitive array its index (elem >= 0). A path ending at the root struct has f == NULL. */
typedef struct {
    const r2_field *f;
    const r2_node *node;
    int64_t elem;
    bool element; /* node is one element of a string or struct array */
    int type; /* struct type index when the value is a struct (root or element), else -1 */
} r2_ref;

int r2_cdr_resolve(const tw_ros2_msg *m, const char *path, r2_ref *ref);
/* Reads element i (0 for scalars) of a numeric primitive at byte offset off. */
double r2_cdr_f64(const tw_ros2_msg *m, int prim, size_t off);
int64_t r2_cdr_i64(const tw_ros2_msg *m, int prim, size_t off, bool *overflow);

/* JSON side of the getters (tw_ros2_json.c). */
json_t *r2_json_resolve(const tw_ros2_msg *m, const char *path);
int r2_json_bytes(tw_ros2_msg *m, json_t *v, const uint8_t **ptr, size_t *len);

/* Probing a path for classification, without data: what kind of value sits there. */
typedef enum { R2C_NONE = 0, R2C_NUM, R2C_STR, R2C_TIME, R2C_NUM_ARR, R2C_STR_ARR, R2C_BYTES, R2C_OBJ_ARR,
               R2C_OBJ, R2C_EMPTY_ARR } r2_class;
r2_class r2_schema_probe(const tw_ros2_schema *s, const char *path);
r2_class r2_json_probe(const json_t *root, const char *path);
/* lenient: JSON, where bytes may be a base64 string or a number array. */
tw_ros2_kind r2_classify(const void *obj, r2_class (*probe)(const void *, const char *), const char *type_name,
                         bool lenient);

/* Path segment iterator: name and optional [index] ("points[2]"). */
typedef struct {
    const char *p;
    char name[R2_NAME_MAX];
    int64_t index; /* -1 when absent */
} r2_path;
/* 1 = a segment was read, 0 = end of path, negative = malformed path. */
int r2_path_next(r2_path *it);

#endif
