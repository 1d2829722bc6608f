/* Unit tests of fusion's pure pieces: streaming statistics, episode splits, randomisation spec; the local
 * process group behind tw fuse --jobs; a robot model through bytes (simgen's MPI ranks). */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <mujoco/mjxmacro.h>

#include "tw_dataset_int.h"

static double rowval(int i, int j) { return sin(0.37 * i + j) * (j + 1) + 1e3 * (j == 2); }

static void test_stats_merge_equals_sequential_for_any_split(void **state)
{
    enum { N = 1000, D = 3 };
    tw_stat all, a, b;
    assert_int_equal(tw_stat_init(&all, D), 0);
    double x[D];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++)
            x[j] = rowval(i, j);
        tw_stat_add_f64(&all, x);
    }
    for (int cut = 0; cut <= N; cut += 137) {
        tw_stat_init(&a, D);
        tw_stat_init(&b, D);
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < D; j++)
                x[j] = rowval(i, j);
            tw_stat_add_f64(i < cut ? &a : &b, x);
        }
        tw_stat_merge(&a, &b);
        assert_int_equal(a.count, N);
        for (int j = 0; j < D; j++) {
            assert_true(fabs(a.mean[j] - all.mean[j]) < 1e-9 * (1 + fabs(all.mean[j])));
            assert_true(fabs(tw_stat_std(&a, j) - tw_stat_std(&all, j)) < 1e-9 * (1 + tw_stat_std(&all, j)));
            assert_true(a.min[j] == all.min[j] && a.max[j] == all.max[j]);
        }
        tw_stat_free(&a);
        tw_stat_free(&b);
    }
    /* two-pass reference */
    double mean = 0, m2 = 0;
    for (int i = 0; i < N; i++)
        mean += rowval(i, 2) / N;
    for (int i = 0; i < N; i++)
        m2 += (rowval(i, 2) - mean) * (rowval(i, 2) - mean);
    assert_true(fabs(all.mean[2] - mean) < 1e-9 * fabs(mean));
    assert_true(fabs(tw_stat_std(&all, 2) - sqrt(m2 / N)) < 1e-9);
    tw_stat_free(&all);
}

static void test_stats_pack_roundtrip_and_empty_merge(void **state)
{
    tw_stat a, b;
    tw_stat_init(&a, 2);
    tw_stat_init(&b, 2);
    double x[2] = {1, -2};
    tw_stat_add_f64(&a, x);
    double buf[9];
    tw_stat_pack(&a, buf);
    tw_stat_merge(&b, &a); /* into empty */
    tw_stat_unpack(&a, buf);
    assert_int_equal(b.count, 1);
    assert_true(b.mean[1] == -2 && a.mean[0] == 1);
    tw_stat_free(&a);
    tw_stat_free(&b);
}

