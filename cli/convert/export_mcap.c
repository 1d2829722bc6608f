/* tw export mcap EPISODE_DIR --out FILE.mcap: an episode as ROS 2 messages (schemas/mcap.md "Export
 * layout"): joint_state -> sensor_msgs/msg/JointState, wrench -> geometry_msgs/msg/WrenchStamped,
 * action -> std_msgs/msg/Float64MultiArray (CDR, ros2msg schemas from bridge/ros2), H.264 video ->
 * foxglove_msgs/msg/CompressedVideo; zstd chunks; messages merged in receive-time order (log_time =
 * t_recv_ns, header.stamp = t_src_ns). Streams are read in blocks, so memory does not grow with the
 * episode. The file appears under its name only when complete (bridge/mcap writes .tmp + rename). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_mcap.h"
#include "tw_convert.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: tw export mcap EPISODE_DIR --out FILE.mcap [--chunk-kb N]\n\n"
               "Writes the episode as ROS 2 messages (CDR, ros2msg schemas) and its H.264 video as\n"
               "foxglove_msgs/msg/CompressedVideo in zstd chunks: the Foxglove app and Rerun open it.\n"
               "Topics are /<stream name>; kinds without a ROS 2 message (imu, tensor, event, JPEG video)\n"
               "are listed and left out. Exit status 0 ok, 1 failure, 2 usage.\n");
}

/* Fills the next block of a signal stream; returns the number of samples now buffered. */
static int fill(exp_stream *s, const tw_episode *e, char *err, size_t errsz)
{
    if (s->pos < s->nbuf || s->next >= s->total)
        return 0;
    uint64_t n = s->total - s->next < EXP_BLOCK ? s->total - s->next : EXP_BLOCK;
    int rc = tw_episode_read(e, s->idx, s->next, n, s->t_src, s->t_recv, NULL, s->data, err, errsz);
    if (rc < 0)
        return rc;
    s->next += n;
    s->nbuf = (size_t)n;
    s->pos = 0;
    return 0;
}

static int encode_signal(exp_stream *s, const double *v, int64_t t_src, exp_buf *b, char *err, size_t errsz)
{
    const tw_stream_decl *d = s->decl;
    size_t n = d->shape[1], len = 0;
    tw_ros2_enc_joint_state js = {t_src, d->frame, n, d->naxes == n ? s->names : NULL, v, v + n, v + 2 * n};
    tw_ros2_enc_wrench w = {t_src, d->frame, {v[0], v[1], v[2]}, {v[3], v[4], v[5]}};
    tw_ros2_enc_f64_array a = {tw_decl_elems(d), v, d->name};
    int rc = 0;
    for (int pass = 0; pass < 2 && rc >= 0; pass++) { /* size, then bytes */
        uint8_t *p = pass ? b->p : NULL;
        if (d->kind == TW_KIND_JOINT_STATE)
            rc = tw_ros2_encode_joint_state(&js, p, b->cap, &len, err, errsz);
        else if (d->kind == TW_KIND_WRENCH)
            rc = tw_ros2_encode_wrench(&w, p, b->cap, &len, err, errsz);
        else
            rc = tw_ros2_encode_f64_array(&a, p, b->cap, &len, err, errsz);
        if (rc >= 0 && !pass)
            rc = exp_buf_grow(b, len, err, errsz);
    }
    b->len = len;
    return rc;
}

/* Writes the sample at the head of stream s and advances it. */
static int write_head(exp_run *x, exp_stream *s, char *err, size_t errsz)
{
    int64_t t_src, t_recv;
    char m[1024] = "";
    int rc;
    if (s->decl->kind == TW_KIND_VIDEO) {
        if ((rc = exp_video_next(s, &x->buf, m, sizeof m)) < 0)
            return tw_errf(err, errsz, rc, "%s: video %s: %s", x->dir, s->decl->name, m);
        t_src = s->vidx[s->next].t_src_ns;
        t_recv = s->vidx[s->next].t_recv_ns;
        s->next++;
    } else {
        t_src = s->t_src[s->pos];
        t_recv = s->t_recv[s->pos];
        const double *v = s->data + s->pos * tw_decl_elems(s->decl);
        if ((rc = encode_signal(s, v, t_src, &x->buf, m, sizeof m)) < 0)
            return tw_errf(err, errsz, rc, "%s: stream %s sample %llu: %s", x->dir, s->decl->name,
                           (unsigned long long)(s->next - s->nbuf + s->pos), m);
        s->pos++;
    }
    tw_mcap_message msg = {s->channel, (uint32_t)s->count++, (uint64_t)(t_recv > 0 ? t_recv : 0),
                           (uint64_t)(t_src > 0 ? t_src : 0), x->buf.p, x->buf.len};
    if ((rc = tw_mcap_writer_write(x->w, &msg, m, sizeof m)) < 0)
        return tw_errf(err, errsz, rc, "%s: %s", x->out, m);
    x->msgs++;
    return 0;
}

