/* Decodes JSON control messages from files with the C decoder (tw_msg_decode), so the
 * schema test can check that the C side agrees with the JSON Schemas.
 * Usage: tw_decode_check --valid|--invalid FILE...
 * Prints one line per file ("ok TYPE" or "rejected CODE: message") and exits 1 when a
 * file's outcome differs from what was asked for, 2 on usage or I/O errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_wire.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = (size_t)TW_MAX_TEXT_MSG + 2, n;
    char *buf = malloc(cap);
    n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "--valid") && strcmp(argv[1], "--invalid"))) {
        fprintf(stderr, "usage: %s --valid|--invalid FILE...\n", argv[0]);
        return 2;
    }
    int want_ok = strcmp(argv[1], "--valid") == 0, mismatches = 0;
    for (int i = 2; i < argc; i++) {
        size_t len;
        char *text = slurp(argv[i], &len), msg[512];
        if (!text) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 2;
        }
        tw_msg m;
        int rc = tw_msg_decode(text, len, &m, msg, sizeof msg);
        if (rc == 0) {
            printf("%s: ok %s\n", argv[i], tw_msg_type_name(m.type));
            tw_msg_clear(&m);
        } else {
            printf("%s: rejected %s: %s\n", argv[i], tw_err_name(rc), msg);
        }
        if ((rc == 0) != want_ok) {
            printf("%s: MISMATCH, expected %s\n", argv[i], want_ok ? "valid" : "invalid");
            mismatches++;
        }
        free(text);
    }
    return mismatches ? 1 : 0;
}
