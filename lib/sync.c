#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "clock.h"
#include "crashpoint.h"
#include "crypto.h"
#include "directory.h"
#include "gmail.h"
#include "index.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "mime.h"
#include "spool.h"
#include "sync.h"
#include "banned.h"

#define LINE_MAX_BYTES (1024 * 1024)

struct member {
	char *account;
	struct hv_gmail *gmail;	/* made on first use */
	char label[64];		/* the team label's id, once known */
	int dead;		/* access gone: left alone for this run */
};

struct run {
	const struct hv_config *cfg;
	const struct hv_team *team;
	const struct hv_sync_io *io;
	struct hv_sync_stats *st;
	struct hv_auth *auth;
	struct hv_store *store;
	struct hv_spool *spool;
	struct member *m;
	size_t nm;
	struct hv_err *e;
};

static void note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct run *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->io->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->io->note(msg, r->io->arg);
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

static int
add_member(const char *email, const char *kind, void *arg)
{
	struct run *r = arg;

	if (kind[0] != '\0' && strcmp(kind, "USER") != 0)
		return 0;
	r->m = hv_xrealloc(r->m, (r->nm + 1) * sizeof *r->m);
	memset(&r->m[r->nm], 0, sizeof *r->m);
	r->m[r->nm++].account = hv_xstrdup(email);
	return 0;
}

/* The members: listed in the config, or the team's Google group. */
static int
members(struct run *r, struct hv_err *e)
{
	struct hv_buf token;
	struct hv_http *h = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < r->team->nmembers; i++)
		add_member(r->team->members[i], "", r);
	if (r->team->group != NULL) {
		hv_buf_init_secret(&token, 8192);
		rc = hv_auth_token_scoped(r->auth, r->team->source, HV_SCOPE_DIRECTORY, &token, e);
		if (rc == 0)
			rc = hv_http_new(&h, r->cfg->google.ca_file, 60, e);
		if (rc == 0)
			rc = hv_directory_list(h, r->cfg->google.directory, token.data, NULL,
			    r->team->group, add_member, r, e);
		hv_http_free(h);
		hv_buf_release(&token);
		if (rc < 0)
			return hv_err_wrap(e, "members of group '%s'", r->team->group);
	}
	for (i = 0; i < r->nm && rc == 0; i++)
		rc = hv_index_member_put(r->store, r->team->name, r->m[i].account, e);
	return rc;
}

/* A run that cannot keep its trail stops: access off the record is none. */
static int
audit(struct run *r, const char *action, const char *account, const char *message_id,
    int outcome, const char *error, struct hv_err *e)
{
	return hv_audit_message(r->cfg, hv_auth_key(r->auth, HV_AUTH_KEY_AUDIT), action,
	    account, r->team->name, message_id, outcome, error, e);
}

/* One member's copy: 0 when it is there (now or before). */
static int
copy_to(struct run *r, struct member *m, const uint8_t *mid, const struct hv_buf *raw,
    const char *message_id, const char **state, struct hv_err *e)
{
	char id[64] = "", labels[256];
	int rc, tried;

	tried = hv_index_copy_get(r->store, r->team->name, mid, m->account, id, NULL) == 0;
	if (tried && id[0] != '\0') {
		*state = "had";
		r->st->skipped++;
		return 0;
	}
	if (m->dead) {
		*state = "refused";
		return HV_EPERM;
	}
	if (m->gmail == NULL &&
	    (rc = hv_gmail_new(&m->gmail, r->cfg, r->auth, m->account, e)) < 0)
		return rc;
	if (m->label[0] == '\0' &&
	    (rc = hv_gmail_label(m->gmail, r->team->label, m->label, e)) < 0)
		goto fail;
	/*
	 * The attempt is recorded before the upload.  One found without an id
	 * died between Google's answer and ours; uploading again is safe with
	 * messages.import, which drops a second copy of a Message-ID the
	 * mailbox holds and answers with the first.  (Finding it otherwise
	 * would take a read scope members are not given; with insert, such a
	 * crash can leave a second copy.)
	 */
	if (!tried) {
		if ((rc = hv_index_copy_put(r->store, r->team->name, mid, m->account, "",
		    hv_now(), e)) < 0)
			return rc;
		hv_crashpoint();
	}
	snprintf(labels, sizeof labels, "INBOX UNREAD %s", m->label);
	if ((rc = hv_gmail_upload(m->gmail, raw->data, raw->len, labels, r->team->import, id,
	    e)) < 0)
		goto fail;
	hv_crashpoint();
	if ((rc = hv_index_copy_put(r->store, r->team->name, mid, m->account, id, hv_now(),
	    e)) < 0)
		return rc;
	hv_crashpoint();
	if ((rc = audit(r, HV_AUDIT_MSG_IMPORT, m->account, message_id, HV_AUDIT_OK, NULL,
	    e)) < 0)
		return rc;
	*state = "imported";
	r->st->imported++;
	return 0;
fail:
	(void)audit(r, HV_AUDIT_MSG_IMPORT, m->account, message_id, HV_AUDIT_FAIL, e->msg,
	    NULL);
	*state = "failed";
	if (rc == HV_EPERM) {
		m->dead = 1;
		note(r, "%s: %s; leaving it for this run", m->account, e->msg);
	}
	return rc;
}

