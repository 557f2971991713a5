#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "backup.h"
#include "auth.h"
#include "clock.h"
#include "epoch.h"
#include "mem.h"
#include "purge.h"
#include "spool.h"
#include "store.h"
#include "banned.h"

/* Files removed from one epoch for one reason: one audit event. */
struct group {
	long long epoch;
	const char *reason;
	size_t files;
};

struct run {
	const struct hv_config *c;
	const struct hv_purge_opts *o;
	struct hv_purge_report *rep;
	struct hv_spool *sp;
	struct hv_store *st;	/* NULL when there is no state database yet */
	long long now, ttl;
	struct hv_err *e;	/* for errors inside the scan */
	long long *ages;	/* of the files removed */
	size_t nages, capages;
	struct group *groups;
	size_t ngroups, capgroups;
};

static void
note(const struct run *u, enum hv_purge_note kind, long long epoch, const char *path)
{
	if (u->o->note != NULL)
		u->o->note(kind, epoch, path, u->o->arg);
}

static int
audit(const struct run *u, const char *action, const struct hv_audit_field *f, size_t n,
    struct hv_err *e)
{
	return hv_audit_log(u->c, action, f, n, HV_AUDIT_OK, NULL, e);
}

/* ---- keys ---- */

struct key {
	struct hv_epoch_info ki;
	char *path;		/* owned copy of ki.path */
};

struct keys {
	struct key *v;
	size_t n, cap;
};

static int
collect_key(const struct hv_epoch_info *ki, void *arg)
{
	struct keys *k = arg;

	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 16;
		k->v = hv_xrealloc(k->v, k->cap * sizeof *k->v);
	}
	k->v[k->n].ki = *ki;
	k->v[k->n].path = ki->path != NULL ? hv_xstrdup(ki->path) : NULL;
	k->v[k->n].ki.path = k->v[k->n].path;
	k->n++;
	return 0;
}

static int
destroy_key(struct run *u, struct hv_epochs *ep, const struct hv_epoch_info *ki,
    struct hv_err *e)
{
	char epoch[32];
	struct hv_audit_field f[3] = {
		{ "epoch", epoch },
		{ "store", ki->store == HV_EPOCH_KEYRING ? "keyring" : "file" },
		{ "cause", ki->unsafe ? "unsafe" : "expired" },
	};
	int r;

	snprintf(epoch, sizeof epoch, "%lld", ki->n);
	if (ki->unsafe)
		note(u, HV_PURGE_UNSAFE_KEY, ki->n, ki->path);
	if (u->o->dry_run) {
		note(u, HV_PURGE_WOULD, ki->n, NULL);
		u->rep->keys++;
		return 0;
	}
	if ((r = hv_epoch_destroy(ep, ki, e)) < 0) {
		hv_audit_log(u->c, HV_AUDIT_EPOCH_DESTROY, f, 3, HV_AUDIT_FAIL, e != NULL ? e->msg : NULL, NULL);
		return r;
	}
	u->rep->keys++;
	return audit(u, HV_AUDIT_EPOCH_DESTROY, f, 3, e);
}

static int
purge_keys(struct run *u, struct hv_err *e)
{
	struct hv_epochs *ep = hv_spool_epochs(u->sp);
	struct keys k = { NULL, 0, 0 };
	size_t i;
	int r;

	if ((r = hv_epoch_each(ep, collect_key, &k, e)) < 0)
		return r;
	for (i = 0; i < k.n && r == 0; i++) {
		if (k.v[i].ki.n < 0) {
			note(u, HV_PURGE_FOREIGN, -1, k.v[i].path);
			u->rep->foreign++;
		} else if (k.v[i].ki.unsafe || u->now >= hv_epoch_deadline(ep, k.v[i].ki.n)) {
			r = destroy_key(u, ep, &k.v[i].ki, e);
		}
	}
	for (i = 0; i < k.n; i++)
		free(k.v[i].path);
	free(k.v);
	return r;
}

/* ---- files ---- */

static void
count(struct run *u, long long epoch, const char *reason, long long age)
{
	size_t i;

	if (u->nages == u->capages) {
		u->capages = u->capages ? 2 * u->capages : 1024;
		u->ages = hv_xrealloc(u->ages, u->capages * sizeof *u->ages);
	}
	u->ages[u->nages++] = age < 0 ? 0 : age;
	for (i = u->ngroups; i-- > 0;)
		if (u->groups[i].epoch == epoch && u->groups[i].reason == reason) {
			u->groups[i].files++;
			return;
		}
	if (u->ngroups == u->capgroups) {
		u->capgroups = u->capgroups ? 2 * u->capgroups : 16;
		u->groups = hv_xrealloc(u->groups, u->capgroups * sizeof *u->groups);
	}
	u->groups[u->ngroups++] = (struct group){ epoch, reason, 1 };
}

