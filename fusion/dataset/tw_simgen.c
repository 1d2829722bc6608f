/* tw simgen: randomised rollouts of the nominal model with the rig's scripted operator, written in the
 * recorded-episode layout (schemas/episode.md) with domain "sim" and the sampled parameters stored.
 *
 * Determinism: episode i's perturbation comes from tw_rand_draw(seed, i) and its operator/noise from
 * tw_sim_reset(i) with the run's seed, so its data never depends on thread count, rank count or which
 * worker ran it. Parallelism: episodes i with i % nranks == rank belong to this rank; its threads take
 * them from a shared counter. Each thread keeps one tw_sim (own mjModel copy and mjData) for all its
 * episodes and switches it to episode i's perturbation in place (tw_sim_set_perturb: a few array copies,
 * not a model copy per episode); the nominal tw_robot is loaded once and shared read-only. The serial HDF5
 * library is not thread-safe, so appends go through one mutex in batches while physics runs unlocked. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tw_core.h"
#include "tw_dataset_int.h"
#include "tw_simgen_int.h"

void tw_simgen_opts_init(tw_simgen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->episodes = 1;
    o->duration_s = 10;
    o->nranks = 1;
}

typedef struct {
    const tw_simgen_opts *o;
    const tw_robot *nominal;
    const tw_rand_spec *spec; /* NULL: nominal */
    pthread_mutex_t state_lock;
    uint64_t next;            /* next of this rank's episodes to start (ordinal) */
    uint64_t mine;            /* this rank's episode count */
    uint64_t done, steps;
    int rc;
    char msg[1024];
    double t_start, cpu_start; /* wall and process CPU clocks when the first episode started */
} simgen_ctx;

static double clock_s(clockid_t id) { return (double)tw_clock_ns(id) * 1e-9; }

static void fail(simgen_ctx *c, int rc, const char *m)
{
    pthread_mutex_lock(&c->state_lock);
    if (!c->rc) {
        c->rc = rc;
        snprintf(c->msg, sizeof c->msg, "%s", m);
    }
    pthread_mutex_unlock(&c->state_lock);
}

static void progress(simgen_ctx *c, uint64_t steps)
{
    pthread_mutex_lock(&c->state_lock);
    c->done++;
    c->steps += steps;
    if (c->o->progress) { /* per CPU-second too: the per-core rate, which other processes' load hardly moves */
        double dt = tw_mono_s() - c->t_start, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c->cpu_start;
        tw_progress_say(c->o->progress, c->o->progress_user, "simgen", c->done, c->mine,
                        "simgen[rank %d/%d]: %llu/%llu episodes, %.0f steps/s, %.0f steps/CPU-s", c->o->rank,
                c->o->nranks, (unsigned long long)c->done, (unsigned long long)c->mine,
                dt > 0 ? (double)c->steps / dt : 0.0, dc > 0 ? (double)c->steps / dc : 0.0);
    }
    pthread_mutex_unlock(&c->state_lock);
}

static int run_one(simgen_ctx *c, uint64_t ep, tw_sim **sim, char *msg, size_t msgsz)
{
    tw_perturb p;
    tw_rand_draw(c->spec, c->o->seed, ep, &p);
    tw_simgen_episode job = {
        .nominal = c->nominal, .perturb = &p, .seed = c->o->seed, .episode = ep,
        .duration_s = c->o->duration_s, .compression = c->o->compression, .out_dir = c->o->out_dir, .model_path = c->o->model_path,
        .sim = sim,
    };
    uint64_t steps = 0;
    int rc = tw_simgen_episode_run(&job, &steps, msg, msgsz);
    if (!rc)
        progress(c, steps);
    return rc;
}

typedef struct {
    simgen_ctx *c;
    tw_sim *sim; /* one model copy + mjData for all of this thread's episodes, re-perturbed for each */
} simgen_worker;

