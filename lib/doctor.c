#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor_int.h"
#include "sandbox.h"
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

static const char *
kernel_lacks(int abi, int sec)
{
	if (abi == 0)
		return "no Landlock";
	if (abi < 4)
		return "Landlock without TCP rules (ABI < 4)";
	return sec ? NULL : "no seccomp filter";
}

/*
 * What every tool confines itself to on this kernel in this mode, and
 * what hv-doctor itself runs under: an administrator should not believe
 * in a sandbox that is not there.
 */
static int
check_sandbox(struct doctor *d)
{
	enum hv_sandbox_mode mode = HV_SANDBOX_AUTO;
	const char *lacks;
	int abi, sec;

	(void)hv_sandbox_mode_parse(d->c.sandbox.mode, &mode);
	hv_sandbox_probe(&abi, &sec);
	lacks = kernel_lacks(abi, sec);
	if (mode == HV_SANDBOX_OFF)
		return doctor_say(d, "sandbox", HV_DOCTOR_WARN, 0, "set [sandbox] mode = auto "
		    "(or required) in hv.conf", "off in hv.conf: no tool confines itself");
	if (lacks != NULL && mode == HV_SANDBOX_REQUIRED)
		return doctor_say(d, "sandbox", HV_DOCTOR_FAIL, HV_EUNAVAIL, "boot a kernel with "
		    "Landlock ABI 4 or later and seccomp, or set [sandbox] mode = auto",
		    "required, but this kernel has %s: every tool refuses to run", lacks);
	if (lacks != NULL)
		return doctor_say(d, "sandbox", HV_DOCTOR_WARN, 0, "a kernel with Landlock ABI "
		    "4 or later (Linux 6.7) and seccomp confines fully", "auto: this kernel "
		    "has %s; in force: %s", lacks, hv_sandbox_status());
	return doctor_say(d, "sandbox", HV_DOCTOR_OK, 0, NULL, "%s: Landlock ABI %d (files, "
	    "TCP ports), seccomp allow-list and no_new_privs for every tool; hv-doctor "
	    "runs under: %s", mode == HV_SANDBOX_REQUIRED ? "required" : "auto", abi,
	    hv_sandbox_status());
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
