/* Alignment unit tests: pure, fast, no files (an in-memory source stands in for an episode). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tw_timeline.h"

#define MS 1000000LL
#define MAXS 6

/* ---- in-memory source ---- */
typedef struct {
    tw_stream_decl d[MAXS];
    size_t ns;
    int64_t *t[MAXS], *tr[MAXS];
    uint64_t *seq[MAXS];
    double *v[MAXS];
    uint64_t n[MAXS];
    tw_clock_sample clk[8];
    size_t nclk;
    tw_video_index_entry *vid;
    size_t nvid;
} mem_src;

static size_t m_ns(void *c) { return ((mem_src *)c)->ns; }
static const tw_stream_decl *m_decl(void *c, size_t i) { return &((mem_src *)c)->d[i]; }
static uint64_t m_n(void *c, size_t i) { return ((mem_src *)c)->n[i]; }
static int m_read(void *c, size_t i, uint64_t s, uint64_t k, int64_t *ts, int64_t *tr, uint64_t *seq,
                  double *data, char *msg, size_t msgsz)
{
    mem_src *m = c;
    size_t e = tw_decl_elems(&m->d[i]);
    if (s + k > m->n[i])
        return tw_errf(msg, msgsz, TW_EINVAL, "read past end");
    for (uint64_t j = 0; j < k; j++) {
        if (ts) ts[j] = m->t[i][s + j];
        if (tr) tr[j] = m->tr[i][s + j];
        if (seq) seq[j] = m->seq[i][s + j];
        if (data) memcpy(data + j * e, m->v[i] + (s + j) * e, e * sizeof *data);
    }
    return 0;
}
static int m_clock(void *c, tw_clock_sample **out, size_t *n, char *msg, size_t msgsz)
{
    mem_src *m = c;
    *out = malloc((m->nclk + 1) * sizeof **out);
    memcpy(*out, m->clk, m->nclk * sizeof **out);
    *n = m->nclk;
    return 0;
}
static int m_video(void *c, size_t i, tw_video_index_entry **out, size_t *n, char *msg, size_t msgsz)
{
    mem_src *m = c;
    *out = malloc((m->nvid + 1) * sizeof **out);
    memcpy(*out, m->vid, m->nvid * sizeof **out);
    *n = m->nvid;
    return 0;
}
static const tw_align_source mem_source = {m_ns, m_decl, m_n, m_read, m_clock, m_video};

static size_t add_stream(mem_src *m, const char *name, tw_kind kind, uint32_t elems, double rate, uint64_t n)
{
    size_t i = m->ns++;
    tw_stream_decl *d = &m->d[i];
    memset(d, 0, sizeof *d);
    d->id = (uint16_t)(i + 1);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->kind = kind;
    d->dtype = kind == TW_KIND_VIDEO ? TW_DTYPE_BYTES : TW_DTYPE_FLOAT64;
    d->rate_hz = rate;
    if (kind == TW_KIND_JOINT_STATE) {
        d->ndim = 2; d->shape[0] = 3; d->shape[1] = elems / 3;
    } else if (kind != TW_KIND_VIDEO) {
        d->ndim = 1; d->shape[0] = elems;
    }
    m->n[i] = n;
    m->t[i] = calloc(n + 1, sizeof(int64_t));
    m->tr[i] = calloc(n + 1, sizeof(int64_t));
    m->seq[i] = calloc(n + 1, sizeof(uint64_t));
    m->v[i] = calloc((n + 1) * (elems ? elems : 1), sizeof(double));
    return i;
}

static void free_src(mem_src *m)
{
    for (size_t i = 0; i < m->ns; i++) {
        free(m->t[i]); free(m->tr[i]); free(m->seq[i]); free(m->v[i]);
    }
    free(m->vid);
}

/* A joint_state stream (1 joint: pos = t, vel = 2, eff = -t) at 100 Hz on a client clock
 * 250 ms ahead, with rows [50, 80) missing (a 0.3 s gap); an action stream at 20 Hz. */
