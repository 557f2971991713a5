/*
 * store: hv's state database (SQLite), its schema and migrations.
 *
 * The only module that includes <sqlite3.h>.  The file is created 0600 in
 * a 0700 directory, runs in WAL mode with secure_delete on (a deleted row
 * leaves no copy in free pages), foreign keys enforced, and waits up to
 * busy_ms for another writer.  Migrations run once, in one transaction,
 * guarded by PRAGMA user_version.  What goes in is identifiers, state and
 * sealed blobs: never a plaintext secret, address or body.
 */
#ifndef HV_STORE_H
#define HV_STORE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct hv_store;

#define HV_STORE_VERSION 7

/*
 * The one mapping of a SQLite result code (extended or primary) and the
 * errno of the system call under it (sqlite3_system_errno) onto the table:
 *	BUSY LOCKED NOMEM, IOERR_NOMEM	HV_ETEMP	(75)
 *	CORRUPT NOTADB			HV_EDATA	(65)
 *	READONLY PERM AUTH		HV_EPERM	(77)
 *	FULL				HV_EIO		(74)
 *	CANTOPEN			hv_status_errno(errnum, HV_ECANTCREAT):
 *					a directory hv may not write (EACCES) 77,
 *					a missing one 73, no descriptors 75
 *	IOERR				hv_status_errno(errnum, HV_EIO)
 *	anything else			HV_EINTERNAL
 */
int hv_store_status(int code, int errnum);

/* Open (creating when asked) the store at path and bring its schema up to
 * date.  HV_ENOINPUT when it does not exist and create is 0. */
int hv_store_open(struct hv_store **s, const char *path, int create, struct hv_err *e);
void hv_store_close(struct hv_store *s);

/*
 * Transactions: BEGIN IMMEDIATE (takes the write lock at once), COMMIT,
 * ROLLBACK (rollback is safe to call after a failed commit).  Each commit
 * waits for one fdatasync of the write-ahead log (synchronous = FULL: a
 * commit that returned survives a power cut), and a write outside a
 * transaction is a transaction of its own: rows that belong together, or
 * many rows at once, go in one.  Statements are made once per connection
 * and kept until hv_store_close, so a call costs no SQL compilation.
 */
int hv_store_begin(struct hv_store *s, struct hv_err *e);
int hv_store_commit(struct hv_store *s, struct hv_err *e);
void hv_store_rollback(struct hv_store *s);

/* Small settings: a text value by key; HV_ENOINPUT when absent. */
int hv_store_meta_get(struct hv_store *s, const char *key, struct hv_buf *value,
    struct hv_err *e);
int hv_store_meta_put(struct hv_store *s, const char *key, const char *value,
    struct hv_err *e);

enum hv_account_kind {
	HV_ACCOUNT_USER = 1,	/* signed in with the installed-app flow */
	HV_ACCOUNT_SERVICE = 2,	/* reached through a service account's delegation */
};

struct hv_account {
	char email[320];
	enum hv_account_kind kind;
	char scopes[1024];	/* space-separated, as granted */
	int revoked;
	long long created, updated;	/* Unix seconds */
};

/* Insert or update an account (kind and scopes), clearing revoked. */
int hv_store_account_put(struct hv_store *s, const char *email,
    enum hv_account_kind kind, const char *scopes, long long now, struct hv_err *e);
/* HV_ENOINPUT when unknown. */
int hv_store_account_get(struct hv_store *s, const char *email, struct hv_account *a,
    struct hv_err *e);
int hv_store_account_set_revoked(struct hv_store *s, const char *email, long long now,
    struct hv_err *e);
/* Every account in email order; stops at the first non-zero return of fn. */
int hv_store_account_each(struct hv_store *s,
    int (*fn)(const struct hv_account *a, void *arg), void *arg, struct hv_err *e);

/*
 * Google's timed lockouts of a mailbox: until (Unix seconds) and Google's
 * words, when a pause is still running at now; else HV_ENOINPUT.
 */
int hv_store_pause_get(struct hv_store *s, const char *account, long long now,
    long long *until, char *why, size_t whymax, struct hv_err *e);
int hv_store_pause_set(struct hv_store *s, const char *account, long long until,
    const char *why, struct hv_err *e);

/*
 * Sealed secrets, by owner and name ("refresh_token", "access_token",
 * "private_key"); owner is an account or "domain:" and a domain.  blob is
 * sealed by the caller; expires is Unix seconds or 0.
 */
