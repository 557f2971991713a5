#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "mem.h"
#include "store_int.h"
#include "banned.h"

int
hv_index_labels_get(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, struct hv_index_label **l, size_t *n, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	*l = NULL;
	*n = 0;
	if ((r = store_prepare(s, &st, "SELECT label, kind FROM labels WHERE team = ? AND "
	    "mid_hmac = ? AND member = ? ORDER BY label", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, mid);
	store_bind_text(st, 3, member);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != HV_INDEX_MID_LEN)
			continue;
		*l = hv_xrealloc(*l, (*n + 1) * sizeof **l);
		memcpy((*l)[*n].hmac, sqlite3_column_blob(st, 0), HV_INDEX_MID_LEN);
		(*l)[(*n)++].kind = sqlite3_column_int(st, 1);
	}
	if (rc != SQLITE_DONE) {
		r = store_fail(s, e, "labels");
		free(*l);
		*l = NULL;
		*n = 0;
	}
	store_release(s, st);
	return r;
}

int
hv_index_labels_put(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, const struct hv_index_label *l, size_t n, struct hv_err *e)
{
	sqlite3_stmt *st;
	size_t i;
	int r;

	if ((r = store_prepare(s, &st, "DELETE FROM labels WHERE team = ? AND mid_hmac = ? "
	    "AND member = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, mid);
	store_bind_text(st, 3, member);
	if ((r = store_run(s, st, "labels", e)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if ((r = store_prepare(s, &st, "INSERT OR IGNORE INTO labels (team, mid_hmac, "
		    "member, label, kind) VALUES (?, ?, ?, ?, ?)", e)) < 0)
			break;
		store_bind_text(st, 1, team);
		store_bind_mid(st, 2, mid);
		store_bind_text(st, 3, member);
		store_bind_mid(st, 4, l[i].hmac);
		sqlite3_bind_int(st, 5, l[i].kind);
		r = store_run(s, st, "labels", e);
	}
	return r;
}

int
hv_index_copy_find(struct hv_store *s, const char *team, const char *member,
    const char *gmail_id, uint8_t *mid, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT mid_hmac FROM copies WHERE member = ? AND "
	    "gmail_id = ? AND team = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, member);
	store_bind_text(st, 2, gmail_id);
	store_bind_text(st, 3, team);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HV_INDEX_MID_LEN)
		memcpy(mid, sqlite3_column_blob(st, 0), HV_INDEX_MID_LEN);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		r = HV_ENOINPUT;
	else
		r = store_fail(s, e, "copies");
	store_release(s, st);
	return r;
}

static int
copy_update(struct hv_store *s, const char *sql, const char *team, const uint8_t *mid,
    const char *member, int value, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, sql, e)) < 0)
		return r;
	sqlite3_bind_int(st, 1, value);
	store_bind_text(st, 2, team);
	store_bind_mid(st, 3, mid);
	store_bind_text(st, 4, member);
	return store_run(s, st, "copies", e);
}

int
hv_index_copy_deleted(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, struct hv_err *e)
{
	return copy_update(s, "UPDATE copies SET deleted = ?1, labels_dirty = 0 "
	    "WHERE team = ?2 AND mid_hmac = ?3 AND member = ?4", team, mid, member, 1, e);
}

int
hv_index_copy_dirty(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, int dirty, struct hv_err *e)
{
	return copy_update(s, "UPDATE copies SET labels_dirty = ?1 WHERE team = ?2 AND "
	    "mid_hmac = ?3 AND member = ?4 AND deleted = 0", team, mid, member, dirty, e);
}

int
hv_index_member_copies(struct hv_store *s, const char *team, const char *member,
    int dirty, int (*fn)(const uint8_t *mid, const char *gmail_id, void *arg), void *arg,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, dirty ?
	    "SELECT mid_hmac, gmail_id FROM copies WHERE team = ? AND member = ? AND "
	    "labels_dirty = 1 AND deleted = 0 AND gmail_id != '' ORDER BY mid_hmac" :
	    "SELECT mid_hmac, gmail_id FROM copies WHERE team = ? AND member = ? AND "
	    "deleted = 0 AND gmail_id != '' ORDER BY mid_hmac", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_text(st, 2, member);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_bytes(st, 0) == HV_INDEX_MID_LEN &&
		    (r = fn(sqlite3_column_blob(st, 0), (const char *)sqlite3_column_text(st, 1),
		    arg)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "copies");
	store_release(s, st);
	return r;
}

int
hv_index_source_copies(struct hv_store *s, const char *team, const char *source,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO copies (team, mid_hmac, member, gmail_id, "
	    "imported) SELECT team, mid_hmac, source, source_id, fetched FROM messages "
	    "WHERE team = ?1 AND source = ?2 AND true ON CONFLICT (team, mid_hmac, member) "
	    "DO NOTHING", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_text(st, 2, source);
	return store_run(s, st, "copies", e);
}
