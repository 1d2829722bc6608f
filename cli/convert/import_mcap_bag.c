/* tw import mcap, the bag side: which files make a bag (a rosbag2 directory or one .mcap file), and
 * which channel of each file is which mapped topic (the topics are shared by all files of a bag). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import_mcap.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* rosbag2's metadata.yaml lists its files under relative_file_paths: "  - name.mcap". */
static size_t files_from_metadata(const char *dir, char **files, size_t cap)
{
    char p[4096], line[1024];
    snprintf(p, sizeof p, "%s/metadata.yaml", dir);
    FILE *f = fopen(p, "r");
    size_t n = 0;
    int in = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *s = line + strspn(line, " \t");
        if (!strncmp(s, "relative_file_paths:", 20)) {
            in = 1;
            continue;
        }
        if (!in)
            continue;
        if (s[0] != '-')
            break;
        s += 1 + strspn(s + 1, " \t\"'");
        s[strcspn(s, "\"'\r\n")] = 0;
        if (*s && n < cap && asprintf(&files[n], "%s/%s", dir, s) > 0)
            n++;
    }
    if (f)
        fclose(f);
    return n;
}

int imp_bag_files(const char *src, char ***files, size_t *n, char *err, size_t errsz)
{
    struct stat st;
    *files = calloc(IMP_MAX_FILES, sizeof(char *));
    *n = 0;
    if (!*files)
        return tw_errf(err, errsz, TW_ENOMEM, "out of memory");
    if (stat(src, &st) < 0)
        return tw_errf(err, errsz, TW_EIO, "%s: no such file or directory", src);
    if (!S_ISDIR(st.st_mode)) {
        (*files)[0] = strdup(src);
        *n = 1;
        return 0;
    }
    if ((*n = files_from_metadata(src, *files, IMP_MAX_FILES)) > 0)
        return 0;
    DIR *d = opendir(src); /* no metadata.yaml: every .mcap file, by name */
    struct dirent *e;
    while (d && (e = readdir(d)) && *n < IMP_MAX_FILES) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".mcap") && asprintf(&(*files)[*n], "%s/%s", src, e->d_name) > 0)
            (*n)++;
    }
    if (d)
        closedir(d);
    qsort(*files, *n, sizeof(char *), cmp_str);
    if (!*n)
        return tw_errf(err, errsz, TW_ENOT_FOUND, "%s: neither metadata.yaml nor .mcap files", src);
    return 0;
}

void imp_bag_files_free(char **files, size_t n)
{
    for (size_t i = 0; files && i < n; i++)
        free(files[i]);
    free(files);
}

static imp_unmapped *add_unmapped(imp *im, const char *topic, const char *type, const char *why)
{
    if (im->nu == im->ucap) {
        size_t cap = im->ucap ? 2 * im->ucap : 16;
        imp_unmapped *u = realloc(im->u, cap * sizeof *u);
        if (!u)
            return NULL;
        im->u = u, im->ucap = cap;
    }
    imp_unmapped *u = &im->u[im->nu++];
    memset(u, 0, sizeof *u);
    snprintf(u->topic, sizeof u->topic, "%s", topic);
    snprintf(u->type, sizeof u->type, "%s", type);
    snprintf(u->why, sizeof u->why, "%s", why);
    return u;
}

/* Finds or opens the topic of one channel; im->chan[id] = mapped index, or -(unmapped index) - 2. */
static int map_channel(imp *im, tw_mcap_reader *r, const char *file, const tw_mcap_channel *c, char *err,
                       size_t errsz)
{
    for (size_t i = 0; i < im->nm; i++)
        if (!strcmp(tw_rostopic_topic(im->m[i].t), c->topic))
            return im->chan[c->id] = (int32_t)i, 0;
    for (size_t i = 0; i < im->nu; i++)
        if (!strcmp(im->u[i].topic, c->topic))
            return im->chan[c->id] = -(int32_t)i - 2, 0;
    if (im->planned) { /* a topic the first pass never saw (a later file): listed, not imported */
        imp_unmapped *u = add_unmapped(im, c->topic, "", "first seen after the plan");
        return u ? (im->chan[c->id] = -(int32_t)(im->nu - 1) - 2, 0) : tw_errf(err, errsz, TW_ENOMEM, "out of memory");
    }
    tw_mcap_schema s = {0};
    if (c->schema_id && tw_mcap_reader_schema_by_id(r, c->schema_id, &s) < 0)
        return tw_errf(err, errsz, TW_ESCHEMA, "%s: channel %u (%s) names schema %u, which the file lacks", file,
                       c->id, c->topic, c->schema_id);
    tw_rostopic_src src = {c->topic, s.name ? s.name : "", s.encoding ? s.encoding : "", s.data, s.data_len,
                           c->message_encoding};
    tw_rostopic *t = NULL;
    char why[512] = "";
    int rc = tw_rostopic_open(im->map, &src, 0, &t, why, sizeof why);
    if (rc < 0)
        return tw_errf(err, errsz, rc, "%s: schema record %u '%s' of channel %u: %s", file, c->schema_id,
                       s.name ? s.name : "", c->id, why);
    if (rc == 0) {
        if (!add_unmapped(im, c->topic, src.type_name, why))
            return tw_errf(err, errsz, TW_ENOMEM, "out of memory");
        im->chan[c->id] = -(int32_t)(im->nu - 1) - 2;
        return 0;
    }
    if (im->nm == TW_MAX_STREAMS) {
        tw_rostopic_close(t);
        return tw_errf(err, errsz, TW_ETOO_BIG, "%s: more than %d mapped topics", file, TW_MAX_STREAMS);
    }
    memset(&im->m[im->nm], 0, sizeof im->m[0]);
    im->m[im->nm].t = t;
    im->chan[c->id] = (int32_t)im->nm++;
    return 0;
}

int imp_map_channels(imp *im, tw_mcap_reader *r, const char *file, char *err, size_t errsz)
{
    for (size_t i = 0; i < 65536; i++)
        im->chan[i] = -1;
    size_t n = tw_mcap_reader_channel_count(r);
    for (size_t i = 0; i < n; i++) {
        tw_mcap_channel c;
        int rc = tw_mcap_reader_channel(r, i, &c);
        if (rc < 0 || (rc = map_channel(im, r, file, &c, err, errsz)) < 0)
            return rc < 0 && err && !err[0] ? tw_errf(err, errsz, rc, "%s: channel %zu", file, i) : rc;
    }
    return 0;
}

/* A channel the summary did not list (a scanned file announces channels as it goes). */
int imp_channel_of(imp *im, tw_mcap_reader *r, const char *file, uint16_t id, int32_t *slot, char *err,
                   size_t errsz)
{
    *slot = im->chan[id];
    if (*slot != -1)
        return 0;
    tw_mcap_channel c;
    int rc = tw_mcap_reader_channel_by_id(r, id, &c);
    if (rc < 0)
        return tw_errf(err, errsz, TW_ESCHEMA, "%s: a message on channel %u, which no channel record declares", file,
                       id);
    if ((rc = map_channel(im, r, file, &c, err, errsz)) < 0)
        return rc;
    *slot = im->chan[id];
    return 0;
}
