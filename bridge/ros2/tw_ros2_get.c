/* The message handle and the path getters. Each getter answers from whichever backing the last
 * decode filled: the CDR node tree (tw_ros2_cdr.c) or the JSON tree (tw_ros2_json.c). */
#include "tw_ros2_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tw_ros2_limits_init(tw_ros2_limits *lim)
{
    lim->max_nodes = 65536;
    lim->max_bytes = (size_t)64 << 20;
}

int tw_ros2_msg_open(const tw_ros2_limits *lim, tw_ros2_msg **out)
{
    if (!out) return TW_EINVAL;
    *out = NULL;
    tw_ros2_msg *m = calloc(1, sizeof *m);
    if (!m) return TW_ENOMEM;
    if (lim) m->lim = *lim;
    else tw_ros2_limits_init(&m->lim);
    /* node offsets and indices are 32-bit */
    if (m->lim.max_bytes > UINT32_MAX) m->lim.max_bytes = UINT32_MAX;
    if (m->lim.max_nodes > UINT32_MAX / 2) m->lim.max_nodes = UINT32_MAX / 2;
    if (m->lim.max_nodes < 1) m->lim.max_nodes = 1;
    m->nodes = malloc(m->lim.max_nodes * sizeof *m->nodes);
    if (!m->nodes) {
        free(m);
        return TW_ENOMEM;
    }
    *out = m;
    return 0;
}

void tw_ros2_msg_close(tw_ros2_msg *m)
{
    if (!m) return;
    json_decref(m->json);
    free(m->nodes);
    free(m->scratch);
    free(m);
}

/* A numeric scalar (or one element of a numeric array) in a CDR message. */
static int r2_cdr_scalar(const tw_ros2_msg *m, const char *path, int *prim, size_t *off)
{
    r2_ref r;
    int rc = r2_cdr_resolve(m, path, &r);
    if (rc < 0) return rc;
    if (!r.f || !r2_prim_size(r.f->prim) || (r.f->arr != R2_SCALAR && r.elem < 0)) return TW_EDTYPE;
    *prim = r.f->prim;
    *off = r.node->off + (size_t)(r.elem > 0 ? r.elem : 0) * r2_prim_size(r.f->prim);
    return 0;
}

int tw_ros2_get_f64(const tw_ros2_msg *m, const char *path, double *out)
{
    if (!m || !path || !out) return TW_EINVAL;
    if (m->json) {
        json_t *v = r2_json_resolve(m, path);
        if (!v) return TW_ENOT_FOUND;
        if (json_is_boolean(v)) *out = json_is_true(v);
        else if (json_is_number(v)) *out = json_number_value(v);
        else return TW_EDTYPE;
        return 0;
    }
    if (!m->schema) return TW_ESTATE;
    int prim, rc;
    size_t off;
    if ((rc = r2_cdr_scalar(m, path, &prim, &off)) < 0) return rc;
    *out = r2_cdr_f64(m, prim, off);
    return 0;
}

int tw_ros2_get_i64(const tw_ros2_msg *m, const char *path, int64_t *out)
{
    if (!m || !path || !out) return TW_EINVAL;
    if (m->json) {
        json_t *v = r2_json_resolve(m, path);
        if (!v) return TW_ENOT_FOUND;
        if (json_is_boolean(v)) *out = json_is_true(v);
        else if (json_is_integer(v)) *out = json_integer_value(v);
        else return TW_EDTYPE;
        return 0;
    }
    if (!m->schema) return TW_ESTATE;
    int prim, rc;
    size_t off;
    if ((rc = r2_cdr_scalar(m, path, &prim, &off)) < 0) return rc;
    if (!r2_prim_is_int(prim)) return TW_EDTYPE;
    bool ovf;
    *out = r2_cdr_i64(m, prim, off, &ovf);
    return ovf ? TW_ETOO_BIG : 0;
}

int tw_ros2_get_f64_array(const tw_ros2_msg *m, const char *path, double *buf, size_t cap, size_t *n)
{
    if (!m || !path || !n || (!buf && cap)) return TW_EINVAL;
    *n = 0;
    if (m->json) {
        json_t *v = r2_json_resolve(m, path);
        if (!v) return TW_ENOT_FOUND;
        if (!json_is_array(v)) return TW_EDTYPE;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_number(e) && !json_is_boolean(e)) return TW_EDTYPE;
            if (i < cap) buf[i] = json_is_boolean(e) ? json_is_true(e) : json_number_value(e);
        }
        *n = json_array_size(v);
        return *n > cap ? TW_ETOO_BIG : 0;
    }
    if (!m->schema) return TW_ESTATE;
    r2_ref r;
    int rc = r2_cdr_resolve(m, path, &r);
    if (rc < 0) return rc;
    size_t sz = r.f ? r2_prim_size(r.f->prim) : 0;
    if (!sz || r.f->arr == R2_SCALAR || r.elem >= 0) return TW_EDTYPE;
    *n = r.node->count;
    for (size_t i = 0; i < *n && i < cap; i++) buf[i] = r2_cdr_f64(m, r.f->prim, r.node->off + i * sz);
    return *n > cap ? TW_ETOO_BIG : 0;
}

