#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "clock.h"
#include "crashpoint.h"
#include "crypto.h"
#include "fetch.h"
#include "gmail.h"
#include "index.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "mime.h"
#include "seal.h"
#include "spool.h"
#include "banned.h"

/* A message to look at: its id, what history said of its labels, and
 * whether the index already waits on it (a re-fetch). */
struct cand {
	char *id;
	char *labels;
	int refetch;		/* the index waits on it and its spool file is gone */
	char *spooled;		/* the index waits on it and this spool file has it */
};

struct run {
	const struct hv_config *cfg;
	const struct hv_team *team;
	const struct hv_fetch_opts *opts;
	const struct hv_fetch_io *io;
	struct hv_fetch_stats *st;
	struct hv_auth *auth;
	struct hv_store *store;
	struct hv_spool *spool;
	struct hv_gmail_pool *pool;
	struct hv_gmail *gmail;
	struct hv_audit_batch *audit;
	struct hv_seal_key *subjects;
	struct cand *c;
	size_t n, cap;
	char **spooled;		/* "id/path" of the team's spool files, sorted */
	size_t nspooled;
};

static void
note(struct run *r, int progress, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
note(struct run *r, int progress, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->io->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->io->note(progress, msg, r->io->arg);
}

static void
sprintf_id_path(char *out, const char *id, const char *path)
{
	size_t n = strlen(id);

	memcpy(out, id, n);
	out[n] = '/';
	memcpy(out + n + 1, path, strlen(path) + 1);
}

/* Order "id/path" strings by id alone. */
static int
cmp_id(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = strcspn(x, "/"), ny = strcspn(y, "/");
	int c = strncmp(x, y, nx < ny ? nx : ny);

	return c ? c : (nx > ny) - (nx < ny);
}

static int
add_cand(const char *id, const char *labels, void *arg)
{
	struct run *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->c = hv_xrealloc(r->c, r->cap * sizeof *r->c);
	}
	r->c[r->n].id = hv_xstrdup(id);
	r->c[r->n].labels = hv_xstrdup(labels);
	r->c[r->n].refetch = 0;
	r->c[r->n].spooled = NULL;
	r->n++;
	r->st->listed++;
	if (r->st->full && r->st->listed % 1000 == 0)
		note(r, 1, "listed %ld messages", r->st->listed);
	return 0;
}

static int
spooled_id(const struct hv_spool_entry *ent, void *arg)
{
	struct run *r = arg;

	long long E = r->cfg->spool.epoch;

	if (strcmp(ent->team, r->team->name) != 0)
		return 0;
	/*
	 * A key dies ttl after its epoch began: the file is noise, fetched
	 * anew.  It goes now rather than at hv-purge's next run, or hv-sync
	 * would read it as a message gone, after its fresh copy is done.
	 */
	if (ent->epoch * E + r->cfg->spool.ttl <= hv_now()) {
		(void)hv_spool_remove(r->spool, ent->path, NULL);
		return 0;
	}
	r->spooled = hv_xrealloc(r->spooled, (r->nspooled + 1) * sizeof *r->spooled);
	r->spooled[r->nspooled] = hv_xmalloc(strlen(ent->gmail_id) + strlen(ent->path) + 2);
	sprintf_id_path(r->spooled[r->nspooled++], ent->gmail_id, ent->path);
	return 0;
}

static int
pending(const char *source_id, const uint8_t *mid, void *arg)
{
	struct run *r = arg;
	const char *key = source_id;
	char **hit;

	(void)mid;
	hit = r->nspooled ? bsearch(&key, r->spooled, r->nspooled, sizeof *r->spooled,
	    cmp_id) : NULL;
	add_cand(source_id, "", r);
	r->st->listed--;
	/* Spooled but not synced (a crash, a cut run): tell hv-sync again. */
	if (hit != NULL)
		r->c[r->n - 1].spooled = hv_xstrdup(*hit + strlen(source_id) + 1);
	else
		r->c[r->n - 1].refetch = 1;
	return 0;
}

