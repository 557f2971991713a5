#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor_int.h"
#include "banned.h"

int
doctor_say(struct doctor *d, const char *check, enum hv_doctor_status status,
    int code, const char *fix, const char *fmt, ...)
{
	struct hv_doctor_result r;
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	r.check = check;
	r.status = status;
	r.code = status == HV_DOCTOR_FAIL ? (code < 0 ? code : HV_EINTERNAL) : 0;
	r.what = what;
	r.fix = status == HV_DOCTOR_OK ? NULL : fix;
	if (d->stop == 0)
		d->stop = d->fn(&r, d->arg);
	return d->stop;
}

struct hv_auth *
doctor_auth(struct doctor *d)
{
	if (!d->auth_tried) {
		d->auth_tried = 1;
		if (hv_auth_open_tokens(&d->auth, &d->c, &d->auth_err) < 0)
			d->auth = NULL;
	}
	return d->auth;
}

void
doctor_age(char *out, size_t size, long long s)
{
	if (s < 0)
		s = 0;
	/* Intervals from hv.conf come out as written: 1h, not 60m. */
	if (s > 0 && s % 86400 == 0)
		snprintf(out, size, "%lldd", s / 86400);
	else if (s > 0 && s % 3600 == 0)
		snprintf(out, size, "%lldh", s / 3600);
	else if (s < 120)
		snprintf(out, size, "%llds", s);
	else if (s < 2 * 3600)
		snprintf(out, size, "%lldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, size, "%lldh", s / 3600);
	else
		snprintf(out, size, "%lldd", s / 86400);
}

/* The configuration parses; everything else needs it. */
static int
check_config(struct doctor *d, struct hv_err *e)
{
	int r;

	if ((r = hv_config_load(&d->c, d->o->config, e)) < 0) {
		doctor_say(d, "config", HV_DOCTOR_FAIL, r, "correct the file as the message "
		    "says, then run hv-doctor again", "%s", e->msg);
		return r;
	}
	if (d->c.file == NULL)
		return doctor_say(d, "config", HV_DOCTOR_OK, 0, NULL, "no hv.conf found: "
		    "built-in defaults, no team");
	return doctor_say(d, "config", HV_DOCTOR_OK, 0, NULL, "'%s' parses: %zu team%s%s",
	    d->c.file, d->c.nteams, d->c.nteams == 1 ? "" : "s",
	    d->c.backup.nto ? ", backups" : "");
}

/*
 * hv(7) plans Landlock and seccomp per tool; no tool confines itself yet,
 * so there is nothing to check.  Said, not hidden: an administrator
 * should not believe in a sandbox that is not there.
 */
static int
check_sandbox(struct doctor *d)
{
	return doctor_say(d, "sandbox", HV_DOCTOR_WARN, 0, "nothing to do: hv-doctor "
	    "will check it once the tools confine themselves", "not built yet: no tool "
	    "runs under Landlock or seccomp");
}

int
hv_doctor_run(const struct hv_doctor_opts *o, hv_doctor_fn fn, void *arg, struct hv_err *e)
{
	int (*const checks[])(struct doctor *) = {
		doctor_files, doctor_spool, doctor_accounts, doctor_teams, doctor_audit,
		doctor_backup,
	};
	struct doctor d;
	size_t i;

	memset(&d, 0, sizeof d);
	d.o = o;
	d.fn = fn;
	d.arg = arg;
	if (check_config(&d, e) < 0)
		return d.stop;
	for (i = 0; d.stop == 0 && i < sizeof checks / sizeof checks[0]; i++)
		checks[i](&d);
	if (d.stop == 0)
		check_sandbox(&d);
	hv_auth_close(d.auth);
	hv_config_free(&d.c);
	return d.stop;
}
