#include "recfx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tw_wire.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int recfx_init(recfx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/tw-rectest-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->out, sizeof f->out, "%s/out", f->root);
    snprintf(f->token_file, sizeof f->token_file, "%s/token", f->root);
    snprintf(f->log, sizeof f->log, "%s/recorder.log", f->root);
    snprintf(f->token, sizeof f->token, "tok-%08x-%08x", (unsigned)getpid(), (unsigned)time(NULL));
    FILE *t = fopen(f->token_file, "w");
    if (!t)
        return -1;
    fprintf(t, "%s\n", f->token);
    fclose(t);
    return 0;
}

int recfx_start(recfx *f, const char *out_dir, const char *extra)
{
    const char *bin = getenv("TW_BIN");
    if (!bin)
        return -1;
    f->port = free_port();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec '%s' record --listen 127.0.0.1:%d --out '%s' --token-file '%s' %s", bin,
             f->port, out_dir ? out_dir : f->out, f->token_file, extra ? extra : "");
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    f->pid = pid;
    for (int i = 0; i < 200; i++) { /* up to 10 s on a loaded machine */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (up)
            return 0;
        int wst;
        if (waitpid(pid, &wst, WNOHANG) == pid) {
            f->pid = 0;
            return -1;
        }
        sleep_ms(50);
    }
    return -1;
}

int recfx_stop(recfx *f, int sig)
{
    if (!f->pid)
        return -1;
    kill(f->pid, sig);
    int st = 0;
    for (int i = 0; i < 600; i++) { /* 30 s */
        if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
            f->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        sleep_ms(50);
    }
    kill(f->pid, SIGKILL);
    waitpid(f->pid, &st, 0);
    f->pid = 0;
    return -1;
}

void recfx_cleanup(recfx *f)
{
    if (f->pid)
        recfx_stop(f, SIGKILL);
    if (f->root[0]) /* the disk-full test's tmpfs, also when that test failed half-way */
        fx_sh("umount '%s/small' 2>/dev/null", f->root);
    if (f->root[0] && !getenv("TW_KEEP_TEST_DIRS"))
        fx_sh("rm -rf '%s'", f->root);
}

int fx_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- sessions ---- */
void fx_std_decls(tw_stream_decl d[3])
{
    memset(d, 0, 3 * sizeof *d);
    d[0].id = FX_ARM;
    snprintf(d[0].name, sizeof d[0].name, "arm");
    d[0].kind = TW_KIND_JOINT_STATE;
    d[0].dtype = TW_DTYPE_FLOAT64;
    d[0].ndim = 2;
    d[0].shape[0] = 3;
    d[0].shape[1] = 7;
    d[0].naxes = 7;
    for (int i = 0; i < 7; i++)
        snprintf(d[0].axes[i], sizeof d[0].axes[i], "joint%d", i + 1);
    snprintf(d[0].units, sizeof d[0].units, "rad;rad/s;N*m");
    d[0].rate_hz = 1000;
    d[1].id = FX_FT;
    snprintf(d[1].name, sizeof d[1].name, "wrist_ft");
    d[1].kind = TW_KIND_WRENCH;
    d[1].dtype = TW_DTYPE_FLOAT64;
    d[1].ndim = 1;
    d[1].shape[0] = 6;
    snprintf(d[1].units, sizeof d[1].units, "N;N*m");
    d[1].rate_hz = 1000;
    d[2].id = FX_CAM;
    snprintf(d[2].name, sizeof d[2].name, "cam");
    d[2].kind = TW_KIND_VIDEO;
    d[2].dtype = TW_DTYPE_BYTES;
    d[2].encoding = TW_VIDEO_H264;
    d[2].width = 160;
    d[2].height = 120;
    d[2].rate_hz = 30;
}

static int send_msg(rawws *w, const tw_msg *m)
{
    char *json = NULL, emsg[256];
    if (tw_msg_encode(m, &json, emsg, sizeof emsg) < 0) {
        fprintf(stderr, "encode: %s\n", emsg);
        return -1;
    }
    int rc = rawws_send_text(w, json);
    free(json);
    return rc;
}