/* Which messages to look at, and the cursor to move to afterwards. */
static int
candidates(struct run *r, struct hv_buf *latest, struct hv_err *e)
{
	struct hv_buf cursor = HV_BUF_INIT(64);
	const char *query = r->opts->query ? r->opts->query : r->team->query;
	int rc = HV_ENOINPUT;

	if (!r->opts->full)
		rc = hv_index_cursor_get(r->store, r->team->source, "fetch", &cursor, e);
	if (rc == 0) {
		rc = hv_gmail_history(r->gmail, cursor.data, r->opts->label, add_cand, r, latest, e);
		if (rc == HV_ENOINPUT)
			note(r, 0, "%s: history from %s has expired; listing in full",
			    r->team->source, cursor.data);
	}
	if (rc == HV_ENOINPUT) {
		r->st->full = 1;
		hv_buf_reset(latest);
		/* The history id before listing, so nothing added meanwhile is missed. */
		if ((rc = hv_gmail_profile(r->gmail, latest, e)) == 0)
			rc = hv_gmail_list(r->gmail, query, r->opts->label, add_cand, r, e);
		/* Listings come newest first; members should get mail in order. */
		for (size_t i = 0; rc == 0 && i < r->n / 2; i++) {
			struct cand t = r->c[i];

			r->c[i] = r->c[r->n - 1 - i];
			r->c[r->n - 1 - i] = t;
		}
	}
	if (rc == 0 && (rc = hv_spool_each(r->spool, spooled_id, r, NULL, e)) == 0) {
		/* qsort's array must not be NULL, even for no elements. */
		if (r->nspooled > 0)
			qsort(r->spooled, r->nspooled, sizeof *r->spooled, cmp_id);
		rc = hv_index_pending(r->store, r->team->name, pending, r, e);
	}
	hv_buf_release(&cursor);
	return rc;
}

