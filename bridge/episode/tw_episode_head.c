/* The journal's first record: episode info and stream declarations as one JSON object
 * (schemas/episode.md, "The journal"). Declarations use the wire codec's JSON form. */
#include "tw_episode_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int add_json_text(json_t *o, const char *key, const char *text, char *msg, size_t msgsz)
{
    if (!text || !*text)
        return json_object_set_new(o, key, json_null()) ? TW_ENOMEM : 0;
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        return tw_errf(msg, msgsz, TW_EJSON, "episode %s: not a JSON object (%s)", key, v ? "wrong type" : e.text);
    }
    return json_object_set_new(o, key, v) ? TW_ENOMEM : 0;
}

static json_t *str_or_empty(const char *s) { return json_string(s ? s : ""); }

int tw_episode_head_encode(const tw_episode_info *info, const tw_stream_decl *decls, size_t n,
                           char **out, char *msg, size_t msgsz)
{
    *out = NULL;
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:i, s:i}",
                          "format", TW_EPISODE_FORMAT, "format_version", TW_EPISODE_VERSION_STR,
                          "episode_id", str_or_empty(info->episode_id), "session_id", str_or_empty(info->session_id),
                          "task", str_or_empty(info->task), "operator", str_or_empty(info->operator_),
                          "robot", str_or_empty(info->robot), "domain", str_or_empty(info->domain ? info->domain : "real"),
                          "software_version", str_or_empty(info->software_version),
                          "started_ns", (json_int_t)info->started_ns, "compression", info->compression,
                          "chunk_samples", (int)info->chunk_samples);
    json_t *arr = json_array();
    int rc = (!o || !arr) ? tw_errf(msg, msgsz, TW_ENOMEM, "episode head") : 0;
    if (!rc)
        rc = add_json_text(o, "metadata", info->metadata_json, msg, msgsz);
    if (!rc)
        rc = add_json_text(o, "sim_params", info->sim_params_json, msg, msgsz);
    for (size_t i = 0; !rc && i < n; i++) {
        char *t = NULL;
        rc = tw_decl_to_json(&decls[i], &t);
        json_t *d = rc ? NULL : json_loads(t, 0, NULL);
        free(t);
        if (!rc && !d)
            rc = TW_EJSON;
        if (rc)
            rc = tw_errf(msg, msgsz, rc, "episode: declaration of stream %s", decls[i].name);
        else
            json_array_append_new(arr, d);
    }
    if (!rc) {
        json_object_set_new(o, "streams", arr);
        arr = NULL;
        *out = json_dumps(o, JSON_COMPACT);
        if (!*out)
            rc = tw_errf(msg, msgsz, TW_ENOMEM, "episode head");
    }
    json_decref(arr);
    json_decref(o);
    return rc;
}

static const char *get_s(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

int tw_episode_head_decode(const uint8_t *p, size_t len, tw_episode_info *info, tw_stream_decl **decls,
                           size_t *n, void **json_keep, char *msg, size_t msgsz)
{
    *decls = NULL;
    *n = 0;
    *json_keep = NULL;
    json_error_t e;
    json_t *o = json_loadb((const char *)p, len, 0, &e);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return tw_errf(msg, msgsz, TW_EJSON, "journal head: %s", o ? "not an object" : e.text);
    }
    const char *ver = get_s(o, "format_version");
    if (strcmp(get_s(o, "format"), TW_EPISODE_FORMAT) != 0 || atoi(ver) != TW_EPISODE_MAJOR) {
        json_decref(o);
        return tw_errf(msg, msgsz, TW_EVERSION, "journal head: format %s version %s, this build reads %s %d.x",
                       get_s(o, "format"), ver, TW_EPISODE_FORMAT, TW_EPISODE_MAJOR);
    }
    tw_episode_info_init(info);
    info->episode_id = get_s(o, "episode_id");
    info->session_id = get_s(o, "session_id");
    info->task = get_s(o, "task");
    info->operator_ = get_s(o, "operator");
    info->robot = get_s(o, "robot");
    info->domain = get_s(o, "domain");
    info->software_version = get_s(o, "software_version");
    info->started_ns = (int64_t)json_integer_value(json_object_get(o, "started_ns"));
    info->compression = (int)json_integer_value(json_object_get(o, "compression"));
    info->chunk_samples = (uint32_t)json_integer_value(json_object_get(o, "chunk_samples"));
    json_t *arr = json_object_get(o, "streams");
    size_t cnt = json_array_size(arr);
    if (!json_is_array(arr) || cnt > TW_MAX_STREAMS) {
        json_decref(o);
        return tw_errf(msg, msgsz, TW_ESCHEMA, "journal head: bad stream list");
    }
    tw_stream_decl *d = calloc(cnt ? cnt : 1, sizeof *d);
    if (!d) {
        json_decref(o);
        return tw_errf(msg, msgsz, TW_ENOMEM, "journal head");
    }
    for (size_t i = 0; i < cnt; i++) {
        char *t = json_dumps(json_array_get(arr, i), JSON_COMPACT);
        int rc = t ? tw_decl_from_json(t, strlen(t), &d[i], msg, msgsz) : TW_ENOMEM;
        free(t);
        if (rc) {
            free(d);
            json_decref(o);
            return rc;
        }
    }
    *decls = d;
    *n = cnt;
    *json_keep = o;
    return 0;
}
