/* Test helper: rewrites an episode as if the recorder had captured it from a rig ("real" domain):
 * source clock shifted by --offset-ms (with matching clock-offset samples, so alignment must correct it),
 * receive times later by a few ms, optional renamed joint stream / joint names (for --map), optional
 * missing action stream, or no samples at all (--empty). Uses only the bridge episode API. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_episode.h"

typedef struct {
    const char *rename_stream, *joint_prefix, *id;
    double offset_ms;
    int drop_action, empty;
} opts;

static int copy_stream(const tw_episode *e, size_t i, tw_episode_writer *w, uint16_t id, const opts *o)
{
    const tw_stream_decl *d = tw_episode_decl(e, i);
    size_t el = tw_decl_elems(d);
    uint64_t n = o->empty ? 0 : tw_episode_nsamples(e, i);
    double *v = malloc(el * sizeof(double));
    char msg[512];
    int64_t off = (int64_t)(o->offset_ms * 1e6);
    for (uint64_t k = 0; k < n; k++) {
        int64_t ts, tr;
        uint64_t seq;
        if (tw_episode_read(e, i, k, 1, &ts, &tr, &seq, v, msg, sizeof msg)) {
            fprintf(stderr, "mkreal: read: %s\n", msg);
            return 1;
        }
        tw_frame f = {.stream_id = id, .payload_len = (uint32_t)(el * 8), .seq = seq, .t_src_ns = ts + off,
                      .payload = (const uint8_t *)v};
        if (tw_episode_append(w, &f, ts + 3000000 + (int64_t)(k % 7) * 100000, msg, sizeof msg)) {
            fprintf(stderr, "mkreal: append: %s\n", msg);
            return 1;
        }
    }
    free(v);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"rename-stream", 1, 0, 'r'}, {"joint-prefix", 1, 0, 'j'},
                                       {"offset-ms", 1, 0, 'o'}, {"drop-action", 0, 0, 'a'},
                                       {"empty", 0, 0, 'e'}, {"id", 1, 0, 'i'}, {0, 0, 0, 0}};
    opts o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o.rename_stream = optarg; break;
        case 'j': o.joint_prefix = optarg; break;
        case 'o': o.offset_ms = atof(optarg); break;
        case 'a': o.drop_action = 1; break;
        case 'e': o.empty = 1; break;
        case 'i': o.id = optarg; break;
        default: return 2;
        }
    }
    if (argc - optind != 2 || !o.id) {
        fprintf(stderr, "usage: mkreal --id ID [opts] SRC_EPISODE DST_DIR\n");
        return 2;
    }
    char msg[512];
    tw_episode *e;
    if (tw_episode_open(argv[optind], &e, msg, sizeof msg)) {
        fprintf(stderr, "mkreal: %s\n", msg);
        return 1;
    }
    tw_stream_decl d[8];
    size_t map[8], nd = 0;
    for (size_t i = 0; i < tw_episode_nstreams(e) && nd < 8; i++) {
        d[nd] = *tw_episode_decl(e, i);
        if (d[nd].kind == TW_KIND_ACTION && o.drop_action)
            continue;
        if (d[nd].kind == TW_KIND_JOINT_STATE) {
            if (o.rename_stream)
                snprintf(d[nd].name, TW_MAX_NAME, "%s", o.rename_stream);
            for (uint32_t k = 0; o.joint_prefix && k < d[nd].naxes; k++) {
                char t[TW_MAX_NAME];
                snprintf(t, sizeof t, "%s%s", o.joint_prefix, d[nd].axes[k]);
                snprintf(d[nd].axes[k], TW_MAX_NAME, "%s", t);
            }
        }
        d[nd].id = (uint16_t)(10 + nd);
        map[nd++] = i;
    }
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = o.id;
    info.domain = "real";
    info.task = "test rig";
    info.robot = "panda";
    tw_episode_writer *w;
    if (tw_episode_create(argv[optind + 1], &info, d, nd, &w, msg, sizeof msg)) {
        fprintf(stderr, "mkreal: %s\n", msg);
        return 1;
    }
    int rc = 0;
    for (size_t k = 0; k < nd && !rc; k++)
        rc = copy_stream(e, map[k], w, d[k].id, &o);
    /* Clock samples the recorder would have measured: client clock minus recorder clock. */
    for (int k = 0; k < 20 && !rc && !o.empty; k++)
        tw_episode_clock(w, (int64_t)k * 50000000, (int64_t)(o.offset_ms * 1e6) + (k % 3) * 20000, 400000);
    tw_episode_close(w, TW_EP_COMPLETE, 1, msg, sizeof msg);
    tw_episode_close_reader(e);
    return rc;
}
