#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"
#include "gmail.h"
#include "gmail_int.h"
#include "http.h"
#include "json.h"
#include "mem.h"
#include "banned.h"

#define PAGE_MAX (16 * 1024 * 1024)
#define ATTEMPTS 7
#define BUDGET 300		/* seconds of retrying one call before giving up */
#define TIMEOUT 120		/* seconds for one request, upload included */

/* HV_TEST_HTTP_TIMEOUT shortens the wait for an answer that never comes,
 * so tests of stalled answers run in seconds. */
static long
request_timeout(void)
{
	const char *s = getenv("HV_TEST_HTTP_TIMEOUT");
	char *end;
	long t;

	if (s == NULL || *s == '\0')
		return TIMEOUT;
	t = strtol(s, &end, 10);
	return *end == '\0' && t > 0 && t < TIMEOUT ? t : TIMEOUT;
}

int
hv_gmail_new(struct hv_gmail **out, const struct hv_config *c, struct hv_auth *auth,
    const char *account, struct hv_err *e)
{
	struct hv_gmail *g = hv_xcalloc(1, sizeof *g);
	struct hv_buf user = HV_BUF_INIT(1024);
	int r;

	*out = NULL;
	g->cfg = c;
	g->auth = auth;
	g->account = hv_xstrdup(account);
	hv_buf_init_secret(&g->token, 8192);
	hv_http_escape(&user, account);
	g->user = hv_buf_detach(&user, NULL);
	if ((r = hv_quota_init(&g->quota, c->google.quota, e)) < 0 ||
	    (r = hv_http_new(&g->http, c->google.ca_file, request_timeout(), e)) < 0) {
		hv_gmail_free(g);
		return r;
	}
	*out = g;
	return 0;
}