static void make_basic(mem_src *m, int64_t offset)
{
    memset(m, 0, sizeof *m);
    size_t js = add_stream(m, "arm", TW_KIND_JOINT_STATE, 3, 100, 170);
    uint64_t k = 0;
    for (uint64_t i = 0; i < 200; i++) {
        if (i >= 50 && i < 80)
            continue;
        int64_t ts = (int64_t)i * 10 * MS;
        m->t[js][k] = ts + offset;
        m->tr[js][k] = ts + 3 * MS + (int64_t)(i % 3) * MS; /* latency 3..5 ms */
        m->seq[js][k] = i;
        m->v[js][k * 3 + 0] = ts * 1e-9;
        m->v[js][k * 3 + 1] = 2;
        m->v[js][k * 3 + 2] = -(ts * 1e-9);
        k++;
    }
    size_t ac = add_stream(m, "cmd", TW_KIND_ACTION, 1, 20, 40);
    for (uint64_t i = 0; i < 40; i++) {
        m->t[ac][i] = (int64_t)i * 50 * MS + offset;
        m->tr[ac][i] = (int64_t)i * 50 * MS + 1 * MS;
        m->seq[ac][i] = i;
        m->v[ac][i] = (double)i;
    }
    m->nclk = 4;
    for (int i = 0; i < 4; i++) {
        m->clk[i].t_server_ns = i * 100 * MS;
        m->clk[i].rtt_ns = (i == 2 ? 1 : 9) * MS;
        m->clk[i].offset_ns = offset + (i == 2 ? 0 : 4 * MS); /* the low-RTT one is exact */
    }
}

static tw_align *open_basic(mem_src *m, uint32_t block, uint32_t halo)
{
    tw_align_opts o;
    tw_align_opts_init(&o);
    o.block_steps = block;
    o.halo = halo;
    o.read_chunk = 16; /* small chunks exercise the refill path */
    tw_align *a = NULL;
    char msg[256];
    int rc = tw_align_open(&mem_source, m, &o, &a, msg, sizeof msg);
    if (rc != 0)
        fail_msg("open: %s", msg);
    return a;
}

static void test_linear_interp_midpoint(void **st)
{
    double a[2] = {0, 10}, b[2] = {1, 20}, out[2];
    tw_interp_linear(a, b, 100, 200, 150, 2, out);
    assert_float_equal(out[0], 0.5, 1e-12);
    assert_float_equal(out[1], 15, 1e-12);
}

static void test_slerp_half_turn_and_shortest_path(void **st)
{
    double qa[4] = {1, 0, 0, 0};
    double qb[4] = {cos(M_PI / 4), 0, 0, sin(M_PI / 4)}; /* 90 deg about z */
    double out[4];
    tw_quat_slerp(qa, qb, 0.5, out);
    assert_float_equal(out[0], cos(M_PI / 8), 1e-12);
    assert_float_equal(out[3], sin(M_PI / 8), 1e-12);
    double nb[4] = {-qb[0], -qb[1], -qb[2], -qb[3]}; /* same rotation, other hemisphere */
    tw_quat_slerp(qa, nb, 0.5, out);
    assert_float_equal(fabs(out[0]), cos(M_PI / 8), 1e-12);
    assert_float_equal(fabs(out[3]), sin(M_PI / 8), 1e-12);
}

static void test_clean_counts_duplicates_and_reorders(void **st)
{
    int64_t t[6] = {10, 20, 20, 40, 30, 50};
    uint64_t seq[6] = {1, 2, 2, 4, 3, 5};
    double v[6] = {1, 2, 2, 4, 3, 5};
    int64_t last_t = 0;
    uint64_t last_seq = 0, dup = 0, ooo = 0;
    int have = 0;
    size_t k = tw_align_clean(t, seq, v, 1, 6, &last_t, &last_seq, &have, &dup, &ooo);
    assert_int_equal(k, 5);
    assert_int_equal(dup, 1);
    assert_int_equal(ooo, 1);
    for (size_t i = 0; i < k; i++)
        assert_float_equal(v[i], (double)t[i] / 10, 0);
    /* a later chunk carrying a sample older than the last kept one: counted and dropped */
    int64_t t2[2] = {45, 60};
    uint64_t s2[2] = {9, 6};
    double v2[2] = {0, 6};
    k = tw_align_clean(t2, s2, v2, 1, 2, &last_t, &last_seq, &have, &dup, &ooo);
    assert_int_equal(k, 1);
    assert_int_equal(t2[0], 60);
    assert_int_equal(ooo, 2);
}

