/*
 * store_int: what the store's files share; only lib/store*.c include it.
 * The store module may span several files (one per concern: accounts and
 * secrets, the index, erasure, snapshots), all behind store.h.
 */
#ifndef HV_STORE_INT_H
#define HV_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* A statement made once per connection, kept for its SQL text. */
struct store_stmt {
	const char *sql;	/* borrowed: static text, the cache's key */
	sqlite3_stmt *st;	/* owned */
	int busy;		/* handed out by store_prepare, not yet released */
};

struct hv_store {
	sqlite3 *db;
	struct store_stmt *stmts;	/* owned: the statement cache */
	size_t nstmts, capstmts;
	char *path;			/* owned: the file, for messages */
};

/* Fill e from SQLite's last error on s, naming its file, mapped to a
 * status by hv_store_status(). */
int store_fail(struct hv_store *s, struct hv_err *e, const char *what);

/* Run SQL that returns no rows. */
int store_exec(struct hv_store *s, const char *sql, struct hv_err *e);

/*
 * The statement for sql, ready to bind: made on the connection's first
 * use of that text and kept until hv_store_close, so a call costs no
 * sqlite3_prepare.  sql must have static storage (a literal, a static
 * table): its address is the key.  The statement is the caller's until
 * store_release; a statement asked for again meanwhile (a callback that
 * calls back into the store) gets a second one of its own.
 */
int store_prepare(struct hv_store *s, sqlite3_stmt **st, const char *sql, struct hv_err *e);

/*
 * Hand st back: reset (so it holds no read transaction, and COMMIT does
 * not find it pending) and its bindings cleared (so it keeps no pointer
 * to the caller's memory).  Every store_prepare has its store_release,
 * on every path; never sqlite3_finalize.
 */
void store_release(struct hv_store *s, sqlite3_stmt *st);

/* Step a statement that returns no rows, then release it. */
int store_run(struct hv_store *s, sqlite3_stmt *st, const char *what, struct hv_err *e);

/* Bind text or a message HMAC (HV_INDEX_MID_LEN bytes) to parameter i;
 * the value must outlive the statement's step. */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
void store_bind_mid(sqlite3_stmt *st, int i, const uint8_t *mid);

/* Step a query of one row: 0 on the row (left to read), HV_ENOINPUT on none. */
int store_one_row(struct hv_store *s, sqlite3_stmt *st, const char *what, struct hv_err *e);

#endif