void
hv_gmail_free(struct hv_gmail *g)
{
	if (g == NULL)
		return;
	hv_http_free(g->http);
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

static double
now_s(void)
{
	return (double)hv_now_us() / 1e6;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Google's error body: its reason and message, when it is one. */
static void
google_error(const struct hv_buf *body, char *reason, size_t rmax, char *msg, size_t mmax)
{
	struct hv_json *j = NULL, *err = NULL, *list = NULL, *first = NULL;
	const char *s;

	reason[0] = msg[0] = '\0';
	if (hv_json_parse(body->data ? body->data : "", body->len, &j, NULL) < 0)
		return;
	if ((err = hv_json_get(j, "error")) != NULL) {
		if ((s = hv_json_get_str(err, "message")) != NULL)
			snprintf(msg, mmax, "%s", s);
		if ((list = hv_json_get(err, "errors")) != NULL &&
		    (first = hv_json_array_get(list, 0)) != NULL &&
		    (s = hv_json_get_str(first, "reason")) != NULL)
			snprintf(reason, rmax, "%s", s);
	}
	hv_json_free(first);
	hv_json_free(list);
	hv_json_free(err);
	hv_json_free(j);
}

static int
retryable(long status, const char *reason)
{
	return status == 429 || status >= 500 ||
	    (status == 403 && (strcmp(reason, "rateLimitExceeded") == 0 ||
	    strcmp(reason, "userRateLimitExceeded") == 0));
}

/* Backoff for attempt n (from 0): 0.5 s doubling to 32 s, jittered by half. */
static double
backoff(int n, long retry_after)
{
	uint8_t r;
	double base = 0.5 * (double)(1 << (n < 6 ? n : 6));

	if (retry_after >= 0)
		return retry_after > 60 ? 60 : (double)retry_after;
	if (hv_random(&r, 1, NULL) < 0)
		r = 128;
	return base * (0.5 + (double)r / 255.0);
}

int
gmail_call(struct hv_gmail *g, const struct gmail_call *c, struct hv_http_response *resp,
    struct hv_err *e)
{
	struct hv_http_request req = { 0 };
	char reason[128], msg[512];
	double start = now_s();
	int n, r;

	req.method = c->verb;
	req.url = c->url;
	req.content_type = c->content_type;
	req.body = c->body;
	req.body_len = c->len;
	for (n = 0; ; n++) {
		/* A token endpoint that is busy or out of reach is tried again
		 * like the call itself; one that refuses ends it. */
		if (g->token.len == 0 && (r = hv_auth_token(g->auth, g->account, &g->token, e)) < 0) {
			hv_buf_reset(&g->token);
			if (r != HV_ETEMP)
				return r;
			goto again;
		}
		req.bearer = g->token.data;
		sleep_s(hv_quota_take(&g->quota, hv_quota_cost(&g->quota, c->method), now_s()));
		g->calls++;
		r = hv_http_request(g->http, &req, resp, e);
		if (r == 0 && resp->status >= 200 && resp->status < 300)
			return 0;
		if (r == 0) {
			google_error(&resp->body, reason, sizeof reason, msg, sizeof msg);
			if (resp->status == 401 && n == 0) {
				/* The cached token may have died early: one fresh try. */
				hv_buf_reset(&g->token);
				continue;
			}
			if (!retryable(resp->status, reason)) {
				r = resp->status == 404 ? HV_ENOINPUT :
				    resp->status == 401 || resp->status == 403 ? HV_EPERM :
				    HV_EPROTO;
				return hv_err_set(e, r, "%s %s: HTTP %ld: %s", g->account, c->method,
				    resp->status, msg[0] ? msg : "no message");
			}
			hv_err_set(e, HV_ETEMP, "%s %s: HTTP %ld: %s", g->account, c->method,
			    resp->status, msg[0] ? msg : "no message");
		} else if (r != HV_ETEMP) {
			return r;
		}
again:
		if (n + 1 >= ATTEMPTS || now_s() - start > BUDGET)
			return hv_err_wrap(e, "giving up after %d tries", n + 1);
		sleep_s(backoff(n, r == 0 ? resp->retry_after : -1));
	}
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
	struct gmail_call c = { method, "GET", url, NULL, NULL, 0 };
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

/* Ids Gmail hands out (message ids, label ids) are plain tokens; anything
 * else would break the JSON bodies built below. */
int
gmail_plain_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 100)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* A space-separated list of ids as a JSON array member: "key":["a","b"]. */
int
gmail_id_array(struct hv_buf *b, const char *key, const char *list)
{
	const char *p = list ? list : "";
	size_t n;
	int first = 1;

	if (hv_buf_addf(b, "\"%s\":[", key) < 0)
		return HV_EDATA;
	while (*p) {
		while (*p == ' ')
			p++;
		if ((n = strcspn(p, " ")) == 0)
			break;
		if (!gmail_plain_id(p, n))
			return HV_EINTERNAL;
		if (hv_buf_addf(b, "%s\"%.*s\"", first ? "" : ",", (int)n, p) < 0)
			return HV_EDATA;
		first = 0;
		p += n;
	}
	return hv_buf_adds(b, "]") < 0 ? HV_EDATA : 0;
}

void
gmail_labels_of(const struct hv_json *msg, char *out, size_t max)
{
	struct hv_json *l = hv_json_get(msg, "labelIds"), *it;
	size_t i, n = l ? hv_json_array_len(l) : 0, len = 0;
	const char *s;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		it = hv_json_array_get(l, i);
		if ((s = hv_json_str(it)) != NULL && len + strlen(s) + 2 < max)
			len += (size_t)snprintf(out + len, max - len, "%s%s", len ? " " : "", s);
		hv_json_free(it);
	}
	hv_json_free(l);
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
};

/* messagesAdded of a history page: each message's id and labels. */
static int
added_page(const struct hv_json *j, void *arg)
{
	const struct ids *x = arg;
	struct hv_json *hist = hv_json_get(j, "history"), *h, *added, *a, *msg;
	char labels[1024];
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
			    (s = hv_json_get_str(msg, "id")) != NULL) {
				gmail_labels_of(msg, labels, sizeof labels);
				r = x->fn(s, labels, x->arg);
			}
			hv_json_free(msg);
			hv_json_free(a);
		}
		hv_json_free(added);
		hv_json_free(h);
	}
	hv_json_free(hist);
	return r;
}

