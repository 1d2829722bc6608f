/* Strict, path-reporting getters and checked setters over jansson (see tw_msg_json.h). */
#include "tw_wire_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tw_j_typename(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

int tw_j_check_keys(const json_t *o, const char *path, const char *const *allowed, int strict, char *msg,
                    size_t msgsz)
{
    if (!strict)
        return 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (strncmp(key, "x_", 2) == 0)
            continue;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: unknown field '%.64s'", path, key);
    }
    return 0;
}

/* Looks up key; 1 = present, 0 = absent and optional, <0 = absent and required. */
static int lookup(const json_t *o, const char *path, const char *key, int required, json_t **v, char *msg,
                  size_t msgsz)
{
    *v = json_object_get(o, key);
    if (*v)
        return 1;
    return required ? tw_errf(msg, msgsz, TW_ESCHEMA, "%s: missing field '%s'", path, key) : 0;
}

static int wrong_type(const char *path, const char *key, const char *want, const json_t *v, char *msg,
                      size_t msgsz)
{
    return tw_errf(msg, msgsz, TW_ESCHEMA, "%s.%s: expected %s, got %s", path, key, want, tw_j_typename(v));
}

int tw_j_str(const json_t *o, const char *path, const char *key, int required, char *dst, size_t cap,
             char *msg, size_t msgsz)
{
    json_t *v;
    int rc = lookup(o, path, key, required, &v, msg, msgsz);
    if (rc <= 0)
        return rc;
    if (!json_is_string(v))
        return wrong_type(path, key, "string", v, msg, msgsz);
    size_t n = json_string_length(v);
    if (n >= cap)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s.%s: %zu bytes exceeds limit %zu", path, key, n, cap - 1);
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return 0;
}

int tw_j_int(const json_t *o, const char *path, const char *key, int required, int64_t lo, int64_t hi,
             int64_t *dst, char *msg, size_t msgsz)
{
    json_t *v;
    int rc = lookup(o, path, key, required, &v, msg, msgsz);
    if (rc <= 0)
        return rc;
    if (!json_is_integer(v))
        return wrong_type(path, key, "integer", v, msg, msgsz);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s.%s: %lld outside %lld..%lld", path, key, (long long)x,
                       (long long)lo, (long long)hi);
    *dst = x;
    return 0;
}

int tw_j_num(const json_t *o, const char *path, const char *key, int required, double *dst, char *msg,
             size_t msgsz)
{
    json_t *v;
    int rc = lookup(o, path, key, required, &v, msg, msgsz);
    if (rc <= 0)
        return rc;
    if (!json_is_number(v))
        return wrong_type(path, key, "number", v, msg, msgsz);
    *dst = json_number_value(v);
    return 0;
}

int tw_j_tristate(const json_t *o, const char *path, const char *key, int *dst, char *msg, size_t msgsz)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        *dst = -1;
    else if (json_is_boolean(v))
        *dst = json_is_true(v);
    else
        return wrong_type(path, key, "boolean or null", v, msg, msgsz);
    return 0;
}

int tw_j_obj_text(const json_t *o, const char *path, const char *key, int required, char *dst, size_t cap,
                  char *msg, size_t msgsz)
{
    json_t *v;
    int rc = lookup(o, path, key, required, &v, msg, msgsz);
    if (rc <= 0)
        return rc;
    if (!json_is_object(v))
        return wrong_type(path, key, "object", v, msg, msgsz);
    /* dumpb returns the length it needs even when dst is too small, so nothing is cut silently */
    size_t n = json_dumpb(v, dst, cap, JSON_COMPACT);
    if (n == 0)
        return tw_errf(msg, msgsz, TW_ENOMEM, "%s.%s: cannot serialise", path, key);
    if (n >= cap)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s.%s: %zu bytes of JSON exceeds limit %zu", path, key, n,
                       cap - 1);
    dst[n] = '\0';
    return 0;
}

int tw_j_array(const json_t *o, const char *path, const char *key, int required, size_t max, json_t **arr,
               char *msg, size_t msgsz)
{
    json_t *v;
    *arr = NULL;
    int rc = lookup(o, path, key, required, &v, msg, msgsz);
    if (rc <= 0)
        return rc;
    if (!json_is_array(v))
        return wrong_type(path, key, "array", v, msg, msgsz);
    if (json_array_size(v) > max)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s.%s: %zu entries exceeds limit %zu", path, key,
                       json_array_size(v), max);
    *arr = v;
    return 0;
}

/* ---- encoding ------------------------------------------------------------------- */
int tw_j_put(json_t *o, const char *key, json_t *v, char *msg, size_t msgsz)
{
    if (!v || json_object_set_new(o, key, v))
        return tw_errf(msg, msgsz, TW_ENOMEM, "encoding '%s': out of memory", key);
    return 0;
}

int tw_j_put_str(json_t *o, const char *key, const char *s, size_t cap, char *msg, size_t msgsz)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "encoding '%s': not NUL-terminated within %zu bytes", key, cap);
    size_t bad;
    if (!tw_utf8_valid(s, n, &bad))
        return tw_errf(msg, msgsz, TW_EUTF8, "encoding '%s': invalid UTF-8 at byte %zu", key, bad);
    return tw_j_put(o, key, json_stringn(s, n), msg, msgsz);
}

int tw_j_put_int(json_t *o, const char *key, int64_t v, char *msg, size_t msgsz)
{
    return tw_j_put(o, key, json_integer((json_int_t)v), msg, msgsz);
}

int tw_j_put_num(json_t *o, const char *key, double v, char *msg, size_t msgsz)
{
    if (!isfinite(v))
        return tw_errf(msg, msgsz, TW_EINVAL, "encoding '%s': %g is not a finite number", key, v);
    return tw_j_put(o, key, json_real(v), msg, msgsz);
}

int tw_j_put_obj_text(json_t *o, const char *key, const char *text, size_t cap, char *msg, size_t msgsz)
{
    size_t n = strnlen(text, cap);
    if (n == 0)
        return 0;
    if (n == cap)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "encoding '%s': not NUL-terminated within %zu bytes", key, cap);
    json_error_t je;
    json_t *v = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return tw_errf(msg, msgsz, TW_EJSON, "encoding '%s': %s at byte %d", key, je.text, je.position);
    if (!json_is_object(v)) {
        json_decref(v);
        return tw_errf(msg, msgsz, TW_ESCHEMA, "encoding '%s': must be a JSON object", key);
    }
    return tw_j_put(o, key, v, msg, msgsz);
}

int tw_j_parse_object(const char *text, size_t len, const char *what, json_t **out, char *msg, size_t msgsz)
{
    size_t bad;
    *out = NULL;
    if (len > TW_MAX_TEXT_MSG)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s of %zu bytes exceeds limit %u", what, len, TW_MAX_TEXT_MSG);
    if (!tw_utf8_valid(text, len, &bad))
        return tw_errf(msg, msgsz, TW_EUTF8, "%s: invalid UTF-8 at byte %zu", what, bad);
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return tw_errf(msg, msgsz, TW_EJSON, "%s: %s at line %d column %d (byte %d)", what, je.text, je.line,
                       je.column, je.position);
    if (!json_is_object(o)) {
        json_decref(o);
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: expected a JSON object at top level", what);
    }
    *out = o;
    return 0;
}
