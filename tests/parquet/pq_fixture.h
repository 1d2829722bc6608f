/* Shared by the tw_parquet tests: the Python with pyarrow, a scratch directory, a shell command. */
#ifndef PQ_FIXTURE_H
#define PQ_FIXTURE_H

#include <stddef.h>

/* $PQ_PYTHON, else $TW_SOURCE_ROOT/.venv/bin/python (scripts/setup's venv), else /usr/bin/python3. */
const char *pq_python(void);
/* Path of a file in tests/parquet/ of the source tree, in buf. */
const char *pq_script(char *buf, size_t bufsz, const char *name);
/* Creates a fresh directory under $TMPDIR (or /tmp) into buf; NULL on failure. */
char *pq_tmpdir(char *buf, size_t bufsz);
/* Removes dir and everything in it. */
void pq_rmtree(const char *dir);
/* Runs a printf-formatted shell command; returns its exit status (-1 if it could not run). */
int pq_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether path exists. */
int pq_exists(const char *path);

#endif
