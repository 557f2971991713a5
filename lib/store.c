#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "file.h"
#include "index.h"
#include "mem.h"
#include "store.h"
#include "store_int.h"
#include "banned.h"

/* Migration n brings user_version n-1 to n.  Never edit one that shipped. */
static const char *const migrations[] = {
	NULL,
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE accounts ("
	"  email TEXT PRIMARY KEY, kind INTEGER NOT NULL,"
	"  scopes TEXT NOT NULL DEFAULT '', revoked INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE secrets ("
	"  owner TEXT NOT NULL, name TEXT NOT NULL, blob BLOB NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (owner, name));"
	"CREATE TABLE domains (domain TEXT PRIMARY KEY, client_email TEXT NOT NULL);",

	/* 2: the index (identifiers and a sealed subject, nothing else), the
	 * cursors, team memberships seen, and the spool's purge records. */
	"CREATE TABLE cursors ("
	"  account TEXT NOT NULL, kind TEXT NOT NULL, history_id TEXT NOT NULL,"
	"  updated INTEGER NOT NULL, PRIMARY KEY (account, kind));"
	"CREATE TABLE members ("
	"  team TEXT NOT NULL, account TEXT NOT NULL, PRIMARY KEY (team, account));"
	"CREATE TABLE messages ("
	"  team TEXT NOT NULL, mid_hmac BLOB NOT NULL, source TEXT NOT NULL,"
	"  source_id TEXT NOT NULL, subject BLOB, fetched INTEGER NOT NULL,"
	"  done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (team, mid_hmac));"
	"CREATE INDEX messages_source ON messages (source, source_id);"
	"CREATE TABLE copies ("
	"  team TEXT NOT NULL, mid_hmac BLOB NOT NULL, member TEXT NOT NULL,"
	"  gmail_id TEXT NOT NULL, imported INTEGER NOT NULL,"
	"  PRIMARY KEY (team, mid_hmac, member),"
	"  FOREIGN KEY (team, mid_hmac) REFERENCES messages (team, mid_hmac)"
	"    ON DELETE CASCADE);"
	"CREATE INDEX copies_member ON copies (member, gmail_id);"
	"CREATE TABLE purged (at INTEGER NOT NULL, age INTEGER NOT NULL);"
	"CREATE INDEX purged_at ON purged (at);",

	/* 3: shared labels: the labels each copy is known to carry and the
	 * team's state of each message (member ''), by HMAC of their names;
	 * copies a member deleted, and copies whose labels must be brought to
	 * the team's state. */
	"ALTER TABLE copies ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE copies ADD COLUMN labels_dirty INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX copies_dirty ON copies (team, member) WHERE labels_dirty = 1;"
	"CREATE TABLE labels ("
	"  team TEXT NOT NULL, mid_hmac BLOB NOT NULL, member TEXT NOT NULL,"
	"  label BLOB NOT NULL, kind INTEGER NOT NULL,"
	"  PRIMARY KEY (team, mid_hmac, member, label),"
	"  FOREIGN KEY (team, mid_hmac) REFERENCES messages (team, mid_hmac)"
	"    ON DELETE CASCADE);"
	"CREATE TRIGGER copies_labels AFTER DELETE ON copies BEGIN"
	"  DELETE FROM labels WHERE team = OLD.team AND mid_hmac = OLD.mid_hmac"
	"    AND member = OLD.member; END;",

	/* 4: the members of a team hv does not sync to (a group's CUSTOMER
	 * member, an address it cannot reach) and why, as the last run found
	 * them, for hv-sync status. */
	"CREATE TABLE skipped ("
	"  team TEXT NOT NULL, member TEXT NOT NULL, kind TEXT NOT NULL,"
	"  why TEXT NOT NULL, seen INTEGER NOT NULL, PRIMARY KEY (team, member));",

	/* 5: mailboxes Google told to wait past the end of a run. */
	"CREATE TABLE pauses ("
	"  account TEXT PRIMARY KEY, until INTEGER NOT NULL, why TEXT NOT NULL);",
	/* 6: subjects sealed with their message bound in (subject_bound = 1);
	 * older rows, sealed under the team alone, are sealed again by the
	 * next hv-fetch, which holds the key. */
	"ALTER TABLE messages ADD COLUMN subject_bound INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_unbound ON messages (team) WHERE subject_bound = 0;",
	/* 7: an HMAC of each message's content beside the HMAC of its
	 * Message-ID, so a later message under the same Message-ID with other
	 * content is told apart from a copy; NULL for rows of before. */
	"ALTER TABLE messages ADD COLUMN content_hmac BLOB;",
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0] - 1)
/* A backup of this store must be one its own hv can restore. */
_Static_assert(NMIGRATIONS == HV_STORE_VERSION, "HV_STORE_VERSION is the last migration");

