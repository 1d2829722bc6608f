/* tw record: parse flags, load or create the token, run the recorder until SIGINT/SIGTERM. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_cli.h"
#include "tw_recorder.h"
#include "record_from.h" /* tw record --from: a ROS 2 robot through its Foxglove bridge */

static tw_recorder *g_rec;

static void on_signal(int sig)
{
    (void)sig;
    if (g_rec)
        tw_recorder_stop(g_rec);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tw record --from ws://HOST:PORT --out DIR ...   (a ROS 2 robot: tw record --from --help)\n"
        "       tw record --out DIR [--listen HOST:PORT] [--token-file F] [--cert C --key K]\n"
        "                 [--flush-ms MS] [--queue-mb MB] [--policy backpressure|drop-newest]\n"
        "                 [--status-ms MS] [--max-sessions N] [--compress LEVEL] [--ping-timeout S] [--quiet]\n\n"
        "Records teleop sessions (websocket subprotocol teleworld.v1, schemas/protocol.md) from any\n"
        "number of rigs into episodes DIR/<UTC time>-<rig>-<n>/ (schemas/episode.md).\n\n"
        "  --listen HOST:PORT  bind address (default 127.0.0.1:8765, loopback only; name another\n"
        "                      address, e.g. 0.0.0.0:8765, to accept remote rigs; port 0 = any free)\n"
        "  --out DIR           episode root; episodes left \"recording\" by a crash are recovered at start\n"
        "  --token-file F      shared token clients must present (Authorization: Bearer T, or ?token=T);\n"
        "                      default DIR/.token, generated (mode 0600) and printed on first start\n"
        "  --cert C --key K    PEM certificate and key: serve wss:// and https://\n"
        "  --flush-ms MS       make written data durable this often (default 1000): at most this much\n"
        "                      is lost when the machine or the recorder dies\n"
        "  --queue-mb MB       memory cap for received data waiting for the disk (default 256); below\n"
        "                      17 it also lowers the largest binary message accepted (welcome.max_binary)\n"
        "  --policy P          when that queue is full: backpressure (default; stop reading the\n"
        "                      sender's socket until it drains) or drop-newest (drop and count)\n"
        "  --status-ms MS      status message / status line period (default 1000)\n"
        "  --max-sessions N    concurrent sessions (default 32)\n"
        "  --compress LEVEL    gzip level for signal datasets, 0-9 (default 1)\n"
        "  --ping-timeout S    drop a session that answers no ping for S seconds and close its open\n"
        "                      episode \"interrupted\" (default 15; 0 = never)\n"
        "  --quiet             no status line or log output\n\n"
        "Environment: SOURCE_DATE_EPOCH=T (Unix seconds) puts that UTC time in every episode id instead of\n"
        "the episode's start, so a replayed session (tw rig --seed) gets the same ids and so the same\n"
        "tw fuse split; the recorded timestamps stay real.\n"
        "GET /status on the same port (token required, same two ways) returns the live state as JSON.\n"
        "SIGINT/SIGTERM: stop accepting, write everything queued, close open episodes as\n"
        "\"interrupted\", exit 0 (a message still waiting for queue room after 10 s is dropped and counted).\n");
}

static int parse_listen(const char *arg, char *host, size_t hostsz, int *port)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= hostsz)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535 || end == colon + 1)
        return -1;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = 0;
    if (host[0] == '[') { /* [::1]:8765 */
        memmove(host, host + 1, strlen(host));
        char *rb = strchr(host, ']');
        if (rb)
            *rb = 0;
    }
    *port = (int)p;
    return 0;
}

