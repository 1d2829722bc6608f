/* One ROS 2 message -> one teleworld sample (protocol.md §6 payloads, float64). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_rosmap_int.h"

tw_kind rm_default_kind(tw_ros2_kind k)
{
    switch (k) {
    case TW_ROS2_JOINT_STATE: return TW_KIND_JOINT_STATE;
    case TW_ROS2_WRENCH_STAMPED: return TW_KIND_WRENCH;
    case TW_ROS2_IMU: return TW_KIND_IMU;
    case TW_ROS2_COMPRESSED_IMAGE:
    case TW_ROS2_IMAGE:
    case TW_ROS2_COMPRESSED_VIDEO: return TW_KIND_VIDEO;
    case TW_ROS2_FLOAT64_ARRAY:
    case TW_ROS2_JOINT_TRAJECTORY: return TW_KIND_ACTION;
    default: return (tw_kind)-1;
    }
}

int rm_kind_fits(tw_ros2_kind k, int want)
{
    if (want == TW_KIND_ACTION && k == TW_ROS2_JOINT_STATE) /* commanded joint positions */
        return 1;
    return (int)rm_default_kind(k) == want;
}

/* Fixes the declaration of a fixed-shape stream on the first message; later ones must fit. */
static int fix_shape(tw_rostopic *t, tw_kind kind, uint32_t ndim, uint32_t d0, uint32_t d1, const char *units,
                     char *err, size_t errsz)
{
    tw_stream_decl *d = &t->decl;
    if (t->have_decl) {
        if (d->shape[0] != d0 || (ndim == 2 && d->shape[1] != d1))
            return tw_errf(err, errsz, TW_ESHAPE, "topic %s: %u values where the first message had %u", t->topic,
                           ndim == 2 ? d1 : d0, ndim == 2 ? d->shape[1] : d->shape[0]);
        return 0;
    }
    if ((uint64_t)d0 * (ndim == 2 ? d1 : 1) > TW_MAX_ELEMS || d0 == 0 || (ndim == 2 && d1 == 0))
        return tw_errf(err, errsz, TW_ETOO_BIG, "topic %s: %u x %u values (1..%d)", t->topic, d0, d1, TW_MAX_ELEMS);
    d->kind = kind;
    d->dtype = TW_DTYPE_FLOAT64;
    d->ndim = ndim;
    d->shape[0] = d0;
    d->shape[1] = ndim == 2 ? d1 : 0;
    snprintf(d->units, sizeof d->units, "%s", units);
    if (d->rate_hz <= 0)
        d->rate_hz = 1;
    t->have_decl = 1;
    return 0;
}

static void set_axes(tw_rostopic *t, const char *path, size_t n)
{
    char p[64];
    if (t->decl.naxes || n > TW_MAX_AXES)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (tw_ros2_get_string(t->msg, p, &s, &len) < 0)
            return;
        snprintf(t->decl.axes[i], TW_MAX_NAME, "%s", s);
    }
    t->decl.naxes = (uint32_t)n;
}

static void set_frame(tw_rostopic *t)
{
    const char *s;
    size_t len;
    if (!t->decl.frame[0] && tw_ros2_get_string(t->msg, "header.frame_id", &s, &len) == 0)
        snprintf(t->decl.frame, sizeof t->decl.frame, "%s", s);
}

