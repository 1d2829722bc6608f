/* The parquet files of an exported LeRobot v3.0 dataset, laid out as LeRobot 0.4 writes them:
 *   data/chunk-NNN/file-NNN.parquet   features (fixed_size_list<T, n> for vectors), then timestamp (float),
 *                                     frame_index, episode_index, index, task_index (int64); one row group per
 *                                     episode; "huggingface" metadata with the HF datasets features;
 *   meta/episodes/chunk-000/file-000.parquet  one row per episode: index ranges, video spans, stats/<feature>/<stat>
 *                                     (LeRobot's per-episode statistics) and the teleworld/... extension columns;
 *   meta/tasks.parquet                task_index and the task text as the pandas index (__index_level_0__). */
#ifndef TW_CONVERT_LEROBOT_WRITE_H
#define TW_CONVERT_LEROBOT_WRITE_H

#include "tw_convert_frames.h"
#include "tw_parquet.h"

#define LW_NBOOK 5 /* timestamp, frame_index, episode_index, index, task_index */

typedef struct {
    const cv_plan *plan;
    char root[CV_PATH];
    tw_parquet_writer *data, *eps;
    int64_t data_file, data_rows_bytes; /* current data file index and its estimated size */
    size_t nep_cols;
    tw_parquet_field *ep_fields;
    char **ep_names;
} lw_writer;

/* One exported episode, for its meta/episodes row. */
typedef struct {
    int64_t index, length, from, to, data_file, task_index;
    const char *task, *episode_id, *domain, *split;
    double weight;
    int64_t video_file[CV_MAX_FEATURES];
    double video_from[CV_MAX_FEATURES], video_to[CV_MAX_FEATURES];
    cv_stats stats[CV_MAX_FEATURES + LW_NBOOK]; /* plan features, then the bookkeeping columns */
} lw_episode;

int lw_open(lw_writer *w, const cv_plan *plan, const char *root, char *msg, size_t msgsz);
/* Appends an episode's rows (one row group); rolls to a new data file past 100 MB like LeRobot. */
int lw_data(lw_writer *w, const cv_rows *r, lw_episode *ep, char *msg, size_t msgsz);
int lw_episode_row(lw_writer *w, const lw_episode *ep, char *msg, size_t msgsz);
/* Finishes the data and episodes files. */
int lw_close(lw_writer *w, char *msg, size_t msgsz);
void lw_abort(lw_writer *w);
/* meta/tasks.parquet from the task texts in task_index order. */
int lw_tasks(const char *root, json_t *tasks, char *msg, size_t msgsz);
/* The HF datasets / info.json type of a plan feature. */
int lw_is_int(const cv_feature *f);

#endif
