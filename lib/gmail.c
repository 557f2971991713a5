#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"
#include "gmail.h"
#include "gmail_int.h"
#include "http.h"
#include "index.h"
#include "json.h"
#include "mem.h"
#include "banned.h"

#define PAGE_MAX (16 * 1024 * 1024)

/* The index keeps what Gmail hands out: it must hold any id taken here. */
_Static_assert(HV_INDEX_ID_SIZE == HV_GMAIL_ID_SIZE, "index ids are Gmail ids");

int
hv_gmail_new_in(struct hv_gmail **out, struct hv_gmail_pool *p, const struct hv_config *c,
    struct hv_auth *auth, const char *account, struct hv_err *e)
{
	struct hv_gmail *g;
	struct hv_buf user = HV_BUF_INIT(1024);
	int r;

	*out = NULL;
	if (hv_http_escape(&user, account) < 0)
		return hv_err_set(e, HV_EUNAVAIL, "cannot load libcurl");
	g = hv_xcalloc(1, sizeof *g);
	g->cfg = c;
	g->auth = auth;
	g->account = hv_xstrdup(account);
	hv_buf_init_secret(&g->token, 8192);
	g->user = hv_buf_detach(&user, NULL);
	if ((r = hv_quota_init(&g->quota, c->google.quota, e)) < 0) {
		hv_gmail_free(g);
		return r;
	}
	g->pool = p;
	gmail_pool_add(p, g);
	*out = g;
	return 0;
}

int
hv_gmail_new(struct hv_gmail **out, const struct hv_config *c, struct hv_auth *auth,
    const char *account, struct hv_err *e)
{
	struct hv_gmail_pool *p;
	int r;

	*out = NULL;
	if ((r = hv_gmail_pool_new(&p, c, e)) < 0)
		return r;
	if ((r = hv_gmail_new_in(out, p, c, auth, account, e)) < 0) {
		hv_gmail_pool_free(p);
		return r;
	}
	(*out)->own_pool = 1;
	return 0;
}

void
hv_gmail_free(struct hv_gmail *g)
{
	if (g == NULL)
		return;
	if (g->pool != NULL) {
		gmail_pool_remove(g->pool, g);
		if (g->own_pool)
			hv_gmail_pool_free(g->pool);
	}
	hv_buf_release(&g->token);
	free(g->account);
	free(g->user);
	free(g);
}

double
hv_gmail_units(const struct hv_gmail *g)
{
	return g->quota.spent;
}

long
hv_gmail_calls(const struct hv_gmail *g)
{
	return g->calls;
}

int
gmail_url(struct hv_gmail *g, struct hv_buf *url, const char *tail)
{
	if (hv_buf_addf(url, "%s/gmail/v1/users/%s/%s", g->cfg->google.api, g->user, tail) < 0)
		return HV_EDATA;
	return 0;
}

int
gmail_get_json(struct hv_gmail *g, const char *method, const char *url, struct hv_json **j,
    size_t max, struct hv_err *e)
{
	struct hv_http_response resp;
	struct gmail_call c = { .method = method, .verb = "GET", .url = url };
	int r;

	*j = NULL;
	hv_http_response_init(&resp, max);
	/* An answer that is not JSON is Google breaking the protocol. */
	if ((r = gmail_call(g, &c, &resp, e)) == 0 &&
	    hv_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, j, e) < 0) {
		hv_err_wrap(e, "%s %s", g->account, method);
		r = e->code = HV_EPROTO;
	}
	hv_http_response_release(&resp);
	return r;
}

int
hv_gmail_profile(struct hv_gmail *g, struct hv_buf *history_id, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	struct hv_json *j;
	const char *h;
	int r;

	gmail_url(g, &url, "profile");
	if ((r = gmail_get_json(g, "getProfile", url.data, &j, 64 * 1024, e)) == 0) {
		if ((h = hv_json_get_str(j, "historyId")) == NULL)
			r = hv_err_set(e, HV_EPROTO, "%s getProfile: no historyId", g->account);
		else
			hv_buf_adds(history_id, h);
	}
	hv_json_free(j);
	hv_buf_release(&url);
	return r;
}

