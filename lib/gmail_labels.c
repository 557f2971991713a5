#include <stdio.h>
#include <string.h>

#include "gmail.h"
#include "gmail_int.h"
#include "http.h"
#include "json.h"
#include "banned.h"

#define PAGE_MAX (16 * 1024 * 1024)


/* The items of one array of a history record, as changes of one kind. */
static int
history_items(const struct hv_json *h, const char *field, int kind, const char *hid,
    int (*fn)(const struct hv_gmail_change *c, void *arg), void *arg)
{
	struct hv_json *arr = hv_json_get(h, field), *it, *msg;
	struct hv_gmail_change c;
	char labels[1024];
	size_t i, n = arr ? hv_json_array_len(arr) : 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		it = hv_json_array_get(arr, i);
		msg = hv_json_get(it, "message");
		gmail_labels_of(it, labels, sizeof labels);
		c.kind = kind;
		c.history_id = hid;
		c.labels = labels;
		if (msg != NULL && (c.id = hv_json_get_str(msg, "id")) != NULL)
			r = fn(&c, arg);
		hv_json_free(msg);
		hv_json_free(it);
	}
	hv_json_free(arr);
	return r;
}

/* What a page of label changes goes to. */
struct changes {
	int (*fn)(const struct hv_gmail_change *c, void *arg);
	void *arg;
};

static int
history_page(const struct hv_json *j, void *arg)
{
	const struct changes *x = arg;
	struct hv_json *hist = hv_json_get(j, "history"), *h;
	size_t i, n = hist ? hv_json_array_len(hist) : 0;
	const char *hid;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		h = hv_json_array_get(hist, i);
		hid = hv_json_get_str(h, "id");
		if (hid == NULL)
			hid = "";
		if ((r = history_items(h, "labelsAdded", HV_GMAIL_LABEL_ADDED, hid, x->fn,
		    x->arg)) == 0 &&
		    (r = history_items(h, "labelsRemoved", HV_GMAIL_LABEL_REMOVED, hid, x->fn,
		    x->arg)) == 0)
			r = history_items(h, "messagesDeleted", HV_GMAIL_DELETED, hid, x->fn,
			    x->arg);
		hv_json_free(h);
	}
	hv_json_free(hist);
	return r;
}

int
hv_gmail_history_labels(struct hv_gmail *g, const char *start,
    int (*fn)(const struct hv_gmail_change *c, void *arg), void *arg,
    struct hv_buf *latest, struct hv_err *e)
{
	struct hv_buf base = HV_BUF_INIT(8192);
	struct changes x = { fn, arg };
	int r;

	gmail_url(g, &base, "history?historyTypes=labelAdded&historyTypes=labelRemoved"
	    "&historyTypes=messageDeleted&maxResults=500&startHistoryId=");
	hv_http_escape(&base, start);
	r = gmail_pages(g, "history.list", base.data, history_page, &x, latest, e);
	if (r == HV_ENOINPUT)
		hv_err_wrap(e, "label history from %s has expired", start);
	hv_buf_release(&base);
	return r;
}

int
hv_gmail_labels(struct hv_gmail *g, int (*fn)(const char *id, const char *name, void *arg),
    void *arg, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	struct hv_json *j, *list, *l;
	const char *id, *name;
	size_t i, n;
	int r;

	gmail_url(g, &url, "labels");
	if ((r = gmail_get_json(g, "labels.list", url.data, &j, PAGE_MAX, e)) == 0) {
		list = hv_json_get(j, "labels");
		n = list ? hv_json_array_len(list) : 0;
		for (i = 0; i < n && r == 0; i++) {
			l = hv_json_array_get(list, i);
			if ((id = hv_json_get_str(l, "id")) != NULL &&
			    (name = hv_json_get_str(l, "name")) != NULL)
				r = fn(id, name, arg);
			hv_json_free(l);
		}
		hv_json_free(list);
	}
	hv_json_free(j);
	hv_buf_release(&url);
	return r;
}

