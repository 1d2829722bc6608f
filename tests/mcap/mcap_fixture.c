#include "mcap_fixture.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

static const char *source_root(void)
{
    const char *r = getenv("TW_SOURCE_ROOT");
    return r ? r : ".";
}

int mcap_fx_python(const char *script, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "py=$(%s/tests/mcap/python.sh) && \"$py\" %s/tests/mcap/%s %s",
             source_root(), source_root(), script, args);
    int st = system(cmd);
    return st == -1 ? -1 : WEXITSTATUS(st);
}

int mcap_fx_setup(void **state)
{
    mcap_fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/tw-mcap-test-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(fx->dir) || mcap_fx_python("gen_mcap.py", fx->dir) != 0) {
        fprintf(stderr, "mcap fixtures: gen_mcap.py into %s failed\n", fx->dir);
        free(fx);
        return -1;
    }
    json_error_t je;
    fx->expect = json_load_file(mcap_fx_path(fx, "expect.json"), 0, &je);
    if (!fx->expect) {
        fprintf(stderr, "expect.json: %s\n", je.text);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

int mcap_fx_teardown(void **state)
{
    mcap_fx *fx = *state;
    if (!fx)
        return 0;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx->dir);
    json_decref(fx->expect);
    free(fx);
    return 0;
}

const char *mcap_fx_path(const mcap_fx *fx, const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", fx->dir, name);
    return p;
}

static void put_le(unsigned char *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

void mcap_fx_walk(tw_mcap_reader *r, mcap_walk *w)
{
    memset(w, 0, sizeof *w);
    uint64_t last = 0;
    tw_mcap_message m;
    while ((w->rc = tw_mcap_reader_next(r, &m, w->msg, sizeof w->msg)) == 1) {
        unsigned char h[22];
        put_le(h, m.channel_id, 2);
        put_le(h + 2, m.sequence, 4);
        put_le(h + 6, m.log_time, 8);
        put_le(h + 14, m.publish_time, 8);
        uLong c = crc32(0L, h, sizeof h);
        if (m.data_len) /* zlib returns 0 for a NULL buffer */
            c = crc32(c, m.data, (uInt)m.data_len);
        w->checksum += c;
        if (m.log_time < last)
            w->out_of_order++;
        last = m.log_time;
        w->count++;
    }
}
