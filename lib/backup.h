/*
 * backup: hv-backup's flows, from the store to its targets and back.
 *
 * A backup is a snapshot of the state database (VACUUM INTO, written to a
 * 0600 file on tmpfs: the spool's, $XDG_RUNTIME_DIR or /dev/shm; disk only
 * with [spool] allow_disk), sealed in hv-seal(5) recipient mode to
 * [backup] recipient with the context "backup:NAME", and named by its UTC
 * time to the microsecond, hv-YYYYMMDDTHHMMSS.uuuuuuZ.hvb, so two backups
 * made in the same second do not clash.  Names of the older form
 * hv-YYYYMMDDTHHMMSSZ.hvb are still listed, verified, restored and
 * pruned, ordered by the time they stand for.  The host that makes backups holds only
 * the recipient, so it cannot read them; opening needs the identity.
 *
 * Targets, [backup] to: a directory (written atomically, 0600) or
 * s3://BUCKET[/PREFIX] ([backup] endpoint, region, credentials, ca_file).
 * A backup counts on a target only when the target has confirmed it and a
 * read-back of its size and SHA-256 matches what was sent; one that fails
 * on the way is removed again where that can be done.  Each is signed with
 * the audit trail's checkpoint key (Ed25519, over its name and the SHA-256
 * of its sealed bytes) in NAME.sig beside it, "hvbsig1 " and the signature
 * in base64url; prune removes the two together.
 *
 * Every flow appends to the audit trail (backup.create, backup.verify,
 * backup.restore, backup.prune) and treats a failure to log as a failure.
 * Each flow reports what it did per target through a callback and returns
 * the worst status over the targets, with e naming a failure.
 */
#ifndef HV_BACKUP_H
#define HV_BACKUP_H

#include <stddef.h>

#include "config.h"
#include "err.h"

/* The longest name, strlen("hv-20261129T114900.123456Z.hvb"); the older
 * form, "hv-20261129T114900Z.hvb", is shorter. */
#define HV_BACKUP_NAME_LEN 30

struct hv_backup_entry {
	const char *name;	/* borrowed: hv-YYYYMMDDTHHMMSS.uuuuuuZ.hvb */
	const char *target;	/* borrowed: as written in [backup] to */
	long long time;		/* Unix seconds, from the name */
	long long size;		/* bytes stored, or -1 */
	const char *sha256;	/* hex of the stored bytes (create), or NULL */
	int schema;		/* the store's schema version (verify), or 0 */
	const char *action;	/* prune: "keep" or "delete"; else NULL */
	int status;		/* 0, or what went wrong on this target */
	const char *error;	/* borrowed: why, when status is not 0 */
	/*
	 * Borrowed, or NULL: a step begun ("sealing", "writing"), for a
	 * person's progress; then only name and target mean anything, and
	 * the entry is not an outcome.  create, verify and restore send these.
	 */
	const char *step;
};

/* Called once per target and backup; a non-zero return stops the flow. */
typedef int (*hv_backup_fn)(const struct hv_backup_entry *b, void *arg);

/*
 * Remove plaintext scratch files (snapshots, opened backups) from every
 * directory hv puts them in: all of them, or (all = 0) those whose maker
 * is no longer running, as a killed VACUUM INTO leaves them.  Only regular
 * files of this user are touched.  Returns how many went.  hv_backup_create
 * calls it with 0 before its own snapshot; hv-purge erase with 1.
 */
size_t hv_backup_snapshots_remove(const struct hv_config *c, int all);

/* Make a backup now and write it to every target. */
int hv_backup_create(const struct hv_config *c, hv_backup_fn fn, void *arg,
    struct hv_err *e);

/* The backups on every target, oldest first per target. */
int hv_backup_list(const struct hv_config *c, hv_backup_fn fn, void *arg,
    struct hv_err *e);

/*
 * Download backup name (NULL: the newest) from every target that holds it,
 * open it with the identity file, and check the database inside
 * (integrity_check, schema version) in a scratch file on tmpfs; nothing is
 * restored.  With pubkey (a checkpoint public key, "hvsig1...", or a file
 * holding one: hv-audit pubkey of the host that makes the backups), each
 * copy's signature, NAME.sig beside it, is checked first: anyone who knows
 * the recipient can seal a backup, only that host can sign one.  HV_EDATA
 * when a copy is tampered, truncated, not a store, or (with pubkey)
 * unsigned or signed by another key; HV_EPERM when it was sealed to
 * another recipient, HV_ENOINPUT when no target holds it.
 */
int hv_backup_verify(const struct hv_config *c, const char *name, const char *identity,
    const char *pubkey, hv_backup_fn fn, void *arg, struct hv_err *e);

/*
 * Restore backup name from the first target that holds it to the store at
 * to (NULL: [paths] state).  A file already at to is replaced only with
 * force (else HV_ECANTCREAT), and then through hv_store_replace(), under
 * the store's write lock, so tools that have it open see the old content
 * or the new.  The database is checked before it is put in place.  With
 * pubkey, as for hv_backup_verify, the copy's signature is checked first
 * and a copy that fails it is not restored (HV_EDATA).
 */
int hv_backup_restore(const struct hv_config *c, const char *name, const char *identity,
    const char *pubkey, const char *to, int force, hv_backup_fn fn, void *arg,
    struct hv_err *e);

/*
 * Delete old backups from every target: kept are the newest [backup] keep
 * and, for each of the last 7 UTC days (today included), that day's newest.
 */
int hv_backup_prune(const struct hv_config *c, hv_backup_fn fn, void *arg,
    struct hv_err *e);

/*
 * The prune rule alone: keepv[i] = 1 for each of the n backup times t[i]
 * (seconds, any order) to keep, at time now.  Of equal times, the later
 * in t counts as the newer: pass them in name order.
 */
void hv_backup_prune_select(const long long *t, size_t n, long keep, long long now,
    int *keepv);

/* The time a backup name stands for, in seconds: 0, or HV_EDATA when it
 * is not one (either form). */
int hv_backup_name_time(const char *name, long long *t);

/* As hv_backup_name_time, in microseconds (an older name's are 0). */
int hv_backup_name_time_us(const char *name, long long *us);

/*
 * Order two backup names by the time they stand for, as strcmp orders
 * strings: names of both forms sort together by time, and names that are
 * not backup names after every one that is.
 */
int hv_backup_name_cmp(const char *a, const char *b);

#endif
