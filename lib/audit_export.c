/* audit_export: the trail for analytics, redacted and pseudonymous, with
 * opted-out users left out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_optout.h"
#include "audit_query.h"
#include "buf.h"
#include "crypto.h"
#include "json_jq.h"
#include "banned.h"

#define DEFAULT_REDACT \
    "{time: (.time[0:13] + \":00:00Z\"), tool, action, outcome, user: .pseudonym}"
/* The first is the identity a pseudonym is made of; all are looked up in
 * the opt-out list. */
#define IDENTITIES \
    "((.target.account? // .user // \"\") | tostring), " \
    "((.user, (.target | objects | .[])) | strings)"
#define OUT_FLUSH (64 * 1024)
#define OUT_MAX (16 * 1024 * 1024)

struct export {
	struct hv_jq *ids, *redact;
	struct hv_buf optout, out, strs;
	const uint8_t *key;
	const struct hv_audit_sink *sink;
	const char *since, *until;
	unsigned long events;
	int bad;
};

static void
warn_line(struct export *x, const char *file, unsigned long lineno, const char *why)
{
	char msg[2 * HV_ERR_MSG];	/* a file name and a reason of HV_ERR_MSG */

	x->bad = 1;
	if (x->sink->warn == NULL)
		return;
	snprintf(msg, sizeof msg, "'%s': line %lu: %s", file, lineno, why);
	x->sink->warn(x->sink->arg, msg);
}

/* 1 when any identity after the first (the strings of the event) opted out. */
static int
opted_out(const struct export *x, size_t n)
{
	const char *p;
	size_t i;

	for (p = x->strs.data, i = 0; i < n; p += strlen(p) + 1, i++)
		if (i > 0 && hv_audit_optout_has(&x->optout, p))
			return 1;
	return 0;
}

static int
export_one(void *arg, const char *file, unsigned long lineno, const char *line,
    size_t len, struct hv_err *e)
{
	struct export *x = arg;
	struct hv_audit_line l;
	struct hv_err le;
	uint8_t mac[32];
	char pseudonym[33];
	const char *set[] = { "pseudonym", pseudonym, NULL };
	size_t n, i;
	int r;

	if (hv_audit_parse(&l, line, len, &le) < 0) {
		warn_line(x, file, lineno, le.msg);
		return 0;
	}
	if (l.checkpoint || hv_audit_in_window(line, len, x->since, x->until) != 1)
		return 0;
	hv_buf_reset(&x->strs);
	if ((r = hv_jq_strings(x->ids, line, len, &x->strs, &n, &le)) < 0 || n == 0) {
		warn_line(x, file, lineno, r < 0 ? le.msg : "no user");
		return 0;
	}
	if (opted_out(x, n))
		return 0;
	hv_hmac_sha256(mac, x->key, 32, x->strs.data, strlen(x->strs.data));
	for (i = 0; i < 16; i++)
		snprintf(pseudonym + 2 * i, 3, "%02x", mac[i]);
	if (hv_jq_run(x->redact, line, len, set, &x->out, NULL, &le) < 0)
		warn_line(x, file, lineno, le.msg);
	x->events++;
	if (x->out.len >= OUT_FLUSH) {
		r = x->sink->write(x->sink->arg, x->out.data, x->out.len);
		hv_buf_reset(&x->out);
		if (r < 0)
			return hv_err_errno(e, HV_EIO, errno, "cannot write to stdout");
	}
	return 0;
}

int
hv_audit_export(const char *log, const char *optout, const uint8_t key[32],
    const char *redact, const char *since, const char *until,
    const struct hv_audit_sink *out, unsigned long *events, struct hv_err *e)
{
	struct export x = { NULL, NULL, HV_BUF_INIT(16 * 1024 * 1024), HV_BUF_INIT(OUT_MAX),
	    HV_BUF_INIT(HV_AUDIT_LINE_MAX * 2), key, out, since, until, 0, 0 };
	char **files = NULL;
	size_t n;
	int r;

	*events = 0;
	if ((r = hv_jq_compile(&x.redact, redact ? redact : DEFAULT_REDACT, e)) < 0 ||
	    (r = hv_jq_compile(&x.ids, IDENTITIES, e)) < 0 ||
	    (r = hv_audit_optout_read(optout, &x.optout, &n, e)) < 0 ||
	    (r = hv_audit_files(log, &files, e)) < 0)
		goto out;
	r = hv_audit_each_line(files, export_one, &x, out->warn, out->arg, e);
	if (x.out.len > 0 && out->write(out->arg, x.out.data, x.out.len) < 0 && r == 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write to stdout");
	*events = x.events;
	if (r == 0 && x.bad)
		r = hv_err_set(e, HV_EDATA, "some lines could not be exported (above)");
out:
	hv_jq_free(x.ids);
	hv_jq_free(x.redact);
	hv_buf_release(&x.optout);
	hv_buf_release(&x.out);
	hv_buf_release(&x.strs);
	hv_audit_files_free(files);
	return r;
}
