/* MPI glue. MPI is optional at build time (TW_HAVE_MPI) and at run time: MPI_Init is only called when
 * the process was launched by mpirun (Open MPI / PMIx environment), so plain `tw fuse` never needs an
 * MPI runtime. Everything here is a no-op as rank 0 of 1 otherwise. */
#include <stdlib.h>
#include <string.h>

#include "tw_config.h"
#include "tw_fusion.h"

#if TW_HAVE_MPI
#include <mpi.h>
static int active;
#endif

static int launched_by_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int tw_mpi_init(int *rank, int *size, char *msg, size_t msgsz)
{
    *rank = 0;
    *size = 1;
    if (!launched_by_mpirun())
        return 0;
#if TW_HAVE_MPI
    /* FUNNELED: fuse and simgen run helper threads (hashing, shard commits, rollouts), but only the main
     * thread ever calls MPI. */
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return tw_errf(msg, msgsz, TW_EMPI, "MPI_Init failed");
    active = 1;
    /* Errors come back as codes (a dead peer aborts the job through mpirun anyway). */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
#else
    return tw_errf(msg, msgsz, TW_EUNSUPPORTED, "launched by mpirun but this tw was built without MPI");
#endif
}

void tw_mpi_finalize(void)
{
#if TW_HAVE_MPI
    if (active)
        MPI_Finalize();
    active = 0;
#endif
}

int tw_mpi_all_ok(int ok)
{
#if TW_HAVE_MPI
    if (active) {
        int in = ok ? 1 : 0, out = 0;
        if (MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
            return 0;
        return out;
    }
#endif
    return ok != 0;
}

int tw_mpi_allgather(const void *buf, size_t len, void **out, size_t **lens, char *msg, size_t msgsz)
{
    *out = NULL;
    *lens = NULL;
#if TW_HAVE_MPI
    if (active) {
        int size;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        int mylen = (int)len;
        int *all = calloc((size_t)size, sizeof *all), *displ = calloc((size_t)size, sizeof *displ);
        size_t *l = calloc((size_t)size, sizeof *l);
        char *recv = NULL;
        if (!all || !displ || !l || len > 0x7fffffff)
            goto fail;
        if (MPI_Allgather(&mylen, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD) != MPI_SUCCESS)
            goto fail;
        size_t total = 0;
        for (int r = 0; r < size; r++) {
            displ[r] = (int)total;
            l[r] = (size_t)all[r];
            total += (size_t)all[r];
        }
        if (total > 0x7fffffff || !(recv = malloc(total ? total : 1)))
            goto fail;
        if (MPI_Allgatherv(buf, mylen, MPI_BYTE, recv, all, displ, MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS)
            goto fail;
        free(all);
        free(displ);
        *out = recv;
        *lens = l;
        return 0;
fail:
        free(all);
        free(displ);
        free(l);
        free(recv);
        return tw_errf(msg, msgsz, TW_EMPI, "MPI allgather of %zu bytes failed", len);
    }
#endif
    *out = malloc(len ? len : 1);
    *lens = malloc(sizeof(size_t));
    if (!*out || !*lens) {
        free(*out);
        free(*lens);
        *out = NULL;
        *lens = NULL;
        return tw_errf(msg, msgsz, TW_ENOMEM, "gather: out of memory");
    }
    memcpy(*out, buf, len);
    (*lens)[0] = len;
    return 0;
}

int tw_mpi_local_size(void)
{
    /* Ranks sharing this node (Open MPI exports it); 1 when not under mpirun. */
    const char *v = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int n = v ? atoi(v) : 1;
    return n > 0 ? n : 1;
}
