/* Compiles a ros2msg schema text into flat type/field tables (the decoder plan).
 * The text is split into sections first so that every `MSG:` name is known before any field
 * type is resolved; the three types every ROS 2 message leans on are built in for texts that
 * leave them out. */
#include "tw_ros2_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text; /* section body */
    size_t len;
    int line;         /* line number of the body's first line in the whole text (0: built in) */
} r2_section;

typedef struct {
    tw_ros2_schema *s;
    r2_section sec[R2_MAX_TYPES];
    char *err;
    size_t errsz;
} r2_parser;

static const struct {
    const char *name, *text;
} r2_builtins[] = {
    {"builtin_interfaces/Time", "int32 sec\nuint32 nanosec\n"},
    {"builtin_interfaces/Duration", "int32 sec\nuint32 nanosec\n"},
    {"std_msgs/Header", "builtin_interfaces/Time stamp\nstring frame_id\n"},
};

static const struct {
    const char *name;
    int prim;
} r2_prims[] = {
    {"bool", R2_BOOL},       {"byte", R2_BYTE},       {"char", R2_CHAR},       {"int8", R2_INT8},
    {"uint8", R2_UINT8},     {"int16", R2_INT16},     {"uint16", R2_UINT16},   {"int32", R2_INT32},
    {"uint32", R2_UINT32},   {"int64", R2_INT64},     {"uint64", R2_UINT64},   {"float32", R2_FLOAT32},
    {"float64", R2_FLOAT64}, {"string", R2_STRING},
};

size_t r2_prim_size(int prim)
{
    switch (prim) {
    case R2_BOOL: case R2_BYTE: case R2_CHAR: case R2_INT8: case R2_UINT8: return 1;
    case R2_INT16: case R2_UINT16: return 2;
    case R2_INT32: case R2_UINT32: case R2_FLOAT32: return 4;
    case R2_INT64: case R2_UINT64: case R2_FLOAT64: return 8;
    default: return 0;
    }
}

const char *r2_prim_name(int prim)
{
    for (size_t i = 0; i < sizeof r2_prims / sizeof r2_prims[0]; i++)
        if (r2_prims[i].prim == prim) return r2_prims[i].name;
    return prim == R2_STRUCT ? "struct" : "?";
}

bool r2_prim_is_int(int prim)
{
    return prim != R2_FLOAT32 && prim != R2_FLOAT64 && r2_prim_size(prim) > 0;
}

/* "pkg/msg/Type" -> "pkg/Type"; anything else is copied. 0, or -1 when it does not fit. */
static int r2_norm_name(const char *in, size_t n, char out[R2_TYPE_MAX])
{
    if (n >= R2_TYPE_MAX) return -1;
    memcpy(out, in, n);
    out[n] = '\0';
    char *m = strstr(out, "/msg/");
    if (m) memmove(m, m + 4, strlen(m + 4) + 1);
    return 0;
}

static int r2_find_type(const tw_ros2_schema *s, const char *name)
{
    for (int i = 0; i < s->ntypes; i++)
        if (strcmp(s->types[i].name, name) == 0) return i;
    return -1;
}

static int r2_add_type(r2_parser *p, const char *name, const char *text, size_t len, int line)
{
    tw_ros2_schema *s = p->s;
    if (s->ntypes >= R2_MAX_TYPES)
        return tw_errf(p->err, p->errsz, TW_ETOO_BIG, "schema: more than %d message definitions", R2_MAX_TYPES);
    if (r2_find_type(s, name) >= 0)
        return tw_errf(p->err, p->errsz, TW_ESCHEMA, "schema line %d: %s defined twice", line, name);
    r2_type *t = &s->types[s->ntypes];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    p->sec[s->ntypes] = (r2_section){text, len, line};
    return s->ntypes++;
}

static bool r2_is_sep_line(const char *l, size_t n)
{
    while (n && isspace((unsigned char)l[n - 1])) n--;
    if (n < 3) return false;
    for (size_t i = 0; i < n; i++)
        if (l[i] != '=') return false;
    return true;
}

