#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "clock.h"
#include "crypto.h"
#include "gmail.h"
#include "gmail_int.h"
#include "http.h"
#include "json.h"
#include "mem.h"
#include "store.h"
#include "banned.h"

#define ATTEMPTS 7
#define BUDGET 300		/* seconds of retrying one call before giving up */
#define TIMEOUT 120		/* seconds for one request, upload included */
#define WAIT_MAX 60		/* the longest wait Google may ask of one try */
#define BREAKER_FAILS 3		/* transport failures in a row ... */
#define BREAKER_SECONDS 20	/* ... with no answer for this long: stop */
#define LOCKOUT_MAX 3600	/* the longest lockout believed: the next run asks again */
#define PRECONDITIONS 3		/* tries of a call Google answers failedPrecondition */

struct hv_gmail_pool {
	struct hv_http_multi *http;
	size_t cap;			/* calls in flight per mailbox */
	struct hv_gmail *boxes;		/* the mailboxes, borrowed */
	size_t pending;			/* ops queued or in flight */
	struct gmail_op *failed;	/* finished early, to hand back */
	/* The breaker: every call goes to one host, [google] api. */
	double last_answer;
	int fails;
	int broken;
	struct hv_err why;
};

static double
now_s(void)
{
	return (double)hv_now_us() / 1e6;
}

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
hv_gmail_pool_new(struct hv_gmail_pool **out, const struct hv_config *c, struct hv_err *e)
{
	struct hv_gmail_pool *p = hv_xcalloc(1, sizeof *p);
	int r;

	*out = NULL;
	if ((r = hv_http_multi_new(&p->http, c->google.ca_file, request_timeout(), e)) < 0) {
		free(p);
		return r;
	}
	p->cap = c->google.inflight > 0 ? (size_t)c->google.inflight : HV_CONFIG_INFLIGHT;
	p->last_answer = now_s();
	*out = p;
	return 0;
}

void
hv_gmail_pool_free(struct hv_gmail_pool *p)
{
	if (p == NULL)
		return;
	hv_http_multi_free(p->http);
	free(p);
}

size_t
hv_gmail_pool_pending(const struct hv_gmail_pool *p)
{
	return p->pending;
}

int
hv_gmail_closed(const struct hv_gmail *g)
{
	return g != NULL && g->closed;
}

int
hv_gmail_pool_broken(const struct hv_gmail_pool *p, struct hv_err *why)
{
	if (p->broken && why != NULL)
		*why = p->why;
	return p->broken;
}

void
gmail_pool_add(struct hv_gmail_pool *p, struct hv_gmail *g)
{
	g->next = p->boxes;
	p->boxes = g;
}

void
gmail_pool_remove(struct hv_gmail_pool *p, struct hv_gmail *g)
{
	struct hv_gmail **q;

	for (q = &p->boxes; *q != NULL; q = &(*q)->next)
		if (*q == g) {
			*q = g->next;
			return;
		}
}

