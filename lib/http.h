/*
 * http: HTTPS requests through libcurl, under one policy.
 *
 * The only module that includes <curl/curl.h>.  Every request verifies the
 * peer's certificate and host name, asks for TLS 1.2 or later, and refuses
 * plain http:// unless the host is loopback (the local test emulator).
 * Bodies are bounded: a response larger than the caller's buffer allows is
 * HV_EPROTO, never cut silently.  Failures map onto the exit-code table
 * through hv_http_status().
 */
#ifndef HV_HTTP_H
#define HV_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct hv_http;

/*
 * A client: reuses connections between requests.  ca_file, when not NULL,
 * is the CA bundle to trust instead of the system's (tests point it at the
 * emulator's CA).  timeout is the whole-request limit in seconds.
 */
int hv_http_new(struct hv_http **h, const char *ca_file, long timeout, struct hv_err *e);
void hv_http_free(struct hv_http *h);

/* A piece of a body sent without being copied together. */
struct hv_http_part {
	const void *data;		/* borrowed */
	size_t len;
};

struct hv_http_request {
	const char *method;		/* "GET", "POST", ... */
	const char *url;
	const char *bearer;		/* an access token, or NULL */
	const char *content_type;	/* for body, or NULL */
	const void *body;		/* borrowed; NULL for none */
	size_t body_len;
	/* Or a body in pieces, sent one after the other (body is NULL then):
	 * many requests can carry one large buffer without a copy each. */
	const struct hv_http_part *parts;	/* borrowed */
	size_t nparts;
	const char *const *headers;	/* extra "Name: value" lines, NULL-ended, or NULL */
};

struct hv_http_response {
	long status;			/* HTTP status; 0 when none arrived */
	long retry_after;		/* seconds from Retry-After, or -1 */
	struct hv_buf body;		/* owned; the caller sets its cap first */
	char content_type[128];
	/* Location and Range, for resumable uploads: "" when absent or too
	 * long to hold whole (a cut URL must never be used). */
	char location[2048];
	char range[64];
	int over;			/* 1: the body went past its cap (HV_EPROTO) */
};

/* A response whose body holds at most max bytes. */
void hv_http_response_init(struct hv_http_response *r, size_t max);
void hv_http_response_release(struct hv_http_response *r);

/*
 * Perform a request and fill resp.  Returns 0 when an HTTP answer arrived,
 * whatever its status (the caller judges 4xx and 5xx from the body);
 * HV_ETEMP for a network failure or timeout, HV_EPROTO for a TLS failure
 * or an answer over the body cap, HV_ECONFIG for a URL the policy refuses.
 * Blocks until done.
 */
int hv_http_request(struct hv_http *h, const struct hv_http_request *req,
    struct hv_http_response *resp, struct hv_err *e);

/*
 * Many requests at once (lib/http_multi.c): one pool of connections for a
 * run, HTTP/2 streams multiplexed on one connection where the server
 * speaks it, under the same policy as hv_http_request.  Nothing happens
 * between calls of hv_http_multi_wait; not for use from several threads.
 */
struct hv_http_multi;

int hv_http_multi_new(struct hv_http_multi **m, const char *ca_file, long timeout,
    struct hv_err *e);
/* Transfers still running are dropped without a word to their callers. */
void hv_http_multi_free(struct hv_http_multi *m);

/* rc is what hv_http_request would have returned, e its detail. */
typedef void hv_http_done_fn(void *arg, int rc, const struct hv_err *e);

/*
 * Start req, its answer into resp.  req->body, req->parts (and what they
 * point to) and resp are borrowed until done is called (from hv_http_multi_wait or hv_http_multi_abort); the
 * rest of req is copied.  Returns 0, or as hv_http_request (then done is
 * never called).
 */
int hv_http_multi_start(struct hv_http_multi *m, const struct hv_http_request *req,
    struct hv_http_response *resp, hv_http_done_fn *done, void *arg, struct hv_err *e);

/*
 * Drive the transfers: wait at most ms for one of them to progress, or for
 * fd (when >= 0) to be readable (*fd_ready then says 1), and call done for
 * each that finished.  HV_EINTERNAL when libcurl fails.
 */
int hv_http_multi_wait(struct hv_http_multi *m, long ms, int fd, int *fd_ready,
    struct hv_err *e);

/* How many transfers are running. */
size_t hv_http_multi_running(const struct hv_http_multi *m);

/* End every running transfer now: each done gets why's code and text. */
void hv_http_multi_abort(struct hv_http_multi *m, const struct hv_err *why);

/* Append key=value, URL-encoded, to an application/x-www-form-urlencoded
 * body (with '&' when b is not empty).  Mark b secret for secret values. */
int hv_http_form_add(struct hv_buf *b, const char *key, const char *value);

/* Append s URL-encoded (RFC 3986 unreserved kept) to b. */
int hv_http_escape(struct hv_buf *b, const char *s);

/* Decode %XX and '+' of a query-string value into b: HV_EDATA when bad. */
int hv_http_unescape(struct hv_buf *b, const char *s, size_t n);

/*
 * 1 when the n bytes at v may stand in an HTTP header: no CR, LF or NUL, which
 * would end the header early and let who chose the value add headers or
 * requests of its own.  Every value from outside (a token, a Location) that
 * goes into a header is checked with it, and every request's headers again.
 */
int hv_http_header_value_ok(const char *v, size_t n);

/*
 * 1 when url is allowed by the policy (lib/url.h: https, or http on
 * loopback, no user information), read by libcurl's own URL parser, so the
 * host judged is the host a transfer would connect to.  Loads libcurl.
 */
int hv_http_url_allowed(const char *url);

/*
 * The one mapping of a libcurl result (a CURLcode) onto the table:
 *	COULDNT_RESOLVE_HOST, _PROXY		HV_ENOHOST	(68: a name to fix)
 *	URL_MALFORMAT, UNSUPPORTED_PROTOCOL	HV_ECONFIG	(78)
 *	SSL_CACERT_BADFILE			HV_ECONFIG	(78: ca_file)
 *	PEER_FAILED_VERIFICATION, SSL_*		HV_EPROTO	(76)
 *	WRITE_ERROR (an answer over its cap)	HV_EPROTO	(76)
 *	FAILED_INIT, BAD_FUNCTION_ARGUMENT	HV_EINTERNAL	(70)
 *	OUT_OF_MEMORY, anything else		HV_ETEMP	(75: connect, timeout,
 *						reset: a later run may pass)
 */
int hv_http_status(int curlcode);

#endif
