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


static tw_replay_opts discrete_opts(void)
{
    tw_replay_opts ro;
    tw_replay_opts_init(&ro);
    ro.qacc_discrete = 1;
    return ro;
}

/* Builtin arm, Euler integrator, no perturbation, no noise: (qvel[k+1]-qvel[k])/h is the
 * integrator's own qacc, corrected exactly for implicit damping, so the inverse dynamics give
 * back the recorded actuator torque to rounding: 1e-9 N·m is 1e5 x double epsilon on torques
 * of ~10 N·m. Divergence: same model, same actions, same state -> identical rollout. */
static void test_unperturbed_residual_at_rounding_level_builtin(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    tw_replay_opts ro = discrete_opts();
    char msg[1024];
    tw_replay_summary *s = replay(&so, &ro, 0, msg, sizeof msg);
    assert_int_equal(s->partial, 0);
    assert_true(s->valid_steps >= s->steps - 1);
    for (int j = 0; j < s->nj; j++)
        assert_true(s->rmse[j] < 1e-9);
    for (int a = 0; a < 6; a++)
        assert_true(s->wrench_rmse[a] < 1e-9);
    for (int h = 0; h < TW_REPLAY_NHORIZONS; h++)
        if (isfinite(s->div_q[h]))
            assert_true(s->div_q[h] < 1e-9);
    assert_true(isfinite(s->div_q[TW_REPLAY_NHORIZONS - 1]));
    tw_replay_summary_free(s);
}

/* Panda (implicit integrator): the correction covers the diagonal damping and servo terms;
 * the Coriolis-derivative terms MuJoCo also integrates implicitly are left (tw_sim.h), a few
 * 1e-3 N·m on torques of ~10 N·m. Tolerance: 0.05 N·m (N on the fingers) per joint, 0.5% of the
 * effort RMS on the loaded shoulder. */
static void test_unperturbed_residual_small_panda(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.model = panda();
    tw_replay_opts ro = discrete_opts();
    char msg[1024];
    tw_replay_summary *s = replay(&so, &ro, 0, msg, sizeof msg);
    for (int j = 0; j < s->nj; j++)
        assert_true(s->rmse[j] < 0.05);
    assert_true(s->rmse[1] < 0.005 * s->effort_rms[1]);
    for (int h = 0; h < TW_REPLAY_NHORIZONS; h++)
        if (isfinite(s->div_q[h]))
            assert_true(s->div_q[h] < 1e-9);
    tw_replay_summary_free(s);
}

/* Rig damping x2: the rig's actuators also overcome D qvel, so residual = D qvel: positive
 * slope of residual on qvel on every arm joint (the slope estimates D); the nominal model, driven
 * by the same actions, drifts from what the robot did more and more with horizon. */
static void test_damping_x2_sign_and_divergence_growth(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.model = panda();
    so.perturb = "damping=2";
    so.duration_s = 5;
    tw_replay_opts ro = discrete_opts();
    char msg[1024];
    tw_replay_summary *s = replay(&so, &ro, 0, msg, sizeof msg);
    tw_robot *r = NULL;
    assert_int_equal(tw_robot_load(so.model, &r, msg, sizeof msg), 0);
    for (int j = 0; j < r->narm; j++) {
        double D = r->m->dof_damping[r->vadr[j]];
        assert_true(D > 0);
        assert_true(s->damping[j] > 0);
        assert_float_equal(s->damping[j], D, 0.1 * D); /* (k-1) D with k = 2 */
    }
    tw_robot_close(r);
    assert_true(s->div_q[0] < s->div_q[1]);
    assert_true(s->div_q[1] < s->div_q[2]);
    assert_true(s->div_q[3] > s->div_q[1]); /* position servos bound the lag: it levels off */
    assert_true(s->div_q[3] > 1e-5);
    tw_replay_summary_free(s);
}

/* A payload on the hand: the wrist sensor carries its weight, the nominal model's does not. */
static void test_payload_shows_in_wrench_residual(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.perturb = "payload_kg=0.5";
    tw_replay_opts ro = discrete_opts();
    char msg[1024];
    tw_replay_summary *s = replay(&so, &ro, 0, msg, sizeof msg);
    double f = sqrt(s->wrench_rmse[0] * s->wrench_rmse[0] + s->wrench_rmse[1] * s->wrench_rmse[1] +
                    s->wrench_rmse[2] * s->wrench_rmse[2]);
    assert_float_equal(f, 0.5 * 9.81, 0.5); /* the weight, whatever the hand's orientation */
    tw_replay_summary_free(s);
}

