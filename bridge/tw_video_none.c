/* tw_video.h without FFmpeg, for programs that write or check episodes without video streams
 * (`tw simgen`). The episode writer and finisher reference the video layer for camera streams;
 * linking this file instead of tw_video.c + tw_video_file.c (bridge/meson.build: bridge_novideo_dep)
 * keeps libavformat/libavcodec and their ~120 shared libraries out of such a program. A video
 * stream then fails cleanly with TW_EUNSUPPORTED. No writer is ever opened here, so the calls
 * that take one only see NULL. */
#include "tw_video.h"

static int tw_video_none(const char *what, char *msg, size_t msgsz)
{
    return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "%s: this program is built without video support", what);
}

int tw_video_writer_open(const char *path, const tw_stream_decl *d, tw_video_emit_fn emit, void *ud,
                         tw_video_writer **out, char *msg, size_t msgsz)
{
    *out = NULL;
    return tw_video_none(path, msg, msgsz);
}

int tw_video_writer_write(tw_video_writer *v, const uint8_t *data, size_t len, int64_t t_src_ns,
                          int64_t t_recv_ns, uint64_t seq, int keyflag, char *msg, size_t msgsz)
{
    return tw_video_none("video write", msg, msgsz);
}

int tw_video_writer_flush(tw_video_writer *v, char *msg, size_t msgsz)
{
    return v ? tw_video_none("video flush", msg, msgsz) : 0;
}

int tw_video_writer_close(tw_video_writer *v, int abandon, char *msg, size_t msgsz)
{
    return v ? tw_video_none("video close", msg, msgsz) : 0;
}

uint64_t tw_video_writer_skipped(const tw_video_writer *v) { return 0; }
uint64_t tw_video_writer_bytes(const tw_video_writer *v) { return 0; }

void tw_video_writer_info(const tw_video_writer *v, const char **codec, int *tb_num, int *tb_den)
{
    *codec = "none";
    *tb_num = 1;
    *tb_den = 1000;
}

int tw_video_count_frames(const char *path, uint64_t *frames, uint64_t *keyframes, char *msg, size_t msgsz)
{
    return tw_video_none(path, msg, msgsz);
}

int tw_video_truncate(const char *path, uint64_t nframes, char *msg, size_t msgsz)
{
    return tw_video_none(path, msg, msgsz);
}
