/* The recorder when things go wrong (issue 15): a deaf client, a queue smaller than one
 * maximum-size message, resends and odd values (live counters against the file's), a full disk
 * with several rigs, and memory with 64 streams flooding. Real `tw record` processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "recfx.h"
#include "tw_episode.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Answers the server's pings (and drops everything else) for ms milliseconds. */
static void answer_pings(rawws *w, int ms)
{
    double end = now_s() + ms / 1000.0;
    while (now_s() < end) {
        int op;
        char *data = NULL;
        size_t len;
        if (rawws_recv(w, &op, &data, &len, 50) != 1)
            continue;
        json_t *j = op == RAWWS_TEXT ? json_loads(data, 0, NULL) : NULL;
        const char *t = json_string_value(json_object_get(j, "type"));
        if (t && !strcmp(t, "ping")) {
            json_int_t t0 = json_integer_value(json_object_get(j, "t0_ns"));
            json_int_t now = (json_int_t)(now_s() * 1e9);
            fx_send_json(w, json_pack("{s:s, s:O, s:I, s:I, s:I}", "type", "pong", "id", json_object_get(j, "id"),
                                      "t0_ns", t0, "t1_ns", now, "t2_ns", now));
        }
        json_decref(j);
        free(data);
    }
}

static void test_deaf_client_dropped_legit_untouched(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, "--ping-timeout 2"), 0);
    rawws deaf, ok;
    char deaf_id[128], ok_id[128];
    assert_int_equal(fx_session(&deaf, f, "deaf"), 0);
    assert_int_equal(fx_start(&deaf, "deaf", deaf_id, sizeof deaf_id), 0);
    assert_int_equal(fx_send_arm(&deaf, FX_ARM, 0, 50, 10), 0);
    assert_int_equal(fx_session(&ok, f, "ok"), 0);
    assert_int_equal(fx_start(&ok, "ok", ok_id, sizeof ok_id), 0);
    for (int k = 0; k < 9; k++) { /* 4.5 s: the deaf one is past its 2 s, the other answers */
        assert_int_equal(fx_send_arm(&ok, FX_ARM, (uint64_t)k * 10, 10, 10), 0);
        answer_pings(&ok, 500);
    }
    json_t *err = rawws_wait_type(&deaf, "error", 3000);
    assert_non_null(err);
    assert_string_equal(fx_err_code(err), "TIMEOUT");
    json_decref(err);
    json_t *h5 = fx_episode(f, NULL, deaf_id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "interrupted");
    assert_int_equal(fx_h5_n(h5, "arm"), 50);
    json_decref(h5);
    assert_int_equal(fx_stop(&ok), 0); /* still served */
    h5 = fx_episode(f, NULL, ok_id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "complete");
    assert_int_equal(fx_h5_n(h5, "arm"), 90);
    json_decref(h5);
    rawws_close(&deaf);
    rawws_close(&ok);
    assert_int_equal(recfx_stop(f, SIGINT), 0);
}

static void test_small_queue_big_message_refused_and_sigint_ends(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, "--queue-mb 1"), 0);
    rawws w;
    char id[128];
    assert_int_equal(fx_session(&w, f, "small"), 0);
    assert_int_equal(fx_start(&w, "big", id, sizeof id), 0);
    assert_int_equal(fx_send_arm(&w, FX_ARM, 0, 20, 10), 0);
    size_t big = 16u << 20; /* protocol.md's max_binary: legal, but not for this queue */
    uint8_t *buf = calloc(1, big);
    assert_non_null(buf);
    rawws_send_binary(&w, buf, big); /* the server may close while we send */
    free(buf);
    json_t *err = rawws_wait_type(&w, "error", 5000);
    assert_non_null(err);
    assert_string_equal(fx_err_code(err), "TOO_BIG");
    json_decref(err);
    rawws_close(&w);
    double t0 = now_s();
    assert_int_equal(recfx_stop(f, SIGINT), 0);
    print_message("SIGINT to exit: %.2f s\n", now_s() - t0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    assert_int_equal(fx_h5_n(h5, "arm"), 20);
    json_decref(h5);
}

/* Frames of the arm stream with chosen seqs, times and a first value (NaN allowed). */
static void send_frames(rawws *w, const uint64_t *seq, const int64_t *t, const double *v, int n)
{
    uint8_t buf[64 * (TW_FRAME_HEADER_SIZE + FX_ARM_BYTES)];
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        double p[21] = {v[i]};
        tw_frame fr = {FX_ARM, 0, FX_ARM_BYTES, seq[i], t[i], (const uint8_t *)p};
        off += tw_frame_encode(buf + off, sizeof buf - off, &fr);
    }
    assert_int_equal(rawws_send_binary(w, buf, off), 0);
}

