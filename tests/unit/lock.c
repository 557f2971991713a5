/* lock: one holder per team and role, names made safe, the holder named
 * (and never misnamed), waits that end, -w values. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lock.h"
#include "tap.h"

static char top[256], state[300], dir[300];
static struct hv_team teams[] = {
	{ .name = (char *)"support" }, { .name = (char *)"sales" },
	{ .name = (char *)"Support EU" }, { .name = (char *)"../x" },
	{ .name = (char *)"50%" }, { .name = (char *)"\xc3\xbc" }, { .name = NULL },
};
static struct hv_config cfg;

static int
take(const char *team, enum hv_lock_role role, long wait, struct hv_team_lock **l,
    struct hv_err *e)
{
	memset(e, 0, sizeof *e);
	*l = (struct hv_team_lock *)&cfg;	/* must come back NULL on failure */
	return hv_team_lock(&cfg, team, role, wait, l, e);
}

static size_t
slurp(const char *name, char *buf, size_t size)
{
	char path[400];
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, size - 1);
	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n < 0 ? 0 : (size_t)n;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? 0 : st.st_mode;
}

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
test_names(void)
{
	static const struct { const char *team, *file; } t[] = {
		{ "support", "support.fetch.lock" },
		{ "Support EU", "Support%20EU.fetch.lock" },
		{ "../x", "%2E%2E%2Fx.fetch.lock" },
		{ "50%", "50%25.fetch.lock" },
		{ "\xc3\xbc", "%C3%BC.fetch.lock" },
	};
	struct hv_team_lock *l;
	struct hv_err e;
	char path[400];
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		is_int(take(t[i].team, HV_LOCK_FETCH, 0, &l, &e), 0, "lock team '%s'", t[i].team);
		snprintf(path, sizeof path, "%s/%s", dir, t[i].file);
		is_int(mode_of(path), S_IFREG | 0600, "as %s, mode 0600", t[i].file);
		hv_team_unlock(l);
	}
	is_int(mode_of(dir), S_IFDIR | 0700, "the lock directory is 0700");
}

