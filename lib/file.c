#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "mem.h"

int
hv_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
hv_read_full(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, c + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int
fsync_dir_of(const char *path)
{
	char *dir = hv_xstrdup(path), *slash = strrchr(dir, '/');
	int fd, r;

	if (slash == NULL) {
		free(dir);
		dir = hv_xstrdup(".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int
hv_atomic_begin(struct hv_atomic *a, const char *path, mode_t mode, struct hv_err *e)
{
	size_t n = strlen(path) + 32;
	unsigned tries;
	struct stat st;

	a->fd = -1;
	a->path = a->tmp = NULL;
	/* A rename would replace a device, a pipe or a link, not write to it. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return hv_err_set(e, HV_ECANTCREAT, "'%s' is not a regular file", path);
	a->path = hv_xstrdup(path);
	a->tmp = hv_xmalloc(n);
	for (tries = 0; tries < 100; tries++) {
		snprintf(a->tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), tries);
		a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (a->fd >= 0 || errno != EEXIST)
			break;
	}
	if (a->fd < 0) {
		int r = hv_err_errno(e, HV_ECANTCREAT, errno, "cannot create '%s'", a->tmp);

		free(a->path);
		free(a->tmp);
		a->path = a->tmp = NULL;
		return r;
	}
	return 0;
}

int
hv_atomic_commit(struct hv_atomic *a, struct hv_err *e)
{
	int r = HV_EIO;

	if (fsync(a->fd) < 0) {
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", a->tmp);
		goto out;
	}
	if (close(a->fd) < 0) {
		a->fd = -1;
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", a->tmp);
		goto out;
	}
	a->fd = -1;
	if (rename(a->tmp, a->path) < 0) {
		r = hv_err_errno(e, HV_ECANTCREAT, errno, "cannot rename to '%s'", a->path);
		goto out;
	}
	free(a->tmp);
	a->tmp = NULL;
	if (fsync_dir_of(a->path) < 0) {
		r = hv_err_errno(e, HV_EIO, errno, "cannot sync the directory of '%s'", a->path);
		goto out;
	}
	r = 0;
out:
	hv_atomic_abort(a);
	return r;
}

void
hv_atomic_abort(struct hv_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp != NULL)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
}

int
hv_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct hv_err *e)
{
	struct hv_atomic a;
	int r;

	if ((r = hv_atomic_begin(&a, path, mode, e)) < 0)
		return r;
	if (hv_write_all(a.fd, data, len) < 0) {
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", a.tmp);
		hv_atomic_abort(&a);
		return r;
	}
	return hv_atomic_commit(&a, e);
}

int
hv_file_create_excl(const char *path, const void *data, size_t len,
    mode_t mode, struct hv_err *e)
{
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return hv_err_errno(e, HV_ECANTCREAT, errno, "cannot create '%s'", path);
	if (hv_write_all(fd, data, len) < 0 || fsync(fd) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", path);
	if (close(fd) < 0 && r == 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", path);
	if (r < 0)
		unlink(path);
	return r;
}

static int
read_fd(int fd, const char *path, struct hv_buf *b, struct hv_err *e)
{
	char chunk[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", path);
		if (n == 0)
			break;
		if (hv_buf_add(b, chunk, (size_t)n) < 0) {
			hv_wipe(chunk, sizeof chunk);
			return hv_err_set(e, HV_EDATA, "'%s' is larger than %zu bytes",
			    path, b->max);
		}
	}
	hv_wipe(chunk, sizeof chunk);
	return 0;
}

static int
open_input(const char *path, struct hv_err *e)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return STDIN_FILENO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", path);
	return fd;
}

int
hv_file_read(const char *path, struct hv_buf *b, struct hv_err *e)
{
	int fd = open_input(path, e), r;

	if (fd < 0)
		return fd;
	r = read_fd(fd, path, b, e);
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

int
hv_file_mode_ok(const char *path, const struct stat *st, int private, struct hv_err *e)
{
	mode_t m = st->st_mode & 07777;
	int dir = S_ISDIR(st->st_mode);

	if (st->st_uid != geteuid() && st->st_uid != 0)
		return hv_err_set(e, HV_EPERM, "'%s' belongs to another user (uid %u), "
		    "not to uid %u or root", path, (unsigned)st->st_uid, (unsigned)geteuid());
	if (private && (m & 077) != 0)
		return hv_err_set(e, HV_EPERM, "'%s' is %s by others (mode %04o): chmod %s %s",
		    path, m & 044 ? "readable" : m & 022 ? "writable" : "usable",
		    (unsigned)m, dir ? "700" : "600", path);
	if ((m & 022) != 0 && !(dir && (m & S_ISVTX) && st->st_uid == 0))
		return hv_err_set(e, HV_EPERM, "'%s' is writable by others (mode %04o): "
		    "chmod go-w %s", path, (unsigned)m, path);
	return 0;
}

/* Every directory above real, an absolute path without links, up to /. */
static int
parents_ok(char *real, struct hv_err *e)
{
	struct stat st;
	char *slash;
	int r;

	while ((slash = strrchr(real, '/')) != NULL) {
		slash[slash == real] = '\0';
		if (stat(real, &st) < 0)
			return hv_err_errno(e, HV_ENOINPUT, errno, "cannot stat '%s'", real);
		if ((r = hv_file_mode_ok(real, &st, 0, e)) < 0 || slash == real)
			return r;
	}
	return 0;
}

static int
path_check(const char *path, int private, struct hv_err *e)
{
	struct stat st;
	char *real;
	int r;

	if (stat(path, &st) < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot stat '%s'", path);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	if ((real = realpath(path, NULL)) == NULL)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot resolve '%s'", path);
	if ((r = hv_file_mode_ok(real, &st, private, e)) == 0)
		r = parents_ok(real, e);
	free(real);
	return r;
}

int
hv_path_trusted(const char *path, struct hv_err *e)
{
	return path_check(path, 0, e);
}

int
hv_path_private(const char *path, struct hv_err *e)
{
	return path_check(path, 1, e);
}

int
hv_file_read_secret(const char *path, struct hv_buf *b, struct hv_err *e)
{
	struct stat st;
	int fd = open_input(path, e), r = HV_EPERM;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = hv_err_errno(e, HV_EIO, errno, "cannot stat '%s'", path);
		goto out;
	}
	/* The file as opened, then the directories above it by name. */
	if (S_ISREG(st.st_mode) && ((r = hv_file_mode_ok(path, &st, 1, e)) < 0 ||
	    (fd != STDIN_FILENO && (r = hv_path_trusted(path, e)) < 0)))
		goto out;
	r = read_fd(fd, path, b, e);
out:
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

int
hv_lock_acquire(const char *path, int *fd, struct hv_err *e)
{
	*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0)
		return hv_err_errno(e, HV_ECANTCREAT, errno, "cannot open lock '%s'", path);
	while (flock(*fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		int r = hv_err_errno(e, HV_EIO, errno, "cannot lock '%s'", path);

		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

void
hv_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
hv_mkdirs(const char *path, struct hv_err *e)
{
	char *p = hv_xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			r = hv_err_errno(e, HV_ECANTCREAT, errno, "cannot create '%s'", p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return r;
}