/* Message ids go into URL paths: only plain tokens are taken. */
int
gmail_plain_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HV_GMAIL_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Label ids are opaque (Google's word): only what would break hv's own
 * space-separated lists, or a C string, is refused. */
int
gmail_label_id_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HV_GMAIL_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

int
gmail_id_array(struct hv_json *o, const char *key, const char *list)
{
	struct hv_json *a = hv_json_array();
	char id[HV_GMAIL_ID_SIZE];
	const char *p = list ? list : "";
	size_t n;
	int r = 0;

	while (*p && r == 0) {
		while (*p == ' ')
			p++;
		if ((n = strcspn(p, " ")) == 0)
			break;
		if (!gmail_label_id_ok(p, n)) {
			r = HV_EINTERNAL;
			break;
		}
		memcpy(id, p, n);
		id[n] = '\0';
		hv_json_append_str(a, id);
		p += n;
	}
	if (r == 0)
		hv_json_set(o, key, a);
	hv_json_free(a);
	return r;
}

int
gmail_labels_of(const struct hv_json *msg, struct hv_buf *out, struct hv_err *e)
{
	struct hv_json *l = hv_json_get(msg, "labelIds"), *it;
	size_t i, n = l ? hv_json_array_len(l) : 0, len;
	const char *s;
	int r = 0;

	hv_buf_reset(out);
	if (hv_buf_add(out, "", 0) < 0)
		r = hv_err_set(e, HV_EPROTO, "no room for a label list");
	for (i = 0; i < n && r == 0; i++) {
		it = hv_json_array_get(l, i);
		if ((s = hv_json_strn(it, &len)) == NULL || !gmail_label_id_ok(s, len))
			r = hv_err_set(e, HV_EPROTO, "label id %zu of %zu is %s", i + 1, n,
			    s == NULL ? "not a string" : len == 0 ? "empty" :
			    len > HV_GMAIL_ID_MAX ? "too long" : "not one hv can hold");
		else if (hv_buf_addf(out, "%s%s", out->len ? " " : "", s) < 0)
			r = hv_err_set(e, HV_EPROTO, "%zu label ids are more than hv holds", n);
		hv_json_free(it);
	}
	hv_json_free(l);
	return r;
}

static int
page_param(struct hv_buf *url, const char *name, const char *value)
{
	if (value == NULL || *value == '\0')
		return 0;
	if (hv_buf_addf(url, "&%s=", name) < 0)
		return HV_EDATA;
	return hv_http_escape(url, value);
}

int
gmail_pages(struct hv_gmail *g, const char *method, const char *base,
    int (*page)(const struct hv_json *j, void *arg), void *arg, struct hv_buf *latest,
    struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(8192), next = HV_BUF_INIT(1024);
	struct hv_json *j;
	const char *s;
	int r;

	do {
		hv_buf_reset(&url);
		if (hv_buf_adds(&url, base) < 0 || page_param(&url, "pageToken", next.data) < 0) {
			r = hv_err_set(e, HV_EDATA, "%s %s: URL too long", g->account, method);
			break;
		}
		if ((r = gmail_get_json(g, method, url.data, &j, PAGE_MAX, e)) < 0)
			break;
		r = page(j, arg);
		if (latest != NULL && (s = hv_json_get_str(j, "historyId")) != NULL) {
			hv_buf_reset(latest);
			hv_buf_adds(latest, s);
		}
		hv_buf_reset(&next);
		if ((s = hv_json_get_str(j, "nextPageToken")) != NULL)
			hv_buf_adds(&next, s);
		hv_json_free(j);
	} while (r == 0 && next.len > 0);
	hv_buf_release(&url);
	hv_buf_release(&next);
	return r;
}

/* What a page of ids goes to. */
struct ids {
	int (*fn)(const char *id, const char *labels, void *arg);
	void *arg;
	struct hv_err *e;
};

/* A message id from a listing: it goes into URL paths and the index. */
static int
message_id(const struct hv_json *msg, const char **id, struct hv_err *e)
{
	size_t n;

	if ((*id = hv_json_get_strn(msg, "id", &n)) == NULL)
		return 0;
	if (!gmail_plain_id(*id, n))
		return hv_err_set(e, HV_EPROTO, "a message id that is %s", n == 0 ? "empty" :
		    n > HV_GMAIL_ID_MAX ? "too long" : "not a plain token");
	return 1;
}

/* messagesAdded of a history page: each message's id and labels. */
static int
added_page(const struct hv_json *j, void *arg)
{
	const struct ids *x = arg;
	struct hv_json *hist = hv_json_get(j, "history"), *h, *added, *a, *msg;
	struct hv_buf labels = HV_BUF_INIT(PAGE_MAX);
	const char *s;
	size_t i, k, nh = hist ? hv_json_array_len(hist) : 0, na;
	int r = 0;

	for (i = 0; i < nh && r == 0; i++) {
		h = hv_json_array_get(hist, i);
		added = hv_json_get(h, "messagesAdded");
		na = added ? hv_json_array_len(added) : 0;
		for (k = 0; k < na && r == 0; k++) {
			a = hv_json_array_get(added, k);
			if ((msg = hv_json_get(a, "message")) != NULL &&
			    (r = message_id(msg, &s, x->e)) > 0 &&
			    (r = gmail_labels_of(msg, &labels, x->e)) == 0)
				r = x->fn(s, labels.data, x->arg);
			hv_json_free(msg);
			hv_json_free(a);
		}
		hv_json_free(added);
		hv_json_free(h);
	}
	hv_json_free(hist);
	hv_buf_release(&labels);
	if (r == HV_EPROTO)
		hv_err_wrap(x->e, "history.list");
	return r;
}

int
hv_gmail_history(struct hv_gmail *g, const char *start, const char *label,
    int (*fn)(const char *id, const char *labels, void *arg), void *arg,
    struct hv_buf *latest, struct hv_err *e)
{
	struct hv_buf base = HV_BUF_INIT(8192);
	struct ids x = { fn, arg, e };
	int r;

	gmail_url(g, &base, "history?historyTypes=messageAdded&maxResults=500");
	page_param(&base, "startHistoryId", start);
	page_param(&base, "labelId", label);
	r = gmail_pages(g, "history.list", base.data, added_page, &x, latest, e);
	if (r == HV_ENOINPUT)
		hv_err_wrap(e, "history from %s has expired", start);
	hv_buf_release(&base);
	return r;
}

/* messages of a list page: each id (labels are not listed). */
static int
list_page(const struct hv_json *j, void *arg)
{
	const struct ids *x = arg;
	struct hv_json *list = hv_json_get(j, "messages"), *m;
	const char *s;
	size_t i, n = list ? hv_json_array_len(list) : 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		m = hv_json_array_get(list, i);
		if ((r = message_id(m, &s, x->e)) > 0)
			r = x->fn(s, "", x->arg);
		hv_json_free(m);
	}
	hv_json_free(list);
	if (r == HV_EPROTO)
		hv_err_wrap(x->e, "messages.list");
	return r;
}

