/* Shared set-up of the tw_mcap tests: fixtures written by Foxglove's Python mcap (gen_mcap.py)
 * into a temporary directory, what Python's reader found in them (expect.json), and a walk over
 * every message of a reader. */
#ifndef MCAP_FIXTURE_H
#define MCAP_FIXTURE_H

#include <jansson.h>
#include <stdint.h>

#include "tw_mcap.h"

typedef struct {
    char dir[256];
    json_t *expect;
} mcap_fx;

/* Creates the fixtures once per test binary (runs tests/mcap/gen_mcap.py); 0 on success. */
int mcap_fx_setup(void **state);
int mcap_fx_teardown(void **state);
/* Path of a fixture file (static buffer, valid until the next call). */
const char *mcap_fx_path(const mcap_fx *fx, const char *name);
/* Runs `python tests/mcap/<script> args` with the pinned mcap venv; returns its exit status. */
int mcap_fx_python(const char *script, const char *args);

typedef struct {
    uint64_t count;
    uint64_t checksum;  /* sum of crc32(channel u16, sequence u32, log u64, publish u64, data), as gen_mcap.py */
    uint64_t out_of_order; /* messages whose log_time is below the previous one */
    int rc;             /* last tw_mcap_reader_next result: 0 at the end or an error code */
    char msg[512];
} mcap_walk;

/* Reads every message of r. */
void mcap_fx_walk(tw_mcap_reader *r, mcap_walk *w);

#endif
