#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_int.h"
#include "banned.h"

/* Ours or root's: anyone else who owns a file hv trusts can change it. */
static int
owner_ok(const struct stat *st)
{
	return st->st_uid == geteuid() || st->st_uid == 0;
}

/* The directory part of path, in out (size bytes); "" for none. */
static void
dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);

	if (n >= size)
		n = 0;
	memmove(out, path, n);	/* out may be path */
	out[n] = '\0';
}

/*
 * path and each directory above it may be changed by nobody but its
 * owner (the user or root): whoever can replace hv.conf decides which
 * commands hv runs (master = command:...) and where it sends mail.  A
 * sticky directory (/tmp) is safe: others cannot rename what is ours.
 */
static int
writable_by_others(const char *path, char *bad, size_t size, struct stat *st)
{
	char p[PATH_MAX];

	/* Resolved, so a relative -c is followed up to / as well. */
	if (realpath(path, p) == NULL)
		snprintf(p, sizeof p, "%s", path);
	while (p[0] != '\0') {
		if (stat(p, st) < 0)
			return 0;
		if (!owner_ok(st) || ((st->st_mode & 022) &&
		    !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))) {
			snprintf(bad, size, "%s", p);
			return 1;
		}
		if (strcmp(p, "/") == 0)
			break;
		dir_of(p, p, sizeof p);
		if (p[0] == '\0')
			break;
	}
	return 0;
}

static int
check_config_mode(struct doctor *d)
{
	char bad[PATH_MAX], fix[PATH_MAX + 64];
	struct stat st;

	if (d->c.file == NULL)
		return 0;
	if (!writable_by_others(d->c.file, bad, sizeof bad, &st))
		return doctor_say(d, "config", HV_DOCTOR_OK, 0, NULL, "'%s' and the "
		    "directories above it can be changed by their owner only", d->c.file);
	if (!owner_ok(&st))
		snprintf(fix, sizeof fix, "chown $(id -un) '%s'", bad);
	else
		snprintf(fix, sizeof fix, "chmod go-w '%s'", bad);
	return doctor_say(d, "config", HV_DOCTOR_FAIL, HV_EPERM, fix, "'%s' can be "
	    "changed by others (mode %03o, uid %u): whoever changes it decides what hv "
	    "runs", bad, (unsigned)st.st_mode & 0777, (unsigned)st.st_uid);
}

/*
 * A file holding secrets (or what they protect) and its directory:
 * readable by nobody but the user.  missing_fix says how to make it; a
 * missing file is a FAIL when missing_code is set, else a warning.
 */
static int
check_private(struct doctor *d, const char *check, const char *what, const char *path,
    int missing_code, const char *missing_fix)
{
	char dir[PATH_MAX], fix[PATH_MAX + 64];
	struct stat st;

	dir_of(path, dir, sizeof dir);
	if (stat(path, &st) < 0)
		return doctor_say(d, check, missing_code ? HV_DOCTOR_FAIL : HV_DOCTOR_WARN,
		    missing_code, missing_fix, "%s '%s': %s", what, path, strerror(errno));
	if (!owner_ok(&st) || (st.st_mode & 077) != 0) {
		snprintf(fix, sizeof fix, owner_ok(&st) ? "chmod 600 '%s'" :
		    "chown $(id -un) '%s' && chmod 600 '%s'", path, path);
		return doctor_say(d, check, HV_DOCTOR_FAIL, HV_EPERM, fix, "%s '%s' is open "
		    "to others (mode %03o, uid %u)", what, path, (unsigned)st.st_mode & 0777,
		    (unsigned)st.st_uid);
	}
	if (dir[0] != '\0' && stat(dir, &st) == 0 && (!owner_ok(&st) || (st.st_mode & 077))) {
		snprintf(fix, sizeof fix, owner_ok(&st) ? "chmod 700 '%s'" :
		    "chown $(id -un) '%s' && chmod 700 '%s'", dir, dir);
		return doctor_say(d, check, HV_DOCTOR_FAIL, HV_EPERM, fix, "the directory "
		    "of %s '%s' is open to others (mode %03o, uid %u)", what, path,
		    (unsigned)st.st_mode & 0777, (unsigned)st.st_uid);
	}
	return doctor_say(d, check, HV_DOCTOR_OK, 0, NULL, "%s '%s' and its directory "
	    "are the user's own", what, path);
}

/* The master key: only a file source is a file to look at; keyring: and
 * command: name where the key is, and hv-doctor reads no key. */
static int
check_key(struct doctor *d)
{
	const char *m = d->c.keys.master;

	if (strncmp(m, "keyring:", 8) == 0 || strncmp(m, "command:", 8) == 0)
		return doctor_say(d, "key", HV_DOCTOR_OK, 0, NULL, "the master key comes "
		    "from %.*s, not a file", (int)(strchr(m, ':') - m), m);
	return check_private(d, "key", "master key", m, HV_ENOINPUT, "run hv-auth init");
}

static int
check_audit_files(struct doctor *d)
{
	char state[PATH_MAX];

	if (check_private(d, "audit", "audit trail", d->c.paths.audit, 0,
	    "run hv-audit init (the first event makes it, too)") != 0)
		return d->stop;
	snprintf(state, sizeof state, "%s.state", d->c.paths.audit);
	if (access(state, F_OK) < 0)
		return 0;
	return check_private(d, "audit", "audit state (the trail's MAC key)", state, 0, NULL);
}

int
doctor_files(struct doctor *d)
{
	if (check_config_mode(d) != 0 || check_key(d) != 0 ||
	    check_private(d, "state", "state database", d->c.paths.state, HV_ENOINPUT,
	    "run hv-auth init") != 0)
		return d->stop;
	return check_audit_files(d);
}
