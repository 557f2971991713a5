/*
 * store_pause: mailboxes Google told to wait ("Retry after <time>") for
 * longer than a run can, so the next runs leave them alone until then.
 */
#include <stdio.h>

#include "store_int.h"
#include "banned.h"

int
hv_store_pause_get(struct hv_store *s, const char *account, long long now, long long *until,
    char *why, size_t whymax, struct hv_err *e)
{
	sqlite3_stmt *st;
	const unsigned char *w;
	int r;

	*until = 0;
	if ((r = store_prepare(s, &st, "SELECT until, why FROM pauses WHERE account = ? "
	    "AND until > ?", e)) < 0)
		return r;
	store_bind_text(st, 1, account);
	sqlite3_bind_int64(st, 2, now);
	if ((r = store_one_row(s, st, "pause", e)) == 0) {
		*until = sqlite3_column_int64(st, 0);
		w = sqlite3_column_text(st, 1);
		snprintf(why, whymax, "%s", w ? (const char *)w : "");
	}
	store_release(s, st);
	return r;
}

int
hv_store_pause_set(struct hv_store *s, const char *account, long long until, const char *why,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	/* A later word from Google replaces an earlier one, even a shorter
	 * wait: it is the newest. */
	if ((r = store_prepare(s, &st, "INSERT INTO pauses (account, until, why) VALUES (?, ?, ?) "
	    "ON CONFLICT (account) DO UPDATE SET until = excluded.until, why = excluded.why",
	    e)) < 0)
		return r;
	store_bind_text(st, 1, account);
	sqlite3_bind_int64(st, 2, until);
	store_bind_text(st, 3, why);
	return store_run(s, st, "pause", e);
}
