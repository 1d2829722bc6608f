/* tw import mcap BAG.mcap|BAG_DIR --out EPISODES_DIR: ROS 2 bags (rosbag2 directories or MCAP files) to
 * teleworld episodes (schemas/mcap.md). Two passes over the bag: the first reads up to IMP_PLAN_SAMPLES
 * messages per topic to fix each stream's declaration (joint names, picture size) and rate, the second
 * writes the episodes. Episodes are built under OUT/.tw-import-<pid>/ and renamed into OUT only when the
 * whole bag imported; on any error nothing appears in OUT. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_mcap.h"
#include "tw_convert.h"
#include "tw_media.h"

typedef struct {
    const char *src, *out, *topics, *split_on, *task, *robot;
    double gap_s;
} imp_opts;

typedef struct {
    imp im;
    imp_opts o;
    char tmp[4096], bag_id[TW_MAX_NAME], ep_id[TW_MAX_NAME], note[1024];
    tw_episode_writer *w;
    int ep_no, splitting;
    char **done;
    size_t ndone;
    int64_t last_log, clk_sec, clk_best, clk_t;
    int have_last, clk_have;
    uint64_t msgs, bytes;
} imp_run;

static void usage(FILE *f)
{
    fprintf(f, "usage: tw import mcap BAG.mcap|BAG_DIR --out EPISODES_DIR [--topics MAP.json]\n"
               "                     [--split-on TOPIC | --episode-gap SECONDS] [--task T] [--robot R]\n\n"
               "One episode per bag (a rosbag2 directory: metadata.yaml + .mcap files, or one .mcap file),\n"
               "or one per message on TOPIC, or one per stretch without a gap longer than SECONDS.\n"
               "Topics become streams by message type (schemas/mcap.md), --topics overrides; header.stamp\n"
               "is the source time, the MCAP log_time the receive time. JPEG/PNG become H.264 video, H.264\n"
               "passes through. Topics not imported are listed at the end. A cut bag imports what precedes\n"
               "the cut and says where it stopped. Exit status 0 ok, 1 failure, 2 usage.\n");
}

/* bridge/mcap's messages name the file, the byte offset and the record. */
static tw_mcap_reader *open_reader(const char *file, char *note, size_t notesz, int *rc, char *err, size_t errsz)
{
    tw_mcap_reader *r = NULL;
    if ((*rc = tw_mcap_reader_open(file, NULL, &r, err, errsz)) < 0)
        return NULL;
    tw_mcap_info info;
    if (tw_mcap_reader_info(r, &info) == 0 && info.recovered && note && !note[0])
        snprintf(note, notesz, "%s (imported every message before offset %llu of %llu)", info.warning,
                 (unsigned long long)info.stop_offset, (unsigned long long)info.file_size);
    return r;
}

/* First pass: declarations and rates from the first messages of every topic. */
static int plan(imp_run *R, char **files, size_t nfiles, char *err, size_t errsz)
{
    for (size_t f = 0; f < nfiles; f++) {
        int rc, more = 1;
        tw_mcap_reader *r = open_reader(files[f], NULL, 0, &rc, err, errsz);
        if (!r)
            return rc;
        rc = imp_map_channels(&R->im, r, files[f], err, errsz);
        tw_mcap_message msg;
        char m[1024] = "";
        while (rc >= 0 && more && (rc = tw_mcap_reader_next(r, &msg, m, sizeof m)) == 1) {
            int32_t slot;
            if ((rc = imp_channel_of(&R->im, r, files[f], msg.channel_id, &slot, err, errsz)) < 0 || slot < 0)
                continue;
            imp_mapped *p = &R->im.m[slot];
            if (p->n_plan >= IMP_PLAN_SAMPLES)
                continue;
            tw_rossample s;
            if ((rc = tw_rostopic_sample(p->t, msg.data, msg.data_len, (int64_t)msg.log_time, &s, m, sizeof m)) < 0) {
                tw_errf(err, errsz, rc, "%s: message at log_time %llu on %s: %s", files[f],
                        (unsigned long long)msg.log_time, tw_rostopic_topic(p->t), m);
                break;
            }
            p->first = p->n_plan++ ? p->first : (int64_t)msg.log_time;
            p->last = (int64_t)msg.log_time;
            more = 0;
            for (size_t i = 0; i < R->im.nm; i++)
                more |= R->im.m[i].n_plan < IMP_PLAN_SAMPLES;
        }
        if (rc < 0 && m[0] && !err[0])
            snprintf(err, errsz, "%s", m);
        tw_mcap_reader_close(r);
        if (rc < 0)
            return rc;
        if (!more)
            break;
    }
    uint16_t sid = 0;
    for (size_t i = 0; i < R->im.nm; i++) {
        imp_mapped *p = &R->im.m[i];
        tw_stream_decl *d = (tw_stream_decl *)tw_rostopic_decl(p->t);
        if (!d)
            continue;
        p->sid = ++sid;
        d->id = p->sid;
        if (p->n_plan >= 2 && p->last > p->first)
            d->rate_hz = (double)(p->n_plan - 1) * 1e9 / (double)(p->last - p->first);
    }
    R->im.planned = 1;
    return 0;
}

