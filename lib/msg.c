#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"

const char *hv_progname = "hv";
int hv_verbosity;

void
hv_init(const char *argv0)
{
	struct rlimit no_core = { 0, 0 };
	const char *slash;
	int fd;

	if (argv0 != NULL && *argv0 != '\0') {
		slash = strrchr(argv0, '/');
		hv_progname = slash ? slash + 1 : argv0;
	}
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	umask(077);
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static void vwarn(const char *, va_list) __attribute__((format(printf, 1, 0)));

static void
vwarn(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", hv_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
hv_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
hv_info(int level, const char *fmt, ...)
{
	va_list ap;

	if (hv_verbosity < level)
		return;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

int
hv_report(int status, const struct hv_err *e)
{
	if (status != HV_OK && status != HV_ENO && e != NULL && e->msg[0])
		hv_warnx("%s", e->msg);
	return hv_exit_code(status);
}

int
hv_stdout_close(int status)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	if (errno == EPIPE)
		return status;
	hv_warnx("cannot write to stdout: %s", strerror(errno));
	return hv_exit_worst(status, 74);
}