static int
emit(struct run *r, const char *id, const char *message_id, struct hv_json *states,
    int done, const char *why)
{
	struct hv_json *j = hv_json_object();
	struct hv_buf line = HV_BUF_INIT(64 * 1024);
	int rc;

	hv_json_set_str(j, "team", r->team->name);
	hv_json_set_str(j, "id", id);
	hv_json_set_str(j, "messageId", message_id);
	if (states != NULL)
		hv_json_set(j, "members", states);
	hv_json_set_bool(j, "done", done);
	if (why != NULL)
		hv_json_set_str(j, "error", why);
	rc = hv_json_dump(j, &line);
	if (rc == 0 && r->io->emit != NULL)
		rc = r->io->emit(line.data, r->io->arg);
	hv_json_free(j);
	hv_buf_release(&line);
	return rc;
}

/* "account: why", unless why names the account already. */
static void
blame(char *out, size_t max, const char *account, const char *why)
{
	size_t n = strlen(account);

	if (strncasecmp(why, account, n) == 0)
		snprintf(out, max, "%s", why);
	else
		snprintf(out, max, "%s: %s", account, why);
}

/* One message from its spool file to every member. */
static int
sync_one(struct run *r, const char *account, const char *id, const char *path)
{
	struct hv_buf raw;
	struct hv_mime_ids ids;
	struct hv_json *states = hv_json_object();
	uint8_t mid[HV_INDEX_MID_LEN];
	const char *state;
	size_t i;
	int rc, all = 1, done = 0;
	struct hv_err e = { 0 };
	/* Room for an address, then e.msg. */
	char why[2 * HV_ERR_MSG] = "", msg[2 * HV_ERR_MSG];

	hv_buf_init_secret(&raw, HV_GMAIL_RAW_MAX);
	ids.subject.data = NULL;
	r->st->messages++;
	rc = hv_spool_get(r->spool, path, account, &raw, &e);
	if (rc == HV_ENOINPUT || rc == HV_EPERM) {
		/* Its cursor never skipped it: hv-fetch fetches it again, so
		 * the next run finishes it. */
		r->st->gone++;
		worst(r, HV_ETEMP);
		note(r, "%s: message %s: %s; hv-fetch will fetch it again", account, id, e.msg);
		rc = emit(r, id, "", NULL, 0, rc == HV_EPERM ? "epoch key gone" : "spool file gone");
		goto out;
	}
	if (rc < 0 || (rc = hv_mime_ids(&ids, raw.data, raw.len, id, &e)) < 0) {
		/* Left in the spool for a person to look at; the others go on. */
		r->st->failed++;
		worst(r, rc);
		note(r, "%s", e.msg);
		rc = emit(r, id, "", NULL, 0, e.msg);
		goto out;
	}
	hv_hmac_sha256(mid, hv_auth_key(r->auth, HV_AUTH_KEY_INDEX), HV_KEY_LEN,
	    ids.message_id, strlen(ids.message_id));
	for (i = 0; i < r->nm; i++) {
		state = "failed";
		if (strcasecmp(r->m[i].account, r->team->source) == 0) {
			/* The shared mailbox has it already. */
			rc = hv_index_copy_put(r->store, r->team->name, mid, r->m[i].account, id,
			    hv_now(), &e);
			state = "source";
		} else {
			rc = copy_to(r, &r->m[i], mid, &raw, ids.message_id, &state, &e);
		}
		hv_json_set_str(states, r->m[i].account, state);
		if (rc < 0) {
			/* The first member that failed says why: the calls for
			 * the members after it may leave other text in e. */
			all = 0;
			worst(r, rc);
			blame(msg, sizeof msg, r->m[i].account, e.msg);
			if (why[0] == '\0')
				memcpy(why, msg, sizeof why);
			if (rc != HV_EPERM)
				note(r, "%s", msg);
		}
	}
	if (all) {
		/* Raw mail goes first: a crash before the index says done costs
		 * one download again, never a spool file left behind. */
		if ((rc = hv_spool_remove(r->spool, path, &e)) == 0 &&
		    (hv_crashpoint(), rc = hv_index_message_done(r->store, r->team->name, mid,
		    &e)) == 0) {
			done = 1;
			r->st->done++;
		} else {
			worst(r, rc);
			note(r, "%s", e.msg);
		}
	} else {
		r->st->pending++;
	}
	rc = emit(r, id, ids.message_id, states, done, all ? NULL : why);
out:
	hv_json_free(states);
	if (ids.subject.data != NULL)
		hv_mime_ids_release(&ids);
	hv_buf_release(&raw);
	return rc ? hv_err_set(r->e, HV_EIO, "cannot write a result line") : 0;
}

