/* Text edits on MuJoCo's canonical XML.  The input is what mj_saveLastXML wrote a moment ago (regular,
 * double-quoted attributes, no comments), so a small scanner is enough; every edit fails with a clear
 * message rather than guessing when the text is not shaped as expected. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_core.h"
#include "tw_sim.h"

int tw_xml_read_file(const char *path, char **out, char *msg, size_t msgsz)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tw_errf(msg, msgsz, TW_EIO, "open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (cap - n < 65536) {
            if (cap > (64u << 20)) {
                rc = tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: model text larger than 64 MiB", path);
                break;
            }
            char *nb = realloc(buf, cap + 65536 + 1);
            if (!nb) {
                rc = tw_errf(msg, msgsz, TW_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap += 65536;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (!rc && ferror(f))
        rc = tw_errf(msg, msgsz, TW_EIO, "read %s: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* Replaces [at, at+dellen) of *xml with ins. */
static int tw_xml_splice(char **xml, size_t at, size_t dellen, const char *ins, char *msg, size_t msgsz)
{
    size_t len = strlen(*xml), il = strlen(ins);
    char *nb = malloc(len - dellen + il + 1);
    if (!nb)
        return tw_errf(msg, msgsz, TW_ENOMEM, "out of memory editing model XML");
    memcpy(nb, *xml, at);
    memcpy(nb + at, ins, il);
    memcpy(nb + at + il, *xml + at + dellen, len - at - dellen + 1);
    free(*xml);
    *xml = nb;
    return 0;
}

/* Position of the tag-opening "<name" followed by space, '/' or '>'; -1 if none. */
static long tw_xml_find_tag(const char *xml, const char *name, size_t from)
{
    size_t nl = strlen(name);
    for (const char *p = xml + from; (p = strchr(p, '<')) != NULL; p++)
        if (!strncmp(p + 1, name, nl) && strchr(" \t\r\n/>", p[1 + nl]))
            return p - xml;
    return -1;
}

/* Within the tag starting at `tag`, the value span of attribute `attr`; returns 0 if absent. */
static int tw_xml_attr(const char *xml, size_t tag, const char *attr, size_t *vs, size_t *ve)
{
    const char *end = strchr(xml + tag, '>');
    size_t al = strlen(attr);
    for (const char *p = xml + tag + 1; end && p < end; p++) {
        if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n') && !strncmp(p, attr, al) && p[al] == '=' &&
            p[al + 1] == '"') {
            const char *q = strchr(p + al + 2, '"');
            if (!q || q > end)
                return 0;
            *vs = (size_t)(p + al + 2 - xml);
            *ve = (size_t)(q - xml);
            return 1;
        }
    }
    return 0;
}

int tw_xml_absolutize_dirs(char **xml, const char *base, char *msg, size_t msgsz)
{
    static const char *attrs[] = {"meshdir", "texturedir"};
    long tag = tw_xml_find_tag(*xml, "compiler", 0);
    if (tag < 0) {
        long mj = tw_xml_find_tag(*xml, "mujoco", 0);
        const char *gt = mj < 0 ? NULL : strchr(*xml + mj, '>');
        if (!gt)
            return tw_errf(msg, msgsz, TW_EINVAL, "model XML has no <mujoco> element");
        int rc = tw_xml_splice(xml, (size_t)(gt - *xml) + 1, 0, "\n  <compiler/>", msg, msgsz);
        if (rc)
            return rc;
        tag = tw_xml_find_tag(*xml, "compiler", 0);
    }
    for (int i = 0; i < 2; i++) {
        size_t vs, ve;
        char val[4096];
        int rc;
        if (tw_xml_attr(*xml, (size_t)tag, attrs[i], &vs, &ve)) {
            if ((*xml)[vs] == '/')
                continue; /* already absolute */
            snprintf(val, sizeof val, "%s/%.*s", base, (int)(ve - vs), *xml + vs);
            rc = tw_xml_splice(xml, vs, ve - vs, val, msg, msgsz);
        } else {
            snprintf(val, sizeof val, " %s=\"%s/\"", attrs[i], base);
            rc = tw_xml_splice(xml, (size_t)tag + strlen("<compiler"), 0, val, msg, msgsz);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int tw_xml_insert_in_body(char **xml, const char *name, const char *frag, char *msg, size_t msgsz)
{
    for (long tag = 0; (tag = tw_xml_find_tag(*xml, "body", (size_t)tag)) >= 0; tag++) {
        size_t vs, ve;
        if (!tw_xml_attr(*xml, (size_t)tag, "name", &vs, &ve) || ve - vs != strlen(name) ||
            strncmp(*xml + vs, name, ve - vs))
            continue;
        char *gt = strchr(*xml + tag, '>');
        if (!gt)
            break;
        size_t at = (size_t)(gt - *xml);
        if (gt[-1] == '/') { /* <body .../> becomes <body ...>frag</body> */
            char *ins = malloc(strlen(frag) + 16);
            if (!ins)
                return tw_errf(msg, msgsz, TW_ENOMEM, "out of memory editing model XML");
            sprintf(ins, ">%s</body>", frag);
            int rc = tw_xml_splice(xml, at - 1, 2, ins, msg, msgsz);
            free(ins);
            return rc;
        }
        return tw_xml_splice(xml, at + 1, 0, frag, msg, msgsz);
    }
    return tw_errf(msg, msgsz, TW_ENOT_FOUND, "model XML: no <body name=\"%s\"> to put the F/T site in", name);
}

int tw_xml_set_attr(char **xml, const char *tag, const char *name, const char *attr, const char *value, char *msg,
                    size_t msgsz)
{
    for (long at = 0; (at = tw_xml_find_tag(*xml, tag, (size_t)at)) >= 0; at++) {
        size_t vs, ve;
        if (!tw_xml_attr(*xml, (size_t)at, "name", &vs, &ve) || ve - vs != strlen(name) ||
            strncmp(*xml + vs, name, ve - vs))
            continue;
        if (tw_xml_attr(*xml, (size_t)at, attr, &vs, &ve))
            return tw_xml_splice(xml, vs, ve - vs, value, msg, msgsz);
        char ins[512];
        snprintf(ins, sizeof ins, " %s=\"%s\"", attr, value);
        return tw_xml_splice(xml, (size_t)at + 1 + strlen(tag), 0, ins, msg, msgsz);
    }
    return tw_errf(msg, msgsz, TW_ENOT_FOUND, "model XML: no <%s name=\"%s\">", tag, name);
}

int tw_xml_insert_before_end(char **xml, const char *frag, char *msg, size_t msgsz)
{
    char *end = NULL;
    for (char *p = *xml; (p = strstr(p, "</mujoco>")) != NULL; p++)
        end = p;
    if (!end)
        return tw_errf(msg, msgsz, TW_EINVAL, "model XML has no closing </mujoco>");
    return tw_xml_splice(xml, (size_t)(end - *xml), 0, frag, msg, msgsz);
}
