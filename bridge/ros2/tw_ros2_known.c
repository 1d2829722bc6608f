/* The messages teleworld maps to stream kinds, recognised by the shape of their fields (paths and
 * value classes), so a lab's own package with the same fields decodes too; and typed readers
 * that pull the values teleworld needs out of a decoded message through the path getters. */
#include "tw_ros2_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *path;
    r2_class cls;
} r2_spec;

static const r2_spec r2_spec_joint_state[] = {
    {"header.stamp", R2C_TIME}, {"name", R2C_STR_ARR}, {"position", R2C_NUM_ARR},
    {"velocity", R2C_NUM_ARR}, {"effort", R2C_NUM_ARR}, {NULL, R2C_NONE}};
static const r2_spec r2_spec_wrench[] = {
    {"header.stamp", R2C_TIME}, {"wrench.force.x", R2C_NUM}, {"wrench.force.y", R2C_NUM},
    {"wrench.force.z", R2C_NUM}, {"wrench.torque.x", R2C_NUM}, {"wrench.torque.y", R2C_NUM},
    {"wrench.torque.z", R2C_NUM}, {NULL, R2C_NONE}};
static const r2_spec r2_spec_imu[] = {
    {"header.stamp", R2C_TIME}, {"orientation.w", R2C_NUM}, {"orientation_covariance", R2C_NUM_ARR},
    {"angular_velocity.x", R2C_NUM}, {"angular_velocity_covariance", R2C_NUM_ARR},
    {"linear_acceleration.x", R2C_NUM}, {"linear_acceleration_covariance", R2C_NUM_ARR}, {NULL, R2C_NONE}};
static const r2_spec r2_spec_image[] = {
    {"header.stamp", R2C_TIME}, {"height", R2C_NUM}, {"width", R2C_NUM}, {"encoding", R2C_STR},
    {"step", R2C_NUM}, {"data", R2C_BYTES}, {NULL, R2C_NONE}};
static const r2_spec r2_spec_cimage[] = {
    {"header.stamp", R2C_TIME}, {"format", R2C_STR}, {"data", R2C_BYTES}, {NULL, R2C_NONE}};
/* foxglove CompressedVideo and CompressedImage share this shape */
static const r2_spec r2_spec_foxglove_frame[] = {
    {"timestamp", R2C_TIME}, {"frame_id", R2C_STR}, {"format", R2C_STR}, {"data", R2C_BYTES}, {NULL, R2C_NONE}};
static const r2_spec r2_spec_f64_array[] = {
    {"layout.dim", R2C_OBJ_ARR}, {"layout.data_offset", R2C_NUM}, {"data", R2C_NUM_ARR}, {NULL, R2C_NONE}};
static const r2_spec r2_spec_trajectory[] = {
    {"header.stamp", R2C_TIME}, {"joint_names", R2C_STR_ARR}, {"points", R2C_OBJ_ARR},
    {"points[0].positions", R2C_NUM_ARR}, {"points[0].time_from_start", R2C_TIME}, {NULL, R2C_NONE}};

/* Most specific first. */
static const struct {
    tw_ros2_kind kind;
    const r2_spec *spec;
} r2_kinds[] = {
    {TW_ROS2_JOINT_TRAJECTORY, r2_spec_trajectory}, {TW_ROS2_JOINT_STATE, r2_spec_joint_state},
    {TW_ROS2_WRENCH_STAMPED, r2_spec_wrench},       {TW_ROS2_IMU, r2_spec_imu},
    {TW_ROS2_IMAGE, r2_spec_image},                 {TW_ROS2_COMPRESSED_IMAGE, r2_spec_cimage},
    {TW_ROS2_COMPRESSED_VIDEO, r2_spec_foxglove_frame}, {TW_ROS2_FLOAT64_ARRAY, r2_spec_f64_array},
};

static const char *const r2_kind_names[TW_ROS2_KIND_COUNT] = {
    "unknown", "JointState", "WrenchStamped", "Imu", "CompressedImage", "Image", "CompressedVideo",
    "Float64MultiArray", "JointTrajectory"};

const char *tw_ros2_kind_name(tw_ros2_kind k)
{
    return (unsigned)k < TW_ROS2_KIND_COUNT ? r2_kind_names[k] : "unknown";
}

static bool r2_compatible(r2_class want, r2_class got, bool lenient)
{
    if (want == got) return true;
    if (want == R2C_OBJ && got == R2C_TIME) return true;
    bool array = want == R2C_NUM_ARR || want == R2C_STR_ARR || want == R2C_OBJ_ARR || want == R2C_BYTES;
    if (got == R2C_EMPTY_ARR && array) return true;
    return lenient && want == R2C_BYTES && (got == R2C_STR || got == R2C_NUM_ARR);
}

