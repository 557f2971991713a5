/*
 * doctor_int: what the files of the doctor share; only lib/doctor*.c
 * include it.  One file per area: files and modes, the spool, accounts,
 * teams, the audit trail, backups.
 */
#ifndef HV_DOCTOR_INT_H
#define HV_DOCTOR_INT_H

#include "auth.h"
#include "config.h"
#include "doctor.h"

struct doctor {
	const struct hv_doctor_opts *o;
	struct hv_config c;
	hv_doctor_fn fn;
	void *arg;
	int stop;		/* fn asked to stop */
	struct hv_auth *auth;	/* opened by doctor_auth, or NULL */
	int auth_tried;
	struct hv_err auth_err;	/* why it could not be opened */
};

/*
 * Tell one result: what is printf-formatted; fix (already text, NULL when
 * ok) says what to do.  Returns fn's answer (non-zero: stop).
 */
int doctor_say(struct doctor *d, const char *check, enum hv_doctor_status status,
    int code, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The accounts store, opened once (tokens only, no purpose keys): NULL
 * when it cannot be had, with d->auth_err saying why. */
struct hv_auth *doctor_auth(struct doctor *d);

/* "3m", "2h", "5d": an age for people, into out. */
void doctor_age(char *out, size_t size, long long seconds);

/* The checks, each telling its results through doctor_say. */
int doctor_files(struct doctor *d);
int doctor_spool(struct doctor *d);
int doctor_accounts(struct doctor *d);
int doctor_teams(struct doctor *d);
int doctor_audit(struct doctor *d);
int doctor_backup(struct doctor *d);

#endif
