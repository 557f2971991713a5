/*
 * fetch: what hv-fetch does: new mail of a team's shared mailbox, sealed
 * into the spool, one JSON line each.
 *
 * Incremental through history.list from the stored cursor; a full listing
 * the first time, with --full, or when the history has expired (Google's
 * 404), skipping what the index already holds so a resync copies nothing
 * twice.  The cursor moves only after every spool file of the run is
 * durable, so a crash re-fetches and never skips.  Messages the index
 * still waits on are named again: by a line of their spool file when it
 * is there, fetched anew when it is gone (its epoch key expired, or it
 * was purged).
 */
#ifndef HV_FETCH_H
#define HV_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "seal.h"
#include "store.h"

struct hv_fetch_opts {
	const char *team;
	int full;		/* list everything, whatever the cursor */
	long max;		/* at most this many messages (0: no bound) */
	const char *query;	/* Gmail search, instead of the team's */
	const char *label;	/* only messages with this label id */
};

struct hv_fetch_stats {
	long listed, fetched, skipped, refetched, again, failed;
	long conflicts;		/* of skipped: another message's Message-ID */
	double units;
	long calls;
	int full;		/* a full listing was made */
	int cut;		/* --max stopped the run early */
};

struct hv_fetch_io {
	/* One JSON line (no newline) for stdout; non-zero stops the run. */
	int (*emit)(const char *line, void *arg);
	/* Something a person should know ("no Message-ID", progress). */
	void (*note)(int progress, const char *msg, void *arg);
	void *arg;
};

/*
 * A subject sealed, or opened, under the team's subjects key with its
 * message bound in (hv_index_subject_ctx): a sealed subject moved to
 * another message's row fails to open there (HV_EDATA).
 */
int hv_fetch_subject_seal(const struct hv_seal_key *k, const char *team, const uint8_t *mid,
    const char *subject, size_t len, struct hv_buf *out, struct hv_err *e);
int hv_fetch_subject_open(const struct hv_seal_key *k, const char *team, const uint8_t *mid,
    const void *sealed, size_t len, struct hv_buf *out, struct hv_err *e);

/*
 * Seal again, with their message bound in, the subjects of team that were
 * sealed under the team alone (before schema 6), in one transaction; *n
 * says how many rows it saw, *dropped how many of them did not open under
 * the team either (damaged) and lost their subject.  hv_fetch_run does it
 * first.  Old rows swapped before this ran stay swapped: nothing in them
 * tells.
 */
int hv_fetch_subjects_rebind(struct hv_store *s, const struct hv_seal_key *k, const char *team,
    size_t *n, size_t *dropped, struct hv_err *e);

/*
 * Run one fetch.  0 when the run finished; HV_ETEMP when it was cut short
 * by rate limits or the network (what was spooled stays spooled: the next
 * run resumes); HV_EPERM when the account's access is gone.
 */
int hv_fetch_run(const struct hv_config *c, const struct hv_fetch_opts *o,
    const struct hv_fetch_io *io, struct hv_fetch_stats *st, struct hv_err *e);

#endif
