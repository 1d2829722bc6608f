/* libFuzzer target for everything that decodes untrusted bytes in bridge/:
 *  - the input as one binary websocket message, frame by frame, with and without a
 *    fixed stream table (every kind of stream, so every payload check runs);
 *  - the input as a JSON text message of any type (client requests and server replies:
 *    the client library decodes welcome/status/error from a possibly hostile server);
 *  - the input as one stream declaration.
 * Oracle beyond the sanitizers: a message that decodes must re-encode, and decoding
 * that text must give the same text again (encoder and decoder agree). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_wire.h"

static tw_stream_table *table;

static void add(tw_stream_decl d)
{
    char msg[256];
    if (tw_stream_table_add(table, &d, msg, sizeof msg)) {
        fprintf(stderr, "fuzz table: %s\n", msg);
        abort();
    }
}

static tw_stream_decl decl(uint16_t id, const char *name, tw_kind k, tw_dtype t, uint32_t d0, uint32_t d1)
{
    tw_stream_decl d;
    memset(&d, 0, sizeof d);
    d.id = id;
    snprintf(d.name, sizeof d.name, "%s", name);
    d.kind = k;
    d.dtype = t;
    d.ndim = d0 ? (d1 ? 2 : 1) : 0;
    d.shape[0] = d0;
    d.shape[1] = d1;
    d.rate_hz = 100;
    return d;
}

static tw_stream_decl video(uint16_t id, const char *name, tw_video_enc e, uint32_t w, uint32_t h)
{
    tw_stream_decl d = decl(id, name, TW_KIND_VIDEO, TW_DTYPE_BYTES, 0, 0);
    d.encoding = e;
    d.width = w;
    d.height = h;
    return d;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (tw_stream_table_new(&table))
        abort();
    /* ids match the frames in fuzz/corpus/ (written by fuzz/gen_corpus.py) */
    add(decl(1, "arm", TW_KIND_JOINT_STATE, TW_DTYPE_FLOAT64, 3, 7));
    add(decl(2, "ft", TW_KIND_WRENCH, TW_DTYPE_FLOAT32, 6, 0));
    add(decl(3, "cmd", TW_KIND_ACTION, TW_DTYPE_FLOAT32, 8, 0));
    add(video(4, "cam", TW_VIDEO_H264, 64, 48));
    add(decl(5, "imu", TW_KIND_IMU, TW_DTYPE_FLOAT32, 10, 0));
    add(decl(6, "tensor", TW_KIND_TENSOR, TW_DTYPE_UINT8, 2, 3));
    add(decl(7, "events", TW_KIND_EVENT, TW_DTYPE_BYTES, 0, 0));
    add(video(8, "jpg", TW_VIDEO_JPEG, 8, 8));
    add(video(9, "raw", TW_VIDEO_RGB24, 4, 2));
    return 0;
}

static void frames(const uint8_t *data, size_t size, const tw_stream_table *t)
{
    char msg[512];
    tw_frame_iter it;
    tw_frame f;
    uint64_t sum = 0;
    tw_frame_iter_init(&it, data, size);
    size_t start = 0;
    while (tw_frame_next(&it, t, &f, msg, sizeof msg) == 1) {
        /* touch every payload byte so ASan sees any out-of-bounds pointer */
        for (uint32_t i = 0; i < f.payload_len; i++)
            sum += f.payload[i];
        /* re-encoding a decoded frame must give back exactly the bytes it came from */
        uint8_t hdr[TW_FRAME_HEADER_SIZE];
        tw_frame h = f;
        h.payload_len = 0;
        if (tw_frame_encode(hdr, sizeof hdr, &h) != TW_FRAME_HEADER_SIZE || memcmp(hdr, data + start, 4) ||
            memcmp(hdr + 8, data + start + 8, 16) || it.off - start != TW_FRAME_HEADER_SIZE + (size_t)f.payload_len ||
            f.payload != data + start + TW_FRAME_HEADER_SIZE) {
            fprintf(stderr, "frame at %zu does not re-encode to its bytes\n", start);
            abort();
        }
        start = it.off;
    }
    if (sum == 0x5eed5eed5eedull)
        fprintf(stderr, "unlikely\n");
}

static void message(const uint8_t *data, size_t size)
{
    char msg[512];
    tw_msg m, m2;
    if (tw_msg_decode((const char *)data, size, &m, msg, sizeof msg))
        return;
    char *a = NULL, *b = NULL;
    if (tw_msg_encode(&m, &a, msg, sizeof msg)) {
        fprintf(stderr, "decoded %s does not re-encode: %s\n", tw_msg_type_name(m.type), msg);
        abort();
    }
    if (tw_msg_decode(a, strlen(a), &m2, msg, sizeof msg) || tw_msg_encode(&m2, &b, msg, sizeof msg) ||
        strcmp(a, b) != 0) {
        fprintf(stderr, "re-encoded text does not round-trip: %s\n%s\n%s\n", msg, a, b ? b : "(null)");
        abort();
    }
    free(a);
    free(b);
    tw_msg_clear(&m);
    tw_msg_clear(&m2);
}

static void declaration(const uint8_t *data, size_t size)
{
    char msg[512], *text = NULL;
    tw_stream_decl d, d2;
    if (tw_decl_from_json((const char *)data, size, &d, msg, sizeof msg))
        return;
    if (tw_decl_to_json(&d, &text) || tw_decl_from_json(text, strlen(text), &d2, msg, sizeof msg) ||
        memcmp(&d, &d2, sizeof d) != 0) {
        fprintf(stderr, "declaration does not round-trip: %s\n", text ? text : "(null)");
        abort();
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    frames(data, size, table);
    frames(data, size, NULL);
    message(data, size);
    declaration(data, size);
    return 0;
}