/* The rig's clock runs 250 ms ahead: the estimate puts the timeline back on the recorder clock
 * (within one 2 ms sample) and the residual is as exact as without the offset. */
static void test_clock_offset_250ms_corrected(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.clock_offset_ms = 250;
    tw_replay_opts ro = discrete_opts();
    char msg[1024];
    tw_replay_summary *s = replay(&so, &ro, 0, msg, sizeof msg);
    assert_true(fabs((double)s->align.clock.offset_ns * 1e-6 - 250) < 2);
    assert_true(llabs(s->align.t0_ns) < 2000000);
    for (int j = 0; j < s->nj; j++)
        assert_true(s->rmse[j] < 1e-9);
    tw_replay_summary_free(s);
}

static void test_unknown_joint_lists_both_sides(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.rename_joint = 1;
    char msg[4096];
    tw_robot *r = NULL;
    assert_int_equal(tw_robot_load(NULL, &r, msg, sizeof msg), 0);
    tw_replay_summary *s = replay(&so, NULL, TW_EMISMATCH, msg, sizeof msg);
    assert_null(s);
    assert_non_null(strstr(msg, "bogus_joint"));
    assert_non_null(strstr(msg, "recorded: ["));
    assert_non_null(strstr(msg, "model: ["));
    assert_non_null(strstr(msg, r->jname[1])); /* named as not recorded */
    assert_non_null(strstr(msg, r->jname[0]));
    tw_robot_close(r);
}

static void test_wrong_model_is_a_clear_error(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    char dir[700], msg[4096];
    snprintf(dir, sizeof dir, "%s/wrong", root);
    assert_int_equal(synth_episode(dir, &so, msg, sizeof msg), 0);
    tw_replay_opts ro;
    tw_replay_opts_init(&ro);
    ro.model_path = panda();
    tw_replay_summary *s = NULL;
    assert_int_equal(tw_replay_run(dir, &ro, &s, msg, sizeof msg), TW_EMISMATCH);
    assert_null(s);
    assert_non_null(strstr(msg, "not in the model"));
    ro.model_path = "/nonexistent/robot.xml";
    assert_true(tw_replay_run(dir, &ro, &s, msg, sizeof msg) < 0);
    assert_null(s);
    assert_non_null(strstr(msg, "robot.xml"));
}

/* Interrupted after 1 s of a 2 s episode: what is there is replayed, flagged partial. */
static void test_interrupted_episode_is_flagged_partial(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.status = TW_EP_INTERRUPTED;
    so.stop_at_s = 1.0;
    char msg[1024];
    tw_replay_summary *s = replay(&so, NULL, 0, msg, sizeof msg);
    assert_int_equal(s->partial, 1);
    assert_true(s->steps >= 495 && s->steps <= 500);
    char *js = tw_replay_summary_json(s);
    json_t *j = json_loads(js, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "partial")));
    int found = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "flags"), i, v) found |= !strcmp(json_string_value(v), "partial");
    assert_true(found);
    json_decref(j);
    free(js);
    tw_replay_summary_free(s);
}

/* Self-numbered frames: the index points at the right frames (offset 0); with the video file
 * gone the replay still completes, with the sync flagged unavailable. */
static void test_video_sync_and_missing_video(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.with_video_index = 1;
    so.duration_s = 1;
    char msg[1024];
    tw_replay_summary *s = replay(&so, NULL, 0, msg, sizeof msg);
    assert_int_equal(s->ncam, 1);
    if (!s->vsync[0].ok)
        fail_msg("video sync: %s", s->vsync[0].note);
    assert_true(s->vsync[0].checked >= 25);
    assert_float_equal(s->vsync[0].offset_frames, 0, 0);
    tw_replay_summary_free(s);

    char dir[700], path[800];
    snprintf(dir, sizeof dir, "%s/ep%d", root, counter - 1);
    snprintf(path, sizeof path, "%s/cam0.mkv", dir);
    assert_int_equal(unlink(path), 0);
    tw_replay_opts ro;
    tw_replay_opts_init(&ro);
    s = NULL;
    assert_int_equal(tw_replay_run(dir, &ro, &s, msg, sizeof msg), 0);
    assert_int_equal(s->vsync[0].ok, 0);
    assert_non_null(strstr(s->vsync[0].note, "missing"));
    char *js = tw_replay_summary_json(s);
    assert_non_null(strstr(js, "\"video_sync_offset_frames\": null"));
    assert_non_null(strstr(js, "video_sync_unavailable"));
    free(js);
    tw_replay_summary_free(s);
}

