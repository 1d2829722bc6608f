/* Internal to the episode HDF5 builder: its state, shared by tw_episode_h5.c (file layout,
 * attributes, finish) and tw_episode_apply.c (journal records into datasets). */
#ifndef TW_EPISODE_BUILD_H
#define TW_EPISODE_BUILD_H

#include <jansson.h>

#include "tw_episode_int.h"
#include "tw_h5.h"

typedef struct {
    const tw_stream_decl *d;
    int layout;
    size_t sbytes;
    tw_h5col t_src, t_recv, seq, data;           /* /streams/<name> */
    tw_h5col vt_src, vt_recv, vpts, vkey, vsize; /* /video/<name> */
    uint64_t limit;     /* video: frames the file holds */
    int file_ok;        /* video: the file opened */
    tw_seqtrack trk;    /* the writer's tracker, re-run on the stored samples (tw_wire.h, "sequence numbers") */
    uint64_t duplicates; /* from the journal's DUPS records: resends never reach the data */
    uint64_t recorder_drops;
} tw_bstream;

typedef struct {
    char dir[PATH_MAX];
    hid_t f;
    tw_episode_info info;
    tw_stream_decl *decls;
    json_t *head;
    tw_bstream *s;
    size_t n;
    tw_h5col ev_t, ev_kind, ev_label, ev_data, ck_t, ck_off, ck_rtt;
    json_t *meta;
    int have_end, success;
    char status[32];
    int64_t ended_ns, max_recv;
    char *scratch;
    size_t scap;
    const char **ptrs;
    size_t pcap;
} tw_builder;

/* Applies one journal record (any type but HEAD) to the file being built. */
int tw_build_apply(tw_builder *b, uint32_t type, const uint8_t *p, uint32_t len, char *msg, size_t msgsz);
/* TW_ENOSPACE when dir's filesystem is (nearly) full, else TW_EHDF5: HDF5 does not keep errno. */
int tw_build_fail_code(const char *dir);

#endif
