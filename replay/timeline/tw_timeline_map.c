/* The one --map of every command that reads episodes (tw replay, tw fuse, tw gap, sysid), and the stream
 * roles it decides: which stream is the joint state and which the action when an episode has several. */
#include <jansson.h>
#include <string.h>

#include "tw_timeline.h"

struct tw_map {
    json_t *streams, *axes; /* objects of strings (either may be empty) */
};

void tw_map_free(tw_map *m)
{
    if (!m)
        return;
    json_decref(m->streams);
    json_decref(m->axes);
    free(m);
}

static int check_section(const char *path, const char *key, json_t *v, char *msg, size_t msgsz)
{
    if (!json_is_object(v))
        return tw_errf(msg, msgsz, TW_ESCHEMA, "--map %s: '%s' must be an object", path, key);
    const char *k;
    json_t *s;
    json_object_foreach(v, k, s) {
        if (!json_is_string(s))
            return tw_errf(msg, msgsz, TW_ESCHEMA, "--map %s: %s.%s must be a string", path, key, k);
        if (!strcmp(key, "streams") && strcmp(json_string_value(s), "joint_state") &&
            strcmp(json_string_value(s), "action"))
            return tw_errf(msg, msgsz, TW_ESCHEMA, "--map %s: streams.%s must be \"joint_state\" or \"action\"",
                           path, k);
    }
    return 0;
}

/* A file of string values only, with neither section, is the flat form {"recorded": "model"}: axes. */
static int is_flat(json_t *j)
{
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) if (!json_is_string(v)) return 0;
    return json_object_get(j, "streams") == NULL && json_object_get(j, "axes") == NULL;
}

int tw_map_load(const char *path, tw_map **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (!path)
        return 0;
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return tw_errf(msg, msgsz, TW_EJSON, "--map %s: line %d: %s", path, je.line, je.text);
    tw_map *m = calloc(1, sizeof *m);
    int rc = m ? 0 : tw_errf(msg, msgsz, TW_ENOMEM, "--map %s", path);
    if (!rc && !json_is_object(j))
        rc = tw_errf(msg, msgsz, TW_ESCHEMA, "--map %s: expected a JSON object", path);
    if (!rc && is_flat(j)) {
        m->axes = json_incref(j);
    } else if (!rc) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if (strcmp(k, "streams") && strcmp(k, "axes")) {
                rc = tw_errf(msg, msgsz, TW_ESCHEMA, "--map %s: unknown key '%s' (streams, axes)", path, k);
                break;
            }
            if ((rc = check_section(path, k, v, msg, msgsz)))
                break;
        }
        if (!rc) {
            m->streams = json_incref(json_object_get(j, "streams"));
            m->axes = json_incref(json_object_get(j, "axes"));
        }
    }
    json_decref(j);
    if (rc) {
        tw_map_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

const char *tw_map_axis(const tw_map *m, const char *recorded)
{
    const char *v = m ? json_string_value(json_object_get(m->axes, recorded)) : NULL;
    return v ? v : recorded;
}

int tw_map_has_axis(const tw_map *m, const char *recorded)
{
    return m && json_object_get(m->axes, recorded) != NULL;
}

static const char *role_of(tw_kind kind) { return kind == TW_KIND_ACTION ? "action" : "joint_state"; }

int tw_map_find_role(const tw_map *m, const tw_stream_decl *const *decls, size_t n, tw_kind kind, int *out,
                     char *msg, size_t msgsz)
{
    int by_map = -1, by_kind = -1, nkind = 0;
    for (size_t i = 0; i < n; i++) {
        const char *r = m ? json_string_value(json_object_get(m->streams, decls[i]->name)) : NULL;
        if (r && !strcmp(r, role_of(kind)))
            by_map = (int)i;
        if (decls[i]->kind == kind && nkind++ == 0)
            by_kind = (int)i;
    }
    *out = by_map >= 0 ? by_map : by_kind;
    if (by_map < 0 && nkind > 1)
        return tw_errf(msg, msgsz, TW_EMISMATCH, "%d %s streams: name the one to use in --map "
                       "{\"streams\": {\"NAME\": \"%s\"}}", nkind, tw_kind_name(kind), role_of(kind));
    return 0;
}

int tw_timeline_roles(const tw_align *a, const tw_map *m, tw_roles *r, char *msg, size_t msgsz)
{
    const tw_align_info *in = tw_align_get_info(a);
    const tw_stream_decl *d[TW_ALIGN_MAX_STREAMS];
    for (size_t i = 0; i < in->nstreams; i++)
        d[i] = in->streams[i].decl;
    int rc = tw_map_find_role(m, d, in->nstreams, TW_KIND_JOINT_STATE, &r->js, msg, msgsz);
    if (!rc)
        rc = tw_map_find_role(m, d, in->nstreams, TW_KIND_ACTION, &r->act, msg, msgsz);
    r->wr = tw_align_find(a, TW_KIND_WRENCH, NULL);
    r->obj = tw_align_find(a, TW_KIND_TENSOR, "object_state");
    r->ev = tw_align_find(a, TW_KIND_EVENT, NULL);
    return rc;
}
