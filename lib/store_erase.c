#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "banned.h"

/* Every row that names an account, the rows that hang on them last. */
static const char *const erase_sql[] = {
	"DELETE FROM copies WHERE member = ?1",
	"DELETE FROM copies WHERE (team, mid_hmac) IN "
	"  (SELECT team, mid_hmac FROM messages WHERE source = ?1)",
	"DELETE FROM messages WHERE source = ?1",
	"DELETE FROM members WHERE account = ?1",
	"DELETE FROM cursors WHERE account = ?1",
	"DELETE FROM secrets WHERE owner = ?1",
	"DELETE FROM accounts WHERE email = ?1",
};

static int
erase_rows(struct hv_store *s, const char *account, long long *rows, struct hv_err *e)
{
	sqlite3_stmt *st;
	size_t i;
	int r;

	for (i = 0; i < sizeof erase_sql / sizeof erase_sql[0]; i++) {
		if ((r = store_prepare(s, &st, erase_sql[i], e)) < 0)
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