static int begin_episode(imp_run *R, int64_t t0, char *err, size_t errsz)
{
    tw_stream_decl decls[TW_MAX_STREAMS];
    size_t n = 0;
    for (size_t i = 0; i < R->im.nm; i++) {
        R->im.m[i].seq = 0;
        if (R->im.m[i].sid)
            decls[n++] = *tw_rostopic_decl(R->im.m[i].t);
    }
    if (R->splitting)
        snprintf(R->ep_id, sizeof R->ep_id, "%.55s-%03d", R->bag_id, R->ep_no);
    else
        snprintf(R->ep_id, sizeof R->ep_id, "%s", R->bag_id);
    R->ep_no++;
    char dir[4200], meta[2048];
    snprintf(dir, sizeof dir, "%s/%s", R->tmp, R->ep_id);
    snprintf(meta, sizeof meta, "{\"source\":\"mcap\",\"bag\":\"%s\"}", R->bag_id);
    tw_episode_info info;
    tw_episode_info_init(&info);
    info.episode_id = R->ep_id;
    info.session_id = "";
    info.task = R->o.task;
    info.robot = R->o.robot;
    info.domain = "real";
    info.metadata_json = meta;
    info.started_ns = t0;
    info.software_version = TW_VERSION;
    char m[1024] = "";
    int rc = tw_episode_create(dir, &info, decls, n, &R->w, m, sizeof m);
    if (rc < 0)
        return tw_errf(err, errsz, rc, "episode %s: %s", R->ep_id, m);
    R->clk_have = 0;
    return 0;
}

static int end_episode(imp_run *R, char *err, size_t errsz)
{
    if (!R->w)
        return 0;
    if (R->clk_have)
        tw_episode_clock(R->w, R->clk_t, R->clk_best, 0);
    if (R->note[0])
        tw_episode_set_meta(R->w, "truncated", "true");
    char m[1024] = "";
    int rc = tw_episode_close(R->w, TW_EP_COMPLETE, -1, m, sizeof m);
    R->w = NULL;
    if (rc < 0)
        return tw_errf(err, errsz, rc, "episode %s: %s", R->ep_id, m);
    char **d = realloc(R->done, (R->ndone + 1) * sizeof *d);
    if (!d || !(d[R->ndone] = strdup(R->ep_id)))
        return tw_errf(err, errsz, TW_ENOMEM, "out of memory");
    R->done = d;
    R->ndone++;
    return 0;
}

/* Clock samples: per second of log time, the message that arrived soonest after its stamp (largest
 * stamp - log_time) is the best estimate of source clock minus receive clock, as a min-RTT ping is. */
static void clock_note(imp_run *R, int64_t stamp, int64_t log)
{
    int64_t sec = log / 1000000000, off = stamp - log;
    if (R->clk_have && sec != R->clk_sec) {
        tw_episode_clock(R->w, R->clk_t, R->clk_best, 0);
        R->clk_have = 0;
    }
    if (!R->clk_have || off > R->clk_best)
        R->clk_best = off, R->clk_t = log;
    R->clk_sec = sec;
    R->clk_have = 1;
}

static int boundary(imp_run *R, const char *topic, int64_t log, char *err, size_t errsz)
{
    int cut = (R->o.split_on && !strcmp(topic, R->o.split_on)) ||
              (R->o.gap_s > 0 && R->have_last && (double)(log - R->last_log) > R->o.gap_s * 1e9);
    R->last_log = log;
    R->have_last = 1;
    return cut ? end_episode(R, err, errsz) : 0;
}

