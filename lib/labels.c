#include <ctype.h>
#include <stdarg.h>
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
#include "labels.h"
#include "team.h"
#include "mem.h"
#include "syslabel.h"
#include "banned.h"

#define H HV_INDEX_MID_LEN
#define BATCH_MIN 10	/* batchModify (50 units) beats modify (5) from ten messages */

struct mlabel {			/* a label of one mailbox */
	char id[HV_GMAIL_ID_SIZE];	/* opaque: as labels.list gave it */
	char *rel;		/* the name under the team label, or NULL */
	uint8_t h[H];
	int kind;
};

struct part {			/* a mailbox taking part */
	char *account;
	struct hv_gmail *g;
	struct mlabel *l;
	size_t nl;
	int listed, dead, read;
	struct hv_buf latest;	/* the cursor to store once the run is recorded */
};

struct lset {
	struct hv_index_label *l;
	size_t n;
};

struct msg {			/* a message whose labels changed this run */
	uint8_t mid[H];
	struct lset team;
	int team_changed;
	struct lset *seen;	/* per part */
	int *seen_changed, *deleted;
};

struct change {			/* to the team's state, for the audit trail */
	uint8_t mid[H];
	char *rel;
	int add;
	size_t from;		/* a part, or SIZE_MAX for hv-sync set */
};

struct name {
	uint8_t h[H];
	char *rel;
};

struct run {
	const struct hv_config *cfg;
	const struct hv_team *team;
	const struct hv_labels_io *io;
	struct hv_labels_stats *st;
	struct hv_auth *auth;
	struct hv_store *store;
	struct part *p;
	size_t np;
	struct msg **m;
	size_t nm;
	struct change *ch;
	size_t nch;
	struct name *names;
	size_t nnames;
	char kind[256];		/* the cursor kind: labels:<team> */
	const char *by;		/* who set a change that came from no mailbox */
};

static void note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct run *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->io == NULL || r->io->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->io->note(0, msg, r->io->arg);
}

/* How far the run is, for a person at a terminal. */
static void
progress(struct run *r, const char *what, size_t i)
{
	char msg[160];

	if (r->io == NULL || r->io->note == NULL)
		return;
	snprintf(msg, sizeof msg, "%s: labels: %s %zu of %zu mailboxes; %ld copies updated",
	    r->team->name, what, i, r->np, r->st->applied);
	r->io->note(1, msg, r->io->arg);
}

static void
worst(struct run *r, int status)
{
	if (status == 0 || r->st->worst == status)
		return;
	if (r->st->worst == 0 || r->st->worst == HV_ETEMP)
		r->st->worst = status;
}

/* ---- label names, kinds and HMACs ---- */

static void
label_hmac(struct hv_auth *a, const char *rel, uint8_t h[H])
{
	size_t i, n = strlen(rel);
	char *low = hv_xmalloc(n + 1);

	/* Gmail compares label names without regard to case: so does hv.
	 * The whole name: two long names alike in their first bytes are
	 * still two labels. */
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)rel[i]);
	low[n] = '\0';
	hv_hmac_sha256(h, hv_auth_key(a, HV_AUTH_KEY_INDEX), HV_KEY_LEN, low, n);
	free(low);
}

static int
label_kind(const char *rel)
{
	if (strncasecmp(rel, "Status/", 7) == 0 && rel[7] != '\0')
		return HV_LABEL_STATUS;
	if (strncasecmp(rel, "Assigned/", 9) == 0 && rel[9] != '\0')
		return HV_LABEL_ASSIGNED;
	return HV_LABEL_OTHER;
}

/* The part of a full label name under the team label, or NULL. */
static const char *
under_team(const struct hv_team *t, const char *name)
{
	size_t n = strlen(t->label);

	if (strncasecmp(name, t->label, n) != 0 || name[n] != '/' || name[n + 1] == '\0')
		return NULL;
	return name + n + 1;
}

static void
name_add(struct run *r, const uint8_t h[H], const char *rel)
{
	size_t i;

	for (i = 0; i < r->nnames; i++)
		if (memcmp(r->names[i].h, h, H) == 0)
			return;
	r->names = hv_xrealloc(r->names, (r->nnames + 1) * sizeof *r->names);
	memcpy(r->names[r->nnames].h, h, H);
	r->names[r->nnames++].rel = hv_xstrdup(rel);
}

static const char *
name_of(struct run *r, const uint8_t h[H])
{
	size_t i;

	for (i = 0; i < r->nnames; i++)
		if (memcmp(r->names[i].h, h, H) == 0)
			return r->names[i].rel;
	return NULL;
}

/* ---- label sets ---- */

static int
lset_has(const struct lset *s, const uint8_t h[H])
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (memcmp(s->l[i].hmac, h, H) == 0)
			return 1;
	return 0;
}

static void
lset_add(struct lset *s, const uint8_t h[H], int kind)
{
	s->l = hv_xrealloc(s->l, (s->n + 1) * sizeof *s->l);
	memcpy(s->l[s->n].hmac, h, H);
	s->l[s->n++].kind = kind;
}