static void
test_exclusion(void)
{
	struct hv_team_lock *l, *l2, *other[3];
	struct hv_err e;
	char buf[128], want[128];
	struct timespec t0;

	is_int(take("support", HV_LOCK_SYNC, 0, &l, &e), 0, "sync lock taken");
	slurp("support.sync.lock", buf, sizeof buf);
	snprintf(want, sizeof want, "pid %ld since ", (long)getpid());
	ok(strncmp(buf, want, strlen(want)) == 0 && strlen(buf) == strlen(want) + 21 &&
	    buf[strlen(buf) - 2] == 'Z', "the file names the holder: %.*s",
	    (int)strcspn(buf, "\n"), buf);
	is_int(take("support", HV_LOCK_SYNC, 0, &l2, &e), HV_ETEMP, "a second sync: ETEMP");
	ok(l2 == NULL, "and no lock");
	snprintf(want, sizeof want, "team 'support' is being synced by pid %ld since 20",
	    (long)getpid());
	ok(strncmp(e.msg, want, strlen(want)) == 0 &&
	    strstr(e.msg, "Z; try again later or wait with -w") != NULL,
	    "naming the holder: %s", e.msg);
	is_int(take("support", HV_LOCK_FETCH, 0, &other[0], &e), 0, "fetch of the team meanwhile");
	is_int(take("support", HV_LOCK_LABELS, 0, &other[1], &e), 0, "labels likewise");
	is_int(take("sales", HV_LOCK_SYNC, 0, &other[2], &e), 0, "another team's sync likewise");
	is_int(take("support", HV_LOCK_LABELS, 0, &l2, &e), HV_ETEMP, "but not two labels runs");
	ok(strstr(e.msg, "is having its labels synced by pid") != NULL, "%s", e.msg);
	hv_team_unlock(other[0]);
	hv_team_unlock(other[1]);
	hv_team_unlock(other[2]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(take("support", HV_LOCK_SYNC, 1, &l2, &e), HV_ETEMP, "a wait of 1 s runs out");
	ok(since(&t0) >= 1.0 && since(&t0) < 2.0, "after 1 s (%.2f)", since(&t0));
	ok(strstr(e.msg, "is being synced by pid") != NULL, "with the same message");

	hv_team_unlock(l);
	is_int(slurp("support.sync.lock", buf, sizeof buf), 0, "unlock empties the file");
	is_int(take("support", HV_LOCK_SYNC, 0, &l, &e), 0, "and the lock is free again");
	hv_team_unlock(l);
	hv_team_unlock(NULL);
}

/* A child holds the lock, then dies without unlocking: a wait ends then. */
static void
test_wait_for_child(void)
{
	struct hv_team_lock *l;
	struct hv_err e;
	struct timespec t0;
	char c, want[128];
	int p[2], status;
	pid_t pid;

	if (pipe(p) < 0 || (pid = fork()) < 0)
		return (void)ok(0, "pipe, fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		if (take("support", HV_LOCK_FETCH, 0, &l, &e) < 0)
			_exit(1);
		(void)!write(p[1], "x", 1);
		usleep(400 * 1000);
		_exit(0);	/* the crash: no unlock */
	}
	close(p[1]);
	ok(read(p[0], &c, 1) == 1, "the child holds the fetch lock");
	close(p[0]);
	is_int(take("support", HV_LOCK_FETCH, 0, &l, &e), HV_ETEMP, "no wait: ETEMP");
	snprintf(want, sizeof want, "being fetched by pid %ld since", (long)pid);
	ok(strstr(e.msg, want) != NULL, "naming the child: %s", e.msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(take("support", HV_LOCK_FETCH, 5, &l, &e), 0, "a wait of 5 s gets it");
	ok(since(&t0) > 0.1 && since(&t0) < 2.0, "when the child is gone (%.2f s)", since(&t0));
	hv_team_unlock(l);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran as planned");
}

/* What the file says while someone holds the lock: only a whole line
 * naming a live process is believed. */
static void
test_holder_lines(void)
{
	static const char *bad[] = {
		"", "pid ", "pid 12", "pid 12 since 2026-12-02T06:10", "pid 12 since 2026-12-02T06:10:03Z",
		"pid 0 since 2026-12-02T06:10:03Z\n", "pid -5 since 2026-12-02T06:10:03Z\n",
		"pid 99999999999 since 2026-12-02T06:10:03Z\n", "pid 1x since 2026-12-02T06:10:03Z\n",
		"pid 12 since 2026-12-02T06:10:03Z\nmore", "pid 12 since 2026-1a-02T06:10:03Z\n",
		"\0\0\0\0\0\0\0\0", "pid DEAD since 2026-12-02T06:10:03Z\n",
	};
	struct hv_team_lock *l;
	struct hv_err e;
	char path[400], line[128];
	size_t i;
	pid_t dead;
	int fd;

	snprintf(path, sizeof path, "%s/sales.sync.lock", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "a rival holds the lock with flock(2)");
	if ((dead = fork()) == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (strcmp(bad[i], "pid DEAD since 2026-12-02T06:10:03Z\n") == 0)
			snprintf(line, sizeof line, "pid %ld since 2026-12-02T06:10:03Z\n",
			    (long)dead);
		else
			snprintf(line, sizeof line, "%s", bad[i]);
		if (ftruncate(fd, 0) < 0 || pwrite(fd, line, i == 11 ? 8 : strlen(line), 0) < 0)
			ok(0, "rewrite: %s", strerror(errno));
		is_int(take("sales", HV_LOCK_SYNC, 0, &l, &e), HV_ETEMP, "held, line %zu", i);
		is_str(e.msg, "team 'sales' is being synced by another process; try again later "
		    "or wait with -w", "line %zu is no holder", i);
	}
	snprintf(line, sizeof line, "pid %ld since 2026-12-02T06:10:03Z\n", (long)getppid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, strlen(line), 0) < 0)
		ok(0, "rewrite: %s", strerror(errno));
	take("sales", HV_LOCK_SYNC, 0, &l, &e);
	snprintf(line, sizeof line, "team 'sales' is being synced by pid %ld since "
	    "2026-12-02T06:10:03Z; try again later or wait with -w", (long)getppid());
	is_str(e.msg, line, "a whole line naming a live process is believed");
	close(fd);
}

static void
test_refusals(void)
{
	struct hv_team_lock *l;
	struct hv_err e;
	char path[400], big[400];

	is_int(take("nope", HV_LOCK_SYNC, 0, &l, &e), HV_ECONFIG, "an unknown team: ECONFIG");
	is_str(e.msg, "no team 'nope' in the configuration", "saying so");
	ok(l == NULL, "and no lock");
	memset(big, 'x', 201);
	big[201] = '\0';
	teams[6].name = big;
	cfg.nteams = 7;
	is_int(take(big, HV_LOCK_SYNC, 0, &l, &e), HV_ECONFIG, "a name too long: ECONFIG");
	cfg.nteams = 6;
	snprintf(path, sizeof path, "%s/sales.fetch.lock", dir);
	ok(mkfifo(path, 0600) == 0, "a FIFO where a lock goes");
	is_int(take("sales", HV_LOCK_FETCH, 0, &l, &e), HV_ECANTCREAT, "is refused, not opened");
	unlink(path);
	ok(symlink("/etc/passwd", path) == 0, "a symbolic link where a lock goes");
	is_int(take("sales", HV_LOCK_FETCH, 0, &l, &e), HV_ECANTCREAT, "is not followed");
	unlink(path);
}

static void
test_parse_wait(void)
{
	static const struct { const char *s; int r; long v; } t[] = {
		{ "0", 0, 0 }, { "5", 0, 5 }, { "90s", 0, 90 }, { "2m", 0, 120 },
		{ "1d", 0, 86400 }, { "86400", 0, 86400 }, { "86401", HV_EUSAGE, 0 },
		{ "2d", HV_EUSAGE, 0 }, { "-1", HV_EUSAGE, 0 }, { "", HV_EUSAGE, 0 },
		{ "x", HV_EUSAGE, 0 }, { "5x", HV_EUSAGE, 0 }, { "5ss", HV_EUSAGE, 0 },
		{ "99999999999999999999", HV_EUSAGE, 0 },
	};
	struct hv_err e;
	size_t i;
	long v;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		v = -7;
		is_int(hv_lock_parse_wait(t[i].s, &v, &e), t[i].r, "-w '%s'", t[i].s);
		if (t[i].r == 0)
			is_int(v, t[i].v, "is %ld s", t[i].v);
		else
			ok(v == -7 && strstr(e.msg, "bad wait '") != NULL, "%s", e.msg);
	}
}

int
main(void)
{
	char cmd[300];

	snprintf(top, sizeof top, "/tmp/hv-lock-unit.XXXXXX");
	if (mkdtemp(top) == NULL)
		return perror(top), 1;
	snprintf(state, sizeof state, "%s/state/hv.db", top);
	snprintf(dir, sizeof dir, "%s/state/locks", top);
	cfg.paths.state = state;
	cfg.teams = teams;
	cfg.nteams = 6;
	test_names();
	test_exclusion();
	test_wait_for_child();
	test_holder_lines();
	test_refusals();
	test_parse_wait();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", top);
	return tap_done();
}
