/*
 * purge: what hv-purge does: destroy expired epoch keys and spool files,
 * measure the spool's residency, erase an account.
 *
 * The spool keeps its promise in layers (spool.h, epoch.h): hv-sync
 * removes each file once every member has it; each epoch's key dies at
 * the epoch's start + ttl, by the kernel's own timeout when it is in the
 * keyring; hv_purge_run destroys what is due; the spool refuses disks.
 * Each destruction appends an audit event naming the epoch and how many
 * files, never what they held.
 */
#ifndef HV_PURGE_H
#define HV_PURGE_H

#include <stddef.h>

#include "config.h"
#include "err.h"

/* How long purge records are kept for stats (seconds). */
#define HV_PURGE_RECORDS_KEEP (7 * 86400)

enum hv_purge_note {
	HV_PURGE_FOREIGN,	/* a file that is not hv's: left alone */
	HV_PURGE_UNSAFE_KEY,	/* a key file others could read: destroyed */
	HV_PURGE_WOULD,		/* --dry-run: what would be destroyed */
};

struct hv_purge_opts {
	long ttl;		/* 0: the configured [spool] ttl */
	int dry_run;		/* destroy nothing, say what would go */
	long long now;		/* the clock: hv_now() or a test's */
	/* Told about each foreign file, unsafe key and, in a dry run, each
	 * key and file that would go; may be NULL.  path is the file's (NULL
	 * for a key that would be destroyed), epoch its epoch (-1 when it has
	 * none). */
	void (*note)(enum hv_purge_note kind, long long epoch, const char *path, void *arg);
	void *arg;
};

struct hv_purge_report {
	size_t keys;		/* epoch keys destroyed */
	size_t expired;		/* spool files past the ttl, removed */
	size_t done;		/* files of messages the index marks done, removed */
	size_t temp;		/* temporary files left by a crash, removed */
	size_t foreign;		/* entries that are not hv's, left alone */
	size_t kept;		/* spool files still there */
	long long bytes;	/* bytes removed */
	long long oldest;	/* age of the oldest file kept, -1 when none */
	int on_disk;		/* the spool is on persistent storage (allow_disk) */
	int dry_run;
};

/*
 * Purge the spool of c: first every epoch key past its deadline (and any
 * key file others could read), then every spool file past the ttl or
 * whose message the index marks done, and temporary files older than the
 * ttl.  The ages of removed files go to the store's purge records (when
 * the state database exists).  Audit events: epoch.destroy for each key,
 * spool.purge for each epoch's files (epoch, files, reason), spool.disk
 * when the spool is on persistent storage; none in a dry run.  A file
 * that vanishes meanwhile (hv-sync removing it) is not an error.
 */
int hv_purge_run(const struct hv_config *c, const struct hv_purge_opts *o,
    struct hv_purge_report *rep, struct hv_err *e);

/* Residency of a set of files: ages in seconds. */
struct hv_purge_stat {
	size_t count;
	long long bytes;	/* -1 when unknown (purge records keep no sizes) */
	long long p50, p99, max;	/* -1 when count is 0 */
};

/*
 * The spool now (files and their ages at now) and the files purged in the
 * hour before now (from the purge records).  Percentiles are nearest-rank:
 * the smallest age at least p% of the ages are not above.
 */
int hv_purge_stats(const struct hv_config *c, long long now, struct hv_purge_stat *spool,
    struct hv_purge_stat *purged, struct hv_err *e);

/* Nearest-rank percentiles of n ages sorted ascending, into st. */
void hv_purge_stat_of(struct hv_purge_stat *st, const long long *sorted, size_t n);

struct hv_erase_report {
	long long rows;		/* index and account rows erased */
	size_t spool_files;	/* spool files of teams the account is the source of */
	char account_hmac[33];	/* how the audit event names the account */
};

/*
 * GDPR erasure of account: every row of the state database that names it,
 * in one transaction with secure_delete, the write-ahead log emptied, and
 * the spool files of the teams it is the source of.  Needs the master key
 * (HV_EPERM, nothing erased, when it cannot be had): the account.erase
 * event names the account only by its HMAC under the store's audit key
 * (the key that names Message-IDs in the pipeline's events), with the
 * number of rows; the caller shows it to whoever asked for the erasure.
 * HV_EUSAGE when account is not an email address.  HV_ENO, with e saying
 * so and rep filled, when hv held nothing of the account (a typo, or an
 * erasure done before); the request is on the record all the same.
 */
int hv_purge_erase(const struct hv_config *c, const char *account,
    struct hv_erase_report *rep, struct hv_err *e);

#endif
