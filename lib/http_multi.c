#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_curl.h"
#include "mem.h"
#include "banned.h"

/* One request on its way. */
struct xfer {
	CURL *easy;
	struct curl_slist *headers;
	struct hv_http_response *resp;	/* borrowed */
	struct http_reader reader;
	hv_http_done_fn *done;
	void *arg;
	char *method, *url;	/* owned, for messages */
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *next;	/* running, or free for reuse */
};

struct hv_http_multi {
	CURLM *multi;
	struct http_policy policy;
	struct xfer *running, *spare;
	size_t nrunning;
};

int
hv_http_multi_new(struct hv_http_multi **out, const char *ca_file, long timeout,
    struct hv_err *e)
{
	struct hv_http_multi *m;

	*out = NULL;
	if (hv_curl_load(e) < 0)
		return e != NULL ? e->code : HV_EUNAVAIL;
	m = hv_xcalloc(1, sizeof *m);
	if ((m->multi = curl_multi_init()) == NULL) {
		free(m);
		return hv_err_set(e, HV_ETEMP, "cannot initialise libcurl: out of memory");
	}
	curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	http_policy_init(&m->policy, ca_file, timeout);
	*out = m;
	return 0;
}

static void
xfer_free(struct xfer *x)
{
	curl_easy_cleanup(x->easy);
	free(x);
}

/* Done with x: back to the spares, its request's memory let go. */
static void
xfer_retire(struct hv_http_multi *m, struct xfer *x)
{
	struct xfer **p;

	for (p = &m->running; *p != NULL; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	m->nrunning--;
	curl_multi_remove_handle(m->multi, x->easy);
	http_easy_release(x->easy, x->headers);
	x->headers = NULL;
	free(x->method);
	free(x->url);
	x->method = x->url = NULL;
	x->next = m->spare;
	m->spare = x;
}

void
hv_http_multi_free(struct hv_http_multi *m)
{
	struct xfer *x;

	if (m == NULL)
		return;
	while ((x = m->running) != NULL)
		xfer_retire(m, x);
	while ((x = m->spare) != NULL) {
		m->spare = x->next;
		xfer_free(x);
	}
	curl_multi_cleanup(m->multi);
	http_policy_release(&m->policy);
	free(m);
}

int
hv_http_multi_start(struct hv_http_multi *m, const struct hv_http_request *req,
    struct hv_http_response *resp, hv_http_done_fn *done, void *arg, struct hv_err *e)
{
	struct xfer *x = m->spare;
	int r;

	if (x != NULL) {
		m->spare = x->next;
	} else {
		x = hv_xcalloc(1, sizeof *x);
		if ((x->easy = curl_easy_init()) == NULL) {
			free(x);
			return hv_err_set(e, HV_ETEMP, "cannot initialise libcurl: out of memory");
		}
	}
	if ((r = http_easy_prepare(x->easy, &m->policy, x->errbuf, req, resp, &x->reader,
	    &x->headers, e)) < 0) {
		http_easy_release(x->easy, x->headers);
		x->headers = NULL;
		x->next = m->spare;
		m->spare = x;
		return r;
	}
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	x->resp = resp;
	x->done = done;
	x->arg = arg;
	x->method = hv_xstrdup(req->method);
	x->url = hv_xstrdup(req->url);
	x->next = m->running;
	m->running = x;
	m->nrunning++;
	if (curl_multi_add_handle(m->multi, x->easy) != CURLM_OK) {
		xfer_retire(m, x);
		return hv_err_set(e, HV_EINTERNAL, "cannot start a request");
	}
	return 0;
}

/* Hand each finished transfer to its caller. */
static void
collect(struct hv_http_multi *m)
{
	struct hv_err e;
	struct xfer *x;
	CURLMsg *msg;
	hv_http_done_fn *done;
	void *arg, *priv;
	long status;
	int left, r;

	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		x = priv;
		memset(&e, 0, sizeof e);
		r = 0;
		if (msg->data.result != CURLE_OK)
			r = http_curl_error(msg->data.result, x->errbuf, x->method, x->url, &e);
		if (r == 0 && curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) ==
		    CURLE_OK)
			x->resp->status = status;
		done = x->done;
		arg = x->arg;
		xfer_retire(m, x);
		done(arg, r, &e);
	}
}

int
hv_http_multi_wait(struct hv_http_multi *m, long ms, int fd, int *fd_ready, struct hv_err *e)
{
	struct curl_waitfd extra = { fd, CURL_WAIT_POLLIN, 0 };
	CURLMcode mc;
	int still, n;

	if (fd_ready != NULL)
		*fd_ready = 0;
	if (ms < 0)
		ms = 0;
	if (ms > 1000000)
		ms = 1000000;
	mc = curl_multi_poll(m->multi, fd >= 0 ? &extra : NULL, fd >= 0 ? 1 : 0, (int)ms, &n);
	if (mc == CURLM_OK)
		mc = curl_multi_perform(m->multi, &still);
	/* Out of memory passes with a later run; anything else is a bug. */
	if (mc != CURLM_OK)
		return hv_err_set(e, mc == CURLM_OUT_OF_MEMORY ? HV_ETEMP : HV_EINTERNAL,
		    "libcurl: %s", curl_multi_strerror(mc));
	if (fd >= 0 && fd_ready != NULL)
		*fd_ready = (extra.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) != 0;
	collect(m);
	return 0;
}

size_t
hv_http_multi_running(const struct hv_http_multi *m)
{
	return m->nrunning;
}

void
hv_http_multi_abort(struct hv_http_multi *m, const struct hv_err *why)
{
	struct xfer *x;
	hv_http_done_fn *done;
	void *arg;

	while ((x = m->running) != NULL) {
		done = x->done;
		arg = x->arg;
		xfer_retire(m, x);
		done(arg, why->code, why);
	}
}
