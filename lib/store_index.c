#include <stdio.h>
#include <string.h>

#include "index.h"
#include "store_int.h"
#include "banned.h"

int
hv_index_cursor_get(struct hv_store *s, const char *account, const char *kind,
    struct hv_buf *history_id, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "SELECT history_id FROM cursors "
	    "WHERE account = ? AND kind = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, account);
	store_bind_text(st, 2, kind);
	if ((r = store_one_row(s, st, "cursor", e)) == 0)
		r = hv_buf_adds(history_id, (const char *)sqlite3_column_text(st, 0));
	store_release(s, st);
	return r;
}

int
hv_index_cursor_put(struct hv_store *s, const char *account, const char *kind,
    const char *history_id, long long now, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO cursors (account, kind, history_id, "
	    "updated) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account, kind) DO UPDATE "
	    "SET history_id = ?3, updated = ?4", e)) < 0)
		return r;
	store_bind_text(st, 1, account);
	store_bind_text(st, 2, kind);
	store_bind_text(st, 3, history_id);
	sqlite3_bind_int64(st, 4, now);
	return store_run(s, st, "cursor", e);
}

int
hv_index_has_source(struct hv_store *s, const char *source, const char *source_id,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "SELECT 1 FROM messages WHERE source = ? AND "
	    "source_id = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, source);
	store_bind_text(st, 2, source_id);
	r = store_one_row(s, st, "messages", e);
	store_release(s, st);
	return r;
}

int
hv_index_message_get(struct hv_store *s, const char *team, const uint8_t *m,
    int *done, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "SELECT done FROM messages WHERE team = ? AND "
	    "mid_hmac = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, m);
	if ((r = store_one_row(s, st, "messages", e)) == 0 && done != NULL)
		*done = sqlite3_column_int(st, 0);
	store_release(s, st);
	return r;
}

int
hv_index_message_put(struct hv_store *s, const char *team, const uint8_t *m,
    const char *source, const char *source_id, const void *subject, size_t subject_len,
    long long now, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO messages (team, mid_hmac, source, "
	    "source_id, subject, fetched, subject_bound) VALUES (?, ?, ?, ?, ?, ?, 1) "
	    "ON CONFLICT (team, mid_hmac) DO NOTHING", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, m);
	store_bind_text(st, 3, source);
	store_bind_text(st, 4, source_id);
	sqlite3_bind_blob64(st, 5, subject, subject_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	return store_run(s, st, "messages", e);
}

/* The SQL below spells the length out. */
_Static_assert(HV_INDEX_MID_LEN == 32, "content HMACs are 32 bytes");

int
hv_index_content_get(struct hv_store *s, const char *team, const uint8_t *m,
    uint8_t content[HV_INDEX_MID_LEN], struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "SELECT content_hmac FROM messages WHERE team = ? AND "
	    "mid_hmac = ? AND length(content_hmac) = 32", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, m);
	if ((r = store_one_row(s, st, "messages", e)) == 0)
		memcpy(content, sqlite3_column_blob(st, 0), HV_INDEX_MID_LEN);
	store_release(s, st);
	return r;
}

int
hv_index_content_put(struct hv_store *s, const char *team, const uint8_t *m,
    const uint8_t content[HV_INDEX_MID_LEN], struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "UPDATE messages SET content_hmac = ? WHERE team = ? "
	    "AND mid_hmac = ? AND content_hmac IS NULL", e)) < 0)
		return r;
	sqlite3_bind_blob(st, 1, content, HV_INDEX_MID_LEN, SQLITE_STATIC);
	store_bind_text(st, 2, team);
	store_bind_mid(st, 3, m);
	return store_run(s, st, "messages", e);
}

void
hv_index_subject_ctx(struct hv_buf *ctx, const char *team, const uint8_t *mid)
{
	size_t i;

	hv_buf_reset(ctx);
	hv_buf_addf(ctx, "subject:%s:", team);
	for (i = 0; i < HV_INDEX_MID_LEN; i++)
		hv_buf_addf(ctx, "%02x", mid[i]);
}