static int head_time(exp_run *x, exp_stream *s, int64_t *t, char *err, size_t errsz)
{
    if (s->decl->kind == TW_KIND_VIDEO) {
        if (s->next >= s->total)
            return 0;
        *t = s->vidx[s->next].t_recv_ns;
        return 1;
    }
    int rc = fill(s, x->e, err, errsz);
    if (rc < 0)
        return rc;
    if (s->pos >= s->nbuf)
        return 0;
    *t = s->t_recv[s->pos];
    return 1;
}

/* K-way merge of the streams by receive time (ties: declaration order). */
static int merge(exp_run *x, char *err, size_t errsz)
{
    for (;;) {
        exp_stream *best = NULL;
        int64_t bt = 0;
        for (size_t i = 0; i < x->n; i++) {
            int64_t t;
            int rc = head_time(x, &x->s[i], &t, err, errsz);
            if (rc < 0)
                return rc;
            if (rc == 1 && (!best || t < bt))
                best = &x->s[i], bt = t;
        }
        if (!best)
            return 0;
        int rc = write_head(x, best, err, errsz);
        if (rc < 0)
            return rc;
    }
}

static int run_export(exp_run *x, char *err, size_t errsz)
{
    char m[1024] = "";
    int rc = tw_episode_open(x->dir, &x->e, m, sizeof m);
    if (rc < 0)
        return tw_errf(err, errsz, rc, "%s", m);
    tw_mcap_write_opts wo;
    tw_mcap_write_opts_init(&wo);
    wo.profile = "ros2";
    if (x->chunk_kb)
        wo.chunk_size = (uint64_t)x->chunk_kb << 10;
    if ((rc = tw_mcap_writer_open(x->out, &wo, &x->w, m, sizeof m)) < 0)
        return tw_errf(err, errsz, rc, "%s", m);
    if ((rc = exp_streams_open(x, err, errsz)) < 0 || (rc = exp_metadata(x, err, errsz)) < 0 ||
        (rc = merge(x, err, errsz)) < 0) {
        tw_mcap_writer_abort(x->w);
        x->w = NULL;
        return rc;
    }
    rc = tw_mcap_writer_close(x->w, m, sizeof m);
    x->w = NULL;
    return rc < 0 ? tw_errf(err, errsz, rc, "%s", m) : 0;
}

int tw_export_mcap(int argc, char **argv)
{
    static const struct option lo[] = {{"out", 1, 0, 'o'}, {"chunk-kb", 1, 0, 'c'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    exp_run *x = calloc(1, sizeof *x);
    int c, st = 2;
    optind = 1;
    while (x && (c = getopt_long(argc, argv, "o:c:h", lo, NULL)) != -1) {
        if (c == 'o')
            x->out = optarg;
        else if (c == 'c')
            x->chunk_kb = (uint32_t)atoi(optarg);
        else {
            usage(c == 'h' ? stdout : stderr);
            st = c == 'h' ? 0 : 2;
            goto done;
        }
    }
    if (!x || optind != argc - 1 || !x->out) {
        usage(stderr);
        goto done;
    }
    x->dir = argv[optind];
    char err[2048] = "";
    double t0 = tw_mono_s();
    int rc = run_export(x, err, sizeof err);
    for (size_t i = 0; i < x->nskip; i++)
        printf("  not exported: %s\n", x->skipped[i]);
    if (rc < 0) {
        fprintf(stderr, "tw export mcap: %s (%s); %s not written\n", err, tw_err_name(rc), x->out);
        st = 1;
        goto done;
    }
    for (size_t i = 0; i < x->n; i++)
        printf("  %-24s -> %-26s %8llu messages\n", x->s[i].decl->name, x->s[i].topic,
               (unsigned long long)x->s[i].count);
    printf("exported %s -> %s: %llu messages in %.2f s\n", x->dir, x->out, (unsigned long long)x->msgs,
           tw_mono_s() - t0);
    st = 0;
done:
    if (x)
        exp_free(x);
    return st;
}
