/* libFuzzer target for the tw_mcap reader (bridge/mcap): the input is a file; open it, list
 * schemas, channels, metadata and attachments (reading each attachment's data), and read every
 * message. Any return code is fine; crashes, leaks, sanitizer reports and hangs are not. The
 * reader goes through pread on a path, so the input lives in a memfd named by /proc/self/fd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tw_mcap.h"

static int fd = -1;
static char path[64];

static void walk(tw_mcap_reader *r)
{
    tw_mcap_info info;
    tw_mcap_reader_info(r, &info);
    volatile size_t sink = strlen(info.warning) + strlen(info.profile);
    for (size_t i = 0; i < tw_mcap_reader_schema_count(r); i++) {
        tw_mcap_schema s;
        if (tw_mcap_reader_schema(r, i, &s) == 0)
            sink += strlen(s.name) + strlen(s.encoding) + (s.data_len ? s.data[s.data_len - 1] : 0);
    }
    for (size_t i = 0; i < tw_mcap_reader_channel_count(r); i++) {
        tw_mcap_channel c;
        if (tw_mcap_reader_channel(r, i, &c) == 0)
            for (size_t k = 0; k < c.n_metadata; k++)
                sink += strlen(c.metadata_keys[k]) + strlen(c.metadata_values[k]) + strlen(c.topic);
    }
    for (size_t i = 0; i < tw_mcap_reader_metadata_count(r); i++) {
        tw_mcap_metadata m;
        if (tw_mcap_reader_metadata(r, i, &m) == 0)
            for (size_t k = 0; k < m.n; k++)
                sink += strlen(m.keys[k]) + strlen(m.values[k]);
    }
    for (size_t i = 0; i < tw_mcap_reader_attachment_count(r); i++) {
        const uint8_t *d;
        size_t n;
        if (tw_mcap_reader_attachment_data(r, i, &d, &n, NULL, 0) == 0 && n)
            sink += d[n - 1];
    }
    tw_mcap_message m;
    char msg[256];
    while (tw_mcap_reader_next(r, &m, msg, sizeof msg) == 1)
        if (m.data_len)
            sink += m.data[0] + m.data[m.data_len - 1];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("fuzz_mcap", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    /* small limits: a hostile length must be refused, not allocated */
    tw_mcap_read_opts o;
    tw_mcap_read_opts_init(&o);
    o.max_record_bytes = 1 << 20;
    o.max_buffer_bytes = 4 << 20;
    tw_mcap_reader *r = NULL;
    char msg[256];
    if (tw_mcap_reader_open(path, &o, &r, msg, sizeof msg) == 0)
        walk(r);
    tw_mcap_reader_close(r);
    return 0;
}
