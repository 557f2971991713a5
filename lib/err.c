#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static void err_vset(struct hv_err *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
err_vset(struct hv_err *e, const char *fmt, va_list ap)
{
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);

	/* A cut message is still a message; mark it instead of failing. */
	if (n >= (int)sizeof e->msg)
		memcpy(e->msg + sizeof e->msg - 4, "...", 4);
}

int
hv_err_set(struct hv_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
	return code;
}

int
hv_err_errno(struct hv_err *e, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	code = hv_status_errno(errnum, code);
	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
	return code;
}

int
hv_status_errno(int errnum, int code)
{
	switch (errnum) {
	case EACCES: case EPERM:
		return HV_EPERM;
	case EROFS:
		return HV_ECANTCREAT;
	case ENOSPC: case EDQUOT: case EIO:
		return HV_EIO;
	case EMFILE: case ENFILE: case ENOMEM: case ENOBUFS:
		return HV_ETEMP;
	default:
		return code;
	}
}

int
hv_err_wrap(struct hv_err *e, const char *fmt, ...)
{
	char old[HV_ERR_MSG];
	size_t n;
	va_list ap;

	if (e == NULL)
		return HV_EINTERNAL;
	memcpy(old, e->msg, sizeof old);
	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", old);
	return e->code;
}

int
hv_exit_code(int status)
{
	switch (status) {
	case HV_OK:		return 0;
	case HV_ENO:		return 1;
	case HV_EUSAGE:		return 64;
	case HV_EDATA:		return 65;
	case HV_ENOINPUT:	return 66;
	case HV_ENOHOST:	return 68;
	case HV_EUNAVAIL:	return 69;
	case HV_ECANTCREAT:	return 73;
	case HV_EIO:		return 74;
	case HV_ETEMP:		return 75;
	case HV_EPROTO:		return 76;
	case HV_EPERM:		return 77;
	case HV_ECONFIG:	return 78;
	default:		return 70;
	}
}

int
hv_exit_worst(int a, int b)
{
	if (a <= 1 && b <= 1)
		return a > b ? a : b;
	if (a <= 1)
		return b;
	if (b <= 1)
		return a;
	/* Both are failures; a "retry later" is the mildest of them. */
	if (a == 75)
		return b;
	if (b == 75)
		return a;
	return a > b ? a : b;
}