static void test_p2_tracks_p95(void **st)
{
    tw_p2 p;
    tw_p2_init(&p, 0.95);
    uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        tw_p2_add(&p, (double)(x >> 11) / 9007199254740992.0);
    }
    assert_float_equal(tw_p2_get(&p), 0.95, 0.01);
}

static void test_sg_derivative_exact_on_quadratic_and_cut_by_gap(void **st)
{
    double x[9];
    uint8_t q[9] = {0};
    for (int i = 0; i < 9; i++)
        x[i] = 3.0 * (i * 0.1) * (i * 0.1) + (i * 0.1); /* x' = 6 t + 1 */
    double d;
    assert_int_equal(tw_sg_derivative(x, 1, q, 9, 1, 4, 2, 0.1, &d), 0);
    assert_float_equal(d, 6 * 0.4 + 1, 1e-9);
    q[6] = TW_Q_GAP; /* window cut to the central difference */
    assert_int_equal(tw_sg_derivative(x, 1, q, 9, 1, 4, 2, 0.1, &d), TW_Q_EDGE);
    assert_float_equal(d, 6 * 0.4 + 1, 1e-9);
}

static void test_clock_minrtt_and_fit_with_drift(void **st)
{
    tw_clock_sample s[40];
    for (int i = 0; i < 40; i++) { /* 250 ms offset, 50 ppm drift, noisy high-RTT samples */
        s[i].t_server_ns = (int64_t)i * 500 * MS;
        s[i].rtt_ns = (i % 4 == 0 ? 1 : 20) * MS;
        s[i].offset_ns = 250 * MS + (int64_t)(50e-6 * s[i].t_server_ns) + (i % 4 == 0 ? 0 : 7 * MS);
    }
    tw_clock_model c;
    tw_clock_estimate(s, 40, TW_CLOCK_FIT, &c);
    assert_int_equal(c.method, TW_CLOCK_FIT);
    assert_float_equal(c.drift, 50e-6, 1e-7);
    int64_t ts = 10000 * MS; /* server time 10 s */
    int64_t src = ts + 250 * MS + (int64_t)(50e-6 * ts);
    assert_true(llabs(tw_clock_to_server(&c, src) - ts) < 50000); /* 50 us */
    tw_clock_estimate(s, 40, TW_CLOCK_AUTO, &c); /* the drift stands out of the noise */
    assert_int_equal(c.method, TW_CLOCK_FIT);
    for (int i = 0; i < 40; i++) /* constant offset, ping noise of +-20 us: no drift to see */
        s[i].offset_ns = 250 * MS + (i % 3 - 1) * 20000;
    tw_clock_estimate(s, 40, TW_CLOCK_AUTO, &c);
    assert_int_equal(c.method, TW_CLOCK_MINRTT);
    assert_true(llabs(c.offset_ns - 250 * MS) <= 20000);
    for (int i = 0; i < 40; i++)
        s[i].offset_ns = 250 * MS;
    tw_clock_estimate(s, 3, TW_CLOCK_AUTO, &c); /* 1 s span: too short for drift */
    assert_int_equal(c.method, TW_CLOCK_MINRTT);
    assert_int_equal(c.offset_ns, 250 * MS);
}

