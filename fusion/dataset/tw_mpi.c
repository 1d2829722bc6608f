/* MPI glue. MPI is optional at build time (TW_HAVE_MPI) and at run time: MPI_Init is only called when
 * the process was launched by mpirun (Open MPI / PMIx environment), so plain `tw fuse` never needs an
 * MPI runtime. Everything here is a no-op as rank 0 of 1 otherwise. In a local group's worker
 * (tw_mpi_local.c) the same collectives go to its supervisor instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_config.h"
#include "tw_dataset.h"
#include "tw_mpi_int.h"

#if TW_HAVE_MPI
#include <mpi.h>
static int active;
#endif

int tw_mpi_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int tw_mpi_init(int *rank, int *size, char *msg, size_t msgsz)
{
    *rank = 0;
    *size = 1;
    if (!tw_mpi_launched())
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
    if (tw_lg_worker())
        return tw_lg_all_ok(ok);
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
    if (tw_lg_worker())
        return tw_lg_allgather(buf, len, out, lens, msg, msgsz);
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

int tw_mpi_bcast(void *buf, size_t len, int root, char *msg, size_t msgsz)
{
    if (tw_lg_worker())
        return tw_lg_bcast(buf, len, root, msg, msgsz);
#if TW_HAVE_MPI
    if (active) {
        /* MPI counts are ints: large buffers go in pieces. A rank that comes early (rank 0 is still
         * compiling what it will send) waits in a sleeping test loop, not in MPI's busy poll, which would
         * burn a core that rank 0 or this node's other ranks could use. */
        for (size_t off = 0; off < len;) {
            int n = len - off > (1u << 30) ? (1 << 30) : (int)(len - off), done = 0;
            MPI_Request req;
            if (MPI_Ibcast((char *)buf + off, n, MPI_BYTE, root, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
                return tw_errf(msg, msgsz, TW_EMPI, "MPI broadcast of %zu bytes failed", len);
            while (!done) {
                if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
                    return tw_errf(msg, msgsz, TW_EMPI, "MPI broadcast of %zu bytes failed", len);
                if (!done)
                    nanosleep(&(struct timespec){0, 100000}, NULL);
            }
            off += (size_t)n;
        }
    }
#endif
    (void)root;
    return 0;
}

/* ---- one robot model for all ranks ---- */
/* Rank 0's half: compile, then broadcast the size (0: failed) and the compiled bytes. */
static int robot_send(const char *path, int ok, tw_robot **out, char *msg, size_t msgsz)
{
    void *buf = NULL;
    size_t len = 0;
    int rc = ok ? tw_robot_load(path, out, msg, msgsz) : TW_EINVAL;
    if (!rc)
        rc = tw_robot_save_buffer(*out, &buf, &len, msg, msgsz);
    uint64_t n = rc ? 0 : len;
    char bmsg[256];
    int brc = tw_mpi_bcast(&n, sizeof n, 0, bmsg, sizeof bmsg);
    if (!brc && n)
        brc = tw_mpi_bcast(buf, len, 0, bmsg, sizeof bmsg);
    free(buf);
    return rc ? rc : brc ? tw_errf(msg, msgsz, brc, "%s", bmsg) : 0;
}

static int robot_receive(const char *path, int ok, tw_robot **out, char *msg, size_t msgsz)
{
    uint64_t n = 0;
    char bmsg[256];
    char *buf = NULL;
    int rc = tw_mpi_bcast(&n, sizeof n, 0, bmsg, sizeof bmsg);
    if (!rc && n && !(buf = malloc(n)))
        return tw_errf(msg, msgsz, TW_ENOMEM, "no memory for the model of %s (%llu bytes)", path,
                       (unsigned long long)n);
    if (!rc && n)
        rc = tw_mpi_bcast(buf, n, 0, bmsg, sizeof bmsg);
    if (rc)
        tw_errf(msg, msgsz, rc, "%s", bmsg);
    else if (!n)
        rc = tw_errf(msg, msgsz, TW_EMPI, "rank 0 could not load the model %s", path);
    else if (ok)
        rc = tw_robot_load_buffer(buf, n, path, out, msg, msgsz);
    free(buf);
    return rc;
}

int tw_mpi_robot_load(const char *path, int rank, int nranks, int ok, tw_robot **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (nranks <= 1)
        return ok ? tw_robot_load(path, out, msg, msgsz) : TW_EINVAL;
    return rank == 0 ? robot_send(path, ok, out, msg, msgsz) : robot_receive(path, ok, out, msg, msgsz);
}