static void assert_same_numbers(const tw_replay_summary *a, const tw_replay_summary *b)
{
    assert_int_equal(a->nj, b->nj);
    assert_int_equal(a->valid_steps, b->valid_steps);
    for (int j = 0; j < a->nj; j++) {
        assert_true(a->rmse[j] == b->rmse[j]);
        assert_true(a->bias[j] == b->bias[j]);
        assert_true(a->damping[j] == b->damping[j] || (isnan(a->damping[j]) && isnan(b->damping[j])));
    }
    assert_int_equal(a->div_windows, b->div_windows);
    for (int h = 0; h < TW_REPLAY_NHORIZONS; h++) { /* bit for bit, NaN where none */
        assert_true(a->div_q[h] == b->div_q[h] || (isnan(a->div_q[h]) && isnan(b->div_q[h])));
        assert_true(a->div_ee[h] == b->div_ee[h] || (isnan(a->div_ee[h]) && isnan(b->div_ee[h])));
    }
}

/* Replays dir with 1 thread, then `rounds` times with 2 and 3 threads: the numbers must be identical. */
static void assert_threads_agree(const char *dir, int windows, int rounds)
{
    char msg[1024];
    tw_replay_opts ro;
    tw_replay_opts_init(&ro);
    ro.div_windows = windows;
    tw_replay_summary *s1 = NULL;
    assert_int_equal(tw_replay_run(dir, &ro, &s1, msg, sizeof msg), 0);
    if (windows > 0)
        assert_true(isfinite(s1->div_q[TW_REPLAY_NHORIZONS - 1]));
    for (int rep = 0; rep < rounds; rep++)
        for (int T = 2; T <= 3; T++) {
            tw_replay_summary *s = NULL;
            ro.threads = T;
            assert_int_equal(tw_replay_run(dir, &ro, &s, msg, sizeof msg), 0);
            assert_same_numbers(s1, s);
            tw_replay_summary_free(s);
        }
    tw_replay_summary_free(s1);
}

/* Same numbers whatever the thread count (reconstruction split, divergence rollouts spread over
 * the threads), with the default windows and with many overlapping ones. */
static void test_threads_give_the_same_result(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.perturb = "damping=2";
    so.duration_s = 5; /* longer than a window: windows start in different blocks and overlap */
    char dir[700], msg[1024];
    snprintf(dir, sizeof dir, "%s/threads", root);
    assert_int_equal(synth_episode(dir, &so, msg, sizeof msg), 0);
    assert_threads_agree(dir, 8, 1);
    assert_threads_agree(dir, 32, 1);
}

/* Rows inside a gap of the object_state stream used to keep the object pose the thread's mjData last held,
 * so with several threads (rows shared out dynamically) the result depended on the schedule. They now hold
 * the last valid state in row order: the same numbers for any thread count. */
static void test_object_gap_gives_the_same_result_on_any_threads(void **st)
{
    synth_opts so;
    synth_opts_init(&so);
    so.duration_s = 6;
    so.object_gap_s[0] = 1.5; /* across a block edge (1024 rows at 500 Hz), while the arm carries the box */
    so.object_gap_s[1] = 4.5;
    char dir[700], msg[1024];
    snprintf(dir, sizeof dir, "%s/objgap", root);
    assert_int_equal(synth_episode(dir, &so, msg, sizeof msg), 0);
    assert_threads_agree(dir, 0, 3); /* the schedule varies from run to run: several rounds */
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
        cmocka_unit_test(test_unperturbed_residual_at_rounding_level_builtin),
        cmocka_unit_test(test_unperturbed_residual_small_panda),
        cmocka_unit_test(test_damping_x2_sign_and_divergence_growth),
        cmocka_unit_test(test_payload_shows_in_wrench_residual),
        cmocka_unit_test(test_clock_offset_250ms_corrected),
        cmocka_unit_test(test_unknown_joint_lists_both_sides),
        cmocka_unit_test(test_wrong_model_is_a_clear_error),
        cmocka_unit_test(test_interrupted_episode_is_flagged_partial),
        cmocka_unit_test(test_video_sync_and_missing_video),
        cmocka_unit_test(test_threads_give_the_same_result),
        cmocka_unit_test(test_object_gap_gives_the_same_result_on_any_threads),
    };
    return cmocka_run_group_tests_name("replay", tests, setup, NULL);
}