int fx_session(rawws *w, const recfx *f, const char *rig)
{
    char auth[128];
    int st;
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    if (rawws_connect(w, f->port, "/", auth, NULL, &st) < 0)
        return -1;
    tw_stream_decl d[3];
    fx_std_decls(d);
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_HELLO;
    snprintf(m.u.hello.client, sizeof m.u.hello.client, "rectest");
    snprintf(m.u.hello.version, sizeof m.u.hello.version, "1");
    snprintf(m.u.hello.rig, sizeof m.u.hello.rig, "%s", rig);
    m.u.hello.nstreams = 3;
    m.u.hello.streams = d;
    if (send_msg(w, &m) < 0)
        return -1;
    json_t *wel = rawws_wait_type(w, "welcome", 5000);
    int ok = wel != NULL;
    json_decref(wel);
    return ok ? 0 : -1;
}

int fx_send_json(rawws *w, json_t *obj)
{
    char *txt = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    int rc = txt ? rawws_send_text(w, txt) : -1;
    free(txt);
    return rc;
}

static int wait_ack(rawws *w, char *id, size_t idsz)
{
    json_t *a = rawws_wait_type(w, "ack", 10000);
    if (!a)
        return -1;
    if (id)
        snprintf(id, idsz, "%s", json_string_value(json_object_get(a, "episode_id")) ?: "");
    json_decref(a);
    return 0;
}

int fx_start(rawws *w, const char *task, char *id, size_t idsz)
{
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_EPISODE_START;
    snprintf(m.u.start.task, sizeof m.u.start.task, "%s", task);
    snprintf(m.u.start.operator_, sizeof m.u.start.operator_, "tester");
    snprintf(m.u.start.robot, sizeof m.u.start.robot, "panda");
    return send_msg(w, &m) < 0 ? -1 : wait_ack(w, id, idsz);
}

int fx_stop(rawws *w)
{
    tw_msg m;
    memset(&m, 0, sizeof m);
    m.type = TW_MSG_EPISODE_STOP;
    m.u.stop.success = 1;
    return send_msg(w, &m) < 0 ? -1 : wait_ack(w, NULL, 0);
}

int fx_send_arm(rawws *w, uint16_t id, uint64_t seq0, int n, int per_msg)
{
    size_t plen = id == FX_ARM ? FX_ARM_BYTES : FX_FT_BYTES;
    size_t fsz = TW_FRAME_HEADER_SIZE + plen;
    uint8_t *buf = malloc(fsz * (size_t)per_msg);
    double payload[21];
    int rc = 0;
    for (int i = 0; i < n && rc == 0;) {
        size_t off = 0;
        int k = 0;
        for (; k < per_msg && i < n; k++, i++) {
            uint64_t seq = seq0 + (uint64_t)i;
            for (int j = 0; j < 21; j++)
                payload[j] = (double)seq + j * 0.01;
            tw_frame fr = {id, 0, (uint32_t)plen, seq, (int64_t)seq * 1000000, (const uint8_t *)payload};
            off += tw_frame_encode(buf + off, fsz, &fr);
        }
        rc = rawws_send_binary(w, buf, off);
    }
    free(buf);
    return rc;
}

/* ---- the test clip: 160x120 H.264 Annex-B with access-unit delimiters ---- */
static uint8_t *g_clip;
static size_t g_clip_len, g_au_off[512], g_au_len[512];
static int g_naus = -1;

static int load_clip(void)
{
    if (g_naus >= 0)
        return g_naus;
    char path[64];
    snprintf(path, sizeof path, "/tmp/tw-rectest-clip-%d.h264", (int)getpid());
    if (fx_sh("ffmpeg -v error -y -f lavfi -i testsrc=size=160x120:rate=30 -frames:v 90 -c:v libx264 "
              "-preset ultrafast -g 30 -bf 0 -x264-params aud=1 -f h264 '%s'", path) != 0)
        return g_naus = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return g_naus = 0;
    fseek(fp, 0, SEEK_END);
    g_clip_len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    g_clip = malloc(g_clip_len);
    if (fread(g_clip, 1, g_clip_len, fp) != g_clip_len)
        g_clip_len = 0;
    fclose(fp);
    unlink(path);
    g_naus = 0;
    /* an access unit starts at each AUD NAL (00 00 00 01 09) */
    for (size_t i = 0; i + 5 <= g_clip_len && g_naus < 512; i++)
        if (!memcmp(g_clip + i, "\0\0\0\1", 4) && (g_clip[i + 4] & 0x1f) == 9) {
            if (g_naus > 0)
                g_au_len[g_naus - 1] = i - g_au_off[g_naus - 1];
            g_au_off[g_naus++] = i;
        }
    if (g_naus > 0)
        g_au_len[g_naus - 1] = g_clip_len - g_au_off[g_naus - 1];
    return g_naus;
}

