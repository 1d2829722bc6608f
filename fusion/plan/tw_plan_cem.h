/* The CEM planner (internal to fusion/plan). */
#ifndef TW_PLAN_CEM_H
#define TW_PLAN_CEM_H

#include "tw_plan_int.h"

#define TW_CEM_MAX_OPT 16
#define TW_CEM_MAX_KNOTS 8

typedef struct {
    tw_plan_model *m;
    const tw_plan_opts *o;
    int S, A, nopt, dim;
    int act[TW_CEM_MAX_OPT];          /* actuators optimised (the arm's); the others hold their ctrl */
    int jcol[TW_CEM_MAX_OPT];         /* the joint (state column) each drives */
    double lo[TW_CEM_MAX_OPT], hi[TW_CEM_MAX_OPT];
    double mean[TW_CEM_MAX_OPT * TW_CEM_MAX_KNOTS], sd[TW_CEM_MAX_OPT * TW_CEM_MAX_KNOTS];
    float *states, *next, *acts, *spread;
    double *params, *cost, *sprd;
    int *order;
    tw_rng rng;
} tw_cem;

int tw_cem_init(tw_cem *c, tw_plan_model *m, const tw_robot *r, const tw_plan_opts *o, char *msg, size_t msgsz);
void tw_cem_free(tw_cem *c);
/* Starts an episode: the mean at the current ctrl, the sampling stream from (seed, stream). */
void tw_cem_reset(tw_cem *c, const double *ctrl, uint64_t seed, uint64_t stream);
/* One plan from state s0 with the current ctrl; target[h] for each period of the horizon. Writes the
 * action to apply now (nu values) and the ensemble spread along the chosen plan. */
int tw_cem_plan(tw_cem *c, const float *s0, const double *ctrl, const double (*target)[3], double *action,
                double *spread);

#endif
