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

/* Persistent worker threads (tw_plan_pool.c): run(fn, ctx, n) calls fn(ctx, slot) for slots 0..n-1,
 * slot 0 on the caller, the rest on workers (n capped at the pool's size), and returns when all are done. */
typedef struct tw_plan_pool tw_plan_pool;
int tw_plan_pool_open(int n, tw_plan_pool **out); /* n - 1 workers; fewer if threads cannot be had */
int tw_plan_pool_size(const tw_plan_pool *p);     /* workers + 1 (1 for NULL) */
void tw_plan_pool_run(tw_plan_pool *p, void (*fn)(void *, int), void *ctx, int n);
void tw_plan_pool_close(tw_plan_pool *p);         /* NULL is a no-op */

#endif
