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

int tw_episode_recover(const char *dir, int *changed, char *msg, size_t msgsz)
{
    *changed = 0;
    if (!exists(dir, TW_JOURNAL_NAME)) {
        if (!exists(dir, TW_H5_NAME))
            return tw_errf(msg, msgsz, TW_ENOT_FOUND, "%s: not an episode directory (no %s, no %s)", dir,
                           TW_H5_NAME, TW_JOURNAL_NAME);
        char status[32];
        finished_status(dir, status, sizeof status);
        return tw_errf(msg, msgsz, 0, "finished episode (status %s), left untouched", status);
    }
    char m[256];
    int rc = tw_episode_finish(dir, NULL, m, sizeof m);
    if (rc)
        return tw_errf(msg, msgsz, rc, "%s", m);
    *changed = 1;
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
