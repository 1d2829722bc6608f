/* The real Franka Panda log of ../shared/realdata (Gaz et al. 2019: t, q1..7, dq1..7, tau1..7 at about
 * 1 kHz) written into an episode as a recorder would: one joint_state stream [3, 7] (positions,
 * velocities, efforts), source times from the log's t.  Shared by the recon and sysid tests and the
 * sysid benchmark (tw_panda_episode). */
#ifndef PANDA_CSV_H
#define PANDA_CSV_H
#include <stddef.h>
int panda_csv_episode(const char *csv, const char *dir, char *msg, size_t msgsz);
/* The same with joint `freeze` (0-based; -1 none) held still at its first position (velocity 0: a joint
 * that does not move) and only the samples with t < t_max (0: all). */
int panda_csv_episode_ex(const char *csv, const char *dir, int freeze, double t_max, char *msg, size_t msgsz);
#endif
