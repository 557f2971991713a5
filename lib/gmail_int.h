/*
 * gmail_int: what the Gmail module's files share (lib/gmail*.c only).
 */
#ifndef HV_GMAIL_INT_H
#define HV_GMAIL_INT_H

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "gmail.h"
#include "http.h"
#include "json.h"
#include "quota.h"

struct gmail_op;

struct hv_gmail {
	const struct hv_config *cfg;
	struct hv_auth *auth;
	struct hv_gmail_pool *pool;	/* borrowed, or owned when own_pool */
	int own_pool;
	char *account;
	char *user;		/* account, escaped for a URL path */
	struct hv_quota quota;
	struct hv_buf token;	/* secret: the access token in use */
	long calls;
	/* The pool's part: calls waiting their turn, in order, and in flight. */
	struct gmail_op *queue, *queue_tail;
	size_t inflight;
	double pause_until;	/* Google said to wait: no call before then */
	/* Closed for this run: every call ends with why (HV_EPERM, access
	 * gone; HV_ETEMP, Google asked for a wait longer than a run). */
	int closed;
	struct hv_err why;
	unsigned token_gen;	/* counts the tokens this run has used */
	int renew;		/* Google refused token: the next call renews it */
	int lockout_read;	/* a lockout left by an earlier run looked for */
	struct hv_gmail *next;	/* the pool's mailboxes */
};

struct gmail_call {
	const char *method;		/* for the quota: "messages.get" */
	const char *verb;		/* "GET", "POST" */
	const char *url;
	const char *content_type;
	const void *body;
	size_t len;
	const struct hv_http_part *parts;	/* a body in parts, instead */
	size_t nparts;
	const char *const *headers;	/* extra header lines, NULL-ended, or NULL */
};

/* What an op's answer hook tells the pool (or a negative HV_E* code: the
 * op ends with it, op->e saying why). */
enum gmail_next {
	GMAIL_JUDGE,	/* judge the answer as any call's: done, retried or failed */
	GMAIL_NEXT,	/* the hook set op->c to the op's next request: send it now,
			 * neither charged nor counted as a try */
	GMAIL_AGAIN	/* try op->c again after a backoff, as a failed try */
};

/*
 * One API call on its way through the pool (lib/gmail_pool.c).  The
 * caller fills the first part and keeps the op, c's strings and body and
 * resp alive until finish is called; the pool fills the rest.
 */
struct gmail_op {
	struct gmail_call c;
	struct hv_http_response *resp;	/* borrowed */
	/* Called once, before the first send (may be NULL): builds the body
	 * only when the call is about to go, so queued calls hold no copy. */
	int (*prepare)(struct gmail_op *op, struct hv_err *e);
	/* Called once with rc and e set: 0 with a 2xx in resp; HV_ENOINPUT
	 * for a 404; HV_EPERM for 401 and a refusing 403; HV_ETEMP when
	 * retries run out or the host is unreachable; HV_EPROTO for any
	 * other answer.  Only ever from hv_gmail_pool_step(). */
	void (*finish)(struct gmail_op *op);
	/* Called with each try's outcome before the pool judges it (may be
	 * NULL): rc < 0 when no answer came (op->e is not yet set), else
	 * the answer is in resp.  A call made of several requests (a
	 * resumable upload) steers itself here, changing op->c for the
	 * next try, and returns an enum gmail_next; one that made progress
	 * may set attempt to 0 and start to now, so the tries and the
	 * budget count what fails in a row. */
	int (*answer)(struct gmail_op *op, int rc);
	void *arg;

	struct hv_gmail *g;
	int rc;
	struct hv_err e;
	int attempt, prepared, charged, renewed, preconditions;
	unsigned token_gen;		/* of the token it was last sent with */
	double start, not_before, ready_at;
	struct gmail_op *next;
};

/*
 * Cut the value of every "upload_id=" in msg (a C string, edited in place)
 * to "...": a resumable session's URI is a key to the upload, and errors
 * that name a URL go to stderr, result lines and the audit log.
 */
void gmail_redact(char *msg);

