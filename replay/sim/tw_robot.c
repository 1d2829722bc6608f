/* Robot model loading: MJCF -> mjModel, plus what teleworld needs to know about it (tw_sim.h).
 *
 * Menagerie models carry no force/torque sensor, and MJCF cannot add a site to a body declared in an
 * <include>d file, so when the hand lacks one we round-trip through MuJoCo's canonical XML
 * (mj_saveLastXML), insert a site into the hand body and append a <sensor> block, make mesh and texture
 * directories absolute and compile that text from an in-memory VFS.  The compiled model is identical to
 * the original apart from the massless site and the two acc-stage sensors. */
#include <libgen.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mujoco/mjxmacro.h>

#include "tw_sim.h"

static int tw_robot_is_object_joint(const mjModel *m, int j)
{
    /* joints of a body below a free joint belong to a loose object, not the robot */
    for (int b = m->jnt_bodyid[j]; b > 0; b = m->body_parentid[b])
        for (int k = m->body_jntadr[b]; k >= 0 && k < m->body_jntadr[b] + m->body_jntnum[b]; k++)
            if (m->jnt_type[k] == mjJNT_FREE)
                return 1;
    return 0;
}

static int tw_robot_is_ancestor(const mjModel *m, int anc, int b)
{
    for (; b > 0; b = m->body_parentid[b])
        if (b == anc)
            return 1;
    return anc == 0;
}

/* Streamed joints, hand body and object.  Gripper joints are the robot's slide joints; the hand is the
 * parent of the first finger body (or the body of the last arm joint when there are no fingers). */
static int tw_robot_find_joints(tw_robot *r, char *msg, size_t msgsz)
{
    const mjModel *m = r->m;
    int arm[TW_ROBOT_MAX_JOINTS], grip[TW_ROBOT_MAX_JOINTS], na = 0, ng = 0;
    r->object_body = r->object_qadr = -1;
    for (int j = 0; j < m->njnt; j++) {
        int t = m->jnt_type[j];
        if (t == mjJNT_FREE && r->object_body < 0) {
            r->object_body = m->jnt_bodyid[j];
            r->object_qadr = m->jnt_qposadr[j];
        }
        if ((t != mjJNT_HINGE && t != mjJNT_SLIDE) || tw_robot_is_object_joint(m, j))
            continue;
        if (na + ng >= TW_ROBOT_MAX_JOINTS)
            return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: more than %d robot joints", r->source,
                           TW_ROBOT_MAX_JOINTS);
        if (t == mjJNT_SLIDE)
            grip[ng++] = j;
        else
            arm[na++] = j;
    }
    if (na == 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "%s: no hinge joints outside free bodies: not a robot arm",
                       r->source);
    r->hand_body = ng ? m->body_parentid[m->jnt_bodyid[grip[0]]] : m->jnt_bodyid[arm[na - 1]];
    /* a slide joint not under the hand is part of the arm (e.g. a linear axis) */
    int ng2 = 0;
    for (int i = 0; i < ng; i++) {
        if (tw_robot_is_ancestor(m, r->hand_body, m->jnt_bodyid[grip[i]]) && m->jnt_bodyid[grip[i]] != r->hand_body)
            grip[ng2++] = grip[i];
        else
            arm[na++] = grip[i];
    }
    r->narm = na;
    r->njoint = na + ng2;
    for (int i = 0; i < r->njoint; i++) {
        int j = i < na ? arm[i] : grip[i - na];
        r->jnt[i] = j;
        r->qadr[i] = m->jnt_qposadr[j];
        r->vadr[i] = m->jnt_dofadr[j];
        r->jname[i] = m->names + m->name_jntadr[j];
        r->jact[i] = -1;
    }
    return 0;
}

static int tw_robot_index_of_joint(const tw_robot *r, int j)
{
    for (int i = 0; i < r->njoint; i++)
        if (r->jnt[i] == j)
            return i;
    return -1;
}

/* Arm actuators drive one arm joint directly; gripper actuators drive a gripper joint or a tendon
 * made of gripper joints. */
