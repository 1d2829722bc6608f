/* MuJoCo error handling and the project's PRNG.
 *
 * MuJoCo 2.2.2 calls mju_user_error() for fatal errors and expects it not to return.  Our handler
 * records the text in a thread-local buffer and longjmps to the innermost guard set by the tw_mj_*
 * wrappers below; with no guard active it prints the text to stderr and aborts (MuJoCo's own
 * behaviour is exit(1)), because continuing after a MuJoCo error is undefined.  Warnings are only
 * recorded and counted (numerical faults must not stop a rollout; callers check tw_mj_warning_count). */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "tw_physics.h"

static _Thread_local char tw_mj_err[1024];
static _Thread_local long tw_mj_nwarn;
static _Thread_local jmp_buf *tw_mj_jmp;

static void tw_mj_on_error(const char *text)
{
    snprintf(tw_mj_err, sizeof tw_mj_err, "%s", text ? text : "unknown MuJoCo error");
    if (tw_mj_jmp)
        longjmp(*tw_mj_jmp, 1);
    fprintf(stderr, "teleworld: fatal MuJoCo error outside a guard: %s\n", tw_mj_err);
    abort();
}

static void tw_mj_on_warning(const char *text)
{
    snprintf(tw_mj_err, sizeof tw_mj_err, "%s", text ? text : "unknown MuJoCo warning");
    tw_mj_nwarn++;
}

static pthread_once_t tw_mj_once = PTHREAD_ONCE_INIT;
static void tw_mj_install(void)
{
    mju_user_error = tw_mj_on_error;
    mju_user_warning = tw_mj_on_warning;
}

void tw_mj_init(void) { pthread_once(&tw_mj_once, tw_mj_install); }
const char *tw_mj_last_error(void) { return tw_mj_err; }
long tw_mj_warning_count(void) { return tw_mj_nwarn; }

mjModel *tw_mj_load_xml(const char *path, const mjVFS *vfs, char *msg, size_t msgsz)
{
    char err[1100] = "";
    jmp_buf jb, *saved = tw_mj_jmp;
    mjModel *volatile m = NULL;
    tw_mj_init();
    if (setjmp(jb) == 0) {
        tw_mj_jmp = &jb;
        m = mj_loadXML(path, vfs, err, sizeof err);
    } else {
        snprintf(err, sizeof err, "%s", tw_mj_err);
        m = NULL;
    }
    tw_mj_jmp = saved;
    if (!m)
        tw_errf(msg, msgsz, TW_EMUJOCO, "loading %s: %s", path, err[0] ? err : "unknown error");
    return m;
}

mjData *tw_mj_make_data(const mjModel *m, char *msg, size_t msgsz)
{
    jmp_buf jb, *saved = tw_mj_jmp;
    mjData *volatile d = NULL;
    tw_mj_init();
    if (setjmp(jb) == 0) {
        tw_mj_jmp = &jb;
        d = mj_makeData(m);
    }
    tw_mj_jmp = saved;
    if (!d)
        tw_errf(msg, msgsz, TW_EMUJOCO, "mj_makeData: %s", tw_mj_err[0] ? tw_mj_err : "out of memory");
    return d;
}

mjModel *tw_mj_copy_model(const mjModel *m, char *msg, size_t msgsz)
{
    jmp_buf jb, *saved = tw_mj_jmp;
    mjModel *volatile c = NULL;
    tw_mj_init();
    if (setjmp(jb) == 0) {
        tw_mj_jmp = &jb;
        c = mj_copyModel(NULL, m);
    }
    tw_mj_jmp = saved;
    if (!c)
        tw_errf(msg, msgsz, TW_EMUJOCO, "mj_copyModel: %s", tw_mj_err[0] ? tw_mj_err : "out of memory");
    return c;
}

/* ---- xoshiro256** seeded by splitmix64: same sequence on every platform and libc ---- */

static uint64_t tw_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tw_rng_seed(tw_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = tw_splitmix(&x);
}

void tw_rng_seed2(tw_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = stream * 0xd1b54a32d192ed03ULL;
    tw_rng_seed(r, seed ^ tw_splitmix(&x));
}

static uint64_t tw_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tw_rng_u64(tw_rng *r)
{
    uint64_t *s = r->s, res = tw_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = tw_rotl(s[3], 45);
    return res;
}

double tw_rng_uniform(tw_rng *r) { return (double)(tw_rng_u64(r) >> 11) * 0x1.0p-53; }

double tw_rng_normal(tw_rng *r)
{
    double u1 = 1.0 - tw_rng_uniform(r), u2 = tw_rng_uniform(r); /* u1 in (0,1]: log is finite */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