static int
has_label(const char *labels, const char *l)
{
	size_t n = strlen(l);
	const char *p = labels;

	while ((p = strstr(p, l)) != NULL) {
		if ((p == labels || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Drafts, spam and the bin are not mail the team shares. */
static int
unwanted(const char *labels)
{
	return has_label(labels, "DRAFT") || has_label(labels, "SPAM") ||
	    has_label(labels, "TRASH");
}

static int
emit_line(struct run *r, const struct hv_gmail_message *m, size_t size, const char *path,
    const struct hv_mime_ids *ids)
{
	struct hv_json *j = hv_json_object();
	struct hv_buf line = HV_BUF_INIT(64 * 1024);
	char when[32];
	time_t t = (time_t)hv_now();
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	hv_json_set_str(j, "team", r->team->name);
	hv_json_set_str(j, "account", r->team->source);
	hv_json_set_str(j, "id", m->id);
	hv_json_set_str(j, "threadId", m->thread_id);
	hv_json_set_str(j, "historyId", m->history_id);
	hv_json_set_str(j, "spool", path);
	hv_json_set_str(j, "messageId", ids->message_id);
	hv_json_set_str(j, "subject", ids->subject.data ? ids->subject.data : "");
	hv_json_set_str(j, "labels", m->labels);
	hv_json_set_int(j, "size", (long long)size);
	hv_json_set_str(j, "fetched", when);
	rc = hv_json_dump(j, &line);
	if (rc == 0 && r->io->emit != NULL)
		rc = r->io->emit(line.data, r->io->arg);
	hv_json_free(j);
	hv_buf_release(&line);
	return rc;
}

/* The line for a message already spooled: what hv-sync needs to find it. */
static int
emit_again(struct run *r, const struct cand *c)
{
	struct hv_json *j = hv_json_object();
	struct hv_buf line = HV_BUF_INIT(8192);
	int rc;

	hv_json_set_str(j, "team", r->team->name);
	hv_json_set_str(j, "account", r->team->source);
	hv_json_set_str(j, "id", c->id);
	hv_json_set_str(j, "spool", c->spooled);
	hv_json_set_bool(j, "again", 1);
	rc = hv_json_dump(j, &line);
	if (rc == 0 && r->io->emit != NULL)
		rc = r->io->emit(line.data, r->io->arg);
	hv_json_free(j);
	hv_buf_release(&line);
	return rc;
}

static void
mid_of(const struct run *r, const char *message_id, uint8_t mid[HV_INDEX_MID_LEN])
{
	hv_hmac_sha256(mid, hv_auth_key(r->auth, HV_AUTH_KEY_INDEX), HV_KEY_LEN, message_id,
	    strlen(message_id));
}

/* Queue an event, appended with its group's (flush_group).  A run that
 * cannot keep its trail stops: access off the record is none. */
static int
audit(struct run *r, const char *action, const char *message_id, int outcome,
    const char *error, struct hv_err *e)
{
	return hv_audit_batch_message(r->audit, action, r->team->source, r->team->name,
	    message_id, outcome, error, e);
}

/* A message's get, started ahead of its turn, and what became of it. */
struct slot {
	const struct cand *c;
	struct hv_gmail_message m;
	int got;		/* 1: Google answered (or the call failed); -1: no get */
	int rc;
	struct hv_err e;
	/* Spooled and waiting for its group's index rows and line: */
	int spooled;
	char *path;
	struct hv_mime_ids ids;
	uint8_t mid[HV_INDEX_MID_LEN];
	uint8_t content[HV_INDEX_MID_LEN];	/* content_of() */
	struct hv_buf subject;	/* sealed */
	size_t size;
};

static void
slot_release(struct slot *s)
{
	if (s->got > 0)
		hv_gmail_message_release(&s->m);
	if (s->ids.subject.data != NULL)
		hv_mime_ids_release(&s->ids);
	hv_buf_release(&s->subject);
	free(s->path);
	memset(s, 0, sizeof *s);
}

static void
got_raw(void *arg, int rc, const char *id, const struct hv_err *e)
{
	struct slot *s = arg;

	(void)id;
	s->got = 1;
	s->rc = rc;
	if (rc < 0)
		s->e = *e;
}

/* Whether a message of the group before s has the Message-ID of s. */
static const struct slot *
in_group(const struct slot *slots, size_t window, size_t from, const struct slot *s)
{
	const struct slot *o;
	size_t i;

	for (i = from; (o = &slots[i % window]) != s; i++)
		if (o->spooled > 0 && o->path != NULL &&
		    memcmp(o->mid, s->mid, HV_INDEX_MID_LEN) == 0)
			return o;
	return NULL;
}

/*
 * The HMAC of what a sender cannot copy without having the message: its
 * subject and its body (everything after the header, which differs
 * between two deliveries of one message only in its trace fields).  The
 * Message-ID is the sender's choice; this tells a copy of a message from
 * another message sent under a Message-ID it took first.
 */
static void
content_of(const struct run *r, const struct slot *s, uint8_t out[HV_INDEX_MID_LEN])
{
	const char *raw = s->m.raw.data, *body;
	size_t len = s->m.raw.len, off;
	struct hv_buf b = HV_BUF_INIT(HV_MIME_SUBJECT_MAX * 4 + 64);
	uint8_t h[HV_SHA256_LEN];

	body = memmem(raw, len, "\r\n\r\n", 4);
	off = body != NULL ? (size_t)(body - raw) + 4 : 0;
	if (body == NULL && (body = memmem(raw, len, "\n\n", 2)) != NULL)
		off = (size_t)(body - raw) + 2;
	hv_sha256(h, raw + off, len - off);
	hv_buf_add(&b, "hv-content", 11);
	hv_buf_add(&b, s->ids.subject.data ? s->ids.subject.data : "", s->ids.subject.len);
	hv_buf_add(&b, "", 1);
	hv_buf_add(&b, h, sizeof h);
	hv_hmac_sha256(out, hv_auth_key(r->auth, HV_AUTH_KEY_INDEX), HV_KEY_LEN, b.data, b.len);
	hv_buf_release(&b);
}

/*
 * The team holds s's Message-ID already (earlier: the message of this
 * group that has it, or NULL for the index).  The same content is a copy:
 * skipped, as before.  Other content is another message that took the
 * Message-ID first (an outsider can send one with a coming Message-ID):
 * Gmail keeps one message per Message-ID, so it cannot be delivered, but
 * it is never dropped in silence.
 */
static int
held(struct run *r, const struct slot *earlier, struct slot *s, struct hv_err *e)
{
	uint8_t had[HV_INDEX_MID_LEN];
	int known;

	r->st->skipped++;
	s->spooled = -1;
	known = earlier != NULL ? (memcpy(had, earlier->content, sizeof had), 1) :
	    hv_index_content_get(r->store, r->team->name, s->mid, had, NULL) == 0;
	if (!known || hv_ct_equal(had, s->content, sizeof had))
		/* The same Message-ID is already the team's: one copy is enough. */
		return audit(r, HV_AUDIT_MSG_SKIP, s->ids.message_id, HV_AUDIT_OK,
		    "duplicate Message-ID", e);
	r->st->conflicts++;
	note(r, 0, "%s: message %s has the Message-ID %s of an earlier message with other "
	    "content; kept the earlier, see hv-audit", r->team->name, s->m.id,
	    s->ids.message_id);
	return audit(r, HV_AUDIT_MSG_CONFLICT, s->ids.message_id, HV_AUDIT_FAIL,
	    "the Message-ID of an earlier message with other content; kept the earlier", e);
}

/* One message, downloaded: into the spool, unless the team has it (the
 * index says so, or a message of its group, from..s, has its Message-ID). */
static int
spool_one(struct run *r, struct slot *slots, size_t window, size_t from, struct slot *s,
    struct hv_err *e)
{
	const struct cand *c = s->c;
	const struct slot *earlier;
	struct hv_gmail_message *m = &s->m;
	int rc, done = 0;

	if ((rc = s->rc) < 0) {
		*e = s->e;
		if (rc == HV_ENOINPUT) {
			/* Deleted between listing and fetching: nothing to share. */
			note(r, 0, "%s: message %s is gone", r->team->source, c->id);
			r->st->skipped++;
			rc = 0;
		}
		return rc;
	}
	if (unwanted(m->labels)) {
		r->st->skipped++;
		return 0;
	}
	if ((rc = hv_mime_ids(&s->ids, m->raw.data, m->raw.len, m->id, e)) < 0)
		return rc;
	if (s->ids.flags & (HV_MIME_NO_ID | HV_MIME_DUP_ID))
		note(r, 0, "%s: message %s: %s Message-ID; using %s", r->team->source, m->id,
		    s->ids.flags & HV_MIME_NO_ID ? "no usable" : "conflicting", s->ids.message_id);
	mid_of(r, s->ids.message_id, s->mid);
	content_of(r, s, s->content);
	hv_buf_init(&s->subject, HV_MIME_SUBJECT_MAX * 2);
	s->spooled = 1;
	if (!c->refetch && ((earlier = in_group(slots, window, from, s)) != NULL ||
	    hv_index_message_get(r->store, r->team->name, s->mid, &done, NULL) == 0))
		return held(r, earlier, s, e);
	if ((rc = hv_spool_put(r->spool, r->team->name, r->team->source, m->id, m->raw.data,
	    m->raw.len, &s->path, e)) < 0)
		return rc;
	hv_crashpoint();
	/* The raw mail is sealed in the spool now: no copy stays in memory. */
	s->size = m->raw.len;
	hv_buf_release(&m->raw);
	return hv_fetch_subject_seal(r->subjects, r->team->name, s->mid,
	    s->ids.subject.data ? s->ids.subject.data : "", s->ids.subject.len, &s->subject, e);
}

/*
 * A file of an earlier run for the message id, other than path: a run
 * killed between spooling and indexing left it, and the index row now
 * names path.  What cannot be removed is hv-purge's.
 */
static void
drop_older(struct run *r, const char *id, const char *path)
{
	const char *key = id;
	char **hit, **end = r->spooled + r->nspooled;
	size_t n = strlen(id);

	if (r->nspooled == 0 ||
	    (hit = bsearch(&key, r->spooled, r->nspooled, sizeof *r->spooled, cmp_id)) == NULL)
		return;
	while (hit > r->spooled && cmp_id(&key, hit - 1) == 0)
		hit--;
	for (; hit < end && cmp_id(&key, hit) == 0; hit++)
		if (strcmp(*hit + n + 1, path) != 0)
			(void)hv_spool_remove(r->spool, *hit + n + 1, NULL);
}

/*
 * A group of messages spooled: their index rows in one transaction, their
 * events in one append, then their lines, in listing order.  Only then is
 * a message told to hv-sync, so it never reads a file the index lacks.
 */
static int
flush_group(struct run *r, struct slot *slots, size_t window, size_t from, size_t to,
    struct hv_err *e)
{
	struct slot *s;
	size_t i;
	int rc = 0;

	if ((rc = hv_store_begin(r->store, e)) < 0)
		return rc;
	for (i = from; i < to && rc == 0; i++) {
		s = &slots[i % window];
		if (s->spooled > 0 && s->path != NULL &&
		    (rc = hv_index_message_put(r->store, r->team->name, s->mid,
		    r->team->source, s->m.id, s->subject.data, s->subject.len, hv_now(),
		    e)) == 0)
			rc = hv_index_content_put(r->store, r->team->name, s->mid, s->content, e);
	}
	if (rc < 0 || (rc = hv_store_commit(r->store, e)) < 0) {
		hv_store_rollback(r->store);
		return rc;
	}
	hv_crashpoint();
	for (i = from; i < to && rc == 0; i++) {
		s = &slots[i % window];
		if (s->spooled > 0 && s->path != NULL) {
			drop_older(r, s->m.id, s->path);
			rc = audit(r, HV_AUDIT_MSG_FETCH, s->ids.message_id, HV_AUDIT_OK, NULL, e);
		}
	}
	if (rc < 0 || (rc = hv_audit_batch_flush(r->audit, e)) < 0)
		return rc;
	for (i = from; i < to; i++) {
		s = &slots[i % window];
		if (s->got < 0 && s->c->spooled != NULL) {
			if (emit_again(r, s->c) != 0)
				return hv_err_set(e, HV_EIO, "cannot write the message line");
			r->st->again++;
		} else if (s->spooled > 0 && s->path != NULL) {
			if (emit_line(r, &s->m, s->size, s->path, &s->ids) != 0)
				return hv_err_set(e, HV_EIO, "cannot write the message line");
			if (s->c->refetch)
				r->st->refetched++;
			else
				r->st->fetched++;
		}
		slot_release(s);
	}
	return 0;
}

/* Whether a candidate needs its get: not when spooled, unwanted or had. */
static int
needs_get(struct run *r, const struct cand *c)
{
	if (c->spooled != NULL)
		return 0;
	return c->refetch || (!unwanted(c->labels) &&
	    hv_index_has_source(r->store, r->team->source, c->id, NULL) != 0);
}

/* Start the gets the window allows: *next is the first not started. */
static void
start_gets(struct run *r, struct slot *slots, size_t window, size_t from, size_t *next,
    long *started)
{
	struct slot *s;
	struct hv_err e;
	int go, rc;

	while (*next < r->n && *next < from + window && !r->st->cut &&
	    !hv_gmail_pool_broken(r->pool, NULL)) {
		s = &slots[*next % window];
		memset(s, 0, sizeof *s);
		s->c = &r->c[*next];
		if ((go = needs_get(r, s->c)) && r->opts->max > 0 && *started >= r->opts->max) {
			r->st->cut = 1;
			return;
		}
		(*next)++;
		if (!go) {
			s->got = -1;
			if (s->c->spooled == NULL)
				r->st->skipped++;
			continue;
		}
		(*started)++;
		hv_gmail_message_init(&s->m);
		memset(&e, 0, sizeof e);
		if ((rc = hv_gmail_get_raw_start(r->gmail, s->c->id, &s->m, got_raw, s, &e)) < 0)
			got_raw(s, rc, NULL, &e);
	}
}

/*
 * Gets run ahead of their turn, a window of them in flight; the messages
 * whose turn has come and whose answers are in are spooled and written
 * out together, in listing order.
 */
static int
fetch_all(struct run *r, struct hv_err *e)
{
	size_t window = 4 * (size_t)r->cfg->google.inflight, next = 0, i = 0, j, k;
	struct slot *slots = hv_xcalloc(window, sizeof *slots), *s;
	struct hv_err why;
	long started = 0;
	int rc = 0, first = 0;

	while (rc == 0) {
		start_gets(r, slots, window, i, &next, &started);
		if (i >= next)
			break;	/* all done, or cut short by --max or the breaker */
		s = &slots[i % window];
		while (!s->got && (rc = hv_gmail_pool_step(r->pool, -1, NULL, -1, e)) == 0)
			;
		for (j = i; rc == 0 && j < next && slots[j % window].got != 0; j++) {
			s = &slots[j % window];
			if (s->got < 0 || (rc = spool_one(r, slots, window, i, s, e)) == 0)
				continue;
			r->st->failed++;
			/* Access gone, a lockout or the disk full: nothing else
			 * will go better. */
			if ((rc != HV_ETEMP && rc != HV_EPROTO && rc != HV_EDATA) ||
			    hv_gmail_closed(r->gmail))
				break;
			if (first == 0)
				first = rc;
			if (!hv_gmail_pool_broken(r->pool, NULL))
				note(r, 0, "%s", e->msg);
			rc = 0;
		}
		if (rc == 0)
			rc = flush_group(r, slots, window, i, j, e);
		if (r->st->full && j / 100 > i / 100)
			note(r, 1, "fetched %ld of %zu", r->st->fetched + r->st->refetched, r->n);
		i = j;
	}
	/* A run that stops early lets the gets under way end first. */
	hv_gmail_pool_cancel(r->pool);
	for (k = 0; k < window; k++)
		slot_release(&slots[k]);
	free(slots);
	if (rc == 0 && hv_gmail_pool_broken(r->pool, &why) && r->st->failed > 0) {
		*e = why;
		return HV_ETEMP;
	}
	return rc < 0 ? rc : first;
}

static void
run_release(struct run *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->c[i].id);
		free(r->c[i].labels);
		free(r->c[i].spooled);
	}
	free(r->c);
	for (i = 0; i < r->nspooled; i++)
		free(r->spooled[i]);
	free(r->spooled);
	hv_gmail_free(r->gmail);
	hv_gmail_pool_free(r->pool);
	hv_audit_batch_free(r->audit);
	hv_spool_close(r->spool);
	hv_seal_key_free(r->subjects);
	hv_auth_close(r->auth);
}

int
hv_fetch_subject_seal(const struct hv_seal_key *k, const char *team, const uint8_t *mid,
    const char *subject, size_t len, struct hv_buf *out, struct hv_err *e)
{
	struct hv_buf ctx = HV_BUF_INIT(512);
	int r;

	hv_index_subject_ctx(&ctx, team, mid);
	r = ctx.len > 0 ? hv_seal_mem(k, ctx.data, ctx.len, subject, len, out, e) :
	    hv_err_set(e, HV_EINTERNAL, "team name too long");
	hv_buf_release(&ctx);
	return r;
}

int
hv_fetch_subject_open(const struct hv_seal_key *k, const char *team, const uint8_t *mid,
    const void *sealed, size_t len, struct hv_buf *out, struct hv_err *e)
{
	struct hv_buf ctx = HV_BUF_INIT(512);
	int r;

	hv_index_subject_ctx(&ctx, team, mid);
	r = ctx.len > 0 ? hv_open_mem(k, ctx.data, ctx.len, sealed, len, out, e) :
	    hv_err_set(e, HV_EINTERNAL, "team name too long");
	hv_buf_release(&ctx);
	return r;
}

struct unbound {
	uint8_t (*mid)[HV_INDEX_MID_LEN];
	struct hv_buf *sealed;
	size_t n, cap;
};

static int
unbound_add(const uint8_t *mid, const void *sealed, size_t len, void *arg)
{
	struct unbound *u = arg;

	if (u->n == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 16;
		u->mid = hv_xrealloc(u->mid, u->cap * sizeof *u->mid);
		u->sealed = hv_xrealloc(u->sealed, u->cap * sizeof *u->sealed);
	}
	memcpy(u->mid[u->n], mid, HV_INDEX_MID_LEN);
	hv_buf_init(&u->sealed[u->n], HV_MIME_SUBJECT_MAX * 4);
	if (sealed != NULL && hv_buf_add(&u->sealed[u->n], sealed, len) < 0) {
		hv_buf_release(&u->sealed[u->n]);
		return HV_EDATA;
	}
	u->n++;
	return 0;
}

/*
 * One subject sealed under the team alone, sealed again with its message.
 * One that does not open under the team either was damaged or moved: it
 * is dropped (a subject nobody can read is worth nothing), and counted in
 * *dropped, rather than stopping every later fetch.
 */
static int
rebind_one(const struct hv_seal_key *k, struct hv_store *s, const char *team,
    const uint8_t *mid, const struct hv_buf *old, size_t *dropped, struct hv_err *e)
{
	struct hv_buf plain, sealed = HV_BUF_INIT(HV_MIME_SUBJECT_MAX * 4);
	int r;

	hv_buf_init_secret(&plain, HV_MIME_SUBJECT_MAX * 2);
	r = old->len == 0 ? 0 : hv_open_mem(k, team, strlen(team), old->data, old->len, &plain,
	    NULL);
	if (r == HV_EDATA || r == HV_EPERM) {
		(*dropped)++;
		r = hv_index_subject_set(s, team, mid, NULL, 0, e);
	} else if (r == 0 && (r = hv_fetch_subject_seal(k, team, mid, plain.len ? plain.data :
	    "", plain.len, &sealed, e)) == 0) {
		r = hv_index_subject_set(s, team, mid, sealed.data, sealed.len, e);
	} else if (r < 0) {
		r = hv_err_set(e, r, "team '%s': a sealed subject cannot be opened", team);
	}
	hv_buf_release(&plain);
	hv_buf_release(&sealed);
	return r;
}

int
hv_fetch_subjects_rebind(struct hv_store *s, const struct hv_seal_key *k, const char *team,
    size_t *n, size_t *dropped, struct hv_err *e)
{
	struct unbound u = { 0 };
	size_t i;
	int r;

	*n = *dropped = 0;
	if ((r = hv_store_begin(s, e)) < 0)
		return r;
	r = hv_index_subjects_unbound(s, team, unbound_add, &u, e);
	if (r > 0 || r == HV_EDATA)
		r = hv_err_set(e, HV_EDATA, "a sealed subject of team '%s' is too long", team);
	for (i = 0; i < u.n && r == 0; i++)
		r = rebind_one(k, s, team, u.mid[i], &u.sealed[i], dropped, e);
	for (i = 0; i < u.n; i++)
		hv_buf_release(&u.sealed[i]);
	free(u.mid);
	free(u.sealed);
	if (r < 0 || (r = hv_store_commit(s, e)) < 0) {
		hv_store_rollback(s);
		*dropped = 0;
		return r;
	}
	*n = u.n;
	return 0;
}

int
hv_fetch_run(const struct hv_config *c, const struct hv_fetch_opts *o,
    const struct hv_fetch_io *io, struct hv_fetch_stats *st, struct hv_err *e)
{
	struct run r = { 0 };
	struct hv_buf latest = HV_BUF_INIT(64);
	size_t rebound, dropped;
	int rc, on_disk = 0;

	memset(st, 0, sizeof *st);
	r.cfg = c;
	r.opts = o;
	r.io = io;
	r.st = st;
	if ((r.team = hv_config_team(c, o->team)) == NULL)
		return hv_err_set(e, HV_ECONFIG, "no team '%s' in %s", o->team,
		    c->file ? c->file : "the configuration");
	if ((rc = hv_auth_open(&r.auth, c, e)) < 0 ||
	    (rc = hv_spool_open(&r.spool, c, hv_now(), &on_disk, e)) < 0 ||
	    (rc = hv_gmail_pool_new(&r.pool, c, e)) < 0 ||
	    (rc = hv_gmail_new_in(&r.gmail, r.pool, c, r.auth, r.team->source, e)) < 0 ||
	    (rc = hv_seal_key_symmetric(&r.subjects, hv_auth_key(r.auth, HV_AUTH_KEY_SUBJECTS),
	    e)) < 0)
		goto out;
	r.store = hv_auth_store(r.auth);
	r.audit = hv_audit_batch_new(c, hv_auth_key(r.auth, HV_AUTH_KEY_AUDIT));
	/* A trail that cannot be appended to stops the run before it fetches
	 * anything, with one error, not one per message. */
	if ((rc = hv_audit_ready(c, e)) < 0 ||
	    (rc = hv_fetch_subjects_rebind(r.store, r.subjects, r.team->name, &rebound,
	    &dropped, e)) < 0)
		goto out;
	if (rebound > 0)
		note(&r, 0, "%s: %zu subjects sealed again with their message bound in, %zu "
		    "that would not open dropped", r.team->name, rebound, dropped);
	if (on_disk)
		note(&r, 0, "the spool '%s' is on persistent storage (allow_disk = yes)",
		    hv_spool_root(r.spool));
	/* Said every run: with key files, only hv-purge keeps the ttl. */
	if (c->spool.keys != NULL && strcmp(c->spool.keys, "files") == 0)
		note(&r, 0, "epoch keys are in files under '%s/keys' ([spool] keys = files): "
		    "mail outlives the ttl unless hv-purge runs every minute",
		    hv_spool_root(r.spool));
	if ((rc = candidates(&r, &latest, e)) < 0)
		goto out;
	rc = fetch_all(&r, e);
	/*
	 * Every spool file of this run is durable now; only then move on.  A
	 * run narrowed by --label or --query saw only part of the mailbox:
	 * moving the cursor would skip the rest for good.
	 */
	if (rc == 0 && !st->cut && latest.len > 0 && o->label == NULL && o->query == NULL &&
	    (rc = hv_index_cursor_put(r.store, r.team->source, "fetch", latest.data, hv_now(),
	    e)) == 0)
		hv_crashpoint();
out:
	if (r.gmail != NULL) {
		st->units = hv_gmail_units(r.gmail);
		st->calls = hv_gmail_calls(r.gmail);
	}
	hv_buf_release(&latest);
	run_release(&r);
	return rc;
}