int
hv_store_status(int code, int errnum)
{
	switch (code & 0xff) {
	case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_NOMEM:
		return HV_ETEMP;
	case SQLITE_CORRUPT: case SQLITE_NOTADB:
		return HV_EDATA;
	case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH:
		return HV_EPERM;
	case SQLITE_FULL:
		return HV_EIO;
	case SQLITE_CANTOPEN:
		return hv_status_errno(errnum, HV_ECANTCREAT);
	case SQLITE_IOERR:
		return code == SQLITE_IOERR_NOMEM ? HV_ETEMP : hv_status_errno(errnum, HV_EIO);
	default:
		return HV_EINTERNAL;
	}
}

int
store_fail(struct hv_store *s, struct hv_err *e, const char *what)
{
	int code = sqlite3_extended_errcode(s->db), errnum = sqlite3_system_errno(s->db);
	int r = hv_store_status(code, errnum);

	/* SQLite says "unable to open database file" of its journal too:
	 * the errno under it says which way, and the path where. */
	if (errnum != 0 && ((code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_IOERR))
		return hv_err_set(e, r, "state database '%s': %s: %s: %s",
		    s->path ? s->path : "?", what, sqlite3_errmsg(s->db), strerror(errnum));
	return hv_err_set(e, r, "state database '%s': %s: %s", s->path ? s->path : "?",
	    what, sqlite3_errmsg(s->db));
}

int
store_exec(struct hv_store *s, const char *sql, struct hv_err *e)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, e, sql);
	return 0;
}

int
store_prepare(struct hv_store *s, sqlite3_stmt **st, const char *sql, struct hv_err *e)
{
	struct store_stmt *c;
	size_t i;

	/* The text is compared too: a cheap guard against a caller that broke
	 * the rule and passed a buffer whose address was used before. */
	for (i = 0; i < s->nstmts; i++) {
		c = &s->stmts[i];
		if (c->sql == sql && !c->busy && strcmp(sqlite3_sql(c->st), sql) == 0) {
			c->busy = 1;
			*st = c->st;
			return 0;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
	    SQLITE_OK)
		return store_fail(s, e, "prepare");
	if (s->nstmts == s->capstmts) {
		s->capstmts = s->capstmts ? 2 * s->capstmts : 32;
		s->stmts = hv_xrealloc(s->stmts, s->capstmts * sizeof *s->stmts);
	}
	c = &s->stmts[s->nstmts++];
	c->sql = sql;
	c->st = *st;
	c->busy = 1;
	return 0;
}

void
store_release(struct hv_store *s, sqlite3_stmt *st)
{
	size_t i;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (i = 0; i < s->nstmts; i++)
		if (s->stmts[i].st == st)
			s->stmts[i].busy = 0;
}

int
store_run(struct hv_store *s, sqlite3_stmt *st, const char *what, struct hv_err *e)
{
	int rc = sqlite3_step(st), r = 0;

	if (rc != SQLITE_DONE)
		r = store_fail(s, e, what);
	store_release(s, st);
	return r;
}

static int
user_version(struct hv_store *s, int *v, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "PRAGMA user_version", e)) < 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	else
		r = store_fail(s, e, "user_version");
	store_release(s, st);
	return r;
}

static int
migrate(struct hv_store *s, struct hv_err *e)
{
	char sql[64];
	int v = 0, r;

	if ((r = user_version(s, &v, e)) < 0)
		return r;
	if (v == (int)NMIGRATIONS)
		return 0;
	if (v > (int)NMIGRATIONS)
		return hv_err_set(e, HV_EDATA, "state database schema %d is newer than "
		    "this hv knows (%d): upgrade hv", v, (int)NMIGRATIONS);
	if ((r = hv_store_begin(s, e)) < 0)
		return r;
	/* Another process may have migrated while we waited for the lock. */
	if ((r = user_version(s, &v, e)) < 0)
		goto fail;
	for (; v < (int)NMIGRATIONS; v++) {
		if ((r = store_exec(s, migrations[v + 1], e)) < 0)
			goto fail;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if ((r = store_exec(s, sql, e)) < 0)
			goto fail;
	}
	return hv_store_commit(s, e);
fail:
	hv_store_rollback(s);
	return r;
}

/* Create the file 0600 ourselves: SQLite would follow the umask. */
static int
create_file(const char *path, struct hv_err *e)
{
	char *dir = hv_xstrdup(path), *slash = strrchr(dir, '/');
	int fd, r = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		r = hv_mkdirs(dir, e);
	}
	free(dir);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST)
		return hv_err_errno(e, HV_ECANTCREAT, errno, "cannot create '%s'", path);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* The file holds sealed secrets, its directory their journal: neither
 * may be open to others, nor replaceable by them (lib/file.h). */
