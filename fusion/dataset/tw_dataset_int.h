/* fusion internals shared by its .c files (not a public header). */
#ifndef TW_FUSION_INT_H
#define TW_FUSION_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tw_dataset.h"

/* ---- splits ---- */
enum { TW_SPLIT_TRAIN = 0, TW_SPLIT_VAL = 1, TW_SPLIT_TEST = 2 };
extern const char *const tw_split_names[3];
uint64_t tw_fnv1a64(const char *s);
/* Assigns split[i] for n episodes of ONE domain (ids[i]); see schemas/fused.md "Splits". */
int tw_split_assign(const char *const *ids, size_t n, const double frac[3], uint64_t seed, uint8_t *split);
/* The split's episode order: order[] gets indices sorted by split key (ascending). */
void tw_split_order(const char *const *ids, size_t n, uint64_t seed, size_t *order);

/* ---- SHA-256 of a file, hex (65 bytes incl. NUL) ---- */
int tw_sha256_file(const char *path, char hex[65], char *msg, size_t msgsz);

/* ---- shard files ---- */
typedef struct {
    uint32_t window, state_dim, action_dim;
    uint32_t cap;                 /* allocated rows */
    uint32_t n;                   /* rows filled */
    float *state, *action, *next_state;
    uint8_t *domain, *split;
    uint32_t *episode, *t;
    float *weight;
} tw_shard_buf;
int tw_shard_buf_init(tw_shard_buf *b, uint32_t cap, uint32_t window, uint32_t S, uint32_t A);
void tw_shard_buf_free(tw_shard_buf *b);
/* Writes b's n rows to dir/shard-<index>.h5 via a temporary name, fsync, rename. */
int tw_shard_write(const char *dir, uint32_t index, const char *split, const tw_shard_buf *b,
                   uint64_t *bytes, char *msg, size_t msgsz);
void tw_shard_name(uint32_t index, char *buf, size_t bufsz);

/* Atomic small-file write (temporary name, fsync, rename). */
int tw_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, char *msg,
                         size_t msgsz);

#endif
