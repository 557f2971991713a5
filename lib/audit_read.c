/* audit_read: the files of a trail and reading their lines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_int.h"
#include "buf.h"
#include "crypto.h"
#include "crypto_sign.h"
#include "file.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "msg.h"
#include "banned.h"

/* ---- the files of a trail ---- */

struct rotated {
	uint64_t seq;
	char *path;
};

static int
by_seq(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
hv_audit_files(const char *log, char ***files, struct hv_err *e)
{
	const char *base = strrchr(log, '/') ? strrchr(log, '/') + 1 : log;
	size_t blen = strlen(base), n = 0, i;
	struct rotated *rot = NULL;
	struct dirent *d;
	char *dir = audit_dir_of(log), **list;
	uint64_t seq;
	DIR *dp;
	int r;

	*files = NULL;
	if ((dp = opendir(dir)) == NULL) {
		r = hv_err_errno(e, HV_ENOINPUT, errno, "cannot read '%s'", dir);
		free(dir);
		return r;
	}
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, base, blen) != 0 || d->d_name[blen] != '.' ||
		    audit_parse_u64(d->d_name + blen + 1, &seq) < 0)
			continue;
		rot = hv_xrealloc(rot, (n + 1) * sizeof *rot);
		rot[n].seq = seq;
		rot[n].path = hv_xmalloc(strlen(dir) + strlen(d->d_name) + 2);
		snprintf(rot[n].path, strlen(dir) + strlen(d->d_name) + 2, "%s/%s", dir, d->d_name);
		n++;
	}
	closedir(dp);
	free(dir);
	if (n > 1)
		qsort(rot, n, sizeof *rot, by_seq);
	list = hv_xcalloc(n + 2, sizeof *list);
	for (i = 0; i < n; i++)
		list[i] = rot[i].path;
	free(rot);
	if (access(log, F_OK) == 0)
		list[n++] = hv_xstrdup(log);
	if (n == 0) {
		free(list);
		return hv_err_set(e, HV_ENOINPUT, "no audit log at '%s'", log);
	}
	*files = list;
	return 0;
}

void
hv_audit_files_free(char **files)
{
	size_t i;

	for (i = 0; files != NULL && files[i] != NULL; i++)
		free(files[i]);
	free(files);
}

/* ---- reading ---- */

struct hv_audit_reader {
	int fd;
	const char *name;
	char *buf;
	size_t cap, start, end;
	unsigned long lineno;
	int skipping;		/* inside a line over the cap */
};

struct hv_audit_reader *
hv_audit_reader_new(int fd, const char *name)
{
	struct hv_audit_reader *r = hv_xcalloc(1, sizeof *r);

	r->fd = fd;
	r->name = name;
	r->cap = READ_CHUNK + HV_AUDIT_LINE_MAX;
	r->buf = hv_xmalloc(r->cap);
	return r;
}

static int
fill(struct hv_audit_reader *r, struct hv_err *e)
{
	ssize_t n;

	if (r->skipping || r->end - r->start >= HV_AUDIT_LINE_MAX) {
		r->skipping = 1;
		r->start = r->end;
	}
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", r->name);
	r->end += (size_t)n;
	return n > 0;
}

int
hv_audit_read_line(struct hv_audit_reader *r, int follow, const char **line,
    size_t *len, unsigned long *lineno, struct hv_err *e)
{
	char *nl;
	int n;

	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			*lineno = ++r->lineno;
			r->start = (size_t)(nl + 1 - r->buf);
			if (r->skipping || *len + 1 > HV_AUDIT_LINE_MAX) {
				r->skipping = 0;
				return hv_err_set(e, HV_EDATA, "'%s': line %lu: longer than "
				    "%d bytes", r->name, r->lineno, HV_AUDIT_LINE_MAX);
			}
			return 1;
		}
		if ((n = fill(r, e)) < 0)
			return n;
		if (n > 0)
			continue;
		if (r->end == r->start || follow)
			return 0;
		*lineno = ++r->lineno;
		r->start = r->end;
		r->skipping = 0;
		return hv_err_set(e, HV_EDATA, "'%s': line %lu: no newline at the end "
		    "(torn?)", r->name, r->lineno);
	}
}

void
hv_audit_reader_free(struct hv_audit_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