static void tw_robot_find_actuators(tw_robot *r)
{
    const mjModel *m = r->m;
    r->ngrip_act = 0;
    for (int a = 0; a < m->nu; a++) {
        int id = m->actuator_trnid[2 * a], gj = -1;
        if (m->actuator_trntype[a] == mjTRN_JOINT) {
            gj = tw_robot_index_of_joint(r, id);
        } else if (m->actuator_trntype[a] == mjTRN_TENDON) {
            int adr = m->tendon_adr[id];
            if (m->tendon_num[id] > 0 && m->wrap_type[adr] == mjWRAP_JOINT)
                gj = tw_robot_index_of_joint(r, m->wrap_objid[adr]);
            if (gj >= 0 && gj < r->narm)
                gj = -1; /* a tendon over arm joints is not a gripper and not a joint servo */
            else if (gj >= 0 && r->ngrip_act < TW_ROBOT_MAX_ACT)
                r->grip_act[r->ngrip_act++] = a;
            continue;
        }
        if (gj < 0)
            continue;
        if (gj < r->narm) {
            if (r->jact[gj] < 0)
                r->jact[gj] = a;
        } else if (r->ngrip_act < TW_ROBOT_MAX_ACT) {
            r->grip_act[r->ngrip_act++] = a;
        }
    }
}

/* Existing force+torque sensor pair on a site of the hand body; returns 1 when found. */
static int tw_robot_find_ft(tw_robot *r)
{
    const mjModel *m = r->m;
    int fs = -1, ts = -1;
    for (int s = 0; s < m->nsensor; s++) {
        if (m->sensor_objtype[s] != mjOBJ_SITE || m->site_bodyid[m->sensor_objid[s]] != r->hand_body)
            continue;
        if (m->sensor_type[s] == mjSENS_FORCE && fs < 0)
            fs = s;
        if (m->sensor_type[s] == mjSENS_TORQUE && ts < 0 && (fs < 0 || m->sensor_objid[s] == m->sensor_objid[fs]))
            ts = s;
    }
    if (fs < 0 || ts < 0 || m->sensor_objid[fs] != m->sensor_objid[ts])
        return 0;
    r->ft_site = m->sensor_objid[fs];
    r->ft_force_adr = m->sensor_adr[fs];
    r->ft_torque_adr = m->sensor_adr[ts];
    return 1;
}

static int tw_robot_find_ee(const tw_robot *r)
{
    static const char *names[] = {"ee", "tcp", "tw_ee_site", "pinch", "gripper", "grip_site", "end_effector"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int s = mj_name2id(r->m, mjOBJ_SITE, names[i]);
        if (s >= 0 && tw_robot_is_ancestor(r->m, r->hand_body, r->m->site_bodyid[s]))
            return s;
    }
    return r->ft_site;
}

/* Grasp centre in the hand frame: mean of the finger bodies' positions (hand origin if no fingers). */
static void tw_robot_grasp_centre(const tw_robot *r, double p[3])
{
    int n = 0;
    p[0] = p[1] = p[2] = 0;
    for (int i = r->narm; i < r->njoint; i++) {
        int b = r->m->jnt_bodyid[r->jnt[i]];
        if (r->m->body_parentid[b] != r->hand_body)
            continue;
        for (int k = 0; k < 3; k++)
            p[k] += r->m->body_pos[3 * b + k];
        n++;
    }
    for (int k = 0; k < 3 && n; k++)
        p[k] /= n;
    if (n)
        p[2] += 0.04; /* fingertips sit beyond the finger bodies' origins */
}

static int tw_robot_compile_vfs(const char *text, size_t len, mjModel **out, const char *what, char *msg,
                                size_t msgsz)
{
    mjVFS *vfs = calloc(1, sizeof *vfs);
    if (!vfs)
        return tw_errf(msg, msgsz, TW_ENOMEM, "%s: no memory for the model VFS", what);
    mj_defaultVFS(vfs);
    int rc = 0;
    if (mj_makeEmptyFileVFS(vfs, "tw_model.xml", (int)len) != 0) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "%s: cannot create in-memory model file", what);
    } else {
        memcpy(vfs->filedata[vfs->nfile - 1], text, len);
        *out = tw_mj_load_xml("tw_model.xml", vfs, msg, msgsz);
        if (!*out)
            rc = TW_EMUJOCO;
    }
    mj_deleteVFS(vfs);
    free(vfs);
    return rc;
}