static int
post_json(struct hv_gmail *g, const char *method, const char *url, const struct hv_buf *body,
    struct hv_err *e)
{
	struct hv_http_response resp;
	struct gmail_call c = { .method = method, .verb = "POST", .url = url,
	    .content_type = "application/json", .body = body->data, .len = body->len };
	int r;

	hv_http_response_init(&resp, 1024 * 1024);
	r = gmail_call(g, &c, &resp, e);
	hv_http_response_release(&resp);
	return r;
}

int
hv_gmail_modify(struct hv_gmail *g, const char *id, const char *add, const char *remove,
    struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), body = HV_BUF_INIT(64 * 1024);
	int r;

	if (!gmail_plain_id(id, strlen(id)))
		return hv_err_set(e, HV_EINTERNAL, "bad message id '%s'", id);
	gmail_url(g, &url, "messages/");
	hv_buf_addf(&url, "%s/modify", id);
	if ((r = hv_buf_adds(&body, "{")) < 0 || (r = gmail_id_array(&body, "addLabelIds", add)) < 0 ||
	    (r = hv_buf_adds(&body, ",")) < 0 ||
	    (r = gmail_id_array(&body, "removeLabelIds", remove)) < 0 || (r = hv_buf_adds(&body, "}")) < 0)
		r = hv_err_set(e, HV_EINTERNAL, "messages.modify: bad label list");
	else
		r = post_json(g, "messages.modify", url.data, &body, e);
	hv_buf_release(&url);
	hv_buf_release(&body);
	return r;
}

int
hv_gmail_batch_modify(struct hv_gmail *g, const char *const *ids, size_t n, const char *add,
    const char *remove, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), body = HV_BUF_INIT(256 * 1024);
	size_t i;
	int r = 0;

	if (n == 0 || n > HV_GMAIL_BATCH_IDS)
		return hv_err_set(e, HV_EINTERNAL, "messages.batchModify of %zu ids", n);
	hv_buf_adds(&body, "{\"ids\":[");
	for (i = 0; i < n && r == 0; i++) {
		if (!gmail_plain_id(ids[i], strlen(ids[i])))
			r = HV_EINTERNAL;
		else if (hv_buf_addf(&body, "%s\"%s\"", i ? "," : "", ids[i]) < 0)
			r = HV_EDATA;
	}
	if (r == 0 && ((r = hv_buf_adds(&body, "],")) < 0 ||
	    (r = gmail_id_array(&body, "addLabelIds", add)) < 0 || (r = hv_buf_adds(&body, ",")) < 0 ||
	    (r = gmail_id_array(&body, "removeLabelIds", remove)) < 0 || (r = hv_buf_adds(&body, "}")) < 0))
		r = HV_EINTERNAL;
	if (r < 0) {
		r = hv_err_set(e, HV_EINTERNAL, "messages.batchModify: bad id list");
	} else {
		gmail_url(g, &url, "messages/batchModify");
		r = post_json(g, "messages.batchModify", url.data, &body, e);
	}
	hv_buf_release(&url);
	hv_buf_release(&body);
	return r;
}

int
hv_gmail_label_create(struct hv_gmail *g, const char *name, char id[64], struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), body = HV_BUF_INIT(4096);
	struct hv_http_response resp;
	struct hv_json *j = NULL, *req = hv_json_object();
	struct gmail_call c = { .method = "labels.create", .verb = "POST",
	    .content_type = "application/json" };
	const char *s;
	int r;

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
	if (r == 0 && hv_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, &j,
	    e) == 0 && (s = hv_json_get_str(j, "id")) != NULL && strlen(s) < 64)
		memcpy(id, s, strlen(s) + 1);
	else if (r == 0)
		r = hv_err_set(e, HV_EPROTO, "%s labels.create: no id", g->account);
	else if (r == HV_EPROTO && resp.status == 409)
		r = hv_gmail_label(g, name, id, e);	/* made meanwhile: find it */
	hv_http_response_release(&resp);
	hv_json_free(j);
	hv_json_free(req);
	hv_buf_release(&url);
	hv_buf_release(&body);
	return r;
}
