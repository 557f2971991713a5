#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "audit.h"
#include "doctor_int.h"
#include "banned.h"

/* A verifier told how fresh the last checkpoint must be sees a cut tail
 * only if checkpoints keep coming, events or not. */
static int
check_checkpoint(struct doctor *d)
{
	struct hv_err e = { 0 };
	uint64_t seq;
	long long when, limit = 2 * (long long)d->c.audit.checkpoint_interval;
	char age[32], every[32];
	int r;

	if ((r = hv_audit_state_checkpoint(d->c.paths.audit, &seq, &when, &e)) == HV_ENOINPUT)
		return 0;	/* no trail yet: said by the files check */
	if (r < 0)
		return doctor_say(d, "audit", HV_DOCTOR_FAIL, r, "as the message says",
		    "%s", e.msg);
	doctor_age(every, sizeof every, d->c.audit.checkpoint_interval);
	if (when == 0)
		return doctor_say(d, "audit", HV_DOCTOR_WARN, 0, "run hv-audit checkpoint, "
		    "and have cron run it (hv(7))", "no checkpoint yet (interval %s)", every);
	doctor_age(age, sizeof age, d->o->now - when);
	if (d->o->now - when > limit)
		return doctor_say(d, "audit", HV_DOCTOR_WARN, 0, "run hv-audit checkpoint, "
		    "and have cron run it every checkpoint_interval (hv(7))", "the last "
		    "checkpoint (seq %llu) is %s old, more than twice the interval (%s): a "
		    "verifier cannot tell a cut tail meanwhile", (unsigned long long)seq, age,
		    every);
	return doctor_say(d, "audit", HV_DOCTOR_OK, 0, NULL, "the last checkpoint (seq "
	    "%llu) is %s old (interval %s)", (unsigned long long)seq, age, every);
}

/* key0 proves the past only to whoever holds it and the intruder does not. */
static int
check_key0(struct doctor *d)
{
	char key0[PATH_MAX], fix[PATH_MAX + 128];

	snprintf(key0, sizeof key0, "%s.key0", d->c.paths.audit);
	if (access(key0, F_OK) < 0)
		return doctor_say(d, "audit", HV_DOCTOR_OK, 0, NULL, "the trail's first key "
		    "is not on this host");
	snprintf(fix, sizeof fix, "move '%s' off this host; hv-audit verify -k takes it "
	    "back", key0);
	return doctor_say(d, "audit", HV_DOCTOR_WARN, 0, fix, "the trail's first key is "
	    "still on this host: whoever takes the host can rewrite the past unseen");
}

int
doctor_audit(struct doctor *d)
{
	if (check_checkpoint(d) != 0)
		return d->stop;
	return check_key0(d);
}
