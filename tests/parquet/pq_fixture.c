#include "pq_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *pq_python(void)
{
    static char venv[4096];
    const char *py = getenv("PQ_PYTHON"), *src = getenv("TW_SOURCE_ROOT");
    if (py && *py)
        return py;
    if (src) {
        snprintf(venv, sizeof venv, "%s/.venv/bin/python", src);
        if (access(venv, X_OK) == 0)
            return venv;
    }
    return "/usr/bin/python3";
}

const char *pq_script(char *buf, size_t bufsz, const char *name)
{
    const char *src = getenv("TW_SOURCE_ROOT");
    snprintf(buf, bufsz, "%s/tests/parquet/%s", src ? src : ".", name);
    return buf;
}

char *pq_tmpdir(char *buf, size_t bufsz)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, bufsz, "%s/tw-parquet-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(buf);
}

void pq_rmtree(const char *dir)
{
    if (dir && *dir)
        pq_sh("rm -rf '%s'", dir);
}

int pq_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int pq_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
