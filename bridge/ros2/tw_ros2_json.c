/* JSON-encoded channels (MCAP message_encoding "json", Foxglove's JSON): the same paths on a
 * jansson tree. Byte fields arrive as base64 strings (Foxglove) or arrays of 0..255; they are
 * decoded into one scratch buffer that never grows past tw_ros2_limits.max_bytes. */
#include "tw_ros2_int.h"

#include <stdlib.h>
#include <string.h>

int tw_ros2_decode_json(tw_ros2_msg *m, const char *json, size_t len, char *err, size_t errsz)
{
    if (!m || (!json && len)) return tw_errf(err, errsz, TW_EINVAL, "json: NULL argument");
    json_decref(m->json);
    m->json = NULL, m->schema = NULL, m->nnodes = 0;
    if (len > m->lim.max_bytes)
        return tw_errf(err, errsz, TW_ETOO_BIG, "json: message of %zu bytes exceeds the limit %zu", len, m->lim.max_bytes);
    json_error_t je;
    json_t *root = json_loadb(json ? json : "", len, 0, &je);
    if (!root)
        return tw_errf(err, errsz, TW_EJSON, "json at byte %d (line %d, column %d): %s", je.position, je.line,
                       je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return tw_errf(err, errsz, TW_EJSON, "json at byte 0: message is not an object");
    }
    m->json = root;
    return 0;
}

json_t *r2_json_resolve(const tw_ros2_msg *m, const char *path)
{
    json_t *v = m->json;
    r2_path it = {.p = path};
    int rc;
    while (v && (rc = r2_path_next(&it)) == 1) {
        v = json_is_object(v) ? json_object_get(v, it.name) : NULL;
        if (v && it.index >= 0) v = json_is_array(v) ? json_array_get(v, (size_t)it.index) : NULL;
    }
    return v && rc == 0 ? v : NULL;
}

static int r2_scratch(tw_ros2_msg *m, size_t need)
{
    if (need > m->lim.max_bytes) return TW_ETOO_BIG;
    if (need <= m->scratch_cap) return 0;
    uint8_t *p = realloc(m->scratch, need ? need : 1);
    if (!p) return TW_ENOMEM;
    m->scratch = p, m->scratch_cap = need;
    return 0;
}

static int r2_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62; /* '-' and '_': the URL-safe alphabet */
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional. */
static int r2_b64_decode(tw_ros2_msg *m, const char *s, size_t n, size_t *out_len)
{
    while (n && s[n - 1] == '=') n--;
    if (n % 4 == 1) return TW_EJSON;
    int rc = r2_scratch(m, n / 4 * 3 + 3);
    if (rc < 0) return rc;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = r2_b64_value((unsigned char)s[i]);
        if (v < 0) return TW_EJSON;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            m->scratch[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = o;
    return 0;
}

int r2_json_bytes(tw_ros2_msg *m, json_t *v, const uint8_t **ptr, size_t *len)
{
    int rc;
    if (json_is_string(v)) {
        if ((rc = r2_b64_decode(m, json_string_value(v), json_string_length(v), len)) < 0) return rc;
    } else if (json_is_array(v)) {
        size_t n = json_array_size(v), i;
        json_t *e;
        if ((rc = r2_scratch(m, n)) < 0) return rc;
        json_array_foreach(v, i, e) {
            json_int_t b = json_is_integer(e) ? json_integer_value(e) : -1;
            if (b < 0 || b > 255) return TW_EDTYPE;
            m->scratch[i] = (uint8_t)b;
        }
        *len = n;
    } else {
        return TW_EDTYPE;
    }
    *ptr = m->scratch ? m->scratch : (const uint8_t *)"";
    return 0;
}

static r2_class r2_json_class(const json_t *v)
{
    if (json_is_number(v) || json_is_boolean(v)) return R2C_NUM;
    if (json_is_string(v)) return R2C_STR;
    if (json_is_object(v)) {
        bool t = json_is_number(json_object_get(v, "sec")) &&
                 (json_is_number(json_object_get(v, "nanosec")) || json_is_number(json_object_get(v, "nsec")));
        return t ? R2C_TIME : R2C_OBJ;
    }
    if (!json_is_array(v)) return R2C_NONE;
    if (json_array_size(v) == 0) return R2C_EMPTY_ARR;
    switch (r2_json_class(json_array_get(v, 0))) {
    case R2C_NUM: return R2C_NUM_ARR;
    case R2C_STR: return R2C_STR_ARR;
    case R2C_TIME: case R2C_OBJ: return R2C_OBJ_ARR;
    default: return R2C_NONE;
    }
}

r2_class r2_json_probe(const json_t *root, const char *path)
{
    const json_t *v = root;
    r2_path it = {.p = path};
    int rc;
    while ((rc = r2_path_next(&it)) == 1) {
        v = json_is_object(v) ? json_object_get(v, it.name) : NULL;
        if (!v) return R2C_NONE;
        if (it.index < 0) continue;
        if (!json_is_array(v)) return R2C_NONE;
        if ((size_t)it.index >= json_array_size(v)) /* nothing to look at: compatible with any spec */
            return json_array_size(v) == 0 ? R2C_EMPTY_ARR : R2C_NONE;
        v = json_array_get(v, (size_t)it.index);
    }
    return rc == 0 ? r2_json_class(v) : R2C_NONE;
}
