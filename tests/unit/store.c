/* store: statements made once per connection and used again, with
 * transactions, callbacks that call back in, and a second connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fetch.h"
#include "index.h"
#include "seal.h"
#include "store.h"
#include "tap.h"

static char dir[] = "/tmp/hv-store-unit.XXXXXX";
static char path[600];

static void
mid_of(uint8_t mid[HV_INDEX_MID_LEN], int i)
{
	memset(mid, 0, HV_INDEX_MID_LEN);
	mid[0] = (uint8_t)i;
	mid[1] = (uint8_t)(i >> 8);
}

static int
put_copies(struct hv_store *s, int msg, int n, const char *gmail_id, struct hv_err *e)
{
	uint8_t mid[HV_INDEX_MID_LEN];
	char member[64];
	int i, r = 0;

	mid_of(mid, msg);
	for (i = 0; i < n && r == 0; i++) {
		snprintf(member, sizeof member, "m%d@example.com", i);
		r = hv_index_copy_put(s, "support", mid, member, gmail_id, i, e);
	}
	return r;
}

static int
count(const struct hv_index_copy *c, void *arg)
{
	(void)c;
	++*(int *)arg;
	return 0;
}

struct nested {
	struct hv_store *s;
	int outer, inner, rc;
};

/* Calls back into the store with the very query that is being stepped. */
static int
nest(const struct hv_index_copy *c, void *arg)
{
	struct nested *n = arg;
	uint8_t mid[HV_INDEX_MID_LEN];
	struct hv_err e;
	char id[HV_INDEX_ID_SIZE];

	n->outer++;
	mid_of(mid, 1);
	n->rc |= hv_index_copies(n->s, mid, count, &n->inner, &e);
	n->rc |= hv_index_copy_get(n->s, c->team, mid, c->member, id, &e);
	n->rc |= strcmp(id, c->gmail_id) != 0;
	return 0;
}

static int
stop_at_first(const char *source_id, const uint8_t *mid, void *arg)
{
	(void)source_id;
	(void)mid;
	++*(int *)arg;
	return 1;
}

static void
test_reuse(void)
{
	struct hv_store *s;
	struct hv_err e;
	uint8_t mid[HV_INDEX_MID_LEN];
	char id[HV_INDEX_ID_SIZE] = "";
	int i, n = 0, done = -1, r = 0;

	ok(hv_store_open(&s, path, 1, &e) == 0, "open");
	for (i = 1; i <= 3 && r == 0; i++) {
		mid_of(mid, i);
		r = hv_index_message_put(s, "support", mid, "src@example.com",
		    i == 1 ? "s1" : i == 2 ? "s2" : "s3", "x", 1, i, &e);
	}
	is_int(r, 0, "three messages");
	is_int(put_copies(s, 1, 500, "g-old", &e), 0, "500 copies, autocommit");
	is_int(put_copies(s, 1, 500, "g-new", &e), 0, "and each again (the upsert)");
	mid_of(mid, 1);
	is_int(hv_index_copy_get(s, "support", mid, "m499@example.com", id, &e), 0,
	    "a copy found");
	is_str(id, "g-new", "with the values of the last use, not the first");
	is_int(hv_index_copy_get(s, "support", mid, "nobody@example.com", id, &e),
	    HV_ENOINPUT, "no row after a row: the statement was reset");
	is_int(hv_index_copies(s, mid, count, &n, &e), 0, "every copy");
	is_int(n, 500, "all 500");
	is_int(hv_index_has_source(s, "src@example.com", "s2", &e), 0, "a source found");
	is_int(hv_index_has_source(s, "src@example.com", "s9", &e), HV_ENOINPUT,
	    "another not");
	is_int(hv_index_message_done(s, "support", mid, &e), 0, "a message done");
	is_int(hv_index_message_get(s, "support", mid, &done, &e), 0, "read back");
	is_int(done, 1, "done");
	hv_store_close(s);
}