void
gmail_error_of(const char *body, size_t len, char *reason, size_t rmax, char *msg,
    size_t mmax)
{
	struct hv_json *j = NULL, *err = NULL, *list = NULL, *first = NULL;
	const char *s;

	reason[0] = msg[0] = '\0';
	if (hv_json_parse(body ? body : "", len, &j, NULL) < 0)
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

int
gmail_rate_limited(long status, const char *reason)
{
	return status == 429 || (status == 403 && (strcmp(reason, "rateLimitExceeded") == 0 ||
	    strcmp(reason, "userRateLimitExceeded") == 0));
}

/* The fraction of a second is dropped in parsing: one more second makes
 * up for it, so a retry never goes early. */
long
gmail_retry_after(const char *msg, double now)
{
	const char *p = strstr(msg, "Retry after ");
	time_t t;

	if (p == NULL || hv_audit_parse_time(p + 12, strcspn(p + 12, " \t\"'"), &t) < 0)
		return -1;
	return (double)t > now ? (long)((double)t - now) + 1 : 0;
}

/* Backoff for attempt n (from 0): 0.5 s doubling to 32 s, jittered by half. */
static double
backoff(int n)
{
	uint8_t r;
	double base = 0.5 * (double)(1 << (n < 6 ? n : 6));

	if (hv_random(&r, 1, NULL) < 0)
		r = 128;
	return base * (0.5 + (double)r / 255.0);
}

static void
enqueue(struct hv_gmail *g, struct gmail_op *op, int front)
{
	op->next = NULL;
	if (g->queue == NULL) {
		g->queue = g->queue_tail = op;
	} else if (front) {
		op->next = g->queue;
		g->queue = op;
	} else {
		g->queue_tail->next = op;
		g->queue_tail = op;
	}
}

static void
unqueue(struct hv_gmail *g, struct gmail_op *op, struct gmail_op *prev)
{
	if (prev == NULL)
		g->queue = op->next;
	else
		prev->next = op->next;
	if (g->queue_tail == op)
		g->queue_tail = prev;
	op->next = NULL;
}

/* op is over: handed back to its caller at the end of this step. */
static void
finish_later(struct gmail_op *op, int rc)
{
	struct hv_gmail_pool *p = op->g->pool;

	op->rc = rc;
	op->next = p->failed;
	p->failed = op;
}

void
gmail_start(struct hv_gmail *g, struct gmail_op *op)
{
	op->g = g;
	op->rc = 0;
	memset(&op->e, 0, sizeof op->e);
	op->attempt = op->prepared = op->charged = op->renewed = op->preconditions = 0;
	op->start = now_s();
	op->not_before = 0;
	g->pool->pending++;
	enqueue(g, op, 0);
}

/* A try that may be repeated: later, or never when the budget is spent. */
static void
again(struct gmail_op *op, long wait)
{
	struct hv_gmail *g = op->g;
	double now = now_s(), w;

	if (++op->attempt >= ATTEMPTS || now - op->start > BUDGET) {
		hv_err_wrap(&op->e, "giving up after %d tries", op->attempt);
		finish_later(op, HV_ETEMP);
		return;
	}
	w = wait >= 0 ? (double)(wait > WAIT_MAX ? WAIT_MAX : wait) : backoff(op->attempt - 1);
	op->not_before = now + w;
	op->charged = 0;
	if (wait >= 0 && g->pause_until < op->not_before)
		g->pause_until = op->not_before;
	enqueue(g, op, 1);
}

/* t as Google writes times, to the second. */
static void
utc(char out[32], long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", t);
}

/* The mailbox is closed for this run (access gone, or Google's wait is
 * longer than the run): its other calls end with why, without a try each. */
static void
close_box(struct hv_gmail *g, const struct hv_err *why)
{
	if (g->closed)
		return;
	g->closed = 1;
	g->why = *why;
}

/*
 * Google asked for a wait past what a run can spend (a timed lockout:
 * "Retry after <time>" can be a quarter of an hour ahead).  The run
 * leaves the mailbox, and the state keeps the time so the runs to come
 * ask nothing of it before then.
 */
static void
lockout(struct hv_gmail *g, long wait, const char *msg)
{
	struct hv_store *s = hv_auth_store(g->auth);
	struct hv_err e;
	char when[32];
	long long until = hv_now() + (wait < LOCKOUT_MAX ? wait : LOCKOUT_MAX);

	utc(when, until);
	hv_err_set(&e, HV_ETEMP, "%s: Google asks hv to wait until %s (%s); nothing is lost, "
	    "the first run after that goes on", g->account, when, msg);
	if (s != NULL)
		(void)hv_store_pause_set(s, g->account, until, msg, NULL);
	close_box(g, &e);
}

/* A lockout an earlier run was told of, still running: the mailbox is
 * closed for this run without a call. */
static void
lockout_left(struct hv_gmail *g)
{
	struct hv_store *s = hv_auth_store(g->auth);
	struct hv_err e;
	long long until;
	char why[HV_ERR_MSG / 2], when[32];

	g->lockout_read = 1;
	if (s == NULL || hv_store_pause_get(s, g->account, hv_now(), &until, why, sizeof why,
	    NULL) < 0)
		return;
	utc(when, until);
	hv_err_set(&e, HV_ETEMP, "%s: Google asked hv to wait until %s (%s); nothing is lost, "
	    "the first run after that goes on", g->account, when, why);
	close_box(g, &e);
}

static void
breaker(struct hv_gmail_pool *p, const struct hv_err *e)
{
	double now = now_s();

	if (++p->fails < BREAKER_FAILS || now - p->last_answer < BREAKER_SECONDS || p->broken)
		return;
	p->broken = 1;
	hv_err_set(&p->why, HV_ETEMP, "no answer from Google for %.0f s (%s); stopping, "
	    "nothing is lost: the next run starts afresh", now - p->last_answer, e->msg);
}

void
gmail_redact(char *msg)
{
	char *p = msg;
	size_t n;

	while ((p = strstr(p, "upload_id=")) != NULL) {
		p += 10;
		n = strcspn(p, "&# :;'\")");
		if (n > 3) {
			memcpy(p, "...", 3);
			memmove(p + 3, p + n, strlen(p + n) + 1);
			n = 3;
		}
		p += n;
	}
}

static void
on_answer(void *arg, int rc, const struct hv_err *he)
{
	struct gmail_op *op = arg;
	struct hv_gmail *g = op->g;
	struct hv_gmail_pool *p = g->pool;
	long status = op->resp->status, wait;
	char reason[128], msg[512];
	struct hv_err safe;
	int next;

	g->inflight--;
	if (rc < 0) {
		/* libcurl's errors name the URL, which may be a session's. */
		safe = *he;
		gmail_redact(safe.msg);
		he = &safe;
	}
	if (op->answer != NULL && (next = op->answer(op, rc)) != GMAIL_JUDGE) {
		if (rc == 0) {
			p->last_answer = now_s();
			p->fails = 0;
		}
		if (next < 0)
			finish_later(op, next);
		else if (next == GMAIL_NEXT)
			enqueue(g, op, 1);
		else
			again(op, -1);
		return;
	}
	if (rc < 0) {
		op->e = *he;
		if (rc != HV_ETEMP || p->broken) {
			finish_later(op, p->broken ? HV_ETEMP : rc);
			return;
		}
		hv_err_wrap(&op->e, "%s %s", g->account, op->c.method);
		breaker(p, he);
		if (p->broken) {
			/* The breaker's word is the one the run ends with. */
			op->e = p->why;
			finish_later(op, HV_ETEMP);
			return;
		}
		again(op, -1);
		return;
	}
	p->last_answer = now_s();
	p->fails = 0;
	if (status >= 200 && status < 300) {
		finish_later(op, 0);
		return;
	}
	gmail_error_of(op->resp->body.data, op->resp->body.len, reason, sizeof reason, msg,
	    sizeof msg);
	if (status == 401 && (op->token_gen != g->token_gen || !op->renewed)) {
		/*
		 * A token can die before its expiry (a password change, an
		 * administrator's sign-out), and the cache would hand it out
		 * again: one try with a renewed one.  A 401 to a token already
		 * replaced says nothing of the new one.
		 */
		if (op->token_gen == g->token_gen)
			g->renew = 1;
		op->renewed = 1;
		op->charged = 0;
		enqueue(g, op, 1);
		return;
	}
	if (status == 401) {
		hv_err_set(&op->e, HV_EPERM, "HTTP 401: %s", msg[0] ? msg : "no message");
		hv_auth_refused(g->auth, g->account, op->e.msg, &op->e);
		close_box(g, &op->e);
		finish_later(op, HV_EPERM);
		return;
	}
	if (status == 400 && strcmp(reason, "failedPrecondition") == 0) {
		if (strstr(msg, "Mail service not enabled") != NULL) {
			/* The account has no Gmail: nothing to retry, message
			 * after message, until an administrator turns it on. */
			hv_err_set(&op->e, HV_EPERM, "%s: Gmail is not enabled for this account "
			    "(%s); an administrator must turn it on", g->account, msg);
			close_box(g, &op->e);
			finish_later(op, HV_EPERM);
			return;
		}
		/* Google answers this now and then to calls that succeed when
		 * tried again: a few tries, then it is final. */
		hv_err_set(&op->e, HV_EPROTO, "%s %s: HTTP 400: %s", g->account, op->c.method,
		    msg[0] ? msg : "no message");
		if (++op->preconditions < PRECONDITIONS) {
			again(op, -1);
			return;
		}
		finish_later(op, HV_EPROTO);
		return;
	}
	if (!gmail_rate_limited(status, reason) && status < 500) {
		rc = status == 404 ? HV_ENOINPUT : status == 403 ? HV_EPERM : HV_EPROTO;
		hv_err_set(&op->e, rc, "%s %s: HTTP %ld: %s", g->account, op->c.method, status,
		    msg[0] ? msg : "no message");
		finish_later(op, rc);
		return;
	}
	hv_err_set(&op->e, HV_ETEMP, "%s %s: HTTP %ld: %s", g->account, op->c.method, status,
	    msg[0] ? msg : "no message");
	wait = op->resp->retry_after;
	if (wait < 0 && gmail_rate_limited(status, reason))
		wait = gmail_retry_after(msg, now_s());
	if (wait > WAIT_MAX) {
		lockout(g, wait, msg[0] ? msg : "rate limit");
		op->e = g->why;
		finish_later(op, HV_ETEMP);
		return;
	}
	again(op, wait);
}

/* A token for g's calls: the cached one, or a renewed one when Google
 * refused the one in use. */
static int
token(struct hv_gmail *g, struct hv_err *e)
{
	struct hv_buf refused;
	int r;

	hv_buf_init_secret(&refused, 8192);
	if (g->renew && hv_buf_add(&refused, g->token.data, g->token.len) < 0) {
		hv_buf_release(&refused);
		return hv_err_set(e, HV_EDATA, "access token too long");
	}
	hv_buf_reset(&g->token);
	r = g->renew ? hv_auth_token_renew(g->auth, g->account, refused.data, &g->token, e) :
	    hv_auth_token(g->auth, g->account, &g->token, e);
	hv_buf_release(&refused);
	if (r < 0) {
		hv_buf_reset(&g->token);
		return r;
	}
	g->renew = 0;
	g->token_gen++;
	return 0;
}

/* Put op on the wire; 0, or it is finished (or queued again) already. */
static void
send_op(struct hv_gmail *g, struct gmail_op *op)
{
	struct hv_http_request req = { 0 };
	int r;

	if ((g->token.len == 0 || g->renew) && (r = token(g, &op->e)) < 0) {
		/* A token endpoint that is busy or out of reach is tried again
		 * like the call itself; one that refuses ends it. */
		if (r == HV_ETEMP) {
			again(op, -1);
			return;
		}
		if (r == HV_EPERM)
			close_box(g, &op->e);
		finish_later(op, r);
		return;
	}
	op->token_gen = g->token_gen;
	if (!op->prepared && op->prepare != NULL && (r = op->prepare(op, &op->e)) < 0) {
		finish_later(op, r);
		return;
	}
	op->prepared = 1;
	req.method = op->c.verb;
	req.url = op->c.url;
	req.content_type = op->c.content_type;
	req.body = op->c.body;
	req.body_len = op->c.len;
	req.parts = op->c.parts;
	req.nparts = op->c.nparts;
	req.headers = op->c.headers;
	req.bearer = g->token.data;
	/* The breaker measures silence from the first call of a busy spell,
	 * not from a wait for input. */
	if (hv_http_multi_running(g->pool->http) == 0 && g->pool->fails == 0)
		g->pool->last_answer = now_s();
	g->calls++;
	if ((r = hv_http_multi_start(g->pool->http, &req, op->resp, on_answer, op, &op->e)) < 0) {
		finish_later(op, r);
		return;
	}
	g->inflight++;
}

/*
 * Send what g may send now: in order, within its cap and its bucket.
 * Returns when the next call could go (0: not waiting on time).
 */
static double
dispatch(struct hv_gmail *g, double now)
{
	struct gmail_op *op, *prev;
	double wake = 0;

	if (!g->lockout_read)
		lockout_left(g);
	while (g->closed && (op = g->queue) != NULL) {
		unqueue(g, op, NULL);
		op->e = g->why;
		finish_later(op, g->why.code);
	}
	while (g->queue != NULL && g->inflight < g->pool->cap) {
		if (g->pause_until > now)
			return g->pause_until;
		/* The first call whose backoff is over; retries wait apart. */
		for (prev = NULL, op = g->queue; op != NULL && op->not_before > now;
		    prev = op, op = op->next)
			if (wake == 0 || op->not_before < wake)
				wake = op->not_before;
		if (op == NULL)
			return wake;
		if (!op->charged) {
			op->ready_at = now + hv_quota_take(&g->quota,
			    hv_quota_cost(&g->quota, op->c.method), now);
			op->charged = 1;
		}
		if (op->ready_at > now)
			return wake == 0 || op->ready_at < wake ? op->ready_at : wake;
		unqueue(g, op, prev);
		send_op(g, op);
	}
	return wake;
}

/* The breaker is open: every call waiting ends with why. */
static void
fail_all(struct hv_gmail_pool *p)
{
	struct hv_gmail *g;
	struct gmail_op *op;

	hv_http_multi_abort(p->http, &p->why);
	for (g = p->boxes; g != NULL; g = g->next)
		while ((op = g->queue) != NULL) {
			unqueue(g, op, NULL);
			op->e = p->why;
			finish_later(op, HV_ETEMP);
		}
}

/* Hand finished calls back, oldest first. */
static void
hand_back(struct hv_gmail_pool *p)
{
	struct gmail_op *op, *list = NULL, *next;

	while (p->failed != NULL) {
		for (op = p->failed, p->failed = NULL; op != NULL; op = next) {
			next = op->next;
			op->next = list;
			list = op;
		}
		for (op = list, list = NULL; op != NULL; op = next) {
			next = op->next;
			p->pending--;
			op->next = NULL;
			op->finish(op);
		}
	}
}

int
hv_gmail_pool_step(struct hv_gmail_pool *p, int fd, int *fd_ready, long max_ms,
    struct hv_err *e)
{
	struct hv_gmail *g;
	double now = now_s(), wake = 0, w;
	long ms;
	int r;

	if (fd_ready != NULL)
		*fd_ready = 0;
	if (p->broken)
		fail_all(p);
	for (g = p->boxes; g != NULL && !p->broken; g = g->next)
		if ((w = dispatch(g, now)) > 0 && (wake == 0 || w < wake))
			wake = w;
	if (p->failed != NULL) {
		hand_back(p);
		return 0;
	}
	if (hv_http_multi_running(p->http) == 0 && wake == 0 && fd < 0)
		return 0;
	ms = wake > 0 ? (long)((wake - now) * 1000) + 1 : 1000;
	if (ms > 1000)
		ms = 1000;
	if (max_ms >= 0 && ms > max_ms)
		ms = max_ms;
	if ((r = hv_http_multi_wait(p->http, ms, fd, fd_ready, e)) < 0)
		return r;
	if (p->broken)
		fail_all(p);
	hand_back(p);
	return 0;
}

void
hv_gmail_pool_cancel(struct hv_gmail_pool *p)
{
	if (p->pending == 0)
		return;
	if (!p->broken) {
		p->broken = 1;
		hv_err_set(&p->why, HV_ETEMP, "the run stopped before Google answered");
	}
	fail_all(p);
	hand_back(p);
}

static void
sync_done(struct gmail_op *op)
{
	*(int *)op->arg = 1;
}

int
gmail_wait(struct hv_gmail *g, const int *done, struct hv_err *e)
{
	int r;

	while (!*done)
		if ((r = hv_gmail_pool_step(g->pool, -1, NULL, -1, e)) < 0)
			return r;
	return 0;
}

int
gmail_call(struct hv_gmail *g, const struct gmail_call *c, struct hv_http_response *resp,
    struct hv_err *e)
{
	struct gmail_op op = { 0 };
	int done = 0, r;

	op.c = *c;
	op.resp = resp;
	op.finish = sync_done;
	op.arg = &done;
	gmail_start(g, &op);
	if ((r = gmail_wait(g, &done, e)) < 0)
		return r;
	if (op.rc < 0 && e != NULL)
		*e = op.e;
	return op.rc;
}