static void test_cursor_offset_interp_hold_and_gap(void **st)
{
    mem_src m;
    make_basic(&m, 250 * MS);
    tw_align *a = open_basic(&m, 64, 0);
    const tw_align_info *in = tw_align_get_info(a);
    assert_int_equal(in->clock.offset_ns, 250 * MS);
    assert_int_equal(in->t0_ns, 0); /* corrected to the recorder clock */
    assert_float_equal(in->rate_hz, 100, 0);
    assert_int_equal(in->nsteps, 200);
    const tw_align_stream_stats *js = &in->streams[0].stats;
    assert_int_equal(js->gaps, 1);
    assert_float_equal(js->gap_s, 0.31, 1e-9);
    assert_float_equal(js->coverage, 1 - 0.31 / 1.99, 1e-9);
    assert_float_equal(js->latency_mean_ms, 4, 0.05);
    assert_float_equal(js->jitter_ms, 0, 1e-6); /* the gap is counted, not jitter */
    assert_float_equal(js->period_mean_ms, 10, 1e-6);
    tw_align_block b;
    char msg[256];
    int rc, ngap = 0;
    uint64_t rows = 0;
    while ((rc = tw_align_next(a, &b, msg, sizeof msg)) == 1) {
        for (uint32_t r = 0; r < b.nrows; r++) {
            uint64_t step = b.first + r;
            double t = (double)b.t_ns[r] * 1e-9;
            const double *v = b.values[0] + r * 3;
            if (step >= 50 && step < 80) {
                assert_true(b.quality[0][r] & TW_Q_GAP);
                assert_float_equal(v[0], 0.49, 1e-12); /* held, not interpolated */
                ngap++;
            } else {
                assert_int_equal(b.quality[0][r], 0);
                assert_float_equal(v[0], t, 1e-9);
                assert_float_equal(v[2], -t, 1e-9);
            }
            double act = b.values[1][r];
            assert_float_equal(act, floor(t * 20 + 1e-9), 0); /* zero-order hold */
        }
        rows += b.ncore;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rows, 200);
    assert_int_equal(ngap, 30);
    tw_align_close(a);
    free_src(&m);
}

static void test_cursor_between_samples_and_duplicates(void **st)
{
    mem_src m;
    make_basic(&m, 0);
    /* duplicate row 10 (a resend) and swap 20/21 (arrival out of order) */
    m.t[0][11] = m.t[0][10];
    m.seq[0][11] = m.seq[0][10];
    memcpy(m.v[0] + 33, m.v[0] + 30, 3 * sizeof(double));
    int64_t tt = m.t[0][20]; m.t[0][20] = m.t[0][21]; m.t[0][21] = tt;
    uint64_t ss = m.seq[0][20]; m.seq[0][20] = m.seq[0][21]; m.seq[0][21] = ss;
    for (int j = 0; j < 3; j++) {
        double x = m.v[0][60 + j]; m.v[0][60 + j] = m.v[0][63 + j]; m.v[0][63 + j] = x;
    }
    tw_align_opts o;
    tw_align_opts_init(&o);
    o.rate_hz = 250; /* steps fall between samples */
    o.read_chunk = 7;
    tw_align *a = NULL;
    char msg[256];
    assert_int_equal(tw_align_open(&mem_source, &m, &o, &a, msg, sizeof msg), 0);
    const tw_align_info *in = tw_align_get_info(a);
    assert_int_equal(in->streams[0].stats.duplicates, 1);
    assert_int_equal(in->streams[0].stats.out_of_order, 1);
    assert_int_equal(in->streams[0].stats.used, 169);
    tw_align_block b;
    while (tw_align_next(a, &b, msg, sizeof msg) == 1)
        for (uint32_t r = 0; r < b.nrows; r++) {
            double t = (double)b.t_ns[r] * 1e-9;
            if (!(b.quality[0][r] & TW_Q_INVALID))
                assert_float_equal(b.values[0][r * 3], t, 1e-9);
        }
    tw_align_close(a);
    free_src(&m);
}

static void test_halo_rows_match_plain_rows(void **st)
{
    mem_src m;
    make_basic(&m, 0);
    tw_align *a = open_basic(&m, 16, 3);
    tw_align_block b;
    char msg[256];
    uint64_t expect_core = 0;
    while (tw_align_next(a, &b, msg, sizeof msg) == 1) {
        assert_int_equal(b.first + b.halo_lo, expect_core);
        for (uint32_t r = 0; r < b.nrows; r++)
            assert_int_equal(b.t_ns[r], (int64_t)(b.first + r) * 10 * MS);
        expect_core += b.ncore;
    }
    assert_int_equal(expect_core, 200);
    tw_align_close(a);
    free_src(&m);
}

