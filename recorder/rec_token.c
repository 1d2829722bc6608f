/* Tokens: loading, first-start generation (mode 0600), constant-time comparison. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec_internal.h"

/* Compares without an early exit, so response time does not reveal a matching prefix. */
int rec_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++)
        d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
    return d == 0 && lb > 0;
}

int tw_recorder_token_load(const char *path, char *tok, size_t toksz, char *msg, size_t msgsz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tw_errf(msg, msgsz, TW_EIO, "token file %s: %s", path, strerror(errno));
    char line[512] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    size_t n = ok ? strlen(line) : 0;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        line[--n] = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++, n--;
    if (n < 8)
        return tw_errf(msg, msgsz, TW_EINVAL, "token file %s: token shorter than 8 characters", path);
    if (n + 1 > toksz)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "token file %s: token longer than %zu characters", path, toksz - 1);
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] > '~')
            return tw_errf(msg, msgsz, TW_EINVAL, "token file %s: token has a non-printable character at %zu",
                           path, i);
    memcpy(tok, p, n + 1);
    return 0;
}

int tw_recorder_token_ensure(const char *dir, char *tok, size_t toksz, int *created, char *msg, size_t msgsz)
{
    char path[4096];
    *created = 0;
    snprintf(path, sizeof path, "%s/.token", dir);
    if (access(path, F_OK) == 0)
        return tw_recorder_token_load(path, tok, toksz, msg, msgsz);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "create %s: %s", dir, strerror(errno));
    unsigned char raw[32];
    if (toksz < 2 * sizeof raw + 1 || getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return tw_errf(msg, msgsz, TW_EIO, "cannot generate a token");
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(tok + 2 * i, 3, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return tw_errf(msg, msgsz, TW_EIO, "create %s: %s", path, strerror(errno));
    size_t len = strlen(tok);
    int bad = write(fd, tok, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0;
    close(fd);
    if (bad)
        return tw_errf(msg, msgsz, TW_EIO, "write %s: %s", path, strerror(errno));
    *created = 1;
    return 0;
}
