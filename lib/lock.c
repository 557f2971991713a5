/*
 * lock: one run per team and role; see lock.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "file.h"
#include "lock.h"
#include "mem.h"
#include "banned.h"

#define POLL_NS		(100 * 1000000L)
#define NAME_MAX_ENC	200	/* leaves room for ".labels.lock" under NAME_MAX */
#define HOLDER_MAX	64	/* "pid 2147483647 since 2026-12-02T06:10:03Z\n" fits */
#define WHEN_LEN	20	/* 2026-12-02T06:10:03Z */

struct hv_team_lock {
	int fd;			/* holds the flock */
};

static const char *const role_file[] = { "fetch", "sync", "labels" };
static const char *const role_doing[] = {
	"being fetched", "being synced", "having its labels synced",
};

/* <state dir>/locks/, made 0700 where missing. */
static int
lock_dir(const struct hv_config *c, struct hv_buf *path, struct hv_err *e)
{
	const char *state = c->paths.state, *slash = strrchr(state, '/');

	if ((slash == NULL ? hv_buf_adds(path, "./locks") :
	    hv_buf_addf(path, "%.*s/locks", (int)(slash - state), state)) < 0)
		return hv_err_set(e, HV_ECONFIG, "state path '%s' is too long", state);
	return hv_mkdirs(path->data, e);
}

/* "/<team>.<role>.lock", the team's bytes outside [A-Za-z0-9_-] as %XX:
 * '%' itself is escaped, so two names never meet in one file. */
static int
lock_name(struct hv_buf *path, const char *team, enum hv_lock_role role, struct hv_err *e)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t start;
	int r;

	r = hv_buf_adds(path, "/");
	start = path->len;
	for (p = (const unsigned char *)team; r == 0 && *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			r = hv_buf_add(path, p, 1);
		else
			r = hv_buf_addf(path, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	if (r < 0 || path->len - start > NAME_MAX_ENC)
		return hv_err_set(e, HV_ECONFIG, "team name '%s' is too long for a lock file",
		    team);
	if (hv_buf_addf(path, ".%s.lock", role_file[role]) < 0)
		return hv_err_set(e, HV_ECONFIG, "lock path for team '%s' is too long", team);
	return 0;
}

static int
lock_open(const char *path, int *fd, struct hv_err *e)
{
	struct stat st;

	/* O_NONBLOCK: a FIFO planted under the name must not hang us. */
	*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (*fd < 0)
		return hv_err_errno(e, HV_ECANTCREAT, errno, "cannot open lock '%s'", path);
	if (fstat(*fd, &st) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot stat lock '%s'", path);
	if (!S_ISREG(st.st_mode))
		return hv_err_set(e, HV_ECANTCREAT, "lock '%s' is not a regular file", path);
	return 0;
}

/* 0 when taken, HV_ETEMP (no message) when still held after wait seconds. */
static int
lock_take(int fd, const char *path, long wait, struct hv_err *e)
{
	struct timespec now, end, nap = { 0, 0 };
	long long left;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += wait;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return hv_err_errno(e, HV_EIO, errno, "cannot lock '%s'", path);
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000000000LL + (end.tv_nsec - now.tv_nsec);
		if (left <= 0)
			return HV_ETEMP;
		nap.tv_nsec = left < POLL_NS ? (long)left : POLL_NS;
		nanosleep(&nap, NULL);
	}
}

/* The holder's line: 0, or -1 when it could not be written. */
static int
holder_write(int fd)
{
	char line[HOLDER_MAX], when[WHEN_LEN + 1];
	time_t t = (time_t)hv_now();
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) != WHEN_LEN)
		return -1;
	n = snprintf(line, sizeof line, "pid %ld since %s\n", (long)getpid(), when);
	if (n < 0 || (size_t)n >= sizeof line || ftruncate(fd, 0) < 0 ||
	    pwrite(fd, line, (size_t)n, 0) != n)
		return -1;
	return 0;
}