int
hv_gmail_list(struct hv_gmail *g, const char *query, const char *label,
    int (*fn)(const char *id, const char *labels, void *arg), void *arg,
    struct hv_err *e)
{
	struct hv_buf base = HV_BUF_INIT(8192);
	struct ids x = { fn, arg, e };
	int r;

	gmail_url(g, &base, "messages?maxResults=500");
	page_param(&base, "q", query);
	page_param(&base, "labelIds", label);
	r = gmail_pages(g, "messages.list", base.data, list_page, &x, NULL, e);
	hv_buf_release(&base);
	return r;
}

void
hv_gmail_message_init(struct hv_gmail_message *m)
{
	memset(m, 0, sizeof *m);
	hv_buf_init_secret(&m->raw, HV_GMAIL_RAW_MAX);
}

void
hv_gmail_message_release(struct hv_gmail_message *m)
{
	hv_buf_release(&m->raw);
	free(m->labels);
	m->labels = NULL;
}

/* The string member key into out ("" when absent): 0, or -1 when it holds
 * a NUL or does not fit, which a cut would hide. */
static int
copy_str(char *out, size_t max, const struct hv_json *j, const char *key)
{
	size_t n;
	const char *s = hv_json_get_strn(j, key, &n);

	out[0] = '\0';
	if (s == NULL)
		return 0;
	if (n >= max || strlen(s) != n)
		return -1;
	memcpy(out, s, n + 1);
	return 0;
}

