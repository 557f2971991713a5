/*
 * Snapshots of the store for backups, the check of a restored file, and
 * the replacement of a live store's content.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "banned.h"

int
hv_store_snapshot(struct hv_store *s, const char *path, struct hv_err *e)
{
	sqlite3_stmt *st;
	int fd, r;

	/* VACUUM INTO takes an empty file; making it here fixes its mode. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hv_err_errno(e, HV_ECANTCREAT, errno, "cannot create '%s'", path);
	close(fd);
	if ((r = store_prepare(s, &st, "VACUUM INTO ?", e)) == 0) {
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
		r = store_run(s, st, "snapshot", e);
	}
	if (r < 0)
		unlink(path);
	return r;
}

static int
check_fail(sqlite3 *db, const char *path, struct hv_err *e)
{
	int code = sqlite3_errcode(db), r;

	/* A snapshot is an input: what does not open is missing (or not ours
	 * to read), and anything SQLite does not like in it is bad data. */
	if (code == SQLITE_CANTOPEN)
		r = hv_status_errno(sqlite3_system_errno(db), HV_ENOINPUT);
	else if (code == SQLITE_BUSY || code == SQLITE_NOMEM)
		r = HV_ETEMP;
	else
		r = HV_EDATA;
	return hv_err_set(e, r, "'%s': %s", path, sqlite3_errmsg(db));
}

/* The first column of the first row of sql, as text, into out. */
static int
one_value(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(out, outlen, "%s", sqlite3_column_text(st, 0) ?
		    (const char *)sqlite3_column_text(st, 0) : "");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
hv_store_check_file(const char *path, int *version, struct hv_err *e)
{
	sqlite3 *db = NULL;
	char v[256];
	long n;
	int r;

	*version = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		r = check_fail(db, path, e);
		goto out;
	}
	if (one_value(db, "PRAGMA integrity_check", v, sizeof v) < 0) {
		r = check_fail(db, path, e);
		goto out;
	}
	if (strcmp(v, "ok") != 0) {
		r = hv_err_set(e, HV_EDATA, "'%s': integrity check: %s", path, v);
		goto out;
	}
	if (one_value(db, "PRAGMA user_version", v, sizeof v) < 0) {
		r = check_fail(db, path, e);
		goto out;
	}
	n = strtol(v, NULL, 10);
	if (n < 1 || n > HV_STORE_VERSION) {
		r = hv_err_set(e, HV_EDATA, "'%s': schema version %ld is not one this hv "
		    "knows (1 to %d)", path, n, HV_STORE_VERSION);
		goto out;
	}
	*version = (int)n;
	r = 0;
out:
	sqlite3_close_v2(db);
	return r;
}

int
hv_store_replace(struct hv_store *s, const char *src, struct hv_err *e)
{
	sqlite3 *from = NULL;
	sqlite3_backup *b;
	int version, r, rc, tries;

	if ((r = hv_store_check_file(src, &version, e)) < 0)
		return r;
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		r = check_fail(from, src, e);
		sqlite3_close_v2(from);
		return r;
	}
	if ((b = sqlite3_backup_init(s->db, "main", from, "main")) == NULL) {
		r = store_fail(s, e, "restore");
		sqlite3_close_v2(from);
		return r;
	}
	/* All pages in one step: the write lock is held from first to last. */
	for (tries = 0; (rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED; tries++) {
		if (tries == 100)
			break;
		sqlite3_sleep(100);
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		r = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ?
		    hv_err_set(e, HV_ETEMP, "state database: busy: try again") :
		    store_fail(s, e, "restore");
	sqlite3_close_v2(from);
	return r;
}