/* Pass 1: section names and bodies. */
static int r2_split(r2_parser *p, const char *text, const char *root_name)
{
    const char *body = text, *l = text;
    int line = 1, body_line = 1;
    char name[R2_TYPE_MAX];
    snprintf(name, sizeof name, "%s", root_name);
    for (;;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (!nl || r2_is_sep_line(l, n)) {
            size_t blen = (size_t)((nl ? l : l + n) - body);
            int rc = r2_add_type(p, name, body, blen, body_line);
            if (rc < 0) return rc;
            if (!nl) return 0;
            /* the header line "MSG: pkg/Type" follows the separator */
            const char *h = nl + 1;
            line++;
            const char *hn = strchr(h, '\n');
            size_t hl = hn ? (size_t)(hn - h) : strlen(h);
            while (hl && isspace((unsigned char)h[hl - 1])) hl--;
            if (hl < 5 || strncmp(h, "MSG:", 4) != 0)
                return tw_errf(p->err, p->errsz, TW_ESCHEMA, "schema line %d: expected 'MSG: pkg/Type' after '===' line", line);
            const char *tn = h + 4;
            while (*tn == ' ' || *tn == '\t') tn++;
            if (r2_norm_name(tn, (size_t)(h + hl - tn), name) < 0 || !name[0])
                return tw_errf(p->err, p->errsz, TW_ESCHEMA, "schema line %d: bad MSG: type name", line);
            if (!hn) return tw_errf(p->err, p->errsz, TW_ESCHEMA, "schema line %d: MSG: %s has no body", line, name);
            l = body = hn + 1;
            body_line = ++line;
            continue;
        }
        l = nl + 1;
        line++;
    }
}

/* Resolves a struct type name used in package pkg; appends a built-in when needed. */
static int r2_resolve_struct(r2_parser *p, const char *tname, const char *pkg)
{
    tw_ros2_schema *s = p->s;
    char full[R2_TYPE_MAX];
    if (strcmp(tname, "time") == 0) tname = "builtin_interfaces/Time";
    if (strcmp(tname, "duration") == 0) tname = "builtin_interfaces/Duration";
    if (strchr(tname, '/')) {
        if (r2_norm_name(tname, strlen(tname), full) < 0) return -1;
    } else {
        if (snprintf(full, sizeof full, "%s/%s", pkg, tname) >= (int)sizeof full) return -1;
        if (r2_find_type(s, full) < 0 && strcmp(tname, "Header") == 0) snprintf(full, sizeof full, "std_msgs/Header");
    }
    int i = r2_find_type(s, full);
    if (i >= 0) return i;
    if (!strchr(tname, '/')) { /* lenient: a short name defined exactly once in another package */
        int found = -1;
        for (int k = 0; k < s->ntypes; k++) {
            const char *sl = strrchr(s->types[k].name, '/');
            if (sl && strcmp(sl + 1, tname) == 0) {
                if (found >= 0) return -1;
                found = k;
            }
        }
        if (found >= 0) return found;
    }
    for (size_t b = 0; b < sizeof r2_builtins / sizeof r2_builtins[0]; b++)
        if (strcmp(full, r2_builtins[b].name) == 0)
            return r2_add_type(p, full, r2_builtins[b].text, strlen(r2_builtins[b].text), 0);
    return -1;
}

/* Parses a type token ("float64[<=3]", "string<=8", "geometry_msgs/Vector3[]") into f. */
static int r2_parse_type(r2_parser *p, const char *tok, const char *pkg, r2_field *f, const char *where)
{
    char base[R2_TYPE_MAX];
    size_t n = strlen(tok);
    if (n >= sizeof base) return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: type name too long", where);
    memcpy(base, tok, n + 1);
    char *br = strchr(base, '[');
    if (br) {
        char *end = base + n - 1;
        if (*end != ']') return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: bad array type '%s'", where, tok);
        *end = '\0';
        const char *num = br + 1;
        f->arr = R2_FIXED;
        if (*num == '\0') f->arr = R2_SEQ;
        bool bounded = strncmp(num, "<=", 2) == 0;
        if (bounded) f->arr = R2_SEQ, num += 2;
        if (*num || bounded) {
            char *e;
            unsigned long v = strtoul(num, &e, 10);
            if (*e || !isdigit((unsigned char)*num) || v == 0 || v > 0xFFFFFFFFul)
                return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: bad array length in '%s'", where, tok);
            f->count = (uint32_t)v;
        }
        *br = '\0';
    }
    char *sb = strstr(base, "<=");
    if (sb) {
        char *e;
        unsigned long v = strtoul(sb + 2, &e, 10);
        if (*e || !isdigit((unsigned char)sb[2]) || v == 0 || v > 0xFFFFFFFFul)
            return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: bad string bound in '%s'", where, tok);
        f->str_bound = (uint32_t)v;
        *sb = '\0';
    }
    if (strcmp(base, "wstring") == 0)
        return tw_errf(p->err, p->errsz, TW_EUNSUPPORTED, "%s: wstring is not supported", where);
    for (size_t i = 0; i < sizeof r2_prims / sizeof r2_prims[0]; i++)
        if (strcmp(base, r2_prims[i].name) == 0) f->prim = (uint8_t)r2_prims[i].prim;
    if (f->str_bound && f->prim != R2_STRING)
        return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: '<=' bound on a non-string type", where);
    if (f->prim) return 0;
    int sub = r2_resolve_struct(p, base, pkg);
    if (sub == TW_ETOO_BIG) return sub;
    if (sub < 0) return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: unknown type '%s'", where, base);
    f->prim = R2_STRUCT;
    f->sub = sub;
    return 0;
}

