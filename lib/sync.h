/*
 * sync: what hv-sync does: each fetched message into every member's
 * mailbox under the team's label, exactly once, and the spool file gone
 * as soon as all of them have it.
 *
 * The index decides first (a copy row per member), so a crash and a rerun
 * never duplicate and spend no quota on what is done; a copy is recorded
 * only after Google answered 2xx.  A member whose access is gone (401,
 * invalid_grant) is left for the rest of the run, and what was done for
 * the others stays done.
 */
#ifndef HV_SYNC_H
#define HV_SYNC_H

#include "config.h"
#include "err.h"

struct hv_sync_opts {
	const char *team;
	const char *input;	/* a file of hv-fetch lines, "-" for stdin, NULL: the spool */
};

struct hv_sync_stats {
	long messages, imported, skipped, done, pending, gone, failed;
	double units;
	long calls;
	int worst;		/* the worst status met (HV_ETEMP, HV_EPERM...) */
};

struct hv_sync_io {
	int (*emit)(const char *line, void *arg);	/* a result line */
	/* For a person; progress (a count so far) only matters at a terminal. */
	void (*note)(int progress, const char *msg, void *arg);
	/*
	 * Called once, before the run touches a message: from the spool,
	 * before it is listed; from a pipe, once its first line (or its end)
	 * has come, while the members' labels are asked for meanwhile.  A
	 * status < 0 ends the run with it (the caller takes its lock here).
	 * May be NULL.
	 */
	int (*ready)(void *arg, struct hv_err *e);
	void *arg;
};

/*
 * Sync what the input names.  0 when every message reached every member
 * hv can reach (a group's members it skips are named through io->note,
 * once, and are no failure: see team.h); otherwise the worst of: HV_ETEMP
 * (rate limits, network: run again), HV_EPERM (a member's access is gone,
 * or a group team has no member to reach), HV_EDATA (a spool file that
 * does not authenticate).
 */
int hv_sync_run(const struct hv_config *c, const struct hv_sync_opts *o,
    const struct hv_sync_io *io, struct hv_sync_stats *st, struct hv_err *e);

#endif
