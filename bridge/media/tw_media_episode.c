/* bridge/media as the episode library's video backend (tw_episode.h, "video backend"). */
#include "tw_media.h"

static const tw_episode_video media_backend = {
    .writer_open = tw_video_writer_open,
    .writer_write = tw_video_writer_write,
    .writer_flush = tw_video_writer_flush,
    .writer_close = tw_video_writer_close,
    .writer_bytes = tw_video_writer_bytes,
    .count_frames = tw_video_count_frames,
    .truncate = tw_video_truncate,
};

void tw_media_use_for_episodes(void) { tw_episode_set_video(&media_backend); }