static int one_message(imp_run *R, tw_mcap_reader *r, const char *file, const tw_mcap_message *msg, char *err,
                       size_t errsz)
{
    int32_t slot;
    int rc = imp_channel_of(&R->im, r, file, msg->channel_id, &slot, err, errsz);
    if (rc < 0)
        return rc;
    tw_mcap_channel c;
    if (tw_mcap_reader_channel_by_id(r, msg->channel_id, &c) == 0 && (rc = boundary(R, c.topic, (int64_t)msg->log_time, err, errsz)) < 0)
        return rc;
    if (slot < 0) {
        if (slot <= -2)
            R->im.u[-slot - 2].count++;
        return 0;
    }
    imp_mapped *p = &R->im.m[slot];
    if (!p->sid)
        return 0;
    tw_rossample s;
    char m[1024] = "";
    int64_t log = (int64_t)msg->log_time;
    if ((rc = tw_rostopic_sample(p->t, msg->data, msg->data_len, log, &s, m, sizeof m)) < 0)
        return tw_errf(err, errsz, rc, "%s: message at log_time %lld on %s: %s", file, (long long)log,
                       tw_rostopic_topic(p->t), m);
    if (!R->w && (rc = begin_episode(R, log, err, errsz)) < 0)
        return rc;
    tw_frame f = {.stream_id = p->sid, .flags = s.keyframe ? TW_FLAG_KEYFRAME : 0, .payload_len = (uint32_t)s.len,
                  .seq = p->seq++, .t_src_ns = s.t_src_ns, .payload = s.payload};
    if ((rc = tw_episode_append(R->w, &f, log, m, sizeof m)) < 0)
        return tw_errf(err, errsz, rc, "%s: message at log_time %lld on %s: %s", file, (long long)log,
                       tw_rostopic_topic(p->t), m);
    if (s.has_stamp)
        clock_note(R, s.t_src_ns, log);
    p->total++;
    R->msgs++;
    R->bytes += msg->data_len;
    return 0;
}

static int import_files(imp_run *R, char **files, size_t nfiles, char *err, size_t errsz)
{
    for (size_t f = 0; f < nfiles; f++) {
        int rc;
        tw_mcap_reader *r = open_reader(files[f], R->note, sizeof R->note, &rc, err, errsz);
        if (!r)
            return rc;
        rc = imp_map_channels(&R->im, r, files[f], err, errsz);
        tw_mcap_message msg;
        char m[1024] = "";
        while (rc >= 0 && (rc = tw_mcap_reader_next(r, &msg, m, sizeof m)) == 1)
            rc = one_message(R, r, files[f], &msg, err, errsz);
        if (rc < 0 && m[0] && !err[0])
            snprintf(err, errsz, "%s", m);
        tw_mcap_reader_close(r);
        if (rc < 0)
            return rc;
    }
    return end_episode(R, err, errsz);
}

static void bag_id_of(const char *src, char *out, size_t outsz)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", src);
    size_t l = strlen(tmp);
    while (l > 1 && tmp[l - 1] == '/')
        tmp[--l] = 0;
    char *b = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
    l = strlen(b);
    if (l > 5 && !strcmp(b + l - 5, ".mcap"))
        b[l - 5] = 0;
    tw_rosmap_stream_name(b, out, outsz);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

/* The temporary directory and whatever an interrupted import left in it (depth first, no symlinks followed). */
static void rm_tree(const char *dir)
{
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        fprintf(stderr, "tw import mcap: could not remove %s: %s\n", dir, strerror(errno));
}

