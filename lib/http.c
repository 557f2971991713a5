#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_curl.h"
#include "mem.h"
#include "url.h"
#include "banned.h"

struct hv_http {
	CURL *curl;
	struct http_policy policy;
	struct http_reader reader;
	char errbuf[CURL_ERROR_SIZE];
};

int
hv_http_new(struct hv_http **out, const char *ca_file, long timeout, struct hv_err *e)
{
	struct hv_http *h;

	*out = NULL;
	if (hv_curl_load(e) < 0)
		return e != NULL ? e->code : HV_EUNAVAIL;
	h = hv_xcalloc(1, sizeof *h);
	if ((h->curl = curl_easy_init()) == NULL) {
		free(h);
		return hv_err_set(e, HV_ETEMP, "cannot initialise libcurl: out of memory");
	}
	http_policy_init(&h->policy, ca_file, timeout);
	*out = h;
	return 0;
}

void
hv_http_free(struct hv_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	http_policy_release(&h->policy);
	free(h);
}

void
http_policy_init(struct http_policy *p, const char *ca_file, long timeout)
{
	p->ca_file = ca_file ? hv_xstrdup(ca_file) : NULL;
	p->timeout = timeout > 0 ? timeout : 60;
}

void
http_policy_release(struct http_policy *p)
{
	free(p->ca_file);
	p->ca_file = NULL;
}

void
hv_http_response_init(struct hv_http_response *r, size_t max)
{
	r->status = 0;
	r->retry_after = -1;
	r->content_type[0] = '\0';
	r->location[0] = r->range[0] = '\0';
	r->over = 0;
	hv_buf_init(&r->body, max);
}

void
hv_http_response_release(struct hv_http_response *r)
{
	hv_buf_release(&r->body);
}

int
hv_http_url_allowed(const char *url)
{
	char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL, *opts = NULL;
	CURLU *u;
	int ok;

	if (hv_curl_load(NULL) < 0 || (u = curl_url()) == NULL)
		return 0;
	/* No guessing of a scheme, and no default one: the text says https. */
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_NO_PASSWORD &&
	    curl_url_get(u, CURLUPART_OPTIONS, &opts, 0) == CURLUE_NO_OPTIONS &&
	    *host != '\0' && (strcmp(scheme, "https") == 0 ||
	    (strcmp(scheme, "http") == 0 && hv_url_host_loopback(host, strlen(host))));
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(pass);
	curl_free(opts);
	curl_url_cleanup(u);
	return ok;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct hv_http_response *r = arg;

	/* Returning short makes curl fail with CURLE_WRITE_ERROR. */
	if (hv_buf_add(&r->body, p, size * n) < 0) {
		r->over = 1;
		return 0;
	}
	return size * n;
}

/* The value of a header line p (len bytes, name of nlen bytes and its
 * colon included) into out, trimmed; "" when it does not fit whole. */
static void
header_value(const char *p, size_t len, size_t nlen, char *out, size_t max)
{
	const char *v;
	size_t vlen;

	for (v = p + nlen; v < p + len && isspace((unsigned char)*v); v++)
		;
	vlen = (size_t)(p + len - v);
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (vlen >= max)
		vlen = 0;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hv_http_response *r = arg;
	size_t len = size * n, vlen;
	char *v;

	/* A new answer (a 100 or a redirect's) starts over. */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
		r->location[0] = r->range[0] = '\0';

	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		r->retry_after = strtol(p + 12, &v, 10);
		if (v == p + 12 || r->retry_after < 0)
			r->retry_after = -1;
	} else if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
		for (v = p + 13; v < p + len && isspace((unsigned char)*v); v++)
			;
		vlen = (size_t)(p + len - v);
		while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
			vlen--;
		if (vlen >= sizeof r->content_type)
			vlen = sizeof r->content_type - 1;
		memcpy(r->content_type, v, vlen);
		r->content_type[vlen] = '\0';
	} else if (len > 9 && strncasecmp(p, "location:", 9) == 0) {
		header_value(p, len, 9, r->location, sizeof r->location);
	} else if (len > 6 && strncasecmp(p, "range:", 6) == 0) {
		header_value(p, len, 6, r->range, sizeof r->range);
	}
	return len;
}