static void test_resends_live_counters_equal_file(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, "--status-ms 100"), 0);
    rawws w;
    char id[128];
    assert_int_equal(fx_session(&w, f, "resend"), 0);
    assert_int_equal(fx_start(&w, "resend", id, sizeof id), 0);
    static const uint64_t seq[] = {0, 1, 2, 2, 5, 3, 3, 6, 7, UINT64_MAX, UINT64_MAX, 0, 1};
    static const int64_t t[] = {0, 10, 20, 20, 50, 30, 30, 40, 70, 80, 80, 90, 100};
    const double v[] = {0, 0, 0, 0, 0, 0, 0, NAN, INFINITY, 0, 0, 0, 0};
    int n = (int)(sizeof seq / sizeof seq[0]);
    send_frames(&w, seq, t, v, 5);
    send_frames(&w, seq + 5, t + 5, v + 5, n - 5);
    json_t *arm = NULL;
    for (int tries = 0; tries < 50 && !arm; tries++) { /* a status once the writer has them all */
        json_t *st = rawws_wait_type(&w, "status", 2000);
        json_t *s0 = json_array_get(json_object_get(st, "streams"), 0);
        if (json_integer_value(json_object_get(s0, "written")) == n - 3)
            arm = json_incref(s0);
        json_decref(st);
    }
    assert_non_null(arm);
    assert_int_equal(fx_stop(&w), 0);
    char dir[512], msg[512];
    snprintf(dir, sizeof dir, "%s/%s", f->out, id);
    assert_non_null(fx_episode(f, NULL, id));
    tw_episode *e = NULL;
    assert_int_equal(tw_episode_open(dir, &e, msg, sizeof msg), 0);
    tw_episode_stream_stats st;
    assert_int_equal(tw_episode_get_stats(e, (size_t)tw_episode_find_stream(e, "arm"), &st), 0);
    assert_int_equal(st.samples, n - 3);
    assert_int_equal(st.duplicates, 3);
    assert_int_equal(st.resets, 2);
    assert_int_equal(st.nonfinite, 2);
    assert_int_equal(json_integer_value(json_object_get(arm, "gaps")), st.missing);
    assert_int_equal(json_integer_value(json_object_get(arm, "duplicates")), st.duplicates);
    assert_int_equal(json_integer_value(json_object_get(arm, "out_of_order")), st.out_of_order);
    assert_int_equal(json_integer_value(json_object_get(arm, "resets")), st.resets);
    assert_int_equal(json_integer_value(json_object_get(arm, "nonmonotonic_t")), st.nonmonotonic_t);
    assert_int_equal(json_integer_value(json_object_get(arm, "nonfinite")), st.nonfinite);
    tw_episode_close_reader(e);
    json_decref(arm);
    assert_int_equal(fx_inspect(f, NULL, id), 0);
    rawws_close(&w);
    assert_int_equal(recfx_stop(f, SIGINT), 0);
}

static int count_dirs(const char *root)
{
    DIR *d = opendir(root);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.' && e->d_type == DT_DIR;
    if (d)
        closedir(d);
    return n;
}

static char g_mnt[400];

static int umount_teardown(void **state)
{
    recfx *f = *state;
    recfx_stop(f, SIGKILL);
    if (g_mnt[0])
        umount2(g_mnt, MNT_DETACH);
    g_mnt[0] = 0;
    return fx_teardown(state);
}

