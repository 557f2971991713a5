/*
 * lock: one run per team and role.
 *
 * hv-fetch, hv-sync and hv-sync labels each hold an exclusive lock on a
 * file of their team and role,
 *
 *	<state dir>/locks/<team>.<role>.lock	(mode 0600, directory 0700)
 *
 * where <state dir> is the directory of [paths] state and <team> is the
 * team's name with every byte outside [A-Za-z0-9_-] written as %XX, so
 * any name is one safe file name and two names never share a file.
 *
 * The roles are separate because cron's `hv-fetch -t T | hv-sync -t T`
 * starts both halves together: one lock per team would make a pipeline
 * fight itself.  Two hv-fetch of a team exclude each other, two hv-sync
 * likewise; the halves of one pipeline hold different locks, and
 * different teams never meet.
 *
 * Locks are flock(2): they die with the process, so a crash never leaves
 * one behind, and they are never inherited by a program hv runs (the
 * descriptor is close-on-exec).  The holder writes "pid N since
 * YYYY-MM-DDTHH:MM:SSZ" and a newline into the file, only so that a run
 * that finds the lock taken can name it; the flock is the truth.
 */
#ifndef HV_LOCK_H
#define HV_LOCK_H

#include "config.h"
#include "err.h"

enum hv_lock_role {
	HV_LOCK_FETCH,		/* hv-fetch */
	HV_LOCK_SYNC,		/* hv-sync with or without input */
	HV_LOCK_LABELS,		/* hv-sync labels and hv-sync set */
};

/* The longest wait hv_lock_parse_wait() accepts: a day. */
#define HV_LOCK_WAIT_MAX 86400L

struct hv_team_lock;

/*
 * Take the lock of team and role, trying every 100 ms for up to wait
 * seconds (0: one try).  On success *out holds it until
 * hv_team_unlock(), and the file names this process as the holder.
 *
 * HV_ETEMP when another process still holds it after the wait, with a
 * message for the user naming the holder,
 *	team 'support' is being synced by pid 4242 since
 *	2026-12-02T06:10:03Z; try again later or wait with -w
 * ("another process" when the file does not name a live one: it is being
 * written, or its writer is gone).  HV_ECONFIG when the configuration
 * has no such team, or its name is too long for a file name;
 * HV_ECANTCREAT when the lock directory or file cannot be made (or the
 * file is not a regular file); HV_EIO when flock(2) fails otherwise.
 * *out is NULL on every failure.  Blocks up to wait seconds.
 */
int hv_team_lock(const struct hv_config *c, const char *team, enum hv_lock_role role,
    long wait, struct hv_team_lock **out, struct hv_err *e);

/* Empty the holder line and release the lock; NULL is fine. */
void hv_team_unlock(struct hv_team_lock *l);

/*
 * Parse the argument of -w: seconds, or a duration as in hv.conf(5)
 * ("90", "90s", "2m"), from 0 to HV_LOCK_WAIT_MAX.  0 or HV_EUSAGE, with
 * a message naming the value.
 */
int hv_lock_parse_wait(const char *s, long *out, struct hv_err *e);

#endif
