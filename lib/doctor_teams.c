#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "doctor_int.h"
#include "follow.h"
#include "index.h"
#include "spool.h"
#include "banned.h"

/* The oldest spool file of one team. */
struct oldest {
	const char *team;
	long long mtime;	/* 0: none */
	size_t files;
};

static int
oldest_file(const struct hv_spool_entry *ent, void *arg)
{
	struct oldest *o = arg;

	if (strcmp(ent->team, o->team) != 0)
		return 0;
	o->files++;
	if (o->mtime == 0 || ent->mtime < o->mtime)
		o->mtime = ent->mtime;
	return 0;
}

/* "12m ago", or "never". */
static void
ago(char *out, size_t size, long long when, long long now)
{
	char age[32];

	if (when == 0) {
		snprintf(out, size, "never");
		return;
	}
	doctor_age(age, sizeof age, now - when);
	snprintf(out, size, "%s ago", age);
}

static int
check_team(struct doctor *d, struct hv_store *s, struct hv_spool *sp,
    const struct hv_team *t)
{
	struct hv_index_team_state ts;
	struct oldest o = { t->name, 0, 0 };
	struct hv_err e = { 0 };
	char fetched[48], copied[48], file[96], age[32], fix[512];
	long long now = d->o->now;
	int r, late;

	if ((r = hv_index_team_state(s, t->name, t->source, &ts, &e)) < 0 ||
	    (sp != NULL && (r = hv_spool_each(sp, oldest_file, &o, NULL, &e)) < 0))
		return doctor_say(d, "team", HV_DOCTOR_FAIL, r, "as the message says",
		    "%s: %s", t->name, e.msg);
	ago(fetched, sizeof fetched, ts.fetched, now);
	ago(copied, sizeof copied, ts.imported, now);
	if (o.files > 0)
		doctor_age(age, sizeof age, now - o.mtime);
	snprintf(file, sizeof file, "%zu spool file%s%s%s%s", o.files, o.files == 1 ? "" : "s",
	    o.files > 0 ? ", the oldest " : "", o.files > 0 ? age : "", o.files > 0 ? " old" : "");
	snprintf(fix, sizeof fix, "run hv-fetch -t %s | hv-sync -t %s, read what it says, "
	    "and check its cron line (hv(7))", t->name, t->name);
	/* Past half the ttl a spool file has waited far longer than one
	 * run every minute takes; at the ttl its key is gone. */
	late = ts.pending > 0 && ((o.mtime != 0 && now - o.mtime > d->c.spool.ttl / 2) ||
	    (ts.oldest != 0 && now - ts.oldest > d->c.spool.ttl));
	if (ts.fetched == 0 || now - ts.fetched > HV_DOCTOR_STALE_RUN || late)
		return doctor_say(d, "team", HV_DOCTOR_WARN, 0, fix, "%s: %s: last fetch %s, "
		    "last copy %s, %lld pending, %s", t->name, ts.fetched == 0 ?
		    "never fetched" : late ? "mail waits" : "no fetch for a day", fetched,
		    copied, ts.pending, file);
	return doctor_say(d, "team", HV_DOCTOR_OK, 0, NULL, "%s: last fetch %s, last copy "
	    "%s, %lld pending, %s", t->name, fetched, copied, ts.pending, file);
}

/*
 * A team that follows: its watch (Gmail stops publishing when it
 * expires, and only the follower renews it) and its subscription.
 */
static int
check_follow(struct doctor *d, struct hv_auth *a, const struct hv_team *t)
{
	struct hv_err e = { 0 };
	char left[32], fix[512];
	long long exp = 0, now = d->o->now;
	int r;

	snprintf(fix, sizeof fix, "start the follower: systemctl enable --now "
	    "hv-follow@%s.service, and read what hv-fetch --follow -t %s says", t->name,
	    t->name);
	r = hv_follow_watch_expiry(hv_auth_store(a), t->source, &exp, &e);
	if (r == HV_ENOINPUT)
		r = doctor_say(d, "follow", HV_DOCTOR_FAIL, 0, fix, "%s: %s was never watched",
		    t->name, t->source);
	else if (r < 0)
		r = doctor_say(d, "follow", HV_DOCTOR_FAIL, r, "as the message says", "%s: %s",
		    t->name, e.msg);
	else if (exp <= now)
		r = doctor_say(d, "follow", HV_DOCTOR_FAIL, 0, fix, "%s: the watch on %s has "
		    "expired: Gmail sends no notifications", t->name, t->source);
	else {
		doctor_age(left, sizeof left, exp - now);
		r = doctor_say(d, "follow", exp - now < 86400 ? HV_DOCTOR_WARN : HV_DOCTOR_OK,
		    0, exp - now < 86400 ? fix : NULL, "%s: the watch on %s expires in %s",
		    t->name, t->source, left);
	}
	if (r != 0 || d->o->offline)
		return r;
	memset(&e, 0, sizeof e);
	if ((r = hv_follow_subscription_check(&d->c, a, t, &e)) < 0)
		return doctor_say(d, "follow", HV_DOCTOR_FAIL, r, "check the subscription and "
		    "its grant (hv-fetch(1), FOLLOWING)", "%s: %s", t->name, e.msg);
	return doctor_say(d, "follow", HV_DOCTOR_OK, 0, NULL, "%s: %s is reachable", t->name,
	    t->subscription);
}

int
doctor_teams(struct doctor *d)
{
	struct hv_auth *a;
	struct hv_spool *sp = NULL;
	struct hv_err e = { 0 };
	size_t i;
	int on_disk;

	if (d->c.nteams == 0)
		return 0;
	if ((a = doctor_auth(d)) == NULL)
		return doctor_say(d, "team", HV_DOCTOR_FAIL, d->auth_err.code, "see the "
		    "account check", "cannot read the index: %s", d->auth_err.msg);
	/* The spool check has said why when it cannot be opened, and a
	 * spool that is not there holds no file. */
	if (access(d->c.paths.spool, F_OK) < 0 ||
	    hv_spool_open(&sp, &d->c, d->o->now, &on_disk, &e) < 0)
		sp = NULL;
	for (i = 0; i < d->c.nteams && d->stop == 0; i++) {
		check_team(d, hv_auth_store(a), sp, &d->c.teams[i]);
		if (d->c.teams[i].subscription != NULL && d->stop == 0)
			d->stop = check_follow(d, a, &d->c.teams[i]);
	}
	hv_spool_close(sp);
	return d->stop;
}