/* Remove h, or with kind, every label of that kind but h. */
static int
lset_remove(struct lset *s, const uint8_t h[H], int kind)
{
	size_t i, k = 0;
	int gone = 0;

	for (i = 0; i < s->n; i++) {
		int drop = kind ? s->l[i].kind == kind && memcmp(s->l[i].hmac, h, H) != 0 :
		    memcmp(s->l[i].hmac, h, H) == 0;

		if (drop)
			gone++;
		else
			s->l[k++] = s->l[i];
	}
	s->n = k;
	return gone;
}

static int
lset_equal(const struct lset *a, const struct lset *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!lset_has(b, a->l[i].hmac))
			return 0;
	return 1;
}

/* ---- mailboxes ---- */

static int
add_part(struct run *r, const char *account)
{
	size_t i;

	for (i = 0; i < r->np; i++)
		if (strcasecmp(r->p[i].account, account) == 0)
			return 0;
	r->p = hv_xrealloc(r->p, (r->np + 1) * sizeof *r->p);
	memset(&r->p[r->np], 0, sizeof *r->p);
	r->p[r->np].account = hv_xstrdup(account);
	hv_buf_init(&r->p[r->np++].latest, 64);
	return 0;
}

/* The members in the team's order (or the group's, the skipped named
 * once and left out), then the source. */
static int
parts(struct run *r, struct hv_err *e)
{
	struct hv_team_roster ro;
	size_t i;
	int rc;

	if ((rc = hv_team_roster(r->auth, r->cfg, r->team, &ro, e)) < 0 &&
	    rc != HV_EPERM && rc != HV_ECONFIG)
		return rc;
	for (i = 0; i < ro.nskips; i++)
		note(r, "team %s: skipping %s: %s", r->team->name, ro.skips[i].member,
		    ro.skips[i].why);
	for (i = 0; i < ro.n; i++)
		add_part(r, ro.members[i]);
	hv_team_roster_release(&ro);
	if (rc < 0)
		return rc;
	return add_part(r, r->team->source);
}

static int
gmail_of(struct run *r, struct part *p, struct hv_err *e)
{
	if (p->g != NULL)
		return 0;
	return hv_gmail_new(&p->g, r->cfg, r->auth, p->account, e);
}

struct list_arg {
	struct run *r;
	struct part *p;
	struct hv_err *e;
};

static int
list_one(const char *id, const char *name, void *arg)
{
	struct list_arg *a = arg;
	struct part *p = a->p;
	struct mlabel *l;
	const char *rel;

	/* hv_gmail_labels refuses longer ids; a cut one would name another. */
	if (strlen(id) >= sizeof l->id)
		return hv_err_set(a->e, HV_EPROTO, "%s: label id too long", p->account);
	p->l = hv_xrealloc(p->l, (p->nl + 1) * sizeof *p->l);
	l = &p->l[p->nl++];
	memset(l, 0, sizeof *l);
	memcpy(l->id, id, strlen(id) + 1);
	if ((rel = under_team(a->r->team, name)) != NULL) {
		l->rel = hv_xstrdup(rel);
		l->kind = label_kind(rel);
		label_hmac(a->r->auth, rel, l->h);
		name_add(a->r, l->h, rel);
	}
	return 0;
}

static int
list_labels(struct run *r, struct part *p, struct hv_err *e)
{
	struct list_arg a = { r, p, e };
	int rc;

	if (p->listed)
		return 0;
	if ((rc = gmail_of(r, p, e)) < 0 || (rc = hv_gmail_labels(p->g, list_one, &a, e)) < 0)
		return rc;
	p->listed = 1;
	return 0;
}

static const struct mlabel *
label_by_id(const struct part *p, const char *id, size_t n)
{
	size_t i;

	for (i = 0; i < p->nl; i++)
		if (strlen(p->l[i].id) == n && memcmp(p->l[i].id, id, n) == 0)
			return &p->l[i];
	return NULL;
}

static const struct mlabel *
label_by_hmac(const struct part *p, const uint8_t h[H])
{
	size_t i;

	for (i = 0; i < p->nl; i++)
		if (p->l[i].rel != NULL && memcmp(p->l[i].h, h, H) == 0)
			return &p->l[i];
	return NULL;
}

/* ---- the messages of this run ---- */

static void
msg_free(struct msg *m, size_t np)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->team.l);
	for (i = 0; i < np; i++)
		free(m->seen[i].l);
	free(m->seen);
	free(m->seen_changed);
	free(m->deleted);
	free(m);
}

static int
msg_get(struct run *r, const uint8_t mid[H], struct msg **out, struct hv_err *e)
{
	struct msg *m;
	size_t i;
	int rc;

	for (i = 0; i < r->nm; i++)
		if (memcmp(r->m[i]->mid, mid, H) == 0) {
			*out = r->m[i];
			return 0;
		}
	m = hv_xcalloc(1, sizeof *m);
	memcpy(m->mid, mid, H);
	m->seen = hv_xcalloc(r->np, sizeof *m->seen);
	m->seen_changed = hv_xcalloc(r->np, sizeof *m->seen_changed);
	m->deleted = hv_xcalloc(r->np, sizeof *m->deleted);
	rc = hv_index_labels_get(r->store, r->team->name, mid, "", &m->team.l, &m->team.n, e);
	for (i = 0; i < r->np && rc == 0; i++)
		rc = hv_index_labels_get(r->store, r->team->name, mid, r->p[i].account,
		    &m->seen[i].l, &m->seen[i].n, e);
	if (rc < 0) {
		msg_free(m, r->np);
		return rc;
	}
	r->m = hv_xrealloc(r->m, (r->nm + 1) * sizeof *r->m);
	r->m[r->nm++] = m;
	*out = m;
	return 0;
}