static int conv_joint_state(tw_rostopic *t, tw_rossample *s, char *err, size_t errsz)
{
    tw_ros2_joint_state js = {.cap = TW_MAX_AXES, .position = t->tmp[0], .velocity = t->tmp[1], .effort = t->tmp[2]};
    int rc = tw_ros2_read_joint_state(t->msg, &js, err, errsz);
    if (rc < 0)
        return rc;
    size_t n = js.n_position > js.n_name ? js.n_position : js.n_name;
    if (t->want == TW_KIND_ACTION) { /* positions only */
        if ((rc = fix_shape(t, TW_KIND_ACTION, 1, (uint32_t)js.n_position, 0, "rad", err, errsz)) < 0)
            return rc;
        memcpy(t->vals, js.position, js.n_position * sizeof(double));
        s->len = js.n_position * sizeof(double);
    } else {
        if ((rc = fix_shape(t, TW_KIND_JOINT_STATE, 2, 3, (uint32_t)n, "rad;rad/s;N*m", err, errsz)) < 0)
            return rc;
        const double *src[3] = {js.position, js.velocity, js.effort};
        size_t len[3] = {js.n_position, js.n_velocity, js.n_effort};
        for (int r = 0; r < 3; r++) /* a missing row (empty sequence) is NaN: unknown */
            for (size_t i = 0; i < n; i++)
                t->vals[(size_t)r * n + i] = i < len[r] ? src[r][i] : NAN;
        s->len = 3 * n * sizeof(double);
    }
    set_axes(t, "name", js.n_name);
    s->t_src_ns = js.stamp_ns;
    s->has_stamp = 1;
    return 0;
}

static int conv_wrench(tw_rostopic *t, tw_rossample *s, char *err, size_t errsz)
{
    tw_ros2_wrench w;
    int rc = tw_ros2_read_wrench(t->msg, &w, err, errsz);
    if (rc < 0 || (rc = fix_shape(t, TW_KIND_WRENCH, 1, 6, 0, "N;N*m", err, errsz)) < 0)
        return rc;
    memcpy(t->vals, w.force, sizeof w.force);
    memcpy(t->vals + 3, w.torque, sizeof w.torque);
    set_frame(t);
    s->len = 6 * sizeof(double);
    s->t_src_ns = w.stamp_ns;
    s->has_stamp = 1;
    return 0;
}

static int conv_imu(tw_rostopic *t, tw_rossample *s, char *err, size_t errsz)
{
    tw_ros2_imu m;
    int rc = tw_ros2_read_imu(t->msg, &m, err, errsz);
    if (rc < 0 || (rc = fix_shape(t, TW_KIND_IMU, 1, 10, 0, "1;rad/s;m/s^2", err, errsz)) < 0)
        return rc;
    double v[10] = {m.orientation[3], m.orientation[0], m.orientation[1], m.orientation[2]}; /* w first */
    memcpy(v + 4, m.angular_velocity, sizeof m.angular_velocity);
    memcpy(v + 7, m.linear_acceleration, sizeof m.linear_acceleration);
    memcpy(t->vals, v, sizeof v);
    set_frame(t);
    s->len = sizeof v;
    s->t_src_ns = m.stamp_ns;
    s->has_stamp = 1;
    return 0;
}

static int conv_f64_array(tw_rostopic *t, int64_t t_recv_ns, tw_rossample *s, char *err, size_t errsz)
{
    size_t n;
    int rc = tw_ros2_get_f64_array(t->msg, "data", t->vals, TW_MAX_ELEMS, &n);
    if (rc < 0)
        return tw_errf(err, errsz, rc, "topic %s: data: %s", t->topic, tw_strerror(rc));
    if ((rc = fix_shape(t, TW_KIND_ACTION, 1, (uint32_t)n, 0, "", err, errsz)) < 0)
        return rc;
    s->len = n * sizeof(double);
    s->t_src_ns = t_recv_ns; /* Float64MultiArray has no header */
    s->has_stamp = 0;
    return 0;
}

