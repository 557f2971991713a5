#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_optout.h"
#include "file.h"
#include "mem.h"
#include "banned.h"

char *
hv_audit_optout_path(const struct hv_config *c)
{
	size_t n = strlen(c->paths.audit) + 8;
	char *p = hv_xmalloc(n);

	snprintf(p, n, "%s.optout", c->paths.audit);
	return p;
}

int
hv_audit_optout_read(const char *path, struct hv_buf *b, size_t *n, struct hv_err *e)
{
	char *p;
	int r;

	*n = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if ((r = hv_file_read(path, b, e)) < 0)
		return r;
	for (p = b->data; p != NULL && p < b->data + b->len; p++)
		if (*p == '\n') {
			*p = '\0';
			(*n)++;
		}
	return 0;
}

int
hv_audit_optout_has(const struct hv_buf *b, const char *id)
{
	const char *p;

	for (p = b->data; p != NULL && p < b->data + b->len; p += strlen(p) + 1)
		if (strcmp(p, id) == 0)
			return 1;
	return 0;
}

int
hv_audit_optout_change(const struct hv_config *c, const char *id, int add, struct hv_err *e)
{
	struct hv_buf list = HV_BUF_INIT(16 * 1024 * 1024), out = HV_BUF_INIT(16 * 1024 * 1024);
	struct hv_audit_field f[] = { { "id", id }, { "change", add ? "add" : "remove" } };
	char *path = hv_audit_optout_path(c), *p;
	size_t n;
	int r, had;

	if (*id == '\0' || strchr(id, '\n') != NULL) {
		free(path);
		return hv_err_set(e, HV_EUSAGE, "bad user '%s'", id);
	}
	if ((r = hv_audit_optout_read(path, &list, &n, e)) < 0)
		goto out;
	had = hv_audit_optout_has(&list, id);
	for (p = list.data; p != NULL && p < list.data + list.len; p += strlen(p) + 1)
		if (strcmp(p, id) != 0)
			hv_buf_addf(&out, "%s\n", p);
	if (add)
		hv_buf_addf(&out, "%s\n", id);
	if (had != add && (r = hv_file_write_atomic(path, out.data ? out.data : "",
	    out.len, 0600, e)) == 0)
		r = hv_audit_log(c, HV_AUDIT_OPTOUT, f, 2, HV_AUDIT_OK, NULL, e);
out:
	hv_buf_release(&list);
	hv_buf_release(&out);
	free(path);
	return r;
}

