/* audit_query: query over every event, time bounds, the lines of the
 * files; the keys a verifier is given. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_query.h"
#include "buf.h"
#include "config.h"
#include "file.h"
#include "json_jq.h"
#include "keys.h"
#include "mem.h"
#include "banned.h"

#define OUT_FLUSH (64 * 1024)
#define OUT_MAX (16 * 1024 * 1024)

int
hv_audit_time_bound(const char *arg, time_t now, char out[28], struct hv_err *e)
{
	time_t t;
	long ago;

	if (arg == NULL) {
		out[0] = '\0';
		return 0;
	}
	if (hv_audit_parse_time(arg, strlen(arg), &t) < 0) {
		if (hv_parse_duration(arg, &ago) < 0)
			return hv_err_set(e, HV_EUSAGE, "bad time '%s' (say 2026-05-01, "
			    "2026-05-01T12:00:00Z or 90m for 90 minutes ago)", arg);
		t = now - ago;
	}
	hv_audit_format_time(out, t, 0);
	return 0;
}

int
hv_audit_in_window(const char *line, size_t len, const char *since, const char *until)
{
	struct hv_audit_line l;

	if (since[0] == '\0' && until[0] == '\0')
		return 1;
	if (hv_audit_parse(&l, line, len, NULL) < 0)
		return -1;
	if (since[0] != '\0' && memcmp(l.time, since, 27) < 0)
		return 0;
	if (until[0] != '\0' && memcmp(l.time, until, 27) >= 0)
		return 0;
	return 1;
}

int
hv_audit_each_line(char *const *files, hv_audit_line_fn fn, void *arg,
    void (*warn)(void *arg, const char *msg), void *warn_arg, struct hv_err *e)
{
	struct hv_audit_reader *rd;
	struct hv_err le;
	const char *line;
	unsigned long lineno;
	size_t len, i;
	int fd, n, r = 0;

	for (i = 0; files[i] != NULL; i++) {
		if ((fd = open(files[i], O_RDONLY | O_CLOEXEC)) < 0)
			return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", files[i]);
		rd = hv_audit_reader_new(fd, files[i]);
		while ((n = hv_audit_read_line(rd, 0, &line, &len, &lineno, &le)) != 0) {
			if (n == HV_EDATA) {
				if (warn != NULL)
					warn(warn_arg, le.msg);
				r = hv_err_set(e, HV_EDATA, "%s", le.msg);
				continue;
			}
			if (n < 0 || (n = fn(arg, files[i], lineno, line, len, e)) < 0) {
				r = n;
				break;
			}
		}
		hv_audit_reader_free(rd);
		close(fd);
		if (r < 0 && r != HV_EDATA)
			break;
	}
	return r;
}

/* Output in large writes: a line at a time would be a write each. */
static int
flush_out(struct hv_buf *b, const struct hv_audit_sink *out, int force)
{
	int r;

	if (b->len == 0 || (!force && b->len < OUT_FLUSH))
		return 0;
	r = out->write(out->arg, b->data, b->len);
	hv_buf_reset(b);
	return r;
}

