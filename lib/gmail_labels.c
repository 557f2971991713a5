#include <stdio.h>
#include <string.h>

#include "gmail.h"
#include "gmail_int.h"
#include "http.h"
#include "json.h"
#include "banned.h"

#define PAGE_MAX (16 * 1024 * 1024)


/* What a page of label changes goes to. */
struct changes {
	int (*fn)(const struct hv_gmail_change *c, void *arg);
	void *arg;
	struct hv_err *e;
	struct hv_buf labels;	/* one change's label ids, however many */
};

/* The items of one array of a history record, as changes of one kind. */
static int
history_items(const struct hv_json *h, const char *field, int kind, const char *hid,
    struct changes *x)
{
	struct hv_json *arr = hv_json_get(h, field), *it, *msg;
	struct hv_gmail_change c;
	size_t i, n = arr ? hv_json_array_len(arr) : 0, len;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		it = hv_json_array_get(arr, i);
		msg = hv_json_get(it, "message");
		c.kind = kind;
		c.history_id = hid;
		if ((r = gmail_labels_of(it, &x->labels, x->e)) < 0)
			hv_err_wrap(x->e, "history %s %s", hid, field);
		c.labels = x->labels.data;
		if (r == 0 && msg != NULL && (c.id = hv_json_get_strn(msg, "id", &len)) != NULL) {
			/* The index is asked by this id: never a cut or NUL-split one. */
			if (!gmail_plain_id(c.id, len))
				r = hv_err_set(x->e, HV_EPROTO, "history %s: a message id that is "
				    "empty, too long or not a plain token", hid);
			else
				r = x->fn(&c, x->arg);
		}
		hv_json_free(msg);
		hv_json_free(it);
	}
	hv_json_free(arr);
	return r;
}

static int
history_page(const struct hv_json *j, void *arg)
{
	struct changes *x = arg;
	struct hv_json *hist = hv_json_get(j, "history"), *h;
	size_t i, n = hist ? hv_json_array_len(hist) : 0;
	const char *hid;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		h = hv_json_array_get(hist, i);
		hid = hv_json_get_str(h, "id");
		if (hid == NULL)
			hid = "";
		if ((r = history_items(h, "labelsAdded", HV_GMAIL_LABEL_ADDED, hid, x)) == 0 &&
		    (r = history_items(h, "labelsRemoved", HV_GMAIL_LABEL_REMOVED, hid, x)) == 0)
			r = history_items(h, "messagesDeleted", HV_GMAIL_DELETED, hid, x);
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
	struct changes x = { fn, arg, e, HV_BUF_INIT(PAGE_MAX) };
	int r;

	gmail_url(g, &base, "history?historyTypes=labelAdded&historyTypes=labelRemoved"
	    "&historyTypes=messageDeleted&maxResults=500&startHistoryId=");
	hv_http_escape(&base, start);
	r = gmail_pages(g, "history.list", base.data, history_page, &x, latest, e);
	if (r == HV_ENOINPUT)
		hv_err_wrap(e, "label history from %s has expired", start);
	else if (r == HV_EPROTO)
		hv_err_wrap(e, "%s history.list", g->account);
	hv_buf_release(&base);
	hv_buf_release(&x.labels);
	return r;
}

int
gmail_labels_each(const struct hv_json *j, int (*fn)(const char *id, const char *name,
    void *arg), void *arg, struct hv_err *e)
{
	struct hv_json *list = hv_json_get(j, "labels"), *l;
	const char *id, *name;
	size_t i, n = list ? hv_json_array_len(list) : 0, idn, namen;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		l = hv_json_array_get(list, i);
		id = hv_json_get_strn(l, "id", &idn);
		name = hv_json_get_strn(l, "name", &namen);
		/* A cut id or name would be taken for another label. */
		if (id == NULL || !gmail_label_id_ok(id, idn))
			r = hv_err_set(e, HV_EPROTO, "label %zu has %s id", i + 1, id == NULL ?
			    "no" : idn == 0 ? "an empty" : idn > HV_GMAIL_ID_MAX ? "too long an" :
			    "an unusable");
		else if (name == NULL || strlen(name) != namen)
			r = hv_err_set(e, HV_EPROTO, "label '%s' has %s", id, name == NULL ?
			    "no name" : "a name holding a NUL byte");
		else
			r = fn(id, name, arg);
		hv_json_free(l);
	}
	hv_json_free(list);
	return r;
}