/* The pool's list of mailboxes (lib/gmail_pool.c). */
void gmail_pool_add(struct hv_gmail_pool *p, struct hv_gmail *g);
void gmail_pool_remove(struct hv_gmail_pool *p, struct hv_gmail *g);

/* Queue op for g's mailbox; finish comes later from hv_gmail_pool_step. */
void gmail_start(struct hv_gmail *g, struct gmail_op *op);

/* Run g's pool until *done is non-zero: HV_EINTERNAL if the pool fails. */
int gmail_wait(struct hv_gmail *g, const int *done, struct hv_err *e);

/*
 * One API call, paced and retried, waited for: as gmail_op's finish says,
 * with a 2xx in resp on 0.  e names the method and why.
 */
int gmail_call(struct hv_gmail *g, const struct gmail_call *c,
    struct hv_http_response *resp, struct hv_err *e);

/* {api}/gmail/v1/users/{user}/{tail} into url. */
int gmail_url(struct hv_gmail *g, struct hv_buf *url, const char *tail);

/* A GET whose answer is JSON (at most max bytes), parsed into *j. */
int gmail_get_json(struct hv_gmail *g, const char *method, const char *url,
    struct hv_json **j, size_t max, struct hv_err *e);

/*
 * GET base (a URL with its query) page after page, following
 * nextPageToken: page() gets each answer and returns non-zero to stop,
 * which is returned.  The last historyId seen goes into latest (may be
 * NULL).
 */
int gmail_pages(struct hv_gmail *g, const char *method, const char *base,
    int (*page)(const struct hv_json *j, void *arg), void *arg, struct hv_buf *latest,
    struct hv_err *e);

/* 1 when s (n bytes, 1..HV_GMAIL_ID_MAX) is a plain token ([A-Za-z0-9_-]),
 * as message ids are: they go into URL paths. */
int gmail_plain_id(const char *s, size_t n);

/*
 * 1 when s (n bytes) can be taken as a label id: 1..HV_GMAIL_ID_MAX bytes,
 * none a NUL, a space or another control byte (hv keeps label lists
 * space-separated).  Nothing else is assumed: Google calls them opaque.
 */
int gmail_label_id_ok(const char *s, size_t n);

/*
 * The label ids of a message object, space-separated, into out (reset
 * first; "" when labelIds is absent).  HV_EPROTO, with e saying why, when
 * labelIds is not an array of label ids (gmail_label_id_ok), or out
 * cannot hold them all: never a list cut short.
 */
int gmail_labels_of(const struct hv_json *msg, struct hv_buf *out, struct hv_err *e);

/*
 * Set o's key to the JSON array of a space-separated list of label ids
 * (may be NULL or empty); HV_EINTERNAL for an id gmail_label_id_ok
 * refuses.
 */
int gmail_id_array(struct hv_json *o, const char *key, const char *list);

/*
 * Google's answers, read apart from the calls that get them, so the unit
 * test (tests/unit/gmail.c) and the fuzzer (tests/fuzz/fuzz-gmail.c)
 * reach them without a network.  body is len bytes of the answer, not a C
 * string (NULL when len is 0); none of them keeps it or blocks.
 */

/*
 * Google's error body, {"error":{"message":M,"errors":[{"reason":R},...]}}:
 * M into msg (mmax bytes) and the first error's R into reason (rmax
 * bytes), each "" when absent, not a string, or body is not JSON.  Longer
 * text is cut to fit: both only ever go into an error message.  Never
 * fails.
 */
void gmail_error_of(const char *body, size_t len, char *reason, size_t rmax, char *msg,
    size_t mmax);

/* 1 when an answer of status with reason (from gmail_error_of) is a rate
 * limit, to wait for and retry: 429, or 403 with reason rateLimitExceeded
 * or userRateLimitExceeded (not dailyLimitExceeded).  Else 0. */
int gmail_rate_limited(long status, const char *reason);

/*
 * The end of a lockout Gmail names in an error message's prose, "User-rate
 * limit exceeded.  Retry after 2023-03-07T18:18:23.688Z": the whole
 * seconds from now (seconds since the epoch) until then, plus one (the
 * fraction of a second is dropped), or 0 when that time is past.  -1 when
 * msg holds no "Retry after " followed by a time as hv_audit_parse_time
 * reads it, ending at a space, tab, quote or the end of msg.  The wait is
 * not capped here (the time can be years off): the caller caps it.
 */
