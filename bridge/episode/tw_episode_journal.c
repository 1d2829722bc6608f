/* The episode journal: an append-only file of CRC-checked records. It is what makes an
 * episode crash-safe: a record is either wholly valid or the end of the data, so after a
 * kill -9 everything up to the last fsync (tw_journal_sync) can be rebuilt. */
#include "tw_episode_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

static int io_err(char *msg, size_t msgsz, const char *what, int e)
{
    int code = (e == ENOSPC || e == EFBIG || e == EDQUOT) ? TW_ENOSPACE : TW_EIO;
    return tw_errf(msg, msgsz, code, "%s: %s", what, strerror(e));
}

int tw_journal_create(tw_journal *j, const char *path, char *msg, size_t msgsz)
{
    memset(j, 0, sizeof *j);
    j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (j->fd < 0)
        return io_err(msg, msgsz, path, errno);
    /* held while recording: `tw recover` skips a journal someone still writes */
    (void)flock(j->fd, LOCK_EX | LOCK_NB);
    uint8_t magic[8];
    memcpy(magic, TW_JOURNAL_MAGIC, 7);
    magic[7] = TW_JOURNAL_MAJOR;
    if (write(j->fd, magic, 8) != 8) {
        int e = errno;
        close(j->fd);
        j->fd = -1;
        return io_err(msg, msgsz, path, e ? e : EIO);
    }
    j->off = 8;
    return 0;
}

static uint32_t rec_crc(const uint8_t hdr[TW_REC_HEADER], const struct iovec *iov, int iovcnt)
{
    uLong c = crc32(0L, hdr + 4, 8); /* type and len are covered too */
    for (int i = 0; i < iovcnt; i++)
        c = crc32(c, iov[i].iov_base, (uInt)iov[i].iov_len);
    return (uint32_t)c;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); } /* host is little-endian (x86-64) */

int tw_journal_write(tw_journal *j, uint32_t type, const struct iovec *iov, int iovcnt, char *msg,
                     size_t msgsz)
{
    if (j->fd < 0 || j->failed)
        return tw_errf(msg, msgsz, TW_EIO, "journal: an earlier write failed");
    struct iovec v[16];
    if (iovcnt > 15)
        return tw_errf(msg, msgsz, TW_EINVAL, "journal: too many pieces");
    size_t len = 0;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    if (len > TW_REC_MAX)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "journal: record of %zu bytes", len);
    uint8_t hdr[TW_REC_HEADER];
    put32(hdr, TW_REC_MAGIC);
    put32(hdr + 4, type);
    put32(hdr + 8, (uint32_t)len);
    put32(hdr + 12, rec_crc(hdr, iov, iovcnt));
    v[0].iov_base = hdr;
    v[0].iov_len = TW_REC_HEADER;
    memcpy(v + 1, iov, sizeof *iov * (size_t)iovcnt);
    int n = iovcnt + 1, k = 0;
    size_t left = len + TW_REC_HEADER;
    while (left > 0) {
        ssize_t w = writev(j->fd, v + k, n - k);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            /* cut the torn record off so the file stays a clean prefix */
            if (ftruncate(j->fd, (off_t)j->off) == 0)
                (void)lseek(j->fd, (off_t)j->off, SEEK_SET);
            j->failed = 1;
            return io_err(msg, msgsz, "journal write", e);
        }
        left -= (size_t)w;
        while (k < n && (size_t)w >= v[k].iov_len)
            w -= (ssize_t)v[k++].iov_len;
        if (k < n) {
            v[k].iov_base = (uint8_t *)v[k].iov_base + w;
            v[k].iov_len -= (size_t)w;
        }
    }
    j->off += len + TW_REC_HEADER;
    return 0;
}

int tw_journal_sync(tw_journal *j, char *msg, size_t msgsz)
{
    if (j->fd < 0)
        return tw_errf(msg, msgsz, TW_EIO, "journal: not open");
    if (j->synced == j->off)
        return 0;
    if (fdatasync(j->fd) != 0)
        return io_err(msg, msgsz, "journal fsync", errno);
    j->synced = j->off;
    return 0;
}

void tw_journal_close(tw_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

/* ---- reader ---- */

int tw_journal_open_read(tw_journal_reader *r, const char *path, char *msg, size_t msgsz)
{
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "rb");
    if (!r->f)
        return tw_errf(msg, msgsz, errno == ENOENT ? TW_ENOT_FOUND : TW_EIO, "%s: %s", path, strerror(errno));
    uint8_t magic[8];
    if (fread(magic, 1, 8, r->f) != 8 || memcmp(magic, TW_JOURNAL_MAGIC, 7) != 0) {
        tw_journal_close_read(r);
        return tw_errf(msg, msgsz, TW_EBAD_MAGIC, "%s: not a teleworld episode journal", path);
    }
    if (magic[7] != TW_JOURNAL_MAJOR) {
        tw_journal_close_read(r);
        return tw_errf(msg, msgsz, TW_EVERSION, "%s: journal major version %u, this build reads %d", path,
                       magic[7], TW_JOURNAL_MAJOR);
    }
    r->off = 8;
    return 0;
}

int tw_journal_next(tw_journal_reader *r, uint32_t *type, const uint8_t **payload, uint32_t *len,
                    char *msg, size_t msgsz)
{
    uint8_t hdr[TW_REC_HEADER];
    size_t got = fread(hdr, 1, TW_REC_HEADER, r->f);
    if (got == 0 && feof(r->f))
        return 0;
    uint32_t m, t, n, crc;
    memcpy(&m, hdr, 4);
    memcpy(&t, hdr + 4, 4);
    memcpy(&n, hdr + 8, 4);
    memcpy(&crc, hdr + 12, 4);
    if (got < TW_REC_HEADER || m != TW_REC_MAGIC || n > TW_REC_MAX) {
        r->torn = 1;
        return 0;
    }
    if (n > r->cap) {
        uint8_t *nb = realloc(r->buf, n);
        if (!nb)
            return tw_errf(msg, msgsz, TW_ENOMEM, "journal record of %u bytes", n);
        r->buf = nb;
        r->cap = n;
    }
    if (fread(r->buf, 1, n, r->f) != n) {
        r->torn = 1;
        return 0;
    }
    struct iovec v = {r->buf, n};
    if (rec_crc(hdr, &v, 1) != crc) {
        r->torn = 1;
        return 0;
    }
    r->off += TW_REC_HEADER + (uint64_t)n;
    *type = t;
    *payload = r->buf;
    *len = n;
    return 1;
}

void tw_journal_close_read(tw_journal_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}