static void
test_transactions(void)
{
	struct hv_store *s = NULL, *t = NULL;
	struct hv_err e;
	struct nested nn = { 0 };
	uint8_t mid[HV_INDEX_MID_LEN];
	long long rows = 0;
	char id[HV_INDEX_ID_SIZE];
	int n = 0;

	ok(hv_store_open(&s, path, 0, &e) == 0 && hv_store_open(&t, path, 0, &e) == 0,
	    "two connections");
	mid_of(mid, 2);
	is_int(hv_store_begin(s, &e), 0, "begin");
	is_int(put_copies(s, 2, 100, "g2", &e), 0, "100 copies in it");
	is_int(hv_index_copy_get(s, "support", mid, "m7@example.com", id, &e), 0,
	    "seen inside the transaction");
	is_int(hv_index_pending(s, "support", stop_at_first, &n, &e), 1,
	    "a query left at its first row");
	is_int(hv_store_commit(s, &e), 0, "commit: no statement left pending");
	is_int(hv_index_copy_get(t, "support", mid, "m99@example.com", id, &e), 0,
	    "the other connection sees the rows");

	mid_of(mid, 3);
	is_int(hv_store_begin(s, &e), 0, "begin again: the cached BEGIN");
	is_int(put_copies(s, 3, 10, "g3", &e), 0, "10 copies");
	hv_store_rollback(s);
	is_int(hv_index_copy_get(s, "support", mid, "m0@example.com", id, &e), HV_ENOINPUT,
	    "rolled back");

	/* Gmail ids as long as hv takes come back whole; a longer one (only
	 * a damaged index holds it) is refused, not cut. */
	{
		char big[HV_INDEX_ID_SIZE + 2];

		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		big[HV_INDEX_ID_SIZE - 1] = '\0';
		is_int(hv_index_copy_put(s, "support", mid, "long@example.com", big, 1, &e), 0,
		    "a 255-byte id stored");
		ok(hv_index_copy_get(s, "support", mid, "long@example.com", id, &e) == 0 &&
		    strcmp(id, big) == 0, "and read back whole");
		big[HV_INDEX_ID_SIZE - 1] = 'a';
		is_int(hv_index_copy_put(s, "support", mid, "longer@example.com", big, 1, &e), 0,
		    "a 257-byte id stored");
		is_int(hv_index_copy_get(s, "support", mid, "longer@example.com", id, &e), HV_EDATA,
		    "refused when read, not cut");
	}
	is_int(hv_store_begin(s, &e), 0, "and a transaction after the rollback");
	is_int(hv_store_commit(s, &e), 0, "commits");

	nn.s = s;
	mid_of(mid, 1);
	is_int(hv_index_copies(s, mid, nest, &nn, &e), 0, "a callback calls the same query");
	ok(nn.rc == 0 && nn.outer == 500 && nn.inner == 500 * 500,
	    "both levels saw every row (%d, %d)", nn.outer, nn.inner);

	/* Released statements hold no read transaction: the erasure's
	 * TRUNCATE checkpoint would say HV_ETEMP if t's did. */
	is_int(hv_store_erase_account(s, "m1@example.com", &rows, &e), 0,
	    "an erasure empties the log past the other connection's queries");
	ok(rows >= 2, "its rows deleted (%lld)", rows);
	hv_store_close(t);
	hv_store_close(s);
	hv_store_close(NULL);
}

static int
collect(const char *account, void *arg)
{
	char *out = arg;

	strcat(out, account);
	strcat(out, " ");
	return 0;
}

static int
collect_skip(const struct hv_index_skip *k, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 512 - strlen(out), "%s/%s/%s/%s ", k->team, k->member,
	    k->kind, k->why);
	return 0;
}

/* A team's roster: replaced whole, members hv skips left out of the
 * members it syncs to, and erased with the account. */
