#include <stdlib.h>

#include <sqlite3.h>

#include "buf.h"
#include "mem.h"
#include "store.h"
#include "store_int.h"
#include "banned.h"

/* Faster than a printf per number, for a hundred thousand of them. */
static void
add_number(struct hv_buf *b, long long v, int comma)
{
	char digits[24];
	size_t i = sizeof digits;
	unsigned long long u = v < 0 ? 0 : (unsigned long long)v;

	do
		digits[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (comma)
		digits[--i] = ',';
	hv_buf_add(b, digits + i, sizeof digits - i);
}

/* The ages travel as one JSON array through json_each: one statement for
 * any number of rows, several times faster than a step per row. */
static int
insert_ages(struct hv_store *s, long long at, const long long *ages, size_t n,
    struct hv_err *e)
{
	struct hv_buf text;
	sqlite3_stmt *st;
	size_t i;
	int r;

	hv_buf_init(&text, 24 * n + 16);
	hv_buf_adds(&text, "[");
	for (i = 0; i < n; i++)
		add_number(&text, ages[i], i > 0);
	hv_buf_adds(&text, "]");
	if ((r = store_prepare(s, &st, "INSERT INTO purged (at, age) "
	    "SELECT ?1, value FROM json_each(?2)", e)) == 0) {
		sqlite3_bind_int64(st, 1, at);
		sqlite3_bind_text(st, 2, text.data, (int)text.len, SQLITE_STATIC);
		r = store_run(s, st, "record purges", e);
	}
	hv_buf_release(&text);
	return r;
}

static int record(struct hv_store *, long long, const long long *, size_t, long long,
    struct hv_err *);

int
hv_store_purged_record(struct hv_store *s, long long at, const long long *ages, size_t n,
    long long forget_before, struct hv_err *e)
{
	int r;

	/* Statistics: a power cut may lose the last of them, and not waiting
	 * for the disk keeps a purge of 100,000 files as fast as find(1). */
	if ((r = store_exec(s, "PRAGMA synchronous = NORMAL", e)) < 0)
		return r;
	r = record(s, at, ages, n, forget_before, e);
	store_exec(s, "PRAGMA synchronous = FULL", NULL);
	return r;
}

static int
record(struct hv_store *s, long long at, const long long *ages, size_t n,
    long long forget_before, struct hv_err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = hv_store_begin(s, e)) < 0)
		return r;
	if ((r = store_prepare(s, &st, "DELETE FROM purged WHERE at < ?1", e)) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, forget_before);
	if ((r = store_run(s, st, "forget purge records", e)) < 0 ||
	    (n > 0 && (r = insert_ages(s, at, ages, n, e)) < 0))
		goto fail;
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
	store_release(s, st);
	return r;
}

/* Whether the index knows team's message source_id, and its done flag. */
static int
message_state(struct hv_store *s, const char *team, const char *source,
    const char *source_id, int *known, int *done, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	*known = *done = 0;
	if ((r = store_prepare(s, &st, "SELECT done FROM messages WHERE source = ?1 AND "
	    "source_id = ?2 AND team = ?3", e)) < 0)
		return r;
	store_bind_text(st, 1, source);
	store_bind_text(st, 2, source_id);
	store_bind_text(st, 3, team);
	if ((r = store_one_row(s, st, "read the index", e)) == 0) {
		*known = 1;
		*done = sqlite3_column_int(st, 0) != 0;
	}
	store_release(s, st);
	return r == HV_ENOINPUT ? 0 : r;
}

int
hv_store_message_is_done(struct hv_store *s, const char *team, const char *source,
    const char *source_id, int *done, struct hv_err *e)
{
	int known;

	return message_state(s, team, source, source_id, &known, done, e);
}

int
hv_store_message_known(struct hv_store *s, const char *team, const char *source,
    const char *source_id, int *known, struct hv_err *e)
{
	int done;

	return message_state(s, team, source, source_id, known, &done, e);
}