static int
holder_clear(int fd)
{
	return ftruncate(fd, 0);
}

static int
when_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	/* Stops at a NUL in s, which matches nothing in shape. */
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return 0;
	return 1;
}

/*
 * 1 and the holder when the file names a live one in full.  The line may
 * be half written (truncate, then write) or left by a holder that died
 * before it could empty it: both are "another process", never a guess.
 */
static int
holder_read(int fd, long *pid, char *when)
{
	char line[HOLDER_MAX + 1], *p, *end;
	ssize_t n;

	n = pread(fd, line, HOLDER_MAX, 0);
	if (n <= 0)
		return 0;
	line[n] = '\0';
	if (strncmp(line, "pid ", 4) != 0 || line[4] < '1' || line[4] > '9')
		return 0;
	errno = 0;
	*pid = strtol(line + 4, &end, 10);
	if (errno != 0 || *pid > INT_MAX || strncmp(end, " since ", 7) != 0)
		return 0;
	p = end + 7;
	if (!when_ok(p) || strcmp(p + WHEN_LEN, "\n") != 0)
		return 0;
	if (kill((pid_t)*pid, 0) < 0 && errno == ESRCH)
		return 0;
	memcpy(when, p, WHEN_LEN);
	when[WHEN_LEN] = '\0';
	return 1;
}

static int
held(int fd, const char *team, enum hv_lock_role role, struct hv_err *e)
{
	char when[WHEN_LEN + 1];
	long pid;

	if (holder_read(fd, &pid, when))
		return hv_err_set(e, HV_ETEMP, "team '%s' is %s by pid %ld since %s; "
		    "try again later or wait with -w", team, role_doing[role], pid, when);
	return hv_err_set(e, HV_ETEMP, "team '%s' is %s by another process; "
	    "try again later or wait with -w", team, role_doing[role]);
}

int
hv_team_lock(const struct hv_config *c, const char *team, enum hv_lock_role role,
    long wait, struct hv_team_lock **out, struct hv_err *e)
{
	struct hv_buf path = HV_BUF_INIT(PATH_MAX);
	int fd = -1, r;

	*out = NULL;
	if ((unsigned)role >= sizeof role_file / sizeof role_file[0] || wait < 0)
		return hv_err_set(e, HV_EINTERNAL, "lock: bad role %d or wait %ld", (int)role,
		    wait);
	if (hv_config_team(c, team) == NULL)
		return hv_err_set(e, HV_ECONFIG, "no team '%s' in %s", team,
		    c->file ? c->file : "the configuration");
	if ((r = lock_dir(c, &path, e)) < 0 ||
	    (r = lock_name(&path, team, role, e)) < 0 ||
	    (r = lock_open(path.data, &fd, e)) < 0)
		goto out;
	if ((r = lock_take(fd, path.data, wait, e)) == HV_ETEMP)
		r = held(fd, team, role, e);
	if (r < 0)
		goto out;
	/* A line not written costs only the name in a rival's message. */
	(void)holder_write(fd);
	*out = hv_xcalloc(1, sizeof **out);
	(*out)->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	hv_buf_release(&path);
	return r;
}

void
hv_team_unlock(struct hv_team_lock *l)
{
	if (l == NULL)
		return;
	/* Emptied while still held, so no rival reads the line of a run that
	 * has ended; should it fail, holder_read() still checks the pid. */
	(void)holder_clear(l->fd);
	close(l->fd);
	free(l);
}

int
hv_lock_parse_wait(const char *s, long *out, struct hv_err *e)
{
	long v;

	if (hv_parse_duration(s, &v) < 0 || v > HV_LOCK_WAIT_MAX)
		return hv_err_set(e, HV_EUSAGE, "bad wait '%s': want seconds from 0 to %ld, "
		    "or a duration such as 90s or 10m", s, HV_LOCK_WAIT_MAX);
	*out = v;
	return 0;
}
