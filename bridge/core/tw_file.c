/* Durable files: the fsync steps every writer of a file that must survive a crash takes (write to a
 * temporary name, fsync it, rename, fsync the directory). One home for episode, shard, video and export
 * writers alike. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tw_core.h"

int tw_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

int tw_fsync_dir(const char *dir, char *msg, size_t msgsz)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : fsync(fd);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        return 0;
    int code = (e == ENOSPC || e == EFBIG || e == EDQUOT) ? TW_ENOSPACE : TW_EIO;
    return tw_errf(msg, msgsz, code, "%s: %s", dir, strerror(e));
}