/* A line of hv-fetch: the message to sync. */
static int
sync_line(struct run *r, const char *line, size_t n)
{
	struct hv_json *j;
	const char *team, *account, *id, *path;
	struct hv_err e = { 0 };
	int rc;

	if (hv_json_parse(line, n, &j, &e) < 0) {
		note(r, "skipping a line that is not JSON: %s", e.msg);
		worst(r, HV_EDATA);
		return 0;
	}
	team = hv_json_get_str(j, "team");
	account = hv_json_get_str(j, "account");
	id = hv_json_get_str(j, "id");
	path = hv_json_get_str(j, "spool");
	rc = 0;
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
		rc = sync_one(r, account, id, path);
	}
	hv_json_free(j);
	return rc;
}

static int
sync_input(struct run *r, const char *input, struct hv_err *e)
{
	FILE *f = strcmp(input, "-") == 0 ? stdin : fopen(input, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (f == NULL)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", input);
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (n > LINE_MAX_BYTES) {
			note(r, "skipping a line of %zd bytes", n);
			continue;
		}
		rc = sync_line(r, line, (size_t)n);
	}
	if (rc == 0 && ferror(f))
		rc = hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", input);
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

struct found {
	struct run *r;
	char **path, **id;
	size_t n;
};

static int
spool_entry(const struct hv_spool_entry *ent, void *arg)
{
	struct found *f = arg;

	if (strcmp(ent->team, f->r->team->name) != 0)
		return 0;
	f->path = hv_xrealloc(f->path, (f->n + 1) * sizeof *f->path);
	f->id = hv_xrealloc(f->id, (f->n + 1) * sizeof *f->id);
	f->path[f->n] = hv_xstrdup(ent->path);
	f->id[f->n++] = hv_xstrdup(ent->gmail_id);
	return 0;
}

/* No input named: whatever the spool holds for the team. */
static int
sync_spool(struct run *r, struct hv_err *e)
{
	struct found f = { r, NULL, NULL, 0 };
	size_t i;
	int rc = hv_spool_each(r->spool, spool_entry, &f, NULL, e);

	for (i = 0; i < f.n; i++) {
		if (rc == 0)
			rc = sync_one(r, r->team->source, f.id[i], f.path[i]);
		free(f.path[i]);
		free(f.id[i]);
	}
	free(f.path);
	free(f.id);
	return rc;
}

int
hv_sync_run(const struct hv_config *c, const struct hv_sync_opts *o,
    const struct hv_sync_io *io, struct hv_sync_stats *st, struct hv_err *e)
{
	struct run r = { 0 };
	size_t i;
	int rc, on_disk = 0;

	memset(st, 0, sizeof *st);
	r.cfg = c;
	r.io = io;
	r.st = st;
	r.e = e;
	if ((r.team = hv_config_team(c, o->team)) == NULL)
		return hv_err_set(e, HV_ECONFIG, "no team '%s' in %s", o->team,
		    c->file ? c->file : "the configuration");
	if ((rc = hv_auth_open(&r.auth, c, e)) < 0 ||
	    (rc = hv_spool_open(&r.spool, c, hv_now(), &on_disk, e)) < 0)
		goto out;
	r.store = hv_auth_store(r.auth);
	if (on_disk)
		note(&r, "the spool '%s' is on persistent storage (allow_disk = yes)",
		    hv_spool_root(r.spool));
	if ((rc = members(&r, e)) < 0)
		goto out;
	rc = o->input != NULL ? sync_input(&r, o->input, e) : sync_spool(&r, e);
	if (rc == 0 && st->worst != 0)
		rc = hv_err_set(e, st->worst, "%ld of %ld messages not yet with every member",
		    st->pending + st->failed + st->gone, st->messages);
out:
	for (i = 0; i < r.nm; i++) {
		if (r.m[i].gmail != NULL) {
			st->units += hv_gmail_units(r.m[i].gmail);
			st->calls += hv_gmail_calls(r.m[i].gmail);
		}
		hv_gmail_free(r.m[i].gmail);
		free(r.m[i].account);
	}
	free(r.m);
	hv_spool_close(r.spool);
	hv_auth_close(r.auth);
	return rc;
}
