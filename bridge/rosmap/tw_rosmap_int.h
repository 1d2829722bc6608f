/* Internals of bridge/rosmap shared by its files (never included from outside the folder). */
#ifndef TW_ROSMAP_INT_H
#define TW_ROSMAP_INT_H

#include "tw_rosmap.h"

typedef enum { RM_CDR = 0, RM_JSON, RM_PB } rm_encoding;

struct tw_rostopic {
    char topic[256];
    char type_name[128];
    tw_stream_decl decl;
    int have_decl;
    int want;              /* tw_kind the map asks for, or -1 (by type) */
    unsigned flags;
    rm_encoding enc;
    tw_ros2_kind kind;     /* UNKNOWN for JSON until the first message */
    tw_ros2_schema *schema; /* CDR only */
    tw_ros2_msg *msg;
    double vals[TW_MAX_ELEMS];
    double tmp[4][TW_MAX_AXES];
    uint8_t *pix;          /* rgb24 scratch (decoded or converted picture) */
    size_t pix_cap;
};

/* tw_rosmap_sample.c: the per-kind conversions (after decode). */
int rm_convert(tw_rostopic *t, int64_t t_recv_ns, tw_rossample *s, char *err, size_t errsz);
int rm_convert_frame(tw_rostopic *t, const tw_ros2_frame *f, int64_t t_recv_ns, tw_rossample *s, char *err,
                     size_t errsz);
/* Whether a message kind can be stored as stream kind `want` (tw_kind). */
int rm_kind_fits(tw_ros2_kind k, int want);
tw_kind rm_default_kind(tw_ros2_kind k);

#endif