static int
check_modes(const char *path, struct hv_err *e)
{
	char *dir = hv_xstrdup(path), *slash = strrchr(dir, '/');
	int r;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	r = hv_path_private(slash != NULL ? dir : ".", e);
	free(dir);
	return r < 0 ? r : hv_path_private(path, e);
}

int
hv_store_open(struct hv_store **out, const char *path, int create, struct hv_err *e)
{
	struct hv_store *s;
	int r;

	*out = NULL;
	if (create && (r = create_file(path, e)) < 0)
		return r;
	if (!create && access(path, F_OK) < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "state database '%s'", path);
	if ((r = check_modes(path, e)) < 0)
		return r;
	s = hv_xcalloc(1, sizeof *s);
	s->path = hv_xstrdup(path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK) {
		r = store_fail(s, e, path);
		hv_store_close(s);
		return r;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if ((r = store_exec(s, "PRAGMA secure_delete = ON", e)) < 0 ||
	    (r = store_exec(s, "PRAGMA journal_mode = WAL", e)) < 0 ||
	    (r = store_exec(s, "PRAGMA synchronous = FULL", e)) < 0 ||
	    (r = store_exec(s, "PRAGMA foreign_keys = ON", e)) < 0 ||
	    (r = migrate(s, e)) < 0) {
		hv_store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void
hv_store_close(struct hv_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nstmts; i++)
		sqlite3_finalize(s->stmts[i].st);
	free(s->stmts);
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

/* A statement of no rows and no parameters, from the cache. */
static int
store_run_sql(struct hv_store *s, const char *sql, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, sql, e)) < 0)
		return r;
	return store_run(s, st, sql, e);
}

int
hv_store_begin(struct hv_store *s, struct hv_err *e)
{
	return store_run_sql(s, "BEGIN IMMEDIATE", e);
}

int
hv_store_commit(struct hv_store *s, struct hv_err *e)
{
	return store_run_sql(s, "COMMIT", e);
}

void
hv_store_rollback(struct hv_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

void
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

void
store_bind_mid(sqlite3_stmt *st, int i, const uint8_t *mid)
{
	sqlite3_bind_blob(st, i, mid, HV_INDEX_MID_LEN, SQLITE_STATIC);
}

int
store_one_row(struct hv_store *s, sqlite3_stmt *st, const char *what, struct hv_err *e)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return HV_ENOINPUT;
	return store_fail(s, e, what);
}

int
hv_store_meta_get(struct hv_store *s, const char *key, struct hv_buf *value,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT value FROM meta WHERE key = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = hv_buf_adds(value, (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		r = HV_ENOINPUT;
	else
		r = store_fail(s, e, "meta");
	store_release(s, st);
	return r;
}

int
hv_store_meta_put(struct hv_store *s, const char *key, const char *value,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO meta (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", e)) < 0)
		return r;
	store_bind_text(st, 1, key);
	store_bind_text(st, 2, value);
	return store_run(s, st, "meta", e);
}

int
hv_store_account_put(struct hv_store *s, const char *email,
    enum hv_account_kind kind, const char *scopes, long long now, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO accounts (email, kind, scopes, revoked, "
	    "created, updated) VALUES (?1, ?2, ?3, 0, ?4, ?4) ON CONFLICT (email) DO UPDATE "
	    "SET kind = ?2, scopes = ?3, revoked = 0, updated = ?4", e)) < 0)
		return r;
	store_bind_text(st, 1, email);
	sqlite3_bind_int(st, 2, kind);
	store_bind_text(st, 3, scopes ? scopes : "");
	sqlite3_bind_int64(st, 4, now);
	return store_run(s, st, "account", e);
}

static void
account_row(sqlite3_stmt *st, struct hv_account *a)
{
	snprintf(a->email, sizeof a->email, "%s", (const char *)sqlite3_column_text(st, 0));
	a->kind = sqlite3_column_int(st, 1);
	snprintf(a->scopes, sizeof a->scopes, "%s", (const char *)sqlite3_column_text(st, 2));
	a->revoked = sqlite3_column_int(st, 3);
	a->created = sqlite3_column_int64(st, 4);
	a->updated = sqlite3_column_int64(st, 5);
}

#define ACCOUNT_COLUMNS "email, kind, scopes, revoked, created, updated"

int
hv_store_account_get(struct hv_store *s, const char *email, struct hv_account *a,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE email = ?",
	    e)) < 0)
		return r;
	store_bind_text(st, 1, email);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		account_row(st, a);
	else if (rc == SQLITE_DONE)
		r = hv_err_set(e, HV_ENOINPUT, "no account '%s' (hv-auth login or "
		    "service-account first)", email);
	else
		r = store_fail(s, e, "account");
	store_release(s, st);
	return r;
}