long gmail_retry_after(const char *msg, double now);

/*
 * A messages.get format=raw answer into m (from hv_gmail_message_init):
 * id, threadId and historyId ("" when absent), the label ids (as
 * gmail_labels_of), internalDate (0 when absent) and raw, base64url with
 * or without padding, decoded and appended to m->raw.  0; HV_EDATA when
 * raw is larger than m->raw may hold (a message larger than Gmail
 * takes); HV_EPROTO when body is not JSON, an id or historyId does not
 * fit m or holds a NUL, the labels are refused, or raw is absent or not
 * base64url; m's other fields may be set then.
 * account and id only name the call in e, which must not be NULL.
 */
int gmail_message_of(const char *account, const char *id, const char *body, size_t len,
    struct hv_gmail_message *m, struct hv_err *e);

/*
 * The id of the first label called name (compared without regard to case,
 * as Gmail compares them) in a labels.list answer, {"labels":[{"id":I,
 * "name":N},...]}, into id.  0; HV_ENOINPUT when no label is so called,
 * or labels is absent or not an array; HV_EPROTO, with e (not NULL)
 * saying why, when body is not JSON, a label's name holds a NUL byte
 * (it would pass for a shorter name), or the label called name has no id
 * gmail_label_id_ok takes.  id is "" unless 0 is returned.
 */
int gmail_label_in(const char *body, size_t len, const char *name,
    char id[HV_GMAIL_ID_SIZE], struct hv_err *e);

/*
 * The "id" of the answer to a call that made something into id:
 * labels.create with plain 0 (the id must pass gmail_label_id_ok),
 * messages.insert and import with plain 1 (it must be a plain token,
 * gmail_plain_id, since it goes into URL paths later).  0, or HV_EPROTO
 * when body is not JSON or has no such id (empty, too long, holding a
 * NUL: refused, never cut); id is "" then.  The caller words the error.
 */
int gmail_id_of(const char *body, size_t len, int plain, char id[HV_GMAIL_ID_SIZE]);

/*
 * Each label of a parsed labels.list answer, {"labels":[{"id":I,"name":N},
 * ...]}, in order: fn gets its id and name and returns non-zero to stop,
 * which is returned.  0 when labels is absent or not an array; HV_EPROTO,
 * with e saying why, at a label without an id gmail_label_id_ok takes,
 * or without a name, or whose name holds a NUL byte (fn has had the
 * labels before it).
 */
int gmail_labels_each(const struct hv_json *j, int (*fn)(const char *id, const char *name,
    void *arg), void *arg, struct hv_err *e);

/*
 * Resumable uploads (lib/gmail_resumable.c): raw (len bytes, borrowed
 * until done is called) into g's mailbox with labels, as
 * hv_gmail_upload_start says; url_tail is the query of the initiation
 * request after uploadType=resumable ("&internalDateSource=...").
 */
int gmail_resumable_start(struct hv_gmail *g, const void *raw, size_t len,
    const char *labels, int use_import, hv_gmail_done *done, void *arg, struct hv_err *e);

/*
 * The session URI of a resumable upload, from the Location header of the
 * initiation answer (loc, n bytes, not a C string), into out: 0, or
 * HV_EPROTO when it is empty, too long, holds a byte outside printable
 * ASCII or a space, or does not lie on api's origin (scheme, host and
 * port of [google] api), so the message and the token go nowhere else.
 */
int gmail_session_url(const char *api, const char *loc, size_t n, struct hv_buf *out);

/*
 * The bytes Google acknowledged, from a 308's Range header (v, n bytes:
 * "bytes=0-N"): N + 1 into *got.  0; HV_EPROTO when v is not of that form,
 * does not start at 0, overflows, or goes past total.  An absent header
 * means nothing was received: the caller says 0 without asking here.
 */
int gmail_range_got(const char *v, size_t n, size_t total, size_t *got);

#endif