/* Gmail's raw is base64url, sometimes padded; the decoder wants it bare. */
static int
decode_raw(struct hv_buf *out, const char *text)
{
	size_t n = strlen(text), got;

	while (n > 0 && text[n - 1] == '=')
		n--;
	if (hv_buf_grow(out, n / 4 * 3 + 3) < 0)
		return HV_EDATA;
	if (hv_b64url_decode(text, n, (uint8_t *)out->data + out->len,
	    out->cap - out->len - 1, &got) < 0)
		return HV_EDATA;
	out->len += got;
	out->data[out->len] = '\0';
	return 0;
}

/* A caller waiting for one call of its own: what it finished with. */
struct waiter {
	int done, rc;
	char id[HV_GMAIL_ID_SIZE];
	struct hv_err e;
};

static void
waiter_done(void *arg, int rc, const char *id, const struct hv_err *e)
{
	struct waiter *w = arg;

	w->done = 1;
	w->rc = rc;
	snprintf(w->id, sizeof w->id, "%s", id ? id : "");
	if (rc < 0)
		w->e = *e;
}

/* Wait for w; its outcome, its id into id (may be NULL). */
static int
waiter_wait(struct hv_gmail *g, struct waiter *w, char id[HV_GMAIL_ID_SIZE], struct hv_err *e)
{
	int r;

	if ((r = gmail_wait(g, &w->done, e)) < 0)
		return r;
	if (w->rc < 0 && e != NULL)
		*e = w->e;
	if (w->rc == 0 && id != NULL)
		memcpy(id, w->id, sizeof w->id);
	return w->rc;
}

struct get_op {
	struct gmail_op op;		/* first: the pool hands it back */
	struct hv_buf url;
	struct hv_http_response resp;
	struct hv_gmail_message *m;
	char id[HV_GMAIL_ID_SIZE];
	hv_gmail_done *done;
	void *arg;
};

int
gmail_message_of(const char *account, const char *id, const char *body, size_t len,
    struct hv_gmail_message *m, struct hv_err *e)
{
	struct hv_json *j = NULL;
	struct hv_buf labels = HV_BUF_INIT(PAGE_MAX);
	const char *raw, *date;
	int r = 0;

