/* Plan internals shared by the model backends and the closed-loop runner. */
#ifndef TW_PLAN_INT_H
#define TW_PLAN_INT_H

#include "tw_plan.h"

/* The fused state vector (qpos, qvel of the streamed joints, ee_pos, ee_quat) of d; needs kinematics. */
void tw_plan_state_of(const tw_robot *r, mjData *d, float *s);
/* Physics models start each row's free object from here (the real robot's current object state). */
void tw_plan_model_set_object(tw_plan_model *m, const double obj[13]);

/* A second, independent instance of m (the same model, its own buffers and MuJoCo data) for another
 * thread; counters start at 0. A physics or hybrid model keeps a pointer to the nominal robot. */
int tw_plan_model_clone(const tw_plan_model *m, tw_plan_model **out, char *msg, size_t msgsz);

#endif
