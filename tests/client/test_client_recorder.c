/* The client library against the real recorder (`tw record`, TW_BIN): an episode of
 * every signal kind lands on disk complete and readable; a recorder killed mid-episode
 * and restarted gets the buffered samples with their seq numbers in a resumed episode
 * that names the one it continues. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "client_fixtures.h"
#include "tw_client.h"
#include "tw_episode.h"

#define TOKEN "client-test-token-1234"

typedef struct {
    char dir[256], out[300], tok[300], url[64];
    int port;
    pid_t rec;
    tw_client *c;
} fixture;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void start_recorder(fixture *f)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f->port);
    f->rec = fork();
    assert_true(f->rec >= 0);
    if (f->rec == 0) {
        execl(getenv("TW_BIN"), "tw", "record", "--listen", listen, "--out", f->out, "--token-file", f->tok,
              "--status-ms", "100", "--flush-ms", "100", "--quiet", (char *)NULL);
        _exit(127);
    }
}

static void stop_recorder(fixture *f, int sig)
{
    int status = 0;
    if (f->rec <= 0)
        return;
    kill(f->rec, sig);
    waitpid(f->rec, &status, 0);
    f->rec = 0;
    if (sig == SIGTERM)
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int setup(void **state)
{
    if (!getenv("TW_BIN"))
        return -1;
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tw-client-rec-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    snprintf(f->tok, sizeof f->tok, "%s/token", f->dir);
    FILE *t = fopen(f->tok, "w");
    if (!t)
        return -1;
    fputs(TOKEN, t);
    fclose(t);
    f->port = free_port();
    snprintf(f->url, sizeof f->url, "ws://127.0.0.1:%d/", f->port);
    start_recorder(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[400];
    tw_client_close(f->c);
    stop_recorder(f, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Connects (the recorder may still be starting: the client's retries cover that). */
