/* Stream declaration <-> JSON (the objects inside hello.streams, also stored in episode
 * files). Field names: schemas/protocol.md "Stream declarations". */
#include "tw_wire_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const decl_keys[] = {"id", "name", "kind", "dtype", "shape", "axes", "units", "frame",
                                        "rate_hz", "encoding", "width", "height", NULL};

/* Looks a string field up in a name table; unknown names get the error code `bad`. */
static int enum_field(const json_t *o, const char *path, const char *key, int required,
                      int (*from_name)(const char *), int bad, int *dst, char *msg, size_t msgsz)
{
    char s[TW_MAX_NAME] = "";
    int rc = tw_j_str(o, path, key, required, s, sizeof s, msg, msgsz);
    if (rc || (!required && !json_object_get(o, key)))
        return rc;
    int v = from_name(s);
    if (v < 0)
        return tw_errf(msg, msgsz, bad, "%s.%s: unknown value '%s'", path, key, s);
    *dst = v;
    return 0;
}

/* "none" is the C default for non-video streams, never a value on the wire */
static int enc_from_wire_name(const char *s)
{
    int v = tw_video_enc_from_name(s);
    return v == TW_VIDEO_NONE ? -1 : v;
}

static int shape_from(const json_t *o, const char *path, tw_stream_decl *d, char *msg, size_t msgsz)
{
    json_t *arr;
    int rc = tw_j_array(o, path, "shape", TW_J_OPTIONAL, TW_MAX_DIMS, &arr, msg, msgsz);
    if (rc || !arr)
        return rc;
    d->ndim = (uint32_t)json_array_size(arr);
    for (size_t i = 0; i < d->ndim; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v))
            return tw_errf(msg, msgsz, TW_ESCHEMA, "%s.shape[%zu]: expected integer, got %s", path, i,
                           tw_j_typename(v));
        json_int_t x = json_integer_value(v);
        if (x < 1 || x > TW_MAX_ELEMS)
            return tw_errf(msg, msgsz, x < 1 ? TW_ESHAPE : TW_ETOO_BIG, "%s.shape[%zu]: %lld outside 1..%d",
                           path, i, (long long)x, TW_MAX_ELEMS);
        d->shape[i] = (uint32_t)x;
    }
    return 0;
}

static int axes_from(const json_t *o, const char *path, tw_stream_decl *d, char *msg, size_t msgsz)
{
    json_t *arr;
    int rc = tw_j_array(o, path, "axes", TW_J_OPTIONAL, TW_MAX_AXES, &arr, msg, msgsz);
    if (rc || !arr)
        return rc;
    d->naxes = (uint32_t)json_array_size(arr);
    for (size_t i = 0; i < d->naxes; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v))
            return tw_errf(msg, msgsz, TW_ESCHEMA, "%s.axes[%zu]: expected string, got %s", path, i,
                           tw_j_typename(v));
        size_t n = json_string_length(v);
        if (n >= TW_MAX_NAME)
            return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s.axes[%zu]: %zu bytes exceeds limit %d", path, i, n,
                           TW_MAX_NAME - 1);
        memcpy(d->axes[i], json_string_value(v), n + 1);
    }
    return 0;
}

int tw_decl_from_jobj(const json_t *o, const char *path, tw_stream_decl *d, char *msg, size_t msgsz)
{
    memset(d, 0, sizeof *d);
    if (!json_is_object(o))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "%s: expected object, got %s", path, tw_j_typename(o));
    int rc, kind = 0, dtype = 0, enc = TW_VIDEO_NONE;
    int64_t id = 0, w = 0, h = 0;
    if ((rc = tw_j_check_keys(o, path, decl_keys, 1, msg, msgsz)) ||
        (rc = tw_j_int(o, path, "id", TW_J_REQUIRED, 1, 65535, &id, msg, msgsz)) ||
        (rc = tw_j_str(o, path, "name", TW_J_REQUIRED, d->name, sizeof d->name, msg, msgsz)) ||
        (rc = enum_field(o, path, "kind", TW_J_REQUIRED, tw_kind_from_name, TW_EKIND, &kind, msg, msgsz)) ||
        (rc = enum_field(o, path, "dtype", TW_J_REQUIRED, tw_dtype_from_name, TW_EDTYPE, &dtype, msg, msgsz)) ||
        (rc = shape_from(o, path, d, msg, msgsz)) || (rc = axes_from(o, path, d, msg, msgsz)) ||
        (rc = tw_j_str(o, path, "units", TW_J_OPTIONAL, d->units, sizeof d->units, msg, msgsz)) ||
        (rc = tw_j_str(o, path, "frame", TW_J_OPTIONAL, d->frame, sizeof d->frame, msg, msgsz)) ||
        (rc = tw_j_num(o, path, "rate_hz", TW_J_REQUIRED, &d->rate_hz, msg, msgsz)) ||
        (rc = enum_field(o, path, "encoding", TW_J_OPTIONAL, enc_from_wire_name, TW_ESCHEMA, &enc, msg,
                         msgsz)) ||
        (rc = tw_j_int(o, path, "width", TW_J_OPTIONAL, 1, 16384, &w, msg, msgsz)) ||
        (rc = tw_j_int(o, path, "height", TW_J_OPTIONAL, 1, 16384, &h, msg, msgsz)))
        return rc;
    d->id = (uint16_t)id;
    d->kind = (tw_kind)kind;
    d->dtype = (tw_dtype)dtype;
    d->encoding = (tw_video_enc)enc;
    d->width = (uint32_t)w;
    d->height = (uint32_t)h;
    char sub[256];
    rc = tw_decl_validate(d, sub, sizeof sub);
    return rc ? tw_errf(msg, msgsz, rc, "%s: %s", path, sub) : 0;
}