	/* An answer that is not JSON is Google breaking the protocol. */
	if (hv_json_parse(body ? body : "", len, &j, e) < 0) {
		hv_err_wrap(e, "%s messages.get", account);
		return e->code = HV_EPROTO;
	}
	if (copy_str(m->id, sizeof m->id, j, "id") < 0 ||
	    copy_str(m->thread_id, sizeof m->thread_id, j, "threadId") < 0 ||
	    copy_str(m->history_id, sizeof m->history_id, j, "historyId") < 0)
		r = hv_err_set(e, HV_EPROTO, "%s messages.get %s: an id too long or holding a "
		    "NUL byte", account, id);
	else if ((r = gmail_labels_of(j, &labels, e)) < 0)
		hv_err_wrap(e, "%s messages.get %s", account, id);
	if (r < 0)
		goto out;
	free(m->labels);
	m->labels = hv_buf_detach(&labels, NULL);
	date = hv_json_get_str(j, "internalDate");
	m->internal_date = date ? strtoll(date, NULL, 10) : 0;
	raw = hv_json_get_str(j, "raw");
	if (raw != NULL && strlen(raw) / 4 * 3 > m->raw.max - m->raw.len)
		/* Gmail holds none so large, yet a mailbox may: nothing could
		 * upload it anywhere, so it is bad data, not a broken answer. */
		r = hv_err_set(e, HV_EDATA, "%s: message %s is larger than Gmail takes (%d bytes)",
		    account, id, HV_GMAIL_RAW_MAX);
	else if (raw == NULL || decode_raw(&m->raw, raw) < 0)
		r = hv_err_set(e, HV_EPROTO, "%s messages.get %s: no usable raw", account, id);
out:
	hv_buf_release(&labels);
	hv_json_free(j);
	return r;
}

static void
get_finish(struct gmail_op *op)
{
	struct get_op *x = (struct get_op *)op;
	int r = op->rc;

	if (r == 0)
		r = gmail_message_of(op->g->account, x->id, x->resp.body.data, x->resp.body.len,
		    x->m, &op->e);
	else if (x->resp.over)
		/* As gmail_message_of says of a raw too large. */
		r = hv_err_set(&op->e, HV_EDATA, "%s: message %s is larger than Gmail takes "
		    "(%d bytes)", op->g->account, x->id, HV_GMAIL_RAW_MAX);
	x->done(x->arg, r, x->id, &op->e);
	hv_buf_release(&x->url);
	hv_http_response_release(&x->resp);
	free(x);
}

int
hv_gmail_get_raw_start(struct hv_gmail *g, const char *id, struct hv_gmail_message *m,
    hv_gmail_done *done, void *arg, struct hv_err *e)
{
	struct get_op *x;

	if (!gmail_plain_id(id, strlen(id)))
		return hv_err_set(e, HV_EINTERNAL, "%s messages.get: bad message id", g->account);
	x = hv_xcalloc(1, sizeof *x);
	hv_buf_init(&x->url, 4096);
	gmail_url(g, &x->url, "messages/");
	hv_http_escape(&x->url, id);
	hv_buf_adds(&x->url, "?format=raw");
	hv_http_response_init(&x->resp, HV_GMAIL_RAW_MAX / 3 * 4 + 65536);
	snprintf(x->id, sizeof x->id, "%s", id);
	x->m = m;
	x->done = done;
	x->arg = arg;
	x->op.c = (struct gmail_call){ .method = "messages.get", .verb = "GET", .url = x->url.data };
	x->op.resp = &x->resp;
	x->op.finish = get_finish;
	gmail_start(g, &x->op);
	return 0;
}

int
hv_gmail_get_raw(struct hv_gmail *g, const char *id, struct hv_gmail_message *m,
    struct hv_err *e)
{
	struct waiter w = { 0 };
	int r;

	if ((r = hv_gmail_get_raw_start(g, id, m, waiter_done, &w, e)) < 0)
		return r;
	return waiter_wait(g, &w, NULL, e);
}

/* The team label's id: labels.list, then labels.create when it is
 * missing, then labels.list again when a racing creator won (409). */
struct label_op {
	struct gmail_op op;		/* first: the pool hands it back */
	struct hv_buf url, body;
	struct hv_http_response resp;
	char *name;
	enum { LABEL_LIST, LABEL_CREATE, LABEL_RELIST } stage;
	hv_gmail_done *done;
	void *arg;
};

