#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_int.h"
#include "epoch.h"
#include "purge.h"
#include "spool.h"
#include "banned.h"

/*
 * A spool not made yet is made by the first hv-fetch; on a tmpfs the
 * doctor makes it too (to try the keyring), on a disk it must not.
 * Returns 1 when the spool can be opened, else what doctor_say said.
 */
static int
check_missing(struct doctor *d)
{
	struct hv_err e = { 0 };
	int r, exists, tmpfs;

	if ((r = hv_spool_where(&d->c, &exists, &tmpfs, &e)) < 0)
		return doctor_say(d, "spool", HV_DOCTOR_FAIL, r, "as the message says", "%s",
		    e.msg);
	if (exists || tmpfs)
		return 1;
	if (!d->c.spool.allow_disk)
		return doctor_say(d, "spool", HV_DOCTOR_FAIL, HV_ECONFIG, "point [paths] "
		    "spool at a tmpfs ($XDG_RUNTIME_DIR, /dev/shm), or set [spool] allow_disk "
		    "= yes and accept the risk", "spool '%s' does not exist, and would be on "
		    "persistent storage, not tmpfs or ramfs", d->c.paths.spool);
	return doctor_say(d, "spool", HV_DOCTOR_WARN, 0, "point [paths] spool at a tmpfs "
	    "($XDG_RUNTIME_DIR, /dev/shm)", "spool '%s' does not exist yet, and will be on "
	    "persistent storage (allow_disk = yes)", d->c.paths.spool);
}

/* Where the spool is and where its epoch keys live, as hv-fetch finds
 * them; *usable is 0 when the tools cannot open it. */
static int
check_place(struct doctor *d, int *usable)
{
	struct hv_spool *sp;
	struct hv_err e = { 0 };
	int r, on_disk = 0;

	*usable = 0;
	if ((r = check_missing(d)) != 1)
		return r;
	if ((r = hv_spool_open(&sp, &d->c, d->o->now, &on_disk, &e)) < 0)
		return doctor_say(d, "spool", HV_DOCTOR_FAIL, r, r == HV_ECONFIG &&
		    strstr(e.msg, "keyring") != NULL ? "run the tools where the user has a "
		    "kernel keyring that outlives a process (a login session, or systemd "
		    "with KeyringMode=shared), or set [spool] keys = files and keep hv-purge "
		    "running" : r == HV_ECONFIG ?
		    "point [paths] spool at a tmpfs ($XDG_RUNTIME_DIR, /dev/shm), or set "
		    "[spool] allow_disk = yes and accept the risk" : "as the message says",
		    "%s", e.msg);
	*usable = 1;
	if (on_disk)
		r = doctor_say(d, "spool", HV_DOCTOR_WARN, 0, "point [paths] spool at a "
		    "tmpfs ($XDG_RUNTIME_DIR, /dev/shm)", "'%s' is on persistent storage "
		    "(allow_disk = yes): removed files may be recovered from the disk until "
		    "their epoch keys are gone", hv_spool_root(sp));
	else
		r = doctor_say(d, "spool", HV_DOCTOR_OK, 0, NULL, "'%s' is on tmpfs or ramfs",
		    hv_spool_root(sp));
	if (r == 0 && hv_epochs_store(hv_spool_epochs(sp)) == HV_EPOCH_KEYRING)
		r = doctor_say(d, "keyring", HV_DOCTOR_OK, 0, NULL, "epoch keys live in the "
		    "kernel keyring, which destroys them by itself");
	else if (r == 0)
		r = doctor_say(d, "keyring", HV_DOCTOR_WARN, 0, getenv("HV_SPOOL_KEYS") ?
		    "unset HV_SPOOL_KEYS" : "use the kernel keyring where the user has one "
		    "that outlives a process (a login session, or systemd with "
		    "KeyringMode=shared): [spool] keys = keyring", "epoch keys are in files "
		    "under '%s/keys'%s: only hv-purge destroys them", hv_spool_root(sp),
		    getenv("HV_SPOOL_KEYS") ? " (HV_SPOOL_KEYS is set)" :
		    " ([spool] keys = files)");
	hv_spool_close(sp);
	return r;
}

/* What hv-purge stats says: nothing may outlive the ttl. */
static int
check_residency(struct doctor *d)
{
	struct hv_purge_stat spool, purged;
	struct hv_err e = { 0 };
	char age[32], ttl[32];
	int r;

	if ((r = hv_purge_stats(&d->c, d->o->now, &spool, &purged, &e)) < 0)
		return doctor_say(d, "spool", HV_DOCTOR_FAIL, r, "as the message says",
		    "residency: %s", e.msg);
	doctor_age(ttl, sizeof ttl, d->c.spool.ttl);
	if (spool.count == 0)
		return doctor_say(d, "spool", HV_DOCTOR_OK, 0, NULL, "no file in the spool "
		    "(ttl %s)", ttl);
	doctor_age(age, sizeof age, spool.max);
	if (spool.max > d->c.spool.ttl)
		return doctor_say(d, "spool", HV_DOCTOR_WARN, 0, "run hv-purge, and have "
		    "cron run it every minute (hv(7))", "%zu files, the oldest %s old: past "
		    "the ttl (%s)", spool.count, age, ttl);
	return doctor_say(d, "spool", HV_DOCTOR_OK, 0, NULL, "%zu file%s, the oldest %s "
	    "old (ttl %s)", spool.count, spool.count == 1 ? "" : "s", age, ttl);
}

int
doctor_spool(struct doctor *d)
{
	int usable;

	if (check_place(d, &usable) != 0 || !usable)
		return d->stop;
	return check_residency(d);
}