static void *worker(void *arg)
{
    simgen_worker *wk = arg;
    simgen_ctx *c = wk->c;
    char msg[1024];
    for (;;) {
        pthread_mutex_lock(&c->state_lock);
        uint64_t k = c->rc ? c->mine : c->next++;
        pthread_mutex_unlock(&c->state_lock);
        if (k >= c->mine)
            break;
        uint64_t ep = (uint64_t)c->o->rank + k * (uint64_t)c->o->nranks;
        int rc = run_one(c, ep, &wk->sim, msg, sizeof msg);
        if (rc)
            fail(c, rc, msg);
    }
    return NULL;
}

/* Each worker's rollout, made before the clocks start: like the model load, a once-per-thread cost
 * (a model copy: ~45 ms for the Panda's meshes) that the steady-state rate should not carry. */
static int make_workers(simgen_ctx *c, simgen_worker *wk, int jobs, char *msg, size_t msgsz)
{
    for (int i = 0; i < jobs; i++) {
        wk[i].c = c;
        int rc = tw_simgen_sim_new(c->nominal, c->o->seed, &wk[i].sim, msg, msgsz);
        if (rc)
            return rc;
    }
    return 0;
}

static int make_out_dir(const char *dir, char *msg, size_t msgsz)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return tw_errf(msg, msgsz, TW_EIO, "simgen: cannot create %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return tw_errf(msg, msgsz, TW_EIO, "simgen: %s is not a directory", dir);
    return 0;
}

int tw_simgen_run(const tw_simgen_opts *o, uint64_t *steps_done, char *msg, size_t msgsz)
{
    if (!o->model_path || !o->out_dir)
        return tw_errf(msg, msgsz, TW_EINVAL, "simgen: --model and --out are required");
    if (o->episodes == 0 || !(o->duration_s > 0) || o->duration_s > 86400)
        return tw_errf(msg, msgsz, TW_EINVAL, "simgen: need --episodes >= 1 and 0 < --duration <= 86400");
    if (o->nranks < 1 || o->rank < 0 || o->rank >= o->nranks)
        return tw_errf(msg, msgsz, TW_EINVAL, "simgen: bad rank %d of %d", o->rank, o->nranks);
    tw_mj_init();
    tw_rand_spec spec;
    int rc = o->randomize_path ? tw_rand_spec_load(o->randomize_path, &spec, msg, msgsz) : 0;
    if (!rc)
        rc = make_out_dir(o->out_dir, msg, msgsz);
    tw_robot *nominal = NULL;
    /* collective under MPI: rank 0 compiles the MJCF, the others load its bytes */
    int lrc = tw_mpi_robot_load(o->model_path, o->rank, o->nranks, rc == 0, &nominal, rc ? NULL : msg,
                                rc ? 0 : msgsz);
    if (rc || (rc = lrc))
        return rc;
    simgen_ctx c = {.o = o, .nominal = nominal, .spec = o->randomize_path ? &spec : NULL};
    pthread_mutex_init(&c.state_lock, NULL);
    c.mine = o->episodes > (uint32_t)o->rank ? (o->episodes - (uint32_t)o->rank + (uint32_t)o->nranks - 1) /
                                                 (uint32_t)o->nranks : 0;
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN) / tw_mpi_local_size();
    if (jobs < 1)
        jobs = 1;
    if ((uint64_t)jobs > c.mine)
        jobs = c.mine ? (int)c.mine : 1;
    if (jobs > 256)
        jobs = 256;
    simgen_worker wk[256] = {{0}};
    if ((rc = make_workers(&c, wk, jobs, msg, msgsz)) == 0) {
        c.t_start = tw_mono_s();
        c.cpu_start = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        pthread_t th[256];
        int nth = 0;
        for (; nth < jobs; nth++)
            if (pthread_create(&th[nth], NULL, worker, &wk[nth]) != 0)
                break;
        if (nth == 0)
            worker(&wk[0]);
        for (int i = 0; i < nth; i++)
            pthread_join(th[i], NULL);
        if (steps_done)
            *steps_done = c.steps;
        if ((rc = c.rc) != 0)
            tw_errf(msg, msgsz, rc, "%s", c.msg);
    }
    for (int i = 0; i < jobs; i++)
        tw_sim_free(wk[i].sim);
    pthread_mutex_destroy(&c.state_lock);
    tw_robot_close(nominal);
    return rc;
}
