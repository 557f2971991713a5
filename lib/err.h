/*
 * err: status codes and the one exit-code table.
 *
 * Library functions return 0 on success or a negative HV_E* code, and may
 * fill a struct hv_err with a one-line explanation ("what failed: why").
 * They never print and never exit; the command decides.  Each code is the
 * negated sysexits(3) value the tools exit with, so hv_exit_code() is the
 * only mapping there is.
 */
#ifndef HV_ERR_H
#define HV_ERR_H

#include <stddef.h>

enum hv_status {
	HV_OK = 0,
	HV_ENO = -1,		/* a negative answer from a yes/no command */
	HV_EUSAGE = -64,	/* bad command line */
	HV_EDATA = -65,		/* bad data: tampered, corrupt, malformed */
	HV_ENOINPUT = -66,	/* input missing or unreadable */
	HV_ENOHOST = -68,	/* a host name that does not resolve */
	HV_EUNAVAIL = -69,	/* service unavailable */
	HV_EINTERNAL = -70,	/* a bug or an impossible state */
	HV_ECANTCREAT = -73,	/* cannot create an output */
	HV_EIO = -74,		/* read or write failed */
	HV_ETEMP = -75,		/* temporary: retry later */
	HV_EPROTO = -76,	/* the remote end broke the protocol */
	HV_EPERM = -77,		/* permission: wrong key, revoked, unsafe mode */
	HV_ECONFIG = -78,	/* configuration error */
};

#define HV_ERR_MSG 512

struct hv_err {
	int code;		/* last HV_E* set, HV_OK if none */
	char msg[HV_ERR_MSG];	/* one line, no trailing newline */
};

/* Set e->code and e->msg from the format; returns code, so callers can
 * write `return hv_err_set(e, HV_EDATA, "...")`.  e may be NULL. */
int hv_err_set(struct hv_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * As hv_err_set, then appends ": " and strerror(errnum).  The code set and
 * returned is hv_status_errno(errnum, code), so callers must return what
 * this returns (or e->code), not the code they passed.
 */
int hv_err_errno(struct hv_err *e, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The one mapping of errno onto the table; code is what the caller would
 * say of a failure it knows no more about (HV_ENOINPUT opening an input,
 * HV_ECANTCREAT creating an output, HV_EIO reading or writing):
 *	EACCES EPERM			HV_EPERM	(77: the path's modes)
 *	EROFS				HV_ECANTCREAT	(73: nothing can be made there)
 *	ENOSPC EDQUOT EIO		HV_EIO		(74: the disk, full or failing)
 *	EMFILE ENFILE ENOMEM ENOBUFS	HV_ETEMP	(75: a later run has them)
 *	anything else (ENOENT...)	code
 * A full disk is 74 wherever it shows (open, write, SQLite): one status for
 * one cause a person must cure, said as "No space left on device".
 */
int hv_status_errno(int errnum, int code);

/* Prefix the existing message with "what: ", keeping its code. */
int hv_err_wrap(struct hv_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The process exit status for a status code: 0, 1, or a sysexits value. */
int hv_exit_code(int status);

/* Pick the more serious of two exit statuses, for tools that handle many
 * operands and exit with the worst: anything beats 0 and 1. */
int hv_exit_worst(int a, int b);

#endif
