/* The fused output folder: what a fuse run writes there (manifest.json, shard-*.h5 and their
 * temporaries), the check that a new run may write into it, and the clean-up after a failed run. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tw_fuse_int.h"

/* 1 for a name a fuse run writes: the manifest, the shards, and their dot-named temporaries. */
static int is_run_output(const char *name)
{
    size_t n = strlen(name);
    int tmp = n > 4 && !strcmp(name + n - 4, ".tmp");
    return !strcmp(name, "manifest.json") || !strncmp(name, "shard-", 6) ||
           (tmp && (!strncmp(name, ".shard-", 7) || !strncmp(name, ".manifest.json", 14)));
}

/* Finished outputs in dir: *manifest = 1 if manifest.json is there, shard = the first shard's name ("" if
 * none). -1 if dir cannot be read. */
static int scan_out(const char *dir, int *manifest, char *shard, size_t shardsz)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    *manifest = 0;
    shard[0] = '\0';
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, "manifest.json"))
            *manifest = 1;
        else if (!strncmp(de->d_name, "shard-", 6) && !shard[0])
            snprintf(shard, shardsz, "%s", de->d_name);
    }
    closedir(d);
    return 0;
}

int tw_fuse_out_prepare(const char *dir, char *msg, size_t msgsz)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "fuse: cannot create %s: %s", dir, strerror(errno));
    char shard[256];
    int manifest;
    if (scan_out(dir, &manifest, shard, sizeof shard) < 0)
        return tw_errf(msg, msgsz, TW_EIO, "fuse: cannot open %s: %s", dir, strerror(errno));
    if (manifest)
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: %s already holds a dataset (manifest.json); choose an "
                       "empty --out", dir);
    if (shard[0])
        return tw_errf(msg, msgsz, TW_EINVAL, "fuse: %s holds %s but no manifest.json: shards of an interrupted "
                       "run; delete shard-*.h5 there or choose an empty --out", dir, shard);
    return 0;
}

int tw_fuse_out_holds_dataset(const char *dir)
{
    char shard[256];
    int manifest;
    return scan_out(dir, &manifest, shard, sizeof shard) == 0 && (manifest || shard[0]);
}

void tw_fuse_out_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[4400];
        if (is_run_output(de->d_name) && snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
            unlink(path); /* files only: folders are never removed */
    }
    if (d)
        closedir(d);
}