/* One definition line (comment already removed): appends a field, or skips a constant. */
static int r2_parse_line(r2_parser *p, int ti, char *l, const char *where)
{
    tw_ros2_schema *s = p->s;
    char *tok = l;
    while (*l && !isspace((unsigned char)*l)) l++;
    if (*l) *l++ = '\0';
    while (isspace((unsigned char)*l)) l++;
    const char *name = l;
    while (isalnum((unsigned char)*l) || *l == '_') l++;
    size_t nlen = (size_t)(l - name);
    char after = *l;
    while (isspace((unsigned char)*l)) l++;
    if (*l == '=') return 0; /* constant: NAME=value */
    if (nlen == 0 || !isalpha((unsigned char)name[0]) || (after && !isspace((unsigned char)after)))
        return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: expected 'type name'", where);
    if (nlen >= R2_NAME_MAX) return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: field name too long", where);
    if (s->nfields >= R2_MAX_FIELDS)
        return tw_errf(p->err, p->errsz, TW_ETOO_BIG, "%s: more than %d fields in the schema", where, R2_MAX_FIELDS);
    r2_field *f = &s->fields[s->nfields];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, nlen);
    f->name[nlen] = '\0';
    r2_type *t = &s->types[ti];
    for (int k = t->first; k < s->nfields; k++)
        if (strcmp(s->fields[k].name, f->name) == 0)
            return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: field '%s' defined twice", where, f->name);
    char pkg[R2_TYPE_MAX];
    snprintf(pkg, sizeof pkg, "%s", t->name);
    char *sl = strchr(pkg, '/');
    if (sl) *sl = '\0';
    int rc = r2_parse_type(p, tok, pkg, f, where);
    if (rc < 0) return rc;
    s->nfields++;
    t->nfields++;
    return 0; /* anything after the name is a default value, ignored */
}

/* Removes a '#' comment that is not inside quotes; trims. */
static char *r2_strip(char *l)
{
    char q = 0;
    for (char *c = l; *c; c++) {
        if (q) { if (*c == q) q = 0; }
        else if (*c == '"' || *c == '\'') q = *c;
        else if (*c == '#') { *c = '\0'; break; }
    }
    while (isspace((unsigned char)*l)) l++;
    size_t n = strlen(l);
    while (n && isspace((unsigned char)l[n - 1])) l[--n] = '\0';
    return l;
}

static int r2_parse_section(r2_parser *p, int ti)
{
    const r2_section *sec = &p->sec[ti];
    p->s->types[ti].first = p->s->nfields;
    const char *l = sec->text, *end = sec->text + sec->len;
    int line = sec->line;
    char buf[512], where[R2_TYPE_MAX + 64];
    while (l < end) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        size_t n = nl ? (size_t)(nl - l) : (size_t)(end - l);
        if (sec->line) snprintf(where, sizeof where, "schema line %d (%s)", line, p->s->types[ti].name);
        else snprintf(where, sizeof where, "built-in %s", p->s->types[ti].name);
        if (n >= sizeof buf) return tw_errf(p->err, p->errsz, TW_ESCHEMA, "%s: line too long", where);
        memcpy(buf, l, n);
        buf[n] = '\0';
        char *c = r2_strip(buf);
        if (*c) {
            int rc = r2_parse_line(p, ti, c, where);
            if (rc < 0) return rc;
        }
        l += n + 1;
        line++;
    }
    return 0;
}

