/* audit_follow: the last lines of the log, and following it as it grows
 * and rotates. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_query.h"
#include "banned.h"

#define POLL_USEC 200000

/* The offset where the last n lines of fd begin. */
static off_t
last_lines(int fd, long n)
{
	char buf[8192];
	off_t end = lseek(fd, 0, SEEK_END), pos = end;
	ssize_t got, i;
	long seen = 0;

	while (pos > 0) {
		size_t want = pos < (off_t)sizeof buf ? (size_t)pos : sizeof buf;

		pos -= (off_t)want;
		if ((got = pread(fd, buf, want, pos)) <= 0)
			return 0;
		for (i = got - 1; i >= 0; i--)
			if (buf[i] == '\n' && pos + i != end - 1 && ++seen == n)
				return pos + i + 1;
	}
	return 0;
}

/* Has path been replaced (rotated) since fd was opened? */
static int
replaced(const char *path, int fd)
{
	struct stat a, b;

	if (stat(path, &a) < 0 || fstat(fd, &b) < 0)
		return 0;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* Reopen a log that rotated; 0, or -1 to try again later. */
static int
reopen(const char *log, int *fd, struct hv_audit_reader **rd)
{
	int nfd = open(log, O_RDONLY | O_CLOEXEC);

	if (nfd < 0)
		return -1;
	hv_audit_reader_free(*rd);
	close(*fd);
	*fd = nfd;
	*rd = hv_audit_reader_new(nfd, log);
	return 0;
}

int
hv_audit_follow(const char *log, long n_last, int follow, volatile sig_atomic_t *stop,
    hv_audit_event_fn fn, void *arg, void (*idle)(void *arg),
    void (*warn)(void *arg, const char *msg), struct hv_err *e)
{
	struct hv_audit_reader *rd;
	struct hv_err le;
	const char *line;
	unsigned long lineno;
	size_t len;
	int fd, n, r = 0;

	if ((fd = open(log, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", log);
	if (n_last > 0)
		lseek(fd, last_lines(fd, n_last), SEEK_SET);
	else if (n_last < 0)
		lseek(fd, 0, SEEK_END);
	rd = hv_audit_reader_new(fd, log);
	while (stop == NULL || !*stop) {
		n = hv_audit_read_line(rd, follow, &line, &len, &lineno, &le);
		if (n == HV_EDATA) {
			if (warn != NULL)
				warn(arg, le.msg);
			continue;
		}
		if (n < 0 || (n > 0 && (r = fn(arg, line, len, e)) < 0)) {
			r = n < 0 ? hv_err_set(e, n, "%s", le.msg) : r;
			break;
		}
		if (n > 0)
			continue;
		if (!follow)
			break;
		if (replaced(log, fd)) {
			(void)reopen(log, &fd, &rd);
			continue;
		}
		if (idle != NULL)
			idle(arg);
		usleep(POLL_USEC);
	}
	hv_audit_reader_free(rd);
	close(fd);
	return r;
}
