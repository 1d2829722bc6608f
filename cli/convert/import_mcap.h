/* tw import mcap: state shared by its two files (import_mcap.c: plan, episodes; import_mcap_bag.c: files
 * of a bag, channels -> topics). */
#ifndef IMPORT_MCAP_H
#define IMPORT_MCAP_H

#include <stdint.h>

#include "tw_episode.h"
#include "tw_mcap.h"
#include "tw_rosmap.h"

#define IMP_MAX_FILES 4096
#define IMP_PLAN_SAMPLES 50 /* messages per topic the first pass reads to fix declarations and rates */

typedef struct {
    tw_rostopic *t;
    uint16_t sid;      /* stream id, 0: never had a message (not imported) */
    uint64_t seq;      /* next seq in the current episode */
    uint64_t n_plan;   /* first pass: messages seen */
    int64_t first, last; /* first pass: log times */
    uint64_t total;    /* messages imported */
} imp_mapped;

typedef struct {
    char topic[256], type[128], why[256];
    uint64_t count;
} imp_unmapped;

typedef struct {
    const tw_rosmap *map;
    imp_mapped m[TW_MAX_STREAMS];
    size_t nm;
    imp_unmapped *u;
    size_t nu, ucap;
    int32_t *chan;     /* [65536] channel id of the current file -> topic (see imp_map_channels) */
    int planned;       /* the first pass is over: new topics are listed, not mapped */
} imp;

int imp_bag_files(const char *src, char ***files, size_t *n, char *err, size_t errsz);
void imp_bag_files_free(char **files, size_t n);
/* chan[id] = index into m (>= 0), -(index into u) - 2 (unmapped) or -1 (not declared yet). */
int imp_map_channels(imp *im, tw_mcap_reader *r, const char *file, char *err, size_t errsz);
int imp_channel_of(imp *im, tw_mcap_reader *r, const char *file, uint16_t id, int32_t *slot, char *err,
                   size_t errsz);

#endif