static int shape_to(const tw_stream_decl *d, json_t *o, char *msg, size_t msgsz)
{
    json_t *shape = json_array(), *axes = d->naxes ? json_array() : NULL;
    int bad = !shape || (d->naxes && !axes);
    for (uint32_t i = 0; !bad && i < d->ndim; i++)
        bad = json_array_append_new(shape, json_integer(d->shape[i]));
    for (uint32_t i = 0; !bad && i < d->naxes; i++)
        bad = json_array_append_new(axes, json_string(d->axes[i]));
    int rc = tw_j_put(o, "shape", bad ? NULL : shape, msg, msgsz);
    if (rc)
        json_decref(shape);
    if (!rc && axes)
        rc = tw_j_put(o, "axes", bad ? NULL : axes, msg, msgsz);
    if (rc || bad)
        json_decref(axes);
    return rc;
}

int tw_decl_to_jobj(const tw_stream_decl *d, json_t **out, char *msg, size_t msgsz)
{
    *out = NULL;
    int rc = tw_decl_validate(d, msg, msgsz);
    if (rc)
        return rc;
    json_t *o = json_object();
    if (!o)
        return tw_errf(msg, msgsz, TW_ENOMEM, "out of memory");
    if ((rc = tw_j_put_int(o, "id", d->id, msg, msgsz)) ||
        (rc = tw_j_put_str(o, "name", d->name, sizeof d->name, msg, msgsz)) ||
        (rc = tw_j_put(o, "kind", json_string(tw_kind_name(d->kind)), msg, msgsz)) ||
        (rc = tw_j_put(o, "dtype", json_string(tw_dtype_name(d->dtype)), msg, msgsz)) ||
        (rc = shape_to(d, o, msg, msgsz)) ||
        (d->units[0] && (rc = tw_j_put_str(o, "units", d->units, sizeof d->units, msg, msgsz))) ||
        (d->frame[0] && (rc = tw_j_put_str(o, "frame", d->frame, sizeof d->frame, msg, msgsz))) ||
        (rc = tw_j_put_num(o, "rate_hz", d->rate_hz, msg, msgsz)))
        goto fail;
    if (d->kind == TW_KIND_VIDEO &&
        ((rc = tw_j_put(o, "encoding", json_string(tw_video_enc_name(d->encoding)), msg, msgsz)) ||
         (rc = tw_j_put_int(o, "width", d->width, msg, msgsz)) ||
         (rc = tw_j_put_int(o, "height", d->height, msg, msgsz))))
        goto fail;
    *out = o;
    return 0;
fail:
    json_decref(o);
    return rc;
}

int tw_decl_to_json(const tw_stream_decl *d, char **out)
{
    if (!out)
        return TW_EINVAL;
    *out = NULL;
    if (!d)
        return TW_EINVAL;
    json_t *o;
    int rc = tw_decl_to_jobj(d, &o, NULL, 0);
    if (rc)
        return rc;
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *out ? 0 : TW_ENOMEM;
}

int tw_decl_from_json(const char *text, size_t len, tw_stream_decl *out, char *msg, size_t msgsz)
{
    if (!text || !out)
        return tw_errf(msg, msgsz, TW_EINVAL, "NULL argument");
    json_t *o;
    int rc = tw_j_parse_object(text, len, "declaration", &o, msg, msgsz);
    if (rc)
        return rc;
    rc = tw_decl_from_jobj(o, "stream", out, msg, msgsz);
    json_decref(o);
    return rc;
}