int tw_ros2_get_count(const tw_ros2_msg *m, const char *path, size_t *n)
{
    if (!m || !path || !n) return TW_EINVAL;
    if (m->json) {
        json_t *v = r2_json_resolve(m, path);
        if (!v) return TW_ENOT_FOUND;
        if (json_is_array(v)) *n = json_array_size(v);
        else if (json_is_string(v)) *n = json_string_length(v);
        else return TW_EDTYPE;
        return 0;
    }
    if (!m->schema) return TW_ESTATE;
    r2_ref r;
    int rc = r2_cdr_resolve(m, path, &r);
    if (rc < 0) return rc;
    if (!r.f || r.elem >= 0) return TW_EDTYPE;
    bool array = r.f->arr != R2_SCALAR && !r.element;
    if (!array && r.f->prim != R2_STRING) return TW_EDTYPE;
    *n = r.node->count;
    return 0;
}

/* path + "." + leaf ("" path: the leaf alone). */
static int r2_join(char *out, size_t cap, const char *path, const char *leaf)
{
    int w = snprintf(out, cap, "%s%s%s", path, *path ? "." : "", leaf);
    return w < 0 || (size_t)w >= cap ? TW_EINVAL : 0;
}

int tw_ros2_get_time(const tw_ros2_msg *m, const char *path, int64_t *ns)
{
    if (!m || !path || !ns) return TW_EINVAL;
    char p[512];
    int64_t sec, nsec;
    int rc = r2_join(p, sizeof p, path, "sec");
    if (rc == 0) rc = tw_ros2_get_i64(m, p, &sec);
    if (rc < 0) return rc == TW_ENOT_FOUND && !tw_ros2_has(m, path) ? TW_ENOT_FOUND : rc == TW_ENOT_FOUND ? TW_EDTYPE : rc;
    if ((rc = r2_join(p, sizeof p, path, "nanosec")) < 0) return rc;
    rc = tw_ros2_get_i64(m, p, &nsec);
    if (rc == TW_ENOT_FOUND) {
        if ((rc = r2_join(p, sizeof p, path, "nsec")) < 0) return rc;
        rc = tw_ros2_get_i64(m, p, &nsec);
    }
    if (rc < 0) return rc == TW_ENOT_FOUND ? TW_EDTYPE : rc;
    if (sec > INT64_MAX / 1000000000 - 1 || sec < INT64_MIN / 1000000000 + 1 || nsec < 0 || nsec > UINT32_MAX)
        return TW_ETOO_BIG;
    *ns = sec * 1000000000 + nsec;
    return 0;
}

int tw_ros2_get_bytes(const tw_ros2_msg *m, const char *path, const uint8_t **ptr, size_t *len)
{
    if (!m || !path || !ptr || !len) return TW_EINVAL;
    if (m->json) {
        json_t *v = r2_json_resolve(m, path);
        if (!v) return TW_ENOT_FOUND;
        /* the decoded bytes live in the message's scratch buffer, a cache of the JSON tree */
        return r2_json_bytes((tw_ros2_msg *)m, v, ptr, len);
    }
    if (!m->schema) return TW_ESTATE;
    r2_ref r;
    int rc = r2_cdr_resolve(m, path, &r);
    if (rc < 0) return rc;
    if (!r.f || r.f->arr == R2_SCALAR || r.elem >= 0 || r2_prim_size(r.f->prim) != 1 || r.f->prim == R2_BOOL)
        return TW_EDTYPE;
    *ptr = m->buf + r.node->off;
    *len = r.node->count;
    return 0;
}

int tw_ros2_get_string(const tw_ros2_msg *m, const char *path, const char **s, size_t *len)
{
    if (!m || !path || !s || !len) return TW_EINVAL;
    if (m->json) {
        json_t *v = r2_json_resolve(m, path);
        if (!v) return TW_ENOT_FOUND;
        if (!json_is_string(v)) return TW_EDTYPE;
        *s = json_string_value(v);
        *len = json_string_length(v);
        return 0;
    }
    if (!m->schema) return TW_ESTATE;
    r2_ref r;
    int rc = r2_cdr_resolve(m, path, &r);
    if (rc < 0) return rc;
    if (!r.f || r.f->prim != R2_STRING || (r.f->arr != R2_SCALAR && !r.element)) return TW_EDTYPE;
    /* a non-empty CDR string was checked to end in NUL; an empty one may carry no byte at all */
    *s = r.node->count ? (const char *)m->buf + r.node->off : "";
    *len = r.node->count;
    return 0;
}

int tw_ros2_has(const tw_ros2_msg *m, const char *path)
{
    if (!m || !path) return 0;
    if (m->json) return r2_json_resolve(m, path) != NULL;
    if (!m->schema) return 0;
    r2_ref r;
    return r2_cdr_resolve(m, path, &r) == 0;
}
