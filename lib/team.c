#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "directory.h"
#include "http.h"
#include "index.h"
#include "mem.h"
#include "team.h"
#include "banned.h"

struct resolve {
	struct hv_auth *a;
	const struct hv_team *t;
	const char *domain;		/* the group's */
	struct hv_team_roster *ro;
	char **all;			/* owned: every user named, reachable or not */
	size_t nall;
	int signable;			/* users skipped until they sign in */
};

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

static int
listed(char *const *list, size_t n, const char *who)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(list[i], who) == 0)
			return 1;
	return 0;
}

static void
push(char ***list, size_t *n, const char *s)
{
	*list = hv_xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = hv_xstrdup(s);
}

static void skip(struct resolve *rs, const char *member, const char *kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
skip(struct resolve *rs, const char *member, const char *kind, const char *fmt, ...)
{
	struct hv_team_roster *ro = rs->ro;
	struct hv_team_skip *k;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	ro->skips = hv_xrealloc(ro->skips, (ro->nskips + 1) * sizeof *ro->skips);
	k = &ro->skips[ro->nskips++];
	k->member = hv_xstrdup(member);
	k->kind = hv_xstrdup(kind);
	k->why = hv_xstrdup(why);
}

/* A user the group names: a member, or skipped with why. */
static void
group_user(struct resolve *rs, const struct hv_directory_entry *m)
{
	enum hv_auth_reach reach;
	const char *how;

	if (listed(rs->all, rs->nall, m->email))
		return;
	push(&rs->all, &rs->nall, m->email);
	if (strcasecmp(m->status, "SUSPENDED") == 0) {
		skip(rs, m->email, "USER", "suspended");
	} else if ((reach = hv_auth_reachable(rs->a, m->email)) != HV_AUTH_REACH_YES) {
		rs->signable++;
		how = reach == HV_AUTH_REACH_REVOKED ? "its sign-in was revoked" :
		    "never signed in";
		if (strcasecmp(domain_of(m->email), rs->domain) != 0)
			skip(rs, m->email, "USER", "outside %s and %s (run hv-auth login "
			    "%s)", rs->domain, how, m->email);
		else
			skip(rs, m->email, "USER", "%s has no service account and %s%s "
			    "(run hv-auth login %s)", rs->domain,
			    reach == HV_AUTH_REACH_REVOKED ? "" : "it ", how, m->email);
	} else {
		push(&rs->ro->members, &rs->ro->n, m->email);
	}
}

static int
group_entry(const struct hv_directory_entry *m, void *arg)
{
	struct resolve *rs = arg;
	char who[512];

	if (strcmp(m->type, "CUSTOMER") == 0) {
		snprintf(who, sizeof who, "customer %s", m->id);
		skip(rs, who, "CUSTOMER", "the whole organisation (a CUSTOMER member), "
		    "not a mailbox");
	} else if (strcmp(m->type, "GROUP") == 0) {
		/* Google lists the users of its own customer's groups as well
		 * (includeDerivedMembership); another's it cannot. */
		if (strcasecmp(domain_of(m->email), rs->domain) != 0 &&
		    !listed(rs->all, rs->nall, m->email)) {
			push(&rs->all, &rs->nall, m->email);
			skip(rs, m->email, "GROUP", "a group outside %s, whose members "
			    "Google does not list", rs->domain);
		}
	} else if (m->type[0] != '\0' && strcmp(m->type, "USER") != 0) {
		skip(rs, m->email ? m->email : m->id, m->type, "a member of type %s, not "
		    "a mailbox", m->type);
	} else {
		group_user(rs, m);
	}
	return 0;
}

/* The Directory, as the team's source: delegated, else its own sign-in. */
static int
list_group(struct resolve *rs, const struct hv_config *c, struct hv_err *e)
{
	const struct hv_team *t = rs->t;
	struct hv_buf token;
	struct hv_http *h = NULL;
	int r, own = 0;

	hv_buf_init_secret(&token, 8192);
	r = hv_auth_token_scoped(rs->a, t->source, HV_SCOPE_DIRECTORY, &token, e);
	if (r == HV_ENOINPUT) {
		own = 1;
		r = hv_auth_token(rs->a, t->source, &token, e);
	}
	if (r == 0)
		r = hv_http_new(&h, c->google.ca_file, 60, e);
	if (r == 0)
		r = hv_directory_list(h, c->google.directory, token.data, NULL, t->group,
		    group_entry, rs, e);
	hv_http_free(h);
	hv_buf_release(&token);
	/* The Directory lists a group's members to administrators only. */
	if (r == HV_EPERM && own)
		hv_err_wrap(e, "members of group '%s' (read as %s: without a service "
		    "account it must be an administrator who signed in with "
		    "'hv-auth login %s')", t->group, t->source, t->source);
	else if (r == HV_EPERM)
		hv_err_wrap(e, "members of group '%s' (read as %s, which must be an "
		    "administrator of the domain)", t->group, t->source);
	else if (r < 0)
		hv_err_wrap(e, "members of group '%s'", t->group);
	return r;
}

/* The roster into the store, for hv-auth login's scopes and hv-sync status. */
static int
record(struct resolve *rs, struct hv_err *e)
{
	struct hv_store *s = hv_auth_store(rs->a);
	struct hv_index_skip *k = hv_xcalloc(rs->ro->nskips + 1, sizeof *k);
	size_t i;
	int r;

	for (i = 0; i < rs->ro->nskips; i++) {
		k[i].member = rs->ro->skips[i].member;
		k[i].kind = rs->ro->skips[i].kind;
		k[i].why = rs->ro->skips[i].why;
	}
	if ((r = hv_store_begin(s, e)) == 0) {
		r = hv_index_roster_put(s, rs->t->name, rs->all, rs->nall, k, rs->ro->nskips,
		    hv_now(), e);
		if (r == 0)
			r = hv_store_commit(s, e);
		else
			hv_store_rollback(s);
	}
	free(k);
	return r;
}

/* Is there anyone to sync to, besides the source that has the mail? */
static int
reachable(const struct resolve *rs, struct hv_err *e)
{
	const struct hv_team *t = rs->t;
	size_t i;

	if (t->group == NULL)
		return 0;
	for (i = 0; i < rs->ro->n; i++)
		if (strcasecmp(rs->ro->members[i], t->source) != 0)
			return 0;
	if (rs->signable > 0)
		return hv_err_set(e, HV_EPERM, "team '%s': no member of '%s' can be reached "
		    "(%zu skipped)", t->name, t->group, rs->ro->nskips);
	return hv_err_set(e, HV_ECONFIG, "team '%s': group '%s' has no member to sync to "
	    "(%zu skipped)", t->name, t->group, rs->ro->nskips);
}

int
hv_team_roster(struct hv_auth *a, const struct hv_config *c, const struct hv_team *t,
    struct hv_team_roster *ro, struct hv_err *e)
{
	struct resolve rs = { a, t, t->group ? domain_of(t->group) : "", ro, NULL, 0, 0 };
	size_t i;
	int r = 0;

	memset(ro, 0, sizeof *ro);
	for (i = 0; i < t->nmembers; i++)
		if (!listed(rs.all, rs.nall, t->members[i])) {
			push(&rs.all, &rs.nall, t->members[i]);
			push(&ro->members, &ro->n, t->members[i]);
		}
	if (t->group != NULL)
		r = list_group(&rs, c, e);
	if (r == 0 && (r = record(&rs, e)) == 0)
		r = reachable(&rs, e);
	for (i = 0; i < rs.nall; i++)
		free(rs.all[i]);
	free(rs.all);
	if (r < 0 && r != HV_EPERM && r != HV_ECONFIG)
		hv_team_roster_release(ro);
	return r;
}

void
hv_team_roster_release(struct hv_team_roster *ro)
{
	size_t i;

	for (i = 0; i < ro->n; i++)
		free(ro->members[i]);
	for (i = 0; i < ro->nskips; i++) {
		free(ro->skips[i].member);
		free(ro->skips[i].kind);
		free(ro->skips[i].why);
	}
	free(ro->members);
	free(ro->skips);
	memset(ro, 0, sizeof *ro);
}

struct each {
	const struct hv_team *t;
	int (*fn)(const char *, void *);
	void *arg;
};

/* A group's user the members line named already was called for. */
static int
each_recorded(const char *account, void *arg)
{
	struct each *w = arg;

	if (listed(w->t->members, w->t->nmembers, account))
		return 0;
	return w->fn(account, w->arg);
}

int
hv_team_members_each(struct hv_store *s, const struct hv_team *t,
    int (*fn)(const char *account, void *arg), void *arg, struct hv_err *e)
{
	struct each w = { t, fn, arg };
	size_t i;
	int r = 0;

	for (i = 0; i < t->nmembers && r == 0; i++)
		r = fn(t->members[i], arg);
	if (r == 0 && t->group != NULL)
		r = hv_index_members(s, t->name, each_recorded, &w, e);
	return r;
}
