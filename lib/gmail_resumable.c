/*
 * Resumable uploads: a large message goes to Google in a session that
 * outlives a broken link.  The session is opened with the metadata (the
 * labels travel there), the bytes follow in PUTs of CHUNK bytes, and
 * after a reset, a timeout or a 5xx the next try asks Google how much it
 * holds and sends only the rest.  It is one gmail_op in the pool: its
 * answer hook turns one request into the next, so the cap, the bucket
 * (one import's units), the backoff and the budget are every call's.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gmail.h"
#include "gmail_int.h"
#include "http.h"
#include "mem.h"
#include "banned.h"

/* A multiple of 256 KiB, as Google asks of every chunk but the last; a
 * chunk must arrive within one request's timeout on a slow link. */
#define CHUNK (8u * 1024 * 1024)
#define SESSION_MAX 2048	/* a session URI longer than this is refused */

struct resumable_op {
	struct gmail_op op;		/* first: the pool hands it back */
	struct hv_buf url, meta, session;
	struct hv_http_response resp;
	char hdr[2][96];
	const char *headers[3];
	struct hv_http_part part;
	const void *raw;		/* borrowed until done */
	size_t len;
	size_t off;			/* bytes Google acknowledged */
	enum { RS_OPEN, RS_PUT, RS_STATUS } stage;
	hv_gmail_done *done;
	void *arg;
};

int
gmail_session_url(const char *api, const char *loc, size_t n, struct hv_buf *out)
{
	const char *host;
	size_t origin, i;

	hv_buf_reset(out);
	if (n == 0 || n > SESSION_MAX)
		return HV_EPROTO;
	for (i = 0; i < n; i++)
		if ((unsigned char)loc[i] <= ' ' || (unsigned char)loc[i] >= 0x7f)
			return HV_EPROTO;
	/* The origin ends at the first '/' after "scheme://". */
	if ((host = strstr(api, "://")) == NULL)
		return HV_EPROTO;
	origin = (size_t)(host + 3 - api) + strcspn(host + 3, "/?#");
	if (n <= origin || memcmp(loc, api, origin) != 0 || loc[origin] != '/')
		return HV_EPROTO;
	if (hv_buf_add(out, loc, n) < 0 || !hv_http_url_allowed(out->data)) {
		hv_buf_reset(out);
		return HV_EPROTO;
	}
	return 0;
}

int
gmail_range_got(const char *v, size_t n, size_t total, size_t *got)
{
	size_t i, d, last = 0;

	*got = 0;
	if (n < 9 || memcmp(v, "bytes=0-", 8) != 0)
		return HV_EPROTO;
	for (i = 8; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return HV_EPROTO;
		d = (size_t)(v[i] - '0');
		if (last > (SIZE_MAX - d) / 10 || (last = last * 10 + d) >= total)
			return HV_EPROTO;
	}
	*got = last + 1;
	return 0;
}

/* The next request of the session, as its stage says. */
static void
request(struct resumable_op *x)
{
	struct gmail_call *c = &x->op.c;
	size_t n;

	c->parts = NULL;
	c->nparts = 0;
	c->body = NULL;
	c->len = 0;
	c->headers = x->headers;
	x->headers[0] = x->hdr[0];
	x->headers[1] = x->headers[2] = NULL;
	switch (x->stage) {
	case RS_OPEN:
		c->verb = "POST";
		c->url = x->url.data;
		c->content_type = "application/json; charset=UTF-8";
		c->body = x->meta.data;
		c->len = x->meta.len;
		snprintf(x->hdr[0], sizeof x->hdr[0], "X-Upload-Content-Type: message/rfc822");
		snprintf(x->hdr[1], sizeof x->hdr[1], "X-Upload-Content-Length: %zu", x->len);
		x->headers[1] = x->hdr[1];
		break;
	case RS_PUT:
		n = x->len - x->off < CHUNK ? x->len - x->off : CHUNK;
		c->verb = "PUT";
		c->url = x->session.data;
		c->content_type = "message/rfc822";
		x->part = (struct hv_http_part){ (const char *)x->raw + x->off, n };
		c->parts = &x->part;
		c->nparts = 1;
		snprintf(x->hdr[0], sizeof x->hdr[0], "Content-Range: bytes %zu-%zu/%zu", x->off,
		    x->off + n - 1, x->len);
		break;
	case RS_STATUS:
		/* An empty PUT asks how much of the message Google holds. */
		c->verb = "PUT";
		c->url = x->session.data;
		c->content_type = NULL;
		c->body = "";
		snprintf(x->hdr[0], sizeof x->hdr[0], "Content-Range: bytes */%zu", x->len);
		break;
	}
}

static int
restart(struct resumable_op *x, long status)
{
	hv_err_set(&x->op.e, HV_ETEMP, "%s %s: HTTP %ld: upload session gone; starting over",
	    x->op.g->account, x->op.c.method, status);
	x->stage = RS_OPEN;
	x->off = 0;
	hv_buf_reset(&x->session);
	request(x);
	return GMAIL_AGAIN;
}