static void test_split_is_disjoint_stable_and_order_free(void **state)
{
    const char *ids[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    const char *rev[10];
    for (int i = 0; i < 10; i++)
        rev[i] = ids[9 - i];
    double frac[3] = {0.8, 0.1, 0.1};
    uint8_t s1[10], s2[10], s3[10];
    tw_split_assign(ids, 10, frac, 42, s1);
    tw_split_assign(rev, 10, frac, 42, s2);
    int cnt[3] = {0, 0, 0};
    for (int i = 0; i < 10; i++) {
        cnt[s1[i]]++;
        assert_int_equal(s1[i], s2[9 - i]); /* argument order does not matter */
    }
    assert_int_equal(cnt[0], 8);
    assert_int_equal(cnt[1], 1);
    assert_int_equal(cnt[2], 1);
    int differs = 0;
    for (uint64_t seed = 1; seed < 20 && !differs; seed++) {
        tw_split_assign(ids, 10, frac, seed, s3);
        differs = memcmp(s1, s3, 10) != 0;
    }
    assert_true(differs); /* the seed matters */
}

static void test_split_small_sets_keep_train_and_test(void **state)
{
    const char *ids[3] = {"x", "y", "z"};
    double frac[3] = {0.8, 0.1, 0.1};
    uint8_t s[3];
    tw_split_assign(ids, 3, frac, 1, s);
    int cnt[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        cnt[s[i]]++;
    assert_int_equal(cnt[0], 1);
    assert_int_equal(cnt[1], 1);
    assert_int_equal(cnt[2], 1);
}

static void test_randomize_rejects_unknown_and_bad(void **state)
{
    tw_rand_spec sp;
    char msg[512];
    assert_int_equal(tw_rand_spec_parse("{\"dampnig\": [0.5, 2]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_non_null(strstr(msg, "dampnig"));
    assert_int_equal(tw_rand_spec_parse("{\"damping\": [2, 0.5]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"payload_kg\": [-1, 1]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"gain\": {\"dist\":\"cauchy\"}}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"drift_ppm\": [0, 1]}", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("[1,2]", &sp, msg, sizeof msg), TW_ESCHEMA);
    assert_int_equal(tw_rand_spec_parse("{\"damping\": [0.5,", &sp, msg, sizeof msg), TW_EJSON);
}

static void test_randomize_draws_in_range_deterministic_key_order_free(void **state)
{
    tw_rand_spec a, b;
    char msg[512];
    assert_int_equal(tw_rand_spec_parse("{\"damping\": [0.5, 2], \"payload_kg\": {\"dist\":\"loguniform\","
                                        "\"low\":0.01,\"high\":1}, \"noise\": {\"dist\":\"normal\",\"mean\":1,"
                                        "\"std\":0.5,\"low\":0.5,\"high\":1.5}}", &a, msg, sizeof msg), 0);
    assert_int_equal(tw_rand_spec_parse("{\"noise\": {\"dist\":\"normal\",\"mean\":1,\"std\":0.5,\"low\":0.5,"
                                        "\"high\":1.5}, \"payload_kg\": {\"dist\":\"loguniform\",\"low\":0.01,"
                                        "\"high\":1}, \"damping\": [0.5, 2]}", &b, msg, sizeof msg), 0);
    double lo = 9, hi = -9;
    for (uint64_t i = 0; i < 500; i++) {
        tw_perturb p, q;
        tw_rand_draw(&a, 7, i, &p);
        tw_rand_draw(&b, 7, i, &q);
        assert_memory_equal(&p, &q, sizeof p);
        assert_true(p.damping >= 0.5 && p.damping <= 2);
        assert_true(p.payload_kg >= 0.01 && p.payload_kg <= 1);
        assert_true(p.noise >= 0.5 && p.noise <= 1.5);
        assert_true(p.friction == 1 && p.gain == 1);
        lo = fmin(lo, p.damping);
        hi = fmax(hi, p.damping);
    }
    assert_true(lo < 0.6 && hi > 1.9); /* actually spreads over the range */
    tw_perturb p1, p2;
    tw_rand_draw(&a, 7, 3, &p1);
    tw_rand_draw(&a, 8, 3, &p2);
    assert_true(p1.damping != p2.damping);
}

/* ---- local group: tw_mpi_local_start's workers run `body` and finish; the supervisor's verdict comes back */
typedef int (*lg_body)(int rank, int size, char *msg, size_t msgsz);

static int lg_run(int jobs, lg_body body, char *msg, size_t msgsz)
{
    int worker, rank, size;
    int rc = tw_mpi_local_start(jobs, &worker, &rank, &size, msg, msgsz);
    if (!worker)
        return rc;
    /* a worker: no cmocka here (its state belongs to the parent); a wrong value is a failed rc */
    char wmsg[256] = "";
    rc = size == jobs ? body(rank, size, wmsg, sizeof wmsg) : TW_EINVAL;
    tw_mpi_local_finish(rc, wmsg);
    _exit(rc ? 1 : 0);
}

static int lg_collectives(int rank, int size, char *msg, size_t msgsz)
{
    if (tw_mpi_all_ok(1) != 1 || tw_mpi_all_ok(rank != 1) != 0)
        return tw_errf(msg, msgsz, TW_EINVAL, "all_ok wrong on rank %d", rank);
    char mine[8];
    memset(mine, 'a' + rank, sizeof mine);
    void *all = NULL;
    size_t *lens = NULL, off = 0;
    int rc = tw_mpi_allgather(mine, (size_t)rank, &all, &lens, msg, msgsz); /* rank r gives r bytes */
    for (int r = 0; !rc && r < size; off += lens[r], r++)
        if (lens[r] != (size_t)r || (r && memchr((char *)all + off, 'a' + r, (size_t)r) != (char *)all + off))
            rc = tw_errf(msg, msgsz, TW_EINVAL, "allgather wrong on rank %d", rank);
    free(all);
    free(lens);
    char b[5000];
    memset(b, rank == 2 ? 'x' : 0, sizeof b);
    if (!rc)
        rc = tw_mpi_bcast(b, sizeof b, 2, msg, msgsz);
    if (!rc && (b[0] != 'x' || b[sizeof b - 1] != 'x'))
        rc = tw_errf(msg, msgsz, TW_EINVAL, "bcast wrong on rank %d", rank);
    return rc;
}

/* rank 0 compiles, the others load its bytes: all get the same robot; a model rank 0 cannot load fails all */
static int lg_robot(int rank, int size, char *msg, size_t msgsz)
{
    tw_robot *r = NULL;
    int rc = tw_mpi_robot_load("builtin", rank, size, 1, &r, msg, msgsz);
    if (!rc && (r->njoint != 9 || r->ft_site < 0 || r->ft_added || strcmp(r->source, "builtin")))
        rc = tw_errf(msg, msgsz, TW_EINVAL, "rank %d: wrong robot (%d joints)", rank, r->njoint);
    tw_robot_close(r);
    if (!rc && tw_mpi_robot_load("/nonexistent/robot.xml", rank, size, 1, &r, msg, msgsz) == 0)
        rc = tw_errf(msg, msgsz, TW_EINVAL, "rank %d: a missing model loaded", rank);
    else if (!rc && rank && !strstr(msg, "rank 0 could not load"))
        rc = tw_errf(msg, msgsz, TW_EINVAL, "rank %d: unclear error: %s", rank, msg);
    return rc;
}

static int lg_rank1_fails(int rank, int size, char *msg, size_t msgsz)
{
    int rc = rank == 1 ? tw_errf(msg, msgsz, TW_EIO, "rank 1: disk on fire") : 0;
    if (!tw_mpi_all_ok(rc == 0) && !rc) /* the others echo it, as fuse does */
        rc = tw_errf(msg, msgsz, TW_EMPI, "another rank failed");
    return rc;
}

static int lg_rank2_dies(int rank, int size, char *msg, size_t msgsz)
{
    tw_mpi_all_ok(1);
    if (rank == 2)
        _exit(3); /* gone without a word */
    if (rank == 1)
        raise(SIGKILL); /* may or may not come first: either is named */
    if (tw_mpi_all_ok(1)) /* must not hang; the supervisor kills this rank first */
        return tw_errf(msg, msgsz, TW_EINVAL, "all_ok passed with dead ranks");
    return 0;
}

static void test_local_group_collectives_errors_and_deaths(void **state)
{
    char msg[256] = "";
    assert_int_equal(lg_run(4, lg_collectives, msg, sizeof msg), 0);
    assert_int_equal(lg_run(3, lg_robot, msg, sizeof msg), 0);
    assert_int_equal(lg_run(3, lg_rank1_fails, msg, sizeof msg), TW_EIO);
    assert_string_equal(msg, "rank 1: disk on fire");
    assert_int_equal(lg_run(3, lg_rank2_dies, msg, sizeof msg), TW_EMPI);
    assert_true((strstr(msg, "rank 2 (pid") && strstr(msg, "exited with status 3")) ||
                (strstr(msg, "rank 1 (pid") && strstr(msg, "signal 9")));
    int worker = 0, rank = -1, size = 0; /* jobs 1: this very process, rank 0 of 1 */
    assert_int_equal(tw_mpi_local_start(1, &worker, &rank, &size, msg, sizeof msg), 0);
    assert_true(worker && rank == 0 && size == 1);
}

/* ---- a robot through bytes: the same model and indexing as the loader's */
/* Every size, option and array of two models (not their raw buffers: the padding between arrays of a
 * loaded model is uninitialised memory). Returns the first differing field's name, or NULL. */
static const char *model_diff(const mjModel *a, const mjModel *b)
{
#define X(name)                \
    if (a->name != b->name)    \
        return #name;
    MJMODEL_INTS
#undef X
    if (memcmp(&a->opt, &b->opt, sizeof a->opt) || memcmp(&a->vis, &b->vis, sizeof a->vis) ||
        memcmp(&a->stat, &b->stat, sizeof a->stat))
        return "opt/vis/stat";
#define X(type, name, n1, n2)                                                           \
    if (memcmp(a->name, b->name, sizeof(type) * (size_t)a->n1 * (size_t)(n2)))         \
        return #name;
    MJMODEL_POINTERS_PREAMBLE(a)
    MJMODEL_POINTERS
#undef X
    return NULL;
}

static void check_robot_roundtrip(const char *path, int ft_added)
{
    char msg[512];
    tw_robot *a = NULL, *b = NULL;
    void *buf = NULL;
    size_t len = 0;
    assert_int_equal(tw_robot_load(path, &a, msg, sizeof msg), 0);
    assert_int_equal(a->ft_added, ft_added);
    assert_int_equal(tw_robot_save_buffer(a, &buf, &len, msg, sizeof msg), 0);
    assert_int_equal(tw_robot_load_buffer(buf, len, path, &b, msg, sizeof msg), 0);
    const char *diff = model_diff(a->m, b->m);
    if (diff)
        fail_msg("%s: mjModel.%s differs after the round trip", path, diff);
    assert_string_equal(a->source, b->source);
    assert_int_equal(a->ft_added, b->ft_added);
    assert_int_equal(a->njoint, b->njoint);
    assert_int_equal(a->narm, b->narm);
    for (int i = 0; i < a->njoint; i++) {
        assert_int_equal(a->jnt[i], b->jnt[i]);
        assert_int_equal(a->jact[i], b->jact[i]);
        assert_string_equal(a->jname[i], b->jname[i]);
    }
    assert_int_equal(a->ngrip_act, b->ngrip_act);
    assert_int_equal(a->hand_body, b->hand_body);
    assert_int_equal(a->ft_site, b->ft_site);
    assert_int_equal(a->ft_force_adr, b->ft_force_adr);
    assert_int_equal(a->ee_site, b->ee_site);
    assert_int_equal(a->object_qadr, b->object_qadr);
    tw_robot *c = NULL;
    ((char *)buf)[0] ^= 1;
    assert_int_equal(tw_robot_load_buffer(buf, len, path, &c, msg, sizeof msg), TW_EBAD_MAGIC);
    assert_int_equal(tw_robot_load_buffer(buf, 4, path, &c, msg, sizeof msg), TW_EBAD_MAGIC);
    assert_null(c);
    free(buf);
    tw_robot_close(a);
    tw_robot_close(b);
}

static void test_robot_buffer_roundtrip(void **state)
{
    check_robot_roundtrip("builtin", 0);
    char panda[4096];
    const char *shared = getenv("TW_SHARED");
    snprintf(panda, sizeof panda, "%s/models/franka_emika_panda/panda.xml", shared ? shared : "../shared");
    if (access(panda, R_OK) == 0)
        check_robot_roundtrip(panda, 1); /* F/T site added by the loader */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_merge_equals_sequential_for_any_split),
        cmocka_unit_test(test_stats_pack_roundtrip_and_empty_merge),
        cmocka_unit_test(test_split_is_disjoint_stable_and_order_free),
        cmocka_unit_test(test_split_small_sets_keep_train_and_test),
        cmocka_unit_test(test_randomize_rejects_unknown_and_bad),
        cmocka_unit_test(test_randomize_draws_in_range_deterministic_key_order_free),
        cmocka_unit_test(test_local_group_collectives_errors_and_deaths),
        cmocka_unit_test(test_robot_buffer_roundtrip),
    };
    return cmocka_run_group_tests_name("fusion_unit", tests, NULL, NULL);
}
