/* Reading side of the per-camera video files: frame counts for `tw inspect`, and the
 * remux that recovery uses to cut a crashed file to the frames its index knows. */
#include "tw_media.h"

#include <errno.h>
#include <fcntl.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int av_err(char *msg, size_t msgsz, int err, const char *what, const char *path)
{
    char b[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(err, b, sizeof b);
    return tw_errf(msg, msgsz, err == AVERROR(ENOENT) ? TW_ENOT_FOUND : TW_EAV, "%s %s: %s", what, path, b);
}

static int open_input(const char *path, AVFormatContext **in, int *vs, char *msg, size_t msgsz)
{
    *in = NULL;
    int r = avformat_open_input(in, path, NULL, NULL);
    if (r < 0)
        return av_err(msg, msgsz, r, "open video", path);
    /* no avformat_find_stream_info: Matroska's header has the codec parameters, and
     * counting or copying packets needs no decoding */
    r = av_find_best_stream(*in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (r < 0) {
        avformat_close_input(in);
        return av_err(msg, msgsz, r, "no video stream in", path);
    }
    *vs = r;
    return 0;
}

int tw_video_count_frames(const char *path, uint64_t *frames, uint64_t *keyframes, char *msg, size_t msgsz)
{
    AVFormatContext *in;
    int vs, rc = open_input(path, &in, &vs, msg, msgsz);
    *frames = 0;
    if (keyframes)
        *keyframes = 0;
    if (rc)
        return rc;
    AVPacket *pkt = av_packet_alloc();
    if (!pkt) {
        avformat_close_input(&in);
        return tw_errf(msg, msgsz, TW_ENOMEM, "packet");
    }
    /* a file cut by a crash ends in a torn cluster: the demuxer stops there, which is the answer */
    while (av_read_frame(in, pkt) >= 0) {
        if (pkt->stream_index == vs) {
            (*frames)++;
            if (keyframes && (pkt->flags & AV_PKT_FLAG_KEY))
                (*keyframes)++;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&in);
    return 0;
}

static int remux(AVFormatContext *in, int vs, const char *tmp, uint64_t nframes, char *msg, size_t msgsz)
{
    AVFormatContext *out = NULL;
    AVPacket *pkt = av_packet_alloc();
    int r = avformat_alloc_output_context2(&out, NULL, "matroska", tmp);
    if (r < 0 || !pkt) {
        av_packet_free(&pkt);
        return tw_errf(msg, msgsz, TW_ENOMEM, "muxer for %s", tmp);
    }
    AVStream *st = avformat_new_stream(out, NULL);
    int rc = 0;
    if (!st || avcodec_parameters_copy(st->codecpar, in->streams[vs]->codecpar) < 0) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "stream for %s", tmp);
        goto done;
    }
    st->codecpar->codec_tag = 0;
    av_dict_copy(&out->metadata, in->metadata, 0); /* keeps TELEWORLD_FORMAT */
    st->time_base = in->streams[vs]->time_base;
    if ((r = avio_open(&out->pb, tmp, AVIO_FLAG_WRITE)) < 0 || (r = avformat_write_header(out, NULL)) < 0) {
        rc = av_err(msg, msgsz, r, "write", tmp);
        goto done;
    }
    for (uint64_t n = 0; n < nframes && av_read_frame(in, pkt) >= 0;) {
        if (pkt->stream_index == vs) {
            av_packet_rescale_ts(pkt, in->streams[vs]->time_base, st->time_base);
            pkt->stream_index = 0;
            pkt->pos = -1;
            if ((r = av_write_frame(out, pkt)) < 0) {
                av_packet_unref(pkt);
                rc = av_err(msg, msgsz, r, "write", tmp);
                goto done;
            }
            n++;
        }
        av_packet_unref(pkt);
    }
    if ((r = av_write_trailer(out)) < 0)
        rc = av_err(msg, msgsz, r, "finish", tmp);
done:
    if (out && out->pb)
        avio_closep(&out->pb);
    avformat_free_context(out);
    av_packet_free(&pkt);
    return rc;
}

int tw_video_truncate(const char *path, uint64_t nframes, char *msg, size_t msgsz)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.mkv", path) >= (int)sizeof tmp)
        return tw_errf(msg, msgsz, TW_EINVAL, "path too long: %s", path);
    AVFormatContext *in;
    int vs, rc = open_input(path, &in, &vs, msg, msgsz);
    if (rc)
        return rc;
    unlink(tmp);
    rc = remux(in, vs, tmp, nframes, msg, msgsz);
    avformat_close_input(&in);
    if (rc == 0 && tw_fsync_path(tmp) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "fsync %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = tw_errf(msg, msgsz, TW_EIO, "rename %s: %s", tmp, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}