int
hv_store_account_set_revoked(struct hv_store *s, const char *email, long long now,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "UPDATE accounts SET revoked = 1, updated = ? "
	    "WHERE email = ?", e)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, now);
	store_bind_text(st, 2, email);
	return store_run(s, st, "account", e);
}

int
hv_store_account_each(struct hv_store *s,
    int (*fn)(const struct hv_account *a, void *arg), void *arg, struct hv_err *e)
{
	struct hv_account a;
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT " ACCOUNT_COLUMNS " FROM accounts ORDER BY email",
	    e)) < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		account_row(st, &a);
		if ((r = fn(&a, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "accounts");
	store_release(s, st);
	return r;
}

int
hv_store_secret_put(struct hv_store *s, const char *owner, const char *name,
    const void *blob, size_t len, long long expires, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO secrets (owner, name, blob, expires) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (owner, name) DO UPDATE "
	    "SET blob = ?3, expires = ?4", e)) < 0)
		return r;
	store_bind_text(st, 1, owner);
	store_bind_text(st, 2, name);
	sqlite3_bind_blob64(st, 3, blob, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, expires);
	return store_run(s, st, "secret", e);
}

int
hv_store_secret_get(struct hv_store *s, const char *owner, const char *name,
    struct hv_buf *blob, long long *expires, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT blob, expires FROM secrets "
	    "WHERE owner = ? AND name = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, owner);
	store_bind_text(st, 2, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = hv_buf_add(blob, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
		if (expires != NULL)
			*expires = sqlite3_column_int64(st, 1);
		if (r < 0)
			r = hv_err_set(e, HV_EDATA, "secret %s of '%s' is too large", name, owner);
	} else if (rc == SQLITE_DONE) {
		r = hv_err_set(e, HV_ENOINPUT, "no %s for '%s'", name, owner);
	} else {
		r = store_fail(s, e, "secret");
	}
	store_release(s, st);
	return r;
}

int
hv_store_secret_delete(struct hv_store *s, const char *owner, const char *name,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	r = store_prepare(s, &st, name ? "DELETE FROM secrets WHERE owner = ? AND name = ?" :
	    "DELETE FROM secrets WHERE owner = ?", e);
	if (r < 0)
		return r;
	store_bind_text(st, 1, owner);
	if (name != NULL)
		store_bind_text(st, 2, name);
	return store_run(s, st, "secret", e);
}

int
hv_store_secret_each(struct hv_store *s,
    int (*fn)(const struct hv_secret_row *row, void *arg), void *arg, struct hv_err *e)
{
	struct hv_secret_row row;
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT owner, name, blob, expires FROM secrets "
	    "ORDER BY owner, name", e)) < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.owner = (const char *)sqlite3_column_text(st, 0);
		row.name = (const char *)sqlite3_column_text(st, 1);
		row.blob = sqlite3_column_blob(st, 2);
		row.len = (size_t)sqlite3_column_bytes(st, 2);
		row.expires = sqlite3_column_int64(st, 3);
		if ((r = fn(&row, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "secrets");
	store_release(s, st);
	return r;
}

int
hv_store_domain_put(struct hv_store *s, const char *domain, const char *client_email,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	if ((r = store_prepare(s, &st, "INSERT INTO domains (domain, client_email) VALUES (?1, ?2) "
	    "ON CONFLICT (domain) DO UPDATE SET client_email = ?2", e)) < 0)
		return r;
	store_bind_text(st, 1, domain);
	store_bind_text(st, 2, client_email);
	return store_run(s, st, "domain", e);
}

int
hv_store_domain_get(struct hv_store *s, const char *domain, struct hv_buf *client_email,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT client_email FROM domains WHERE domain = ?", e)) < 0)
		return r;
	store_bind_text(st, 1, domain);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = hv_buf_adds(client_email, (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		r = hv_err_set(e, HV_ENOINPUT, "no service account for domain '%s'", domain);
	else
		r = store_fail(s, e, "domain");
	store_release(s, st);
	return r;
}

int
hv_store_domain_each(struct hv_store *s,
    int (*fn)(const char *domain, const char *client_email, void *arg), void *arg,
    struct hv_err *e)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_prepare(s, &st, "SELECT domain, client_email FROM domains "
	    "ORDER BY domain", e)) < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = fn((const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), arg)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, e, "domains");
	store_release(s, st);
	return r;
}

int
hv_store_checkpoint(struct hv_store *s, struct hv_err *e)
{
	return store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)", e);
}