/* The label id member of l into id: 0, or HV_EPROTO saying why not. */
static int
label_id_of(const struct hv_json *l, char id[HV_GMAIL_ID_SIZE], struct hv_err *e)
{
	size_t n;
	const char *s = hv_json_get_strn(l, "id", &n);

	id[0] = '\0';
	if (s == NULL || !gmail_label_id_ok(s, n))
		return hv_err_set(e, HV_EPROTO, "a label whose id is %s", s == NULL ? "missing" :
		    n == 0 ? "empty" : n > HV_GMAIL_ID_MAX ? "too long" : "not one hv can hold");
	memcpy(id, s, n + 1);
	return 0;
}

int
gmail_label_in(const char *body, size_t len, const char *name, char id[HV_GMAIL_ID_SIZE],
    struct hv_err *e)
{
	struct hv_json *j, *list, *l;
	const char *s;
	size_t i, n, sl;
	int r = HV_ENOINPUT;

	id[0] = '\0';
	if (hv_json_parse(body ? body : "", len, &j, e) < 0)
		return e->code = HV_EPROTO;
	list = hv_json_get(j, "labels");
	n = list ? hv_json_array_len(list) : 0;
	for (i = 0; i < n && r == HV_ENOINPUT; i++) {
		l = hv_json_array_get(list, i);
		s = hv_json_get_strn(l, "name", &sl);
		/* "a\u0000b" would pass for "a": refused, not guessed at. */
		if (s != NULL && strlen(s) != sl)
			r = hv_err_set(e, HV_EPROTO, "a label name holds a NUL byte");
		/* Gmail compares label names without regard to case. */
		else if (s != NULL && strcasecmp(s, name) == 0 && (r = label_id_of(l, id, e)) < 0)
			hv_err_wrap(e, "label '%s'", name);
		hv_json_free(l);
	}
	hv_json_free(list);
	hv_json_free(j);
	return r;
}

int
gmail_id_of(const char *body, size_t len, int plain, char id[HV_GMAIL_ID_SIZE])
{
	struct hv_json *j = NULL;
	const char *s;
	size_t n;
	int r = HV_EPROTO;

	id[0] = '\0';
	if (hv_json_parse(body ? body : "", len, &j, NULL) == 0 &&
	    (s = hv_json_get_strn(j, "id", &n)) != NULL &&
	    (plain ? gmail_plain_id(s, n) : gmail_label_id_ok(s, n))) {
		memcpy(id, s, n + 1);
		r = 0;
	}
	hv_json_free(j);
	return r;
}

static void
label_step(struct label_op *x, int stage)
{
	struct hv_json *req;

	x->stage = stage;
	hv_buf_reset(&x->url);
	gmail_url(x->op.g, &x->url, "labels");
	if (stage == LABEL_CREATE) {
		req = hv_json_object();
		hv_json_set_str(req, "name", x->name);
		hv_json_set_str(req, "labelListVisibility", "labelShow");
		hv_json_set_str(req, "messageListVisibility", "show");
		hv_buf_reset(&x->body);
		hv_json_dump(req, &x->body);
		hv_json_free(req);
		x->op.c = (struct gmail_call){ .method = "labels.create", .verb = "POST",
		    .url = x->url.data, .content_type = "application/json",
		    .body = x->body.data, .len = x->body.len };
	} else {
		x->op.c = (struct gmail_call){ .method = "labels.list", .verb = "GET",
		    .url = x->url.data };
	}
	gmail_start(x->op.g, &x->op);
}