static void connect_client(fixture *f)
{
    char msg[256];
    tw_client_opts o;
    tw_client_opts_init(&o);
    o.url = f->url;
    o.token = TOKEN;
    o.backoff_min_ms = 50;
    o.backoff_max_ms = 200;
    o.max_retries = 100;
    tw_stream_decl d[N_DECLS];
    fx_decls(d); /* the video stream is left out: its payloads here are not real H.264 */
    assert_int_equal(tw_client_open(&o, &f->c, msg, sizeof msg), 0);
    assert_int_equal(tw_client_declare(f->c, d, N_DECLS - 1, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ready(f->c, 20000, msg, sizeof msg), 0);
}

static void send_range(tw_client *c, int from, int to)
{
    double q[21], w[6] = {0, 0, -4.9, 0, 0, 0};
    for (int i = from; i < to; i++) {
        for (int j = 0; j < 21; j++)
            q[j] = i + 0.01 * j;
        int64_t t = 1000000000LL + (int64_t)i * 2000000;
        assert_int_equal(tw_client_send(c, ID_JOINTS, t, 0, q, sizeof q), 0);
        assert_int_equal(tw_client_send(c, ID_WRENCH, t, 0, w, sizeof w), 0);
    }
}

static tw_episode *open_episode(fixture *f, const char *id)
{
    char path[600], msg[256];
    tw_episode *e = NULL;
    snprintf(path, sizeof path, "%s/%s", f->out, id);
    int rc = tw_episode_open(path, &e, msg, sizeof msg);
    if (rc)
        print_message("open %s: %s\n", path, msg);
    assert_int_equal(rc, 0);
    return e;
}

/* seq of the first and last joint sample in an episode, and how many there are. */
static uint64_t joint_seq_range(tw_episode *e, uint64_t *first, uint64_t *last)
{
    char msg[256];
    int i = tw_episode_find_stream(e, "arm");
    assert_true(i >= 0);
    uint64_t n = tw_episode_nsamples(e, (size_t)i);
    assert_true(n > 0);
    assert_int_equal(tw_episode_read(e, (size_t)i, 0, 1, NULL, NULL, first, NULL, msg, sizeof msg), 0);
    assert_int_equal(tw_episode_read(e, (size_t)i, n - 1, 1, NULL, NULL, last, NULL, msg, sizeof msg), 0);
    return n;
}

static void test_client_records_an_episode_with_the_recorder(void **state)
{
    fixture *f = *state;
    char msg[256], id[TW_MAX_NAME];
    connect_client(f);
    assert_int_equal(tw_client_episode_start(f->c, "stack blocks", "carol", "arm7", "{\"site\":\"lab\"}", msg,
                                             sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_start", 10000, id, sizeof id, msg, sizeof msg), 0);
    send_range(f->c, 0, 1000);
    float a[7] = {0};
    for (int i = 0; i < 200; i++)
        assert_int_equal(tw_client_send(f->c, ID_ACTION, 1000000000LL + i * 10000000LL, 0, a, sizeof a), 0);
    const char *ev = "{\"kind\":\"grasp\",\"label\":\"cube\"}";
    assert_int_equal(tw_client_send(f->c, ID_EVENT, 1500000000LL, 0, ev, strlen(ev)), 0);
    assert_int_equal(tw_client_annotate(f->c, 1600000000LL, "wobble", NULL, msg, sizeof msg), 0);
    assert_int_equal(tw_client_episode_stop(f->c, 1, msg, sizeof msg), 0);
    assert_int_equal(tw_client_flush(f->c, 10000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_stop", 10000, NULL, 0, msg, sizeof msg), 0);
    tw_client_close(f->c);
    f->c = NULL;
    stop_recorder(f, SIGTERM);

    tw_episode *e = open_episode(f, id);
    const tw_episode_meta *m = tw_episode_get_meta(e);
    assert_string_equal(m->status, TW_EP_COMPLETE);
    assert_string_equal(m->task, "stack blocks");
    assert_int_equal(m->success, 1);
    uint64_t first, last;
    assert_int_equal(joint_seq_range(e, &first, &last), 1000);
    assert_int_equal(first, 0);
    assert_int_equal(last, 999);
    assert_int_equal(tw_episode_nsamples(e, (size_t)tw_episode_find_stream(e, "wrist_ft")), 1000);
    assert_int_equal(tw_episode_nsamples(e, (size_t)tw_episode_find_stream(e, "cmd")), 200);
    assert_int_equal(tw_episode_nsamples(e, (size_t)tw_episode_find_stream(e, "events")), 1);
    tw_episode_close_reader(e);
}

static void test_client_resumes_after_recorder_crash(void **state)
{
    fixture *f = *state;
    char msg[256], id1[TW_MAX_NAME];
    connect_client(f);
    assert_int_equal(tw_client_episode_start(f->c, "crashy", "dave", "arm7", NULL, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_start", 10000, id1, sizeof id1, msg, sizeof msg), 0);
    send_range(f->c, 0, 500);
    assert_int_equal(tw_client_flush(f->c, 10000, msg, sizeof msg), 0);
    tw_client_stats st; /* the recorder's own status says it has them all */
    assert_true(FX_WAIT_FOR((tw_client_stats_get(f->c, &st),
                             st.have_status && st.last_status.u.status.nstreams > 0 &&
                                 st.last_status.u.status.streams[0].received >= 500), 10000));
    fx_sleep_ms(300); /* past the recorder's 100 ms flush interval */
    stop_recorder(f, SIGKILL);
    assert_true(FX_WAIT_FOR(tw_client_get_state(f->c) != TW_CLIENT_READY, 5000));
    send_range(f->c, 500, 1000); /* buffered while the recorder is down */
    start_recorder(f);           /* recovers the crashed episode, then accepts the rig again */
    assert_int_equal(tw_client_wait_ready(f->c, 20000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_episode_stop(f->c, 1, msg, sizeof msg), 0);
    assert_int_equal(tw_client_flush(f->c, 10000, msg, sizeof msg), 0);
    assert_int_equal(tw_client_wait_ack(f->c, "episode_stop", 10000, NULL, 0, msg, sizeof msg), 0);
    tw_client_stats_get(f->c, &st);
    char id2[TW_MAX_NAME];
    snprintf(id2, sizeof id2, "%s", st.episode_id);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.dropped, 0);
    tw_client_close(f->c);
    f->c = NULL;
    stop_recorder(f, SIGTERM);

    assert_string_not_equal(id1, id2);
    uint64_t first, last;
    tw_episode *e1 = open_episode(f, id1); /* the crashed one, recovered */
    assert_string_equal(tw_episode_get_meta(e1)->status, TW_EP_INTERRUPTED);
    assert_int_equal(joint_seq_range(e1, &first, &last), 500);
    assert_int_equal(first, 0);
    assert_int_equal(last, 499);
    tw_episode_close_reader(e1);
    tw_episode *e2 = open_episode(f, id2); /* the continuation */
    assert_string_equal(tw_episode_get_meta(e2)->status, TW_EP_COMPLETE);
    assert_int_equal(joint_seq_range(e2, &first, &last), 500);
    assert_int_equal(first, 500);
    assert_int_equal(last, 999);
    const char *meta = tw_episode_get_json(e2, "metadata");
    assert_non_null(meta);
    json_t *j = json_loads(meta, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "resumed_from")), id1);
    json_decref(j);
    tw_episode_close_reader(e2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_records_an_episode_with_the_recorder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_resumes_after_recorder_crash, setup, teardown),
    };
    lws_set_log_level(LLL_ERR, NULL);
    return cmocka_run_group_tests_name("client_recorder", tests, NULL, NULL);
}
