#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "backup.h"
#include "doctor_int.h"
#include "json.h"
#include "mem.h"
#include "banned.h"

#define VERIFY_MARK "\"action\":\"backup.verify\""

/* What a target holds, and what the trail says of its newest backup. */
struct target {
	const char *spec;		/* borrowed: as in [backup] to */
	char newest[HV_BACKUP_NAME_LEN + 1];
	long long time;			/* of newest; 0: none */
	int status;			/* listing it failed */
	char error[HV_ERR_MSG];
	int verified;			/* 1 ok, -1 failed, 0 never */
	char verify_error[HV_AUDIT_VALUE_MAX + 1];
};

struct targets {
	struct target *v;
	size_t n;
};

static int
listed(const struct hv_backup_entry *b, void *arg)
{
	struct targets *l = arg;
	size_t i;

	for (i = 0; i < l->n && strcmp(l->v[i].spec, b->target) != 0; i++)
		;
	if (i == l->n)
		return 0;
	if (b->status != 0) {
		l->v[i].status = b->status;
		snprintf(l->v[i].error, sizeof l->v[i].error, "%s", b->error ? b->error : "");
	} else if (b->name != NULL && b->time >= l->v[i].time) {
		snprintf(l->v[i].newest, sizeof l->v[i].newest, "%s", b->name);
		l->v[i].time = b->time;
	}
	return 0;
}

/* One backup.verify event: the verdict it gives the newest backup of its
 * target, the later event overriding the earlier. */
static void
verify_event(struct targets *l, const char *line, size_t len)
{
	struct hv_json *j, *t;
	const char *name, *spec, *outcome, *error;
	size_t i;

	if (hv_json_parse(line, len, &j, NULL) < 0)
		return;
	if ((t = hv_json_get(j, "target")) != NULL &&
	    (name = hv_json_get_str(t, "backup")) != NULL &&
	    (spec = hv_json_get_str(t, "target")) != NULL &&
	    (outcome = hv_json_get_str(j, "outcome")) != NULL) {
		for (i = 0; i < l->n; i++) {
			if (strcmp(l->v[i].spec, spec) != 0 || strcmp(l->v[i].newest, name) != 0)
				continue;
			l->v[i].verified = strcmp(outcome, "ok") == 0 ? 1 : -1;
			error = hv_json_get_str(j, "error");
			snprintf(l->v[i].verify_error, sizeof l->v[i].verify_error, "%s",
			    error ? error : outcome);
		}
	}
	hv_json_free(t);
	hv_json_free(j);
}

/* The trail is where hv-backup verify records its verdicts. */
static void
read_verdicts(struct doctor *d, struct targets *l)
{
	struct hv_audit_reader *rd;
	const char *line;
	size_t len;
	unsigned long lineno;
	char **files = NULL;
	int fd, r;

	if (hv_audit_files(d->c.paths.audit, &files, NULL) < 0)
		return;
	for (size_t i = 0; files[i] != NULL; i++) {
		if ((fd = open(files[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		rd = hv_audit_reader_new(fd, files[i]);
		/* A line too long or torn is skipped by the reader: go on. */
		while ((r = hv_audit_read_line(rd, 0, &line, &len, &lineno, NULL)) == 1 ||
		    r == HV_EDATA)
			if (r == 1 && memmem(line, len, VERIFY_MARK, strlen(VERIFY_MARK)))
				verify_event(l, line, len);
		hv_audit_reader_free(rd);
		close(fd);
	}
	hv_audit_files_free(files);
}

static int
check_verified(struct doctor *d, const struct target *t)
{
	if (t->verified > 0)
		return doctor_say(d, "backup", HV_DOCTOR_OK, 0, NULL, "'%s': %s verified",
		    t->spec, t->newest);
	if (t->verified < 0)
		return doctor_say(d, "backup", HV_DOCTOR_FAIL, HV_EDATA, "make a new backup "
		    "(hv-backup create) and find out what damaged this one", "'%s': %s "
		    "failed its verification: %s", t->spec, t->newest, t->verify_error);
	return doctor_say(d, "backup", HV_DOCTOR_WARN, 0, "run hv-backup verify -i "
	    "IDENTITY where the identity is", "'%s': %s never verified", t->spec, t->newest);
}

static int
check_target(struct doctor *d, const struct target *t)
{
	long every = d->c.backup.every;
	long long age = d->o->now - t->time;
	char a[32], ev[32];

	if (t->status != 0)
		return doctor_say(d, "backup", HV_DOCTOR_FAIL, t->status, "as the message "
		    "says", "'%s': %s", t->spec, t->error);
	doctor_age(ev, sizeof ev, every);
	if (t->time == 0)
		return doctor_say(d, "backup", HV_DOCTOR_FAIL, HV_EUNAVAIL, "run hv-backup "
		    "create, and have its timer run it (hv(7))", "'%s': no backup (every %s)",
		    t->spec, ev);
	doctor_age(a, sizeof a, age);
	/* A missed run is a warning; two are a backup that is not happening. */
	if (age > 2 * (long long)every)
		doctor_say(d, "backup", HV_DOCTOR_FAIL, HV_EUNAVAIL, "run hv-backup create, "
		    "and look at why its timer does not (journalctl -u hv-backup)", "'%s': the "
		    "newest backup, %s, is %s old: overdue (every %s)", t->spec, t->newest, a, ev);
	else if (age > every)
		doctor_say(d, "backup", HV_DOCTOR_WARN, 0, "run hv-backup create, and check "
		    "its timer", "'%s': the newest backup, %s, is %s old: overdue (every %s)",
		    t->spec, t->newest, a, ev);
	else
		doctor_say(d, "backup", HV_DOCTOR_OK, 0, NULL, "'%s': the newest backup, %s, "
		    "is %s old (every %s)", t->spec, t->newest, a, ev);
	return d->stop ? d->stop : check_verified(d, t);
}

int
doctor_backup(struct doctor *d)
{
	struct targets l;
	struct hv_err e = { 0 };
	size_t i;

	if (d->c.backup.nto == 0)
		return 0;
	l.n = d->c.backup.nto;
	l.v = hv_xcalloc(l.n, sizeof *l.v);
	for (i = 0; i < l.n; i++)
		l.v[i].spec = d->c.backup.to[i];
	/* A failed target comes to listed() too; e then says the same
	 * again, and alone only when the flow could not start at all. */
	(void)hv_backup_list(&d->c, listed, &l, &e);
	for (i = 0; e.code != 0 && i < l.n; i++)
		if (l.v[i].status == 0 && l.v[i].time == 0) {
			l.v[i].status = e.code;
			snprintf(l.v[i].error, sizeof l.v[i].error, "%s", e.msg);
		}
	read_verdicts(d, &l);
	for (i = 0; i < l.n && d->stop == 0; i++)
		check_target(d, &l.v[i]);
	free(l.v);
	return d->stop;
}
