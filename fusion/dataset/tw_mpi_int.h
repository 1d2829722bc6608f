/* Between tw_mpi.c (MPI and the collectives' entry points) and tw_mpi_local.c (the local group): the
 * collectives of a local-group worker, which go to its supervisor. */
#ifndef TW_MPI_INT_H
#define TW_MPI_INT_H

#include <stddef.h>

/* 1 in a local-group worker (after tw_mpi_local_start, before tw_mpi_local_finish). */
int tw_lg_worker(void);
int tw_lg_all_ok(int ok);
int tw_lg_allgather(const void *buf, size_t len, void **out, size_t **lens, char *msg, size_t msgsz);
int tw_lg_bcast(void *buf, size_t len, int root, char *msg, size_t msgsz);

#endif