tw_ros2_kind r2_classify(const void *obj, r2_class (*probe)(const void *, const char *), const char *type_name,
                         bool lenient)
{
    for (size_t k = 0; k < sizeof r2_kinds / sizeof r2_kinds[0]; k++) {
        const r2_spec *sp = r2_kinds[k].spec;
        while (sp->path && r2_compatible(sp->cls, probe(obj, sp->path), lenient)) sp++;
        if (sp->path) continue;
        if (r2_kinds[k].kind != TW_ROS2_COMPRESSED_VIDEO) return r2_kinds[k].kind;
        /* the one shape two foxglove types share: only the type's own name can tell them apart */
        const char *shortname = type_name ? strrchr(type_name, '/') : NULL;
        shortname = shortname ? shortname + 1 : type_name;
        return shortname && strstr(shortname, "Image") ? TW_ROS2_COMPRESSED_IMAGE : TW_ROS2_COMPRESSED_VIDEO;
    }
    return TW_ROS2_UNKNOWN;
}

static bool r2_is_time_type(const tw_ros2_schema *s, int ti)
{
    const r2_type *t = &s->types[ti];
    bool sec = false, nsec = false;
    for (int k = 0; k < t->nfields; k++) {
        const r2_field *f = &s->fields[t->first + k];
        bool num = f->arr == R2_SCALAR && r2_prim_is_int(f->prim);
        sec |= num && strcmp(f->name, "sec") == 0;
        nsec |= num && (strcmp(f->name, "nanosec") == 0 || strcmp(f->name, "nsec") == 0);
    }
    return sec && nsec;
}

r2_class r2_schema_probe(const tw_ros2_schema *s, const char *path)
{
    int ti = s->root;
    const r2_field *f = NULL;
    bool elem = false;
    r2_path it = {.p = path};
    int rc;
    while ((rc = r2_path_next(&it)) == 1) {
        if (ti < 0) return R2C_NONE;
        const r2_type *t = &s->types[ti];
        int k = 0;
        while (k < t->nfields && strcmp(s->fields[t->first + k].name, it.name) != 0) k++;
        if (k == t->nfields) return R2C_NONE;
        f = &s->fields[t->first + k];
        elem = it.index >= 0;
        if (elem && f->arr == R2_SCALAR) return R2C_NONE;
        ti = f->prim == R2_STRUCT && (elem || f->arr == R2_SCALAR) ? f->sub : -1;
    }
    if (rc < 0) return R2C_NONE;
    if (!f) return R2C_OBJ;
    if (f->arr != R2_SCALAR && !elem) {
        if (f->prim == R2_STRUCT) return R2C_OBJ_ARR;
        if (f->prim == R2_STRING) return R2C_STR_ARR;
        return r2_prim_size(f->prim) == 1 && f->prim != R2_BOOL ? R2C_BYTES : R2C_NUM_ARR;
    }
    if (f->prim == R2_STRUCT) return r2_is_time_type(s, f->sub) ? R2C_TIME : R2C_OBJ;
    return f->prim == R2_STRING ? R2C_STR : R2C_NUM;
}

static r2_class r2_json_probe_cb(const void *root, const char *path) { return r2_json_probe(root, path); }

tw_ros2_kind tw_ros2_msg_kind(const tw_ros2_msg *m, const char *type_name)
{
    if (!m) return TW_ROS2_UNKNOWN;
    if (m->json) return r2_classify(m->json, r2_json_probe_cb, type_name, true);
    return m->schema ? m->schema->kind : TW_ROS2_UNKNOWN;
}

/* ---- typed readers -------------------------------------------------------------------------- */

static int r2_get_err(char *err, size_t errsz, int rc, const char *what, const char *path)
{
    return tw_errf(err, errsz, rc, "%s: field '%s': %s", what, path, tw_strerror(rc));
}

static int r2_stamp(const tw_ros2_msg *m, const char *what, int64_t *ns, char *err, size_t errsz)
{
    const char *path = tw_ros2_has(m, "header") ? "header.stamp" : "timestamp";
    int rc = tw_ros2_get_time(m, path, ns);
    return rc < 0 ? r2_get_err(err, errsz, rc, what, path) : 0;
}

