/* store: statements made once per connection and used again, with
 * transactions, callbacks that call back in, and a second connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
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
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