int
hv_gmail_labels(struct hv_gmail *g, int (*fn)(const char *id, const char *name, void *arg),
    void *arg, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	struct hv_json *j;
	int r;

	gmail_url(g, &url, "labels");
	if ((r = gmail_get_json(g, "labels.list", url.data, &j, PAGE_MAX, e)) == 0 &&
	    (r = gmail_labels_each(j, fn, arg, e)) == HV_EPROTO)
		hv_err_wrap(e, "%s labels.list", g->account);
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
	struct hv_buf url = HV_BUF_INIT(4096), body = HV_BUF_INIT(1024 * 1024);
	struct hv_json *req;
	int r;

	if (!gmail_plain_id(id, strlen(id)))
		return hv_err_set(e, HV_EINTERNAL, "bad message id '%s'", id);
	gmail_url(g, &url, "messages/");
	hv_buf_addf(&url, "%s/modify", id);
	req = hv_json_object();
	if (gmail_id_array(req, "addLabelIds", add) < 0 ||
	    gmail_id_array(req, "removeLabelIds", remove) < 0 || hv_json_dump(req, &body) < 0)
		r = hv_err_set(e, HV_EINTERNAL, "messages.modify: bad label list");
	else
		r = post_json(g, "messages.modify", url.data, &body, e);
	hv_json_free(req);
	hv_buf_release(&url);
	hv_buf_release(&body);
	return r;
}

int
hv_gmail_batch_modify(struct hv_gmail *g, const char *const *ids, size_t n, const char *add,
    const char *remove, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), body = HV_BUF_INIT(2 * 1024 * 1024);
	struct hv_json *req, *list;
	size_t i;
	int r = 0;

	if (n == 0 || n > HV_GMAIL_BATCH_IDS)
		return hv_err_set(e, HV_EINTERNAL, "messages.batchModify of %zu ids", n);
	req = hv_json_object();
	list = hv_json_array();
	for (i = 0; i < n && r == 0; i++) {
		if (!gmail_plain_id(ids[i], strlen(ids[i])))
			r = HV_EINTERNAL;
		else
			hv_json_append_str(list, ids[i]);
	}
	hv_json_set(req, "ids", list);
	hv_json_free(list);
	if (r == 0 && (gmail_id_array(req, "addLabelIds", add) < 0 ||
	    gmail_id_array(req, "removeLabelIds", remove) < 0 || hv_json_dump(req, &body) < 0))
		r = HV_EINTERNAL;
	hv_json_free(req);
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
hv_gmail_label_create(struct hv_gmail *g, const char *name, char id[HV_GMAIL_ID_SIZE],
    struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), body = HV_BUF_INIT(4096);
	struct hv_http_response resp;
	struct hv_json *req = hv_json_object();
	struct gmail_call c = { .method = "labels.create", .verb = "POST",
	    .content_type = "application/json" };
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
	id[0] = '\0';
	if (r == 0 && gmail_id_of(resp.body.data, resp.body.len, 0, id) < 0)
		r = hv_err_set(e, HV_EPROTO, "%s labels.create: no usable id (missing, empty, "
		    "too long or holding a control byte)", g->account);
	else if (r == HV_EPROTO && resp.status == 409)
		r = hv_gmail_label(g, name, id, e);	/* made meanwhile: find it */
	hv_http_response_release(&resp);
	hv_json_free(req);
	hv_buf_release(&url);
	hv_buf_release(&body);
	return r;
}
