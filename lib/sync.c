#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "clock.h"
#include "crashpoint.h"
#include "crypto.h"
#include "gmail.h"
#include "index.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "mime.h"
#include "spool.h"
#include "sync.h"
#include "team.h"
#include "banned.h"

#define LINE_MAX_BYTES (1024 * 1024)
/* Messages read ahead of the members' answers: enough to keep every
 * mailbox's calls in flight, few enough to bound the raw mail held. */
#define WINDOW_MESSAGES 256
#define WINDOW_BYTES (32 * 1024 * 1024)
#define SETTLE_US 20000

enum label_state { LABEL_NONE, LABEL_ASKED, LABEL_KNOWN, LABEL_FAILED };

struct run;
struct msg;

/* One member's copy of one message. */
struct copy {
	struct msg *msg;
	size_t member;
	const char *state;	/* NULL while under way; then "had", "imported"... */
	int rc;
	char id[HV_GMAIL_ID_SIZE];	/* the copy's Gmail id, once Google gave it */
	char *why;		/* owned: why it failed */
	int put;		/* a row to write when it is launched */
	struct copy *next;	/* waiting for a label, or answered */
};

struct member {
	char *account;
	struct hv_gmail *gmail;	/* made on first use */
	char label[HV_GMAIL_ID_SIZE];	/* the team label's id, once known */
	enum label_state lstate;
	int lrc;		/* why the label could not be had */
	char *lwhy;		/* owned */
	struct copy *waiting;	/* copies waiting for the label */
	/* Its mailbox closed for this run (access gone: HV_EPERM; Google
	 * asked for a longer wait: HV_ETEMP): left alone, saying why. */
	int dead;
	char *dead_why;		/* owned */
	struct run *run;
};

/* A message read from the input; kept in the order read. */
struct msg {
	struct run *run;
	char *id, *path;
	char message_id[HV_MIME_ID_MAX + 1];
	uint8_t mid[HV_INDEX_MID_LEN];
	struct hv_buf raw;	/* secret; released once no copy needs it */
	size_t size;
	struct copy *copies;	/* one per member; NULL for a line without a message */
	size_t left;		/* copies under way */
	char *error;		/* owned: the line's error, when it has one */
	int unplanned;		/* read, its copies not yet worked out */
	int over;		/* every copy is over, and judged */
	int done;		/* 1: the spool file is gone; 2: the index says so */
	struct msg *next;
};

struct run {
	const struct hv_config *cfg;
	const struct hv_team *team;
	const struct hv_sync_io *io;
	struct hv_sync_stats *st;
	struct hv_auth *auth;
	struct hv_store *store;
	struct hv_spool *spool;
	struct hv_gmail_pool *pool;
	struct member *m;
	size_t nm;
	struct msg *head, *tail;	/* read and not yet written out, in order */
	size_t nmsgs, bytes;
	struct msg *unlaunched;		/* admitted, attempts not yet committed */
	struct copy *answered;		/* answers not yet recorded */
	struct hv_audit_batch *audit;
	struct hv_err *e;
};

