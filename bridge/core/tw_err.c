#include "tw_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tw_strerror(int err)
{
    switch (err) {
#define TW_ERR_DESC(name, val, desc) case (val): return desc;
        TW_ERRNO_MAP(TW_ERR_DESC)
#undef TW_ERR_DESC
    }
    return "unknown error";
}

const char *tw_err_name(int err)
{
    switch (err) {
#define TW_ERR_NAME(name, val, desc) case (val): return #name;
        TW_ERRNO_MAP(TW_ERR_NAME)
#undef TW_ERR_NAME
    }
    return "UNKNOWN";
}

int tw_err_from_name(const char *name)
{
#define TW_ERR_CMP(n, val, desc) if (name && strcmp(name, #n) == 0) return (val);
    TW_ERRNO_MAP(TW_ERR_CMP)
#undef TW_ERR_CMP
    return TW_EINVAL;
}

int tw_errf(char *buf, size_t bufsz, int err, const char *fmt, ...)
{
    if (buf && bufsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, bufsz, fmt, ap);
        va_end(ap);
    }
    return err;
}
