/* The episode library's video seam: camera streams go through the backend a program registers
 * (bridge/media), chosen at run time rather than by which stub file the linker sees. The tw_epv_*
 * calls are what the writer, the finisher and verify use; with no backend they fail cleanly. */
#include <stdatomic.h>

#include "tw_episode_int.h"

static _Atomic(const tw_episode_video *) backend;

void tw_episode_set_video(const tw_episode_video *b) { atomic_store(&backend, b); }

const tw_episode_video *tw_episode_get_video(void) { return atomic_load(&backend); }

static int none(const char *what, char *msg, size_t msgsz)
{
    return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "%s: this program has no video support (bridge/media)", what);
}

int tw_epv_open(const char *path, const tw_stream_decl *d, tw_video_emit_fn emit, void *ud, tw_video_writer **out,
                char *msg, size_t msgsz)
{
    const tw_episode_video *b = tw_episode_get_video();
    *out = NULL;
    return b ? b->writer_open(path, d, emit, ud, out, msg, msgsz) : none(path, msg, msgsz);
}

int tw_epv_write(tw_video_writer *v, const uint8_t *data, size_t len, int64_t t_src_ns, int64_t t_recv_ns,
                 uint64_t seq, int keyflag, char *msg, size_t msgsz)
{
    const tw_episode_video *b = tw_episode_get_video();
    return b && v ? b->writer_write(v, data, len, t_src_ns, t_recv_ns, seq, keyflag, msg, msgsz)
                  : none("video write", msg, msgsz);
}

int tw_epv_flush(tw_video_writer *v, char *msg, size_t msgsz)
{
    const tw_episode_video *b = tw_episode_get_video();
    return b && v ? b->writer_flush(v, msg, msgsz) : 0;
}

int tw_epv_close(tw_video_writer *v, int abandon, char *msg, size_t msgsz)
{
    const tw_episode_video *b = tw_episode_get_video();
    return b && v ? b->writer_close(v, abandon, msg, msgsz) : 0;
}

uint64_t tw_epv_bytes(const tw_video_writer *v)
{
    const tw_episode_video *b = tw_episode_get_video();
    return b && v ? b->writer_bytes(v) : 0;
}

int tw_epv_count_frames(const char *path, uint64_t *frames, uint64_t *keyframes, char *msg, size_t msgsz)
{
    const tw_episode_video *b = tw_episode_get_video();
    return b ? b->count_frames(path, frames, keyframes, msg, msgsz) : none(path, msg, msgsz);
}

int tw_epv_truncate(const char *path, uint64_t nframes, char *msg, size_t msgsz)
{
    const tw_episode_video *b = tw_episode_get_video();
    return b ? b->truncate(path, nframes, msg, msgsz) : none(path, msg, msgsz);
}
