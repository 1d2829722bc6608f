/* Video sync check: decodes a camera file and reads the frame number the rig painted into each
 * frame (bridge/media/tw_media.h). Frame k of the file is entry k of the episode's video index;
 * if the index's timestamps point at the right frames, the painted numbers advance exactly as
 * the index times do: offset_k = (n_k - n_0) - round((t_k - t_0) * rate) is 0. The median
 * offset, in frames, is reported. Missing file, undecodable video or frames without a code are
 * reported in the note, never as a failure of the replay. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_recon_int.h"
#include "tw_media.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void decode_and_compare(const char *path, const tw_video_index_entry *ix, size_t n, double rate,
                               int max_frames, tw_vsync *out)
{
    char msg[256];
    tw_vdecode *dec = NULL;
    if (tw_vdecode_open(path, TW_PIX_GRAY8, &dec, msg, sizeof msg) < 0) {
        snprintf(out->note, sizeof out->note, "cannot open video: %s", msg);
        return;
    }
    double *off = malloc((size_t)max_frames * sizeof *off);
    int have0 = 0, noff = 0;
    uint32_t n0 = 0;
    int64_t t0 = 0;
    tw_vframe f;
    int rc = 0;
    for (size_t k = 0; off && k < n && (int)k < max_frames && (rc = tw_vdecode_next(dec, &f, msg, sizeof msg)) == 0; k++) {
        uint32_t num;
        if (tw_framecode_read(f.data, f.width, f.height, f.stride, f.fmt, &num, NULL, 0) < 0) {
            out->unreadable++;
            continue;
        }
        if (!have0) {
            have0 = 1;
            n0 = num;
            t0 = ix[k].t_src_ns;
        }
        double expect = round((double)(ix[k].t_src_ns - t0) * 1e-9 * rate);
        off[noff++] = (double)((int64_t)num - (int64_t)n0) - expect;
    }
    if (rc < 0)
        snprintf(out->note, sizeof out->note, "decoding stopped: %s", msg);
    out->checked = noff;
    if (noff > 0) {
        qsort(off, (size_t)noff, sizeof *off, cmp_d);
        out->offset_frames = off[noff / 2];
        out->ok = 1;
    } else if (!out->note[0]) {
        snprintf(out->note, sizeof out->note, "no frame carried a readable frame number");
    }
    free(off);
    tw_vdecode_close(dec);
}

void tw_vsync_check(const tw_episode *e, size_t si, int max_frames, tw_vsync *out)
{
    memset(out, 0, sizeof *out);
    out->offset_frames = NAN;
    const tw_stream_decl *d = tw_episode_decl(e, si);
    snprintf(out->name, sizeof out->name, "%s", d->name);
    tw_video_index_entry *ix = NULL;
    size_t n = 0;
    char path[4096] = "", msg[256];
    if (tw_episode_read_video_index(e, si, &ix, &n, path, sizeof path, msg, sizeof msg) < 0) {
        snprintf(out->note, sizeof out->note, "no video index: %s", msg);
        return;
    }
    if (n == 0)
        snprintf(out->note, sizeof out->note, "video index is empty");
    else if (!path[0] || access(path, R_OK) != 0)
        snprintf(out->note, sizeof out->note, "video file missing: %s", path[0] ? path : "(none)");
    else
        decode_and_compare(path, ix, n, d->rate_hz > 0 ? d->rate_hz : 30, max_frames, out);
    free(ix);
}