static void test_full_disk_two_rigs(void **state)
{
    recfx *f = *state;
    char mnt[400], out[450], filler[450];
    snprintf(mnt, sizeof mnt, "%s/small", f->root);
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=12m") != 0)
        skip(); /* not allowed to mount here */
    snprintf(g_mnt, sizeof g_mnt, "%s", mnt);
    snprintf(out, sizeof out, "%s/out", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    assert_int_equal(fx_sh("head -c 6000000 /dev/zero > %s", filler), 0);
    assert_int_equal(recfx_start(f, out, "--flush-ms 100"), 0);
    rawws a, b, c;
    char a_id[128], b_id[128];
    assert_int_equal(fx_session(&b, f, "quiet"), 0); /* a second rig, connected throughout */
    assert_int_equal(fx_session(&a, f, "flood"), 0);
    assert_int_equal(fx_start(&a, "flood", a_id, sizeof a_id), 0);
    json_t *err = NULL;
    for (int k = 0; k < 400 && !err; k++) {
        if (fx_send_arm(&a, FX_ARM, (uint64_t)k * 500, 500, 250) != 0)
            break; /* closed on us */
        err = rawws_wait_type(&a, "error", 20);
    }
    if (!err)
        err = rawws_wait_type(&a, "error", 5000);
    assert_non_null(err);
    assert_string_equal(fx_err_code(err), "NOSPACE");
    assert_true(json_is_true(json_object_get(err, "fatal")));
    json_decref(err);
    rawws_close(&a);
    /* rigs that start while the disk is full are refused, and no folder is left behind: a raw
     * session, and `tw rig`, which exits 1 naming NOSPACE without reconnecting */
    int dirs = count_dirs(out);
    assert_int_equal(fx_session(&c, f, "late"), 0);
    char c_id[128];
    assert_int_not_equal(fx_start(&c, "late", c_id, sizeof c_id), 0);
    rawws_close(&c);
    char log[600];
    snprintf(log, sizeof log, "%s/rig.log", f->root);
    assert_int_equal(fx_sh("%s rig --url ws://127.0.0.1:%d --token-file %s --speed 0 --duration 1 --camera none "
                           "--retries 5 2> %s", getenv("TW_BIN"), f->port, f->token_file, log), 1);
    if (fx_sh("grep -q NOSPACE %s && grep -q ' 0 reconnects' %s", log, log) != 0)
        fx_sh("cat %s >&2", log);
    assert_int_equal(fx_sh("grep -q NOSPACE %s && grep -q ' 0 reconnects' %s", log, log), 0);
    assert_int_equal(count_dirs(out), dirs);
    /* space returns: the rig that stayed connected records a complete episode */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(fx_start(&b, "after", b_id, sizeof b_id), 0);
    assert_int_equal(fx_send_arm(&b, FX_ARM, 0, 100, 50), 0);
    assert_int_equal(fx_stop(&b), 0);
    json_t *h5 = fx_episode(f, out, b_id);
    assert_non_null(h5);
    assert_string_equal(fx_h5_status(h5), "complete");
    json_decref(h5);
    rawws_close(&b);
    int rst = recfx_stop(f, SIGINT);
    if (rst != 0)
        fx_sh("tail -n 60 '%s' >&2", f->log);
    assert_int_equal(rst, 0);
    /* tw recover: exit 0, every episode opens, no empty folder */
    assert_int_equal(fx_sh("%s recover %s", getenv("TW_BIN"), out), 0);
    DIR *d = opendir(out);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        char dir[800], msg[512];
        snprintf(dir, sizeof dir, "%s/%s", out, e->d_name);
        tw_episode *ep = NULL;
        if (tw_episode_open(dir, &ep, msg, sizeof msg) != 0)
            fail_msg("%s", msg);
        print_message("%s: %s\n", e->d_name, tw_episode_get_meta(ep)->status);
        tw_episode_close_reader(ep);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 2); /* the flood's (error or interrupted) and the quiet rig's */
}

/* VmHWM (peak resident set) of a process, in MiB; -1 when unreadable. */
static double vm_hwm_mb(pid_t pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(p, "r");
    double kb = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (sscanf(line, "VmHWM: %lf kB", &kb) == 1)
            break;
    if (fp)
        fclose(fp);
    return kb < 0 ? -1 : kb / 1024;
}

#define MEM_STREAMS 64
#define MEM_QUEUE_MB 64

/* recorder/README.md "Memory bound", in MiB: idle + queue + 0.25 + sessions x (max_binary + 0.25)
 * + per open stream (B + 8 KiB tracker) + per closing stream 2 x B, where a stream's batch
 * B = min(1024, 1 MiB / sample bytes) x (sample bytes + 24). */
static double documented_bound_mb(double idle, int streams, size_t sbytes, int queue_mb, int sessions)
{
    double cap = 1024 < (1 << 20) / sbytes ? 1024 : (double)((1 << 20) / sbytes);
    double batch = cap * (double)(sbytes + 24) / 1048576.0;
    return idle + queue_mb + 0.25 + sessions * (16.0 + 0.25) + streams * (batch + 8.0 / 1024) + streams * 2 * batch;
}