/* A 308: how far Google got; the rest goes next. */
static int
resume(struct resumable_op *x)
{
	const char *v = x->resp.range;
	size_t got = 0, before = x->off;
	int was_put = x->stage == RS_PUT;

	if (*v != '\0' && gmail_range_got(v, strlen(v), x->len, &got) < 0)
		return hv_err_set(&x->op.e, HV_EPROTO, "%s %s: upload answered with Range "
		    "'%.40s' for %zu bytes", x->op.g->account, x->op.c.method, v, x->len);
	x->off = got;
	x->stage = RS_PUT;
	if (got > before) {
		/* Google holds more than before: the tries and the budget count
		 * again from here, so a slow or flaky link that moves the upload
		 * on gets it through however long it takes as a whole. */
		x->op.attempt = 0;
		x->op.start = (double)hv_now_us() / 1e6;
	}
	if (got == x->len) {
		/* All there, yet not finished: ask again after a while. */
		x->stage = RS_STATUS;
		request(x);
		hv_err_set(&x->op.e, HV_ETEMP, "%s %s: upload complete but not finished",
		    x->op.g->account, x->op.c.method);
		return GMAIL_AGAIN;
	}
	request(x);
	if (was_put && got <= before) {
		/* A chunk that moved nothing on counts as a failed try. */
		hv_err_set(&x->op.e, HV_ETEMP, "%s %s: upload did not advance past byte %zu",
		    x->op.g->account, x->op.c.method, got);
		return GMAIL_AGAIN;
	}
	return GMAIL_NEXT;
}

static int
opened(struct resumable_op *x)
{
	const char *loc = x->resp.location;

	/* Only the Location's path is named: its query holds the session. */
	if (gmail_session_url(x->op.g->cfg->google.api, loc, strlen(loc), &x->session) < 0)
		return hv_err_set(&x->op.e, HV_EPROTO, "%s %s: upload session refused: Location "
		    "'%.*s' is not on %s", x->op.g->account, x->op.c.method,
		    (int)(strcspn(loc, "?#") < 80 ? strcspn(loc, "?#") : 80), loc,
		    x->op.g->cfg->google.api);
	x->stage = RS_PUT;
	x->off = 0;
	request(x);
	return GMAIL_NEXT;
}

static int
on_answer(struct gmail_op *op, int rc)
{
	struct resumable_op *x = (struct resumable_op *)op;
	long status = x->resp.status;

	if (rc == 0 && status == 413)
		return hv_err_set(&op->e, HV_EDATA, "%s %s: Google refused a message of %zu "
		    "bytes as too large", op->g->account, op->c.method, x->len);
	if (x->stage == RS_OPEN)
		return rc == 0 && status == 200 ? opened(x) : GMAIL_JUDGE;
	if (rc == 0 && (status == 200 || status == 201))
		return GMAIL_JUDGE;
	if (rc == 0 && status == 308)
		return resume(x);
	if (rc == 0 && (status == 404 || status == 410))
		return restart(x, status);
	/* The link broke or Google failed: Google may hold part of what
	 * was sent, so the next try asks before it sends. */
	x->stage = RS_STATUS;
	request(x);
	return GMAIL_JUDGE;
}

static int
prepare(struct gmail_op *op, struct hv_err *e)
{
	struct resumable_op *x = (struct resumable_op *)op;

	if (x->len > HV_GMAIL_RAW_MAX)
		return hv_err_set(e, HV_EDATA, "%s: message of %zu bytes is larger than Gmail "
		    "takes (%d bytes)", op->g->account, x->len, HV_GMAIL_RAW_MAX);
	if (x->len == 0)
		return hv_err_set(e, HV_EDATA, "%s: empty message", op->g->account);
	return 0;
}

static void
finish(struct gmail_op *op)
{
	struct resumable_op *x = (struct resumable_op *)op;
	char id[HV_GMAIL_ID_SIZE] = "";
	int r = op->rc;

	if (r < 0)
		gmail_redact(op->e.msg);
	if (r == 0 && gmail_id_of(x->resp.body.data, x->resp.body.len, 1, id) < 0)
		r = hv_err_set(&op->e, HV_EPROTO, "%s %s: answer without an id", op->g->account,
		    op->c.method);
	x->done(x->arg, r, id, &op->e);
	hv_buf_release(&x->url);
	hv_buf_release(&x->meta);
	hv_buf_release(&x->session);
	hv_http_response_release(&x->resp);
	free(x);
}

int
gmail_resumable_start(struct hv_gmail *g, const void *raw, size_t len, const char *labels,
    int use_import, hv_gmail_done *done, void *arg, struct hv_err *e)
{
	struct resumable_op *x = hv_xcalloc(1, sizeof *x);
	struct hv_json *meta = hv_json_object();
	int r;

	hv_buf_init(&x->url, 4096);
	hv_buf_init(&x->meta, 1024 * 1024);
	hv_buf_init(&x->session, SESSION_MAX + 1);
	hv_http_response_init(&x->resp, 64 * 1024);
	if ((r = gmail_id_array(meta, "labelIds", labels)) == 0)
		r = hv_json_dump(meta, &x->meta);
	hv_json_free(meta);
	if (r < 0) {
		hv_buf_release(&x->url);
		hv_buf_release(&x->meta);
		hv_buf_release(&x->session);
		hv_http_response_release(&x->resp);
		free(x);
		return hv_err_set(e, r, "label ids '%.100s' are not Gmail's", labels);
	}
	/* The same query as a multipart upload's: the message keeps its date
	 * and a team's mail is never taken for spam. */
	hv_buf_addf(&x->url, "%s/upload/gmail/v1/users/%s/messages%s?uploadType=resumable"
	    "&internalDateSource=dateHeader%s", g->cfg->google.api, g->user,
	    use_import ? "/import" : "", use_import ? "&neverMarkSpam=true" : "");
	x->raw = raw;
	x->len = len;
	x->done = done;
	x->arg = arg;
	x->stage = RS_OPEN;
	x->op.c.method = use_import ? "messages.import" : "messages.insert";
	request(x);
	x->op.resp = &x->resp;
	x->op.prepare = prepare;
	x->op.answer = on_answer;
	x->op.finish = finish;
	gmail_start(g, &x->op);
	return 0;
}