static int parse_uint(const char *flag, const char *arg, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi) {
        fprintf(stderr, "tw record: %s expects an integer in [%lu, %lu], got '%s'\n", flag, lo, hi, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int tw_cmd_record(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, 0, 'l'}, {"out", required_argument, 0, 'o'},
        {"token-file", required_argument, 0, 't'}, {"cert", required_argument, 0, 'c'},
        {"key", required_argument, 0, 'k'}, {"flush-ms", required_argument, 0, 'f'},
        {"queue-mb", required_argument, 0, 'q'}, {"policy", required_argument, 0, 'p'},
        {"status-ms", required_argument, 0, 's'}, {"max-sessions", required_argument, 0, 'm'},
        {"compress", required_argument, 0, 'z'}, {"quiet", no_argument, 0, 'Q'},
        {"ping-timeout", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    for (int i = 1; i < argc; i++) /* --from: recording a foxglove.websocket.v1 server (record_from/) */
        if (!strcmp(argv[i], "--from") || !strncmp(argv[i], "--from=", 7))
            return tw_cmd_record_from(argc, argv);
    tw_recorder_opts o;
    tw_recorder_opts_init(&o);
    char host[256] = "127.0.0.1", tok[128];
    const char *token_file = NULL;
    int quiet = 0, c;
    unsigned long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (parse_listen(optarg, host, sizeof host, &o.port) < 0) {
                fprintf(stderr, "tw record: --listen expects HOST:PORT, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'o': o.out_dir = optarg; break;
        case 't': token_file = optarg; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case 'f': if (parse_uint("--flush-ms", optarg, 1, 3600000, &v)) return 2; o.flush_ms = v; break;
        case 'q': if (parse_uint("--queue-mb", optarg, 1, 1 << 20, &v)) return 2; o.queue_bytes = v << 20; break;
        case 's': if (parse_uint("--status-ms", optarg, 10, 3600000, &v)) return 2; o.status_ms = v; break;
        case 'm': if (parse_uint("--max-sessions", optarg, 1, 1024, &v)) return 2; o.max_sessions = v; break;
        case 'z': if (parse_uint("--compress", optarg, 0, 9, &v)) return 2; o.compression = (int)v; break;
        case 'p':
            if (!strcmp(optarg, "backpressure"))
                o.policy = TW_POLICY_BACKPRESSURE;
            else if (!strcmp(optarg, "drop-newest"))
                o.policy = TW_POLICY_DROP_NEWEST;
            else {
                fprintf(stderr, "tw record: --policy expects backpressure or drop-newest, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'P': if (parse_uint("--ping-timeout", optarg, 0, 86400, &v)) return 2; o.ping_timeout_ms = (uint32_t)(v * 1000); break;
        case 'Q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !o.out_dir) {
        fprintf(stderr, optind < argc ? "tw record: unexpected argument '%s'\n" : "tw record: --out DIR is required\n",
                optind < argc ? argv[optind] : "");
        usage(stderr);
        return 2;
    }
    if ((o.cert == NULL) != (o.key == NULL)) {
        fprintf(stderr, "tw record: --cert and --key go together\n");
        return 2;
    }
    const char *sde = getenv("SOURCE_DATE_EPOCH"); /* reproducible-builds convention: reproducible ids */
    unsigned long id_time;
    if (sde && *sde) {
        if (parse_uint("SOURCE_DATE_EPOCH", sde, 1, 253402300799ul /* 9999-12-31 */, &id_time))
            return 2;
        o.id_time_s = (int64_t)id_time;
    }
    char msg[512];
    int created = 0, rc;
    if (token_file)
        rc = tw_recorder_token_load(token_file, tok, sizeof tok, msg, sizeof msg);
    else
        rc = tw_recorder_token_ensure(o.out_dir, tok, sizeof tok, &created, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "tw record: %s\n", msg);
        return 1;
    }
    o.host = host;
    o.token = tok;
    o.log = quiet ? NULL : stderr;
    o.log_tty = isatty(STDERR_FILENO);
    rc = tw_recorder_open(&o, &g_rec, msg, sizeof msg);
    if (rc < 0) {
        if (created) { /* nobody could have used it: the next start makes and shows a fresh one */
            char tp[PATH_MAX + 16];
            snprintf(tp, sizeof tp, "%s/.token", o.out_dir);
            unlink(tp);
        }
        fprintf(stderr, "tw record: %s\n", msg);
        return 1;
    }
    if (created) /* only once the port is ours: a failed start shows no token */
        fprintf(stderr, "tw record: new token written to %s/.token (shown once): %s\n", o.out_dir, tok);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = tw_recorder_run(g_rec, msg, sizeof msg);
    tw_recorder_close(g_rec);
    g_rec = NULL;
    if (rc < 0) {
        fprintf(stderr, "tw record: %s\n", msg);
        return 1;
    }
    return 0;
}