static void
say(const struct hv_audit_sink *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct hv_audit_sink *out, const char *fmt, ...)
{
	char msg[2 * HV_ERR_MSG];	/* a file name and a reason of HV_ERR_MSG */
	va_list ap;

	if (out->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	out->warn(out->arg, msg);
}

struct query {
	struct hv_jq *q;
	struct hv_buf buf;
	const struct hv_audit_sink *out;
	const char *since, *until;
	int bad;
};

static int
query_one(void *arg, const char *file, unsigned long lineno, const char *line,
    size_t len, struct hv_err *e)
{
	struct query *q = arg;
	struct hv_err le;
	int w = hv_audit_in_window(line, len, q->since, q->until), r;

	if (w == 0)
		return 0;
	if (w < 0) {
		say(q->out, "'%s': line %lu: not an hv-audit(5) line", file, lineno);
		q->bad = 1;
		return 0;
	}
	if ((r = hv_jq_run(q->q, line, len, NULL, &q->buf, NULL, &le)) < 0) {
		if (r != HV_EDATA)
			return hv_err_set(e, r, "%s", le.msg);
		say(q->out, "'%s': line %lu: %s", file, lineno, le.msg);
		q->bad = 1;
	}
	if (flush_out(&q->buf, q->out, 0) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot write to stdout");
	return 0;
}

int
hv_audit_query(const char *log, const char *filter, const char *since,
    const char *until, const struct hv_audit_sink *out, struct hv_err *e)
{
	struct query q = { NULL, HV_BUF_INIT(OUT_MAX), out, since, until, 0 };
	char **files = NULL;
	int r;

	if ((r = hv_jq_compile(&q.q, filter, e)) < 0 ||
	    (r = hv_audit_files(log, &files, e)) < 0)
		goto out;
	r = hv_audit_each_line(files, query_one, &q, out->warn, out->arg, e);
	if (flush_out(&q.buf, out, 1) < 0 && r == 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write to stdout");
	if (r == 0 && q.bad)
		r = hv_err_set(e, HV_EDATA, "some lines could not be read (above)");
out:
	hv_jq_free(q.q);
	hv_buf_release(&q.buf);
	hv_audit_files_free(files);
	return r;
}

int
hv_audit_key0_read(const char *path, uint8_t key[32], struct hv_err *e)
{
	struct hv_buf b;
	int r;

	hv_buf_init_secret(&b, HV_KEY_TEXT_MAX + 2);
	if ((r = hv_file_read_secret(path, &b, e)) == 0 &&
	    (r = hv_key_decode(b.data ? b.data : "", b.len, HV_KEY_SYMMETRIC, key, e)) < 0)
		hv_err_wrap(e, "'%s'", path);
	hv_buf_release(&b);
	return r;
}

int
hv_audit_pubkey_read(const char *arg, uint8_t pub[32], struct hv_err *e)
{
	struct hv_buf b = HV_BUF_INIT(256);
	int r;

	if (strncmp(arg, "hvsig1", 6) == 0)
		return hv_audit_pubkey_decode(arg, strlen(arg), pub, e);
	if ((r = hv_file_read(arg, &b, e)) == 0)
		r = hv_audit_pubkey_decode(b.data ? b.data : "", b.len, pub, e);
	hv_buf_release(&b);
	return r;
}

int
hv_audit_key0_beside(const char *path, const char *log)
{
	size_t n = strlen(log) + 6;
	char *key0 = hv_xmalloc(n), *a, *b;
	int same;

	snprintf(key0, n, "%s.key0", log);
	a = realpath(path, NULL);
	b = realpath(key0, NULL);
	same = a != NULL && b != NULL && strcmp(a, b) == 0;
	free(a);
	free(b);
	free(key0);
	return same;
}

int
hv_audit_verify_keys_load(const struct hv_config *c, const char *key0, const char *pubkey,
    int own, struct hv_audit_verify_keys *k, struct hv_err *e)
{
	struct hv_buf text = HV_BUF_INIT(256);
	const char *log = c->paths.audit;
	char *beside = NULL;
	int r = 0;

	memset(k, 0, sizeof *k);
	k->anchored = pubkey != NULL ||
	    (key0 != NULL && (log == NULL || !hv_audit_key0_beside(key0, log)));
	if (key0 == NULL && own && log != NULL) {
		beside = hv_xmalloc(strlen(log) + 6);
		snprintf(beside, strlen(log) + 6, "%s.key0", log);
		if (access(beside, F_OK) == 0) {
			key0 = beside;
			k->beside = beside;
		}
	}
	if (key0 != NULL) {
		k->key0 = hv_secure_alloc(32);
		r = hv_audit_key0_read(key0, k->key0, e);
	}
	if (k->beside == NULL)
		free(beside);
	if (r == 0 && pubkey != NULL)
		r = hv_audit_pubkey_read(pubkey, k->pub, e);
	else if (r == 0 && own && hv_audit_pubkey(c, &text, NULL) == 0)
		r = hv_audit_pubkey_decode(text.data, text.len, k->pub, e);
	k->have_pub = r == 0 && (pubkey != NULL || text.len > 0);
	hv_buf_release(&text);
	return r;
}

void
hv_audit_verify_keys_release(struct hv_audit_verify_keys *k)
{
	if (k->key0 != NULL)
		hv_secure_free(k->key0, 32);
	free((char *)k->beside);
	k->key0 = NULL;
	k->beside = NULL;
}

int
hv_audit_log_words(const struct hv_config *c, const char *action, char **words, size_t n,
    const char *outcome, const char *error, struct hv_err *e)
{
	struct hv_audit_field f[HV_AUDIT_FIELDS_MAX];
	enum hv_audit_outcome out = HV_AUDIT_OK;
	char *eq;
	size_t i;
	int r;

	if (n > HV_AUDIT_FIELDS_MAX)
		return hv_err_set(e, HV_EUSAGE, "log takes an action and at most %d "
		    "key=value pairs", HV_AUDIT_FIELDS_MAX);
	if (outcome != NULL && strcmp(outcome, "ok") != 0) {
		if (strcmp(outcome, "fail") == 0)
			out = HV_AUDIT_FAIL;
		else if (strcmp(outcome, "refused") == 0)
			out = HV_AUDIT_REFUSED;
		else
			return hv_err_set(e, HV_EUSAGE, "bad outcome '%s' (ok, fail or refused)",
			    outcome);
	}
	for (i = 0; i < n; i++) {
		if ((eq = strchr(words[i], '=')) == NULL)
			return hv_err_set(e, HV_EUSAGE, "'%s' is not key=value", words[i]);
		*eq = '\0';
		f[i].key = words[i];
		f[i].value = eq + 1;
	}
	/* What the library calls a caller's bug is a usage error here. */
	if ((r = hv_audit_log(c, action, f, n, out, error, e)) == HV_EINTERNAL)
		r = e->code = HV_EUSAGE;
	return r;
}
