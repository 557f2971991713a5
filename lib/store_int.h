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

struct hv_store {
	sqlite3 *db;
};

/* Fill e from SQLite's last error on s, mapped to a status: busy is
 * HV_ETEMP, corrupt HV_EDATA, read-only HV_EPERM, full HV_EIO. */
int store_fail(struct hv_store *s, struct hv_err *e, const char *what);

/* Run SQL that returns no rows. */
int store_exec(struct hv_store *s, const char *sql, struct hv_err *e);

int store_prepare(struct hv_store *s, sqlite3_stmt **st, const char *sql, struct hv_err *e);

/* Step a statement that returns no rows, then finalize it. */
int store_run(struct hv_store *s, sqlite3_stmt *st, const char *what, struct hv_err *e);

/* Bind text or a message HMAC (HV_INDEX_MID_LEN bytes) to parameter i;
 * the value must outlive the statement's step. */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
void store_bind_mid(sqlite3_stmt *st, int i, const uint8_t *mid);

/* Step a query of one row: 0 on the row (left to read), HV_ENOINPUT on none. */
int store_one_row(struct hv_store *s, sqlite3_stmt *st, const char *what, struct hv_err *e);

#endif
