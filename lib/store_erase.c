#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "banned.h"

/*
 * Every row that names an account, the rows that hang on them last.  A
 * table that names accounts joins this list when it joins the schema; one
 * an older schema lacks is skipped.
 */
static const struct {
	const char *table, *sql;
} erase_sql[] = {
	{ "labels", "DELETE FROM labels WHERE member = ?1" },
	{ "copies", "DELETE FROM copies WHERE member = ?1" },
	{ "copies", "DELETE FROM copies WHERE (team, mid_hmac) IN "
	    "(SELECT team, mid_hmac FROM messages WHERE source = ?1)" },
	{ "messages", "DELETE FROM messages WHERE source = ?1" },
	{ "members", "DELETE FROM members WHERE account = ?1" },
	{ "skipped", "DELETE FROM skipped WHERE member = ?1" },
	{ "cursors", "DELETE FROM cursors WHERE account = ?1" },
	{ "secrets", "DELETE FROM secrets WHERE owner = ?1" },
	{ "accounts", "DELETE FROM accounts WHERE email = ?1" },
};

static int
has_table(struct hv_store *s, const char *table)
{
	sqlite3_stmt *st;
	int found;

	if (store_prepare(s, &st, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
	    "name = ?1", NULL) < 0)
		return 1;	/* then the DELETE says what is wrong */
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	store_release(s, st);
	return found;
}

static int
erase_rows(struct hv_store *s, const char *account, long long *rows, struct hv_err *e)
{
	sqlite3_stmt *st;
	size_t i;
	int r;

	for (i = 0; i < sizeof erase_sql / sizeof erase_sql[0]; i++) {
		if (!has_table(s, erase_sql[i].table))
			continue;
		if ((r = store_prepare(s, &st, erase_sql[i].sql, e)) < 0)
			return r;
		sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
		if ((r = store_run(s, st, "erase", e)) < 0)
			return r;
		*rows += sqlite3_changes(s->db);
	}
	return 0;
}

/* A TRUNCATE checkpoint that did not get through leaves old pages in the
 * WAL: say so rather than claim the erasure is complete. */
static int
checkpoint_all(struct hv_store *s, struct hv_err *e)
{
	int logged = -1, done = -1;

	if (sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &logged,
	    &done) != SQLITE_OK)
		return store_fail(s, e, "checkpoint after erasure");
	if (logged != 0)
		return hv_err_set(e, HV_ETEMP, "state database: erased, but a reader kept "
		    "the write-ahead log from being emptied: run again");
	return 0;
}

int
hv_store_erase_account(struct hv_store *s, const char *account, long long *rows,
    struct hv_err *e)
{
	int r;

	*rows = 0;
	if ((r = store_exec(s, "PRAGMA secure_delete = ON", e)) < 0 ||
	    (r = hv_store_begin(s, e)) < 0)
		return r;
	if ((r = erase_rows(s, account, rows, e)) < 0 || (r = hv_store_commit(s, e)) < 0) {
		hv_store_rollback(s);
		*rows = 0;
		return r;
	}
	return checkpoint_all(s, e);
}
