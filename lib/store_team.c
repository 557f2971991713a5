#include <string.h>

#include "index.h"
#include "store_int.h"
#include "banned.h"

int
hv_index_team_state(struct hv_store *s, const char *team, const char *source,
    struct hv_index_team_state *ts, struct hv_err *e)
{
	sqlite3_stmt *st;
	int r;

	memset(ts, 0, sizeof *ts);
	/* One read: the figures agree with each other even while hv-sync runs. */
	if ((r = store_prepare(s, &st, "SELECT "
	    "(SELECT updated FROM cursors WHERE account = ?2 AND kind = 'fetch'), "
	    "(SELECT max(imported) FROM copies WHERE team = ?1 AND member <> ?2), "
	    "(SELECT count(*) FROM messages WHERE team = ?1 AND done = 0), "
	    "(SELECT min(fetched) FROM messages WHERE team = ?1 AND done = 0)", e)) < 0)
		return r;
	store_bind_text(st, 1, team);
	store_bind_text(st, 2, source);
	if ((r = store_one_row(s, st, "team state", e)) == 0) {
		ts->fetched = sqlite3_column_int64(st, 0);
		ts->imported = sqlite3_column_int64(st, 1);
		ts->pending = sqlite3_column_int64(st, 2);
		ts->oldest = sqlite3_column_int64(st, 3);
	}
	store_release(s, st);
	return r;
}
