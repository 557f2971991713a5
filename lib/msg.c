#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

const char *hv_progname = "hv";
int hv_verbosity;

static int progress_tty = -1;	/* is stderr a terminal? -1: not asked yet */
static int progress_shown;	/* a progress line is on the terminal */
static long long progress_last;	/* when it was drawn, monotonic ms */

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

/* A message must not be glued to the end of a progress line. */
static void
progress_clear(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = 0;
}

static void
vwarn(const char *fmt, va_list ap)
{
	progress_clear();
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

void
hv_progress(const char *fmt, ...)
{
	struct timespec ts;
	long long now;
	va_list ap;

	if (progress_tty < 0)
		progress_tty = isatty(STDERR_FILENO);
	if (!progress_tty || hv_verbosity < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (progress_shown && now - progress_last < 100)
		return;
	progress_last = now;
	fprintf(stderr, "\r%s: ", hv_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\033[K", stderr);
	fflush(stderr);
	progress_shown = 1;
}

void
hv_progress_end(void)
{
	progress_clear();
	fflush(stderr);
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
