/* LeRobot dataset layout shared by `tw import lerobot` and `tw export lerobot` (schemas/lerobot.md):
 * meta/info.json features, path templates, tasks and the per-episode index of v3.0 (meta/episodes/chunk-NNN/file-NNN.parquet) and
 * v2.1 (meta/episodes.jsonl, one data file and one video file per episode). */
#ifndef TW_CONVERT_LEROBOT_H
#define TW_CONVERT_LEROBOT_H

#include <jansson.h>

#include "tw_convert_episodes.h"
#include "tw_parquet.h"

#define LR_MAX_FEATURES TW_MAX_STREAMS
#define LR_MAX_VIDEO 16

typedef struct {
    char key[TW_MAX_NAME];  /* LeRobot feature name, e.g. "observation.state" */
    char dtype[16];         /* "float32", "int64", "bool", "video", "image", "string", ... */
    int ndim;
    uint32_t shape[TW_MAX_DIMS];
    size_t elems;           /* product of shape (video: 0) */
    json_t *names;          /* borrowed from info */
    int video;              /* dtype video */
    int vi;                 /* index among the video features */
} lr_feature;

typedef struct {
    char root[CV_PATH];
    char version[16];       /* "v3.0" or "v2.1" */
    double fps;
    int64_t chunks_size;
    const char *data_path, *video_path, *robot_type; /* borrowed from info */
    json_t *info;
    lr_feature f[LR_MAX_FEATURES];
    size_t nf, nvideo;
    json_t *tasks;          /* array: task_index -> string */
} lr_dataset;

typedef struct {
    int64_t index, length;
    int64_t data_chunk, data_file, from, to; /* v3.0: rows [from, to) of the dataset's global index */
    json_t *tasks;          /* array of strings (owned) */
    struct {
        int64_t chunk, file;
        double from_ts, to_ts;
    } video[LR_MAX_VIDEO];
} lr_episode;

/* The bookkeeping columns every LeRobot data file has (not features of the robot). */
int lr_is_bookkeeping(const char *key);

/* Reads meta/info.json (refusing other codebase versions, naming the file and field) and the tasks. */
int lr_open(lr_dataset *d, const char *root, char *msg, size_t msgsz);
void lr_close(lr_dataset *d);
/* The episode index, in episode order; *out is malloc'd (free with lr_episodes_free). */
int lr_episodes(lr_dataset *d, lr_episode **out, size_t *n, char *msg, size_t msgsz);
void lr_episodes_free(lr_episode *e, size_t n);
/* The path of an episode's data file or one of its videos (vi < 0: data). */
void lr_path(const lr_dataset *d, const lr_episode *e, int vi, char *out, size_t outsz);
/* Python str.format of LeRobot's templates: {name} and {name:0Nd} with the named integers/strings. */
void lr_format(const char *tmpl, char *out, size_t outsz, const char *const *names, const char *const *values,
               size_t n);

/* Appends the objects of a JSON-lines file (v2.1 meta) to out. */
int lr_read_jsonl(const char *path, json_t *out, char *msg, size_t msgsz);
/* Reads rows [row0, row0 + nrows) of column col as `as`, growing *buf (and *lengths when given) as needed. */
int lr_read(tw_parquet_reader *r, size_t col, int64_t row0, int64_t nrows, tw_parquet_type as, void **buf,
            size_t *cap, int64_t *lengths, const char *what, char *msg, size_t msgsz);

#endif
