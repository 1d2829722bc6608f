/* Local group: the single-machine stand-in for mpirun (tw_mpi_local_start). Worker processes forked from
 * one supervisor, each a rank, each with a socketpair to the supervisor, which acts as the hub of every
 * collective. Processes, not threads, because the serial HDF5 library allows one thread at a time per
 * process. The hub does no work of its own, so it notices a dead worker at once (EOF on its socket),
 * whatever the others are doing. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tw_dataset.h"
#include "tw_mpi_int.h"

/* ---- local group: wire format and the worker's side ---- */
enum { LG_ALL_OK = 1, LG_GATHER, LG_BCAST, LG_DONE };
typedef struct {
    uint32_t type;
    int32_t arg;  /* ALL_OK: ok flag (reply: the AND); BCAST: root; DONE: the worker's rc */
    uint64_t len; /* payload bytes that follow */
} lg_hdr;
/* GATHER reply payload: size uint64 lengths, then every rank's bytes in rank order.
 * BCAST: the root sends its bytes, the others none; the reply is the root's bytes.
 * DONE: the worker's final message text; no reply. */

static int lg_fd = -1; /* in a local-group worker: its socket to the supervisor */
static int lg_rank, lg_size;

static int lg_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int lg_recv(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* EOF: the peer is gone */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One message: header and payload (*data malloc'd, NULL when empty). */
static int lg_recv_msg(int fd, lg_hdr *h, char **data)
{
    *data = NULL;
    if (lg_recv(fd, h, sizeof *h) < 0 || h->len > ((uint64_t)1 << 40))
        return -1;
    if (!h->len)
        return 0;
    if (!(*data = malloc(h->len)) || lg_recv(fd, *data, h->len) < 0) {
        free(*data);
        *data = NULL;
        return -1;
    }
    return 0;
}

static int lg_send_msg(int fd, uint32_t type, int32_t arg, const void *data, size_t len)
{
    lg_hdr h = {type, arg, len};
    return lg_send(fd, &h, sizeof h) < 0 || (len && lg_send(fd, data, len) < 0) ? -1 : 0;
}

/* A worker's collective: its contribution to the supervisor, the result back. */
static int lg_call(uint32_t type, int32_t arg, const void *data, size_t len, lg_hdr *rh, char **reply, char *msg,
                   size_t msgsz)
{
    if (lg_send_msg(lg_fd, type, arg, data, len) < 0 || lg_recv_msg(lg_fd, rh, reply) < 0 || rh->type != type)
        return tw_errf(msg, msgsz, TW_EMPI, "local group: lost the supervisor process");
    return 0;
}

int tw_lg_allgather(const void *buf, size_t len, void **out, size_t **lens, char *msg, size_t msgsz)
{
    lg_hdr rh;
    char *reply = NULL;
    int rc = lg_call(LG_GATHER, 0, buf, len, &rh, &reply, msg, msgsz);
    if (rc)
        return rc;
    size_t head = (size_t)lg_size * sizeof(uint64_t);
    size_t *l = malloc((size_t)lg_size * sizeof *l);
    char *all = malloc(rh.len > head ? rh.len - head : 1);
    if (!l || !all || rh.len < head) {
        free(l);
        free(all);
        free(reply);
        return tw_errf(msg, msgsz, rh.len < head ? TW_EMPI : TW_ENOMEM, "local group: gather failed");
    }
    for (int r = 0; r < lg_size; r++) {
        uint64_t v;
        memcpy(&v, reply + (size_t)r * sizeof v, sizeof v);
        l[r] = (size_t)v;
    }
    memcpy(all, reply + head, rh.len - head);
    free(reply);
    *out = all;
    *lens = l;
    return 0;
}

int tw_lg_worker(void)
{
    return lg_fd >= 0;
}

int tw_lg_all_ok(int ok)
{
    lg_hdr rh;
    char *reply = NULL;
    if (lg_call(LG_ALL_OK, ok != 0, NULL, 0, &rh, &reply, NULL, 0))
        return 0;
    free(reply);
    return rh.arg != 0;
}

int tw_lg_bcast(void *buf, size_t len, int root, char *msg, size_t msgsz)
{
    lg_hdr rh;
    char *reply = NULL;
    int rc = lg_call(LG_BCAST, root, buf, lg_rank == root ? len : 0, &rh, &reply, msg, msgsz);
    if (!rc && rh.len != len)
        rc = tw_errf(msg, msgsz, TW_EMPI, "local group: broadcast of %zu bytes got %llu", len,
                     (unsigned long long)rh.len);
    if (!rc && len)
        memcpy(buf, reply, len);
    free(reply);
    return rc;
}

/* ---- local group: the supervisor ---- */
typedef struct {
    int n;
    pid_t *pid;
    int *fd;
    lg_hdr *h;     /* this round's message of each worker */
    char **data;
    int *have;
    struct pollfd *pfd;
} lg_hub;

static int lg_hub_alloc(lg_hub *g, int n)
{
    memset(g, 0, sizeof *g);
    g->pid = calloc((size_t)n, sizeof *g->pid);
    g->fd = calloc((size_t)n, sizeof *g->fd);
    g->h = calloc((size_t)n, sizeof *g->h);
    g->data = calloc((size_t)n, sizeof *g->data);
    g->have = calloc((size_t)n, sizeof *g->have);
    g->pfd = calloc((size_t)n, sizeof *g->pfd);
    return g->pid && g->fd && g->h && g->data && g->have && g->pfd ? 0 : -1;
}

static void lg_hub_clear_round(lg_hub *g)
{
    for (int k = 0; k < g->n; k++) {
        free(g->data[k]);
        g->data[k] = NULL;
        g->have[k] = 0;
    }
}

static void lg_hub_free(lg_hub *g)
{
    lg_hub_clear_round(g);
    for (int k = 0; k < g->n; k++)
        if (g->fd[k] >= 0)
            close(g->fd[k]);
    free(g->pid);
    free(g->fd);
    free(g->h);
    free(g->data);
    free(g->have);
    free(g->pfd);
}

/* Waits for a worker that is ending (its socket closed) for up to `patience` seconds, then kills it. */
static int lg_reap(pid_t pid, double patience)
{
    int st = 0;
    for (double waited = 0; waited < patience; waited += 0.01) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return r == pid ? st : 0;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

/* Ends the group on a failure: every worker still there is killed and reaped (nothing keeps writing
 * after the supervisor returns). */
static void lg_hub_kill_all(lg_hub *g)
{
    for (int k = 0; k < g->n; k++)
        if (g->pid[k] > 0)
            kill(g->pid[k], SIGKILL);
    for (int k = 0; k < g->n; k++)
        if (g->pid[k] > 0) {
            while (waitpid(g->pid[k], NULL, 0) < 0 && errno == EINTR)
                ;
            g->pid[k] = 0;
        }
}

static int lg_describe_end(int rank, pid_t pid, int st, char *msg, size_t msgsz)
{
    if (WIFSIGNALED(st))
        return tw_errf(msg, msgsz, TW_EMPI, "worker rank %d (pid %d) was killed by signal %d (%s)", rank, (int)pid,
                       WTERMSIG(st), strsignal(WTERMSIG(st)));
    return tw_errf(msg, msgsz, TW_EMPI, "worker rank %d (pid %d) exited with status %d without finishing", rank,
                   (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* Worker k's socket failed (EOF: it died, or it broke the protocol): name it, end the others. */
static int lg_hub_lost(lg_hub *g, int k, char *msg, size_t msgsz)
{
    pid_t pid = g->pid[k];
    int st = lg_reap(pid, 5);
    g->pid[k] = 0;
    lg_hub_kill_all(g);
    return lg_describe_end(k, pid, st, msg, msgsz);
}

/* One message from every worker. A worker that sent DONE may close its socket; any other EOF is a death. */
static int lg_hub_collect(lg_hub *g, char *msg, size_t msgsz)
{
    for (int got = 0; got < g->n;) {
        for (int k = 0; k < g->n; k++) {
            g->pfd[k].fd = g->have[k] && g->h[k].type == LG_DONE ? -1 : g->fd[k];
            g->pfd[k].events = POLLIN;
            g->pfd[k].revents = 0;
        }
        if (poll(g->pfd, (nfds_t)g->n, -1) < 0) {
            if (errno == EINTR)
                continue;
            lg_hub_kill_all(g);
            return tw_errf(msg, msgsz, TW_EMPI, "local group: poll: %s", strerror(errno));
        }
        for (int k = 0; k < g->n; k++) {
            if (!g->pfd[k].revents)
                continue;
            if (g->have[k] || lg_recv_msg(g->fd[k], &g->h[k], &g->data[k]) < 0)
                return lg_hub_lost(g, k, msg, msgsz);
            g->have[k] = 1;
            got++;
        }
    }
    return 0;
}

/* The collective's result, as one reply for every worker (*payload malloc'd or pointing into a round). */
static int lg_hub_reply(lg_hub *g, lg_hdr *rh, char **payload, int *owned)
{
    *payload = NULL;
    *owned = 0;
    rh->type = g->h[0].type;
    rh->arg = 0;
    rh->len = 0;
    for (int k = 0; k < g->n; k++)
        if (g->h[k].type != rh->type || (rh->type == LG_BCAST && g->h[k].arg != g->h[0].arg))
            return -1;
    if (rh->type == LG_ALL_OK) {
        rh->arg = 1;
        for (int k = 0; k < g->n; k++)
            rh->arg &= g->h[k].arg != 0;
    } else if (rh->type == LG_BCAST) {
        int root = g->h[0].arg;
        if (root < 0 || root >= g->n)
            return -1;
        rh->len = g->h[root].len;
        *payload = g->data[root];
    } else if (rh->type == LG_GATHER) {
        size_t head = (size_t)g->n * sizeof(uint64_t), total = head;
        for (int k = 0; k < g->n; k++)
            total += g->h[k].len;
        char *p = malloc(total);
        if (!p)
            return -1;
        size_t off = 0;
        for (int k = 0; k < g->n; k++) {
            memcpy(p + (size_t)k * sizeof(uint64_t), &g->h[k].len, sizeof(uint64_t));
            if (g->h[k].len)
                memcpy(p + head + off, g->data[k], g->h[k].len);
            off += g->h[k].len;
        }
        rh->len = total;
        *payload = p;
        *owned = 1;
    } else {
        return -1;
    }
    return 0;
}

/* After every worker sent DONE: reap them; a crash at exit still fails the run. The error reported is the
 * lowest rank's own one: "another rank failed" echoes (TW_EMPI) only when no rank has anything better. */
static int lg_hub_finish(lg_hub *g, char *msg, size_t msgsz)
{
    int rc = 0;
    for (int k = 0; k < g->n; k++) {
        pid_t pid = g->pid[k];
        int st = lg_reap(pid, 60);
        g->pid[k] = 0;
        if (!rc && (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) && !g->h[k].arg)))
            rc = lg_describe_end(k, pid, st, msg, msgsz);
    }
    if (rc)
        return rc;
    int pick = -1;
    for (int k = 0; k < g->n; k++)
        if (g->h[k].arg && (pick < 0 || (g->h[pick].arg == TW_EMPI && g->h[k].arg != TW_EMPI)))
            pick = k;
    if (pick < 0)
        return 0;
    char *text = g->data[pick];
    if (text && g->h[pick].len)
        text[g->h[pick].len - 1] = 0;
    return tw_errf(msg, msgsz, g->h[pick].arg, "%s", text && *text ? text : "a worker failed");
}

/* Collectives until every worker has sent DONE. */
static int lg_hub_run(lg_hub *g, char *msg, size_t msgsz)
{
    for (;;) {
        int rc = lg_hub_collect(g, msg, msgsz);
        if (rc)
            return rc;
        if (g->h[0].type == LG_DONE) {
            for (int k = 1; k < g->n; k++)
                if (g->h[k].type != LG_DONE) {
                    lg_hub_kill_all(g);
                    return tw_errf(msg, msgsz, TW_EMPI, "local group: rank 0 finished (%s) while rank %d did not",
                                   g->h[0].arg ? (g->data[0] && *g->data[0] ? g->data[0] : "failed") : "ok", k);
                }
            return lg_hub_finish(g, msg, msgsz);
        }
        lg_hdr rh;
        char *payload;
        int owned;
        if (lg_hub_reply(g, &rh, &payload, &owned) < 0) {
            lg_hub_kill_all(g);
            return tw_errf(msg, msgsz, TW_EMPI, "local group: the ranks disagree on a collective (or out of memory)");
        }
        for (int k = 0; k < g->n && !rc; k++)
            if (lg_send_msg(g->fd[k], rh.type, rh.arg, payload, rh.len) < 0)
                rc = lg_hub_lost(g, k, msg, msgsz);
        if (owned)
            free(payload);
        lg_hub_clear_round(g);
        if (rc)
            return rc;
    }
}

/* In the child just forked as worker k: only its own socket stays open; it dies with the supervisor. */
static void lg_become_worker(lg_hub *g, int k, int fd, pid_t supervisor)
{
    for (int i = 0; i < k; i++)
        close(g->fd[i]);
    g->n = 0;
    lg_hub_free(g);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor)
        _exit(1); /* the supervisor died before prctl took effect */
    lg_fd = fd;
    lg_rank = k;
}

int tw_mpi_local_start(int jobs, int *worker, int *rank, int *size, char *msg, size_t msgsz)
{
    *worker = 1;
    *rank = 0;
    *size = 1;
    if (jobs <= 1)
        return 0;
    *worker = 0;
    lg_hub g;
    if (lg_hub_alloc(&g, jobs) < 0) {
        lg_hub_free(&g);
        return tw_errf(msg, msgsz, TW_ENOMEM, "local group: out of memory");
    }
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t self = getpid();
    int rc = 0;
    for (int k = 0; k < jobs && !rc; k++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            rc = tw_errf(msg, msgsz, TW_EIO, "local group: socketpair: %s", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(sv[0]);
            lg_become_worker(&g, k, sv[1], self);
            lg_size = jobs;
            *worker = 1;
            *rank = k;
            *size = jobs;
            return 0;
        }
        close(sv[1]);
        if (pid < 0) {
            close(sv[0]);
            rc = tw_errf(msg, msgsz, TW_EIO, "local group: cannot start worker %d: %s", k, strerror(errno));
            break;
        }
        g.pid[k] = pid;
        g.fd[k] = sv[0];
        g.n = k + 1;
    }
    if (rc)
        lg_hub_kill_all(&g);
    else
        rc = lg_hub_run(&g, msg, msgsz);
    lg_hub_free(&g);
    return rc;
}

void tw_mpi_local_finish(int rc, const char *msg)
{
    if (lg_fd < 0)
        return;
    const char *m = rc && msg ? msg : "";
    lg_send_msg(lg_fd, LG_DONE, rc, m, strlen(m) + 1);
    close(lg_fd);
    lg_fd = -1;
}
