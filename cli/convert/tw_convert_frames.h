/* An episode seen as LeRobot/robomimic see data: one row per step on a uniform grid at `fps`, one column per
 * feature (shared by both exporters). Which stream becomes which feature: the provenance an import left in the
 * episode's metadata when there is one (so LeRobot -> teleworld -> LeRobot gives back the same features), else by
 * kind (schemas/lerobot.md, "teleworld -> LeRobot"). Rows are taken zero-order: the latest sample at or before the
 * row's time (the first sample before it starts). Memory: one episode's rows. */
#ifndef TW_CONVERT_FRAMES_H
#define TW_CONVERT_FRAMES_H

#include <jansson.h>

#include "tw_convert_episodes.h"

#define CV_MAX_FEATURES (2 * TW_MAX_STREAMS)

typedef struct {
    char key[TW_MAX_NAME + 32]; /* feature name, e.g. "observation.state" */
    char stream[TW_MAX_NAME];/* the episode stream it comes from */
    char dtype[16];          /* LeRobot dtype: float32, float64, int64, int32, uint8, bool, video */
    int ndim;
    uint32_t shape[TW_MAX_DIMS];
    size_t elems;
    int row;                 /* joint_state: the row (0 position, 1 velocity, 2 effort); -1 otherwise */
    int video;
    json_t *names;           /* owned; may be NULL */
} cv_feature;

typedef struct {
    cv_feature f[CV_MAX_FEATURES];
    size_t nf;
    double fps;
    char base[TW_MAX_NAME];  /* stream whose samples set the grid */
    json_t *notes;           /* what was not exported, as strings */
} cv_plan;

/* The "source" object an import left in the episode's metadata when its format is `format` (a new reference),
 * else NULL. */
json_t *cv_source(const tw_episode *e, const char *format);

/* The plan of an episode; fps <= 0 picks the source's (LeRobot provenance, else the base stream's nominal rate). */
int cv_plan_make(cv_plan *p, const tw_episode *e, double fps, char *msg, size_t msgsz);
/* Whether another episode's plan q has the same features (names, dtypes, shapes) as p: else TW_EMISMATCH naming
 * both. Streams may differ (an imported and a recorded episode): rows are read with each episode's own plan. */
int cv_plan_check(const cv_plan *p, const cv_plan *q, const char *first_dir, const char *dir, char *msg,
                  size_t msgsz);
void cv_plan_free(cv_plan *p);

/* One episode's rows: x[f] is rows * elems doubles of feature f (NULL for video features). */
typedef struct {
    size_t rows;
    int64_t t0_ns;
    double *x[CV_MAX_FEATURES];
} cv_rows;
int cv_rows_read(const cv_plan *p, const tw_episode *e, cv_rows *r, char *msg, size_t msgsz);
void cv_rows_free(cv_rows *r);

#endif