int
hv_gmail_history(struct hv_gmail *g, const char *start, const char *label,
    int (*fn)(const char *id, const char *labels, void *arg), void *arg,
    struct hv_buf *latest, struct hv_err *e)
{
	struct hv_buf base = HV_BUF_INIT(8192);
	struct ids x = { fn, arg };
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
		if ((s = hv_json_get_str(m, "id")) != NULL)
			r = x->fn(s, "", x->arg);
		hv_json_free(m);
	}
	hv_json_free(list);
	return r;
}

int
hv_gmail_list(struct hv_gmail *g, const char *query, const char *label,
    int (*fn)(const char *id, const char *labels, void *arg), void *arg,
    struct hv_err *e)
{
	struct hv_buf base = HV_BUF_INIT(8192);
	struct ids x = { fn, arg };
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
}

static void
copy_str(char *out, size_t max, const struct hv_json *j, const char *key)
{
	const char *s = hv_json_get_str(j, key);

	snprintf(out, max, "%s", s ? s : "");
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

int
hv_gmail_get_raw(struct hv_gmail *g, const char *id, struct hv_gmail_message *m,
    struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	struct hv_json *j;
	const char *raw, *date;
	int r;

	gmail_url(g, &url, "messages/");
	hv_http_escape(&url, id);
	hv_buf_adds(&url, "?format=raw");
	r = gmail_get_json(g, "messages.get", url.data, &j, HV_GMAIL_RAW_MAX / 3 * 4 + 65536, e);
	if (r == 0) {
		copy_str(m->id, sizeof m->id, j, "id");
		copy_str(m->thread_id, sizeof m->thread_id, j, "threadId");
		copy_str(m->history_id, sizeof m->history_id, j, "historyId");
		gmail_labels_of(j, m->labels, sizeof m->labels);
		date = hv_json_get_str(j, "internalDate");
		m->internal_date = date ? strtoll(date, NULL, 10) : 0;
		if ((raw = hv_json_get_str(j, "raw")) == NULL || decode_raw(&m->raw, raw) < 0)
			r = hv_err_set(e, HV_EPROTO, "%s messages.get %s: no usable raw", g->account,
			    id);
	}
	hv_json_free(j);
	hv_buf_release(&url);
	return r;
}

static int
find_label(struct hv_gmail *g, const char *name, char id[64], struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	struct hv_json *j, *list, *l;
	const char *s;
	size_t i, n;
	int r;

	gmail_url(g, &url, "labels");
	if ((r = gmail_get_json(g, "labels.list", url.data, &j, PAGE_MAX, e)) < 0)
		goto out;
	list = hv_json_get(j, "labels");
	n = list ? hv_json_array_len(list) : 0;
	r = HV_ENOINPUT;
	for (i = 0; i < n && r == HV_ENOINPUT; i++) {
		l = hv_json_array_get(list, i);
		/* Gmail compares label names without regard to case. */
		if ((s = hv_json_get_str(l, "name")) != NULL && strcasecmp(s, name) == 0) {
			copy_str(id, 64, l, "id");
			r = 0;
		}
		hv_json_free(l);
	}
	hv_json_free(list);
	hv_json_free(j);
out:
	hv_buf_release(&url);
	return r;
}

int
hv_gmail_label(struct hv_gmail *g, const char *name, char id[64], struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), body = HV_BUF_INIT(4096);
	struct hv_http_response resp;
	struct hv_json *j = NULL, *req = hv_json_object();
	struct gmail_call c = { "labels.create", "POST", NULL, "application/json", NULL, 0 };
	int r;

	if ((r = find_label(g, name, id, e)) != HV_ENOINPUT)
		goto out;
	hv_json_set_str(req, "name", name);
	hv_json_set_str(req, "labelListVisibility", "labelShow");
	hv_json_set_str(req, "messageListVisibility", "show");
	hv_json_dump(req, &body);
	gmail_url(g, &url, "labels");
	c.url = url.data;
	c.body = body.data;
	c.len = body.len;
	hv_http_response_init(&resp, 64 * 1024);
	r = gmail_call(g, &c, &resp, e);
	if (r == 0 && hv_json_parse(resp.body.data, resp.body.len, &j, e) == 0 &&
	    hv_json_get_str(j, "id") != NULL)
		copy_str(id, 64, j, "id");
	else if (r == 0)
		r = hv_err_set(e, HV_EPROTO, "%s labels.create: no id", g->account);
	else if (r == HV_EPROTO && resp.status == 409)
		r = find_label(g, name, id, e);	/* someone made it meanwhile */
	hv_http_response_release(&resp);
out:
	hv_json_free(j);
	hv_json_free(req);
	hv_buf_release(&url);
	hv_buf_release(&body);
	return r;
}