/* Saves the last loaded model as XML text (MuJoCo has no in-memory variant: use a private temp file). */
static int tw_robot_save_xml(const mjModel *m, char **text, char *msg, size_t msgsz)
{
    char dir[] = "/tmp/tw_robot.XXXXXX", path[64], err[512] = "";
    if (!mkdtemp(dir))
        return tw_errf(msg, msgsz, TW_EIO, "cannot create a temp dir for the F/T wrapper");
    snprintf(path, sizeof path, "%s/model.xml", dir);
    int rc = 0;
    if (!mj_saveLastXML(path, m, err, sizeof err))
        rc = tw_errf(msg, msgsz, TW_EMUJOCO, "mj_saveLastXML: %s", err);
    else
        rc = tw_xml_read_file(path, text, msg, msgsz);
    remove(path);
    rmdir(dir);
    return rc;
}

/* mj_saveLastXML prints numbers with about 6 significant digits; copy the exact compiled values back
 * from the original model for every numeric array the added site and sensors cannot have shifted
 * (same size, and not indexed by site or sensor), so the augmented model's dynamics are bit-identical. */
static int tw_robot_numeric_prefix(const char *name)
{
    static const char *pre[] = {"qpos0", "qpos_spring", "body_", "jnt_", "dof_", "geom_", "actuator_", "tendon_",
                                "eq_", "key_", "pair_", "mesh_", "hfield_data"};
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
        if (!strncmp(name, pre[i], strlen(pre[i])))
            return 1;
    return 0;
}