static void
change_add(struct run *r, const uint8_t mid[H], const uint8_t h[H], int add, size_t from)
{
	const char *rel = name_of(r, h);
	struct change *c;

	r->ch = hv_xrealloc(r->ch, (r->nch + 1) * sizeof *r->ch);
	c = &r->ch[r->nch++];
	memcpy(c->mid, mid, H);
	c->rel = hv_xstrdup(rel ? rel : "?");
	c->add = add;
	c->from = from;
	r->st->changes++;
}

/* The team's state takes a change. */
static void
team_apply(struct run *r, struct msg *m, const uint8_t h[H], int kind, int add, size_t from)
{
	size_t i;

	if (add) {
		if (kind != HV_LABEL_OTHER)
			for (i = 0; i < m->team.n; i++)
				if (m->team.l[i].kind == kind &&
				    memcmp(m->team.l[i].hmac, h, H) != 0) {
					change_add(r, m->mid, m->team.l[i].hmac, 0, from);
					m->team_changed = 1;
				}
		if (kind != HV_LABEL_OTHER)
			lset_remove(&m->team, h, kind);
		if (!lset_has(&m->team, h)) {
			lset_add(&m->team, h, kind);
			change_add(r, m->mid, h, 1, from);
			m->team_changed = 1;
		}
	} else if (lset_remove(&m->team, h, 0) > 0) {
		change_add(r, m->mid, h, 0, from);
		m->team_changed = 1;
	}
}

/*
 * A label of part's copy changed.  Only what changes what hv knows of the
 * copy is the member's doing; the rest is hv's own work coming back.
 */
static void
event(struct run *r, size_t part, struct msg *m, const uint8_t h[H], int kind, int add)
{
	struct lset *seen = &m->seen[part];

	if (add ? lset_has(seen, h) : !lset_has(seen, h))
		return;
	if (add)
		lset_add(seen, h, kind);
	else
		lset_remove(seen, h, 0);
	m->seen_changed[part] = 1;
	team_apply(r, m, h, kind, add, part);
}

/* ---- reading history ---- */

struct read_arg {
	struct run *r;
	size_t part;
	struct hv_err *e;
};

/*
 * 1 when labels holds an id other than a system label's: only those can be
 * team labels.  User label ids are opaque (no prefix, no case to go by);
 * the system labels' are the few Google documents.
 */
static int
has_user_label(const char *labels)
{
	const char *s;
	size_t n;

	for (s = labels; *s; s += n) {
		while (*s == ' ')
			s++;
		if ((n = strcspn(s, " ")) == 0)
			break;
		if (!hv_syslabel_id(s, n))
			return 1;
	}
	return 0;
}

static int
on_change(const struct hv_gmail_change *c, void *arg)
{
	struct read_arg *a = arg;
	struct run *r = a->r;
	struct part *p = &r->p[a->part];
	const struct mlabel *l;
	struct msg *m;
	uint8_t mid[H];
	const char *s;
	size_t n;
	int rc;

	if (c->kind != HV_GMAIL_DELETED && !has_user_label(c->labels))
		return 0;
	rc = hv_index_copy_find(r->store, r->team->name, p->account, c->id, mid, a->e);
	if (rc == HV_ENOINPUT)
		return 0;	/* not a message of the team */
	if (rc < 0 || (rc = msg_get(r, mid, &m, a->e)) < 0)
		return rc;
	if (c->kind == HV_GMAIL_DELETED) {
		/* The member's mailbox, the member's choice: not passed on. */
		m->deleted[a->part] = 1;
		return 0;
	}
	if ((rc = list_labels(r, p, a->e)) < 0)
		return rc;
	for (s = c->labels; *s; s += n) {
		while (*s == ' ')
			s++;
		if ((n = strcspn(s, " ")) == 0)
			break;
		if ((l = label_by_id(p, s, n)) != NULL && l->rel != NULL)
			event(r, a->part, m, l->h, l->kind, c->kind == HV_GMAIL_LABEL_ADDED);
	}
	return 0;
}

struct resync_hit {
	char id[HV_GMAIL_ID_SIZE];
	size_t label;		/* index into the part's labels */
};

struct resync {
	struct run *r;
	size_t part;
	struct resync_hit *hit;
	size_t nhit, cur;
	uint8_t (*mid)[H];
	char (*gid)[HV_GMAIL_ID_SIZE];
	size_t ncopies;
};

static int
resync_listed(const char *id, const char *labels, void *arg)
{
	struct resync *s = arg;

	(void)labels;
	if (strlen(id) >= sizeof s->hit->id)
		return HV_EPROTO;	/* hv_gmail_list refuses such ids first */
	s->hit = hv_xrealloc(s->hit, (s->nhit + 1) * sizeof *s->hit);
	memcpy(s->hit[s->nhit].id, id, strlen(id) + 1);
	s->hit[s->nhit++].label = s->cur;
	return 0;
}

