/*
 * doctor: hv-doctor's checks, each a small function that looks at one
 * thing and says ok, warn or FAIL, what it found, and what to do.
 *
 * Checks read; they change nothing an administrator would notice (the
 * spool's root is made when missing, as any tool would, and a grant that
 * Google refuses is marked revoked, as any tool would).  Only the account
 * checks call Google, one cheap call each (getProfile, 1 unit), and not
 * at all when offline.  A check that cannot run because an earlier one
 * failed (no configuration, no state database) says so and is skipped.
 */
#ifndef HV_DOCTOR_H
#define HV_DOCTOR_H

#include "err.h"

enum hv_doctor_status {
	HV_DOCTOR_OK,
	HV_DOCTOR_WARN,		/* works, but a person should look */
	HV_DOCTOR_FAIL,		/* broken, or unsafe */
};

struct hv_doctor_result {
	const char *check;	/* borrowed: "config", "key", "spool", "account", ... */
	enum hv_doctor_status status;
	int code;		/* FAIL: the HV_E* status it amounts to; else 0 */
	const char *what;	/* borrowed: what was checked, what was found */
	const char *fix;	/* borrowed: what to do; NULL when ok */
};

struct hv_doctor_opts {
	const char *config;	/* -c, or NULL for the usual search */
	int offline;		/* -n: no call to Google */
	long long now;		/* the clock: hv_now() or a test's */
};

/* Told each result as it is known; a non-zero return stops the run. */
typedef int (*hv_doctor_fn)(const struct hv_doctor_result *r, void *arg);

/*
 * Run every check, in the order of hv-doctor(1), telling fn each result.
 * Returns 0 when every check ran (whatever each found), fn's non-zero
 * return, or a negative status with e filled when the doctor itself
 * could not go on (out of memory aborts).
 */
int hv_doctor_run(const struct hv_doctor_opts *o, hv_doctor_fn fn, void *arg,
    struct hv_err *e);

/* How long a team may go without a fetch before hv-doctor warns: hv(7)
 * runs the pipeline every minute, so a day means it is not running. */
#define HV_DOCTOR_STALE_RUN (24 * 3600)

#endif
