/* Crash recovery: an episode directory that still has its journal was not closed (the
 * writer died, or its close could not finish): rebuild episode.h5 from the journal's valid
 * prefix. Directories without a journal are finished episodes and are never touched. */
#include "tw_episode_int.h"
#include "tw_h5.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *dir, const char *name)
{
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static void finished_status(const char *dir, char *status, size_t n)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/" TW_H5_NAME, dir);
    snprintf(status, n, "unreadable");
    tw_h5_lock();
    tw_h5_quiet();
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        tw_h5_get_str(f, "status", status, n);
        H5Fclose(f);
    }
    tw_h5_unlock();
}

/* A journal whose head record never reached the disk whole holds no data: the writer died (or
 * hit a full disk) before its first durable record. Only a file that ENDS inside its magic or
 * its head counts: a complete but corrupt head is not "empty" (the data after it is kept and
 * the rebuild fails naming the head). */
static int journal_is_empty(const char *dir)
{
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/" TW_JOURNAL_NAME, dir);
    FILE *f = fopen(p, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return 0;
    }
    uint8_t h[8 + TW_REC_HEADER];
    size_t got = fread(h, 1, sizeof h, f);
    fclose(f);
    if (got >= 8 && memcmp(h, TW_JOURNAL_MAGIC, 7) != 0)
        return 0; /* not a journal: garbage is not empty */
    if (got < sizeof h)
        return 1;
    uint32_t magic, len;
    memcpy(&magic, h + 8, 4);
    memcpy(&len, h + 16, 4);
    return magic == TW_REC_MAGIC && len <= TW_REC_MAX && (uint64_t)st.st_size < sizeof h + (uint64_t)len;
}

/* Removes a directory that holds only what a dataless episode leaves (the journal, an unfinished
 * temporary file, video files with no frame the journal knows). Anything else: left alone. */
static int remove_empty_episode(const char *dir, char *msg, size_t msgsz)
{
    DIR *d = opendir(dir);
    if (!d)
        return tw_errf(msg, msgsz, TW_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    char p[PATH_MAX + 300];
    int other = 0;
    while ((e = readdir(d)) && !other) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        other = !(strcmp(n, TW_JOURNAL_NAME) == 0 || strcmp(n, TW_H5_NAME ".tmp") == 0 ||
                  (l > 4 && strcmp(n + l - 4, ".mkv") == 0));
    }
    closedir(d);
    if (other)
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s: the journal holds no data, but the directory holds other "
                       "files: left as it is", dir);
    d = opendir(dir);
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && snprintf(p, sizeof p, "%s/%s", dir, e->d_name) > 0)
            unlink(p);
    if (d)
        closedir(d);
    if (rmdir(dir) != 0)
        return tw_errf(msg, msgsz, TW_EIO, "remove %s: %s", dir, strerror(errno));
    return 0;
}

static int recover_empty(const char *dir, int *changed, char *msg, size_t msgsz)
{
    char status[32], jp[PATH_MAX + 64];
    if (!exists(dir, TW_H5_NAME)) {
        int rc = remove_empty_episode(dir, msg, msgsz);
        *changed = rc == 0;
        return rc ? rc : tw_errf(msg, msgsz, 0, "empty journal (no data was ever written): directory removed");
    }
    finished_status(dir, status, sizeof status);
    if (!strcmp(status, "unreadable"))
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "%s unreadable and the journal holds no data to rebuild it from",
                       TW_H5_NAME);
    snprintf(jp, sizeof jp, "%s/" TW_JOURNAL_NAME, dir);
    if (unlink(jp) != 0)
        return tw_errf(msg, msgsz, TW_EIO, "remove %s: %s", jp, strerror(errno));
    *changed = 1;
    return tw_errf(msg, msgsz, 0, "empty journal removed; %s kept (status %s)", TW_H5_NAME, status);
}

/* What `tw recover` promises: the episode opens afterwards. */
static int check_readable(const char *dir, char *msg, size_t msgsz)
{
    tw_episode *e = NULL;
    char m[512];
    int rc = tw_episode_open(dir, &e, m, sizeof m);
    tw_episode_close_reader(e);
    return rc ? tw_errf(msg, msgsz, rc == TW_EVERSION ? rc : TW_EINTEGRITY, "unreadable: %s", m) : 0;
}

int tw_episode_recover(const char *dir, int *changed, char *msg, size_t msgsz)
{
    *changed = 0;
    if (!exists(dir, TW_JOURNAL_NAME)) {
        if (!exists(dir, TW_H5_NAME))
            return tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: not an episode directory (no %s, no %s)", dir,
                           TW_H5_NAME, TW_JOURNAL_NAME);
        char status[32], m[600];
        int rc = check_readable(dir, m, sizeof m);
        if (rc)
            return tw_errf(msg, msgsz, rc, "finished episode (no journal to rebuild it from) is %s", m);
        finished_status(dir, status, sizeof status);
        return tw_errf(msg, msgsz, 0, "finished episode (status %s), left untouched", status);
    }
    if (journal_is_empty(dir))
        return recover_empty(dir, changed, msg, msgsz);
    char m[256];
    int rc = tw_episode_finish(dir, NULL, "recover", m, sizeof m);
    if (rc)
        return tw_errf(msg, msgsz, rc, "%s", m);
    *changed = 1;
    if ((rc = check_readable(dir, msg, msgsz)) != 0)
        return rc;
    char status[32];
    finished_status(dir, status, sizeof status);
    return tw_errf(msg, msgsz, 0, "rebuilt %s from the journal (%s), status %s", TW_H5_NAME, m, status);
}

static int is_episode(const char *dir)
{
    return exists(dir, TW_JOURNAL_NAME) || exists(dir, TW_H5_NAME);
}

static int one(const char *dir, tw_episode_recover_fn cb, void *ud)
{
    char m[512];
    int changed = 0, rc = tw_episode_recover(dir, &changed, m, sizeof m);
    if (cb)
        cb(ud, dir, rc, changed, m);
    return rc;
}

int tw_episode_recover_tree(const char *root, tw_episode_recover_fn cb, void *ud, char *msg, size_t msgsz)
{
    if (is_episode(root))
        return one(root, cb, ud);
    struct dirent **ents = NULL;
    int n = scandir(root, &ents, NULL, alphasort);
    if (n < 0)
        return tw_errf(msg, msgsz, errno == ENOENT ? TW_ENOT_FOUND : TW_EIO, "%s: %s", root, strerror(errno));
    int first = 0;
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX];
        int skip = ents[i]->d_name[0] == '.' ||
                   snprintf(p, sizeof p, "%s/%s", root, ents[i]->d_name) >= (int)sizeof p;
        if (!skip && is_episode(p)) {
            int rc = one(p, cb, ud);
            if (rc && !first) {
                first = rc;
                tw_errf(msg, msgsz, rc, "%s: recovery failed", p);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return first;
}
