#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_int.h"
#include "gmail.h"
#include "index.h"
#include "mem.h"
#include "store.h"
#include "banned.h"

/* The accounts to look at: every one a team names, its group had when
 * hv-sync last listed it, or the store holds; each once, sorted. */
struct accounts {
	char **v;
	size_t n;
};

static int
add(const char *account, void *arg)
{
	struct accounts *l = arg;

	l->v = hv_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = hv_xstrdup(account);
	return 0;
}

static int
add_stored(const struct hv_account *a, void *arg)
{
	return add(a->email, arg);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
gather(struct doctor *d, struct hv_auth *a, struct accounts *l)
{
	struct hv_store *s = hv_auth_store(a);
	size_t i, k, w;

	for (i = 0; i < d->c.nteams; i++) {
		add(d->c.teams[i].source, l);
		for (k = 0; k < d->c.teams[i].nmembers; k++)
			add(d->c.teams[i].members[k], l);
		/* A group's members as last recorded; none yet is no error. */
		(void)hv_index_members(s, d->c.teams[i].name, add, l, NULL);
	}
	(void)hv_store_account_each(s, add_stored, l, NULL);
	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof *l->v, by_name);
	for (i = 1, w = 1; i < l->n; i++) {
		if (strcmp(l->v[i], l->v[w - 1]) == 0)
			free(l->v[i]);
		else
			l->v[w++] = l->v[i];
	}
	l->n = w;
}

static int
no_label(const char *id, const char *name, void *arg)
{
	(void)id;
	(void)name;
	(void)arg;
	return 0;
}

/*
 * One cheap call (1 unit) with the token hv would use: the token is
 * refreshed when due, and a 401 gets one renewed token first, exactly as
 * in a run.  labels.list, not getProfile: a member's grant (gmail.insert
 * and gmail.labels) has no scope getProfile takes, and every grant hv
 * asks for takes labels.list.
 */
static int
check_at_google(struct doctor *d, struct hv_auth *a, const char *account)
{
	struct hv_gmail *g = NULL;
	struct hv_err e = { 0 };
	char fix[512];
	int r;

	if ((r = hv_gmail_new(&g, &d->c, a, account, &e)) == 0)
		r = hv_gmail_labels(g, no_label, NULL, &e);
	hv_gmail_free(g);
	if (r == 0)
		return doctor_say(d, "account", HV_DOCTOR_OK, 0, NULL, "%s: the grant works "
		    "at Google (labels.list)", account);
	if (r == HV_EPERM)
		snprintf(fix, sizeof fix, "run hv-auth login %s", account);
	else
		snprintf(fix, sizeof fix, r == HV_ETEMP ? "run hv-doctor again later" :
		    "as the message says");
	return doctor_say(d, "account", HV_DOCTOR_FAIL, r, fix, "%s: %s", account, e.msg);
}

static int
check_account(struct doctor *d, struct hv_auth *a, const char *account)
{
	enum hv_auth_reach reach = hv_auth_reachable(a, account);
	char fix[512];

	snprintf(fix, sizeof fix, "run hv-auth login %s", account);
	if (reach == HV_AUTH_REACH_REVOKED)
		return doctor_say(d, "account", HV_DOCTOR_FAIL, HV_EPERM, fix, "%s: its grant "
		    "was revoked; hv asks nothing of Google for it", account);
	if (reach == HV_AUTH_REACH_NEVER) {
		snprintf(fix, sizeof fix, "run hv-auth login %s (or hv-auth service-account "
		    "for its domain)", account);
		return doctor_say(d, "account", HV_DOCTOR_FAIL, HV_EPERM, fix, "%s: never "
		    "signed in, and no service account reaches its domain", account);
	}
	if (d->o->offline)
		return doctor_say(d, "account", HV_DOCTOR_OK, 0, NULL, "%s: signed in (not "
		    "asked of Google: -n)", account);
	return check_at_google(d, a, account);
}

int
doctor_accounts(struct doctor *d)
{
	struct hv_auth *a = doctor_auth(d);
	struct accounts l = { NULL, 0 };
	size_t i;

	if (a == NULL)
		return doctor_say(d, "account", HV_DOCTOR_FAIL, d->auth_err.code,
		    d->auth_err.code == HV_ENOINPUT ? "run hv-auth init" : "as the message says",
		    "cannot open the accounts: %s", d->auth_err.msg);
	gather(d, a, &l);
	for (i = 0; i < l.n && d->stop == 0; i++)
		check_account(d, a, l.v[i]);
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return d->stop;
}