static void
test_roster(void)
{
	char b[] = "b@example.com", a[] = "a@example.com", x[] = "x@other.example";
	char *first[] = { b, a, x }, *second[] = { a };
	struct hv_index_skip k[] = {
		{ NULL, "x@other.example", "USER", "never signed in", 0 },
		{ NULL, "customer C01", "CUSTOMER", "the whole organisation", 0 },
	};
	struct hv_store *s;
	struct hv_err e = { 0 };
	char out[512];
	long long rows;

	is_int(hv_store_open(&s, path, 1, &e), 0, "roster: open");
	is_int(hv_index_roster_put(s, "grp", first, 3, k, 2, 100, &e), 0, "a roster recorded");
	is_int(hv_index_member_has(s, "grp", "X@Other.Example", &e), 0,
	    "a skipped user is still a member (for its scopes), whatever the case");
	is_int(hv_index_member_has(s, "other", "a@example.com", &e), HV_ENOINPUT,
	    "of that team only");
	out[0] = '\0';
	is_int(hv_index_members(s, "grp", collect, out, &e), 0, "members listed");
	is_str(out, "a@example.com b@example.com ", "in order, without the skipped");
	out[0] = '\0';
	is_int(hv_index_skipped(s, NULL, collect_skip, out, &e), 0, "skipped listed");
	is_str(out, "grp/customer C01/CUSTOMER/the whole organisation "
	    "grp/x@other.example/USER/never signed in ", "with kind and why");
	is_int(hv_store_erase_account(s, "x@other.example", &rows, &e), 0, "an erasure");
	out[0] = '\0';
	hv_index_skipped(s, "grp", collect_skip, out, &e);
	is_str(out, "grp/customer C01/CUSTOMER/the whole organisation ",
	    "takes the skipped row too");
	is_int(hv_index_roster_put(s, "grp", second, 1, NULL, 0, 200, &e), 0, "a new roster");
	is_int(hv_index_member_has(s, "grp", "b@example.com", &e), HV_ENOINPUT,
	    "who left the group is no member");
	out[0] = '\0';
	hv_index_skipped(s, "grp", collect_skip, out, &e);
	is_str(out, "", "and nothing is skipped any more");
	hv_store_close(s);
}

/* What hv-doctor reads of a team: cursor time, newest copy (not the
 * source's own rows), pending count and the oldest pending. */
static void
test_team_state(void)
{
	struct hv_index_team_state ts;
	struct hv_store *s;
	struct hv_err e = { 0 };
	uint8_t mid[HV_INDEX_MID_LEN];

	is_int(hv_store_open(&s, path, 1, &e), 0, "team state: open");
	is_int(hv_index_team_state(s, "quiet", "q@example.com", &ts, &e), 0, "an unknown team");
	ok(ts.fetched == 0 && ts.imported == 0 && ts.pending == 0 && ts.oldest == 0,
	    "has never run");
	hv_index_cursor_put(s, "t@example.com", "fetch", "77", 5000, &e);
	hv_index_cursor_put(s, "t@example.com", "labels", "78", 6000, &e);
	mid_of(mid, 901);
	hv_index_message_put(s, "tstate", mid, "t@example.com", "g1", NULL, 0, 4000, &e);
	hv_index_copy_put(s, "tstate", mid, "m@example.com", "c1", 4100, &e);
	hv_index_copy_put(s, "tstate", mid, "t@example.com", "g1", 4900, &e);
	hv_index_message_done(s, "tstate", mid, &e);
	mid_of(mid, 902);
	hv_index_message_put(s, "tstate", mid, "t@example.com", "g2", NULL, 0, 4200, &e);
	mid_of(mid, 903);
	hv_index_message_put(s, "tstate", mid, "t@example.com", "g3", NULL, 0, 4300, &e);
	is_int(hv_index_team_state(s, "tstate", "t@example.com", &ts, &e), 0, "a team's state");
	ok(ts.fetched == 5000, "the fetch cursor's time, not the labels one");
	ok(ts.imported == 4100, "the newest copy to a member");
	ok(ts.pending == 2 && ts.oldest == 4200, "two pending, the oldest fetched at 4200");
	hv_store_close(s);
}

/* What migration 6 leaves on a row of before it: subject_bound = 0. */
static int
mark_unbound(int i)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	uint8_t mid[HV_INDEX_MID_LEN];
	int rc = -1;

	mid_of(mid, i);
	if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db,
	    "UPDATE messages SET subject_bound = 0 WHERE mid_hmac = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_blob(st, 1, mid, HV_INDEX_MID_LEN, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return rc;
}

/* Seal a subject for message i of "support" and put the row. */
static int
put_subject(struct hv_store *s, const struct hv_seal_key *k, int i, const char *subject,
    struct hv_err *e)
{
	struct hv_buf sealed = HV_BUF_INIT(4096);
	uint8_t mid[HV_INDEX_MID_LEN];
	char id[16];
	int r;