static void test_memory_bounded_64_streams_flooding(void **state)
{
    recfx *f = *state;
    char extra[64];
    snprintf(extra, sizeof extra, "--queue-mb %d", MEM_QUEUE_MB);
    assert_int_equal(recfx_start(f, NULL, extra), 0);
    double base = vm_hwm_mb(f->pid);
    rawws w;
    char auth[128];
    int st;
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    assert_int_equal(rawws_connect(&w, f->port, "/", auth, NULL, &st), 0);
    tw_stream_decl d[MEM_STREAMS];
    memset(d, 0, sizeof d);
    for (int i = 0; i < MEM_STREAMS; i++) {
        snprintf(d[i].name, sizeof d[i].name, "s%02d", i);
        d[i].id = (uint16_t)(i + 1);
        d[i].kind = TW_KIND_TENSOR;
        d[i].dtype = TW_DTYPE_FLOAT64;
        d[i].ndim = 1;
        d[i].shape[0] = 16;
        d[i].rate_hz = 1000;
    }
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_HELLO;
    snprintf(m.u.hello.client, sizeof m.u.hello.client, "memtest");
    snprintf(m.u.hello.version, sizeof m.u.hello.version, "1");
    m.u.hello.nstreams = MEM_STREAMS;
    m.u.hello.streams = d;
    char *json = NULL, emsg[256];
    assert_int_equal(tw_msg_encode(&m, &json, emsg, sizeof emsg), 0);
    assert_int_equal(rawws_send_text(&w, json), 0);
    free(json);
    json_t *wel = rawws_wait_type(&w, "welcome", 5000);
    assert_non_null(wel);
    json_decref(wel);
    char id[128];
    assert_int_equal(fx_start(&w, "flood", id, sizeof id), 0);
    enum { PER = 64 }; /* frames per stream per message: 64 x 64 x 152 B = 622 KB */
    size_t fsz = TW_FRAME_HEADER_SIZE + 128;
    uint8_t *buf = malloc((size_t)MEM_STREAMS * PER * fsz);
    double pay[16] = {0};
    uint64_t seq = 0;
    double t_end = now_s() + 8, peak_rec = 0;
    while (now_s() < t_end) {
        size_t off = 0;
        for (int k = 0; k < PER; k++, seq++)
            for (int i = 0; i < MEM_STREAMS; i++) {
                pay[0] = (double)seq;
                tw_frame fr = {(uint16_t)(i + 1), 0, 128, seq, (int64_t)seq * 1000000, (const uint8_t *)pay};
                off += tw_frame_encode(buf + off, fsz, &fr);
            }
        assert_int_equal(rawws_send_binary(&w, buf, off), 0);
    }
    free(buf);
    peak_rec = vm_hwm_mb(f->pid);
    double t0 = now_s();
    assert_int_equal(fx_stop(&w), 0);
    json_t *h5 = fx_episode(f, NULL, id);
    assert_non_null(h5);
    json_decref(h5);
    double peak_all = vm_hwm_mb(f->pid), bound = documented_bound_mb(base, MEM_STREAMS, 128, MEM_QUEUE_MB, 1);
    print_message("64 streams, --queue-mb 64: %llu samples per stream sent; VmHWM at start %.1f MiB, after 8 s "
                  "of flooding %.1f MiB, after closing (%.1f s) %.1f MiB; documented bound %.1f MiB\n",
                  (unsigned long long)seq, base, peak_rec, now_s() - t0, peak_all, bound);
    assert_true(peak_rec > 0 && peak_all > 0);
    assert_true(peak_all <= bound);
    rawws_close(&w);
    assert_int_equal(recfx_stop(f, SIGINT), 0);
}

/* A start that cannot bind its port shows and keeps no new token (it used to print one first). */
static void test_port_in_use_shows_no_token(void **state)
{
    recfx *f = *state;
    assert_int_equal(recfx_start(f, NULL, ""), 0);
    char out[512], err[512];
    snprintf(out, sizeof out, "%s/second", f->root);
    snprintf(err, sizeof err, "%s/second.err", f->root);
    assert_int_equal(fx_sh("%s record --out %s --listen 127.0.0.1:%d 2> %s", getenv("TW_BIN"), out, f->port, err), 1);
    assert_int_not_equal(fx_sh("grep -q 'new token' %s", err), 0);
    assert_int_not_equal(fx_sh("test -e %s/.token", out), 0);
    assert_int_equal(recfx_stop(f, SIGINT), 0);
}

int main(void)
{
    int pre = fx_main_prelude();
    if (pre)
        return pre;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deaf_client_dropped_legit_untouched, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_small_queue_big_message_refused_and_sigint_ends, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_resends_live_counters_equal_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_two_rigs, fx_setup, umount_teardown),
        cmocka_unit_test_setup_teardown(test_memory_bounded_64_streams_flooding, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use_shows_no_token, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("recorder_durability", tests, NULL, NULL);
}
