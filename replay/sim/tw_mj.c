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

#include "tw_sim.h"

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