static size_t
on_read(char *out, size_t size, size_t n, void *arg)
{
	struct http_reader *rd = arg;
	size_t room = size * n, got = 0, k;

	while (got < room && rd->part < rd->nparts) {
		k = rd->parts[rd->part].len - rd->off;
		if (k > room - got)
			k = room - got;
		memcpy(out + got, (const char *)rd->parts[rd->part].data + rd->off, k);
		got += k;
		rd->off += k;
		if (rd->off == rd->parts[rd->part].len) {
			rd->part++;
			rd->off = 0;
		}
	}
	return got;
}

/* libcurl sends a body again from its start (a stream refused, say). */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct http_reader *rd = arg;

	if (offset != 0 || origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	rd->part = rd->off = 0;
	return CURL_SEEKFUNC_OK;
}

/* Header lists may carry a token: wipe them before libcurl frees them. */
static void
slist_free_wiped(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		hv_wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

int
hv_http_header_value_ok(const char *v, size_t n)
{
	return memchr(v, '\r', n) == NULL && memchr(v, '\n', n) == NULL &&
	    memchr(v, '\0', n) == NULL;
}

static int
header_ok(const char *v)
{
	return hv_http_header_value_ok(v, strlen(v));
}

/* The request's header list; HV_EDATA when a value could split a header. */
static int
build_headers(const struct hv_http_request *req, struct curl_slist **out,
    struct hv_err *e)
{
	struct curl_slist *l = NULL;
	struct hv_buf b;
	size_t i;

	*out = NULL;
	if ((req->bearer != NULL && !header_ok(req->bearer)) ||
	    (req->content_type != NULL && !header_ok(req->content_type)))
		return hv_err_set(e, HV_EDATA, "%s %s: a header value holds CR or LF",
		    req->method, req->url);
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		if (!header_ok(req->headers[i]))
			return hv_err_set(e, HV_EDATA, "%s %s: a header value holds CR or LF",
			    req->method, req->url);
	if (req->bearer != NULL) {
		hv_buf_init_secret(&b, 8192);
		if (hv_buf_addf(&b, "Authorization: Bearer %s", req->bearer) == 0)
			l = curl_slist_append(l, b.data);
		hv_buf_release(&b);
	}
	if (req->content_type != NULL) {
		hv_buf_init(&b, 512);
		if (hv_buf_addf(&b, "Content-Type: %s", req->content_type) == 0)
			l = curl_slist_append(l, b.data);
		hv_buf_release(&b);
	}
	/* curl adds "Expect: 100-continue" to large POSTs; Google needs none. */
	l = curl_slist_append(l, "Expect:");
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		l = curl_slist_append(l, req->headers[i]);
	*out = l;
	return 0;
}

int
hv_http_status(int curlcode)
{
	switch ((CURLcode)curlcode) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HV_ENOHOST;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_SSL_CACERT_BADFILE:
		return HV_ECONFIG;
	case CURLE_WRITE_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
		return HV_EPROTO;
	case CURLE_FAILED_INIT:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return HV_EINTERNAL;
	default:
		return HV_ETEMP;
	}
}

int
http_curl_error(CURLcode c, const char *errbuf, const char *method, const char *url,
    struct hv_err *e)
{
	int errnum = errno;
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);
	int r = hv_http_status(c);

	/* libcurl says "error setting certificate file" of a CA bundle it
	 * could not open for want of a descriptor, too: that one passes. */
	if (c == CURLE_SSL_CACERT_BADFILE && hv_status_errno(errnum, r) == HV_ETEMP)
		r = HV_ETEMP;

	if (c == CURLE_WRITE_ERROR)
		return hv_err_set(e, r, "%s %s: answer larger than expected", method, url);
	if (r == HV_EPROTO)
		return hv_err_set(e, r, "%s %s: TLS: %s", method, url, why);
	return hv_err_set(e, r, "%s %s: %s", method, url, why);
}

