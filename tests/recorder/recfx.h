/* Fixture for the recorder integration tests: a real `tw record` process on a free
 * loopback port with its own temporary output directory and token, raw websocket
 * sessions speaking teleworld.v1, and independent checks of what landed on disk. */
#ifndef TW_RECFX_H
#define TW_RECFX_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "rawws.h"
#include "tw_wire.h"

/* Stream ids of the standard hello: 7-joint arm, wrist F/T, H.264 camera. */
#define FX_ARM 1
#define FX_FT 2
#define FX_CAM 3
#define FX_ARM_BYTES (3 * 7 * 8)
#define FX_FT_BYTES (6 * 8)

typedef struct {
    char root[256], out[300], token_file[300], log[300];
    char token[64];
    int port;
    pid_t pid;
} recfx;

int recfx_init(recfx *f);         /* temp dir + token; 0 ok */
/* Starts `tw record` with extra flags (may be ""); out_dir NULL = f->out. Waits for the port. */
int recfx_start(recfx *f, const char *out_dir, const char *extra);
int recfx_stop(recfx *f, int sig); /* signal, wait; returns exit status, or 128+signal */
void recfx_cleanup(recfx *f);      /* stops if running, removes the temp dir */

/* The standard streams: arm (joint_state f64 [3,7]), wrist_ft (wrench f64 [6]), cam (H.264). */
void fx_std_decls(tw_stream_decl d[3]);
/* Connects with the bearer token, sends the standard hello, waits for welcome. */
int fx_session(rawws *w, const recfx *f, const char *rig);
/* Sends a JSON control message built from a tw_msg type name and fields (jansson pack). */
int fx_send_json(rawws *w, json_t *obj); /* steals obj */
/* Starts an episode, returns its id in id (from the ack). */
int fx_start(rawws *w, const char *task, char *id, size_t idsz);
int fx_stop(rawws *w);
/* Sends n frames of the arm (or F/T) stream, per_msg frames per websocket message,
 * seq seq0.., t_src = seq * 1 ms. */
int fx_send_arm(rawws *w, uint16_t id, uint64_t seq0, int n, int per_msg);
/* Sends H.264 access units from the test clip: n frames starting at index first. */
int fx_send_video(rawws *w, int first, int n);
int fx_video_frames(void); /* access units in the test clip (generates it once) */

/* Independent view of an episode (h5py): see h5check.py. NULL on failure. */
json_t *fx_h5(const char *episode_dir);
/* Count of frames ffprobe decodes from a file; -1 on failure. */
int fx_ffprobe_frames(const char *path);
/* Runs a shell command; returns its exit status. */
int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Samples of a stream in an h5 summary (-1 if absent), and a root attribute string. */
long fx_h5_n(json_t *h5, const char *stream);
long fx_h5_attr_i(json_t *h5, const char *stream, const char *attr);
const char *fx_h5_status(json_t *h5);
/* Waits for the episode's episode.h5 to appear (closed); 0 ok. */
int fx_wait_file(const char *path, int timeout_ms);

/* cmocka fixture: a fresh recfx per test, cleaned up after. */
int fx_setup(void **state);
int fx_teardown(void **state);
/* Waits for out/<id>/episode.h5 (out NULL = f->out) and reads it with h5py; NULL (and the
 * recorder log on stderr) when it does not appear. */
json_t *fx_episode(const recfx *f, const char *out, const char *id);
int fx_inspect(const recfx *f, const char *out, const char *id); /* `tw inspect` exit status */
const char *fx_err_code(json_t *error_msg);
void fx_ms(int n);
/* Start of an integration test's main: 77 (meson's skip) when TW_BIN is unset, else 0; applies
 * TW_TEST_FILTER (e.g. '*kill9*') as the cmocka test filter. */
int fx_main_prelude(void);

#endif