static void test_video_frame_shown_at_each_step(void **st)
{
    mem_src m;
    make_basic(&m, 0);
    add_stream(&m, "cam", TW_KIND_VIDEO, 0, 30, 0);
    m.d[2].encoding = TW_VIDEO_H264;
    m.nvid = 60;
    m.vid = calloc(60, sizeof *m.vid);
    for (int i = 0; i < 60; i++) {
        m.vid[i].t_src_ns = 5 * MS + (int64_t)i * 33333333;
        m.vid[i].t_recv_ns = m.vid[i].t_src_ns + 10 * MS;
        m.vid[i].pts = i;
    }
    tw_align *a = open_basic(&m, 50, 0);
    tw_align_block b;
    char msg[256];
    int k = tw_align_find(a, TW_KIND_VIDEO, NULL);
    assert_int_equal(k, 2);
    assert_float_equal(tw_align_get_info(a)->streams[k].stats.latency_mean_ms, 10, 1e-6);
    while (tw_align_next(a, &b, msg, sizeof msg) == 1)
        for (uint32_t r = 0; r < b.nrows; r++) {
            int64_t t = b.t_ns[r];
            int64_t expect = t < 5 * MS ? -1 : (t - 5 * MS) / 33333333;
            if (expect > 59)
                expect = 59;
            assert_int_equal(b.frame[k][r], expect);
        }
    tw_align_close(a);
    free_src(&m);
}

/* Constant rotation about z: slerp between samples is exact, where a linear blend of the
 * quaternions would shrink and lag. */
static void test_imu_quaternion_slerped_between_samples(void **st)
{
    mem_src m;
    make_basic(&m, 0);
    size_t k = add_stream(&m, "imu", TW_KIND_IMU, 10, 100, 200);
    for (int i = 0; i < 200; i++) {
        double t = i * 0.01, th = 3.0 * t; /* 3 rad/s: 0.03 rad per sample */
        m.t[k][i] = (int64_t)i * 10 * MS;
        m.tr[k][i] = m.t[k][i];
        m.seq[k][i] = (uint64_t)i;
        double *v = m.v[k] + i * 10;
        v[0] = cos(th / 2);
        v[3] = sin(th / 2);
        v[6] = 3.0; /* gyro z */
    }
    tw_align_opts o;
    tw_align_opts_init(&o);
    o.rate_hz = 300; /* steps between samples */
    tw_align *a = NULL;
    char msg[256];
    assert_int_equal(tw_align_open(&mem_source, &m, &o, &a, msg, sizeof msg), 0);
    int ki = tw_align_find(a, TW_KIND_IMU, NULL);
    assert_true(ki >= 0);
    tw_align_block b;
    int n = 0;
    while (tw_align_next(a, &b, msg, sizeof msg) == 1)
        for (uint32_t r = 0; r < b.nrows; r++) {
            if (b.quality[ki][r] & TW_Q_INVALID)
                continue;
            double th = 3.0 * (double)b.t_ns[r] * 1e-9;
            const double *v = b.values[ki] + r * 10;
            assert_float_equal(v[0], cos(th / 2), 1e-9);
            assert_float_equal(v[3], sin(th / 2), 1e-9);
            assert_float_equal(v[6], 3.0, 1e-12);
            n++;
        }
    assert_true(n > 500);
    tw_align_close(a);
    free_src(&m);
}

static void test_events_are_held(void **st)
{
    mem_src m;
    make_basic(&m, 250 * MS);
    size_t ev = add_stream(&m, "events", TW_KIND_EVENT, 0, 1, 3);
    m.d[ev].dtype = TW_DTYPE_BYTES;
    m.d[ev].ndim = 0;
    int64_t at[3] = {300 * MS, 300 * MS, 1200 * MS}; /* the second is a resend (same seq) */
    uint64_t sq[3] = {7, 7, 8};
    for (int i = 0; i < 3; i++) {
        m.t[ev][i] = at[i] + 250 * MS;
        m.tr[ev][i] = at[i];
        m.seq[ev][i] = sq[i];
    }
    tw_align *a = open_basic(&m, 64, 0);
    int k = tw_align_find(a, TW_KIND_EVENT, NULL);
    assert_int_equal(tw_align_get_info(a)->streams[k].stats.duplicates, 1);
    tw_align_block b;
    char msg[256];
    while (tw_align_next(a, &b, msg, sizeof msg) == 1)
        for (uint32_t r = 0; r < b.nrows; r++) {
            int64_t t = b.t_ns[r];
            assert_int_equal(b.frame[k][r], t < 300 * MS ? -1 : t < 1200 * MS ? 7 : 8);
        }
    tw_align_close(a);
    free_src(&m);
}