int
hv_index_subject_get(struct hv_store *s, const char *team, const uint8_t *m,
    struct hv_buf *sealed, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	hv_buf_reset(sealed);
	if ((r = store_prepare(s, &st, "SELECT subject FROM messages WHERE team = ? AND "
	    "mid_hmac = ? AND subject IS NOT NULL", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, m);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = hv_buf_add(sealed, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0)) < 0 ?
		    hv_err_set(e, HV_EDATA, "sealed subject too long") : 0;
	else if (rc == SQLITE_DONE)
		r = HV_ENOINPUT;
	else
		r = store_fail(s, e, "messages");
	store_release(s, st);
	return r;
}

int
hv_index_subject_set(struct hv_store *s, const char *team, const uint8_t *m,
    const void *sealed, size_t len, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "UPDATE messages SET subject = ?, subject_bound = 1 "
	    "WHERE team = ? AND mid_hmac = ?", e)) < 0)
		return r;
	sqlite3_bind_blob64(st, 1, sealed, len, SQLITE_STATIC);
	store_bind_text(st, 2, team);
	store_bind_mid(st, 3, m);
	return store_run(s, st, "messages", e);
}

int
hv_index_subjects_unbound(struct hv_store *s, const char *team,
    int (*fn)(const uint8_t *mid, const void *sealed, size_t len, void *arg), void *arg,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT mid_hmac, subject FROM messages "
	    "WHERE team = ? AND subject_bound = 0", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_bytes(st, 0) == HV_INDEX_MID_LEN &&
		    (r = fn(sqlite3_column_blob(st, 0), sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), arg)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "messages");
	store_release(s, st);
	return r;
}

int
hv_index_message_done(struct hv_store *s, const char *team, const uint8_t *m,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "UPDATE messages SET done = 1 WHERE team = ? AND "
	    "mid_hmac = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, m);
	return store_run(s, st, "messages", e);
}

int
hv_index_pending(struct hv_store *s, const char *team,
    int (*fn)(const char *source_id, const uint8_t *mid, void *arg), void *arg,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT source_id, mid_hmac FROM messages "
	    "WHERE team = ? AND done = 0 ORDER BY fetched", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_bytes(st, 1) == HV_INDEX_MID_LEN &&
		    (r = fn((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_blob(st, 1), arg)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "messages");
	store_release(s, st);
	return r;
}

int
hv_index_copy_get(struct hv_store *s, const char *team, const uint8_t *m,
    const char *member, char *gmail_id, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "SELECT gmail_id FROM copies WHERE team = ? AND "
	    "mid_hmac = ? AND member = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, m);
	store_bind_text(st, 3, member);
	if ((r = store_one_row(s, st, "copies", e)) == 0 && gmail_id != NULL) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (id == NULL)
			id = "";
		if (strlen(id) >= HV_INDEX_ID_SIZE)
			r = hv_err_set(e, HV_EDATA, "copies: a Gmail id of %zu bytes", strlen(id));
		else
			memcpy(gmail_id, id, strlen(id) + 1);
	}
	store_release(s, st);
	return r;
}

int
hv_index_copy_put(struct hv_store *s, const char *team, const uint8_t *m,
    const char *member, const char *gmail_id, long long now, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO copies (team, mid_hmac, member, gmail_id, "
	    "imported) VALUES (?, ?, ?, ?, ?) ON CONFLICT (team, mid_hmac, member) "
	    "DO UPDATE SET gmail_id = excluded.gmail_id", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_mid(st, 2, m);
	store_bind_text(st, 3, member);
	store_bind_text(st, 4, gmail_id);
	sqlite3_bind_int64(st, 5, now);
	return store_run(s, st, "copies", e);
}

int
hv_index_member_put(struct hv_store *s, const char *team, const char *account,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO members (team, account) VALUES (?, ?) "
	    "ON CONFLICT DO NOTHING", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_text(st, 2, account);
	return store_run(s, st, "members", e);
}

int
hv_index_copies(struct hv_store *s, const uint8_t *m,
    int (*fn)(const struct hv_index_copy *c, void *arg), void *arg, struct hv_err *e)
{
	struct hv_index_copy c;
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT team, member, gmail_id, imported FROM copies "
	    "WHERE mid_hmac = ? ORDER BY team, member", e)) < 0)
		return r;
	store_bind_mid(st, 1, m);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.team = (const char *)sqlite3_column_text(st, 0);
		c.member = (const char *)sqlite3_column_text(st, 1);
		c.gmail_id = (const char *)sqlite3_column_text(st, 2);
		c.imported = sqlite3_column_int64(st, 3);
		if ((r = fn(&c, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "copies");
	store_release(s, st);
	return r;
}