static void
label_finish(struct gmail_op *op)
{
	struct label_op *x = (struct label_op *)op;
	char id[HV_GMAIL_ID_SIZE] = "";
	int r = op->rc;

	if (r == 0 && x->stage != LABEL_CREATE) {
		r = gmail_label_in(x->resp.body.data, x->resp.body.len, x->name, id, &op->e);
		if (r == HV_ENOINPUT && x->stage == LABEL_LIST) {
			label_step(x, LABEL_CREATE);
			return;
		}
		if (r == HV_ENOINPUT)
			r = hv_err_set(&op->e, HV_EPROTO, "%s labels.create: Google said the label "
			    "'%s' exists, and does not list it", op->g->account, x->name);
		else if (r < 0)
			hv_err_wrap(&op->e, "%s labels.list", op->g->account);
	} else if (r == 0) {
		if (gmail_id_of(x->resp.body.data, x->resp.body.len, 0, id) < 0)
			r = hv_err_set(&op->e, HV_EPROTO, "%s labels.create: no usable id "
			    "(missing, empty, too long or holding a control byte)", op->g->account);
	} else if (r == HV_EPROTO && x->stage == LABEL_CREATE && x->resp.status == 409) {
		label_step(x, LABEL_RELIST);	/* someone made it meanwhile */
		return;
	}
	x->done(x->arg, r, id, &op->e);
	hv_buf_release(&x->url);
	hv_buf_release(&x->body);
	hv_http_response_release(&x->resp);
	free(x->name);
	free(x);
}

int
hv_gmail_label_start(struct hv_gmail *g, const char *name, hv_gmail_done *done, void *arg,
    struct hv_err *e)
{
	struct label_op *x = hv_xcalloc(1, sizeof *x);

	(void)e;
	hv_buf_init(&x->url, 4096);
	hv_buf_init(&x->body, 4096);
	hv_http_response_init(&x->resp, PAGE_MAX);
	x->name = hv_xstrdup(name);
	x->done = done;
	x->arg = arg;
	x->op.resp = &x->resp;
	x->op.finish = label_finish;
	x->op.g = g;
	label_step(x, LABEL_LIST);
	return 0;
}

int
hv_gmail_label(struct hv_gmail *g, const char *name, char id[HV_GMAIL_ID_SIZE],
    struct hv_err *e)
{
	struct waiter w = { 0 };
	int r;

	if ((r = hv_gmail_label_start(g, name, waiter_done, &w, e)) < 0)
		return r;
	return waiter_wait(g, &w, id, e);
}

/*
 * The multipart/related body of an upload, around the raw message: the
 * metadata part with the labels, then the message, sent from where it
 * lies (so one message held once serves every member's upload).
 */
static int
multipart(struct hv_buf *head, struct hv_buf *tail, char boundary[40], const void *raw,
    size_t len, const char *labels)
{
	struct hv_buf json = HV_BUF_INIT(1024 * 1024);
	struct hv_json *meta;
	uint8_t rnd[16];
	int i, r;

	/* A boundary that the message itself does not contain. */
	do {
		if (hv_random(rnd, sizeof rnd, NULL) < 0)
			return HV_EINTERNAL;
		for (i = 0; i < 16; i++)
			snprintf(boundary + 2 * i, 3, "%02x", rnd[i]);
		memcpy(boundary + 32, "hvpart", 7);
	} while (memmem(raw, len, boundary, 38) != NULL);
	meta = hv_json_object();
	if ((r = gmail_id_array(meta, "labelIds", labels)) == 0)
		r = hv_json_dump(meta, &json);
	hv_json_free(meta);
	if (r == 0)
		r = hv_buf_addf(head, "--%s\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
		    "%s\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n", boundary, json.data,
		    boundary);
	if (r == 0)
		r = hv_buf_addf(tail, "\r\n--%s--\r\n", boundary);
	hv_buf_release(&json);
	return r;
}

struct upload_op {
	struct gmail_op op;		/* first: the pool hands it back */
	struct hv_buf url, head, tail, type;
	struct hv_http_part parts[3];
	struct hv_http_response resp;
	const void *raw;		/* borrowed until done */
	size_t len;
	char *labels;
	hv_gmail_done *done;
	void *arg;
};

