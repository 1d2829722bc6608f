/* Replay end to end on synthetic episodes: the physics layer's rollout of a (perturbed) model
 * written with the episode writer as the rig streams it, replayed against the nominal model. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "synth.h"
#include "tw_recon_int.h"

static char root[512];
static int counter;

static const char *panda(void)
{
    static char p[1024];
    const char *sh = getenv("TW_SHARED");
    snprintf(p, sizeof p, "%s/models/franka_emika_panda/panda.xml", sh ? sh : "../shared");
    return p;
}

/* Writes a synthetic episode and replays it; returns the summary (caller frees). */
static tw_replay_summary *replay(synth_opts *so, tw_replay_opts *ro, int expect_rc, char *msg, size_t msgsz)
{
    char dir[700], out[720];
    snprintf(dir, sizeof dir, "%s/ep%d", root, counter);
    snprintf(out, sizeof out, "%s/out%d", root, counter++);
    int rc = synth_episode(dir, so, msg, msgsz);
    if (rc != 0)
        fail_msg("synth: %s", msg);
    tw_replay_opts o;
    if (!ro) {
        tw_replay_opts_init(&o);
        ro = &o;
    }
    ro->model_path = so->model;
    ro->out_dir = out;
    tw_replay_summary *s = NULL;
    rc = tw_replay_run(dir, ro, &s, msg, msgsz);
    if (rc != expect_rc)
        fail_msg("replay rc %d (want %d): %s", rc, expect_rc, msg);
    if (s) {
        fprintf(stderr, "# %s: steps %llu valid %llu, rmse/effort_rms:", so->perturb,
                (unsigned long long)s->steps, (unsigned long long)s->valid_steps);
        for (int j = 0; j < s->nj; j++)
            fprintf(stderr, " %.3g/%.3g", s->rmse[j], s->effort_rms[j]);
        fprintf(stderr, "\n#   bias:");
        for (int j = 0; j < s->nj; j++)
            fprintf(stderr, " %.3g", s->bias[j]);
        fprintf(stderr, "\n#   wrench rmse:");
        for (int a = 0; a < 6; a++)
            fprintf(stderr, " %.3g", s->wrench_rmse[a]);
        fprintf(stderr, "\n#   divergence q:");
        for (int h = 0; h < TW_REPLAY_NHORIZONS; h++)
            fprintf(stderr, " %.3g", s->div_q[h]);
        fprintf(stderr, "  clock %.3f ms\n", (double)s->align.clock.offset_ns * 1e-6);
    }
    return s;
}

static void test_unperturbed_builtin(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    char msg[1024];
    tw_replay_summary *s = replay(&so, NULL, 0, msg, sizeof msg);
    tw_replay_summary_free(s);
}

static void test_unperturbed_panda(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.model = panda();
    char msg[1024];
    tw_replay_summary *s = replay(&so, NULL, 0, msg, sizeof msg);
    tw_replay_summary_free(s);
}

static void test_damping_panda(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.model = panda();
    so.perturb = "damping=2";
    char msg[1024];
    tw_replay_summary *s = replay(&so, NULL, 0, msg, sizeof msg);
    tw_replay_summary_free(s);
}

static int setup(void **st)
{
    snprintf(root, sizeof root, "/tmp/tw_replay_test_XXXXXX");
    if (!mkdtemp(root))
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unperturbed_builtin),
        cmocka_unit_test(test_unperturbed_panda),
        cmocka_unit_test(test_damping_panda),
    };
    return cmocka_run_group_tests_name("replay", tests, setup, NULL);
}
