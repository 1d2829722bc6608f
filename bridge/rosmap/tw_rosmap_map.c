/* The topic map (--topics JSON) and opening a topic: which stream kind a ROS 2 channel becomes. */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tw_rosmap_int.h"

typedef struct {
    char topic[256];
    char stream[TW_MAX_NAME];
    int kind; /* tw_kind, or -2 for "ignore" */
} rm_entry;

struct tw_rosmap {
    rm_entry *e;
    size_t n;
    int only_mapped;
};

#define RM_IGNORE (-2)

static int kind_from_text(const char *s)
{
    if (!strcmp(s, "ignore"))
        return RM_IGNORE;
    int k = tw_kind_from_name(s);
    if (k == TW_KIND_JOINT_STATE || k == TW_KIND_WRENCH || k == TW_KIND_IMU || k == TW_KIND_VIDEO ||
        k == TW_KIND_ACTION)
        return k;
    return -1;
}

static int load_entry(rm_entry *e, const char *path, const char *topic, json_t *v, char *err, size_t errsz)
{
    const char *kind = NULL, *stream = NULL;
    if (json_is_string(v))
        kind = json_string_value(v);
    else if (json_is_object(v)) {
        kind = json_string_value(json_object_get(v, "kind"));
        stream = json_string_value(json_object_get(v, "stream"));
    }
    if (!kind)
        return tw_errf(err, errsz, TW_ESCHEMA, "%s: topics.\"%s\": expected a kind or {\"kind\":..., \"stream\":...}",
                       path, topic);
    if ((e->kind = kind_from_text(kind)) == -1)
        return tw_errf(err, errsz, TW_EKIND,
                       "%s: topics.\"%s\": kind '%s' (joint_state, wrench, imu, video, action or ignore)", path,
                       topic, kind);
    if (strlen(topic) >= sizeof e->topic)
        return tw_errf(err, errsz, TW_ETOO_BIG, "%s: topic name too long: %.60s...", path, topic);
    snprintf(e->topic, sizeof e->topic, "%s", topic);
    if (stream) {
        tw_rosmap_stream_name(stream, e->stream, sizeof e->stream);
        if (strcmp(e->stream, stream))
            return tw_errf(err, errsz, TW_ESCHEMA, "%s: topics.\"%s\": stream name '%s' must match [A-Za-z0-9_.-]{1,63}",
                           path, topic, stream);
    } else
        tw_rosmap_stream_name(topic, e->stream, sizeof e->stream);
    return 0;
}

int tw_rosmap_load(const char *path, tw_rosmap **out, char *err, size_t errsz)
{
    *out = NULL;
    tw_rosmap *m = calloc(1, sizeof *m);
    if (!m)
        return tw_errf(err, errsz, TW_ENOMEM, "topic map: out of memory");
    if (!path) {
        *out = m;
        return 0;
    }
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    if (!root) {
        rc = tw_errf(err, errsz, TW_EJSON, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        goto fail;
    }
    json_t *topics = json_object_get(root, "topics");
    if (!json_is_object(topics)) {
        rc = tw_errf(err, errsz, TW_ESCHEMA, "%s: expected {\"topics\": {...}}", path);
        goto fail;
    }
    m->only_mapped = json_is_true(json_object_get(root, "only_mapped"));
    m->e = calloc(json_object_size(topics) + 1, sizeof *m->e);
    if (!m->e) {
        rc = tw_errf(err, errsz, TW_ENOMEM, "topic map: out of memory");
        goto fail;
    }
    const char *key;
    json_t *v;
    json_object_foreach(topics, key, v)
    {
        if ((rc = load_entry(&m->e[m->n], path, key, v, err, errsz)) < 0)
            goto fail;
        m->n++;
    }
    json_decref(root);
    *out = m;
    return 0;
fail:
    json_decref(root);
    tw_rosmap_free(m);
    return rc;
}

void tw_rosmap_free(tw_rosmap *m)
{
    if (!m)
        return;
    free(m->e);
    free(m);
}

static const rm_entry *find(const tw_rosmap *m, const char *topic)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (!strcmp(m->e[i].topic, topic))
            return &m->e[i];
    return NULL;
}

int tw_rosmap_names(const tw_rosmap *m, const char *topic) { return find(m, topic) != NULL; }

void tw_rosmap_stream_name(const char *topic, char *out, size_t outsz)
{
    size_t o = 0;
    while (*topic == '/')
        topic++;
    for (; *topic && o + 1 < outsz && o + 1 < TW_MAX_NAME; topic++) {
        unsigned char c = (unsigned char)*topic;
        out[o++] = (isalnum(c) || c == '_' || c == '-' || c == '.') ? (char)c : (c == '/' ? '.' : '_');
    }
    if (!o && outsz > 1)
        out[o++] = '_';
    out[o] = 0;
}