static void tw_robot_restore_numbers(mjModel *aug, const mjModel *raw)
{
    aug->opt = raw->opt;
#define X(type, name, n1, n2)                                                                            \
    if ((sizeof(type) == sizeof(mjtNum) || sizeof(type) == sizeof(float)) && (type)0.5 != 0 &&             \
        aug->n1 == raw->n1 && tw_robot_numeric_prefix(#name))                                              \
        memcpy(aug->name, raw->name, sizeof(type) * (size_t)raw->n1 * (size_t)(n2));
    {
        MJMODEL_POINTERS_PREAMBLE(raw)
        MJMODEL_POINTERS
    }
#undef X
}

/* Adds <site name="tw_ft_site"> (+ tw_ee_site) to the hand body and a force/torque <sensor> block. */
static int tw_robot_add_ft(tw_robot *r, const char *path, char *msg, size_t msgsz)
{
    char *xml = NULL, dir[PATH_MAX], absdir[PATH_MAX], site[256];
    int rc = tw_robot_save_xml(r->m, &xml, msg, msgsz);
    if (rc)
        return rc;
    snprintf(dir, sizeof dir, "%s", path);
    if (!realpath(dirname(dir), absdir))
        snprintf(absdir, sizeof absdir, "%s", dirname(dir));
    double gc[3];
    tw_robot_grasp_centre(r, gc);
    const char *hand = r->m->names + r->m->name_bodyadr[r->hand_body];
    snprintf(site, sizeof site,
             "<site name=\"" TW_FT_SITE_NAME "\" size=\"0.01\"/><site name=\"tw_ee_site\" pos=\"%.6g %.6g %.6g\" size=\"0.005\"/>",
             gc[0], gc[1], gc[2]);
    rc = tw_xml_absolutize_dirs(&xml, absdir, msg, msgsz);
    if (!rc)
        rc = tw_xml_insert_in_body(&xml, hand, site, msg, msgsz);
    if (!rc)
        rc = tw_xml_insert_before_end(&xml, "<sensor><force name=\"tw_ft_force\" site=\"" TW_FT_SITE_NAME
                                            "\"/><torque name=\"tw_ft_torque\" site=\"" TW_FT_SITE_NAME "\"/></sensor>",
                                      msg, msgsz);
    mjModel *m2 = NULL;
    if (!rc)
        rc = tw_robot_compile_vfs(xml, strlen(xml), &m2, path, msg, msgsz);
    free(xml);
    if (rc)
        return rc;
    tw_robot_restore_numbers(m2, r->m);
    mj_deleteModel(r->m);
    r->m = m2;
    r->ft_added = 1;
    return 0;
}

static int tw_robot_index(tw_robot *r, char *msg, size_t msgsz)
{
    if (r->m->nu > TW_ROBOT_MAX_ACT)
        return tw_errf(msg, msgsz, TW_ETOO_BIG, "%s: %d actuators, at most %d supported", r->source, r->m->nu,
                       TW_ROBOT_MAX_ACT);
    int rc = tw_robot_find_joints(r, msg, msgsz);
    if (rc)
        return rc;
    tw_robot_find_actuators(r);
    r->ft_site = r->ft_force_adr = r->ft_torque_adr = -1;
    tw_robot_find_ft(r);
    r->ee_site = r->ft_site >= 0 ? tw_robot_find_ee(r) : -1;
    return 0;
}

/* mj_loadXML and mj_saveLastXML share MuJoCo's global "last loaded XML": one load at a time. */
static pthread_mutex_t tw_robot_load_lock = PTHREAD_MUTEX_INITIALIZER;
static int tw_robot_load_locked(const char *path, tw_robot **out, char *msg, size_t msgsz);

int tw_robot_load(const char *path, tw_robot **out, char *msg, size_t msgsz)
{
    pthread_mutex_lock(&tw_robot_load_lock);
    int rc = tw_robot_load_locked(path, out, msg, msgsz);
    pthread_mutex_unlock(&tw_robot_load_lock);
    return rc;
}

static int tw_robot_load_locked(const char *path, tw_robot **out, char *msg, size_t msgsz)
{
    *out = NULL;
    /* "builtin" names the shipped model everywhere a model path is taken (rig, replay, simgen, fuse, gap). */
    if (path && !strcmp(path, "builtin"))
        path = NULL;
    tw_mj_init();
    tw_robot *r = calloc(1, sizeof *r);
    if (!r)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for a robot");
    snprintf(r->source, sizeof r->source, "%s", path ? path : "builtin");
    int rc;
    if (path) {
        r->m = tw_mj_load_xml(path, NULL, msg, msgsz);
        rc = r->m ? 0 : TW_EMUJOCO;
    } else {
        rc = tw_robot_compile_vfs(tw_builtin_model_xml, tw_builtin_model_len, &r->m, "builtin model", msg, msgsz);
    }
    if (!rc)
        rc = tw_robot_index(r, msg, msgsz);
    if (!rc && r->ft_site < 0 && path) {
        rc = tw_robot_add_ft(r, path, msg, msgsz);
        if (!rc)
            rc = tw_robot_index(r, msg, msgsz);
        if (!rc && r->ft_site < 0)
            rc = tw_errf(msg, msgsz, TW_EMUJOCO, "%s: F/T sensor added but not found on the hand", path);
    } else if (!rc && r->ft_site < 0) {
        rc = tw_errf(msg, msgsz, TW_EMUJOCO, "builtin model lacks its F/T sensor");
    }
    if (rc) {
        tw_robot_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* tw_robot_save_buffer's bytes: this header, then the model in MuJoCo's binary format (mj_saveModel). What
 * is not in the model is here: whether the loader added the F/T site. */
#define TW_ROBOT_BUF_MAGIC "twrobot1"
typedef struct {
    char magic[8];
    int32_t ft_added, reserved;
} tw_robot_buf_hdr;

int tw_robot_save_buffer(const tw_robot *r, void **buf, size_t *len, char *msg, size_t msgsz)
{
    *buf = NULL;
    *len = 0;
    int n = mj_sizeModel(r->m);
    char *b = n > 0 ? malloc(sizeof(tw_robot_buf_hdr) + (size_t)n) : NULL;
    if (!b)
        return tw_errf(msg, msgsz, TW_ENOMEM, "%s: no memory to save the compiled model (%d bytes)", r->source, n);
    tw_robot_buf_hdr h = {.ft_added = r->ft_added};
    memcpy(h.magic, TW_ROBOT_BUF_MAGIC, sizeof h.magic);
    memcpy(b, &h, sizeof h);
    mj_saveModel(r->m, NULL, b + sizeof h, n);
    *buf = b;
    *len = sizeof h + (size_t)n;
    return 0;
}

/* mj_loadModel reads from a file or a VFS only: the bytes go into a one-file VFS. */
static mjModel *tw_robot_model_from_bytes(const void *bytes, size_t len)
{
    mjVFS *vfs = calloc(1, sizeof *vfs);
    mjModel *m = NULL;
    if (!vfs)
        return NULL;
    mj_defaultVFS(vfs);
    if (mj_makeEmptyFileVFS(vfs, "tw_model.mjb", (int)len) == 0) {
        memcpy(vfs->filedata[vfs->nfile - 1], bytes, len);
        m = mj_loadModel("tw_model.mjb", vfs);
    }
    mj_deleteVFS(vfs);
    free(vfs);
    return m;
}

int tw_robot_load_buffer(const void *buf, size_t len, const char *source, tw_robot **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_robot_buf_hdr h;
    if (len > sizeof h)
        memcpy(&h, buf, sizeof h);
    if (len <= sizeof h || len - sizeof h > INT_MAX || memcmp(h.magic, TW_ROBOT_BUF_MAGIC, sizeof h.magic))
        return tw_errf(msg, msgsz, TW_EBAD_MAGIC, "%s: not a saved robot model (%zu bytes)", source, len);
    tw_mj_init();
    tw_robot *r = calloc(1, sizeof *r);
    if (!r)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for a robot");
    snprintf(r->source, sizeof r->source, "%s", source);
    r->ft_added = h.ft_added;
    r->m = tw_robot_model_from_bytes((const char *)buf + sizeof h, len - sizeof h);
    int rc = r->m ? tw_robot_index(r, msg, msgsz)
                  : tw_errf(msg, msgsz, TW_EMUJOCO, "%s: the saved model does not load: %s", source, tw_mj_last_error());
    if (!rc && r->ft_site < 0)
        rc = tw_errf(msg, msgsz, TW_EMUJOCO, "%s: the saved model has no F/T sensor on the hand", source);
    if (rc) {
        tw_robot_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void tw_robot_close(tw_robot *r)
{
    if (!r)
        return;
    if (r->m)
        mj_deleteModel(r->m);
    free(r);
}

int tw_robot_find_joint(const tw_robot *r, const char *name)
{
    for (int i = 0; i < r->njoint; i++)
        if (!strcmp(r->jname[i], name))
            return i;
    return -1;
}

void tw_robot_home(const tw_robot *r, mjData *d)
{
    const mjModel *m = r->m;
    mj_resetData(m, d);
    if (m->nkey > 0) {
        mju_copy(d->qpos, m->key_qpos, m->nq);
        mju_copy(d->qvel, m->key_qvel, m->nv);
        mju_copy(d->ctrl, m->key_ctrl, m->nu);
        if (m->na)
            mju_copy(d->act, m->key_act, m->na);
    }
    for (int i = 0; i < r->njoint; i++) {
        int j = r->jnt[i];
        if (m->jnt_limited[j]) {
            double lo = m->jnt_range[2 * j], hi = m->jnt_range[2 * j + 1];
            d->qpos[r->qadr[i]] = mju_clip(d->qpos[r->qadr[i]], lo, hi);
        }
    }
    mj_forward(m, d);
}

void tw_physics_forward_qacc(const mjModel *m, mjData *d, const mjtNum *qacc_d, mjtNum *qacc)
{
    int nv = m->nv;
    double h = m->opt.timestep;
    if (m->opt.integrator == mjINT_RK4) {
        if (qacc != qacc_d)
            mju_copy(qacc, qacc_d, nv);
        return;
    }
    mjMARKSTACK;
    mjtNum *f = mj_stackAlloc(d, nv), *x = mj_stackAlloc(d, nv);
    for (int v = 0; v < nv; v++)
        f[v] = -m->dof_damping[v] * qacc_d[v]; /* Dv·qacc_d */
    if (m->opt.integrator == mjINT_IMPLICIT)
        for (int a = 0; a < m->nu; a++) {
            if (m->actuator_trntype[a] != mjTRN_JOINT || m->actuator_biastype[a] != mjBIAS_AFFINE)
                continue;
            int v = m->jnt_dofadr[m->actuator_trnid[2 * a]];
            double g = m->actuator_gear[6 * a];
            f[v] += g * g * m->actuator_biasprm[a * mjNBIAS + 2] * qacc_d[v];
        }
    mj_solveM(m, d, x, f, 1);
    for (int v = 0; v < nv; v++)
        qacc[v] = qacc_d[v] - h * x[v];
    mjFREESTACK;
}

void tw_robot_ee_pose(const tw_robot *r, const mjData *d, double pose[7])
{
    mju_copy3(pose, d->site_xpos + 3 * r->ee_site);
    mju_mat2Quat(pose + 3, d->site_xmat + 9 * r->ee_site);
}

void tw_robot_fk_ee(const tw_robot *r, mjData *d, double pose[7])
{
    mj_kinematics(r->m, d);
    tw_robot_ee_pose(r, d, pose);
}