/* An optional numeric array: buf NULL only counts. */
static int r2_array(const tw_ros2_msg *m, const char *what, const char *path, double *buf, size_t cap, size_t *n,
                    char *err, size_t errsz)
{
    int rc = buf ? tw_ros2_get_f64_array(m, path, buf, cap, n) : tw_ros2_get_count(m, path, n);
    if (rc == TW_ETOO_BIG)
        return tw_errf(err, errsz, rc, "%s: field '%s' has %zu values, more than the %zu room for", what, path, *n, cap);
    return rc < 0 ? r2_get_err(err, errsz, rc, what, path) : 0;
}

static int r2_vec(const tw_ros2_msg *m, const char *what, const char *base, const char *axes, double *out,
                  char *err, size_t errsz)
{
    char path[128];
    for (size_t i = 0; axes[i]; i++) {
        snprintf(path, sizeof path, "%s.%c", base, axes[i]);
        int rc = tw_ros2_get_f64(m, path, &out[i]);
        if (rc < 0) return r2_get_err(err, errsz, rc, what, path);
    }
    return 0;
}

int tw_ros2_read_joint_state(const tw_ros2_msg *m, tw_ros2_joint_state *js, char *err, size_t errsz)
{
    if (!m || !js) return tw_errf(err, errsz, TW_EINVAL, "JointState: NULL argument");
    const char *w = "JointState";
    int rc = r2_stamp(m, w, &js->stamp_ns, err, errsz);
    if (rc == 0) rc = r2_array(m, w, "name", NULL, 0, &js->n_name, err, errsz);
    if (rc == 0) rc = r2_array(m, w, "position", js->position, js->cap, &js->n_position, err, errsz);
    if (rc == 0) rc = r2_array(m, w, "velocity", js->velocity, js->cap, &js->n_velocity, err, errsz);
    if (rc == 0) rc = r2_array(m, w, "effort", js->effort, js->cap, &js->n_effort, err, errsz);
    return rc;
}

int tw_ros2_read_wrench(const tw_ros2_msg *m, tw_ros2_wrench *wr, char *err, size_t errsz)
{
    if (!m || !wr) return tw_errf(err, errsz, TW_EINVAL, "WrenchStamped: NULL argument");
    const char *w = "WrenchStamped";
    int rc = r2_stamp(m, w, &wr->stamp_ns, err, errsz);
    if (rc == 0) rc = r2_vec(m, w, "wrench.force", "xyz", wr->force, err, errsz);
    if (rc == 0) rc = r2_vec(m, w, "wrench.torque", "xyz", wr->torque, err, errsz);
    return rc;
}

static int r2_cov(const tw_ros2_msg *m, const char *path, double out[9], char *err, size_t errsz)
{
    size_t n;
    memset(out, 0, 9 * sizeof *out);
    return r2_array(m, "Imu", path, out, 9, &n, err, errsz);
}

int tw_ros2_read_imu(const tw_ros2_msg *m, tw_ros2_imu *imu, char *err, size_t errsz)
{
    if (!m || !imu) return tw_errf(err, errsz, TW_EINVAL, "Imu: NULL argument");
    int rc = r2_stamp(m, "Imu", &imu->stamp_ns, err, errsz);
    if (rc == 0) rc = r2_vec(m, "Imu", "orientation", "xyzw", imu->orientation, err, errsz);
    if (rc == 0) rc = r2_vec(m, "Imu", "angular_velocity", "xyz", imu->angular_velocity, err, errsz);
    if (rc == 0) rc = r2_vec(m, "Imu", "linear_acceleration", "xyz", imu->linear_acceleration, err, errsz);
    if (rc == 0) rc = r2_cov(m, "orientation_covariance", imu->orientation_cov, err, errsz);
    if (rc == 0) rc = r2_cov(m, "angular_velocity_covariance", imu->angular_velocity_cov, err, errsz);
    if (rc == 0) rc = r2_cov(m, "linear_acceleration_covariance", imu->linear_acceleration_cov, err, errsz);
    return rc;
}

static tw_ros2_format r2_format_of(const char *s)
{
    static const struct {
        const char *needle;
        tw_ros2_format f;
    } map[] = {{"jpeg", TW_ROS2_FMT_JPEG}, {"jpg", TW_ROS2_FMT_JPEG}, {"png", TW_ROS2_FMT_PNG},
               {"h264", TW_ROS2_FMT_H264}, {"h265", TW_ROS2_FMT_H265}, {"hevc", TW_ROS2_FMT_H265}};
    if (strcasecmp(s, "rgb8") == 0) return TW_ROS2_FMT_RGB8;
    if (strcasecmp(s, "bgr8") == 0) return TW_ROS2_FMT_BGR8;
    if (strcasecmp(s, "mono8") == 0) return TW_ROS2_FMT_MONO8;
    /* image_transport writes e.g. "rgb8; jpeg compressed bgr8": look for the codec's name */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        for (const char *p = s; *p; p++)
            if (strncasecmp(p, map[i].needle, strlen(map[i].needle)) == 0) return map[i].f;
    return TW_ROS2_FMT_OTHER;
}