/* Depth-first: refuses cycles and deep nesting, fills min_size. */
static int r2_check_type(r2_parser *p, int ti, int depth, uint8_t *state)
{
    tw_ros2_schema *s = p->s;
    r2_type *t = &s->types[ti];
    if (state[ti] == 2) return 0;
    if (state[ti] == 1) return tw_errf(p->err, p->errsz, TW_ESCHEMA, "schema: %s contains itself", t->name);
    if (depth > R2_MAX_DEPTH)
        return tw_errf(p->err, p->errsz, TW_ESCHEMA, "schema: nesting deeper than %d at %s", R2_MAX_DEPTH, t->name);
    state[ti] = 1;
    uint64_t min = 0;
    for (int k = 0; k < t->nfields; k++) {
        const r2_field *f = &s->fields[t->first + k];
        uint64_t one = f->prim == R2_STRING ? 4 : r2_prim_size(f->prim);
        if (f->prim == R2_STRUCT) {
            int rc = r2_check_type(p, f->sub, depth + 1, state);
            if (rc < 0) return rc;
            one = s->types[f->sub].min_size;
        }
        if (f->arr == R2_SEQ) one = 4;
        else if (f->arr == R2_FIXED) one = one * f->count;
        min += one;
        if (min > (1ull << 40)) min = 1ull << 40; /* saturate: no message is that large */
    }
    t->min_size = t->nfields ? min : 1; /* an empty struct is one placeholder byte in CDR */
    state[ti] = 2;
    return 0;
}

static r2_class r2_schema_probe_cb(const void *s, const char *path) { return r2_schema_probe(s, path); }

int tw_ros2_schema_parse(const char *text, const char *type_name, tw_ros2_schema **out, char *err, size_t errsz)
{
    if (!out || !text || !type_name) return tw_errf(err, errsz, TW_EINVAL, "schema: NULL argument");
    *out = NULL;
    if (strlen(text) > R2_MAX_TEXT) return tw_errf(err, errsz, TW_ETOO_BIG, "schema: text longer than %u bytes", R2_MAX_TEXT);
    char root[R2_TYPE_MAX];
    if (r2_norm_name(type_name, strlen(type_name), root) < 0 || !root[0])
        return tw_errf(err, errsz, TW_EINVAL, "schema: bad type name");
    r2_parser *p = calloc(1, sizeof *p);
    tw_ros2_schema *s = calloc(1, sizeof *s);
    int rc = TW_ENOMEM;
    if (!p || !s) goto fail;
    s->types = calloc(R2_MAX_TYPES, sizeof *s->types);
    s->fields = calloc(R2_MAX_FIELDS, sizeof *s->fields);
    if (!s->types || !s->fields) goto fail;
    p->s = s, p->err = err, p->errsz = errsz;
    rc = r2_split(p, text, root);
    for (int i = 0; rc >= 0 && i < s->ntypes; i++) /* built-ins get appended while this runs */
        rc = r2_parse_section(p, i);
    if (rc < 0) goto fail;
    uint8_t state[R2_MAX_TYPES] = {0};
    rc = r2_check_type(p, 0, 0, state);
    if (rc < 0) goto fail;
    s->root = 0;
    s->kind = r2_classify(s, r2_schema_probe_cb, s->types[0].name, false);
    free(p);
    *out = s;
    return 0;
fail:
    free(p);
    tw_ros2_schema_free(s);
    if (rc == TW_ENOMEM) tw_errf(err, errsz, rc, "schema: out of memory");
    return rc;
}

void tw_ros2_schema_free(tw_ros2_schema *s)
{
    if (!s) return;
    free(s->types);
    free(s->fields);
    free(s);
}

const char *tw_ros2_schema_type(const tw_ros2_schema *s) { return s ? s->types[s->root].name : NULL; }

tw_ros2_kind tw_ros2_schema_kind(const tw_ros2_schema *s) { return s ? s->kind : TW_ROS2_UNKNOWN; }
