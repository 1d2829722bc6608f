/* Rig physics overhead, side by side in one run on the same model and the same actions:
 *   A. bare loop:  d->ctrl = recorded action; mj_step
 *   B. tw_sim_step (operator at 100 Hz, action delay line, sample extraction, forward-pass qacc,
 *      Gaussian noise on 3N+6 channels)
 * and the cost of the wrist F/T sensors the loader adds (acc-stage sensors make MuJoCo run
 * mj_rnePostConstraint): mj_step on the augmented model vs the file loaded plainly.
 * usage: bench_rig [MODEL.xml|builtin] [STEPS]   prints steps/s and ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_sim.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double bare_loop(const mjModel *m, mjData *d, const tw_robot *r, const double *acts, int n)
{
    tw_robot_home(r, d);
    double t0 = now_s();
    for (int k = 0; k < n; k++) {
        mju_copy(d->ctrl, acts + (size_t)k * (size_t)m->nu, m->nu);
        mj_step(m, d);
    }
    return n / (now_s() - t0);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 && strcmp(argv[1], "builtin") ? argv[1] : NULL;
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    char msg[512];
    tw_robot *r;
    if (n <= 0 || tw_robot_load(path, &r, msg, sizeof msg)) {
        fprintf(stderr, "bench_rig: %s\n", n <= 0 ? "STEPS must be > 0" : msg);
        return 1;
    }
    const mjModel *m = r->m;
    double *acts = malloc(sizeof(double) * (size_t)n * (size_t)m->nu);
    tw_perturb p;
    tw_perturb_none(&p);
    tw_perturb_parse("latency_ms=10,noise=1", &p, msg, sizeof msg);
    tw_sim_opts o;
    tw_sim_opts_init(&o);
    tw_sim *s;
    if (!acts || tw_sim_new(r, &p, &o, &s, msg, sizeof msg)) {
        fprintf(stderr, "bench_rig: %s\n", acts ? msg : "out of memory");
        return 1;
    }
    /* rounds alternate A and B so machine load hits both alike; the best round of each counts */
    mjData *d = mj_makeData(m);
    double sim_rate = 0, bare = 0;
    for (int round = 0; round < 3; round++) {
        tw_sample c, z;
        double a[TW_ROBOT_MAX_ACT];
        int na;
        tw_op_event ev;
        tw_sim_reset(s, 0);
        double t0 = now_s();
        for (int k = 0; k < n; k++) {
            if (tw_sim_step(s, &c, &z, &na, a, &ev, msg, sizeof msg)) {
                fprintf(stderr, "bench_rig: %s\n", msg);
                return 1;
            }
            mju_copy(acts + (size_t)k * (size_t)m->nu, tw_sim_data(s)->ctrl, m->nu);
        }
        double rate = n / (now_s() - t0);
        sim_rate = rate > sim_rate ? rate : sim_rate;
        rate = bare_loop(m, d, r, acts, n);
        bare = rate > bare ? rate : bare;
    }
    printf("model %s, %d steps (h = %g s)\n", r->source, n, m->opt.timestep);
    printf("  bare mj_step loop        %10.0f steps/s\n", bare);
    printf("  tw_sim_step (rig step)   %10.0f steps/s   ratio %.2f of bare\n", sim_rate, sim_rate / bare);
    if (r->ft_added) {
        char err[512];
        mjModel *raw = mj_loadXML(path, NULL, err, sizeof err);
        mjData *dr = raw ? mj_makeData(raw) : NULL;
        if (dr) {
            double plain = 0, aug = 0;
            for (int round = 0; round < 3; round++) {
                double x = bare_loop(raw, dr, r, acts, n), y = bare_loop(m, d, r, acts, n);
                plain = x > plain ? x : plain;
                aug = y > aug ? y : aug;
            }
            printf("  mj_step with F/T         %10.0f steps/s\n", aug);
            printf("  mj_step without F/T      %10.0f steps/s   F/T sensors cost %.1f%%\n", plain,
                   100 * (plain / aug - 1));
            mj_deleteData(dr);
            mj_deleteModel(raw);
        }
    }
    printf("  real-time factor at 500 Hz: %.0fx\n", sim_rate * m->opt.timestep);
    mj_deleteData(d);
    tw_sim_free(s);
    tw_robot_close(r);
    free(acts);
    return 0;
}
