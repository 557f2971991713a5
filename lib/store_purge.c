#include <stdlib.h>

#include <sqlite3.h>

#include "mem.h"
#include "store.h"
#include "store_int.h"
#include "banned.h"

int
hv_store_purged_record(struct hv_store *s, long long at, const long long *ages, size_t n,
    long long forget_before, struct hv_err *e)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int r;

	if ((r = hv_store_begin(s, e)) < 0)
		return r;
	if ((r = store_prepare(s, &st, "DELETE FROM purged WHERE at < ?1", e)) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, forget_before);
	if ((r = store_run(s, st, "forget purge records", e)) < 0)
		goto fail;
	if ((r = store_prepare(s, &st, "INSERT INTO purged (at, age) VALUES (?1, ?2)", e)) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, at);
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 2, ages[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			r = store_fail(s, e, "record a purge");
			sqlite3_finalize(st);
			goto fail;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return hv_store_commit(s, e);
fail:
	hv_store_rollback(s);
	return r;
}

int
hv_store_purged_since(struct hv_store *s, long long since, long long until,
    long long **ages, size_t *n, struct hv_err *e)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, r;

	*ages = NULL;
	*n = 0;
	if ((r = store_prepare(s, &st, "SELECT age FROM purged WHERE at BETWEEN ?1 AND ?2 ORDER BY age",
	    e)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			*ages = hv_xrealloc(*ages, cap * sizeof **ages);
		}
		(*ages)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		r = store_fail(s, e, "read purge records");
		free(*ages);
		*ages = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int
hv_store_message_is_done(struct hv_store *s, const char *team, const char *source,
    const char *source_id, int *done, struct hv_err *e)
{
	sqlite3_stmt *st;
	int rc, r;

	*done = 0;
	if ((r = store_prepare(s, &st, "SELECT done FROM messages WHERE source = ?1 AND "
	    "source_id = ?2 AND team = ?3", e)) < 0)
		return r;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, source_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, team, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*done = sqlite3_column_int(st, 0) != 0;
	else if (rc != SQLITE_DONE)
		r = store_fail(s, e, "read the index");
	sqlite3_finalize(st);
	return r;
}