static void note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct run *r, const char *fmt, ...)
{
	char msg[2 * HV_ERR_MSG];
	va_list ap;

	if (r->io->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->io->note(0, msg, r->io->arg);
}

/* How far the run is, for a person at a terminal. */
static void
progress(struct run *r)
{
	char msg[160];

	if (r->io->note == NULL)
		return;
	snprintf(msg, sizeof msg, "%s: %ld messages read, %ld done, %ld imported",
	    r->team->name, r->st->messages, r->st->done, r->st->imported);
	r->io->note(1, msg, r->io->arg);
}

/* Worse: a person must look (anything) beats try again (75). */
static void
worst(struct run *r, int status)
{
	if (status == 0 || r->st->worst == status)
		return;
	if (r->st->worst == 0 || r->st->worst == HV_ETEMP)
		r->st->worst = status;
}

/*
 * The members: the team's roster (its members line and its group's
 * users), each skipped one named once a run; the messages are done when
 * every other member has them.
 */
static int
members(struct run *r, struct hv_err *e)
{
	struct hv_team_roster ro;
	size_t i;
	int rc;

	rc = hv_team_roster(r->auth, r->cfg, r->team, &ro, e);
	if (rc < 0 && rc != HV_EPERM && rc != HV_ECONFIG)
		return rc;
	for (i = 0; i < ro.nskips; i++)
		note(r, "team %s: skipping %s: %s", r->team->name, ro.skips[i].member,
		    ro.skips[i].why);
	r->m = hv_xcalloc(ro.n + 1, sizeof *r->m);
	for (i = 0; i < ro.n; i++) {
		r->m[i].account = ro.members[i];
		r->m[i].run = r;
	}
	r->nm = ro.n;
	ro.n = 0;	/* the accounts are the run's now */
	hv_team_roster_release(&ro);
	return rc;
}

/*
 * Queue an upload's audit event.  A run that cannot keep its trail stops:
 * access off the record is none.
 */
static int
audit(struct run *r, const char *account, const char *message_id, int outcome,
    const char *error, struct hv_err *e)
{
	int rc;

	if (hv_audit_batch_len(r->audit) >= HV_AUDIT_BATCH_MAX &&
	    (rc = hv_audit_batch_flush(r->audit, e)) < 0)
		return rc;
	return hv_audit_batch_message(r->audit, HV_AUDIT_MSG_IMPORT, account, r->team->name,
	    message_id, outcome, error, e);
}

/* "account: why", unless why names the account already. */
static char *
blame(const char *account, const char *why)
{
	char out[2 * HV_ERR_MSG];
	size_t n = strlen(account);

	if (strncasecmp(why, account, n) == 0)
		snprintf(out, sizeof out, "%s", why);
	else
		snprintf(out, sizeof out, "%s: %s", account, why);
	return hv_xstrdup(out);
}

/* The copy is over for this run, one way or the other. */
static void
copy_over(struct copy *c, const char *state, int rc)
{
	c->state = state;
	c->rc = rc;
	if (--c->msg->left == 0)
		hv_buf_release(&c->msg->raw);
}

static void
copy_failed(struct run *r, struct copy *c, int rc, const char *why)
{
	struct member *m = &r->m[c->member];

	c->why = blame(m->account, why);
	if (!m->dead && (rc == HV_EPERM || hv_gmail_closed(m->gmail))) {
		m->dead = rc;
		m->dead_why = hv_xstrdup(c->why);
		note(r, "%s; leaving it for this run", c->why);
	}
}

/* Google's answer to an upload: recorded by settle(), with the others. */
static void
uploaded(void *arg, int rc, const char *id, const struct hv_err *e)
{
	struct copy *c = arg;
	struct run *r = c->msg->run;

	c->rc = rc;
	if (rc == 0)
		snprintf(c->id, sizeof c->id, "%s", id);
	else
		copy_failed(r, c, rc, e->msg);
	c->next = r->answered;
	r->answered = c;
}

static void
upload(struct run *r, struct copy *c)
{
	struct member *m = &r->m[c->member];
	struct msg *msg = c->msg;
	char labels[HV_GMAIL_ID_SIZE + 16];
	struct hv_err e = { 0 };
	int rc;

	snprintf(labels, sizeof labels, "INBOX UNREAD %s", m->label);
	if ((rc = hv_gmail_upload_start(m->gmail, msg->raw.data, msg->raw.len, labels,
	    r->team->import, uploaded, c, &e)) < 0)
		uploaded(c, rc, NULL, &e);
}

/* The team label's id for a member: its waiting copies go, or fail. */
static void
labelled(void *arg, int rc, const char *id, const struct hv_err *e)
{
	struct member *m = arg;
	struct copy *c, *next, *list;

	if (rc == 0) {
		snprintf(m->label, sizeof m->label, "%s", id);
		m->lstate = LABEL_KNOWN;
	} else {
		m->lstate = LABEL_FAILED;
		m->lrc = rc;
		m->lwhy = hv_xstrdup(e->msg);
	}
	/* The copies waited last first: they start in the input's order. */
	for (c = m->waiting, m->waiting = NULL, list = NULL; c != NULL; c = next) {
		next = c->next;
		c->next = list;
		list = c;
	}
	for (c = list; c != NULL; c = next) {
		next = c->next;
		if (rc == 0)
			upload(m->run, c);
		else
			uploaded(c, rc, NULL, e);
	}
}

/* Ask for a member's team label, once: 0, or why it cannot be asked. */
static int
member_label(struct run *r, struct member *m, struct hv_err *e)
{
	int rc;

	if (m->gmail == NULL &&
	    (rc = hv_gmail_new_in(&m->gmail, r->pool, r->cfg, r->auth, m->account, e)) < 0)
		return rc;
	if (m->lstate != LABEL_NONE)
		return 0;
	m->lstate = LABEL_ASKED;
	if ((rc = hv_gmail_label_start(m->gmail, r->team->label, labelled, m, e)) < 0) {
		m->lstate = LABEL_NONE;
		return rc;
	}
	return 0;
}

/* Start one member's copy: now, once the label is known, or never. */
static void
copy_start(struct run *r, struct copy *c)
{
	struct member *m = &r->m[c->member];
	struct hv_err e = { 0 };
	int rc;

	if (m->dead) {
		c->why = hv_xstrdup(m->dead_why);
		copy_over(c, m->dead == HV_EPERM ? "refused" : "waiting", m->dead);
		return;
	}
	if ((rc = member_label(r, m, &e)) < 0) {
		uploaded(c, rc, NULL, &e);
		return;
	}
	switch (m->lstate) {
	case LABEL_KNOWN:
		upload(r, c);
		return;
	case LABEL_FAILED:
		hv_err_set(&e, m->lrc, "%s", m->lwhy);
		uploaded(c, m->lrc, NULL, &e);
		return;
	default:
		c->next = m->waiting;
		m->waiting = c;
		return;
	}
}

static void
msg_free(struct msg *msg)
{
	size_t i;

	for (i = 0; msg->copies != NULL && i < msg->run->nm; i++)
		free(msg->copies[i].why);
	free(msg->copies);
	hv_buf_release(&msg->raw);
	free(msg->id);
	free(msg->path);
	free(msg->error);
	free(msg);
}

/* A message joins the run's list, in input order. */
static struct msg *
msg_new(struct run *r, const char *id, const char *path)
{
	struct msg *msg = hv_xcalloc(1, sizeof *msg);

	msg->run = r;
	msg->id = hv_xstrdup(id);
	msg->path = hv_xstrdup(path);
	hv_buf_init_secret(&msg->raw, HV_GMAIL_RAW_MAX);
	if (r->tail != NULL)
		r->tail->next = msg;
	else
		r->head = msg;
	r->tail = msg;
	r->nmsgs++;
	r->st->messages++;
	return msg;
}

/* Which copies each member needs; the index is only read here. */
static void
msg_plan(struct run *r, struct msg *msg)
{
	struct copy *c;
	struct msg *o;
	char id[HV_INDEX_ID_SIZE];
	size_t i;
	int tried;

	/*
	 * Another line of this run with the same Message-ID may have uploads
	 * under way: this one waits in the spool for the next run, which
	 * finds what they became.
	 */
	for (o = r->head; o != msg; o = o->next)
		if (o->copies != NULL && !o->over &&
		    memcmp(o->mid, msg->mid, HV_INDEX_MID_LEN) == 0) {
			r->st->pending++;
			worst(r, HV_ETEMP);
			msg->error = hv_xstrdup("a message of this run has the same Message-ID");
			return;
		}
	msg->copies = hv_xcalloc(r->nm, sizeof *msg->copies);
	msg->left = r->nm;
	for (i = 0; i < r->nm; i++) {
		c = &msg->copies[i];
		c->msg = msg;
		c->member = i;
		if (strcasecmp(r->m[i].account, r->team->source) == 0) {
			/* The shared mailbox has it already. */
			c->put = 1;
			copy_over(c, "source", 0);
			continue;
		}
		tried = hv_index_copy_get(r->store, r->team->name, msg->mid, r->m[i].account, id,
		    NULL) == 0;
		if (tried && id[0] != '\0') {
			r->st->skipped++;
			copy_over(c, "had", 0);
		} else if (!tried && !r->m[i].dead) {
			c->put = 1;
		}
	}
}

/*
 * The messages admitted since the last launch: their rows in one
 * transaction (the source's copy, and an attempt row for each upload),
 * then their uploads start.  An attempt row says an upload may have
 * reached Google: a crash and a rerun upload again, which messages.import
 * answers with the copy the mailbox holds.  (Finding it otherwise would
 * take a read scope members are not given; with insert, such a crash can
 * leave a second copy.)
 */
static int
launch(struct run *r, struct hv_err *e)
{
	struct msg *msg, *first = r->unlaunched;
	struct copy *c;
	size_t i;
	int rc;

	if (first == NULL)
		return 0;
	r->unlaunched = NULL;
	/* One transaction reads and writes for all: one lock, one commit. */
	if ((rc = hv_store_begin(r->store, e)) < 0)
		return rc;
	for (msg = first; msg != NULL && rc == 0; msg = msg->next) {
		if (msg->unplanned) {
			msg->unplanned = 0;
			msg_plan(r, msg);
		}
		for (i = 0; msg->copies != NULL && i < r->nm && rc == 0; i++) {
			c = &msg->copies[i];
			if (c->put)
				rc = hv_index_copy_put(r->store, r->team->name, msg->mid,
				    r->m[i].account, c->state != NULL ? msg->id : "", hv_now(), e);
		}
	}
	if (rc < 0 || (rc = hv_store_commit(r->store, e)) < 0) {
		hv_store_rollback(r->store);
		return rc;
	}
	hv_crashpoint();
	for (msg = first; msg != NULL; msg = msg->next)
		for (i = 0; msg->copies != NULL && i < r->nm; i++)
			if (msg->copies[i].state == NULL)
				copy_start(r, &msg->copies[i]);
	return 0;
}

/* A message named by the input: read from the spool, and started. */
static int
admit(struct run *r, const char *id, const char *path)
{
	struct msg *msg = msg_new(r, id, path);
	struct hv_mime_ids ids;
	struct hv_err e = { 0 };
	int rc, done = 0;

	rc = hv_spool_get(r->spool, path, r->team->source, &msg->raw, &e);
	if (rc == HV_ENOINPUT && hv_store_message_is_done(r->store, r->team->name,
	    r->team->source, id, &done, NULL) == 0 && done) {
		/* Another run (an overlapping pipeline's) finished it. */
		msg->done = 2;
		r->st->done++;
		return 0;
	}
	if (rc == HV_ENOINPUT || rc == HV_EPERM) {
		/* Its cursor never skipped it: hv-fetch fetches it again, so
		 * the next run finishes it. */
		r->st->gone++;
		worst(r, HV_ETEMP);
		note(r, "%s: message %s: %s; hv-fetch will fetch it again", r->team->source, id,
		    e.msg);
		msg->error = hv_xstrdup(rc == HV_EPERM ? "epoch key gone" : "spool file gone");
		return 0;
	}
	ids.subject.data = NULL;
	if (rc < 0 || (rc = hv_mime_ids(&ids, msg->raw.data, msg->raw.len, id, &e)) < 0) {
		/* Left in the spool for a person to look at; the others go on. */
		r->st->failed++;
		worst(r, rc);
		note(r, "%s", e.msg);
		msg->error = hv_xstrdup(e.msg);
		hv_buf_release(&msg->raw);
		return 0;
	}
	memcpy(msg->message_id, ids.message_id, sizeof msg->message_id);
	hv_mime_ids_release(&ids);
	msg->size = msg->raw.len;
	r->bytes += msg->size;
	hv_hmac_sha256(msg->mid, hv_auth_key(r->auth, HV_AUTH_KEY_INDEX), HV_KEY_LEN,
	    msg->message_id, strlen(msg->message_id));
	msg->unplanned = 1;
	if (r->unlaunched == NULL)
		r->unlaunched = msg;
	return 0;
}

/*
 * Record the answers that came: the copies in one transaction, then their
 * audit events in one append.  Google answered each 2xx before it is
 * counted.
 */
static int
record(struct run *r, struct hv_err *e)
{
	struct copy *c, *list = r->answered;
	struct member *m;
	int rc = 0;

	if (list == NULL)
		return 0;
	r->answered = NULL;
	hv_crashpoint();
	if ((rc = hv_store_begin(r->store, e)) < 0)
		return rc;
	for (c = list; c != NULL && rc == 0; c = c->next)
		if (c->rc == 0)
			rc = hv_index_copy_put(r->store, r->team->name, c->msg->mid,
			    r->m[c->member].account, c->id, hv_now(), e);
	if (rc < 0 || (rc = hv_store_commit(r->store, e)) < 0) {
		hv_store_rollback(r->store);
		return rc;
	}
	hv_crashpoint();
	for (c = list; c != NULL; c = c->next) {
		m = &r->m[c->member];
		if (c->rc == 0) {
			r->st->imported++;
			rc = audit(r, m->account, c->msg->message_id, HV_AUDIT_OK, NULL, e);
		} else {
			rc = audit(r, m->account, c->msg->message_id, HV_AUDIT_FAIL, c->why, e);
		}
		if (rc < 0)
			return rc;
	}
	if ((rc = hv_audit_batch_flush(r->audit, e)) < 0)
		return rc;
	hv_crashpoint();
	for (c = list; c != NULL; c = c->next)
		copy_over(c, c->rc == 0 ? "imported" : "failed", c->rc);
	return 0;
}

static int
emit(struct run *r, struct msg *msg)
{
	struct hv_json *j = hv_json_object(), *states;
	struct hv_buf line = HV_BUF_INIT(64 * 1024);
	const char *why = msg->error;
	size_t i;
	int rc;

	hv_json_set_str(j, "team", r->team->name);
	hv_json_set_str(j, "id", msg->id);
	hv_json_set_str(j, "messageId", msg->message_id);
	if (msg->copies != NULL) {
		states = hv_json_object();
		for (i = 0; i < r->nm; i++) {
			hv_json_set_str(states, r->m[i].account, msg->copies[i].state);
			/* The first member that failed says why. */
			if (why == NULL && msg->copies[i].why != NULL)
				why = msg->copies[i].why;
		}
		hv_json_set(j, "members", states);
		hv_json_free(states);
	}
	hv_json_set_bool(j, "done", msg->done == 2);
	if (why != NULL && msg->done != 2)
		hv_json_set_str(j, "error", why);
	rc = hv_json_dump(j, &line);
	if (rc == 0 && r->io->emit != NULL)
		rc = r->io->emit(line.data, r->io->arg);
	hv_json_free(j);
	hv_buf_release(&line);
	return rc ? hv_err_set(r->e, HV_EIO, "cannot write a result line") : 0;
}

/* Every copy of msg is over: 1 when all members have it. */
static int
msg_all(struct run *r, struct msg *msg)
{
	size_t i;
	int all = 1;

	for (i = 0; i < r->nm; i++)
		if (msg->copies[i].rc < 0) {
			all = 0;
			worst(r, msg->copies[i].rc);
			if (!r->m[i].dead && msg->copies[i].why != NULL &&
			    !hv_gmail_pool_broken(r->pool, NULL))
				note(r, "%s", msg->copies[i].why);
		}
	return all;
}

/*
 * The messages whose copies are all over, wherever they stand in the
 * input: spool files of those every member has go at once, raw mail
 * first (a crash before the index says done costs one download again,
 * never a spool file left behind), then the index says done for all of
 * them in one transaction.
 */
static int
finish(struct run *r, struct hv_err *e)
{
	struct msg *msg;
	struct hv_err fe;
	int rc, removed = 0;

	for (msg = r->head; msg != NULL; msg = msg->next) {
		if (msg->copies == NULL || msg->left > 0 || msg->over)
			continue;
		msg->over = 1;
		if (!msg_all(r, msg)) {
			r->st->pending++;
			continue;
		}
		memset(&fe, 0, sizeof fe);
		if ((rc = hv_spool_remove(r->spool, msg->path, &fe)) < 0) {
			worst(r, rc);
			note(r, "%s", fe.msg);
			continue;
		}
		msg->done = 1;
		removed++;
	}
	if (removed == 0)
		return 0;
	hv_crashpoint();
	if ((rc = hv_store_begin(r->store, e)) < 0)
		return rc;
	for (msg = r->head; msg != NULL && rc == 0; msg = msg->next)
		if (msg->done == 1) {
			rc = hv_index_message_done(r->store, r->team->name, msg->mid, e);
			msg->done = 2;
			r->st->done++;
		}
	if (rc < 0 || (rc = hv_store_commit(r->store, e)) < 0)
		hv_store_rollback(r->store);
	return rc;
}

/* Record what came, finish what is over, and write out, in input order,
 * the messages that are finished. */
static int
settle(struct run *r)
{
	struct msg *msg;
	int rc;

	if ((rc = record(r, r->e)) < 0 || (rc = finish(r, r->e)) < 0)
		return rc;
	while ((msg = r->head) != NULL && !msg->unplanned &&
	    (msg->copies == NULL || msg->over)) {
		rc = emit(r, msg);
		r->head = msg->next;
		if (r->head == NULL)
			r->tail = NULL;
		r->nmsgs--;
		r->bytes -= msg->size;
		msg_free(msg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A line of hv-fetch: the message to sync. */
static int
admit_line(struct run *r, const char *line, size_t n)
{
	struct hv_json *j;
	const char *team, *account, *id, *path;
	struct hv_err e = { 0 };
	int rc = 0;

	if (hv_json_parse(line, n, &j, &e) < 0) {
		note(r, "skipping a line that is not JSON: %s", e.msg);
		worst(r, HV_EDATA);
		return 0;
	}
	team = hv_json_get_str(j, "team");
	account = hv_json_get_str(j, "account");
	id = hv_json_get_str(j, "id");
	path = hv_json_get_str(j, "spool");
	if (team == NULL || account == NULL || id == NULL || path == NULL) {
		note(r, "skipping a line without team, account, id and spool");
		worst(r, HV_EDATA);
	} else if (strcmp(team, r->team->name) != 0) {
		note(r, "skipping message %s of team '%s'", id, team);
	} else if (strcasecmp(account, r->team->source) != 0) {
		/* Only the team's own source is trusted to name its spool files. */
		note(r, "skipping message %s from '%s', not the team's source", id, account);
		worst(r, HV_EDATA);
	} else {
		rc = admit(r, id, path);
	}
	hv_json_free(j);
	return rc;
}

static int
window_open(const struct run *r)
{
	return r->nmsgs == 0 || (r->nmsgs < WINDOW_MESSAGES && r->bytes < WINDOW_BYTES);
}

/* Where the messages come from: lines read as they arrive, or a list. */
struct input {
	int fd;			/* -1: no more to read */
	const char *name;
	struct hv_buf buf;	/* read, not yet taken as lines */
	size_t skip;		/* bytes of an overlong line still to drop */
	char **path, **id;	/* the spool's files, when no input is named */
	size_t n, next;
};

/* Take the whole lines read so far, while the window has room. */
static int
take_lines(struct run *r, struct input *in)
{
	char *nl;
	size_t n;
	int rc;

	while (in->buf.len > 0 && window_open(r) &&
	    (nl = memchr(in->buf.data, '\n', in->buf.len)) != NULL) {
		n = (size_t)(nl - in->buf.data);
		*nl = '\0';
		while (n > 0 && in->buf.data[n - 1] == '\r')
			n--;
		rc = n > 0 ? admit_line(r, in->buf.data, n) : 0;
		memmove(in->buf.data, nl + 1, in->buf.len - (size_t)(nl + 1 - in->buf.data));
		in->buf.len -= (size_t)(nl + 1 - in->buf.data);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Read what the input has (one read: it was said to be readable). */
static int
read_some(struct run *r, struct input *in, struct hv_err *e)
{
	char chunk[65536];
	const char *p = chunk, *nl;
	ssize_t got;
	size_t n;

	while ((got = read(in->fd, chunk, sizeof chunk)) < 0 && errno == EINTR)
		;
	if (got < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", in->name);
	if (got == 0) {
		/* A last line without its newline counts too. */
		if (in->buf.len > 0 && !in->skip)
			(void)hv_buf_add(&in->buf, "\n", 1);
		in->fd = -1;
		return 0;
	}
	n = (size_t)got;
	if (in->skip) {
		/* The rest of a line too long to be hv-fetch's. */
		if ((nl = memchr(p, '\n', n)) == NULL)
			return 0;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
		in->skip = 0;
	}
	/* Reads happen only when the buffer holds no whole line, so a full
	 * buffer is one line too long. */
	if (hv_buf_add(&in->buf, p, n) < 0) {
		note(r, "skipping a line of more than %d bytes", LINE_MAX_BYTES);
		hv_buf_reset(&in->buf);
		in->skip = 1;
		if ((nl = memchr(p, '\n', n)) != NULL) {
			in->skip = 0;
			(void)hv_buf_add(&in->buf, nl + 1, n - (size_t)(nl + 1 - p));
		}
	}
	return 0;
}

/*
 * A file found in the spool: admitted when the index knows its message.
 * hv-fetch writes the file before the index row (a crash in between
 * costs a download, never a row without its file), so a fetch running
 * beside this run shows files whose rows are not yet committed: the
 * pipeline behind that fetch, or the next run, takes them.
 */
static int
spooled(struct run *r, const char *id, const char *path)
{
	int known = 0, rc;

	if ((rc = hv_store_message_known(r->store, r->team->name, r->team->source, id, &known,
	    r->e)) < 0)
		return rc;
	return known ? admit(r, id, path) : 0;
}

static int
spool_entry(const struct hv_spool_entry *ent, void *arg)
{
	struct input *in = arg;

	if (strcmp(ent->gmail_id, "") == 0 || in->name == NULL ||
	    strcmp(ent->team, in->name) != 0)
		return 0;
	in->path = hv_xrealloc(in->path, (in->n + 1) * sizeof *in->path);
	in->id = hv_xrealloc(in->id, (in->n + 1) * sizeof *in->id);
	in->path[in->n] = hv_xstrdup(ent->path);
	in->id[in->n++] = hv_xstrdup(ent->gmail_id);
	return 0;
}

static int
input_open(struct run *r, struct input *in, const char *name, struct hv_err *e)
{
	memset(in, 0, sizeof *in);
	hv_buf_init(&in->buf, LINE_MAX_BYTES + 65536 + 1);
	in->fd = -1;
	if (name == NULL) {
		/* No input named: whatever the spool holds for the team. */
		in->name = r->team->name;
		return hv_spool_each(r->spool, spool_entry, in, NULL, e);
	}
	in->name = name;
	if (strcmp(name, "-") == 0)
		in->fd = STDIN_FILENO;
	else if ((in->fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", name);
	return 0;
}

static void
input_close(struct input *in)
{
	size_t i;

	if (in->fd > STDIN_FILENO)
		close(in->fd);
	for (i = 0; i < in->n; i++) {
		free(in->path[i]);
		free(in->id[i]);
	}
	free(in->path);
	free(in->id);
	hv_buf_release(&in->buf);
}

/* Admit what the input holds while the window has room. */
static int
take(struct run *r, struct input *in)
{
	int rc = 0;

	if (in->path == NULL) {
		rc = take_lines(r, in);
	} else {
		while (rc == 0 && in->next < in->n && window_open(r)) {
			rc = spooled(r, in->id[in->next], in->path[in->next]);
			in->next++;
		}
	}
	return rc;
}

static int
more_input(const struct input *in)
{
	return in->fd >= 0 || memchr(in->buf.data ? in->buf.data : "", '\n', in->buf.len) ||
	    in->next < in->n;
}

/* Wait for the input to say something, the calls under way going on. */
static int
first_input(struct run *r, struct input *in, struct hv_err *e)
{
	int rc, ready = 0;

	while (in->fd >= 0 && !ready)
		if ((rc = hv_gmail_pool_step(r->pool, in->fd, &ready, -1, e)) < 0)
			return rc;
	return 0;
}

/*
 * The run: messages admitted as the input brings them, every member's
 * upload started at once, the pool driven until all is answered, and the
 * answers recorded and written out after each step.
 */
static int
sync_loop(struct run *r, struct input *in, struct hv_err *e)
{
	struct hv_err why;
	long long now, settled = 0;
	long wait;
	int rc, ready, fd;

	for (;;) {
		/*
		 * Messages start and answers are recorded a group at a time,
		 * every SETTLE_US or when the run waits for nothing else, so
		 * that one commit and one fdatasync serve many copies.
		 */
		if ((rc = take(r, in)) < 0)
			return rc;
		now = hv_now_us();
		if (now - settled >= SETTLE_US ||
		    (hv_gmail_pool_pending(r->pool) == 0 && !more_input(in))) {
			if ((rc = launch(r, e)) < 0 || (rc = settle(r)) < 0 ||
			    (rc = take(r, in)) < 0 || (rc = launch(r, e)) < 0)
				return rc;
			settled = now;
			progress(r);
		}
		if (hv_gmail_pool_broken(r->pool, &why) && more_input(in)) {
			/* Google is gone: what was not read waits in the spool. */
			note(r, "%s", why.msg);
			in->fd = -1;
			in->n = in->next;
			hv_buf_reset(&in->buf);
			worst(r, HV_ETEMP);
		}
		if (r->head == NULL && !more_input(in))
			return 0;
		fd = in->fd >= 0 && window_open(r) &&
		    memchr(in->buf.data ? in->buf.data : "", '\n', in->buf.len) == NULL ? in->fd : -1;
		/* Something to launch or record: wake up for it in time. */
		wait = -1;
		if (r->unlaunched != NULL || r->answered != NULL || r->head != NULL) {
			now = SETTLE_US - (hv_now_us() - settled);
			wait = now > 0 ? (long)(now / 1000) + 1 : 0;
		}
		if ((rc = hv_gmail_pool_step(r->pool, fd, &ready, wait, e)) < 0)
			return rc;
		if (ready && (rc = read_some(r, in, e)) < 0)
			return rc;
	}
}

int
hv_sync_run(const struct hv_config *c, const struct hv_sync_opts *o,
    const struct hv_sync_io *io, struct hv_sync_stats *st, struct hv_err *e)
{
	struct run r = { 0 };
	struct input in;
	struct msg *msg;
	size_t i;
	int rc, on_disk = 0;

	memset(st, 0, sizeof *st);
	memset(&in, 0, sizeof in);
	r.cfg = c;
	r.io = io;
	r.st = st;
	r.e = e;
	if ((r.team = hv_config_team(c, o->team)) == NULL)
		return hv_err_set(e, HV_ECONFIG, "no team '%s' in %s", o->team,
		    c->file ? c->file : "the configuration");
	if ((rc = hv_auth_open(&r.auth, c, e)) < 0 ||
	    (rc = hv_spool_open(&r.spool, c, hv_now(), &on_disk, e)) < 0 ||
	    (rc = hv_gmail_pool_new(&r.pool, c, e)) < 0)
		goto out;
	r.store = hv_auth_store(r.auth);
	r.audit = hv_audit_batch_new(c, hv_auth_key(r.auth, HV_AUTH_KEY_AUDIT));
	/* A trail that cannot be appended to stops the run before it uploads
	 * anything, with one error, not one per message. */
	if ((rc = hv_audit_ready(c, e)) < 0)
		goto out;
	if (on_disk)
		note(&r, "the spool '%s' is on persistent storage (allow_disk = yes)",
		    hv_spool_root(r.spool));
	/* Said every run: with key files, only hv-purge keeps the ttl. */
	if (c->spool.keys != NULL && strcmp(c->spool.keys, "files") == 0)
		note(&r, "epoch keys are in files under '%s/keys' ([spool] keys = files): "
		    "mail outlives the ttl unless hv-purge runs every minute",
		    hv_spool_root(r.spool));
	if ((rc = members(&r, e)) < 0 ||
	    (o->input == NULL && io->ready != NULL && (rc = io->ready(io->arg, e)) < 0) ||
	    (rc = input_open(&r, &in, o->input, e)) < 0)
		goto out;
	/* With work to come, the members' labels are asked for while the
	 * first line is on its way: at Google's pace that is a second won. */
	for (i = 0; i < r.nm && (in.fd >= 0 || in.n > 0); i++)
		if (strcasecmp(r.m[i].account, r.team->source) != 0)
			(void)member_label(&r, &r.m[i], NULL);
	if (o->input != NULL && io->ready != NULL &&
	    ((rc = first_input(&r, &in, e)) < 0 || (rc = io->ready(io->arg, e)) < 0))
		goto out;
	rc = sync_loop(&r, &in, e);
	if (rc == 0 && st->worst != 0) {
		if (hv_gmail_pool_broken(r.pool, e))
			rc = hv_err_wrap(e, "%ld of %ld messages not yet with every member",
			    st->pending + st->failed + st->gone, st->messages);
		else
			rc = hv_err_set(e, st->worst, "%ld of %ld messages not yet with every "
			    "member", st->pending + st->failed + st->gone, st->messages);
	}
out:
	input_close(&in);
	/* Calls still under way (a run stopped by an error) end before the
	 * messages they point into. */
	if (r.pool != NULL)
		hv_gmail_pool_cancel(r.pool);
	for (i = 0; i < r.nm; i++) {
		if (r.m[i].gmail != NULL) {
			st->units += hv_gmail_units(r.m[i].gmail);
			st->calls += hv_gmail_calls(r.m[i].gmail);
		}
		hv_gmail_free(r.m[i].gmail);
		free(r.m[i].account);
		free(r.m[i].lwhy);
		free(r.m[i].dead_why);
	}
	free(r.m);
	while ((msg = r.head) != NULL) {
		r.head = msg->next;
		msg_free(msg);
	}
	hv_gmail_pool_free(r.pool);
	hv_audit_batch_free(r.audit);
	hv_spool_close(r.spool);
	hv_auth_close(r.auth);
	return rc;
}