static void test_reference_without_samples_is_an_error(void **st)
{
    mem_src m;
    memset(&m, 0, sizeof m);
    add_stream(&m, "arm", TW_KIND_JOINT_STATE, 3, 100, 0);
    tw_align *a = NULL;
    char msg[256] = "";
    assert_int_equal(tw_align_open(&mem_source, &m, NULL, &a, msg, sizeof msg), TW_EINTEGRITY);
    assert_null(a);
    assert_non_null(strstr(msg, "arm"));
    free_src(&m);
}

/* A logger that declares 1 kHz but samples every 2 ms, with one 5 ms interval: against the nominal
 * rate every interval above 3 ms is a gap (the 5 ms one); against the measured median (2 ms) only
 * those above 6 ms are (none); --gap-ms 1.5 makes every interval a gap. */
static void test_gap_threshold_nominal_measured_and_set(void **st)
{
    mem_src m;
    memset(&m, 0, sizeof m);
    size_t s = add_stream(&m, "arm", TW_KIND_JOINT_STATE, 3, 1000, 200);
    for (uint64_t i = 0; i < 200; i++) {
        m.t[s][i] = (int64_t)(i * 2000000 + (i >= 100 ? 3000000 : 0));
        m.tr[s][i] = m.t[s][i];
        m.seq[s][i] = i;
    }
    const struct { int measured; double gap_ms; uint64_t gaps; double thr_ms; } cases[] = {
        {0, 0, 1, 3}, {1, 0, 0, 6}, {1, 1.5, 199, 1.5}};
    for (int c = 0; c < 3; c++) {
        tw_align_opts o;
        tw_align_opts_init(&o);
        o.gap_measured = cases[c].measured;
        o.gap_ms = cases[c].gap_ms;
        tw_align *a = NULL;
        char msg[256];
        assert_int_equal(tw_align_open(&mem_source, &m, &o, &a, msg, sizeof msg), 0);
        const tw_align_stream *as = &tw_align_get_info(a)->streams[0];
        assert_int_equal(as->stats.gaps, cases[c].gaps);
        if (!(fabs(as->gap_threshold_s * 1e3 - cases[c].thr_ms) < 1e-3 * cases[c].thr_ms)) /* P-square median */
            fail_msg("case %d: threshold %.9g ms, want %g", c, as->gap_threshold_s * 1e3, cases[c].thr_ms);
        if (cases[c].measured && !cases[c].gap_ms)
            assert_true(fabs(as->stats.period_median_ms - 2) < 2e-3);
        tw_align_close(a);
    }
    free_src(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_interp_midpoint),
        cmocka_unit_test(test_slerp_half_turn_and_shortest_path),
        cmocka_unit_test(test_clean_counts_duplicates_and_reorders),
        cmocka_unit_test(test_p2_tracks_p95),
        cmocka_unit_test(test_sg_derivative_exact_on_quadratic_and_cut_by_gap),
        cmocka_unit_test(test_clock_minrtt_and_fit_with_drift),
        cmocka_unit_test(test_cursor_offset_interp_hold_and_gap),
        cmocka_unit_test(test_cursor_between_samples_and_duplicates),
        cmocka_unit_test(test_halo_rows_match_plain_rows),
        cmocka_unit_test(test_video_frame_shown_at_each_step),
        cmocka_unit_test(test_imu_quaternion_slerped_between_samples),
        cmocka_unit_test(test_events_are_held),
        cmocka_unit_test(test_reference_without_samples_is_an_error),
        cmocka_unit_test(test_gap_threshold_nominal_measured_and_set),
    };
    return cmocka_run_group_tests_name("align", tests, NULL, NULL);
}
