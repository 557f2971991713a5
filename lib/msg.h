/*
 * msg: the process prologue and the one grammar of human messages.
 *
 * Only commands print; these are the calls they print with.  Every line goes
 * to stderr as "hv-x: what failed: why", lowercase, no full stop.
 */
#ifndef HV_MSG_H
#define HV_MSG_H

#include "err.h"

extern const char *hv_progname;
extern int hv_verbosity;	/* 0 normal, <0 with -q, >0 with -v */

/*
 * The prologue every tool runs first: remembers the program name, makes
 * sure fds 0-2 are open (so a later open() cannot become stdout), restores
 * SIGPIPE, sets umask 077, turns core dumps off and marks the process
 * undumpable so no secret reaches a core file or ptrace.
 */
void hv_init(const char *argv0);

/* "prog: message" on stderr. */
void hv_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As hv_warnx, only when hv_verbosity >= level. */
void hv_info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Progress of long work (a full sync, a backup, a verify): one line on
 * stderr, "prog: msg", rewritten in place, only when stderr is a terminal
 * and hv_verbosity >= 0; otherwise nothing, so logs and cron mail get no
 * extra lines.  Redrawn at most ten times a second.  hv_warnx() and
 * hv_info() clear the line first, as hv_progress_end() does before a
 * summary or a result on a terminal.
 */
void hv_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hv_progress_end(void);

/* Print e->msg as "prog: msg" and return the exit code for status. */
int hv_report(int status, const struct hv_err *e);

/*
 * Flush and check stdout: a failed write is a failure (exit 74), a closed
 * pipe ends quietly.  Returns the exit status to use given the one so far.
 */
int hv_stdout_close(int status);

#endif