/* Compiles the channel's schema; JSON channels need none (their kind shows in the first message). */
static int open_decoder(tw_rostopic *t, const tw_rostopic_src *src, char *why, size_t whysz)
{
    const char *me = src->message_encoding ? src->message_encoding : "";
    int rc = tw_ros2_msg_open(NULL, &t->msg);
    if (rc < 0)
        return tw_errf(why, whysz, rc, "topic %s: out of memory", src->topic);
    if (!strcmp(me, "json")) {
        t->enc = RM_JSON;
        return 1;
    }
    if (!strcmp(me, "protobuf")) {
        if (strcmp(t->type_name, "foxglove.CompressedVideo"))
            return tw_errf(why, whysz, 0, "protobuf type %s is not read (only foxglove.CompressedVideo)",
                           t->type_name[0] ? t->type_name : "(none)");
        t->enc = RM_PB;
        t->kind = TW_ROS2_COMPRESSED_VIDEO;
        return 1;
    }
    if (strcmp(me, "cdr"))
        return tw_errf(why, whysz, 0, "message encoding '%s' is not read", me);
    if (src->schema_encoding && src->schema_encoding[0] && strcmp(src->schema_encoding, "ros2msg"))
        return tw_errf(why, whysz, 0, "schema encoding '%s' is not read (ros2msg only)", src->schema_encoding);
    char *text = malloc(src->schema_len + 1);
    if (!text)
        return tw_errf(why, whysz, TW_ENOMEM, "topic %s: out of memory", src->topic);
    memcpy(text, src->schema, src->schema_len);
    text[src->schema_len] = 0;
    char perr[512];
    rc = tw_ros2_schema_parse(text, t->type_name, &t->schema, perr, sizeof perr);
    free(text);
    if (rc < 0)
        return tw_errf(why, whysz, rc == TW_EUNSUPPORTED ? 0 : TW_ESCHEMA, "topic %s: schema %s does not parse: %s",
                       src->topic, t->type_name, perr);
    t->kind = tw_ros2_schema_kind(t->schema);
    if (t->kind == TW_ROS2_UNKNOWN)
        return tw_errf(why, whysz, 0, "type %s is not a kind teleworld maps", t->type_name);
    return 1;
}

int tw_rostopic_open(const tw_rosmap *m, const tw_rostopic_src *src, unsigned flags, tw_rostopic **out,
                     char *why, size_t whysz)
{
    *out = NULL;
    const rm_entry *e = find(m, src->topic);
    if (e && e->kind == RM_IGNORE)
        return tw_errf(why, whysz, 0, "ignored by the topic map");
    if (!e && m && m->only_mapped)
        return tw_errf(why, whysz, 0, "not in the topic map");
    tw_rostopic *t = calloc(1, sizeof *t);
    if (!t)
        return tw_errf(why, whysz, TW_ENOMEM, "topic %s: out of memory", src->topic);
    snprintf(t->topic, sizeof t->topic, "%s", src->topic);
    snprintf(t->type_name, sizeof t->type_name, "%s", src->type_name ? src->type_name : "");
    t->want = e ? e->kind : -1;
    t->flags = flags;
    if (e)
        snprintf(t->decl.name, sizeof t->decl.name, "%s", e->stream);
    else
        tw_rosmap_stream_name(src->topic, t->decl.name, sizeof t->decl.name);
    int rc = open_decoder(t, src, why, whysz);
    if (rc == 1 && t->kind != TW_ROS2_UNKNOWN && t->want >= 0 && !rm_kind_fits(t->kind, t->want))
        rc = tw_errf(why, whysz, TW_EMISMATCH, "topic %s: the map says %s but its type %s is a %s", src->topic,
                     tw_kind_name((tw_kind)t->want), t->type_name, tw_ros2_kind_name(t->kind));
    if (rc == 1 && e == NULL && t->kind != TW_ROS2_UNKNOWN && (int)rm_default_kind(t->kind) < 0)
        rc = tw_errf(why, whysz, 0, "type %s is not mapped by default", t->type_name);
    if (rc != 1) {
        if (rc == 0 && e) /* the map asked for this topic: not being able to read it is an error */
            rc = TW_EUNSUPPORTED;
        tw_rostopic_close(t);
        return rc;
    }
    *out = t;
    return 1;
}

void tw_rostopic_close(tw_rostopic *t)
{
    if (!t)
        return;
    tw_ros2_schema_free(t->schema);
    tw_ros2_msg_close(t->msg);
    free(t->pix);
    free(t);
}

const char *tw_rostopic_topic(const tw_rostopic *t) { return t->topic; }
tw_ros2_kind tw_rostopic_kind(const tw_rostopic *t) { return t->kind; }
const tw_stream_decl *tw_rostopic_decl(const tw_rostopic *t) { return t->have_decl ? &t->decl : NULL; }