static int
resync_copy(const uint8_t *mid, const char *gmail_id, void *arg)
{
	struct resync *s = arg;

	if (strlen(gmail_id) >= sizeof *s->gid)
		return HV_EDATA;	/* not an id hv stored: the index is damaged */
	s->mid = hv_xrealloc(s->mid, (s->ncopies + 1) * sizeof *s->mid);
	s->gid = hv_xrealloc(s->gid, (s->ncopies + 1) * sizeof *s->gid);
	memcpy(s->mid[s->ncopies], mid, H);
	memcpy(s->gid[s->ncopies++], gmail_id, strlen(gmail_id) + 1);
	return 0;
}

/* What one copy carries now, against what hv knew: the differences are the
 * member's changes that history no longer holds. */
static int
resync_one(struct resync *s, size_t c, struct hv_err *e)
{
	struct run *r = s->r;
	struct part *p = &r->p[s->part];
	struct lset now = { NULL, 0 }, known = { NULL, 0 };
	struct msg *m;
	size_t i;
	int rc;

	for (i = 0; i < s->nhit; i++)
		if (strcmp(s->hit[i].id, s->gid[c]) == 0)
			lset_add(&now, p->l[s->hit[i].label].h, p->l[s->hit[i].label].kind);
	rc = hv_index_labels_get(r->store, r->team->name, s->mid[c], p->account, &known.l,
	    &known.n, e);
	if (rc == 0 && !lset_equal(&now, &known) && (rc = msg_get(r, s->mid[c], &m, e)) == 0) {
		for (i = 0; i < known.n; i++)
			if (!lset_has(&now, known.l[i].hmac))
				event(r, s->part, m, known.l[i].hmac, known.l[i].kind, 0);
		for (i = 0; i < now.n; i++)
			event(r, s->part, m, now.l[i].hmac, now.l[i].kind, 1);
	}
	free(now.l);
	free(known.l);
	return rc;
}

/*
 * The mailbox's history has expired: list the messages under each team
 * label (messages.list by label, 5 units a page of 500) and compare with
 * what hv knows of each copy.  Nothing is copied again.
 */
static int
resync(struct run *r, size_t part, struct hv_err *e)
{
	struct part *p = &r->p[part];
	struct resync s = { r, part, NULL, 0, 0, NULL, NULL, 0 };
	size_t i;
	int rc;

	note(r, "%s: label history has expired; comparing the labels of its copies",
	    p->account);
	r->st->resyncs++;
	hv_buf_reset(&p->latest);
	if ((rc = hv_gmail_profile(p->g, &p->latest, e)) < 0 ||
	    (rc = list_labels(r, p, e)) < 0)
		return rc;
	for (i = 0; i < p->nl && rc == 0; i++) {
		if (p->l[i].rel == NULL)
			continue;
		s.cur = i;
		rc = hv_gmail_list(p->g, NULL, p->l[i].id, resync_listed, &s, e);
	}
	if (rc == 0)
		rc = hv_index_member_copies(r->store, r->team->name, p->account, 0, resync_copy,
		    &s, e);
	for (i = 0; i < s.ncopies && rc == 0; i++)
		rc = resync_one(&s, i, e);
	if (rc == 0)
		p->read = 1;
	free(s.hit);
	free(s.mid);
	free(s.gid);
	return rc;
}