static int conv_trajectory(tw_rostopic *t, int64_t t_recv_ns, tw_rossample *s, char *err, size_t errsz)
{
    size_t npts = 0;
    int rc = tw_ros2_get_count(t->msg, "points", &npts);
    if (rc < 0 || npts == 0)
        return tw_errf(err, errsz, TW_ESCHEMA, "topic %s: a JointTrajectory without points", t->topic);
    tw_ros2_traj_point p = {.cap = TW_MAX_ELEMS, .positions = t->vals};
    if ((rc = tw_ros2_read_traj_point(t->msg, 0, &p, err, errsz)) < 0)
        return rc;
    if ((rc = fix_shape(t, TW_KIND_ACTION, 1, (uint32_t)p.n_positions, 0, "rad", err, errsz)) < 0)
        return rc;
    size_t nn = 0;
    if (tw_ros2_get_count(t->msg, "joint_names", &nn) == 0)
        set_axes(t, "joint_names", nn);
    int64_t stamp = 0;
    tw_ros2_get_time(t->msg, "header.stamp", &stamp);
    s->has_stamp = stamp != 0; /* a zero stamp means "now" in ROS 2 */
    s->t_src_ns = stamp ? stamp + p.time_from_start_ns : t_recv_ns;
    s->len = p.n_positions * sizeof(double);
    return 0;
}

int rm_convert(tw_rostopic *t, int64_t t_recv_ns, tw_rossample *s, char *err, size_t errsz)
{
    s->payload = (const uint8_t *)t->vals;
    s->keyframe = 0;
    switch (t->kind) {
    case TW_ROS2_JOINT_STATE: return conv_joint_state(t, s, err, errsz);
    case TW_ROS2_WRENCH_STAMPED: return conv_wrench(t, s, err, errsz);
    case TW_ROS2_IMU: return conv_imu(t, s, err, errsz);
    case TW_ROS2_FLOAT64_ARRAY: return conv_f64_array(t, t_recv_ns, s, err, errsz);
    case TW_ROS2_JOINT_TRAJECTORY: return conv_trajectory(t, t_recv_ns, s, err, errsz);
    case TW_ROS2_COMPRESSED_IMAGE:
    case TW_ROS2_IMAGE:
    case TW_ROS2_COMPRESSED_VIDEO: {
        tw_ros2_frame f;
        int rc = tw_ros2_read_frame(t->msg, &f, err, errsz);
        return rc < 0 ? rc : rm_convert_frame(t, &f, t_recv_ns, s, err, errsz);
    }
    default: return tw_errf(err, errsz, TW_EUNSUPPORTED, "topic %s: %s is not mapped", t->topic,
                            tw_ros2_kind_name(t->kind));
    }
}

int tw_rostopic_sample(tw_rostopic *t, const uint8_t *msg, size_t len, int64_t t_recv_ns, tw_rossample *s,
                       char *err, size_t errsz)
{
    memset(s, 0, sizeof *s);
    int rc;
    if (t->enc == RM_PB) {
        tw_ros2_frame f;
        if ((rc = tw_ros2_decode_pb_video(msg, len, &f, err, errsz)) < 0)
            return rc;
        return rm_convert_frame(t, &f, t_recv_ns, s, err, errsz);
    }
    if (t->enc == RM_JSON) {
        if ((rc = tw_ros2_decode_json(t->msg, (const char *)msg, len, err, errsz)) < 0)
            return rc;
        tw_ros2_kind k = tw_ros2_msg_kind(t->msg, t->type_name);
        if (t->kind == TW_ROS2_UNKNOWN && k != TW_ROS2_UNKNOWN) {
            if (t->want >= 0 && !rm_kind_fits(k, t->want))
                return tw_errf(err, errsz, TW_EMISMATCH, "topic %s: the map says %s but its messages are %s",
                               t->topic, tw_kind_name((tw_kind)t->want), tw_ros2_kind_name(k));
            t->kind = k;
        } else if (k != t->kind)
            return tw_errf(err, errsz, TW_ESCHEMA, "topic %s: a JSON message that is not a %s", t->topic,
                           tw_ros2_kind_name(t->kind));
    } else if ((rc = tw_ros2_decode_cdr(t->msg, t->schema, msg, len, err, errsz)) < 0)
        return rc;
    return rm_convert(t, t_recv_ns, s, err, errsz);
}