int hv_store_secret_put(struct hv_store *s, const char *owner, const char *name,
    const void *blob, size_t len, long long expires, struct hv_err *e);
/* HV_ENOINPUT when absent; blob appended to, *expires set. */
int hv_store_secret_get(struct hv_store *s, const char *owner, const char *name,
    struct hv_buf *blob, long long *expires, struct hv_err *e);
/* Delete one secret, or every secret of owner when name is NULL. */
int hv_store_secret_delete(struct hv_store *s, const char *owner, const char *name,
    struct hv_err *e);

struct hv_secret_row {
	const char *owner, *name;	/* borrowed for the call */
	const void *blob;
	size_t len;
	long long expires;
};

/* Every secret; fn may call hv_store_secret_put for the row it is given
 * (rotation re-seals in place).  Stops at fn's first non-zero return. */
int hv_store_secret_each(struct hv_store *s,
    int (*fn)(const struct hv_secret_row *row, void *arg), void *arg, struct hv_err *e);

/* A service account for a domain: its client email (not a secret). */
int hv_store_domain_put(struct hv_store *s, const char *domain, const char *client_email,
    struct hv_err *e);
int hv_store_domain_get(struct hv_store *s, const char *domain, struct hv_buf *client_email,
    struct hv_err *e);

/* Every domain with a service account, by domain; stops at fn's first
 * non-zero return, which it returns. */
int hv_store_domain_each(struct hv_store *s,
    int (*fn)(const char *domain, const char *client_email, void *arg), void *arg,
    struct hv_err *e);

/* Checkpoint the WAL into the main file and truncate it. */
int hv_store_checkpoint(struct hv_store *s, struct hv_err *e);

/*
 * Snapshots, for backups (lib/store_snapshot.c).
 *
 * hv_store_snapshot writes a consistent copy of the store to path with
 * VACUUM INTO: one read transaction, so writers go on meanwhile (WAL), and
 * only live rows travel (no free pages, so nothing erased comes back).  path
 * is created here 0600 and must not exist; on failure it is removed.  It is
 * plaintext: the caller picks where it may live.
 */
int hv_store_snapshot(struct hv_store *s, const char *path, struct hv_err *e);

/*
 * Check a database file nobody has open: PRAGMA integrity_check answers
 * "ok" and its schema version is one this hv knows (1 to HV_STORE_VERSION,
 * left in *version).  HV_EDATA naming what is wrong otherwise.  Opens it
 * read-only and changes nothing.
 */
int hv_store_check_file(const char *path, int *version, struct hv_err *e);

/*
 * Replace the whole content of the open store s with the database at src
 * (checked first), through SQLite's backup API under the store's write
 * lock: other processes wait, then see the old content or the new, never
 * a mix.  HV_ETEMP when the lock cannot be had within the busy timeout.
 */
int hv_store_replace(struct hv_store *s, const char *src, struct hv_err *e);

/*
 * Spool purge records (lib/store_purge.c): the age in seconds of each
 * spool file hv-purge removed, at when.  hv_store_purged_record adds ages
 * (n of them) and forgets records older than forget_before, in one
 * transaction; hv_store_purged_since gives the ages recorded from since
 * to until, ascending, in *ages (the caller frees).
 */
int hv_store_purged_record(struct hv_store *s, long long at, const long long *ages,
    size_t n, long long forget_before, struct hv_err *e);
int hv_store_purged_since(struct hv_store *s, long long since, long long until,
    long long **ages, size_t *n, struct hv_err *e);

/* Whether the index marks team's message source_id (of source) done; 0
 * and *done = 0 when the index does not know it. */
int hv_store_message_is_done(struct hv_store *s, const char *team, const char *source,
    const char *source_id, int *done, struct hv_err *e);
/* Whether the index has a row for team's message source_id (of source). */
int hv_store_message_known(struct hv_store *s, const char *team, const char *source,
    const char *source_id, int *known, struct hv_err *e);

/*
 * Erasure (lib/store_erase.c): every row naming account (copies in its
 * mailbox, messages it was the source of and their copies, memberships,
 * cursors, secrets, the account) deleted in one transaction with
 * secure_delete on, then a TRUNCATE checkpoint so no copy of a deleted
 * page stays in the write-ahead log.  *rows counts the rows deleted.
 * HV_ETEMP when a reader held the log open: the rows are gone from the
 * database, run again to empty the log.
 */
int hv_store_erase_account(struct hv_store *s, const char *account, long long *rows,
    struct hv_err *e);

#endif