/* One mailbox's changes since its cursor; the first time, only the cursor. */
static int
read_part(struct run *r, size_t part, struct hv_err *e)
{
	struct part *p = &r->p[part];
	struct hv_buf cursor = HV_BUF_INIT(64);
	struct read_arg a = { r, part, e };
	int rc;

	if ((rc = gmail_of(r, p, e)) < 0)
		goto out;
	rc = hv_index_cursor_get(r->store, p->account, r->kind, &cursor, e);
	if (rc == HV_ENOINPUT) {
		/* Labels set before now are not replayed. */
		if ((rc = hv_gmail_profile(p->g, &cursor, e)) == 0 &&
		    (rc = hv_index_cursor_put(r->store, p->account, r->kind, cursor.data,
		    hv_now(), e)) == 0)
			hv_crashpoint();
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = hv_gmail_history_labels(p->g, cursor.data, on_change, &a, &p->latest, e);
	if (rc == HV_ENOINPUT)
		rc = resync(r, part, e);
	else if (rc == 0)
		p->read = p->latest.len > 0;
out:
	hv_buf_release(&cursor);
	return rc;
}

/* ---- recording a run ---- */

static int
audit_changes(struct run *r, struct hv_err *e)
{
	char msgid[HV_AUDIT_MSGID_LEN + 1];
	struct hv_json *j;
	struct hv_buf line = HV_BUF_INIT(4096);
	size_t i;
	int rc = 0;

	for (i = 0; i < r->nch && rc == 0; i++) {
		const char *from = r->ch[i].from < r->np ? r->p[r->ch[i].from].account : r->by;
		struct hv_audit_field f[5] = {
			{ "account", from }, { "team", r->team->name }, { "msgid", msgid },
			{ "label", r->ch[i].rel }, { "op", r->ch[i].add ? "add" : "remove" },
		};

		/* The index keeps no Message-ID: the audit names the message by
		 * the HMAC of its index identifier (hv-sync status prints it). */
		hv_audit_msgid(msgid, hv_auth_key(r->auth, HV_AUTH_KEY_AUDIT),
		    (const char *)r->ch[i].mid, H);
		if ((rc = hv_audit_log(r->cfg, HV_AUDIT_LABEL_PROPAGATE, f, 5, HV_AUDIT_OK, NULL, e)) < 0)
			break;
		j = hv_json_object();
		hv_json_set_str(j, "team", r->team->name);
		hv_json_set_str(j, "msgid", msgid);
		hv_json_set_str(j, "label", r->ch[i].rel);
		hv_json_set_str(j, "op", r->ch[i].add ? "add" : "remove");
		hv_json_set_str(j, "from", from);
		hv_buf_reset(&line);
		if (hv_json_dump(j, &line) == 0 && r->io != NULL && r->io->emit != NULL &&
		    r->io->emit(line.data, r->io->arg) < 0)
			rc = hv_err_set(e, HV_EIO, "cannot write a result line");
		hv_json_free(j);
	}
	hv_buf_release(&line);
	return rc;
}

static int
record_msg(struct run *r, struct msg *m, struct hv_err *e)
{
	const char *team = r->team->name;
	size_t i;
	int rc = 0;

	if (m->team_changed)
		rc = hv_index_labels_put(r->store, team, m->mid, "", m->team.l, m->team.n, e);
	for (i = 0; i < r->np && rc == 0; i++) {
		if (m->deleted[i]) {
			rc = hv_index_copy_deleted(r->store, team, m->mid, r->p[i].account, e);
			r->st->deleted++;
			continue;
		}
		if (m->seen_changed[i])
			rc = hv_index_labels_put(r->store, team, m->mid, r->p[i].account,
			    m->seen[i].l, m->seen[i].n, e);
		if (rc == 0 && !lset_equal(&m->seen[i], &m->team))
			rc = hv_index_copy_dirty(r->store, team, m->mid, r->p[i].account, 1, e);
	}
	return rc;
}

/* The team's state, what hv knows of each copy, the marks and the cursors:
 * all of it, or none. */
static int
record(struct run *r, struct hv_err *e)
{
	size_t i;
	int rc;

	if ((rc = audit_changes(r, e)) < 0 || (rc = hv_store_begin(r->store, e)) < 0)
		return rc;
	for (i = 0; i < r->nm && rc == 0; i++)
		rc = record_msg(r, r->m[i], e);
	for (i = 0; i < r->np && rc == 0; i++)
		if (r->p[i].read)
			rc = hv_index_cursor_put(r->store, r->p[i].account, r->kind,
			    r->p[i].latest.data, hv_now(), e);
	if (rc == 0)
		rc = hv_store_commit(r->store, e);
	if (rc < 0) {
		hv_store_rollback(r->store);
		return rc;
	}
	hv_crashpoint();
	return 0;
}

/* ---- bringing copies to the team's state ---- */

struct job {
	uint8_t mid[H];
	char gid[HV_GMAIL_ID_SIZE];
	char *add, *remove;	/* sorted, space-separated label ids */
	struct lset team;
};

struct jobs {
	struct job *j;
	size_t n;
};

static int
dirty_copy(const uint8_t *mid, const char *gmail_id, void *arg)
{
	struct jobs *js = arg;
	struct job *j;

	if (strlen(gmail_id) >= sizeof j->gid)
		return HV_EDATA;	/* not an id hv stored: the index is damaged */
	js->j = hv_xrealloc(js->j, (js->n + 1) * sizeof *js->j);
	j = &js->j[js->n++];
	memset(j, 0, sizeof *j);
	memcpy(j->mid, mid, H);
	memcpy(j->gid, gmail_id, strlen(gmail_id) + 1);
	return 0;
}

static int
by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
join_sorted(char **ids, size_t n)
{
	struct hv_buf b = HV_BUF_INIT(64 * 1024);
	size_t i;
	char *s;

	qsort(ids, n, sizeof *ids, by_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0)
			hv_buf_addf(&b, "%s%s", b.len ? " " : "", ids[i]);
	s = hv_buf_detach(&b, NULL);
	return s != NULL ? s : hv_xstrdup("");
}

/* A name for h, from any mailbox of the team when this run has not seen it. */
static const char *
find_name(struct run *r, const uint8_t h[H], struct hv_err *e)
{
	const char *rel;
	size_t i;

	for (i = 0; (rel = name_of(r, h)) == NULL && i < r->np; i++)
		if (!r->p[i].dead && !r->p[i].listed && list_labels(r, &r->p[i], e) < 0)
			note(r, "%s", e->msg);
	return rel;
}

/* The id of team label h in p's mailbox, created when missing. */
static int
label_id(struct run *r, struct part *p, const uint8_t h[H], int kind, const char **id,
    struct hv_err *e)
{
	const struct mlabel *ml = label_by_hmac(p, h);
	struct hv_buf full = HV_BUF_INIT(1024);
	struct mlabel *l;
	const char *rel;
	char nid[HV_GMAIL_ID_SIZE];
	int rc;

	*id = NULL;
	if (ml != NULL) {
		*id = ml->id;
		return 0;
	}
	if ((rel = find_name(r, h, e)) == NULL)
		return hv_err_set(e, HV_EDATA, "a label of team '%s' that no mailbox has any more",
		    r->team->name);
	hv_buf_addf(&full, "%s/%s", r->team->label, rel);
	rc = hv_gmail_label_create(p->g, full.data, nid, e);
	hv_buf_release(&full);
	if (rc < 0)
		return rc;
	p->l = hv_xrealloc(p->l, (p->nl + 1) * sizeof *p->l);
	l = &p->l[p->nl++];
	memset(l, 0, sizeof *l);
	memcpy(l->id, nid, strlen(nid) + 1);
	l->rel = hv_xstrdup(rel);
	l->kind = kind;
	memcpy(l->h, h, H);
	*id = l->id;
	return 0;
}

/* What p's copy must take to reach the team's state: the team's labels it
 * lacks, those hv knows it has beyond them, and every other label of an
 * exclusive kind the team's state holds. */
static int
job_plan(struct run *r, struct part *p, struct job *j, struct hv_err *e)
{
	struct lset seen = { NULL, 0 };
	char **add = NULL, **rem = NULL;
	const char *id;
	size_t i, k, na = 0, nr = 0;
	int rc, excl;

	if ((rc = hv_index_labels_get(r->store, r->team->name, j->mid, "", &j->team.l,
	    &j->team.n, e)) < 0 || (rc = hv_index_labels_get(r->store, r->team->name, j->mid,
	    p->account, &seen.l, &seen.n, e)) < 0)
		goto out;
	add = hv_xcalloc(j->team.n + 1, sizeof *add);
	rem = hv_xcalloc(p->nl + 1, sizeof *rem);
	for (i = 0; i < j->team.n && rc == 0; i++)
		/* Copies: a label made now may move p->l. */
		if ((rc = label_id(r, p, j->team.l[i].hmac, j->team.l[i].kind, &id, e)) == 0)
			add[na++] = hv_xstrdup(id);
	for (i = 0; i < p->nl && rc == 0; i++) {
		if (p->l[i].rel == NULL || lset_has(&j->team, p->l[i].h))
			continue;
		for (k = 0, excl = 0; k < j->team.n; k++)
			excl |= p->l[i].kind != HV_LABEL_OTHER && j->team.l[k].kind == p->l[i].kind;
		if (excl || lset_has(&seen, p->l[i].h))
			rem[nr++] = hv_xstrdup(p->l[i].id);
	}
	if (rc == 0) {
		j->add = join_sorted(add, na);
		j->remove = join_sorted(rem, nr);
	}
out:
	for (i = 0; i < na; i++)
		free(add[i]);
	for (i = 0; i < nr; i++)
		free(rem[i]);
	free(add);
	free(rem);
	free(seen.l);
	return rc;
}

static int
by_change(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	int c = strcmp(x->add, y->add);

	return c ? c : strcmp(x->remove, y->remove);
}

/* Jobs [from, to) are done in p's mailbox (or their copies are gone). */
static int
jobs_done(struct run *r, struct part *p, struct job *j, size_t n, int gone, struct hv_err *e)
{
	size_t i;
	int rc;

	if ((rc = hv_store_begin(r->store, e)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if (gone) {
			rc = hv_index_copy_deleted(r->store, r->team->name, j[i].mid, p->account, e);
			r->st->deleted++;
			continue;
		}
		if ((rc = hv_index_labels_put(r->store, r->team->name, j[i].mid, p->account,
		    j[i].team.l, j[i].team.n, e)) == 0)
			rc = hv_index_copy_dirty(r->store, r->team->name, j[i].mid, p->account, 0, e);
	}
	if (rc == 0)
		rc = hv_store_commit(r->store, e);
	if (rc < 0) {
		hv_store_rollback(r->store);
		return rc;
	}
	hv_crashpoint();
	if (!gone)
		r->st->applied += (long)n;
	progress(r, "updating", (size_t)(p - r->p) + 1);
	return 0;
}

/* One change for n copies: one batchModify per thousand, or modify each,
 * whichever spends fewer units (equal: fewer calls). */
static int
apply_group(struct run *r, struct part *p, struct job *j, size_t n, struct hv_err *e)
{
	const char *ids[HV_GMAIL_BATCH_IDS];
	size_t i, k;
	int rc = 0;

	if (j->add[0] == '\0' && j->remove[0] == '\0')
		return jobs_done(r, p, j, n, 0, e);
	if (n >= BATCH_MIN) {
		for (i = 0; i < n && rc == 0; i += k) {
			for (k = 0; k < HV_GMAIL_BATCH_IDS && i + k < n; k++)
				ids[k] = j[i + k].gid;
			if ((rc = hv_gmail_batch_modify(p->g, ids, k, j->add, j->remove, e)) == 0)
				rc = jobs_done(r, p, j + i, k, 0, e);
		}
		return rc;
	}
	for (i = 0; i < n && rc == 0; i++) {
		rc = hv_gmail_modify(p->g, j[i].gid, j->add, j->remove, e);
		if (rc == HV_ENOINPUT)
			rc = jobs_done(r, p, j + i, 1, 1, e);
		else if (rc == 0)
			rc = jobs_done(r, p, j + i, 1, 0, e);
	}
	return rc;
}

static void
jobs_free(struct jobs *js)
{
	size_t i;

	for (i = 0; i < js->n; i++) {
		free(js->j[i].add);
		free(js->j[i].remove);
		free(js->j[i].team.l);
	}
	free(js->j);
}

static int
apply_part(struct run *r, struct part *p, struct hv_err *e)
{
	struct jobs js = { NULL, 0 };
	size_t i, k;
	int rc;

	if ((rc = hv_index_member_copies(r->store, r->team->name, p->account, 1, dirty_copy,
	    &js, e)) < 0 || js.n == 0)
		goto out;
	if ((rc = list_labels(r, p, e)) < 0)
		goto out;
	for (i = 0; i < js.n && rc == 0; i++)
		rc = job_plan(r, p, &js.j[i], e);
	if (rc < 0)
		goto out;
	qsort(js.j, js.n, sizeof *js.j, by_change);
	for (i = 0; i < js.n && rc == 0; i += k) {
		for (k = 1; i + k < js.n && by_change(&js.j[i], &js.j[i + k]) == 0; k++)
			;
		rc = apply_group(r, p, js.j + i, k, e);
	}
	if (rc < 0)
		r->st->failed += (long)(js.n - i);
out:
	jobs_free(&js);
	return rc;
}

/* A mailbox that failed is left for this run; the others go on. */
static void
part_failed(struct run *r, struct part *p, int rc, struct hv_err *e)
{
	worst(r, rc);
	note(r, "%s", e->msg);
	if (rc == HV_EPERM)
		p->dead = 1;
}

/* Failures of one mailbox leave it for this run; the store's end it. */
static int
apply(struct run *r, struct hv_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < r->np; i++) {
		if (r->p[i].dead)
			continue;
		rc = apply_part(r, &r->p[i], e);
		if (rc == HV_ETEMP || rc == HV_EPERM || rc == HV_EPROTO || rc == HV_EDATA)
			part_failed(r, &r->p[i], rc, e);
		else if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- runs ---- */

static int
setup(struct run *r, const struct hv_config *c, const char *team,
    const struct hv_labels_io *io, struct hv_labels_stats *st, struct hv_err *e)
{
	int rc;

	memset(r, 0, sizeof *r);
	memset(st, 0, sizeof *st);
	r->cfg = c;
	r->io = io;
	r->st = st;
	if ((r->team = hv_config_team(c, team)) == NULL)
		return hv_err_set(e, HV_ECONFIG, "no team '%s' in %s", team,
		    c->file ? c->file : "the configuration");
	if (!r->team->sync_labels)
		return hv_err_set(e, HV_ECONFIG, "team '%s' does not share labels "
		    "(sync_labels = yes in its section)", team);
	if (snprintf(r->kind, sizeof r->kind, "labels:%s", team) >= (int)sizeof r->kind)
		return hv_err_set(e, HV_ECONFIG, "team name too long");
	if ((rc = hv_auth_open(&r->auth, c, e)) < 0)
		return rc;
	/* A trail that cannot be appended to stops the run before it changes
	 * a label, with one error. */
	if ((rc = hv_audit_ready(c, e)) < 0)
		return rc;
	r->store = hv_auth_store(r->auth);
	if ((rc = hv_index_source_copies(r->store, team, r->team->source, e)) < 0)
		return rc;
	return parts(r, e);
}

static void
teardown(struct run *r)
{
	size_t i, k;

	for (i = 0; i < r->np; i++) {
		if (r->p[i].g != NULL) {
			r->st->units += hv_gmail_units(r->p[i].g);
			r->st->calls += hv_gmail_calls(r->p[i].g);
		}
		hv_gmail_free(r->p[i].g);
		for (k = 0; k < r->p[i].nl; k++)
			free(r->p[i].l[k].rel);
		free(r->p[i].l);
		hv_buf_release(&r->p[i].latest);
		free(r->p[i].account);
	}
	free(r->p);
	for (i = 0; i < r->nm; i++)
		msg_free(r->m[i], r->np);
	free(r->m);
	for (i = 0; i < r->nch; i++)
		free(r->ch[i].rel);
	free(r->ch);
	for (i = 0; i < r->nnames; i++)
		free(r->names[i].rel);
	free(r->names);
	hv_auth_close(r->auth);
}

static int
finish(struct run *r, int rc, struct hv_err *e)
{
	if (rc == 0 && r->st->worst != 0)
		rc = hv_err_set(e, r->st->worst, "team '%s': some copies are not yet at the "
		    "team's labels", r->team->name);
	teardown(r);
	return rc;
}

int
hv_labels_run(const struct hv_config *c, const char *team, const struct hv_labels_io *io,
    struct hv_labels_stats *st, struct hv_err *e)
{
	struct run r;
	size_t i;
	int rc;

	if ((rc = setup(&r, c, team, io, st, e)) < 0)
		goto out;
	/* What an earlier run decided and did not finish goes first, so its
	 * changes come back through history as known ones. */
	if ((rc = apply(&r, e)) < 0)
		goto out;
	for (i = 0; i < r.np; i++) {
		progress(&r, "read", i);
		if (r.p[i].dead)
			continue;
		rc = read_part(&r, i, e);
		if (rc == HV_ETEMP || rc == HV_EPERM || rc == HV_EPROTO)
			part_failed(&r, &r.p[i], rc, e);
		else if (rc < 0)
			goto out;
	}
	if ((rc = record(&r, e)) == 0)
		rc = apply(&r, e);
out:
	return finish(&r, rc, e);
}

static int
parse_set(struct run *r, const char *what, const char **rel_out, int *kind,
    struct hv_buf *rel, struct hv_err *e)
{
	size_t i;

	*rel_out = NULL;
	if (strncmp(what, "status=", 7) == 0) {
		*kind = HV_LABEL_STATUS;
		for (i = 0; i < r->team->nstates; i++)
			if (strcasecmp(r->team->states[i], what + 7) == 0)
				break;
		if (i == r->team->nstates)
			return hv_err_set(e, HV_EUSAGE, "'%s' is not a state of team '%s'",
			    what + 7, r->team->name);
		hv_buf_addf(rel, "Status/%s", r->team->states[i]);
	} else if (strncmp(what, "assign=", 7) == 0) {
		*kind = HV_LABEL_ASSIGNED;
		if (what[7] == '\0')
			return 0;
		for (i = 0; i < r->np; i++)
			if (strcasecmp(r->p[i].account, what + 7) == 0 &&
			    strcasecmp(r->p[i].account, r->team->source) != 0)
				break;
		if (i == r->np)
			return hv_err_set(e, HV_EUSAGE, "'%s' is not a member of team '%s'",
			    what + 7, r->team->name);
		hv_buf_addf(rel, "Assigned/%s", r->p[i].account);
	} else {
		return hv_err_set(e, HV_EUSAGE, "'%s': say status=STATE or assign=MEMBER", what);
	}
	*rel_out = rel->data;
	return 0;
}

int
hv_labels_set(const struct hv_config *c, const char *team, const char *message_id,
    const char *what, const struct hv_labels_io *io, struct hv_labels_stats *st,
    struct hv_err *e)
{
	struct run r;
	struct hv_buf rel = HV_BUF_INIT(1024);
	struct msg *m;
	uint8_t mid[H], h[H];
	const char *name;
	size_t i;
	int rc, kind;

	if ((rc = setup(&r, c, team, io, st, e)) < 0 ||
	    (rc = parse_set(&r, what, &name, &kind, &rel, e)) < 0)
		goto out;
	r.by = "hv-sync set";
	hv_hmac_sha256(mid, hv_auth_key(r.auth, HV_AUTH_KEY_INDEX), HV_KEY_LEN, message_id,
	    strlen(message_id));
	if ((rc = hv_index_message_get(r.store, team, mid, NULL, e)) == HV_ENOINPUT)
		rc = hv_err_set(e, HV_ENOINPUT, "%s: not in the index of team '%s'", message_id,
		    team);
	if (rc < 0 || (rc = msg_get(&r, mid, &m, e)) < 0)
		goto out;
	if (name != NULL) {
		label_hmac(r.auth, name, h);
		name_add(&r, h, name);
		team_apply(&r, m, h, kind, 1, SIZE_MAX);
	} else {
		/* No one: every Assigned label goes. */
		for (i = m->team.n; i-- > 0; )
			if (m->team.l[i].kind == HV_LABEL_ASSIGNED) {
				memcpy(h, m->team.l[i].hmac, H);
				team_apply(&r, m, h, kind, 0, SIZE_MAX);
			}
	}
	if ((rc = record(&r, e)) == 0)
		rc = apply(&r, e);
out:
	hv_buf_release(&rel);
	return finish(&r, rc, e);
}

int
hv_labels_state(struct hv_auth *a, const struct hv_team *t, const uint8_t *mid,
    const char **state, const char **assignee, char *audit_id, struct hv_err *e)
{
	struct hv_buf rel = HV_BUF_INIT(1024);
	struct lset s = { NULL, 0 };
	uint8_t h[H];
	size_t i;
	int rc;

	*state = *assignee = "";
	hv_audit_msgid(audit_id, hv_auth_key(a, HV_AUTH_KEY_AUDIT), (const char *)mid, H);
	if ((rc = hv_index_labels_get(hv_auth_store(a), t->name, mid, "", &s.l, &s.n, e)) < 0)
		return rc;
	for (i = 0; i < t->nstates; i++) {
		hv_buf_reset(&rel);
		hv_buf_addf(&rel, "Status/%s", t->states[i]);
		label_hmac(a, rel.data, h);
		if (lset_has(&s, h))
			*state = t->states[i];
	}
	for (i = 0; i < s.n; i++)
		if (s.l[i].kind == HV_LABEL_ASSIGNED)
			*assignee = "?";
	for (i = 0; i < t->nmembers; i++) {
		hv_buf_reset(&rel);
		hv_buf_addf(&rel, "Assigned/%s", t->members[i]);
		label_hmac(a, rel.data, h);
		if (lset_has(&s, h))
			*assignee = t->members[i];
	}
	free(s.l);
	hv_buf_release(&rel);
	return 0;
}