	mid_of(mid, i);
	snprintf(id, sizeof id, "subj%d", i);
	if ((r = hv_fetch_subject_seal(k, "support", mid, subject, strlen(subject), &sealed,
	    e)) == 0)
		r = hv_index_message_put(s, "support", mid, "src@example.com", id, sealed.data,
		    sealed.len, i, e);
	hv_buf_release(&sealed);
	return r;
}

/* The subject of message i as hv opens it: 0 and out, or the error. */
static int
open_subject(struct hv_store *s, const struct hv_seal_key *k, int i, struct hv_buf *out)
{
	struct hv_buf sealed = HV_BUF_INIT(4096);
	uint8_t mid[HV_INDEX_MID_LEN];
	int r;

	mid_of(mid, i);
	hv_buf_reset(out);
	if ((r = hv_index_subject_get(s, "support", mid, &sealed, NULL)) == 0)
		r = hv_fetch_subject_open(k, "support", mid, sealed.data, sealed.len, out, NULL);
	hv_buf_release(&sealed);
	return r;
}

/*
 * Subjects are sealed with their message bound in: two rows' sealed
 * subjects swapped no longer open, and rows sealed under the team alone
 * (before schema 6) are sealed again with their message.
 */
static void
test_subjects(void)
{
	struct hv_store *s;
	struct hv_seal_key *k;
	struct hv_buf a = HV_BUF_INIT(4096), b = HV_BUF_INIT(4096), out = HV_BUF_INIT(4096);
	uint8_t key[HV_SEAL_KEY_LEN], m1[HV_INDEX_MID_LEN], m2[HV_INDEX_MID_LEN];
	struct hv_err e;
	size_t n = 0, dropped = 0;

	memset(key, 7, sizeof key);
	mid_of(m1, 101);
	mid_of(m2, 102);
	if (!ok(hv_store_open(&s, path, 1, &e) == 0 && hv_seal_key_symmetric(&k, key, &e) == 0,
	    "open, and a subjects key"))
		return;
	is_int(put_subject(s, k, 101, "Invoice 8 paid", &e), 0, "a subject");
	is_int(put_subject(s, k, 102, "Your password reset", &e), 0, "another");
	ok(open_subject(s, k, 101, &out) == 0 && strcmp(out.data, "Invoice 8 paid") == 0,
	    "each opens in its own row");
	ok(hv_index_subject_get(s, "support", m1, &a, &e) == 0 &&
	    hv_index_subject_get(s, "support", m2, &b, &e) == 0 &&
	    hv_index_subject_set(s, "support", m1, b.data, b.len, &e) == 0 &&
	    hv_index_subject_set(s, "support", m2, a.data, a.len, &e) == 0, "swap the two");
	is_int(open_subject(s, k, 101, &out), HV_EDATA, "a swapped subject fails to open");
	is_int(open_subject(s, k, 102, &out), HV_EDATA, "both ways");

	/* A row of before schema 6: sealed under the team name alone. */
	hv_buf_reset(&a);
	ok(hv_seal_mem(k, "support", 7, "Old subject", 11, &a, &e) == 0 &&
	    hv_index_subject_set(s, "support", m1, a.data, a.len, &e) == 0, "an old row");
	ok(mark_unbound(101) == 0, "marked as sealed the old way, as migration 6 leaves it");
	ok(mark_unbound(102) == 0, "and a swapped one likewise");
	is_int(hv_fetch_subjects_rebind(s, k, "support", &n, &dropped, &e), 0, "rebind");
	ok(n == 2 && dropped == 1, "the old row is sealed again, the one that does not open "
	    "dropped (%zu, %zu)", n, dropped);
	is_int(open_subject(s, k, 102, &out), HV_ENOINPUT, "it has no subject now");
	ok(open_subject(s, k, 101, &out) == 0 && strcmp(out.data, "Old subject") == 0,
	    "the old subject opens, bound to its message now");
	is_int(hv_fetch_subjects_rebind(s, k, "support", &n, &dropped, &e), 0, "rebind again");
	ok(n == 0, "finds nothing left to do");
	hv_buf_release(&a);
	hv_buf_release(&b);
	hv_buf_release(&out);
	hv_seal_key_free(k);
	hv_store_close(s);
}

int
main(void)
{
	char cmd[64];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/hv.db", dir);
	test_reuse();
	test_transactions();
	test_roster();
	test_team_state();
	test_subjects();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
