#include <stdio.h>
#include <string.h>

#include "index.h"
#include "store_int.h"
#include "banned.h"

static int
roster_clear(struct hv_store *s, const char *sql, const char *team, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, sql, e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	return store_run(s, st, "roster", e);
}

static int
skip_put(struct hv_store *s, const char *team, const struct hv_index_skip *k, long long now,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO skipped (team, member, kind, why, seen) "
	    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (team, member) DO UPDATE SET "
	    "kind = excluded.kind, why = excluded.why, seen = excluded.seen", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_text(st, 2, k->member);
	store_bind_text(st, 3, k->kind);
	store_bind_text(st, 4, k->why);
	sqlite3_bind_int64(st, 5, now);
	return store_run(s, st, "skipped", e);
}

int
hv_index_roster_put(struct hv_store *s, const char *team, char *const *members,
    size_t n, const struct hv_index_skip *skips, size_t nskips, long long now,
    struct hv_err *e)
{
	size_t i;
	int r;

	/* Who left the group is no member any more: no scopes, no skip. */
	if ((r = roster_clear(s, "DELETE FROM members WHERE team = ?", team, e)) < 0 ||
	    (r = roster_clear(s, "DELETE FROM skipped WHERE team = ?", team, e)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++)
		r = hv_index_member_put(s, team, members[i], e);
	for (i = 0; i < nskips && r == 0; i++)
		r = skip_put(s, team, &skips[i], now, e);
	return r;
}

int
hv_index_member_has(struct hv_store *s, const char *team, const char *account,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "SELECT 1 FROM members WHERE team = ? AND "
	    "account = ? COLLATE NOCASE", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_text(st, 2, account);
	r = store_one_row(s, st, "members", e);
	store_release(s, st);
	return r;
}

int
hv_index_members(struct hv_store *s, const char *team,
    int (*fn)(const char *account, void *arg), void *arg, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT account FROM members m WHERE team = ? AND "
	    "NOT EXISTS (SELECT 1 FROM skipped k WHERE k.team = m.team AND "
	    "k.member = m.account) ORDER BY account", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = fn((const char *)sqlite3_column_text(st, 0), arg)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "members");
	store_release(s, st);
	return r;
}

int
hv_index_skipped(struct hv_store *s, const char *team,
    int (*fn)(const struct hv_index_skip *k, void *arg), void *arg, struct hv_err *e)
{
	struct hv_index_skip k;
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT team, member, kind, why, seen FROM skipped "
	    "WHERE ?1 IS NULL OR team = ?1 ORDER BY team, member", e)) < 0)
		return r;
	if (team != NULL)
		store_bind_text(st, 1, team);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k.team = (const char *)sqlite3_column_text(st, 0);
		k.member = (const char *)sqlite3_column_text(st, 1);
		k.kind = (const char *)sqlite3_column_text(st, 2);
		k.why = (const char *)sqlite3_column_text(st, 3);
		k.seen = sqlite3_column_int64(st, 4);
		if ((r = fn(&k, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "skipped");
	store_release(s, st);
	return r;
}
