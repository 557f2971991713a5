#include <string.h>

#include "directory.h"
#include "json.h"
#include "banned.h"

#define PAGE_MAX (8 * 1024 * 1024)

static int
page_url(struct hv_buf *url, const char *base, const char *domain, const char *group,
    const char *page)
{
	int r;

	if (group != NULL) {
		r = hv_buf_addf(url, "%s/admin/directory/v1/groups/", base);
		r |= hv_http_escape(url, group);
		/* Nested groups count: their users are the team's too. */
		r |= hv_buf_adds(url, "/members?maxResults=200&includeDerivedMembership=true");
	} else {
		r = hv_buf_addf(url, "%s/admin/directory/v1/users?maxResults=500&domain=", base);
		r |= hv_http_escape(url, domain);
	}
	if (page != NULL) {
		r |= hv_buf_adds(url, "&pageToken=");
		r |= hv_http_escape(url, page);
	}
	return r ? HV_EDATA : 0;
}

static int
api_error(long status, const struct hv_buf *body, struct hv_err *e)
{
	struct hv_json *j = NULL, *err = NULL;
	const char *msg = NULL;
	int code = status == 429 || status >= 500 ? HV_ETEMP :
	    status == 401 || status == 403 ? HV_EPERM :
	    status == 404 ? HV_ENOINPUT : HV_EPROTO;

	if (hv_json_parse(body->data ? body->data : "", body->len, &j, NULL) == 0 &&
	    (err = hv_json_get(j, "error")) != NULL)
		msg = hv_json_get_str(err, "message");
	hv_err_set(e, code, "directory: HTTP %ld: %s", status, msg ? msg : "no message");
	hv_json_free(err);
	hv_json_free(j);
	return code;
}

static const char *
str_or(const struct hv_json *j, const char *key, const char *dflt)
{
	const char *v = hv_json_get_str(j, key);

	return v != NULL ? v : dflt;
}

/* One page: call fn for each entry, leave the next page token in next. */
static int
page_each(const struct hv_buf *body, int group, struct hv_buf *next,
    int (*fn)(const struct hv_directory_entry *, void *), void *arg, struct hv_err *e)
{
	struct hv_json *j, *list, *it;
	struct hv_directory_entry m;
	const char *tok;
	size_t i, n;
	int r;

	if ((r = hv_json_parse(body->data, body->len, &j, e)) < 0)
		return hv_err_wrap(e, "directory answer");
	list = hv_json_get(j, group ? "members" : "users");
	n = list ? hv_json_array_len(list) : 0;
	for (i = 0; i < n && r == 0; i++) {
		it = hv_json_array_get(list, i);
		m.email = hv_json_get_str(it, group ? "email" : "primaryEmail");
		m.id = str_or(it, "id", "");
		m.type = group ? str_or(it, "type", "") : "USER";
		m.status = str_or(it, "status", "");
		/* Only a CUSTOMER member goes without an address. */
		if (m.email != NULL || strcmp(m.type, "CUSTOMER") == 0)
			r = fn(&m, arg);
		hv_json_free(it);
	}
	hv_buf_reset(next);
	if (r == 0 && (tok = hv_json_get_str(j, "nextPageToken")) != NULL && *tok)
		hv_buf_adds(next, tok);
	hv_json_free(list);
	hv_json_free(j);
	return r;
}

int
hv_directory_list(struct hv_http *h, const char *base, const char *token,
    const char *domain, const char *group,
    int (*fn)(const struct hv_directory_entry *m, void *arg), void *arg,
    struct hv_err *e)
{
	struct hv_http_request req = { 0 };
	struct hv_http_response resp;
	struct hv_buf url = HV_BUF_INIT(4096), next = HV_BUF_INIT(4096);
	int r, pages = 0;

	hv_http_response_init(&resp, PAGE_MAX);
	req.method = "GET";
	req.bearer = token;
	do {
		hv_buf_reset(&url);
		if (page_url(&url, base, domain, group, pages ? next.data : NULL) < 0) {
			r = hv_err_set(e, HV_EDATA, "directory URL too long");
			break;
		}
		req.url = url.data;
		if ((r = hv_http_request(h, &req, &resp, e)) < 0)
			break;
		if (resp.status != 200) {
			r = api_error(resp.status, &resp.body, e);
			break;
		}
		r = page_each(&resp.body, group != NULL, &next, fn, arg, e);
		pages++;
	} while (r == 0 && next.len > 0 && pages < 10000);
	hv_http_response_release(&resp);
	hv_buf_release(&url);
	hv_buf_release(&next);
	return r;
}