/* Moves every finished episode from the temporary directory into OUT and makes the renames durable. */
static int publish(imp_run *R, char *err, size_t errsz)
{
    for (size_t i = 0; i < R->ndone; i++) { /* all or nothing: refuse before moving any */
        char b[4200];
        struct stat st;
        snprintf(b, sizeof b, "%s/%s", R->o.out, R->done[i]);
        if (stat(b, &st) == 0)
            return tw_errf(err, errsz, TW_ESTATE, "%s already exists", b);
    }
    for (size_t i = 0; i < R->ndone; i++) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/%s", R->tmp, R->done[i]);
        snprintf(b, sizeof b, "%s/%s", R->o.out, R->done[i]);
        if (rename(a, b) < 0)
            return tw_errf(err, errsz, TW_EIO, "rename %s -> %s: %s", a, b, strerror(errno));
    }
    int fd = open(R->o.out, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

static void report(const imp_run *R)
{
    for (size_t i = 0; i < R->im.nm; i++) {
        const imp_mapped *p = &R->im.m[i];
        const tw_stream_decl *d = tw_rostopic_decl(p->t);
        if (d)
            printf("  %-28s -> %-22s %-11s %8llu messages, %.1f Hz\n", tw_rostopic_topic(p->t), d->name,
                   tw_kind_name(d->kind), (unsigned long long)p->total, d->rate_hz);
        else
            printf("  not imported: %s (no message)\n", tw_rostopic_topic(p->t));
    }
    for (size_t i = 0; i < R->im.nu; i++)
        printf("  not imported: %s (%s, %llu messages): %s\n", R->im.u[i].topic,
               R->im.u[i].type[0] ? R->im.u[i].type : "no schema", (unsigned long long)R->im.u[i].count,
               R->im.u[i].why);
    if (R->note[0])
        printf("stopped early: %s\n", R->note);
}

static int run_import(imp_run *R, char *err, size_t errsz)
{
    char **files = NULL;
    size_t nfiles = 0;
    tw_rosmap *map = NULL;
    int rc = tw_rosmap_load(R->o.topics, &map, err, errsz);
    if (rc < 0 || (rc = imp_bag_files(R->o.src, &files, &nfiles, err, errsz)) < 0)
        goto done;
    R->im.map = map;
    R->im.chan = malloc(65536 * sizeof(int32_t));
    bag_id_of(R->o.src, R->bag_id, sizeof R->bag_id);
    R->splitting = R->o.split_on || R->o.gap_s > 0;
    mkdir(R->o.out, 0755);
    snprintf(R->tmp, sizeof R->tmp, "%s/.tw-import-%d", R->o.out, (int)getpid());
    if (!R->im.chan || mkdir(R->tmp, 0755) < 0) {
        rc = tw_errf(err, errsz, TW_EIO, "cannot create %s: %s", R->tmp, strerror(errno));
        goto done;
    }
    if ((rc = plan(R, files, nfiles, err, errsz)) >= 0 && (rc = import_files(R, files, nfiles, err, errsz)) >= 0)
        rc = publish(R, err, errsz);
    if (rc < 0 && R->w)
        tw_episode_close(R->w, TW_EP_ERROR, -1, NULL, 0);
    rm_tree(R->tmp);
done:
    imp_bag_files_free(files, nfiles);
    tw_rosmap_free(map);
    return rc;
}

int tw_import_mcap(int argc, char **argv)
{
    static const struct option lo[] = {{"out", 1, 0, 'o'},      {"topics", 1, 0, 't'}, {"split-on", 1, 0, 's'},
                                       {"episode-gap", 1, 0, 'g'}, {"task", 1, 0, 'T'}, {"robot", 1, 0, 'R'},
                                       {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    imp_run *R = calloc(1, sizeof *R);
    int c, st = 2;
    optind = 1;
    while (R && (c = getopt_long(argc, argv, "o:t:s:g:T:R:h", lo, NULL)) != -1) {
        switch (c) {
        case 'o': R->o.out = optarg; break;
        case 't': R->o.topics = optarg; break;
        case 's': R->o.split_on = optarg; break;
        case 'g': R->o.gap_s = atof(optarg); break;
        case 'T': R->o.task = optarg; break;
        case 'R': R->o.robot = optarg; break;
        case 'h': usage(stdout); st = 0; goto out;
        default: usage(stderr); goto out;
        }
    }
    if (!R || optind != argc - 1 || !R->o.out || (R->o.split_on && R->o.gap_s > 0)) {
        usage(stderr);
        goto out;
    }
    R->o.src = argv[optind];
    tw_media_use_for_episodes();
    char err[2048] = "";
    double t0 = tw_mono_s();
    int rc = run_import(R, err, sizeof err);
    report(R);
    if (rc < 0) {
        fprintf(stderr, "tw import mcap: %s (%s); nothing written to %s\n", err, tw_err_name(rc), R->o.out);
        st = 1;
        goto out;
    }
    printf("imported %s: %zu episode(s), %llu messages (%.1f MB of messages) in %.2f s\n", R->o.src, R->ndone,
           (unsigned long long)R->msgs, (double)R->bytes / 1e6, tw_mono_s() - t0);
    for (size_t i = 0; i < R->ndone; i++)
        printf("  %s/%s\n", R->o.out, R->done[i]);
    st = 0;
out:
    if (R) {
        for (size_t i = 0; i < R->im.nm; i++)
            tw_rostopic_close(R->im.m[i].t);
        for (size_t i = 0; i < R->ndone; i++)
            free(R->done[i]);
        free(R->done);
        free(R->im.u);
        free(R->im.chan);
        free(R);
    }
    return st;
}
