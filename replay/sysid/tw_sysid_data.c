/* Sysid data: kept timesteps of aligned episodes (or samples fed directly), classified for robot
 * contacts once, with the nominal model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_sysid_int.h"

int tw_sysid_data_new(const tw_robot *nominal, int sim_integrator, tw_sysid_data **out, char *msg, size_t msgsz)
{
    *out = NULL;
    tw_sysid_data *sd = calloc(1, sizeof *sd);
    if (!sd)
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for sysid data");
    sd->nominal = nominal;
    sd->sim_integrator = sim_integrator;
    sd->root = nominal->m->body_rootid[nominal->m->jnt_bodyid[nominal->jnt[0]]];
    if (!(sd->d = tw_mj_make_data(nominal->m, msg, msgsz))) {
        free(sd);
        return TW_EMUJOCO;
    }
    tw_robot_home(nominal, sd->d);
    *out = sd;
    return 0;
}

void tw_sysid_data_free(tw_sysid_data *sd)
{
    if (!sd)
        return;
    if (sd->d)
        mj_deleteData(sd->d);
    free(sd->s);
    free(sd->contact);
    free(sd->limit);
    free(sd);
}

size_t tw_sysid_data_count(const tw_sysid_data *sd) { return sd ? sd->n : 0; }

/* 1 when a contact involves a body of the robot's tree (object grasped, finger on the table...):
 * those forces are not recorded, so the step cannot test inverse dynamics or the F/T sensor.
 * *limit gets the joints whose range limit is active: the inverse dynamics of such a joint holds
 * the limit's constraint force, which mj_inverse derives from qacc through the (stiff) soft-constraint
 * model, so any qacc noise comes out amplified; its effort channel is left out there. */
static int robot_contact(tw_sysid_data *sd, const tw_sysid_sample *s, uint32_t *limit)
{
    const tw_robot *r = sd->nominal;
    const mjModel *m = r->m;
    mjData *d = sd->d;
    for (int j = 0; j < r->njoint; j++) {
        d->qpos[r->qadr[j]] = s->qpos[j];
        d->qvel[r->vadr[j]] = s->qvel[j];
    }
    if (s->have_object && r->object_qadr >= 0) {
        int dof = m->jnt_dofadr[m->body_jntadr[r->object_body]];
        mju_copy(d->qpos + r->object_qadr, s->object, 7);
        mju_copy(d->qvel + dof, s->object + 7, 6);
    }
    mj_fwdPosition(m, d);
    *limit = 0;
    for (int i = 0; i < d->nefc; i++)
        if (d->efc_type[i] == mjCNSTR_LIMIT_JOINT)
            for (int j = 0; j < r->njoint; j++)
                if (r->jnt[j] == d->efc_id[i])
                    *limit |= 1u << j;
    for (int i = 0; i < d->ncon; i++) {
        int b1 = m->geom_bodyid[d->contact[i].geom1], b2 = m->geom_bodyid[d->contact[i].geom2];
        if (m->body_rootid[b1] == sd->root || m->body_rootid[b2] == sd->root)
            return 1;
    }
    return 0;
}

int tw_sysid_data_add(tw_sysid_data *sd, const tw_sysid_sample *s, char *msg, size_t msgsz)
{
    if (s->segment < 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "sysid sample: negative segment %d", s->segment);
    int nj = sd->nominal->njoint;
    for (int j = 0; j < nj; j++)
        if (!isfinite(s->qpos[j]) || !isfinite(s->qvel[j]) || !isfinite(s->qacc[j]) || !isfinite(s->effort[j]))
            return tw_errf(msg, msgsz, TW_EINVAL, "sysid sample (segment %d, step %llu): joint %s is not finite",
                           s->segment, (unsigned long long)s->step, sd->nominal->jname[j]);
    if (sd->n == sd->cap) {
        size_t cap = sd->cap ? 2 * sd->cap : 1024;
        tw_sysid_sample *ns = realloc(sd->s, cap * sizeof *ns);
        if (ns)
            sd->s = ns;
        uint8_t *nc = ns ? realloc(sd->contact, cap) : NULL;
        if (nc)
            sd->contact = nc;
        uint32_t *nl = nc ? realloc(sd->limit, cap * sizeof *nl) : NULL;
        if (!nl)
            return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for %zu sysid samples", cap);
        sd->limit = nl;
        sd->cap = cap;
    }
    sd->s[sd->n] = *s;
    sd->contact[sd->n] = (uint8_t)robot_contact(sd, s, &sd->limit[sd->n]);
    sd->n++;
    if (s->segment >= sd->nsegments)
        sd->nsegments = s->segment + 1;
    return 0;
}