/* 1 removed, 0 gone meanwhile, or an error. */
static int
remove_file(struct run *u, const struct hv_spool_entry *ent, struct hv_err *e)
{
	if (u->o->dry_run) {
		note(u, HV_PURGE_WOULD, ent->epoch, ent->path);
		return 1;
	}
	if (unlinkat(ent->dirfd, ent->name, 0) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return hv_err_errno(e, HV_EIO, errno, "cannot remove '%s'", ent->path);
}

static int
is_done(struct run *u, const struct hv_spool_entry *ent, int *done, struct hv_err *e)
{
	const struct hv_team *t;

	*done = 0;
	if (u->st == NULL || (t = hv_config_team(u->c, ent->team)) == NULL || t->source == NULL)
		return 0;
	return hv_store_message_is_done(u->st, ent->team, t->source, ent->gmail_id, done, e);
}

static int
file_fn(const struct hv_spool_entry *ent, void *arg)
{
	struct run *u = arg;
	long long age = u->now - ent->mtime;
	const char *reason = NULL;
	int done = 0, r;

	if (ent->kind == HV_SPOOL_FOREIGN) {
		note(u, HV_PURGE_FOREIGN, -1, ent->path);
		u->rep->foreign++;
		return 0;
	}
	if (ent->kind == HV_SPOOL_TEMP) {
		if (age < u->ttl)
			return 0;
		if ((r = remove_file(u, ent, u->e)) > 0)
			u->rep->temp++;
		return r < 0 ? r : 0;
	}
	if (age >= u->ttl || u->now >= hv_epoch_deadline(hv_spool_epochs(u->sp), ent->epoch))
		reason = "expired";
	else if ((r = is_done(u, ent, &done, u->e)) < 0)
		return r;
	else if (done)
		reason = "done";
	if (reason == NULL) {
		u->rep->kept++;
		if (age > u->rep->oldest)
			u->rep->oldest = age;
		return 0;
	}
	if ((r = remove_file(u, ent, u->e)) <= 0)
		return r;
	if (reason[0] == 'e')
		u->rep->expired++;
	else
		u->rep->done++;
	u->rep->bytes += ent->size;
	count(u, ent->epoch, reason, age);
	return 0;
}

static int
log_groups(struct run *u, struct hv_err *e)
{
	char epoch[32], files[32];
	struct hv_audit_field f[3] = { { "epoch", epoch }, { "files", files }, { "cause", NULL } };
	size_t i;
	int r;

	for (i = 0; i < u->ngroups; i++) {
		snprintf(epoch, sizeof epoch, "%lld", u->groups[i].epoch);
		snprintf(files, sizeof files, "%zu", u->groups[i].files);
		f[2].value = u->groups[i].reason;
		if ((r = audit(u, HV_AUDIT_SPOOL_PURGE, f, 3, e)) < 0)
			return r;
	}
	return 0;
}

static int
open_store(const struct hv_config *c, struct hv_store **st, struct hv_err *e)
{
	int r;

	*st = NULL;
	if (c->paths.state == NULL || access(c->paths.state, F_OK) < 0)
		return 0;
	r = hv_store_open(st, c->paths.state, 0, e);
	return r == HV_ENOINPUT ? 0 : r;
}

static int
run_files(struct run *u, struct hv_err *e)
{
	int r;

	u->e = e;
	if ((r = hv_spool_scan(u->sp, file_fn, u, e)) < 0)
		return r;
	if (u->o->dry_run)
		return 0;
	if (u->st != NULL && u->nages > 0 && (r = hv_store_purged_record(u->st, u->now,
	    u->ages, u->nages, u->now - HV_PURGE_RECORDS_KEEP, e)) < 0)
		return r;
	return log_groups(u, e);
}

int
hv_purge_run(const struct hv_config *c, const struct hv_purge_opts *o,
    struct hv_purge_report *rep, struct hv_err *e)
{
	struct run u = { 0 };
	struct hv_config cc = *c;
	struct hv_audit_field f[1];
	int r;

	memset(rep, 0, sizeof *rep);
	rep->oldest = -1;
	rep->dry_run = o->dry_run;
	u.c = c;
	u.o = o;
	u.rep = rep;
	u.now = o->now;
	u.ttl = o->ttl > 0 ? o->ttl : c->spool.ttl;
	cc.spool.ttl = u.ttl;
	if ((r = hv_spool_open(&u.sp, &cc, o->now, &rep->on_disk, e)) < 0)
		return r;
	f[0] = (struct hv_audit_field){ "path", hv_spool_root(u.sp) };
	if (rep->on_disk && !o->dry_run &&
	    (r = hv_audit_log(c, HV_AUDIT_SPOOL_DISK, f, 1, HV_AUDIT_OK, NULL, e)) < 0)
		goto out;
	if ((r = open_store(c, &u.st, e)) < 0 || (r = purge_keys(&u, e)) < 0)
		goto out;
	r = run_files(&u, e);
out:
	free(u.ages);
	free(u.groups);
	hv_store_close(u.st);
	hv_spool_close(u.sp);
	return r;
}

/* ---- stats ---- */

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

void
hv_purge_stat_of(struct hv_purge_stat *st, const long long *sorted, size_t n)
{
	st->count = n;
	if (n == 0) {
		st->p50 = st->p99 = st->max = -1;
		return;
	}
	/* nearest rank: the ceil(p * n / 100)-th smallest */
	st->p50 = sorted[(50 * n + 99) / 100 - 1];
	st->p99 = sorted[(99 * n + 99) / 100 - 1];
	st->max = sorted[n - 1];
}

struct ages {
	long long now, bytes;
	long long *v;
	size_t n, cap;
};

static int
age_fn(const struct hv_spool_entry *ent, void *arg)
{
	struct ages *a = arg;

	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		a->v = hv_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = a->now - ent->mtime < 0 ? 0 : a->now - ent->mtime;
	a->bytes += ent->size;
	return 0;
}

int
hv_purge_stats(const struct hv_config *c, long long now, struct hv_purge_stat *spool,
    struct hv_purge_stat *purged, struct hv_err *e)
{
	struct ages a = { now, 0, NULL, 0, 0 };
	struct hv_spool *sp = NULL;
	struct hv_store *st = NULL;
	long long *ages = NULL;
	size_t n = 0;
	int r, on_disk;

	if ((r = hv_spool_open(&sp, c, now, &on_disk, e)) < 0 ||
	    (r = hv_spool_each(sp, age_fn, &a, NULL, e)) < 0 ||
	    (r = open_store(c, &st, e)) < 0)
		goto out;
	if (st != NULL && (r = hv_store_purged_since(st, now - 3600, now, &ages, &n, e)) < 0)
		goto out;
	if (a.n > 0)
		qsort(a.v, a.n, sizeof *a.v, cmp_ll);
	hv_purge_stat_of(spool, a.v, a.n);
	spool->bytes = a.bytes;
	hv_purge_stat_of(purged, ages, n);
	purged->bytes = -1;
out:
	free(a.v);
	free(ages);
	hv_store_close(st);
	hv_spool_close(sp);
	return r;
}

/* ---- erase ---- */

static int
spool_fn(const struct hv_spool_entry *ent, void *arg)
{
	const void **ctx = arg;
	const struct hv_config *c = ctx[0];
	const char *account = ctx[1];
	const struct hv_team *t = hv_config_team(c, ent->team);

	if (t != NULL && t->source != NULL && strcmp(t->source, account) == 0 &&
	    unlink(ent->path) == 0)
		(*(size_t *)ctx[2])++;
	return 0;
}

/* The account's mail still in the spool: noise soon, gone now. */
static void
erase_spool(const struct hv_config *c, const char *account, size_t *n)
{
	const void *ctx[3] = { c, account, n };
	struct hv_spool *sp;
	int on_disk;

	if (hv_spool_open(&sp, c, hv_now(), &on_disk, NULL) < 0)
		return;
	hv_spool_each(sp, spool_fn, ctx, NULL, NULL);
	hv_spool_close(sp);
}

int
hv_purge_erase(const struct hv_config *c, const char *account,
    struct hv_erase_report *rep, struct hv_err *e)
{
	struct hv_auth *a = NULL;
	char rows[32], files[32];
	struct hv_audit_field f[3] = {
		{ "account_hmac", rep->account_hmac }, { "rows", rows }, { "spool_files", files },
	};
	int r;

	memset(rep, 0, sizeof *rep);
	/* Secrets of "hv" and "domain:..." are not an account's. */
	if (strchr(account, '@') == NULL || strncmp(account, "domain:", 7) == 0)
		return hv_err_set(e, HV_EUSAGE, "erase: '%s' is not an account (an email "
		    "address)", account);
	if ((r = hv_auth_open(&a, c, e)) < 0)
		return r;
	hv_audit_msgid(rep->account_hmac, hv_auth_key(a, HV_AUTH_KEY_AUDIT), account,
	    strlen(account));
	r = hv_store_erase_account(hv_auth_store(a), account, &rep->rows, e);
	hv_auth_close(a);
	if (r == 0) {
		erase_spool(c, account, &rep->spool_files);
		/* A snapshot a killed backup left holds the rows just erased. */
		(void)hv_backup_snapshots_remove(c, 1);
	}
	snprintf(rows, sizeof rows, "%lld", rep->rows);
	snprintf(files, sizeof files, "%zu", rep->spool_files);
	if (r < 0) {
		hv_audit_log(c, HV_AUDIT_ERASE, f, 3, HV_AUDIT_FAIL, e != NULL ? e->msg : NULL, NULL);
		return r;
	}
	if ((r = hv_audit_log(c, HV_AUDIT_ERASE, f, 3, HV_AUDIT_OK, NULL, e)) < 0)
		return r;
	/* Nothing to erase is an answer, not success: a mistyped address. */
	if (rep->rows == 0 && rep->spool_files == 0)
		return hv_err_set(e, HV_ENO, "no data of '%s' found", account);
	return 0;
}
