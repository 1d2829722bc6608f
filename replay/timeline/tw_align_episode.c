/* The alignment source backed by an episode reader (bridge/episode/tw_episode.h). */
#include "tw_timeline.h"

static size_t ep_nstreams(void *ctx) { return tw_episode_nstreams(ctx); }
static const tw_stream_decl *ep_decl(void *ctx, size_t i) { return tw_episode_decl(ctx, i); }
static uint64_t ep_nsamples(void *ctx, size_t i) { return tw_episode_nsamples(ctx, i); }

static int ep_read(void *ctx, size_t i, uint64_t start, uint64_t count, int64_t *t_src_ns,
                   int64_t *t_recv_ns, uint64_t *seq, double *data, char *msg, size_t msgsz)
{
    return tw_episode_read(ctx, i, start, count, t_src_ns, t_recv_ns, seq, data, msg, msgsz);
}

static int ep_clock(void *ctx, tw_clock_sample **out, size_t *n, char *msg, size_t msgsz)
{
    return tw_episode_read_clock(ctx, out, n, msg, msgsz);
}

static int ep_video(void *ctx, size_t i, tw_video_index_entry **out, size_t *n, char *msg, size_t msgsz)
{
    char path[4096];
    return tw_episode_read_video_index(ctx, i, out, n, path, sizeof path, msg, msgsz);
}

static const tw_align_source episode_source = {
    .nstreams = ep_nstreams,
    .decl = ep_decl,
    .nsamples = ep_nsamples,
    .read = ep_read,
    .clock = ep_clock,
    .video_index = ep_video,
};

int tw_align_open_episode(const tw_episode *e, const tw_align_opts *o, tw_align **out, char *msg,
                          size_t msgsz)
{
    /* The reader API takes const handles; the source interface passes a plain context. */
    return tw_align_open(&episode_source, (void *)e, o, out, msg, msgsz);
}