static int
upload_prepare(struct gmail_op *op, struct hv_err *e)
{
	struct upload_op *x = (struct upload_op *)op;
	char boundary[40];
	int r;

	if (x->len > HV_GMAIL_RAW_MAX)
		return hv_err_set(e, HV_EDATA, "%s: message of %zu bytes is larger than Gmail "
		    "takes (%d bytes)", op->g->account, x->len, HV_GMAIL_RAW_MAX);
	if ((r = multipart(&x->head, &x->tail, boundary, x->raw, x->len, x->labels)) < 0)
		return hv_err_set(e, r, "label ids '%.100s' are not Gmail's", x->labels);
	hv_buf_addf(&x->type, "multipart/related; boundary=%s", boundary);
	x->parts[0] = (struct hv_http_part){ x->head.data, x->head.len };
	x->parts[1] = (struct hv_http_part){ x->raw, x->len };
	x->parts[2] = (struct hv_http_part){ x->tail.data, x->tail.len };
	op->c.content_type = x->type.data;
	op->c.parts = x->parts;
	op->c.nparts = 3;
	return 0;
}

static void
upload_finish(struct gmail_op *op)
{
	struct upload_op *x = (struct upload_op *)op;
	char id[HV_GMAIL_ID_SIZE] = "";
	int r = op->rc;

	if (r == 0 && gmail_id_of(x->resp.body.data, x->resp.body.len, 1, id) < 0)
		r = hv_err_set(&op->e, HV_EPROTO, "%s %s: answer without an id", op->g->account,
		    op->c.method);
	else if (r == HV_EPROTO && x->resp.status == 413)
		/* No retry will change Google's mind about the size. */
		r = hv_err_set(&op->e, HV_EDATA, "%s %s: Google refused a message of %zu bytes "
		    "as too large", op->g->account, op->c.method, x->len);
	x->done(x->arg, r, id, &op->e);
	hv_buf_release(&x->url);
	hv_buf_release(&x->head);
	hv_buf_release(&x->tail);
	hv_buf_release(&x->type);
	hv_http_response_release(&x->resp);
	free(x->labels);
	free(x);
}

int
hv_gmail_upload_start(struct hv_gmail *g, const void *raw, size_t len, const char *labels,
    int use_import, hv_gmail_done *done, void *arg, struct hv_err *e)
{
	struct upload_op *x;

	/* A large message goes where a broken link costs only the rest. */
	if (g->cfg->google.resumable_above > 0 && len > (size_t)g->cfg->google.resumable_above)
		return gmail_resumable_start(g, raw, len, labels, use_import, done, arg, e);
	x = hv_xcalloc(1, sizeof *x);
	hv_buf_init(&x->url, 4096);
	hv_buf_init(&x->head, 16384);
	hv_buf_init(&x->tail, 128);
	hv_buf_init(&x->type, 128);
	hv_http_response_init(&x->resp, 64 * 1024);
	hv_buf_addf(&x->url, "%s/upload/gmail/v1/users/%s/messages%s?uploadType=multipart"
	    "&internalDateSource=dateHeader%s", g->cfg->google.api, g->user,
	    use_import ? "/import" : "", use_import ? "&neverMarkSpam=true" : "");
	x->raw = raw;
	x->len = len;
	x->labels = hv_xstrdup(labels);
	x->done = done;
	x->arg = arg;
	x->op.c = (struct gmail_call){ .method = use_import ? "messages.import" :
	    "messages.insert", .verb = "POST", .url = x->url.data };
	x->op.resp = &x->resp;
	x->op.prepare = upload_prepare;
	x->op.finish = upload_finish;
	gmail_start(g, &x->op);
	return 0;
}

int
hv_gmail_upload(struct hv_gmail *g, const void *raw, size_t len, const char *labels,
    int use_import, char new_id[HV_GMAIL_ID_SIZE], struct hv_err *e)
{
	struct waiter w = { 0 };
	int r;

	if ((r = hv_gmail_upload_start(g, raw, len, labels, use_import, waiter_done, &w,
	    e)) < 0)
		return r;
	return waiter_wait(g, &w, new_id, e);
}
