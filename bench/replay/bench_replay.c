/* Replay throughput vs a bare mj_forward + mj_inverse loop, side by side in one run.
 * usage: bench_replay [MODEL.xml|builtin] [SECONDS] [WORKDIR]
 * Builds one synthetic episode (tests/replay/synth.c: the physics layer's rollout written with
 * the episode writer), then times, on the same model and the same number of steps:
 *   bare      set qpos/qvel, mj_forward, set qacc, mj_inverse (states preloaded in memory; best of 3)
 *   replay    tw_replay_run: read + align + reconstruct + residuals + aligned.h5 + summary + report
 *             (its fixed model-load time, mesh processing and the F/T wrapper, is printed apart)
 * with 1 and 2 threads, with and without the open-loop divergence rollouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synth.h"
#include "tw_sim.h"
#include "tw_recon.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The bare loop over the episode's recorded states (read once, untimed). */
static double bare_loop(const char *dir, const char *model, uint64_t *steps)
{
    char msg[1024];
    tw_episode *e = NULL;
    tw_robot *r = NULL;
    if (tw_episode_open(dir, &e, msg, sizeof msg) || tw_robot_load(model, &r, msg, sizeof msg)) {
        fprintf(stderr, "bench: %s\n", msg);
        exit(1);
    }
    int js = tw_episode_find_stream(e, "joint_state");
    uint64_t n = tw_episode_nsamples(e, (size_t)js);
    int nj = r->njoint;
    double *x = malloc(n * 3 * nj * sizeof *x);
    tw_episode_read(e, (size_t)js, 0, n, NULL, NULL, NULL, x, msg, sizeof msg);
    mjData *d = mj_makeData(r->m);
    tw_robot_home(r, d);
    double dt = r->m->opt.timestep;
    double t0 = now_s();
    for (uint64_t k = 0; k + 1 < n; k++) {
        const double *row = x + k * 3 * nj, *next = row + 3 * nj;
        for (int j = 0; j < nj; j++) {
            d->qpos[r->qadr[j]] = row[j];
            d->qvel[r->vadr[j]] = row[nj + j];
        }
        mj_forward(r->m, d);
        for (int j = 0; j < nj; j++)
            d->qacc[r->vadr[j]] = (next[nj + j] - row[nj + j]) / dt;
        mj_inverse(r->m, d);
    }
    double el = now_s() - t0;
    *steps = n - 1;
    mj_deleteData(d);
    free(x);
    tw_robot_close(r);
    tw_episode_close_reader(e);
    return el;
}

static double replay(const char *dir, const char *model, const char *out, int threads, int windows,
                     uint64_t *steps, double *load)
{
    tw_replay_opts o;
    tw_replay_opts_init(&o);
    o.model_path = model;
    o.out_dir = out;
    o.threads = threads;
    o.div_windows = windows;
    o.qacc_discrete = 1;
    o.video = 0;
    char msg[1024];
    tw_replay_summary *s = NULL;
    double t0 = now_s();
    if (tw_replay_run(dir, &o, &s, msg, sizeof msg)) {
        fprintf(stderr, "bench: replay: %s\n", msg);
        exit(1);
    }
    double el = now_s() - t0;
    /* the model load (mesh processing, F/T wrapper compile) is a fixed cost, timed apart */
    char *js = tw_replay_summary_json(s);
    const char *p = strstr(js, "\"steps\":"), *q = strstr(js, "\"model_load_s\":");
    *steps = p ? strtoull(p + 8, NULL, 10) : 0;
    *load = q ? strtod(q + 15, NULL) : 0;
    free(js);
    tw_replay_summary_free(s);
    return el - *load;
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 && strcmp(argv[1], "builtin") ? argv[1] : NULL;
    double secs = argc > 2 ? atof(argv[2]) : 10;
    char work[512];
    snprintf(work, sizeof work, "%s", argc > 3 ? argv[3] : "/tmp/tw_bench_replay_XXXXXX");
    if (argc <= 3 && !mkdtemp(work))
        return 1;
    tw_mj_init();
    char dir[600], out[600], msg[1024];
    snprintf(dir, sizeof dir, "%s/episode", work);
    synth_opts so;
    synth_opts_init(&so);
    so.model = model;
    so.duration_s = secs;
    so.perturb = "damping=2";
    if (synth_episode(dir, &so, msg, sizeof msg)) {
        fprintf(stderr, "bench: synth: %s\n", msg);
        return 1;
    }
    printf("model %s, %.0f s episode, cores online %ld\n", model ? model : "builtin", secs,
           sysconf(_SC_NPROCESSORS_ONLN));
    uint64_t nb = 0, nr = 0;
    /* best of 3 for the reference: on a shared machine it is the figure least hurt by neighbours */
    double tb = bare_loop(dir, model, &nb);
    for (int i = 0; i < 2; i++) {
        double t = bare_loop(dir, model, &nb);
        if (t < tb)
            tb = t;
    }
    double rb = nb / tb;
    printf("%-44s %9s %12s %8s\n", "variant", "steps", "steps/s", "vs bare");
    printf("%-44s %9llu %12.0f %8.2f\n", "bare mj_forward+mj_inverse (1 thread, best of 3)", (unsigned long long)nb, rb, 1.0);
    const struct { int threads, windows; const char *name; } v[] = {
        {1, 0, "tw replay, 1 thread, no divergence"},
        {2, 0, "tw replay, 2 threads, no divergence"},
        {1, 8, "tw replay, 1 thread, divergence (8 windows)"},
        {2, 8, "tw replay, 2 threads, divergence (8 windows)"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(out, sizeof out, "%s/out%zu", work, i);
        double load = 0, tr = replay(dir, model, out, v[i].threads, v[i].windows, &nr, &load);
        printf("%-44s %9llu %12.0f %8.2f   (+%.2f s model load)\n", v[i].name, (unsigned long long)nr, nr / tr,
               (nr / tr) / rb, load);
    }
    return 0;
}