static int
multipart(struct hv_buf *body, char boundary[40], const void *raw, size_t len,
    const char *labels)
{
	struct hv_buf json = HV_BUF_INIT(8192);
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
	if ((r = hv_buf_add(&json, "{", 1)) == 0 &&
	    (r = gmail_id_array(&json, "labelIds", labels)) == 0)
		r = hv_buf_add(&json, "}", 1);
	if (r == 0)
		r = hv_buf_addf(body, "--%s\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
		    "%s\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n", boundary, json.data,
		    boundary);
	if (r == 0)
		r = hv_buf_add(body, raw, len);
	if (r == 0)
		r = hv_buf_addf(body, "\r\n--%s--\r\n", boundary);
	hv_buf_release(&json);
	return r;
}

int
hv_gmail_upload(struct hv_gmail *g, const void *raw, size_t len, const char *labels,
    int use_import, char new_id[64], struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), body, type = HV_BUF_INIT(128);
	struct hv_http_response resp;
	struct hv_json *j = NULL;
	char boundary[40];
	struct gmail_call c = { use_import ? "messages.import" : "messages.insert", "POST", NULL,
	    NULL, NULL, 0 };
	int r;

	hv_buf_init_secret(&body, HV_GMAIL_RAW_MAX + 65536);
	hv_http_response_init(&resp, 64 * 1024);
	if ((r = multipart(&body, boundary, raw, len, labels)) < 0) {
		if (r == HV_EDATA)
			hv_err_set(e, r, "message too large to upload (%zu bytes)", len);
		else
			hv_err_set(e, r, "label ids '%.100s' are not Gmail's", labels);
		goto out;
	}
	hv_buf_addf(&type, "multipart/related; boundary=%s", boundary);
	hv_buf_addf(&url, "%s/upload/gmail/v1/users/%s/messages%s?uploadType=multipart"
	    "&internalDateSource=dateHeader%s", g->cfg->google.api, g->user,
	    use_import ? "/import" : "", use_import ? "&neverMarkSpam=true" : "");
	c.url = url.data;
	c.content_type = type.data;
	c.body = body.data;
	c.len = body.len;
	if ((r = gmail_call(g, &c, &resp, e)) < 0)
		goto out;
	if (hv_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, &j, e) < 0 ||
	    hv_json_get_str(j, "id") == NULL)
		r = hv_err_set(e, HV_EPROTO, "%s %s: answer without an id", g->account, c.method);
	else
		copy_str(new_id, 64, j, "id");
out:
	hv_json_free(j);
	hv_http_response_release(&resp);
	hv_buf_release(&url);
	hv_buf_release(&body);
	hv_buf_release(&type);
	return r;
}