int
http_easy_prepare(CURL *c, const struct http_policy *p, char *errbuf,
    const struct hv_http_request *req, struct hv_http_response *resp,
    struct http_reader *rd, struct curl_slist **headers, struct hv_err *e)
{
	curl_off_t total = 0;
	size_t i;

	*headers = NULL;
	if (!hv_http_url_allowed(req->url))
		return hv_err_set(e, HV_ECONFIG, "refusing '%s': only https, or http "
		    "to a loopback test server, and no user@", req->url);
	hv_buf_reset(&resp->body);
	resp->status = 0;
	resp->retry_after = -1;
	resp->content_type[0] = '\0';
	resp->location[0] = resp->range[0] = '\0';
	resp->over = 0;
	if (build_headers(req, headers, e) < 0)
		return HV_EDATA;
	curl_easy_reset(c);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (p->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, p->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, p->timeout < 15 ? p->timeout : 15L);
	/* A peer that stops answering ends the wait long before the timeout,
	 * which must allow a large upload on a slow link. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, p->timeout < 30 ? p->timeout : 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for the connection in use to say it multiplexes, rather than
	 * open one per request. */
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hv/" HV_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (req->parts != NULL) {
		rd->parts = req->parts;
		rd->nparts = req->nparts;
		rd->part = rd->off = 0;
		for (i = 0; i < req->nparts; i++)
			total += (curl_off_t)req->parts[i].len;
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, rd);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, rd);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, total);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	return 0;
}

void
http_easy_release(CURL *c, struct curl_slist *headers)
{
	/* The handle must not keep pointers into a request's memory. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	slist_free_wiped(headers);
}

int
hv_http_request(struct hv_http *h, const struct hv_http_request *req,
    struct hv_http_response *resp, struct hv_err *e)
{
	struct curl_slist *headers;
	CURLcode rc;
	int r;

	if ((r = http_easy_prepare(h->curl, &h->policy, h->errbuf, req, resp, &h->reader,
	    &headers, e)) < 0)
		return r;
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK)
		r = http_curl_error(rc, h->errbuf, req->method, req->url, e);
	else
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	http_easy_release(h->curl, headers);
	return r;
}

int
hv_http_escape(struct hv_buf *b, const char *s)
{
	char *x;
	int r;

	if (hv_curl_load(NULL) < 0)
		return HV_EUNAVAIL;
	if ((x = curl_easy_escape(NULL, s, 0)) == NULL)
		return HV_EINTERNAL;
	r = hv_buf_adds(b, x);
	hv_wipe(x, strlen(x));
	curl_free(x);
	return r;
}

int
hv_http_form_add(struct hv_buf *b, const char *key, const char *value)
{
	if ((b->len > 0 && hv_buf_add(b, "&", 1) < 0) || hv_http_escape(b, key) < 0 ||
	    hv_buf_add(b, "=", 1) < 0 || hv_http_escape(b, value) < 0)
		return HV_EDATA;
	return 0;
}

int
hv_http_unescape(struct hv_buf *b, const char *s, size_t n)
{
	int outlen = 0, r;
	char *plus = hv_xmalloc(n + 1), *x;
	size_t i;

	/* In a query string '+' is a space; curl_easy_unescape leaves it. */
	for (i = 0; i < n; i++)
		plus[i] = s[i] == '+' ? ' ' : s[i];
	plus[n] = '\0';
	for (i = 0; i < n; i++)
		if (plus[i] == '%' && (i + 2 >= n || !isxdigit((unsigned char)plus[i + 1]) ||
		    !isxdigit((unsigned char)plus[i + 2]))) {
			free(plus);
			return HV_EDATA;
		}
	x = hv_curl_load(NULL) == 0 ? curl_easy_unescape(NULL, plus, (int)n, &outlen) : NULL;
	hv_wipe(plus, n);
	free(plus);
	if (x == NULL)
		return HV_EINTERNAL;
	r = memchr(x, '\0', (size_t)outlen) ? HV_EDATA : hv_buf_add(b, x, (size_t)outlen);
	hv_wipe(x, (size_t)outlen);
	curl_free(x);
	return r;
}