int fx_video_frames(void)
{
    return load_clip();
}

static int au_is_key(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 4 < n; i++)
        if (!memcmp(p + i, "\0\0\1", 3) && (p[i + 3] & 0x1f) == 5)
            return 1;
    return 0;
}

int fx_send_video(rawws *w, int first, int n)
{
    if (load_clip() < first + n)
        return -1;
    for (int i = first; i < first + n; i++) {
        size_t len = g_au_len[i];
        uint8_t *buf = malloc(TW_FRAME_HEADER_SIZE + len);
        tw_frame fr = {FX_CAM, au_is_key(g_clip + g_au_off[i], len) ? TW_FLAG_KEYFRAME : 0, (uint32_t)len,
                       (uint64_t)i, (int64_t)i * 33333333, g_clip + g_au_off[i]};
        size_t sz = tw_frame_encode(buf, TW_FRAME_HEADER_SIZE + len, &fr);
        int rc = rawws_send_binary(w, buf, sz);
        free(buf);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- checks ---- */
json_t *fx_h5(const char *dir)
{
    const char *py = getenv("PYTHON"), *src = getenv("TW_SOURCE_ROOT");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/recorder/h5check.py' '%s/episode.h5'", py ? py : "/usr/bin/python3",
             src ? src : ".", dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    json_error_t je;
    json_t *j = json_loadf(p, 0, &je);
    pclose(p);
    return j;
}

int fx_ffprobe_frames(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
             "stream=nb_read_frames -of csv=p=0 '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int n = -1;
    if (fscanf(p, "%d", &n) != 1)
        n = -1;
    pclose(p);
    return n;
}

long fx_h5_n(json_t *h5, const char *stream)
{
    json_t *s = json_object_get(json_object_get(h5, "streams"), stream);
    return s ? (long)json_integer_value(json_object_get(s, "n")) : -1;
}

long fx_h5_attr_i(json_t *h5, const char *stream, const char *attr)
{
    json_t *s = json_object_get(json_object_get(json_object_get(h5, "streams"), stream), "attrs");
    json_t *v = json_object_get(s, attr);
    return v ? (long)json_integer_value(v) : -1;
}

const char *fx_h5_status(json_t *h5)
{
    return json_string_value(json_object_get(json_object_get(h5, "attrs"), "status"));
}

int fx_wait_file(const char *path, int timeout_ms)
{
    struct stat sb;
    for (int t = 0; t < timeout_ms; t += 50) {
        if (stat(path, &sb) == 0)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

/* ---- cmocka glue ---- */
int fx_setup(void **state)
{
    recfx *f = calloc(1, sizeof *f);
    if (!f || recfx_init(f) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int fx_teardown(void **state)
{
    recfx *f = *state;
    recfx_cleanup(f);
    free(f);
    return 0;
}

json_t *fx_episode(const recfx *f, const char *out, const char *id)
{
    char dir[1024], h5[1100];
    snprintf(dir, sizeof dir, "%s/%s", out ? out : f->out, id);
    snprintf(h5, sizeof h5, "%s/episode.h5", dir);
    if (fx_wait_file(h5, 20000) != 0) {
        fx_sh("tail -n 40 '%s' >&2; ls -la '%s' >&2", f->log, dir);
        return NULL;
    }
    json_t *j = fx_h5(dir);
    json_t *problems = json_object_get(j, "problems");
    if (json_array_size(problems)) {
        char *p = json_dumps(problems, 0);
        fprintf(stderr, "h5 problems: %s\n", p);
        free(p);
    }
    return j;
}

int fx_inspect(const recfx *f, const char *out, const char *id)
{
    return fx_sh("'%s' inspect '%s/%s' >/dev/null", getenv("TW_BIN"), out ? out : f->out, id);
}

const char *fx_err_code(json_t *e)
{
    const char *c = json_string_value(json_object_get(e, "code"));
    return c ? c : "";
}

void fx_ms(int n)
{
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int fx_main_prelude(void)
{
    if (!getenv("TW_BIN")) {
        fprintf(stderr, "TW_BIN not set\n");
        return 77;
    }
    if (getenv("TW_TEST_FILTER"))
        cmocka_set_test_filter(getenv("TW_TEST_FILTER"));
    return 0;
}