static int r2_u32(const tw_ros2_msg *m, const char *path, uint32_t *out, char *err, size_t errsz)
{
    int64_t v;
    int rc = tw_ros2_get_i64(m, path, &v);
    if (rc == 0 && (v < 0 || v > UINT32_MAX)) rc = TW_ETOO_BIG;
    if (rc < 0) return r2_get_err(err, errsz, rc, "Image", path);
    *out = (uint32_t)v;
    return 0;
}

static int r2_raw_image(const tw_ros2_msg *m, tw_ros2_frame *f, char *err, size_t errsz)
{
    size_t n;
    int rc = r2_u32(m, "width", &f->width, err, errsz);
    if (rc == 0) rc = r2_u32(m, "height", &f->height, err, errsz);
    if (rc == 0) rc = r2_u32(m, "step", &f->step, err, errsz);
    if (rc == 0 && (rc = tw_ros2_get_string(m, "encoding", &f->format_str, &n)) < 0)
        return r2_get_err(err, errsz, rc, "Image", "encoding");
    if (rc < 0) return rc;
    f->format = r2_format_of(f->format_str);
    unsigned bpp = f->format == TW_ROS2_FMT_MONO8 ? 1 : 3;
    if (f->format != TW_ROS2_FMT_RGB8 && f->format != TW_ROS2_FMT_BGR8 && f->format != TW_ROS2_FMT_MONO8)
        return tw_errf(err, errsz, TW_EUNSUPPORTED, "Image: encoding '%s' (only rgb8, bgr8, mono8)", f->format_str);
    if ((uint64_t)f->step < (uint64_t)f->width * bpp || (uint64_t)f->step * f->height > f->len)
        return tw_errf(err, errsz, TW_ESHAPE, "Image: %ux%u %s with step %u does not fit %zu data bytes", f->width,
                       f->height, f->format_str, f->step, f->len);
    return 0;
}

int tw_ros2_read_frame(const tw_ros2_msg *m, tw_ros2_frame *f, char *err, size_t errsz)
{
    if (!m || !f) return tw_errf(err, errsz, TW_EINVAL, "frame: NULL argument");
    memset(f, 0, sizeof *f);
    bool raw = tw_ros2_has(m, "encoding");
    const char *w = raw ? "Image" : "compressed frame";
    int rc = r2_stamp(m, w, &f->stamp_ns, err, errsz);
    if (rc < 0) return rc;
    if ((rc = tw_ros2_get_bytes(m, "data", &f->data, &f->len)) < 0) return r2_get_err(err, errsz, rc, w, "data");
    if (raw) return r2_raw_image(m, f, err, errsz);
    size_t n;
    if ((rc = tw_ros2_get_string(m, "format", &f->format_str, &n)) < 0) return r2_get_err(err, errsz, rc, w, "format");
    f->format = r2_format_of(f->format_str);
    return 0;
}

int tw_ros2_read_traj_point(const tw_ros2_msg *m, size_t i, tw_ros2_traj_point *p, char *err, size_t errsz)
{
    if (!m || !p) return tw_errf(err, errsz, TW_EINVAL, "JointTrajectory: NULL argument");
    const char *w = "JointTrajectory";
    char path[96];
    struct {
        const char *name;
        double *buf;
        size_t *n;
    } arr[] = {{"positions", p->positions, &p->n_positions}, {"velocities", p->velocities, &p->n_velocities},
               {"accelerations", p->accelerations, &p->n_accelerations}, {"effort", p->effort, &p->n_effort}};
    snprintf(path, sizeof path, "points[%zu].time_from_start", i);
    int rc = tw_ros2_get_time(m, path, &p->time_from_start_ns);
    if (rc < 0) return r2_get_err(err, errsz, rc, w, path);
    for (size_t k = 0; k < 4 && rc == 0; k++) {
        snprintf(path, sizeof path, "points[%zu].%s", i, arr[k].name);
        rc = r2_array(m, w, path, arr[k].buf, p->cap, arr[k].n, err, errsz);
    }
    return rc;
}
