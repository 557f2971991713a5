/*
 * spool: raw mail in transit, sealed, on tmpfs, readable for minutes only.
 *
 * A spool file holds one raw message sealed (hv-seal(5)) under the key of
 * its epoch (floor(time / epoch seconds)) with the context
 * "spool:<account>:<gmail id>".  Epoch keys are random, never derived from
 * a long-lived key and never written to persistent storage: they live in
 * the kernel keyring with a timeout that ends at the epoch's start + ttl,
 * so the kernel destroys them by itself, or, where no keyring can be had,
 * in 0600 files under <root>/keys/ on the same tmpfs, which hv-purge
 * destroys (epoch.h).  Once a key is gone, its epoch's files are noise:
 * every file is unreadable at most ttl seconds after it was written, and
 * readable for at least ttl - epoch (epoch may be at most half the ttl).
 *
 * Files are <root>/<epoch>.<team>.<gmail id>.hvs, written under a
 * temporary name, fsynced and renamed, so a reader never sees half a file.
 * The root must be on tmpfs or ramfs (statfs) unless [spool] allow_disk.
 */
#ifndef HV_SPOOL_H
#define HV_SPOOL_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "err.h"

struct hv_spool;
struct hv_epochs;

/*
 * Open the spool of c (creating <root> 0700): HV_ECONFIG when it is on
 * persistent storage and allow_disk is off, or the epoch is longer than
 * half the ttl; HV_EPERM when the root is not the user's own, 0700.  With
 * allow_disk on such a root, *on_disk is set so the caller warns.  now is the clock to use
 * (hv_now(), or a test's).
 */
int hv_spool_open(struct hv_spool **sp, const struct hv_config *c, long long now,
    int *on_disk, struct hv_err *e);
void hv_spool_close(struct hv_spool *sp);

/*
 * Where the spool of c would live, without making it (hv_spool_open
 * makes it): *exists says whether its root is there, *tmpfs whether the
 * root, or else the nearest directory above it that exists, is on tmpfs
 * or ramfs.  For hv-doctor, which must not leave a spool on a disk.
 */
int hv_spool_where(const struct hv_config *c, int *exists, int *tmpfs, struct hv_err *e);

/* The spool's root directory (borrowed). */
const char *hv_spool_root(const struct hv_spool *sp);

/*
 * Seal raw (len bytes) of account's message gmail_id, for team, into the
 * current epoch, durably.  *path (caller frees) names the file.  A file of
 * the same team and id in the same epoch is replaced.
 */
int hv_spool_put(struct hv_spool *sp, const char *team, const char *account,
    const char *gmail_id, const void *raw, size_t len, char **path, struct hv_err *e);

/*
 * Open the spool file at path (sealed for account) into raw (a secret
 * buffer; its cap bounds the message).  HV_ENOINPUT when the file is gone;
 * HV_EPERM when its epoch key is gone (the file is noise: say so and let
 * it be fetched again); HV_EDATA when it does not authenticate or path is
 * not a spool file directly under the root.
 */
int hv_spool_get(struct hv_spool *sp, const char *path, const char *account,
    struct hv_buf *raw, struct hv_err *e);

/* Remove a spool file once every member has the message; a file already
 * gone is not an error. */
int hv_spool_remove(struct hv_spool *sp, const char *path, struct hv_err *e);

enum hv_spool_kind {
	HV_SPOOL_FILE,		/* a well-named spool file */
	HV_SPOOL_TEMP,		/* one being written (or left by a crash) */
	HV_SPOOL_FOREIGN,	/* anything else: not hv's, never touched */
};

/* A file of the spool, as its name and stat tell it. */
struct hv_spool_entry {
	const char *path;	/* borrowed for the call */
	const char *team;	/* borrowed; NULL when foreign */
	const char *gmail_id;	/* borrowed; NULL when foreign */
	long long epoch;	/* -1 when foreign */
	long long mtime;	/* Unix seconds */
	long long size;
	enum hv_spool_kind kind;
	const char *name;	/* borrowed: path's last component */
	int dirfd;		/* the root, open for the call (unlinkat(2) name) */
};

/*
 * Call fn for every well-named spool file (others are skipped and counted
 * in *foreign when foreign is not NULL), in no particular order.  Stops at
 * fn's first non-zero return, which it returns.
 */
int hv_spool_each(struct hv_spool *sp,
    int (*fn)(const struct hv_spool_entry *ent, void *arg), void *arg,
    size_t *foreign, struct hv_err *e);

/*
 * Call fn for every entry of the spool's root but keys/: spool files,
 * temporary files and foreign entries (anything not a regular file of the
 * user's with a spool name: other names, directories, symbolic links,
 * files of other users), in no particular order.  Stops at fn's first
 * non-zero return, which it returns.
 */
int hv_spool_scan(struct hv_spool *sp,
    int (*fn)(const struct hv_spool_entry *ent, void *arg), void *arg, struct hv_err *e);

/* The spool's clock: hv_now() moved as the now given to hv_spool_open. */
long long hv_spool_now(const struct hv_spool *sp);

/* The spool's epoch keys (epoch.h), for hv-purge. */
struct hv_epochs *hv_spool_epochs(struct hv_spool *sp);

#endif
